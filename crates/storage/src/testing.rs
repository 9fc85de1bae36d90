//! Fresh databases for tests: every test gets its own, on either backend.
//!
//! PostgreSQL tests use the server at `COVALYNCE_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and create a database named `cvl_test_*`
//! there; the test runner drops leftovers before each run.
//!
//! The application connects as [`APP_ROLE`], an ordinary role that owns its database, as
//! a production deployment should: a superuser would bypass row level security, and the
//! suite would no longer prove that every query names its scope.

use crate::{Backend, PgStore, SqliteStore, Store};
use sqlx::Connection;
use std::path::PathBuf;
use std::sync::Arc;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The role tests run Covalynce as: no superuser, no BYPASSRLS.
pub const APP_ROLE: &str = "covalynce_test_app";

pub fn admin_url() -> String {
    std::env::var("COVALYNCE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A new, empty database. For SQLite: `(None, dir)` — the store lives in `dir`; for
/// PostgreSQL: `(Some(url), dir)`.
pub async fn fresh_database(backend: Backend) -> (Option<String>, PathBuf) {
    let dir = std::env::temp_dir().join(format!("cvl-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("creating a temp dir");
    match backend {
        Backend::Sqlite => (None, dir),
        Backend::Postgres => {
            let admin = admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for the postgres tests ({admin}): {e}")
                });
            // Tests create the role concurrently: whoever loses the race finds it made.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )))
            .execute(&mut conn)
            .await
            .expect("creating the application role");
            let name = format!("cvl_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {name} OWNER {APP_ROLE}"
            )))
            .execute(&mut conn)
            .await
            .expect("creating a test database");
            let _ = conn.close().await;
            (Some(app_url(&admin, &name)), dir)
        }
    }
}

/// `admin` (a URL with a user) pointed at database `name` as [`APP_ROLE`].
fn app_url(admin: &str, name: &str) -> String {
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{APP_ROLE}@{host}/{name}")
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
        Some(url) => Arc::new(PgStore::connect(&url).await.expect("connecting")),
        None => Arc::new(
            SqliteStore::open(&dir.join("covalynce.db"))
                .await
                .expect("opening"),
        ),
    };
    store.migrate().await.expect("migrating");
    store
}
