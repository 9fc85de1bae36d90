-- Emergency stop: while set, nothing in the workspace is published.
ALTER TABLE workspaces ADD COLUMN halted_at INTEGER;
