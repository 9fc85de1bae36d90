-- The public changelog: a workspace's choice to show one (off until an owner turns it on;
-- which sources it shows, space-separated ids, empty for all) and what its changelog
-- channels published, one entry per version (the release's tag as written). A later card
-- for the same version replaces the text; a taken-down entry stays, withdrawn, so the
-- feeds' times stay true.
CREATE TABLE changelogs (
    workspace_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    public_since  BIGINT,
    sources       TEXT NOT NULL DEFAULT '',
    updated_at    BIGINT NOT NULL
);
CREATE TABLE changelog_entries (
    workspace_id    TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    version         TEXT COLLATE "C" NOT NULL,
    card_id         TEXT NOT NULL,
    publication_id  TEXT NOT NULL,
    source_id       TEXT,
    project         TEXT NOT NULL,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    release_url     TEXT,
    published_at    BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    withdrawn_at    BIGINT,
    PRIMARY KEY (workspace_id, version)
);
CREATE INDEX changelog_entries_newest ON changelog_entries (workspace_id, published_at DESC);
ALTER TABLE changelogs ENABLE ROW LEVEL SECURITY;
ALTER TABLE changelogs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON changelogs USING ((SELECT covalynce_scope()) IN ('*', workspace_id));
ALTER TABLE changelog_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE changelog_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON changelog_entries USING ((SELECT covalynce_scope()) IN ('*', workspace_id));
