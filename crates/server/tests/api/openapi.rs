//! The OpenAPI document is generated from the code and pinned by a snapshot: a change to
//! the API shows up as a reviewed diff of `snapshots/api__openapi__openapi.snap`.

use crate::helpers::{bounded, spawn_app};
use covalynce_storage::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_the_snapshot_and_docs_are_browsable() {
    bounded(60, async {
        let app = spawn_app(Backend::Sqlite).await;
        let r = app
            .client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let doc: serde_json::Value = r.json().await.unwrap();
        for path in [
            "/api/v1/sources",
            "/hooks/github/{source_id}",
            "/health/ready",
            "/api/v1/events",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} is documented");
        }
        // Client generators name methods after operation ids: each must be unique.
        let mut ids = std::collections::HashSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(!id.is_empty(), "{method} {path} has an operation id");
                assert!(
                    ids.insert(id.to_owned()),
                    "{method} {path}: operation id {id} repeats"
                );
            }
        }
        insta::assert_json_snapshot!("openapi", doc);

        let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
        assert_eq!(docs.status(), 200);
        assert!(
            docs.text().await.unwrap().contains("swagger"),
            "the docs page is served"
        );
        app.stop().await;
    })
    .await
}
