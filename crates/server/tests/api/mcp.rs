//! A founder reviews cards from their AI assistant: `covalynce mcp` spoken to over stdio
//! with real JSON-RPC messages (initialize, tools/list, tools/call for each tool,
//! resources), against a running server.

use crate::helpers::{TestApp, on_both_backends, spawn_app};
use covalynce_storage::Backend;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

on_both_backends!(
    an_assistant_reviews_cards_through_mcp,
    without_a_server_mcp_opens_the_data_dir_itself,
);

/// `covalynce mcp` as a child process, spoken to one JSON-RPC line at a time.
struct Mcp {
    child: Child,
    io: Arc<Mutex<(ChildStdin, BufReader<ChildStdout>)>>,
    next_id: i64,
}

impl Mcp {
    fn start(app: &TestApp, token: &str) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_covalynce"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("COVALYNCE_TOKEN", token)
            .args(["mcp", "--server", &app.addr]);
        Self::spawn(cmd)
    }

    /// `covalynce mcp --local` over the app's own database.
    fn local(app: &TestApp, workspace: &str) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_covalynce"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("COVALYNCE_DATA_DIR", &app.data_dir)
            .args(["mcp", "--local", "--workspace", workspace]);
        if let Some(url) = &app.database_url {
            cmd.env("DATABASE_URL", url);
        }
        Self::spawn(cmd)
    }

    fn spawn(mut cmd: Command) -> Self {
        // Its logs go to stderr (checked: stdout carries only JSON-RPC); quiet them here.
        cmd.env("COVALYNCE_LOG", "warn");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Mcp {
            child,
            io: Arc::new(Mutex::new((stdin, stdout))),
            next_id: 0,
        }
    }

    async fn send(&self, message: Value) {
        let io = self.io.clone();
        tokio::task::spawn_blocking(move || {
            let mut io = io.lock().unwrap();
            writeln!(io.0, "{message}").unwrap();
            io.0.flush().unwrap();
        })
        .await
        .unwrap();
    }

    /// A request and its response (notifications in between are skipped).
    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let io = self.io.clone();
        tokio::task::spawn_blocking(move || {
            let mut io = io.lock().unwrap();
            loop {
                let mut line = String::new();
                assert!(
                    io.1.read_line(&mut line).unwrap() > 0,
                    "the MCP server closed stdout"
                );
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout carries only JSON-RPC ({e}): {line}"));
                if v["id"] == id {
                    return v;
                }
            }
        })
        .await
        .unwrap()
    }

    async fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let r = self
            .request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await;
        assert!(r.get("error").is_none(), "{tool}: {r}");
        r["result"].clone()
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn an_assistant_reviews_cards_through_mcp(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, path) = crate::publishing::outbox(&app, "mcp-outbox.jsonl").await;
    let channel = app.get_json("/api/v1/channels").await["data"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids = app.pending_cards(0, 4).await;

    let mut mcp = Mcp::start(&app, &app.token);
    let init = mcp
        .request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "covalynce-test", "version": "1.0"}}),
        )
        .await;
    assert_eq!(init["result"]["serverInfo"]["name"], "covalynce", "{init}");
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18");
    assert!(init["result"]["capabilities"]["tools"].is_object());
    assert!(init["result"]["capabilities"]["resources"].is_object());
    mcp.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;

    let tools = mcp.request("tools/list", json!({})).await;
    let mut names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "approve",
            "dismiss",
            "draft_release_notes",
            "edit_variant",
            "list_pending",
            "refine",
            "show_card"
        ]
    );
    let approve_schema = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "approve")
        .unwrap()["inputSchema"]
        .clone();
    assert_eq!(approve_schema["required"], json!(["id", "channels"]));

    // The pending stack, as a tool and as a resource.
    let listed = mcp.call("list_pending", json!({})).await;
    assert_eq!(
        listed["structuredContent"]["cards"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    for id in &ids {
        assert!(text(&listed).contains(id.as_str()), "{listed}");
    }
    let resources = mcp.request("resources/list", json!({})).await;
    assert_eq!(
        resources["result"]["resources"][0]["uri"],
        "covalynce://cards/pending"
    );
    let read = mcp
        .request(
            "resources/read",
            json!({"uri": "covalynce://cards/pending"}),
        )
        .await;
    let stack: Value =
        serde_json::from_str(read["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(stack.as_array().unwrap().len(), 4);

    let shown = mcp.call("show_card", json!({"id": ids[0]})).await;
    assert!(text(&shown).contains("--- x"), "{shown}");
    assert_eq!(shown["structuredContent"]["id"], ids[0]);

    // Edit, then approve to a named channel: published once, and audited as MCP's.
    let post = "CSV export is live for every report.";
    let edited = mcp
        .call(
            "edit_variant",
            json!({"id": ids[0], "channel": "x", "text": post}),
        )
        .await;
    assert_eq!(edited["structuredContent"]["variants"]["x"], post);
    let approved = mcp
        .call("approve", json!({"id": ids[0], "channels": [channel]}))
        .await;
    assert_eq!(approved["isError"], false, "{approved}");
    assert_eq!(app.settled(&ids[0]).await["status"], "published");
    assert!(std::fs::read_to_string(&path).unwrap().contains(post));

    // A red card (its post shows a credential) cannot be approved by an assistant.
    let long = "Rotated the deploy key AKIAIOSFODNN7EXAMPLE today.";
    let made_red = mcp
        .call(
            "edit_variant",
            json!({"id": ids[1], "channel": "x", "text": long}),
        )
        .await;
    assert_eq!(made_red["structuredContent"]["risk"], "red", "{made_red}");
    let red = mcp
        .call("approve", json!({"id": ids[1], "channels": [channel]}))
        .await;
    assert_eq!(red["isError"], true);
    assert!(text(&red).contains("is red"), "{red}");
    assert_eq!(app.card(&ids[1]).await["status"], "pending");

    let dismissed = mcp.call("dismiss", json!({"id": ids[2]})).await;
    assert_eq!(dismissed["structuredContent"]["status"], "dismissed");

    // Refining needs AI set up: the server's refusal is passed on, not a crash.
    let refine = mcp
        .call("refine", json!({"id": ids[1], "instruction": "shorter"}))
        .await;
    assert_eq!(refine["isError"], true, "{refine}");
    assert!(text(&refine).contains("AI"), "{refine}");
    // With a provider set up, the rewrite comes back as the card's new text.
    let (base, llm) = crate::ai::llm().await;
    llm.answer(crate::ai::GOOD);
    assert_eq!(
        crate::ai::configure(&app, &base, "messages").await.status(),
        200
    );
    let refined = mcp
        .call(
            "refine",
            json!({"id": ids[3], "instruction": "shorter", "channels": ["x"]}),
        )
        .await;
    assert_eq!(refined["isError"], false, "{refined}");
    assert_eq!(
        refined["structuredContent"]["variants"]["x"],
        crate::ai::GOOD
    );
    assert!(text(&refined).contains(crate::ai::GOOD));

    // Release notes of a local repository, offline.
    let repo = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.com"])
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(repo.path().join("export.rs"), "pub fn export_csv() {}\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "feat: export reports as CSV"]);
    let notes = mcp
        .call(
            "draft_release_notes",
            json!({"repo": repo.path().to_str().unwrap()}),
        )
        .await;
    assert_eq!(notes["isError"], false, "{notes}");
    assert!(text(&notes).contains("CSV"), "{notes}");
    assert!(
        notes["structuredContent"]["release_notes"].is_string(),
        "{notes}"
    );

    // Every action is in the audit log, marked as done via MCP.
    let audit = app.get_json("/api/v1/audit").await["data"].clone();
    let via_mcp: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["detail"]["via"] == "mcp")
        .collect();
    assert!(
        via_mcp.iter().any(|a| a["action"] == "card.approve"),
        "{audit}"
    );
    assert!(via_mcp.len() >= 4, "edit, approve, edit, dismiss: {audit}");
    drop(mcp);

    // A viewer's token cannot approve: the server's role check answers.
    let viewer = viewer_token(&app).await;
    let mut as_viewer = Mcp::start(&app, &viewer);
    as_viewer
        .request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    as_viewer
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    let refused = as_viewer
        .call("approve", json!({"id": ids[3], "channels": [channel]}))
        .await;
    assert_eq!(refused["isError"], true);
    assert!(text(&refused).contains("403"), "{refused}");
    app.stop().await;
}

/// A viewer-role API token of the app's workspace.
async fn viewer_token(app: &TestApp) -> String {
    let r = app
        .post_json(
            "/api/v1/tokens",
            &json!({"name": "assistant", "role": "viewer"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    v["data"]["token"].as_str().unwrap().to_owned()
}

async fn without_a_server_mcp_opens_the_data_dir_itself(backend: Backend) {
    let app = spawn_app(backend).await;
    let ids = app.pending_cards(0, 1).await;
    let slug = app.get_json("/api/v1/workspace").await["data"]["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut mcp = Mcp::local(&app, &slug);
    let init = mcp
        .request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}),
        )
        .await;
    assert_eq!(init["result"]["serverInfo"]["name"], "covalynce", "{init}");
    mcp.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    let listed = mcp.call("list_pending", json!({})).await;
    assert!(text(&listed).contains(ids[0].as_str()), "{listed}");
    let dismissed = mcp.call("dismiss", json!({"id": ids[0]})).await;
    assert_eq!(dismissed["isError"], false, "{dismissed}");
    assert_eq!(app.card(&ids[0]).await["status"], "dismissed");
    app.stop().await;
}
