-- The public changelog: a workspace's choice to show one (off until an owner turns it on;
-- which sources it shows, space-separated ids, empty for all) and what its changelog
-- channels published, one entry per version (the release's tag as written). A later card
-- for the same version replaces the text; a taken-down entry stays, withdrawn, so the
-- feeds' times stay true.
CREATE TABLE changelogs (
    workspace_id  TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    public_since  INTEGER,
    sources       TEXT NOT NULL DEFAULT '',
    updated_at    INTEGER NOT NULL
);
CREATE TABLE changelog_entries (
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    version         TEXT NOT NULL,
    card_id         TEXT NOT NULL,
    publication_id  TEXT NOT NULL,
    source_id       TEXT,
    project         TEXT NOT NULL,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    release_url     TEXT,
    published_at    INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    withdrawn_at    INTEGER,
    PRIMARY KEY (workspace_id, version)
);
CREATE INDEX changelog_entries_newest ON changelog_entries (workspace_id, published_at DESC);
