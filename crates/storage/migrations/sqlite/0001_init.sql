-- Covalynce schema, SQLite dialect. Keep in step with ../postgres/0001_init.sql.
-- Ids are UUIDv7 text; timestamps are Unix milliseconds (UTC) as INTEGER; JSON is TEXT.

-- The founding document's user_settings, per workspace: plan, card_limit, cards_used.
CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    plan        TEXT NOT NULL DEFAULT 'SOLO',
    card_limit  INTEGER NOT NULL DEFAULT 5 CHECK (card_limit >= 0),
    cards_used  INTEGER NOT NULL DEFAULT 0 CHECK (cards_used >= 0),
    voice       TEXT NOT NULL DEFAULT 'sassy',
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,   -- SHA-256 of the token; the token itself is never stored
    prefix        TEXT NOT NULL,          -- first characters, so a user can tell tokens apart
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_workspace ON api_tokens(workspace_id);

-- The founding document's user_integrations: one credential set per provider per workspace.
CREATE TABLE integrations (
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    provider       TEXT NOT NULL,
    credentials    BLOB NOT NULL,          -- AES-256-GCM sealed JSON
    expires_at     INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (workspace_id, provider)
);

CREATE TABLE sources (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN ('github', 'git')),
    repo              TEXT,               -- owner/name for github
    path              TEXT,               -- absolute path for git
    secret            BLOB,               -- AES-256-GCM sealed webhook secret
    cursor            TEXT,               -- where a watcher or poller left off
    created_at        INTEGER NOT NULL,
    last_delivery_at  INTEGER
);
CREATE INDEX sources_workspace ON sources(workspace_id);

-- Every verified webhook delivery, byte for byte, stored before it is answered.
CREATE TABLE deliveries (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    source_id     TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    guid          TEXT NOT NULL,          -- X-GitHub-Delivery; a redelivery keeps it
    event_name    TEXT NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('events', 'ignored', 'ping')),
    reason        TEXT,
    body          BLOB NOT NULL,       -- the raw body, compressed as body_encoding says
    body_encoding TEXT NOT NULL CHECK (body_encoding IN ('identity', 'lz4')),
    size          INTEGER NOT NULL,        -- bytes as received
    received_at   INTEGER NOT NULL,
    UNIQUE (source_id, guid)
);
CREATE INDEX deliveries_workspace ON deliveries(workspace_id, id);

-- Shipped work, normalized. dedup_key is the source event's own id.
CREATE TABLE events (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    source_id     TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    delivery_id   TEXT REFERENCES deliveries(id) ON DELETE SET NULL,
    kind          TEXT NOT NULL,
    dedup_key     TEXT NOT NULL,
    repo          TEXT NOT NULL,
    title         TEXT NOT NULL,
    data          TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'new',
    status_reason TEXT,
    occurred_at   INTEGER,
    created_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, dedup_key)
);
CREATE INDEX events_workspace ON events(workspace_id, id);

-- The founding document's task_cards: unique(workspace, source_id) keeps one card per event.
CREATE TABLE cards (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    source_id     TEXT NOT NULL,          -- the event's dedup_key
    event_id      TEXT REFERENCES events(id) ON DELETE SET NULL,
    category      TEXT NOT NULL CHECK (category IN ('MKT', 'ENG', 'STRATEGY')),
    status        TEXT NOT NULL DEFAULT 'PENDING'
                  CHECK (status IN ('PENDING', 'APPROVED', 'PUBLISHED', 'FAILED', 'DISMISSED')),
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
CREATE INDEX cards_workspace_status ON cards(workspace_id, status, id);

-- Every version of a card's text; revision 1 is what was drafted.
CREATE TABLE card_revisions (
    id          TEXT PRIMARY KEY,
    card_id     TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
    revision    INTEGER NOT NULL,
    variants    TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (card_id, revision)
);

CREATE TABLE channels (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    config        TEXT NOT NULL DEFAULT '{}',  -- non-secret settings
    credentials   BLOB,                        -- AES-256-GCM sealed secrets
    status        TEXT NOT NULL DEFAULT 'active',
    created_at    INTEGER NOT NULL
);
CREATE INDEX channels_workspace ON channels(workspace_id);

-- One row per card per channel: the exactly-once ledger of what went out.
CREATE TABLE publications (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    card_id          TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
    channel_id       TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'publishing', 'published', 'failed')),
    idempotency_key  TEXT NOT NULL UNIQUE,
    url              TEXT,
    error            TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    published_at     INTEGER,
    created_at       INTEGER NOT NULL,
    UNIQUE (card_id, channel_id)
);

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL DEFAULT 8,
    run_at        INTEGER NOT NULL,
    locked_by     TEXT,
    locked_until  INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER
);
-- Only unfinished jobs are in the claim index: finishing a job drops it from the index
-- instead of moving it, and the index stays the size of the backlog, not of history.
CREATE INDEX jobs_claim ON jobs(run_at) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_workspace ON jobs(workspace_id, id);
