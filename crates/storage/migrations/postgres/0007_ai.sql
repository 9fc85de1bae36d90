-- AI drafting (issue 7): what may leave the machine, the workspace's provider chain (keys
-- sealed), how each card was drafted, and a ledger of every AI call.
-- Keep in step with ../sqlite/0007_ai.sql.
ALTER TABLE workspaces ADD COLUMN ai_privacy TEXT NOT NULL DEFAULT 'offline'
    CHECK (ai_privacy IN ('offline', 'messages', 'diffs'));
-- 'offline', or the provider/model whose text the card carries.
ALTER TABLE cards ADD COLUMN drafted_by TEXT NOT NULL DEFAULT 'offline';
-- Why the offline draft stands when AI was configured (every provider failed).
ALTER TABLE cards ADD COLUMN draft_note TEXT;

CREATE TABLE ai_providers (
    id            TEXT COLLATE "C" PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('openai', 'anthropic', 'gemini')),
    model         TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    api_key       BYTEA,                      -- sealed (AES-256-GCM); NULL: a local server without a key
    created_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, position)
);

CREATE TABLE ai_calls (
    id            TEXT COLLATE "C" PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    card_id       TEXT REFERENCES cards(id) ON DELETE SET NULL,
    provider      TEXT NOT NULL,
    model         TEXT NOT NULL,
    purpose       TEXT NOT NULL,             -- 'draft' or 'refine'
    channel       TEXT,
    tokens_in     BIGINT NOT NULL,
    tokens_out    BIGINT NOT NULL,
    cost_micros   BIGINT NOT NULL,          -- millionths of a US dollar
    latency_ms    BIGINT NOT NULL,
    outcome       TEXT NOT NULL,             -- 'used', 'rejected', 'failed'
    detail        TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX ai_calls_workspace ON ai_calls(workspace_id, created_at);

-- Row level security, as in 0006.
ALTER TABLE ai_providers ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_providers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON ai_providers USING (covalynce_may_see(workspace_id));

ALTER TABLE ai_calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON ai_calls USING (covalynce_may_see(workspace_id));
