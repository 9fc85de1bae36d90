//! A founder sees that Covalynce shortens shipping-to-announcing: the lag from the release
//! to its first publication, what was approved, edited and dismissed, how much drafts were
//! changed, publications per channel, and files to take elsewhere.

use crate::helpers::{TestApp, on_both_backends, spawn_app};
use covalynce_storage::Backend;
use serde_json::{Value, json};

on_both_backends!(
    the_lag_and_the_review_are_counted_and_exported,
    bad_ranges_and_formats_are_explained,
);

const DAY_MS: i64 = 86_400_000;

/// A release another tool reports, shipped `hours_ago`; returns its card's id.
async fn shipped(app: &TestApp, key: &str, title: &str, hours_ago: i64) -> String {
    let at = covalynce_domain::now_millis() - hours_ago * 3_600_000;
    let r = app
        .post_json(
            "/api/v1/events",
            &json!({
                "kind": "release", "title": title,
                "body": format!("- feat: {title}"),
                "refs": {"repo": "acme/rocket", "version": format!("v1.{key}.0")},
                "occurred_at": covalynce_domain::time::format_rfc3339(at),
                "idempotency_key": key,
            }),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let find = || async {
        app.get_json("/api/v1/cards?status=pending").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["content"].as_str().unwrap_or_default().contains(title))
            .map(|c| c["id"].as_str().unwrap().to_owned())
    };
    app.eventually("the card is drafted", || async { find().await.is_some() })
        .await;
    find().await.unwrap()
}

