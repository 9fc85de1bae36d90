//! Fresh databases for tests: every test gets its own, on either backend.
//!
//! PostgreSQL tests use the server at `COVALYNCE_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and create a database named `cvl_test_*`
//! there; the test runner drops leftovers before each run.
//!
//! Two roles, as a production deployment should have: [`OWNER_ROLE`] owns each test
//! database and migrates it; the application connects as [`APP_ROLE`], an ordinary role
//! that owns nothing and may only read and write rows. A superuser would bypass row level
//! security, and an owner could lift it: the suite would no longer prove that every query
//! names its scope, nor that the application's role cannot widen it.

use crate::{Backend, Connect, PgStore, ScopeKey, SqliteStore, Store};
use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The role tests run Covalynce as: no superuser, no BYPASSRLS, owns nothing.
pub const APP_ROLE: &str = "covalynce_test_app";

/// The role that owns each test database and its tables: no superuser, no BYPASSRLS. It
/// logs in because it migrates (what `--database-owner-url` names in production).
pub const OWNER_ROLE: &str = "covalynce_test_owner";

pub fn admin_url() -> String {
    std::env::var("COVALYNCE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A new database. For SQLite: `(None, dir)` — the store lives in `dir`, empty; for
/// PostgreSQL: `(Some(url), dir)` where `url` is [`APP_ROLE`]'s and the database is
/// prepared as `covalynce migrate` with the owner URL would: owned by [`OWNER_ROLE`],
/// migrated, the runtime role granted row access, and the scope key of `dir`'s
/// `secret.key` (a random one, written here) stored. So a server started on `(url, dir)`
/// with no owner URL finds everything in place.
pub async fn fresh_database(backend: Backend) -> (Option<String>, PathBuf) {
    let dir = std::env::temp_dir().join(format!("cvl-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("creating a temp dir");
    match backend {
        Backend::Sqlite => (None, dir),
        Backend::Postgres => {
            let (url, owner) = fresh_postgres().await;
            let key = write_secret_key(&dir);
            let store = PgStore::connect(&url, key, Some(&owner))
                .await
                .expect("connecting");
            store.migrate().await.expect("migrating as the owner");
            store.close().await;
            (Some(url), dir)
        }
    }
}

/// A new, empty PostgreSQL database owned by [`OWNER_ROLE`], not migrated: the URLs of
/// the runtime role and of the owner.
pub async fn fresh_postgres() -> (String, String) {
    let admin = admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required for the postgres tests ({admin}): {e}"));
    for role in [APP_ROLE, OWNER_ROLE] {
        // Tests create the roles concurrently: whoever loses the race finds them made.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DO $$ BEGIN CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )))
        .execute(&mut conn)
        .await
        .expect("creating the test roles");
    }
    let name = format!("cvl_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} OWNER {OWNER_ROLE}"
    )))
    .execute(&mut conn)
    .await
    .expect("creating a test database");
    let _ = conn.close().await;
    (
        role_url(&admin, APP_ROLE, &name),
        role_url(&admin, OWNER_ROLE, &name),
    )
}

/// Writes a random secret key to `dir/secret.key` in the form the server reads (64 hex
/// characters, mode 0600) and returns its scope key.
pub fn write_secret_key(dir: &Path) -> ScopeKey {
    use std::io::Write;
    let secret: [u8; 32] = rand::random();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(dir.join("secret.key"))
        .expect("writing secret.key");
    writeln!(f, "{}", hex::encode(secret)).expect("writing secret.key");
    ScopeKey::derive(&secret)
}

/// The scope key of `dir/secret.key` (as the server would derive it).
pub fn scope_key_of(dir: &Path) -> ScopeKey {
    let hex = std::fs::read_to_string(dir.join("secret.key")).expect("reading secret.key");
    ScopeKey::from_secret_hex(&hex).expect("a 64-hex secret key")
}

/// What the server would open for `(url, dir)` from [`fresh_database`].
pub fn connect_for(url: Option<&str>, dir: &Path) -> Connect {
    let key = match url {
        Some(_) => scope_key_of(dir),
        None => ScopeKey::random(),
    };
    Connect::new(url, dir, key)
}

/// `admin` (a URL with a user) pointed at database `name` as `role`.
fn role_url(admin: &str, role: &str, name: &str) -> String {
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{role}@{host}/{name}")
}

/// The owner's URL for the database behind a test's `url` (see [`OWNER_ROLE`]).
pub fn owner_url_for(url: &str) -> String {
    let name = url.rsplit_once('/').map_or(url, |(_, n)| n);
    role_url(&admin_url(), OWNER_ROLE, name)
}

/// The administrator's URL for the database behind a test's `url`: for tests that read
/// raw tables, which row level security would otherwise (rightly) hide from them.
pub fn admin_url_for(url: &str) -> String {
    let name = url.rsplit_once('/').map_or(url, |(_, n)| n);
    let admin = admin_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// A migrated store on a fresh database.
pub async fn fresh_store(backend: Backend) -> Arc<dyn Store> {
    let (url, dir) = fresh_database(backend).await;
    let store: Arc<dyn Store> = match url {
        Some(url) => Arc::new(
            PgStore::connect(&url, scope_key_of(&dir), None)
                .await
                .expect("connecting"),
        ),
        None => Arc::new(
            SqliteStore::open(&dir.join("covalynce.db"))
                .await
                .expect("opening"),
        ),
    };
    store.migrate().await.expect("migrating");
    store
}

/// Begins a transaction on `conn` scoped as the store scopes its own (`scope`: a workspace
/// id or `*`, with its proof under `key`): for tests that look at raw tables as the
/// application would.
pub async fn begin_scoped<'c>(
    conn: &'c mut sqlx::PgConnection,
    key: &ScopeKey,
    scope: &str,
) -> sqlx::Transaction<'c, sqlx::Postgres> {
    let mut tx = conn.begin().await.expect("BEGIN");
    sqlx::query(crate::scope::PROOF_SQL)
        .bind(scope)
        .bind(&key.token(scope)[..])
        .execute(&mut *tx)
        .await
        .expect("setting the scope");
    tx
}
