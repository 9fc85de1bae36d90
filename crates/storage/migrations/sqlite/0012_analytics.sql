-- Daily analytics roll-ups. Keep in step with ../postgres/0012_analytics.sql.
--
-- One row per workspace and UTC day (days since 1970-01-01) once the day is settled: what
-- was drafted, approved, edited, dismissed and published that day, the ship-to-announce
-- lags and edit distances of the cards first published that day, and the AI spend, as
-- JSON. A year of analytics reads 365 small rows instead of scanning every table.
CREATE TABLE analytics_daily (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    day           INTEGER NOT NULL,
    data          TEXT NOT NULL,
    computed_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day)
);
CREATE INDEX publications_card_published ON publications (workspace_id, status, published_at);
-- A day's counts read ranges of these times.
CREATE INDEX cards_created ON cards (workspace_id, created_at);
CREATE INDEX cards_publish_at ON cards (workspace_id, publish_at);
CREATE INDEX cards_updated ON cards (workspace_id, status, updated_at);
CREATE INDEX card_revisions_created ON card_revisions (created_at);
CREATE INDEX publications_attempted ON publications (workspace_id, status, created_at);
