-- Local paths the operator allowed a workspace to use as git sources (`covalynce paths
-- allow`). A workspace member never names a path on the server otherwise.
CREATE TABLE allowed_paths (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    path         TEXT NOT NULL,  -- canonical: symlinks and `..` resolved when allowed
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, path)
);
ALTER TABLE allowed_paths ENABLE ROW LEVEL SECURITY;
ALTER TABLE allowed_paths FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON allowed_paths USING ((SELECT covalynce_scope()) IN ('*', workspace_id));
