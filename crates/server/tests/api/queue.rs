//! The queue, as a founder meets it through the API: the workspace's time zone, posting
//! slots per channel, approvals that take each channel's next free slot, and what waits
//! moved earlier, to another time, or pulled back — nothing of it sent before its time.

use crate::helpers::*;
use covalynce_domain::schedule::Zone;
use covalynce_storage::Backend;
use serde_json::{Value, json};

on_both_backends!(a_founder_sets_posting_slots_and_each_approval_takes_the_next_free_one);

async fn send(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    send(app, reqwest::Method::POST, path, body).await
}

fn ms(rfc3339: &str) -> i64 {
    covalynce_domain::time::parse_rfc3339_millis(rfc3339).unwrap()
}

async fn a_founder_sets_posting_slots_and_each_approval_takes_the_next_free_one(backend: Backend) {
    let app = spawn_app(backend).await;
    use reqwest::Method;
    // The workspace's zone: a real IANA name, or a clear refusal.
    let (status, p) = send(
        &app,
        Method::PATCH,
        "/api/v1/workspace",
        json!({"time_zone": "Mars/Olympus"}),
    )
    .await;
    assert_eq!(status, 422, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("not a time zone"),
        "{p}"
    );
    let (status, ws) = send(
        &app,
        Method::PATCH,
        "/api/v1/workspace",
        json!({"time_zone": "Asia/Kolkata"}),
    )
    .await;
    assert_eq!(status, 200, "{ws}");
    assert_eq!(ws["data"]["time_zone"], "Asia/Kolkata");

    let mut channels = Vec::new();
    for file in ["slotted.jsonl", "at-once.jsonl"] {
        let (status, c) = send(
            &app,
            Method::POST,
            "/api/v1/channels",
            json!({"kind": "outbox", "name": file, "file": file, "variant": "x"}),
        )
        .await;
        assert_eq!(status, 201, "{c}");
        channels.push(c["data"]["id"].as_str().unwrap().to_owned());
    }
    let (slotted, at_once) = (&channels[0], &channels[1]);
    let (status, p) = send(
        &app,
        Method::PUT,
        &format!("/api/v1/channels/{slotted}/slots"),
        json!({"slots": "mon-fri 25:00"}),
    )
    .await;
    assert_eq!(status, 422, "{p}");
    let (status, c) = send(
        &app,
        Method::PUT,
        &format!("/api/v1/channels/{slotted}/slots"),
        json!({"slots": "Daily 9:30, 18:00"}),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(
        c["data"]["slots"], "daily 09:30, 18:00",
        "stored as canonical text"
    );

    // Three cards for the next free slot: three different slots, each 09:30 or 18:00 in
    // Kolkata, in order; the channel without slots posts at once.
    let cards = app.pending_cards(1, 3).await;
    let approve = |card: String, channels: Vec<String>| {
        let app = &app;
        async move {
            send(
                app,
                Method::POST,
                &format!("/api/v1/cards/{card}/approve"),
                json!({"channels": channels, "next_slot": true}),
            )
            .await
        }
    };
    let before = covalynce_domain::now_millis();
    for card in &cards[..2] {
        let (status, body) = approve(card.clone(), vec![slotted.clone()]).await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, body) = approve(cards[2].clone(), vec![slotted.clone(), at_once.clone()]).await;
    assert_eq!(status, 202, "{body}");
    let queue = app.get_json("/api/v1/queue").await["data"]
        .as_array()
        .unwrap()
        .clone();
    let on_slotted: Vec<&Value> = queue
        .iter()
        .filter(|q| q["publication"]["channel_id"] == slotted.as_str())
        .collect();
    assert_eq!(on_slotted.len(), 3, "{queue:?}");
    let kolkata = Zone::parse("Asia/Kolkata").unwrap();
    let mut last = before;
    for (q, card) in on_slotted.iter().zip(&cards) {
        assert_eq!(
            q["card_id"],
            card.as_str(),
            "in the order approved: {queue:?}"
        );
        let at = ms(q["due_at"].as_str().unwrap());
        let wall = kolkata.wall(at);
        assert!(wall.ends_with("09:30") || wall.ends_with("18:00"), "{wall}");
        assert!(at > last, "each takes a later slot: {queue:?}");
        last = at;
    }
    assert!(
        last - before < 2 * 86_400_000,
        "three slots fit in two days: {queue:?}"
    );
    app.eventually("the channel without slots posts at once", || async {
        app.card(&cards[2]).await["publications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["channel_id"] == at_once.as_str() && p["status"] == "published")
    })
    .await;

    // The second card goes before the first: their times swap.
    let (first, second) = (on_slotted[0].clone(), on_slotted[1].clone());
    let id = |q: &Value| q["publication"]["id"].as_str().unwrap().to_owned();
    let (status, moved) = send(
        &app,
        Method::POST,
        &format!("/api/v1/publications/{}/earlier", id(&second)),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let (status, p) = send(
        &app,
        Method::POST,
        &format!("/api/v1/publications/{}/earlier", id(&second)),
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "already first: {p}");
    let queue = app.get_json("/api/v1/queue").await["data"].clone();
    assert_eq!(queue[0]["card_id"], cards[1].as_str(), "{queue}");
    assert_eq!(queue[0]["due_at"], first["due_at"], "{queue}");
    assert_eq!(queue[1]["due_at"], second["due_at"], "{queue}");

    // Moved to another day, and one pulled back to the stack.
    let (status, p) = send(
        &app,
        Method::POST,
        &format!("/api/v1/publications/{}/reschedule", id(&first)),
        json!({"due_at": "later"}),
    )
    .await;
    assert_eq!(status, 422, "{p}");
    let far = covalynce_domain::time::format_rfc3339(before + 5 * 86_400_000);
    let (status, p) = send(
        &app,
        Method::POST,
        &format!("/api/v1/publications/{}/reschedule", id(&first)),
        json!({"due_at": far}),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    let (status, p) = send(
        &app,
        Method::POST,
        &format!("/api/v1/cards/{}/unapprove", cards[1]),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    let queue = app.get_json("/api/v1/queue").await["data"].clone();
    let order: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["card_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec![cards[2].as_str(), cards[0].as_str()], "{queue}");
    assert_eq!(queue[1]["due_at"], far.as_str());
    assert_eq!(app.card(&cards[1]).await["status"], "pending");

    // A card whose other post already went out: its waiting post alone comes off the
    // queue, and the card settles as published.
    let third = on_slotted[2]["publication"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, p) = post(
        &app,
        &format!("/api/v1/publications/{third}/withdraw"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        p["data"]["status"], "published",
        "the card as it now is: {p}"
    );
    let left: Vec<&str> = p["data"]["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["channel_id"].as_str().unwrap())
        .collect();
    assert_eq!(left, vec![at_once.as_str()], "{p}");
    assert_eq!(app.card(&cards[2]).await["status"], "published");
    let (status, p) = post(
        &app,
        &format!("/api/v1/publications/{third}/withdraw"),
        json!({}),
    )
    .await;
    assert_eq!(status, 404, "gone: {p}");

    // Under the emergency stop: a post whose time came is held (its job ran and left it
    // queued, so it has none); it can still be moved, and lifting the stop keeps the new
    // time.
    let stop = |on: bool| {
        let app = &app;
        async move {
            send(
                app,
                Method::PUT,
                "/api/v1/workspace/emergency-stop",
                json!({"on": on}),
            )
            .await
            .0
        }
    };
    assert_eq!(stop(true).await, 200);
    let move_first = |due: String| {
        let app = &app;
        let path = format!("/api/v1/publications/{}/reschedule", id(&first));
        async move { post(app, &path, json!({"due_at": due})).await }
    };
    let (status, p) = move_first("2020-01-01T00:00:00Z".into()).await;
    assert_eq!(status, 200, "a time in the past means now: {p}");
    app.eventually("its job ran and held it", || async {
        let queued = app.get_json("/api/v1/jobs?status=queued").await;
        let running = app.get_json("/api/v1/jobs?status=running").await;
        !queued.to_string().contains(&id(&first)) && !running.to_string().contains(&id(&first))
    })
    .await;
    assert_eq!(
        app.card(&cards[0]).await["publications"][0]["status"],
        "queued"
    );
    let held_at = covalynce_domain::time::format_rfc3339(before + 6 * 86_400_000);
    let (status, p) = move_first(held_at.clone()).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(stop(false).await, 200);
    let queue = app.get_json("/api/v1/queue").await["data"].clone();
    assert_eq!(queue[0]["due_at"], held_at.as_str(), "{queue}");
    let jobs = app.get_json("/api/v1/jobs?status=queued").await;
    assert!(
        jobs["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["run_at"] == held_at.as_str() && j.to_string().contains(&id(&first))),
        "lifting the stop queued it for its new time: {jobs}"
    );
    // Its card's last post pulled back: the card is back in the stack.
    let (status, p) = post(
        &app,
        &format!("/api/v1/publications/{}/withdraw", id(&first)),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["data"]["status"], "pending", "{p}");
    assert!(
        app.get_json("/api/v1/queue").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Nothing on the slotted channel went out before its time.
    let slotted_file =
        outbox_file(app.store.as_ref(), &app.data_dir, "acme", "slotted.jsonl").await;
    assert!(
        std::fs::read_to_string(&slotted_file)
            .unwrap_or_default()
            .is_empty()
    );
    let audit = app.get_json("/api/v1/audit").await.to_string();
    for action in [
        "workspace.time_zone",
        "channel.slots",
        "publication.reschedule",
    ] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    app.stop().await;
}
