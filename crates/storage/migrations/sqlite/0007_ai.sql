-- AI drafting (issue 7): what may leave the machine, the workspace's provider chain (keys
-- sealed), how each card was drafted, and a ledger of every AI call.
-- Keep in step with ../postgres/0007_ai.sql.
ALTER TABLE workspaces ADD COLUMN ai_privacy TEXT NOT NULL DEFAULT 'offline'
    CHECK (ai_privacy IN ('offline', 'messages', 'diffs'));
-- 'offline', or the provider/model whose text the card carries.
ALTER TABLE cards ADD COLUMN drafted_by TEXT NOT NULL DEFAULT 'offline';
-- Why the offline draft stands when AI was configured (every provider failed).
ALTER TABLE cards ADD COLUMN draft_note TEXT;

CREATE TABLE ai_providers (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('openai', 'anthropic', 'gemini')),
    model         TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    api_key       BLOB,                      -- sealed (AES-256-GCM); NULL: a local server without a key
    created_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, position)
);

CREATE TABLE ai_calls (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    card_id       TEXT REFERENCES cards(id) ON DELETE SET NULL,
    provider      TEXT NOT NULL,
    model         TEXT NOT NULL,
    purpose       TEXT NOT NULL,             -- 'draft' or 'refine'
    channel       TEXT,
    tokens_in     INTEGER NOT NULL,
    tokens_out    INTEGER NOT NULL,
    cost_micros   INTEGER NOT NULL,          -- millionths of a US dollar
    latency_ms    INTEGER NOT NULL,
    outcome       TEXT NOT NULL,             -- 'used', 'rejected', 'failed'
    detail        TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX ai_calls_workspace ON ai_calls(workspace_id, created_at);
