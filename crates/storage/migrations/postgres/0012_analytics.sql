-- Daily analytics roll-ups. Keep in step with ../sqlite/0012_analytics.sql.
SET LOCAL covalynce.scope = '*';

CREATE TABLE analytics_daily (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    day           BIGINT NOT NULL,
    data          TEXT NOT NULL,
    computed_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, day)
);
ALTER TABLE analytics_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON analytics_daily USING (covalynce_may_see(workspace_id));
CREATE INDEX publications_card_published ON publications (workspace_id, status, published_at);
-- A day's counts read ranges of these times.
CREATE INDEX cards_created ON cards (workspace_id, created_at);
CREATE INDEX cards_publish_at ON cards (workspace_id, publish_at);
CREATE INDEX cards_updated ON cards (workspace_id, status, updated_at);
CREATE INDEX card_revisions_created ON card_revisions (created_at);
CREATE INDEX publications_attempted ON publications (workspace_id, status, created_at);
