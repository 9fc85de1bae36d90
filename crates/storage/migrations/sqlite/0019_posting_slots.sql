-- Posting slots: the workspace's time zone (an IANA name), each channel's posting times
-- (their canonical text, "mon-fri 09:00, 14:30"; empty: it posts when approved) and each
-- publication's own due time (NULL for those made before: their card's publish_at).
ALTER TABLE workspaces ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE channels ADD COLUMN slots TEXT NOT NULL DEFAULT '';
ALTER TABLE publications ADD COLUMN due_at INTEGER;
