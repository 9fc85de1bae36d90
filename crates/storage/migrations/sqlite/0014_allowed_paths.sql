-- Local paths the operator allowed a workspace to use as git sources (`covalynce paths
-- allow`). A workspace member never names a path on the server otherwise.
CREATE TABLE allowed_paths (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    path         TEXT NOT NULL,  -- canonical: symlinks and `..` resolved when allowed
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, path)
);
