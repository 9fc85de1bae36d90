-- Who may trade a channel's refresh token, until when (Unix ms): X's refresh tokens are
-- single-use, so two replicas refreshing at once would burn the token family. Keep in
-- step with ../postgres/0009_credential_refresh.sql.
ALTER TABLE channels ADD COLUMN refresh_lease_until INTEGER;
