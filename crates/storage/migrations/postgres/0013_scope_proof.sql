-- A scope the application's own role cannot forge (PostgreSQL only: SQLite has no roles).
--
-- Until now the policies trusted `covalynce.scope`, which any statement of the
-- application's role may set: an injected `SET covalynce.scope = '*'` saw every workspace.
-- Now a scope counts only with its proof. The server derives a 32-byte scope key from its
-- secret key (HMAC-SHA256(secret key, "covalynce row-level scope v1")); the database keeps
-- a copy in `covalynce_scope_key`, which only the owner of the tables can read. Each
-- transaction the server opens sets, right after BEGIN (`sql.rs`, `scoped`):
--
--   covalynce.scope        the workspace id, or '*' for the system scope
--   covalynce.scope_proof  hex(sha256(T || convert_to(':' || pid || ':' || start, 'UTF8')))
--                          where T = sha256(key || sha256(key || convert_to(scope, 'UTF8'))),
--                          pid = pg_backend_pid(), start = the transaction's start time in
--                          microseconds since the epoch
--
-- T travels as a bind parameter (never in the statement's text, which pg_stat_activity
-- shows to every session of the role); the proof is bound to this backend and this
-- transaction, so a proof an injected statement reads with current_setting() opens
-- nothing after its transaction ends. `covalynce_scope()` (SECURITY DEFINER, owned by the
-- tables' owner) recomputes the proof from the stored key and returns the scope, or NULL.
--
-- With two roles (the owner migrates, the runtime role only has SELECT/INSERT/UPDATE/
-- DELETE, granted by `covalynce migrate` with the owner URL), the runtime role can neither
-- read the key nor lift FORCE ROW LEVEL SECURITY. Run as one role that owns everything,
-- that role could do both: Covalynce warns at start.
--
-- Later migrations run as the owner and are bound by FORCE too: one that changes tenant
-- rows wraps the change in `ALTER TABLE t NO FORCE ROW LEVEL SECURITY; … ALTER TABLE t
-- FORCE ROW LEVEL SECURITY;` inside its own transaction (`SET LOCAL covalynce.scope` no
-- longer opens anything).

-- One row: the key. No grants to anyone: only the owner (and superusers) read it.
CREATE TABLE covalynce_scope_key (
    id   BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    key  BYTEA NOT NULL CHECK (length(key) = 32)
);
REVOKE ALL ON covalynce_scope_key FROM PUBLIC;

-- The verified scope of the current transaction ('*' or a workspace id), or NULL.
--
-- SECURITY DEFINER: it runs as the owner, who may read the key. `search_path` is pinned
-- with pg_temp last (unlisted, pg_temp would be searched first for tables, and the caller
-- could shadow the key table with a temporary one) and the table is schema-qualified.
-- PARALLEL RESTRICTED: pg_backend_pid() must be the leader's, and policies call it as
-- `(SELECT covalynce_scope())`, an InitPlan the leader evaluates once per query and hands
-- to any parallel workers. STABLE: the settings and the key do not change within a
-- statement.
CREATE FUNCTION covalynce_scope() RETURNS TEXT
    LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
    AS $$
    SELECT s.scope
    FROM (SELECT pg_catalog.current_setting('covalynce.scope', true) AS scope,
                 pg_catalog.current_setting('covalynce.scope_proof', true) AS proof) s,
         public.covalynce_scope_key k
    WHERE s.scope IS NOT NULL AND s.scope <> '' AND s.proof IS NOT NULL
      AND s.proof = pg_catalog.encode(pg_catalog.sha256(
            pg_catalog.sha256(k.key || pg_catalog.sha256(k.key || pg_catalog.convert_to(s.scope, 'UTF8')))
            || pg_catalog.convert_to(
                ':' || pg_catalog.pg_backend_pid()::text || ':'
                    || pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.transaction_timestamp()) * 1000000)::bigint::text,
                'UTF8')),
          'hex')
    $$;
REVOKE ALL ON FUNCTION covalynce_scope() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION covalynce_scope() TO PUBLIC;

-- Every tenant policy, again, on the verified scope. The sub-SELECT makes it an InitPlan:
-- evaluated once per query, not once per row.
DROP POLICY tenant ON workspaces;
CREATE POLICY tenant ON workspaces USING ((SELECT covalynce_scope()) IN ('*', id));

DROP POLICY tenant ON api_tokens;
CREATE POLICY tenant ON api_tokens USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON integrations;
CREATE POLICY tenant ON integrations USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON sources;
CREATE POLICY tenant ON sources USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON deliveries;
CREATE POLICY tenant ON deliveries USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON events;
CREATE POLICY tenant ON events USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON cards;
CREATE POLICY tenant ON cards USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

-- card_revisions keeps its form: it follows whatever the cards policy lets through.

DROP POLICY tenant ON channels;
CREATE POLICY tenant ON channels USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON publications;
CREATE POLICY tenant ON publications USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

-- Jobs without a workspace (maintenance) are visible to the system scope only:
-- x IN ('*', NULL) is true for '*' and NULL (no row) for a workspace.
DROP POLICY tenant ON jobs;
CREATE POLICY tenant ON jobs USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON memberships;
CREATE POLICY tenant ON memberships USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON invitations;
CREATE POLICY tenant ON invitations USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

-- Account events (workspace_id NULL) are visible to the system scope only.
DROP POLICY tenant ON audit_log;
CREATE POLICY tenant ON audit_log USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON ai_providers;
CREATE POLICY tenant ON ai_providers USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON ai_calls;
CREATE POLICY tenant ON ai_calls USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON github_cache;
CREATE POLICY tenant ON github_cache USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

DROP POLICY tenant ON analytics_daily;
CREATE POLICY tenant ON analytics_daily USING ((SELECT covalynce_scope()) IN ('*', workspace_id));

-- The unverified check is gone, so no later policy can pick it up by mistake.
DROP FUNCTION covalynce_may_see(TEXT);

-- People: the system scope sees everyone (sign-in, sessions, sign-up); a workspace's scope
-- sees the people its memberships name (memberships are themselves filtered to that
-- workspace), which is what its members list needs. Writes take the system scope.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON users
    USING ((SELECT covalynce_scope()) = '*'
        OR EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id))
    WITH CHECK ((SELECT covalynce_scope()) = '*');

-- Sessions belong to a person, not a workspace: looked up before any workspace is known.
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sessions USING ((SELECT covalynce_scope()) = '*');

-- Payment events arrive from the payment provider before a workspace is known.
ALTER TABLE billing_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON billing_events USING ((SELECT covalynce_scope()) = '*');
