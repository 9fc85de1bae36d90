-- Trust policy: auto-approve green cards to trust_channels once trust_streak (consecutive
-- approvals without edits) reaches trust_after. NULL trust_after: review everything.
ALTER TABLE workspaces ADD COLUMN trust_after INTEGER;
ALTER TABLE workspaces ADD COLUMN trust_channels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE workspaces ADD COLUMN trust_streak INTEGER NOT NULL DEFAULT 0;
