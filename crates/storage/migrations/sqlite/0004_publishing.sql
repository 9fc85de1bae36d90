-- no-transaction
-- Publishing, part two: PARTIAL cards (some channels published, some failed), publications
-- whose outcome is unknown (cut off mid-send on a platform that cannot be asked), and per
-- channel rate-limit pauses, daily caps and health.
--
-- SQLite cannot change a CHECK constraint, so cards and publications are rebuilt the way
-- SQLite documents (ALTER TABLE, "making other kinds of table schema changes"): foreign
-- keys off, so dropping the old tables cascades nothing; one transaction for the rebuild.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE cards_new (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    source_id     TEXT NOT NULL,
    event_id      TEXT REFERENCES events(id) ON DELETE SET NULL,
    category      TEXT NOT NULL CHECK (category IN ('MKT', 'ENG', 'STRATEGY')),
    status        TEXT NOT NULL DEFAULT 'PENDING'
                  CHECK (status IN ('PENDING', 'APPROVED', 'PUBLISHED', 'PARTIAL', 'FAILED', 'DISMISSED')),
    title         TEXT NOT NULL,
    content       TEXT NOT NULL,
    variants      TEXT NOT NULL DEFAULT '{}',
    risk          TEXT CHECK (risk IN ('green', 'yellow', 'red')),
    risk_reasons  TEXT NOT NULL DEFAULT '[]',
    publish_at    INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, source_id)
);
INSERT INTO cards_new (id, workspace_id, source_id, event_id, category, status, title, content,
                       variants, risk, risk_reasons, publish_at, created_at, updated_at)
    SELECT id, workspace_id, source_id, event_id, category, status, title, content,
           variants, risk, risk_reasons, publish_at, created_at, updated_at FROM cards;
DROP TABLE cards;
ALTER TABLE cards_new RENAME TO cards;
CREATE INDEX cards_workspace_status ON cards(workspace_id, status, id);

CREATE TABLE publications_new (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    card_id          TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
    channel_id       TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'publishing', 'published', 'failed', 'unknown')),
    idempotency_key  TEXT NOT NULL UNIQUE,
    url              TEXT,
    error            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    published_at     INTEGER,
    created_at       INTEGER NOT NULL,
    UNIQUE (card_id, channel_id)
);
INSERT INTO publications_new (id, workspace_id, card_id, channel_id, status, idempotency_key,
                              url, error, attempts, published_at, created_at)
    SELECT id, workspace_id, card_id, channel_id, status, idempotency_key,
           url, error, attempts, published_at, created_at FROM publications;
DROP TABLE publications;
ALTER TABLE publications_new RENAME TO publications;
CREATE INDEX publications_channel ON publications(channel_id, status);

-- The platform asked for no requests before this time (Unix ms).
ALTER TABLE channels ADD COLUMN paused_until INTEGER;
-- Publications started on cap_day (days since 1970-01-01 UTC), for the daily cap.
ALTER TABLE channels ADD COLUMN cap_day INTEGER;
ALTER TABLE channels ADD COLUMN cap_count INTEGER NOT NULL DEFAULT 0;
-- Why the channel stopped working (a revoked webhook, an archived channel), until fixed.
ALTER TABLE channels ADD COLUMN last_error TEXT;
ALTER TABLE channels ADD COLUMN last_error_at INTEGER;

COMMIT;
PRAGMA foreign_keys = ON;
