-- When a channel last published (or passed a test): its health view shows it beside the
-- last error. Keep in step with ../sqlite/0008_channel_health.sql.
ALTER TABLE channels ADD COLUMN last_success_at BIGINT;
