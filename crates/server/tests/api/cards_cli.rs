//! A founder reviews cards from the terminal: `covalynce cards list|show|edit|approve|
//! dismiss` against a running server with a token, in words or `--json`.

use crate::helpers::{TestApp, on_both_backends, spawn_app};
use covalynce_storage::Backend;
use serde_json::Value;

on_both_backends!(
    a_founder_reviews_cards_from_the_terminal,
    a_long_x_text_goes_out_as_a_thread_from_the_terminal_only_when_she_says_so,
);

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// `covalynce cards --server … --token TOKEN ARGS…`, run as a separate process.
async fn cards(app: &TestApp, token: Option<&str>, args: &[&str]) -> Out {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_covalynce"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["cards", "--server", &app.addr]);
    if let Some(t) = token {
        cmd.args(["--token", t]);
    }
    cmd.args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn a_founder_reviews_cards_from_the_terminal(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, path) = crate::publishing::outbox(&app, "cli-outbox.jsonl").await;
    let channel_name = app.get_json("/api/v1/channels").await["data"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids = app.pending_cards(0, 2).await;
    let token = app.token.clone();
    let t = Some(token.as_str());

    let list = cards(&app, t, &["list"]).await;
    assert!(list.ok, "{}", list.stderr);
    for id in &ids {
        assert!(list.stdout.contains(id.as_str()), "{}", list.stdout);
    }
    assert!(list.stdout.contains("pending"));
    let listed: Value =
        serde_json::from_str(&cards(&app, t, &["--json", "list"]).await.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let show = cards(&app, t, &["show", &ids[0]]).await;
    assert!(show.ok && show.stdout.contains("--- x"), "{}", show.stdout);

    let text = "Shipped: CSV export for every report.";
    let edit = cards(
        &app,
        t,
        &["edit", &ids[0], "--channel", "x", "--text", text],
    )
    .await;
    assert!(edit.ok, "{}", edit.stderr);
    let shown: Value =
        serde_json::from_str(&cards(&app, t, &["--json", "show", &ids[0]]).await.stdout).unwrap();
    assert_eq!(shown["variants"]["x"], text);

    let approve = cards(&app, t, &["approve", &ids[0], "--channel", &channel_name]).await;
    assert!(approve.ok, "{}", approve.stderr);
    assert!(approve.stdout.contains("approved"));
    let settled = app.settled(&ids[0]).await;
    assert_eq!(settled["status"], "published");
    assert!(std::fs::read_to_string(&path).unwrap().contains(text));

    let dismiss = cards(&app, t, &["dismiss", &ids[1]]).await;
    assert!(dismiss.ok, "{}", dismiss.stderr);
    assert_eq!(app.card(&ids[1]).await["status"], "dismissed");
    assert!(
        cards(&app, t, &["list"])
            .await
            .stdout
            .contains("no pending cards")
    );

    // Mistakes get the server's own words, never a panic.
    for (token, args, words) in [
        (t, vec!["show", "no-such-card"], "no card"),
        (
            t,
            vec!["approve", &ids[1], "--channel", "nowhere"],
            "there is no channel",
        ),
        (t, vec!["approve", &ids[1]], "only a pending card"),
        (Some("cvl_wrong"), vec!["list"], "HTTP 401"),
        (None, vec!["list"], "an API token is needed"),
    ] {
        let out = cards(&app, token, &args).await;
        assert!(!out.ok, "{args:?} should fail");
        assert!(
            out.stderr.contains("error:") && out.stderr.contains(words),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"));
    }
    app.stop().await;
}

/// An X text over 280 on an X channel that posts threads: the terminal refuses it with the
/// flag to say yes, and `--as-thread` sends it as a thread.
async fn a_long_x_text_goes_out_as_a_thread_from_the_terminal_only_when_she_says_so(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let x = crate::fakes::FakeX::start(
        "x-access-0",
        std::time::Duration::from_secs(7200),
        "x-refresh-0",
    )
    .await;
    let r = app
        .post_json(
            "/api/v1/channels",
            &serde_json::json!({"kind": "x", "name": "Acme on X", "access_token": "x-access-0", "api_base": x.base, "thread": true}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let ids = app.pending_cards(0, 1).await;
    let long = "The cache now survives restarts, so the second build takes seconds. ".repeat(6);
    app.set_variant(&ids[0], "x", long.trim()).await;
    let t = Some(app.token.as_str());
    let refused = cards(&app, t, &["approve", &ids[0], "--channel", "Acme on X"]).await;
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains("as a thread") && refused.stderr.contains("--as-thread"),
        "{}",
        refused.stderr
    );
    assert!(x.tweets().is_empty());
    let yes = cards(
        &app,
        t,
        &["approve", &ids[0], "--channel", "Acme on X", "--as-thread"],
    )
    .await;
    assert!(yes.ok, "{}", yes.stderr);
    assert_eq!(app.settled(&ids[0]).await["status"], "published");
    assert!(x.tweets().len() >= 2, "{:?}", x.tweets());
    app.stop().await;
}
