-- Publishing, part two: PARTIAL cards (some channels published, some failed), publications
-- whose outcome is unknown (cut off mid-send on a platform that cannot be asked), and per
-- channel rate-limit pauses, daily caps and health.
ALTER TABLE cards DROP CONSTRAINT cards_status_check;
ALTER TABLE cards ADD CONSTRAINT cards_status_check
    CHECK (status IN ('PENDING', 'APPROVED', 'PUBLISHED', 'PARTIAL', 'FAILED', 'DISMISSED'));
ALTER TABLE publications DROP CONSTRAINT publications_status_check;
ALTER TABLE publications ADD CONSTRAINT publications_status_check
    CHECK (status IN ('queued', 'publishing', 'published', 'failed', 'unknown'));
CREATE INDEX publications_channel ON publications(channel_id, status);

-- The platform asked for no requests before this time (Unix ms).
ALTER TABLE channels ADD COLUMN paused_until BIGINT;
-- Publications started on cap_day (days since 1970-01-01 UTC), for the daily cap.
ALTER TABLE channels ADD COLUMN cap_day BIGINT;
ALTER TABLE channels ADD COLUMN cap_count BIGINT NOT NULL DEFAULT 0;
-- Why the channel stopped working (a revoked webhook, an archived channel), until fixed.
ALTER TABLE channels ADD COLUMN last_error TEXT;
ALTER TABLE channels ADD COLUMN last_error_at BIGINT;
