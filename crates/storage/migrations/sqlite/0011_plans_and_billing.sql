-- Plans and billing. Keep in step with ../postgres/0011_plans_and_billing.sql.
--
-- workspaces: seats the plan allows, when the current usage period ends (NULL: not
-- started; the first card starts one), the billing provider's customer (to find the
-- workspace a payment event is about) and the subscription's state as JSON (provider,
-- subscription, status, updated_at: the provider's own time of that state, so an event
-- older than what is stored changes nothing).
-- billing_events: every payment event received, by provider and event id: a replay is
-- recognised and changes nothing.
ALTER TABLE workspaces ADD COLUMN seat_limit INTEGER NOT NULL DEFAULT 1 CHECK (seat_limit >= 1);
ALTER TABLE workspaces ADD COLUMN period_end INTEGER;
ALTER TABLE workspaces ADD COLUMN billing_customer TEXT;
ALTER TABLE workspaces ADD COLUMN billing TEXT;
CREATE INDEX workspaces_billing_customer ON workspaces (billing_customer);

CREATE TABLE billing_events (
    provider      TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    workspace_id  TEXT REFERENCES workspaces(id) ON DELETE SET NULL,
    outcome       TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
);
