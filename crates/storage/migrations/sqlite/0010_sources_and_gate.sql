-- no-transaction
-- Zero-input sources and the CI gate. Keep in step with ../postgres/0010_sources_and_gate.sql.
--
-- sources: Jira and generic (`POST /api/v1/events`) kinds; a GitHub source's settings
-- (mode, CI gate), its sealed OAuth token, the webhook Covalynce created on GitHub, and
-- where polling left off. cards: HELD (the CI gate keeps the card off the stack) with the
-- gate's state. Both CHECK constraints change, so both tables are rebuilt as SQLite
-- documents (foreign keys off, one transaction), as in 0004.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE sources_new (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN ('github', 'git', 'jira', 'generic')),
    repo              TEXT,               -- owner/name for github; a label for jira/generic
    path              TEXT,               -- absolute path for git
    secret            BLOB,               -- AES-256-GCM sealed webhook secret
    cursor            TEXT,               -- where a watcher or poller left off
    created_at        INTEGER NOT NULL,
    last_delivery_at  INTEGER,
    settings          TEXT NOT NULL DEFAULT '{}',  -- mode, CI gate (JSON)
    token             BLOB,               -- sealed GitHub token the source acts with
    hook_id           INTEGER,            -- the repository webhook Covalynce created
    poll_state        TEXT,               -- ETag, interval, next poll, backoff (JSON)
    poll_after        INTEGER             -- do not poll before (Unix ms)
);
INSERT INTO sources_new (id, workspace_id, kind, repo, path, secret, cursor, created_at, last_delivery_at)
    SELECT id, workspace_id, kind, repo, path, secret, cursor, created_at, last_delivery_at FROM sources;
DROP TABLE sources;
ALTER TABLE sources_new RENAME TO sources;
CREATE INDEX sources_workspace ON sources(workspace_id);

CREATE TABLE cards_new (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    source_id     TEXT NOT NULL,
    event_id      TEXT REFERENCES events(id) ON DELETE SET NULL,
    category      TEXT NOT NULL CHECK (category IN ('MKT', 'ENG', 'STRATEGY')),
    status        TEXT NOT NULL DEFAULT 'PENDING'
                  CHECK (status IN ('HELD', 'PENDING', 'APPROVED', 'PUBLISHED', 'PARTIAL', 'FAILED', 'DISMISSED')),
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    variants      TEXT NOT NULL DEFAULT '{}',
    risk          TEXT CHECK (risk IN ('green', 'yellow', 'red')),
    risk_reasons  TEXT NOT NULL DEFAULT '[]',
    publish_at    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    drafted_by    TEXT NOT NULL DEFAULT 'offline',
    draft_note    TEXT,
    gate          TEXT,               -- the CI gate: repo, commit, state, failing run (JSON)
    UNIQUE (workspace_id, source_id)
);
INSERT INTO cards_new (id, workspace_id, source_id, event_id, category, status, title, content,
                       variants, risk, risk_reasons, publish_at, created_at, updated_at,
                       drafted_by, draft_note)
    SELECT id, workspace_id, source_id, event_id, category, status, title, content,
           variants, risk, risk_reasons, publish_at, created_at, updated_at,
           drafted_by, draft_note FROM cards;
DROP TABLE cards;
ALTER TABLE cards_new RENAME TO cards;
CREATE INDEX cards_workspace_status ON cards(workspace_id, status, id);

-- Immutable GitHub answers (a compare of two commits, a commit's pull requests), so a
-- redraft or a second replica does not spend rate limit on them again.
CREATE TABLE github_cache (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    body          BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, key)
);

COMMIT;
PRAGMA foreign_keys = ON;
