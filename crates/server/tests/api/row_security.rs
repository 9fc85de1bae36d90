//! Two PostgreSQL roles, as an operator sets them up: the owner of the tables migrates,
//! and the server runs as a role that owns nothing and so cannot lift row level security.

use crate::helpers::{bounded, spawn_configured, test_jobs_config};
use covalynce::Application;
use covalynce::config::Config;

/// A fresh, un-migrated database: the server started with the runtime role's URL and the
/// owner's migrates it as the owner, grants the runtime role its rows, stores the scope
/// key, and serves. A replica with the runtime URL alone (same secret key) starts too;
/// one whose secret key is another refuses to start, and says what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_as_a_role_that_owns_nothing_and_the_owner_migrates() {
    bounded(120, async {
        let (url, owner) = covalynce_storage::testing::fresh_postgres().await;
        let dir = std::env::temp_dir().join(format!("cvl-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let app = spawn_configured(Some(url.clone()), dir.clone(), test_jobs_config(), |c| {
            c.database_owner_url = Some(owner.clone());
        })
        .await;
        let r = app
            .client
            .get(app.url("/api/v1/workspace"))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let ws: serde_json::Value = r.json().await.unwrap();
        assert_eq!(ws["data"]["slug"], "acme");

        // A replica: the runtime URL only, the same secret key (here: the same data dir).
        let replica =
            spawn_configured(Some(url.clone()), dir.clone(), test_jobs_config(), |_| {}).await;
        let r = replica
            .client
            .get(replica.url("/api/v1/workspace"))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "the replica sees the first server's workspace"
        );

        // A server whose secret key is not the one the database's scope key came from.
        let elsewhere =
            std::env::temp_dir().join(format!("cvl-test-{}", uuid::Uuid::new_v4().simple()));
        let mut config = Config::new(&elsewhere);
        config.database_url = Some(url.clone());
        config.addr = "127.0.0.1:0".into();
        let err = Application::build(config)
            .await
            .err()
            .expect("a server with another secret key refuses to start");
        let text = format!("{err:#}");
        assert!(
            text.contains("scope key does not match") && text.contains("covalynce migrate"),
            "{text}"
        );
        replica.stop().await;
        app.stop().await;
    })
    .await
}