async fn the_lag_and_the_review_are_counted_and_exported(backend: Backend) {
    let app = spawn_app(backend).await;
    let channel = crate::publishing::outbox(&app, "analytics-outbox.jsonl")
        .await
        .0;
    let variant = app.get_json("/api/v1/channels").await["data"][0]["config"]["variant"]
        .as_str()
        .unwrap_or("x")
        .to_owned();

    // Three releases shipped two hours ago: one approved as drafted, one fixed first, one
    // dismissed; a fourth approved today for a slot next week counts as approved today.
    let as_drafted = shipped(&app, "1", "CSV export", 2).await;
    let fixed = shipped(&app, "2", "PDF invoices", 2).await;
    let dismissed = shipped(&app, "3", "Internal cleanup", 2).await;
    let next_week = shipped(&app, "4", "Dark mode", 2).await;
    let later =
        covalynce_domain::time::format_rfc3339(covalynce_domain::now_millis() + 7 * 86_400_000);
    let r = app
        .post_json(
            &format!("/api/v1/cards/{next_week}/approve"),
            &json!({"channels": [channel], "publish_at": later}),
        )
        .await;
    assert_eq!(r.status(), 202);
    app.set_variant(
        &fixed,
        &variant,
        "PDF invoices are here: export any invoice from the billing page.",
    )
    .await;
    app.approve(&as_drafted, &channel).await;
    app.approve(&fixed, &channel).await;
    let r = app
        .post_json(&format!("/api/v1/cards/{dismissed}/dismiss"), &json!({}))
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    app.settled(&as_drafted).await;
    app.settled(&fixed).await;

    let report = app.get_json("/api/v1/analytics?group=day").await["data"].clone();
    let t = &report["totals"];
    assert_eq!(t["drafted"], 4, "{t}");
    assert_eq!(
        t["approved"], 3,
        "approved today, whenever it goes out: {t}"
    );
    assert_eq!(t["edited"], 1);
    assert_eq!(t["dismissed"], 1);
    assert!((t["approval_rate"].as_f64().unwrap() - 3.0 / 4.0).abs() < 1e-9);
    assert_eq!(
        (t["published"].as_i64(), t["failed"].as_i64()),
        (Some(2), Some(0))
    );
    // Shipped two hours ago, announced now.
    assert_eq!(t["lag"]["count"], 2);
    let p50 = t["lag"]["p50_s"].as_i64().unwrap();
    assert!((7200..7200 + 120).contains(&p50), "{p50}");
    assert_eq!(t["lag"]["histogram"], json!([0, 2, 0, 0]));
    // One of two announced cards was rewritten: some characters changed, not all.
    let ratio = t["edit_ratio"].as_f64().unwrap();
    assert!(ratio > 0.0 && ratio < 1.0, "{ratio}");
    assert!(t["edit_chars_per_card"].as_f64().unwrap() > 5.0);
    assert_eq!(report["channels"][0]["published"], 2);
    assert_eq!(
        report["buckets"].as_array().unwrap().len(),
        30,
        "the last 30 days"
    );

    // Settled days are rolled up once and read back from the roll-up.
    let ws = covalynce_domain::WorkspaceId::parse(
        app.get_json("/api/v1/workspace").await["data"]["id"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let today = covalynce_domain::now_millis() / DAY_MS;
    let stored = app.store.rollups(ws, today - 40, today).await.unwrap();
    assert_eq!(
        stored.iter().map(|r| r.0).collect::<Vec<_>>(),
        ((today - 29)..=(today - 3)).collect::<Vec<_>>(),
        "days that ended two days ago or earlier are kept; recent ones are counted live"
    );
    let mut old: Value = serde_json::from_str(&stored[0].1).unwrap();
    old["drafted"] = json!(7);
    app.store
        .put_rollup(ws, today - 29, &old.to_string())
        .await
        .unwrap();
    let month = app.get_json("/api/v1/analytics?group=month").await["data"].clone();
    assert_eq!(
        month["totals"]["drafted"], 11,
        "the roll-up is what is read"
    );

    // The same as files.
    let file = |path: &str| {
        let url = app.url(path);
        let client = app.client.clone();
        let token = app.token.clone();
        async move {
            let r = client.get(url).bearer_auth(token).send().await.unwrap();
            let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
            let disposition = r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .to_owned();
            (
                r.status().as_u16(),
                kind,
                disposition,
                r.text().await.unwrap(),
            )
        }
    };
    let (status, kind, disposition, cards) = file("/api/v1/export/cards").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"));
    assert!(disposition.contains("attachment") && disposition.contains(".csv"));
    let lines: Vec<&str> = cards.lines().collect();
    assert!(
        lines[0].starts_with("id,created_at,status,category,risk,title"),
        "{cards}"
    );
    assert_eq!(lines.len(), 5, "a header and four cards: {cards}");
    assert!(cards.contains(&format!("{dismissed},")) && cards.contains(",dismissed,"));
    let (_, kind, _, json_cards) = file("/api/v1/export/cards?format=json").await;
    assert_eq!(kind, "application/json");
    let parsed: Value = serde_json::from_str(&json_cards).unwrap();
    assert_eq!(parsed["data"].as_array().unwrap().len(), 4);
    let (_, _, _, pubs) = file("/api/v1/export/publications").await;
    assert_eq!(
        pubs.lines().count(),
        4,
        "a header, two sent and one waiting: {pubs}"
    );
    assert!(pubs.contains(",outbox,published,"), "{pubs}");
    let (_, _, _, numbers) = file("/api/v1/export/analytics?group=month").await;
    assert!(numbers.starts_with("start,drafted,approved,edited,dismissed,approval_rate"));
    app.stop().await;
}

async fn bad_ranges_and_formats_are_explained(backend: Backend) {
    let app = spawn_app(backend).await;
    for (path, status, words) in [
        ("/api/v1/analytics?from=2026-13-01", 422, "a date like"),
        (
            "/api/v1/analytics?from=2026-11-23&to=2026-11-01",
            422,
            "after",
        ),
        (
            "/api/v1/analytics?from=2020-01-01&to=2026-11-01",
            422,
            "at most",
        ),
        ("/api/v1/analytics?group=year", 422, "day, week or month"),
        ("/api/v1/export/cards?format=xml", 422, "csv or json"),
        (
            "/api/v1/export/secrets",
            404,
            "cards, publications or analytics",
        ),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let problem: Value = r.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(words),
            "{path}: {problem}"
        );
    }
    // The page shows the same numbers, with the exports one click away.
    let owner =
        crate::accounts::Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"}))
            .await;
    let page = owner.page("/analytics").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Ship to announce"), "{}", page.html);
    assert!(
        page.html
            .contains("href=\"/api/v1/export/cards?format=csv\"")
    );
    assert!(page.html.contains("aria-current=\"page\">Analytics"));
    // An empty workspace has empty numbers, not errors.
    let empty = app.get_json("/api/v1/analytics?group=week").await["data"].clone();
    assert_eq!(empty["totals"]["drafted"], 0);
    assert_eq!(empty["totals"]["approval_rate"], Value::Null);
    assert_eq!(empty["totals"]["lag"]["p50_s"], Value::Null);
    app.stop().await;
}
