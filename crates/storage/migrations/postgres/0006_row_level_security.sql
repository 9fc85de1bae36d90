-- Row level security: defence in depth behind the application's own `workspace_id = $1`.
--
-- Every unit of work sets `covalynce.scope` for its transaction (set_config(…, true)):
-- a workspace id for work done on behalf of one workspace, '*' for the few system paths
-- that must see across workspaces (the job queue, token and session lookups, sign-up,
-- key rotation). A query that names no scope sees and changes no tenant row: the policy
-- fails closed. FORCE makes the policies bind the tables' owner too; superusers and
-- roles with BYPASSRLS still bypass them, so Covalynce warns when it runs as one.

CREATE FUNCTION covalynce_may_see(ws TEXT) RETURNS BOOLEAN
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('covalynce.scope', true), '') IN ('*', ws) $$;

ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON workspaces USING (covalynce_may_see(id));

ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON api_tokens USING (covalynce_may_see(workspace_id));

ALTER TABLE integrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON integrations USING (covalynce_may_see(workspace_id));

ALTER TABLE sources ENABLE ROW LEVEL SECURITY;
ALTER TABLE sources FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sources USING (covalynce_may_see(workspace_id));

ALTER TABLE deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON deliveries USING (covalynce_may_see(workspace_id));

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON events USING (covalynce_may_see(workspace_id));

ALTER TABLE cards ENABLE ROW LEVEL SECURITY;
ALTER TABLE cards FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON cards USING (covalynce_may_see(workspace_id));

-- Revisions carry no workspace of their own: they belong to whoever may see their card.
ALTER TABLE card_revisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE card_revisions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON card_revisions
    USING (EXISTS (SELECT 1 FROM cards c WHERE c.id = card_revisions.card_id));

ALTER TABLE channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE channels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON channels USING (covalynce_may_see(workspace_id));

ALTER TABLE publications ENABLE ROW LEVEL SECURITY;
ALTER TABLE publications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON publications USING (covalynce_may_see(workspace_id));

-- Jobs without a workspace (maintenance) are visible to the system scope only.
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON jobs USING (covalynce_may_see(workspace_id));

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON memberships USING (covalynce_may_see(workspace_id));

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON invitations USING (covalynce_may_see(workspace_id));

-- Account events (workspace_id NULL) are visible to the system scope only.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON audit_log USING (covalynce_may_see(workspace_id));
