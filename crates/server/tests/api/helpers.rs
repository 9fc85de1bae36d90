//! `spawn_app`: a real server on port 0 with a fresh database of the chosen backend, a
//! token for a fresh workspace, and typed helpers for what a user (or GitHub) sends.

use covalynce::config::{Config, JobsConfig};
use covalynce::{Application, cli};
use covalynce_domain::WorkspaceSlug;
use covalynce_storage::{Backend, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Real GitHub webhook payloads (octokit/webhooks, MIT: see the folder's LICENSE), kept in
/// the repository so a clone with nothing beside it runs every story.
pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/api/fixtures/github-webhooks"
);

pub fn fixture(path: &str) -> Vec<u8> {
    let p = Path::new(FIXTURES).join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading fixture {}: {e}", p.display()))
}

/// Runs a test story with a time bound, so a hang fails instead of stalling CI.
pub async fn bounded<F: std::future::Future<Output = ()>>(secs: u64, story: F) {
    tokio::time::timeout(Duration::from_secs(secs), story)
        .await
        .expect("test timed out");
}

pub struct TestApp {
    pub addr: String,
    pub client: reqwest::Client,
    pub token: String,
    pub store: Arc<dyn Store>,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn test_jobs_config() -> JobsConfig {
    JobsConfig {
        workers: 2,
        claim_batch: 4,
        poll_interval: Duration::from_millis(50),
        lease: Duration::from_secs(30),
        max_run: Duration::from_secs(60),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    let (database_url, data_dir) = covalynce_storage::testing::fresh_database(backend).await;
    spawn_app_on(backend, database_url, data_dir, test_jobs_config()).await
}

/// [`spawn_app`] with the configuration changed by `tweak` first.
pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let (database_url, data_dir) = covalynce_storage::testing::fresh_database(backend).await;
    spawn_configured(database_url, data_dir, test_jobs_config(), tweak).await
}

pub async fn spawn_app_on(
    _backend: Backend,
    database_url: Option<String>,
    data_dir: PathBuf,
    jobs: JobsConfig,
) -> TestApp {
    spawn_configured(database_url, data_dir, jobs, |_| {}).await
}

pub async fn spawn_configured(
    database_url: Option<String>,
    data_dir: PathBuf,
    jobs: JobsConfig,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config::new(&data_dir);
    config.database_url = database_url.clone();
    config.addr = "127.0.0.1:0".into();
    config.jobs = jobs;
    config.shutdown_grace = Duration::from_secs(2);
    config.git_poll = Duration::from_millis(100);
    // The platforms' stand-ins listen on loopback; production refuses it by default.
    config.allow_private_targets = true;
    config.publish_timeout = Duration::from_secs(2);
    // Stories poll the API in tight loops; the limits have their own stories.
    config.security.api_per_minute = 100_000;
    config.security.login_per_minute = 1_000;
    tweak(&mut config);
    let app = Application::build(config).await.expect("building the app");
    let port = app.port();
    let store = app.store();
    let token = cli::create_token(&store, &WorkspaceSlug::parse("acme").unwrap(), "test")
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        addr: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        token,
        store,
        data_dir,
        database_url,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// A token for workspace `slug` made by the real binary (`covalynce token create`), as an
/// operator would: the last line of its output.
pub fn cli_token(data_dir: &Path, database_url: Option<&str>, slug: &str) -> String {
    let out = covalynce_cmd(data_dir, database_url)
        .args(["token", "create", "--workspace", slug])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

/// Polls a server process's `GET /api/v1/cards` until it lists `n` cards (10 s at most);
/// their ids.
pub async fn drafted_cards(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
) -> Vec<String> {
    let mut cards = Vec::new();
    for _ in 0..200 {
        let r: serde_json::Value = client
            .get(format!("{base}/api/v1/cards"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        cards = r["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        if cards.len() == n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cards.len(), n, "the cards are drafted");
    cards
}

/// The id of workspace `slug`, which must exist.
pub async fn workspace_id(store: &dyn Store, slug: &str) -> covalynce_domain::WorkspaceId {
    store
        .workspace_by_slug(&WorkspaceSlug::parse(slug).unwrap())
        .await
        .unwrap()
        .expect("the workspace exists")
        .id
}

/// Where the server writes workspace `slug`'s outbox file `file`: its own folder in the
/// data dir (members name only the file).
pub async fn outbox_file(store: &dyn Store, data_dir: &Path, slug: &str, file: &str) -> PathBuf {
    let ws = workspace_id(store, slug).await;
    data_dir.join("outbox").join(ws.to_string()).join(file)
}

/// Every outbox line of every workspace on the server, in no particular order.
pub fn all_outbox_lines(data_dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for ws in std::fs::read_dir(data_dir.join("outbox"))
        .into_iter()
        .flatten()
    {
        for file in std::fs::read_dir(ws.unwrap().path()).into_iter().flatten() {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            lines.extend(text.lines().map(str::to_owned));
        }
    }
    lines
}

impl TestApp {
    /// Writes a job row as it is, around the store (which queues typed jobs only): a job
    /// another version wrote, or a row edited by hand. Its id.
    pub async fn insert_raw_job(
        &self,
        ws: covalynce_domain::WorkspaceId,
        kind: &str,
        payload: &str,
        run_at: i64,
    ) -> covalynce_domain::JobId {
        use sqlx::Connection;
        let id = covalynce_domain::JobId::new();
        let now = covalynce_domain::now_millis();
        let sql = "INSERT INTO jobs (id, workspace_id, kind, payload, run_at, max_attempts, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, 5, $6, $6)";
        macro_rules! insert {
            ($conn:expr) => {
                sqlx::query(sql)
                    .bind(id.to_string())
                    .bind(ws.to_string())
                    .bind(kind)
                    .bind(payload)
                    .bind(run_at)
                    .bind(now)
                    .execute(&mut $conn)
                    .await
                    .expect("inserting a raw job")
            };
        }
        match &self.database_url {
            Some(url) => {
                let admin = covalynce_storage::testing::admin_url_for(url);
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                insert!(conn);
            }
            None => {
                let path = self.data_dir.join("covalynce.db");
                let mut conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                insert!(conn);
            }
        }
        id
    }

    /// The operator allows the test's workspace local repositories at or below `path`
    /// (as `covalynce paths allow --workspace acme PATH` does).
    pub async fn allow_path(&self, path: &Path) {
        let ws = workspace_id(self.store.as_ref(), "acme").await;
        let resolved = path.canonicalize().unwrap().display().to_string();
        self.store.allow_path(ws, &resolved).await.unwrap();
    }

    /// The file the server writes for an outbox named `file` in the test's workspace.
    pub async fn outbox_path(&self, file: &str) -> PathBuf {
        outbox_file(self.store.as_ref(), &self.data_dir, "acme", file).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.addr, path)
    }

    /// A token for another workspace on the same server.
    pub async fn token_for(&self, workspace: &str) -> String {
        cli::create_token(
            &self.store,
            &WorkspaceSlug::parse(workspace).unwrap(),
            "test",
        )
        .await
        .unwrap()
    }

    /// Puts workspace `slug` on `plan` (as `covalynce plan SLUG PLAN` does): stories with
    /// teammates need a plan with seats; SOLO has one.
    pub async fn set_plan(&self, slug: &str, plan: &str) {
        let ws = self
            .store
            .workspace_by_slug(&WorkspaceSlug::parse(slug).unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no workspace {slug}"));
        self.store
            .set_plan(ws.id, covalynce_domain::Plan::parse(plan).unwrap())
            .await
            .unwrap();
    }

    /// `set_plan` for the workspace of this app's token.
    pub async fn set_own_plan(&self, plan: &str) {
        let slug = self.get_json("/api/v1/workspace").await["data"]["slug"]
            .as_str()
            .unwrap()
            .to_owned();
        self.set_plan(&slug, plan).await;
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Adds a GitHub source for `repo` with `secret`; returns its id.
    pub async fn github_source(&self, repo: &str, secret: &str) -> String {
        let r = self
            .post_json(
                "/api/v1/sources",
                &serde_json::json!({"kind": "github", "repo": repo, "secret": secret}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await.unwrap();
        body["data"]["id"].as_str().unwrap().to_owned()
    }

    /// Sends a delivery the way GitHub does: raw body, event and delivery headers, and the
    /// HMAC-SHA256 signature of the body with `secret`.
    pub async fn deliver(
        &self,
        source_id: &str,
        event: &str,
        guid: &str,
        secret: &str,
        body: &[u8],
    ) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/hooks/github/{source_id}")))
            .header("content-type", "application/json")
            .header("user-agent", "GitHub-Hookshot/test")
            .header("x-github-event", event)
            .header("x-github-delivery", guid)
            .header(
                "x-hub-signature-256",
                covalynce_sources::github::sign(secret.as_bytes(), body),
            )
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// Polls until `check` holds (or fails the test after 10 s).
    pub async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        self.eventually_within(what, Duration::from_secs(10), check)
            .await;
    }

    /// Polls until `check` holds (or fails the test after `limit`).
    pub async fn eventually_within<F, Fut>(&self, what: &str, limit: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if check().await {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("never happened: {what}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `n` more pending cards, from pushes of commits `from..from + n` to a GitHub source
    /// (made on first use, webhook secret `s`); the ids of all pending cards.
    pub async fn pending_cards(&self, from: usize, n: usize) -> Vec<String> {
        const SECRET: &str = "s";
        let source = match self.get_json("/api/v1/sources").await["data"][0]["id"].as_str() {
            Some(s) => s.to_owned(),
            None => self.github_source("Codertocat/Hello-World", SECRET).await,
        };
        for k in from..from + n {
            let r = self
                .deliver(
                    &source,
                    "push",
                    &format!("push-{k}"),
                    SECRET,
                    &push_of_commit(&format!("{k:c>40}")),
                )
                .await;
            assert!(r.status().is_success());
        }
        let pending = || async {
            self.get_json("/api/v1/cards?status=pending").await["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        self.eventually("the cards are drafted", || async {
            pending().await.len() == n
        })
        .await;
        pending().await
    }

    /// The ids of the pending cards, once there are `n` of them.
    pub async fn wait_pending(&self, n: usize) -> Vec<String> {
        let pending = || async {
            self.get_json("/api/v1/cards?status=pending").await["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        self.eventually(&format!("{n} pending cards"), || async {
            pending().await.len() == n
        })
        .await;
        pending().await
    }

    /// "Test" on a channel: the answer (200 whether or not the platform accepted it).
    pub async fn test_channel(&self, id: &str) -> serde_json::Value {
        let r = self
            .post_json(
                &format!("/api/v1/channels/{id}/test"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    pub async fn card(&self, id: &str) -> serde_json::Value {
        self.get_json(&format!("/api/v1/cards/{id}")).await["data"].clone()
    }

    /// Edits one channel's text of a card.
    pub async fn set_variant(&self, id: &str, channel: &str, text: &str) {
        let r = self
            .client
            .patch(self.url(&format!("/api/v1/cards/{id}")))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "variants": { channel: text } }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    pub async fn approve(&self, card: &str, channel: &str) {
        let r = self
            .post_json(
                &format!("/api/v1/cards/{card}/approve"),
                &serde_json::json!({ "channels": [channel] }),
            )
            .await;
        assert_eq!(r.status(), 202);
    }

    /// The card once its publication is published or failed. Up to 60 s: a release to
    /// seven channels (one of them a real PDS) renders its image in a debug build; alone
    /// that takes 3 s, under the whole suite on two cores it once took longer than 30 s.
    /// When it does not settle, the failure shows where each publication stood.
    pub async fn settled(&self, id: &str) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let c = self.card(id).await;
            if matches!(c["status"].as_str(), Some("published" | "failed")) {
                return c;
            }
            if tokio::time::Instant::now() >= deadline {
                let jobs = self.get_json("/api/v1/jobs?limit=50").await;
                panic!("never happened: the publication settles\ncard: {c:#}\njobs: {jobs:#}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the server's watcher has taken its first look at git source `id` (what
    /// is there then is history, not news).
    pub async fn watcher_has_seen(&self, id: &str) {
        let id = covalynce_domain::SourceId::parse(id).unwrap();
        self.eventually("the server has looked at the repository", || async {
            self.store
                .source(id)
                .await
                .unwrap()
                .unwrap()
                .cursor
                .is_some()
        })
        .await;
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Declares each story as two tests: one on SQLite, one on PostgreSQL.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::helpers::bounded(120, super::$name(covalynce_storage::Backend::Sqlite)).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::helpers::bounded(120, super::$name(covalynce_storage::Backend::Postgres)).await
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

/// The recorded push to the default branch, re-targeted at commit `sha` — a different push
/// of the same shape, as GitHub would send for the next commit.
pub fn push_of_commit(sha: &str) -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture("push/with-new-branch.payload.json")).unwrap();
    v["after"] = sha.into();
    v["commits"][0]["id"] = sha.into();
    v["head_commit"]["id"] = sha.into();
    serde_json::to_vec(&v).unwrap()
}

/// A port that was free a moment ago, for servers started as separate processes.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `covalynce` process, killed when dropped.
pub struct Process {
    pub child: std::process::Child,
    pub stderr_path: PathBuf,
}

impl Process {
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "covalynce did not stop within 10 s of SIGTERM:\n{}",
            self.stderr()
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn covalynce_cmd(data_dir: &Path, database_url: Option<&str>) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_covalynce"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("COVALYNCE_DATA_DIR", data_dir)
        .env("COVALYNCE_LOG", "info,sqlx=warn")
        // Stories poll the API in tight loops; the limits have their own stories.
        .env("COVALYNCE_RATE_LIMIT", "100000");
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

/// Starts `covalynce serve` on a free port and waits until it answers `/health/ready`.
pub async fn serve_process(
    data_dir: &Path,
    database_url: Option<&str>,
    extra: &[&str],
) -> (Process, String) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let stderr_path = data_dir.join(format!("serve-{port}.log"));
    let mut cmd = covalynce_cmd(data_dir, database_url);
    cmd.args(["serve", "--addr", &addr, "--job-poll-ms", "50"])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    let process = Process {
        child: cmd.spawn().unwrap(),
        stderr_path,
    };
    let url = format!("http://{addr}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{url}/health/ready")).send().await
            && r.status() == 200
        {
            return (process, url);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("covalynce serve never became ready:\n{}", process.stderr());
}

/// The API of a `covalynce serve` process, as a client with a token sees it: for stories
/// that kill and restart the server (its address changes with each start).
pub struct Served {
    pub client: reqwest::Client,
    pub token: String,
}

impl Served {
    pub fn new(token: String) -> Self {
        Self {
            client: reqwest::Client::new(),
            token,
        }
    }

    /// A request's JSON answer and status.
    pub async fn call(
        &self,
        method: reqwest::Method,
        base: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut r = self
            .client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A channel made from `body`; its id.
    pub async fn channel(&self, base: &str, body: serde_json::Value) -> String {
        let (status, v) = self
            .call(reqwest::Method::POST, base, "/api/v1/channels", Some(body))
            .await;
        assert_eq!(status, 201, "{v}");
        v["data"]["id"].as_str().unwrap().to_owned()
    }

    /// A GitHub source (webhook secret `s`) and one signed push of commit `n` to it
    /// (`delivery` is its delivery id): the id of the card drafted from it.
    pub async fn card_from_push(&self, base: &str, n: u64, delivery: &str) -> String {
        let (_, src) = self
            .call(
                reqwest::Method::POST,
                base,
                "/api/v1/sources",
                Some(serde_json::json!({"kind": "github", "repo": "Codertocat/Hello-World", "secret": "s"})),
            )
            .await;
        let hook = src["data"]["webhook_url"].as_str().unwrap().to_owned();
        let body = push_of_commit(&format!("{n:040x}"));
        let r = self
            .client
            .post(format!("{base}{hook}"))
            .header("x-github-event", "push")
            .header("x-github-delivery", delivery)
            .header(
                "x-hub-signature-256",
                covalynce_sources::github::sign(b"s", &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        drafted_cards(&self.client, base, &self.token, 1)
            .await
            .remove(0)
    }

    /// Card `card` once `ready` says so (at most 30 s of asking); the last answer either way.
    pub async fn card_when(
        &self,
        base: &str,
        card: &str,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut seen = serde_json::Value::Null;
        for _ in 0..600 {
            seen = self
                .call(
                    reqwest::Method::GET,
                    base,
                    &format!("/api/v1/cards/{card}"),
                    None,
                )
                .await
                .1;
            if ready(&seen["data"]) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        seen["data"].clone()
    }
}
