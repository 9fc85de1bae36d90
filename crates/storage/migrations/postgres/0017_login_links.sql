-- One-time sign-in links (the demo prints one; `covalynce demo-link` prints another while the
-- server runs). Kept here, not in the server's memory, so any process on the same database
-- can make one. Only the link token's SHA-256 is stored; using a link deletes it.
CREATE TABLE login_links (
    id_hash     TEXT COLLATE "C" PRIMARY KEY,
    -- One link per person: a new one replaces the last, even when two are made at once.
    user_id     TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL
);
-- Like sessions: only the system scope (sign-in) sees them.
ALTER TABLE login_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_links FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON login_links USING ((SELECT covalynce_scope()) = '*');
