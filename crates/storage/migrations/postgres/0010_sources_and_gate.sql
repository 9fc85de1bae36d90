-- Zero-input sources and the CI gate. Keep in step with ../sqlite/0010_sources_and_gate.sql.
SET LOCAL covalynce.scope = '*';

ALTER TABLE sources DROP CONSTRAINT sources_kind_check;
ALTER TABLE sources ADD CONSTRAINT sources_kind_check
    CHECK (kind IN ('github', 'git', 'jira', 'generic'));
ALTER TABLE sources ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
ALTER TABLE sources ADD COLUMN token BYTEA;
ALTER TABLE sources ADD COLUMN hook_id BIGINT;
ALTER TABLE sources ADD COLUMN poll_state TEXT;
ALTER TABLE sources ADD COLUMN poll_after BIGINT;

ALTER TABLE cards DROP CONSTRAINT cards_status_check;
ALTER TABLE cards ADD CONSTRAINT cards_status_check
    CHECK (status IN ('HELD', 'PENDING', 'APPROVED', 'PUBLISHED', 'PARTIAL', 'FAILED', 'DISMISSED'));
ALTER TABLE cards ADD COLUMN gate TEXT;

CREATE TABLE github_cache (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    body          BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
ALTER TABLE github_cache ENABLE ROW LEVEL SECURITY;
ALTER TABLE github_cache FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON github_cache USING (covalynce_may_see(workspace_id));
