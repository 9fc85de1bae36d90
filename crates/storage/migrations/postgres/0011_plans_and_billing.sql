-- Plans and billing. Keep in step with ../sqlite/0011_plans_and_billing.sql.
SET LOCAL covalynce.scope = '*';

ALTER TABLE workspaces ADD COLUMN seat_limit BIGINT NOT NULL DEFAULT 1 CHECK (seat_limit >= 1);
ALTER TABLE workspaces ADD COLUMN period_end BIGINT;
ALTER TABLE workspaces ADD COLUMN billing_customer TEXT;
ALTER TABLE workspaces ADD COLUMN billing TEXT;
CREATE INDEX workspaces_billing_customer ON workspaces (billing_customer);

-- Received before the workspace is known (it is found from the event), so not
-- workspace-scoped: only the billing hooks read and write it, in the system scope.
CREATE TABLE billing_events (
    provider      TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    workspace_id  TEXT REFERENCES workspaces(id) ON DELETE SET NULL,
    outcome       TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
