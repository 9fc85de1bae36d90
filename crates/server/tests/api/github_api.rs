//! Zero input with GitHub: a token is enough. Covalynce creates the repository webhook
//! itself (and removes it), or polls the repository's events when GitHub cannot reach it —
//! against a local GitHub that answers as the REST docs say (ETag/304, X-Poll-Interval,
//! rate-limit headers, a secondary limit with Retry-After, Link pagination).

use crate::fakes::serve;
use crate::helpers::{TestApp, on_both_backends, spawn_app_with};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use base64::Engine as _;
use covalynce_storage::Backend;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

on_both_backends!(
    a_token_is_enough_the_webhook_is_created_and_removed_with_the_source,
    without_a_public_url_the_repository_is_polled_politely,
    a_polled_repository_holds_cards_until_its_workflow_runs_are_green,
    connect_github_lists_the_repositories_and_sets_up_the_ticked_ones,
    a_polled_repository_with_another_ci_app_is_gated_by_its_check_suites,
    a_release_without_a_clone_is_drafted_in_the_projects_own_name_and_style,
    a_release_is_drafted_against_its_own_lines_previous_release,
    approved_release_notes_are_written_into_the_github_release_once,
    one_release_card_goes_to_the_changelog_the_github_release_and_every_platform_once,
);

const TOKEN: &str = "gho_16C7e42F292c6912E7710c838347Ae178B4a";
const CLIENT_ID: &str = "Iv1.8a61f9b3a7aba766";
const CLIENT_SECRET: &str = "gh-client-secret";
const REPO: &str = "acme/rocket";

#[derive(Default)]
struct Github {
    /// Newest first, as GitHub lists them.
    events: Vec<Value>,
    hooks: Vec<Value>,
    deleted_hooks: Vec<i64>,
    compares: HashMap<String, Value>,
    pulls: HashMap<String, Value>,
    /// Event-list requests: when, conditional or not, and the status answered.
    polls: Vec<(Instant, bool, u16)>,
    /// The `base...head` of every compare asked for.
    compare_calls: Vec<String>,
    /// Answer the next event-list request with a secondary rate limit.
    limit_next: bool,
    /// Workflow runs, newest first (`GET /repos/{o}/{r}/actions/runs`).
    runs: Vec<Value>,
    /// Run-list requests: conditional or not, and the status answered.
    run_polls: Vec<(bool, u16)>,
    /// Check suites per commit (`GET /repos/{o}/{r}/commits/{sha}/check-suites`).
    suites: HashMap<String, Vec<Value>>,
    /// What `/user/repos` lists beyond `REPO` (`full_name`, admin rights).
    user_repos: Vec<(String, bool)>,
    /// The PKCE challenge of the consent page the browser was sent to.
    challenge: Option<String>,
    /// Files at commits: (commit, root file name) → text (`GET /repos/{o}/{r}/contents`).
    files: HashMap<(String, String), String>,
    /// Tags, newest first: (name, commit).
    tags: Vec<(String, String)>,
    /// Contents requests (path and ref), to see what is read again.
    content_calls: Vec<String>,
    /// `/login/oauth/access_token` requests (their form fields).
    token_requests: Vec<HashMap<String, String>>,
    /// Releases the story's channels made, newest first (`POST /repos/{o}/{r}/releases`).
    made_releases: Vec<Value>,
    /// `PATCH /repos/{o}/{r}/releases/{id}`: (id, the new body).
    release_edits: Vec<(i64, String)>,
    /// The body of the published v2.4.0 release, as edits leave it.
    v240_body: Option<String>,
    /// The next release made is made, but its answer is lost (a 502 from a proxy).
    lose_create_answer: bool,
    /// The next release-list request is refused by the primary rate limit.
    limit_releases_next: bool,
}

type Shared = Arc<Mutex<Github>>;

fn authorized(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
        && h.get("x-github-api-version").is_some()
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, axum::Json(json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}))).into_response()
}

fn rate_headers() -> [(&'static str, String); 4] {
    [
        ("x-ratelimit-limit", "5000".into()),
        ("x-ratelimit-remaining", "4990".into()),
        (
            "x-ratelimit-reset",
            (covalynce_domain::now_millis() / 1000 + 3600).to_string(),
        ),
        ("x-ratelimit-resource", "core".into()),
    ]
}

/// A repository as the REST API shows it, with the token's permissions.
fn repository(name: &str, admin: bool) -> Value {
    json!({
        "id": 1296269, "full_name": name, "private": name == REPO, "default_branch": "main",
        "description": format!("{name} does things"),
        "html_url": format!("https://github.com/{name}"),
        "permissions": {"admin": admin, "push": true, "pull": true}
    })
}

/// The repositories the token reaches: `REPO` (admin) and `user_repos`.
fn known_repos(g: &Github) -> Vec<(String, bool)> {
    let mut all = vec![(REPO.to_owned(), true)];
    all.extend(g.user_repos.iter().cloned());
    all
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"message": "Not Found"})),
    )
        .into_response()
}

async fn repo(
    State(s): State<Shared>,
    Path((o, r)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let g = s.lock().unwrap();
    match known_repos(&g)
        .into_iter()
        .find(|(n, _)| *n == format!("{o}/{r}"))
    {
        Some((name, admin)) => axum::Json(repository(&name, admin)).into_response(),
        None => not_found(),
    }
}

/// `GET /user/repos`: two per page, with `Link`.
async fn user_repos(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let g = s.lock().unwrap();
    let all = known_repos(&g);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * 2)
        .take(2)
        .map(|(n, admin)| repository(n, *admin))
        .collect();
    let mut resp = (rate_headers(), axum::Json(Value::Array(items))).into_response();
    if page * 2 < all.len() {
        let host = h
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let link = format!(
            "<http://{host}/user/repos?per_page=100&sort=pushed&page={}>; rel=\"next\"",
            page + 1
        );
        resp.headers_mut().insert("link", link.parse().unwrap());
    }
    resp
}

/// `POST /login/oauth/access_token`: the app's credentials, the code GitHub gave, the same
/// redirect URI, and the PKCE verifier of the challenge the consent page was shown.
async fn access_token(
    State(s): State<Shared>,
    axum::extract::Form(f): axum::extract::Form<HashMap<String, String>>,
) -> Response {
    let mut g = s.lock().unwrap();
    g.token_requests.push(f.clone());
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let ok = f.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && f.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
        && f.get("code").map(String::as_str) == Some("good-code")
        && f.get("redirect_uri")
            .is_some_and(|u| u.ends_with("/auth/github/callback/connect"))
        && g.challenge.as_deref() == Some(computed.as_str());
    if !ok {
        return axum::Json(json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})).into_response();
    }
    axum::Json(
        json!({"access_token": TOKEN, "token_type": "bearer", "scope": "admin:repo_hook,repo"}),
    )
    .into_response()
}

async fn create_hook(
    State(s): State<Shared>,
    Path((o, r)): Path<(String, String)>,
    h: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let ok = body["name"] == "web"
        && body["config"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
        && body["config"]["content_type"] == "json"
        && body["config"]["secret"]
            .as_str()
            .is_some_and(|s| s.len() >= 20);
    if !ok {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"message": "Validation Failed"})),
        )
            .into_response();
    }
    let mut g = s.lock().unwrap();
    // Without admin rights GitHub answers a hook creation with 404.
    let admin = known_repos(&g)
        .iter()
        .any(|(n, admin)| *n == format!("{o}/{r}") && *admin);
    if !admin {
        return not_found();
    }
    let id = 12_345_678 + g.hooks.len() as i64;
    let mut hook = body.clone();
    hook["id"] = json!(id);
    g.hooks.push(hook.clone());
    (StatusCode::CREATED, axum::Json(hook)).into_response()
}

async fn delete_hook(
    State(s): State<Shared>,
    Path((_, _, id)): Path<(String, String, i64)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    s.lock().unwrap().deleted_hooks.push(id);
    StatusCode::NO_CONTENT.into_response()
}

/// Two events per page, so a poll that finds several has to follow `Link`.
async fn events(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let mut g = s.lock().unwrap();
    let conditional = h.get("if-none-match").is_some();
    if std::mem::take(&mut g.limit_next) {
        g.polls.push((Instant::now(), conditional, 403));
        return (
            StatusCode::FORBIDDEN,
            [("retry-after", "2")],
            axum::Json(json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})),
        )
            .into_response();
    }
    let etag = format!(
        "W/\"{:x}\"",
        g.events
            .iter()
            .map(|e| e["id"].as_str().unwrap().len() as u64 * 31
                + e["id"].as_str().unwrap().parse::<u64>().unwrap())
            .sum::<u64>()
    );
    if h.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        g.polls.push((Instant::now(), conditional, 304));
        // A 304 leaves the rate limit untouched.
        return (
            StatusCode::NOT_MODIFIED,
            [("etag", etag), ("x-poll-interval", "1".into())],
        )
            .into_response();
    }
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let items: Vec<Value> = g
        .events
        .iter()
        .skip((page - 1) * 2)
        .take(2)
        .cloned()
        .collect();
    let last = g.events.len().div_ceil(2).max(1);
    g.polls.push((Instant::now(), conditional, 200));
    let base = "/repos/acme/rocket/events?per_page=100";
    let mut link = Vec::new();
    if page < last {
        link.push(format!("<{{BASE}}{base}&page={}>; rel=\"next\"", page + 1));
        link.push(format!("<{{BASE}}{base}&page={last}>; rel=\"last\""));
    }
    let host = h
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let link = link.join(", ").replace("{BASE}", &format!("http://{host}"));
    let mut resp = (
        StatusCode::OK,
        rate_headers(),
        axum::Json(Value::Array(items)),
    )
        .into_response();
    let headers = resp.headers_mut();
    headers.insert("etag", etag.parse().unwrap());
    headers.insert("x-poll-interval", "1".parse().unwrap());
    if !link.is_empty() {
        headers.insert("link", link.parse().unwrap());
    }
    resp
}

async fn compare(
    State(s): State<Shared>,
    Path((_, _, basehead)): Path<(String, String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let mut g = s.lock().unwrap();
    g.compare_calls.push(basehead.clone());
    match g.compares.get(&basehead) {
        Some(v) => (rate_headers(), axum::Json(v.clone())).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Not Found"})),
        )
            .into_response(),
    }
}

async fn pulls(
    State(s): State<Shared>,
    Path((_, _, sha)): Path<(String, String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let g = s.lock().unwrap();
    axum::Json(g.pulls.get(&sha).cloned().unwrap_or(json!([]))).into_response()
}

/// The workflow-run list, with an ETag over its contents: unchanged runs are a 304.
async fn runs(State(s): State<Shared>, h: HeaderMap) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let mut g = s.lock().unwrap();
    let body = json!({"total_count": g.runs.len(), "workflow_runs": g.runs});
    let etag = format!(
        "\"{}\"",
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(body.to_string().as_bytes()))
    );
    let conditional = h.get("if-none-match").is_some();
    if h.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        g.run_polls.push((conditional, 304));
        return (StatusCode::NOT_MODIFIED, [("etag", etag)]).into_response();
    }
    g.run_polls.push((conditional, 200));
    (rate_headers(), [("etag", etag)], axum::Json(body)).into_response()
}

/// A workflow run as `GET /repos/{o}/{r}/actions/runs` lists it.
fn workflow_run(id: i64, attempt: i64, sha: &str, status: &str, conclusion: Option<&str>) -> Value {
    json!({
        "id": id, "name": "CI", "run_number": id, "run_attempt": attempt, "event": "push",
        "status": status, "conclusion": conclusion, "head_branch": "main", "head_sha": sha,
        "workflow_id": 159038, "path": ".github/workflows/ci.yml",
        "html_url": format!("https://github.com/acme/rocket/actions/runs/{id}"),
        "created_at": "2026-11-23T09:00:00Z", "updated_at": "2026-11-23T09:04:00Z",
        "pull_requests": [], "repository": {"full_name": REPO}
    })
}

async fn check_suites(
    State(s): State<Shared>,
    Path((_, _, sha)): Path<(String, String, String)>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let g = s.lock().unwrap();
    let suites = g.suites.get(&sha).cloned().unwrap_or_default();
    axum::Json(json!({"total_count": suites.len(), "check_suites": suites})).into_response()
}

/// A check suite of another CI app, as the checks API lists it.
fn suite(id: i64, sha: &str, status: &str, conclusion: Option<&str>, updated: &str) -> Value {
    json!({
        "id": id, "head_branch": "main", "head_sha": sha, "status": status, "conclusion": conclusion,
        "app": {"id": 29, "slug": "circleci-checks", "name": "CircleCI Checks"},
        "pull_requests": [], "created_at": "2026-11-23T09:00:00Z", "updated_at": updated,
        "latest_check_runs_count": 2
    })
}

/// `GET /repos/{o}/{r}/releases`: the releases the story has published (and, to a token
/// that can push, its drafts), newest first.
async fn releases(State(s): State<Shared>, h: HeaderMap) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let mut g = s.lock().unwrap();
    if std::mem::take(&mut g.limit_releases_next) {
        let reset = (covalynce_domain::now_millis() / 1000 + 1).to_string();
        return (
            StatusCode::FORBIDDEN,
            [
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset", reset),
            ],
            axum::Json(json!({"message": "API rate limit exceeded for user ID 1."})),
        )
            .into_response();
    }
    let mut list = g.made_releases.clone();
    list.extend([
        json!({"id": 3, "tag_name": "v2.4.0", "draft": false, "prerelease": false, "published_at": "2026-11-23T09:05:00Z",
               "body": g.v240_body.clone().unwrap_or_else(|| "Bug fixes.".into()),
               "html_url": "https://github.com/acme/rocket/releases/tag/v2.4.0"}),
        json!({"id": 2, "tag_name": "v2.4.0-rc.1", "draft": false, "prerelease": true, "published_at": "2026-11-22T09:05:00Z", "body": ""}),
        json!({"id": 1, "tag_name": "v2.3.0", "draft": false, "prerelease": false, "published_at": "2026-11-01T09:05:00Z", "body": ""}),
    ]);
    axum::Json(Value::Array(list)).into_response()
}

/// `POST /repos/{o}/{r}/releases`: a new release (422 when its tag has one already).
async fn create_release(State(s): State<Shared>, h: HeaderMap, body: String) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mut g = s.lock().unwrap();
    let tag = v["tag_name"].as_str().unwrap_or_default().to_owned();
    if tag == "v2.4.0"
        || g.made_releases
            .iter()
            .any(|r| r["tag_name"] == tag.as_str())
    {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"message": "Validation Failed", "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]})),
        )
            .into_response();
    }
    let id = 100 + g.made_releases.len() as i64;
    let release = json!({
        "id": id, "tag_name": tag, "name": v["name"], "body": v["body"], "draft": v["draft"],
        "prerelease": false,
        "html_url": format!("https://github.com/acme/rocket/releases/tag/{tag}"),
    });
    g.made_releases.insert(0, release.clone());
    if std::mem::take(&mut g.lose_create_answer) {
        return (StatusCode::BAD_GATEWAY, "upstream connect error").into_response();
    }
    (StatusCode::CREATED, axum::Json(release)).into_response()
}

/// `PATCH /repos/{o}/{r}/releases/{id}`.
async fn edit_release(
    State(s): State<Shared>,
    Path((_, _, id)): Path<(String, String, i64)>,
    h: HeaderMap,
    body: String,
) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let text = v["body"].as_str().unwrap_or_default().to_owned();
    let mut g = s.lock().unwrap();
    g.release_edits.push((id, text.clone()));
    if id == 3 {
        g.v240_body = Some(text.clone());
        return axum::Json(
            json!({"id": 3, "tag_name": "v2.4.0", "draft": false, "body": text,
            "html_url": "https://github.com/acme/rocket/releases/tag/v2.4.0"}),
        )
        .into_response();
    }
    match g.made_releases.iter_mut().find(|r| r["id"] == id) {
        Some(r) => {
            r["body"] = text.into();
            axum::Json(r.clone()).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "Not Found"})),
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct Ref {
    #[serde(rename = "ref")]
    rev: String,
}

/// `GET /repos/{o}/{r}/contents?ref=SHA`: the root listing at a commit.
async fn contents_root(State(s): State<Shared>, Query(q): Query<Ref>, h: HeaderMap) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let mut g = s.lock().unwrap();
    g.content_calls.push(format!("/@{}", q.rev));
    let entries: Vec<Value> = g
        .files
        .iter()
        .filter(|((sha, _), _)| *sha == q.rev)
        .map(|((_, name), text)| json!({"type": "file", "name": name, "path": name, "size": text.len()}))
        .collect();
    if entries.is_empty() {
        return not_found();
    }
    axum::Json(Value::Array(entries)).into_response()
}

/// `GET /repos/{o}/{r}/contents/{path}?ref=SHA`: a file, base64 at 60 columns as GitHub
/// sends it.
async fn contents_file(
    State(s): State<Shared>,
    Path((_, _, path)): Path<(String, String, String)>,
    Query(q): Query<Ref>,
    h: HeaderMap,
) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let mut g = s.lock().unwrap();
    g.content_calls.push(format!("{path}@{}", q.rev));
    let Some(text) = g.files.get(&(q.rev.clone(), path.clone())) else {
        return not_found();
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let wrapped: Vec<String> = encoded
        .as_bytes()
        .chunks(60)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    axum::Json(json!({"type": "file", "name": path, "path": path, "size": text.len(), "encoding": "base64", "content": wrapped.join("\n")})).into_response()
}

/// `GET /repos/{o}/{r}/tags`.
async fn tags(State(s): State<Shared>, h: HeaderMap) -> Response {
    if !authorized(&h) {
        return unauthorized();
    }
    let g = s.lock().unwrap();
    let list: Vec<Value> = g
        .tags
        .iter()
        .map(|(name, sha)| json!({"name": name, "commit": {"sha": sha, "url": ""}}))
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

async fn start_github() -> (String, Shared) {
    let s: Shared = Arc::default();
    let router = Router::new()
        .route("/repos/{o}/{r}", get(repo))
        .route("/repos/{o}/{r}/hooks", axum::routing::post(create_hook))
        .route("/repos/{o}/{r}/hooks/{id}", delete(delete_hook))
        .route("/repos/{o}/{r}/events", get(events))
        .route("/repos/{o}/{r}/compare/{basehead}", get(compare))
        .route("/repos/{o}/{r}/commits/{sha}/pulls", get(pulls))
        .route(
            "/repos/{o}/{r}/commits/{sha}/check-suites",
            get(check_suites),
        )
        .route("/repos/{o}/{r}/actions/runs", get(runs))
        .route(
            "/repos/{o}/{r}/releases",
            get(releases).post(create_release),
        )
        .route(
            "/repos/{o}/{r}/releases/{id}",
            axum::routing::patch(edit_release),
        )
        .route("/repos/{o}/{r}/contents", get(contents_root))
        .route("/repos/{o}/{r}/contents/{*path}", get(contents_file))
        .route("/repos/{o}/{r}/tags", get(tags))
        .route("/user/repos", get(user_repos))
        .route(
            "/login/oauth/access_token",
            axum::routing::post(access_token),
        )
        .with_state(s.clone());
    (serve(router).await, s)
}

async fn app_with_github(backend: Backend, base: &str, public_url: Option<&str>) -> TestApp {
    let base = base.to_owned();
    let public_url = public_url.map(str::to_owned);
    spawn_app_with(backend, move |c| {
        c.security.github = Some(covalynce::auth::GithubOAuth {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            web_base: base.clone(),
            api_base: base,
        });
        c.security.public_url = public_url;
        c.github_min_poll = Duration::ZERO;
    })
    .await
}

async fn connect(app: &TestApp) -> Value {
    let r = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "github", "repo": REPO, "token": TOKEN}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

async fn a_token_is_enough_the_webhook_is_created_and_removed_with_the_source(backend: Backend) {
    let (base, github) = start_github().await;
    let app = app_with_github(backend, &base, Some("https://covalynce.example.com")).await;
    let created = connect(&app).await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["receives"], json!(["webhook", "polling"]));
    assert!(
        created["data"].get("secret").is_none(),
        "nobody needs to copy the secret"
    );
    assert!(!created.to_string().contains(TOKEN));

    let hook = github.lock().unwrap().hooks[0].clone();
    assert_eq!(
        hook["config"]["url"],
        format!("https://covalynce.example.com/hooks/github/{id}")
    );
    let mut events: Vec<&str> = hook["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    events.sort();
    assert_eq!(
        events,
        [
            "check_suite",
            "create",
            "pull_request",
            "push",
            "release",
            "workflow_run"
        ]
    );
    // GitHub signs deliveries with the secret Covalynce gave it, and they are accepted.
    let secret = hook["config"]["secret"].as_str().unwrap().to_owned();
    let mut push: Value =
        serde_json::from_slice(&crate::helpers::push_of_commit(&"d".repeat(40))).unwrap();
    push["repository"]["full_name"] = json!(REPO);
    let r = app
        .deliver(
            &id,
            "push",
            "hook-1",
            &secret,
            &serde_json::to_vec(&push).unwrap(),
        )
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());

    // A release whose notes are empty: its card tells the commits since the previous
    // release (pre-releases skipped), read from GitHub's compare.
    github.lock().unwrap().compares.insert(
        "v2.3.0...v2.4.0".into(),
        json!({
            "commits": [{
                "sha": "e".repeat(40), "html_url": "https://github.com/acme/rocket/commit/eee",
                "commit": {"message": "feat: export invoices as PDF", "author": {"name": "Ada", "email": "ada@example.com", "date": "2026-11-20T08:59:00Z"}},
                "author": {"login": "ada"}
            }],
            "files": [{"filename": "src/invoice.rs", "status": "modified", "patch": "@@ -1 +1,2 @@\n pub mod pdf;\n+pub fn export_pdf() {}"}]
        }),
    );
    let mut release: Value =
        serde_json::from_slice(&crate::helpers::fixture("release/published.payload.json")).unwrap();
    release["repository"]["full_name"] = json!(REPO);
    release["release"]["tag_name"] = json!("v2.4.0");
    release["release"]["body"] = json!("");
    let r = app
        .deliver(
            &id,
            "release",
            "hook-2",
            &secret,
            &serde_json::to_vec(&release).unwrap(),
        )
        .await;
    assert_eq!(r.status(), 202);
    app.eventually("the release is drafted", || async {
        app.get_json("/api/v1/cards?status=pending").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["content"].as_str().unwrap_or_default().contains("PDF"))
    })
    .await;

    // A token GitHub refuses is a clear 422, and nothing is stored.
    let r = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "github", "repo": REPO, "token": "gho_revoked"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Bad credentials"));
    assert_eq!(
        app.get_json("/api/v1/sources").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The token is sealed at rest.
    let source = app
        .store
        .source(covalynce_domain::SourceId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let sealed = source.sealed_token.unwrap();
    assert!(!sealed.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));

    // Removing the source removes its webhook on GitHub.
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/sources/{id}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(github.lock().unwrap().deleted_hooks, vec![12_345_678]);
    app.stop().await;
}

fn push_event(id: u64, before: &str, head: &str) -> Value {
    json!({
        "id": id.to_string(), "type": "PushEvent", "public": false,
        "actor": {"id": 583231, "login": "octocat"},
        "repo": {"id": 1296269, "name": REPO, "url": "https://api.github.com/repos/acme/rocket"},
        "payload": {"repository_id": 1296269, "push_id": id * 10, "ref": "refs/heads/main", "head": head, "before": before},
        "created_at": "2026-11-23T09:00:00Z"
    })
}

fn other_event(id: u64, kind: &str, payload: Value) -> Value {
    json!({
        "id": id.to_string(), "type": kind, "public": false,
        "actor": {"id": 583231, "login": "octocat"},
        "repo": {"id": 1296269, "name": REPO, "url": "https://api.github.com/repos/acme/rocket"},
        "payload": payload, "created_at": "2026-11-23T09:00:00Z"
    })
}

async fn without_a_public_url_the_repository_is_polled_politely(backend: Backend) {
    let (base, github) = start_github().await;
    let (old, before, head) = ("1".repeat(40), "2".repeat(40), "3".repeat(40));
    {
        let mut g = github.lock().unwrap();
        // History from before the source existed: not announced.
        g.events = vec![
            push_event(100, &old, &before),
            other_event(99, "WatchEvent", json!({"action": "started"})),
        ];
        g.compares.insert(
            format!("{before}...{head}"),
            json!({
                "status": "ahead", "ahead_by": 1, "total_commits": 1,
                "commits": [{
                    "sha": head, "html_url": format!("https://github.com/acme/rocket/commit/{head}"),
                    "commit": {"message": "feat: export reports as CSV (#42)", "author": {"name": "Ada", "email": "ada@example.com", "date": "2026-11-23T08:59:00Z"}},
                    "author": {"login": "ada"}
                }],
                // GitHub's cap: 300 files, so the list may be partial.
                "files": (0..300).map(|n| json!({"filename": format!("src/export_{n}.rs"), "status": "added", "additions": 1, "deletions": 0, "patch": "@@ -0,0 +1 @@\n+pub fn export_csv() {}"})).collect::<Vec<_>>()
            }),
        );
        g.pulls.insert(head.clone(), json!([{"number": 42, "title": "Export reports as CSV", "html_url": "https://github.com/acme/rocket/pull/42"}]));
    }
    let app = app_with_github(backend, &base, None).await;
    // The founder also sets up a webhook by hand later, with their own secret.
    let r = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "github", "repo": REPO, "token": TOKEN, "secret": "hand-made"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["data"]["receives"], json!(["polling"]));
    assert!(
        created["data"]["note"]
            .as_str()
            .unwrap()
            .contains("no public URL")
    );
    assert!(github.lock().unwrap().hooks.is_empty());

    // The first poll marks where the source starts; then unchanged polls are 304s.
    app.eventually("two polls", || async {
        github.lock().unwrap().polls.len() >= 2
    })
    .await;
    assert!(
        app.get_json("/api/v1/events").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    {
        let g = github.lock().unwrap();
        assert!(!g.polls[0].1, "the first poll has no ETag yet");
        assert!(
            g.polls[1].1 && g.polls[1].2 == 304,
            "then it asks conditionally: {:?}",
            g.polls
        );
        // X-Poll-Interval: 1 is obeyed.
        let gap = g.polls[1].0 - g.polls[0].0;
        assert!(
            gap >= Duration::from_millis(950),
            "polled again after {gap:?}"
        );
    }

    // New work: a push, a tag and a release (three new events: two pages).
    {
        let mut g = github.lock().unwrap();
        let mut fresh = vec![
            other_event(
                103,
                "ReleaseEvent",
                json!({"action": "published", "release": {
                "id": 555, "tag_name": "v2.4.0", "name": "Rocket 2.4.0", "body": "- feat: export reports as CSV",
                "prerelease": false, "target_commitish": "main", "html_url": "https://github.com/acme/rocket/releases/tag/v2.4.0",
                "published_at": "2026-11-23T09:05:00Z", "author": {"login": "ada"}}}),
            ),
            other_event(
                102,
                "CreateEvent",
                json!({"ref": "v2.4.0", "ref_type": "tag", "description": null}),
            ),
            push_event(101, &before, &head),
        ];
        // A push to another branch: not announced, and not worth a compare.
        let mut side = push_event(104, &head, &"4".repeat(40));
        side["payload"]["ref"] = json!("refs/heads/experiment");
        fresh.insert(0, side);
        fresh.append(&mut g.events);
        g.events = fresh;
    }
    app.eventually("the polled events are stored", || async {
        app.get_json("/api/v1/events").await["data"]
            .as_array()
            .unwrap()
            .len()
            == 3
    })
    .await;
    let push = app.get_json("/api/v1/events?kind=push").await["data"][0].clone();
    assert_eq!(push["source_event_id"], format!("push:{REPO}:{head}"));
    assert_eq!(
        push["data"]["commits"][0]["message"],
        "feat: export reports as CSV (#42)"
    );
    assert_eq!(push["data"]["pull_request"]["number"], 42);
    assert_eq!(push["data"]["polled"], true);
    assert_eq!(push["data"]["files_truncated"], true);
    // The compare's patches went through the same analyzer as a local repository's diffs.
    let symbols = push["data"]["commits"][0]["symbols"].to_string();
    assert!(symbols.contains("export_csv"), "{symbols}");
    assert_eq!(
        app.get_json("/api/v1/events?kind=release").await["data"][0]["source_event_id"],
        format!("release:{REPO}:555")
    );
    {
        let g = github.lock().unwrap();
        let pushes: Vec<&String> = g
            .compare_calls
            .iter()
            .filter(|c| !c.starts_with('v'))
            .collect();
        // One compare for the push (drafting found it cached); none for the other branch.
        assert_eq!(
            pushes,
            [&format!("{before}...{head}")],
            "{:?}",
            g.compare_calls
        );
    }
    // The compare of two commits is kept: it never changes.
    let ws = app.get_json("/api/v1/workspace").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cached = app
        .store
        .github_cache_get(
            covalynce_domain::WorkspaceId::parse(&ws).unwrap(),
            &format!("compare:{REPO}:{before}...{head}"),
        )
        .await
        .unwrap();
    assert!(cached.is_some());

    // The same push arriving by webhook too is the same event, not a second one.
    let mut hook_push: Value =
        serde_json::from_slice(&crate::helpers::push_of_commit(&head)).unwrap();
    hook_push["repository"]["full_name"] = json!(REPO);
    hook_push["repository"]["default_branch"] = json!("main");
    hook_push["repository"]["master_branch"] = json!("main");
    hook_push["ref"] = json!("refs/heads/main");
    let r = app
        .deliver(
            &id,
            "push",
            "hook-push-1",
            "hand-made",
            &serde_json::to_vec(&hook_push).unwrap(),
        )
        .await;
    assert_eq!(r.status(), 202);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["events"][0]["kind"], "push");
    assert_eq!(answer["events"][0]["new"], false, "{answer}");
    assert_eq!(
        app.get_json("/api/v1/events").await["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // A secondary rate limit: nothing is asked before Retry-After (2 s) has passed.
    github.lock().unwrap().limit_next = true;
    app.eventually("the limited poll and the one after it", || async {
        let g = github.lock().unwrap();
        g.polls
            .iter()
            .position(|p| p.2 == 403)
            .is_some_and(|i| g.polls.len() > i + 1)
    })
    .await;
    {
        let g = github.lock().unwrap();
        let i = g.polls.iter().position(|p| p.2 == 403).unwrap();
        let gap = g.polls[i + 1].0 - g.polls[i].0;
        assert!(
            gap >= Duration::from_millis(1950),
            "asked again after {gap:?}"
        );
    }
    app.stop().await;
}

async fn a_polled_repository_holds_cards_until_its_workflow_runs_are_green(backend: Backend) {
    let (base, github) = start_github().await;
    let (old, before, head) = ("1".repeat(40), "2".repeat(40), "3".repeat(40));
    {
        let mut g = github.lock().unwrap();
        g.events = vec![push_event(100, &old, &before)];
        // CI ran on an earlier commit: the repository has CI.
        g.runs = vec![workflow_run(7, 1, &before, "completed", Some("success"))];
        g.compares.insert(
            format!("{before}...{head}"),
            json!({
                "commits": [{
                    "sha": head, "html_url": format!("https://github.com/acme/rocket/commit/{head}"),
                    "commit": {"message": "feat: export reports as CSV", "author": {"name": "Ada", "email": "ada@example.com", "date": "2026-11-23T08:59:00Z"}},
                    "author": {"login": "ada"}
                }],
                "files": [{"filename": "src/export.rs", "status": "modified", "additions": 1, "deletions": 0,
                           "patch": "@@ -1,1 +1,2 @@\n pub mod report;\n+pub fn export_csv() {}"}]
            }),
        );
    }
    // No public URL: GitHub cannot deliver workflow_run webhooks, so runs are polled.
    let app = app_with_github(backend, &base, None).await;
    connect(&app).await;
    app.eventually("the past run is read", || async {
        app.get_json("/api/v1/events?kind=ci_run").await["data"]
            .as_array()
            .unwrap()
            .len()
            == 1
    })
    .await;

    // A push, with its CI still running: the card waits.
    {
        let mut g = github.lock().unwrap();
        g.events.insert(0, push_event(101, &before, &head));
        g.runs
            .insert(0, workflow_run(8, 1, &head, "in_progress", None));
    }
    let held = || async {
        app.get_json("/api/v1/cards?status=held").await["data"]
            .as_array()
            .unwrap()
            .clone()
    };
    app.eventually("the push's card is held", || async {
        held().await.len() == 1
    })
    .await;
    let card = held().await[0].clone();
    assert_eq!(card["gate"]["state"], "waiting");
    assert_eq!(card["gate"]["sha"], head);
    let id = card["id"].as_str().unwrap().to_owned();

    // The run fails: the card stays held with the run linked.
    github.lock().unwrap().runs[0] = workflow_run(8, 1, &head, "completed", Some("failure"));
    app.eventually("the failure is on the card", || async {
        app.card(&id).await["gate"]["state"] == "failed"
    })
    .await;
    let card = app.card(&id).await;
    assert_eq!(card["status"], "held");
    assert_eq!(
        card["gate"]["run_url"],
        "https://github.com/acme/rocket/actions/runs/8"
    );

    // Re-run, green: the card goes to the stack.
    github
        .lock()
        .unwrap()
        .runs
        .insert(0, workflow_run(8, 2, &head, "completed", Some("success")));
    app.eventually("the card is released", || async {
        app.card(&id).await["status"] == "pending"
    })
    .await;
    assert_eq!(app.card(&id).await["gate"]["state"], "passed");
    // An unchanged run list is asked for conditionally and answered 304.
    app.eventually("a 304 for the unchanged runs", || async {
        github
            .lock()
            .unwrap()
            .run_polls
            .iter()
            .any(|p| p.0 && p.1 == 304)
    })
    .await;
    assert!(
        !github.lock().unwrap().run_polls[0].0,
        "the first run poll has no ETag yet"
    );
    app.stop().await;
}

async fn connect_github_lists_the_repositories_and_sets_up_the_ticked_ones(backend: Backend) {
    let (base, github) = start_github().await;
    github.lock().unwrap().user_repos =
        vec![("acme/docs".into(), false), ("ada/dotfiles".into(), true)];
    let mut app = app_with_github(backend, &base, Some("https://covalynce.example.com")).await;
    let owner =
        crate::accounts::Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"}))
            .await;
    let sources = owner.page("/sources").await;
    assert!(
        sources.html.contains("href=\"/sources/github/connect\""),
        "the button shows"
    );

    // To GitHub's consent page, asking for repository rights (not the sign-in's).
    let (to, q, cookies) = owner.start_connect("/sources/github/connect").await;
    assert_eq!(to.path(), "/login/oauth/authorize");
    assert_eq!(q["scope"], "repo admin:repo_hook");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(
        q["redirect_uri"], "https://covalynce.example.com/auth/github/callback/connect",
        "GitHub sends the person back to the public address"
    );
    github.lock().unwrap().challenge = Some(q["code_challenge"].clone());

    // An answer this browser did not ask for is refused, and GitHub is not asked.
    let forged = owner
        .callback(
            "/auth/github/callback/connect?code=good-code&state=forged",
            &cookies,
        )
        .await;
    assert_eq!(forged.status(), 400);
    assert!(github.lock().unwrap().token_requests.is_empty());

    // GitHub sends the person back: their repositories (two pages) to tick.
    let back = owner
        .callback(
            &format!(
                "/auth/github/callback/connect?code=good-code&state={}",
                q["state"]
            ),
            &cookies,
        )
        .await;
    assert_eq!(back.status(), 200);
    let pending = back.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(pending.starts_with("covalynce_github_connect="));
    assert!(!pending.contains(TOKEN), "the token waits sealed");
    let html = back.text().await.unwrap();
    assert!(!html.contains(TOKEN));
    assert!(html.contains("Which repositories?"), "{html}");
    for name in [REPO, "acme/docs", "ada/dotfiles"] {
        assert!(
            html.contains(&format!("name=\"repo:{name}\"")),
            "{name} is offered"
        );
    }
    assert!(
        html.contains("no admin rights: polled"),
        "acme/docs will be polled"
    );
    let state = html
        .split("name=\"state\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();

    // Tick two: one gets its webhook, the other (no admin rights) is polled.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let pick = |state: String| {
        let form = [
            ("_csrf", owner.csrf_token().to_owned()),
            ("state", state),
            (&*format!("repo:{REPO}"), "on".to_owned()),
            ("repo:acme/docs", "on".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v));
        plain
            .post(app.url("/sources/github/pick"))
            .header("cookie", format!("{}; {pending}", owner.cookie()))
            // The server's public address is its origin.
            .header("origin", "https://covalynce.example.com")
            .form(&form)
            .send()
    };
    assert_eq!(pick("forged".into()).await.unwrap().status(), 400);
    let picked = pick(state).await.unwrap();
    assert_eq!(picked.status(), 200);
    let html = picked.text().await.unwrap();
    assert!(
        html.contains("Connected acme/rocket: its webhook is set up on GitHub."),
        "{html}"
    );
    assert!(
        html.contains("Connected acme/docs: polling (the webhook could not be created"),
        "{html}"
    );

    // Connected repositories show as such on the next connection.
    let (_, q2, cookies2) = owner.start_connect("/sources/github/connect").await;
    github.lock().unwrap().challenge = Some(q2["code_challenge"].clone());
    let again = owner
        .callback(
            &format!(
                "/auth/github/callback/connect?code=good-code&state={}",
                q2["state"]
            ),
            &cookies2,
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(again.matches("already a source").count(), 2, "{again}");
    // From the Sources page: the gate of one turned off, the other removed (its webhook
    // on GitHub goes too).
    let (_, listed) = owner
        .send(reqwest::Method::GET, "/api/v1/sources", None)
        .await;
    let id_of = |repo: &str| {
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["repo"] == repo)
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let (rocket, docs) = (id_of(REPO), id_of("acme/docs"));
    let session = (owner.cookie(), owner.csrf_token().to_owned());
    let (status, html) = public_form(
        &app,
        &session,
        &format!("/sources/{docs}/gate"),
        &[("workflows", "CI, Lint")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("The CI gate is off"), "{html}");
    app.token = app.token_for("team").await;
    let listed = app.get_json("/api/v1/sources").await["data"].clone();
    let receives = |repo: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["repo"] == repo)
            .map(|s| s["receives"].clone())
    };
    assert_eq!(receives(REPO), Some(json!(["webhook", "polling"])));
    assert_eq!(receives("acme/docs"), Some(json!(["polling"])));
    let docs_source = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["repo"] == "acme/docs")
        .unwrap()
        .clone();
    assert_eq!(
        docs_source["gate"],
        json!({"enabled": false, "workflows": ["CI", "Lint"]})
    );
    assert_eq!(receives("ada/dotfiles"), None, "not ticked, not connected");
    {
        let g = github.lock().unwrap();
        assert_eq!(g.hooks.len(), 1);
        assert!(
            g.hooks[0]["config"]["url"]
                .as_str()
                .unwrap()
                .starts_with("https://covalynce.example.com/hooks/github/")
        );
    }

    let (status, html) =
        public_form(&app, &session, &format!("/sources/{rocket}/remove"), &[]).await;
    assert_eq!(status, 200);
    assert!(html.contains("The source was removed"), "{html}");
    assert_eq!(github.lock().unwrap().deleted_hooks, vec![12_345_678]);
    assert_eq!(
        app.get_json("/api/v1/sources").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

/// A form sent from the server's public address (its origin) with a browser's session
/// cookie and CSRF token.
async fn public_form(
    app: &TestApp,
    (cookie, csrf): &(String, String),
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut all = vec![("_csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let r = app
        .client
        .post(app.url(path))
        .header("cookie", cookie)
        .header("origin", "https://covalynce.example.com")
        .form(&all)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn a_polled_repository_with_another_ci_app_is_gated_by_its_check_suites(backend: Backend) {
    let (base, github) = start_github().await;
    let (old, first, second) = ("1".repeat(40), "2".repeat(40), "3".repeat(40));
    let third = "4".repeat(40);
    let compare = |base: &str, head: &str, message: &str| {
        json!({
            "commits": [{"sha": head, "html_url": format!("https://github.com/acme/rocket/commit/{head}"),
                         "commit": {"message": message, "author": {"name": "Ada", "email": "ada@example.com", "date": "2026-11-23T08:59:00Z"}},
                         "author": {"login": "ada"}}],
            "files": [{"filename": format!("src/{}.rs", &base[..4]), "status": "modified", "patch": "@@ -1 +1 @@\n-a\n+b"}]
        })
    };
    {
        let mut g = github.lock().unwrap();
        g.events = vec![push_event(100, &old, &first)];
        g.compares.insert(
            format!("{first}...{second}"),
            compare(&first, &second, "feat: CSV export"),
        );
        g.compares.insert(
            format!("{second}...{third}"),
            compare(&second, &third, "feat: PDF export"),
        );
    }
    let app = app_with_github(backend, &base, None).await;
    connect(&app).await;
    app.eventually("the first poll marks where the source starts", || async {
        !github.lock().unwrap().polls.is_empty()
    })
    .await;
    // No GitHub Actions here: CircleCI reports through check suites. Its suite for the
    // first new push completes green; from then on the repository has CI.
    github
        .lock()
        .unwrap()
        .events
        .insert(0, push_event(101, &first, &second));
    app.wait_pending(1).await;
    github.lock().unwrap().suites.insert(
        second.clone(),
        vec![suite(
            501,
            &second,
            "completed",
            Some("success"),
            "2026-11-23T09:10:00Z",
        )],
    );
    app.eventually("the suite is read", || async {
        app.get_json("/api/v1/events?kind=ci_run").await["data"]
            .as_array()
            .unwrap()
            .len()
            == 1
    })
    .await;
    let run = app.get_json("/api/v1/events?kind=ci_run").await["data"][0].clone();
    assert_eq!(run["data"]["workflow"], "CircleCI Checks");

    // The next push waits for its suite; red holds it; a re-run that passes releases it.
    github
        .lock()
        .unwrap()
        .events
        .insert(0, push_event(102, &second, &third));
    app.eventually("the push's card is held", || async {
        app.get_json("/api/v1/cards?status=held").await["data"]
            .as_array()
            .unwrap()
            .len()
            == 1
    })
    .await;
    let id = app.get_json("/api/v1/cards?status=held").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    github.lock().unwrap().suites.insert(
        third.clone(),
        vec![suite(
            502,
            &third,
            "completed",
            Some("failure"),
            "2026-11-23T09:20:00Z",
        )],
    );
    app.eventually("the failure is on the card", || async {
        app.card(&id).await["gate"]["state"] == "failed"
    })
    .await;
    assert_eq!(
        app.card(&id).await["gate"]["run_url"],
        format!("https://github.com/acme/rocket/commit/{third}/checks")
    );
    github.lock().unwrap().suites.insert(
        third.clone(),
        vec![suite(
            502,
            &third,
            "completed",
            Some("success"),
            "2026-11-23T09:30:00Z",
        )],
    );
    app.eventually("the card is released", || async {
        app.card(&id).await["status"] == "pending"
    })
    .await;
    app.stop().await;
}

/// A commit of a compare as GitHub lists it.
fn compared_commit(sha: &str, message: &str) -> Value {
    json!({
        "sha": sha, "html_url": format!("https://github.com/acme/rocket/commit/{sha}"),
        "commit": {"message": message, "author": {"name": "Ada", "email": "ada@example.com", "date": "2026-11-20T08:59:00Z"}},
        "author": {"login": "ada"}, "parents": [{"sha": "0".repeat(40)}]
    })
}

/// A repository connected with a token only, no clone on the server: its release is
/// drafted under the name its manifest and README give it, and selects and cites as its
/// CHANGELOG (read through the API as it stood at the previous release, and cached) did
/// for its past releases — the issue each fix closes, never the pull request.
async fn a_release_without_a_clone_is_drafted_in_the_projects_own_name_and_style(backend: Backend) {
    drafted_in_own_style(backend, false).await
}

/// A project that keeps an older major line (monolog ships 2.11.0 minutes before 3.10.0):
/// the release is compared with the previous release of its own line, not with whatever
/// was published last — that compare would hold every commit since the lines parted.
async fn a_release_is_drafted_against_its_own_lines_previous_release(backend: Backend) {
    drafted_in_own_style(backend, true).await
}

async fn drafted_in_own_style(backend: Backend, older_line_published_between: bool) {
    let (base, github) = start_github().await;
    let app = app_with_github(backend, &base, Some("https://covalynce.example.com")).await;
    let created = connect(&app).await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let secret = github.lock().unwrap().hooks[0]["config"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let sha = |c: char| c.to_string().repeat(40);
    {
        let mut g = github.lock().unwrap();
        g.tags = vec![
            ("v2.4.0".into(), sha('e')),
            ("v2.3.0".into(), sha('c')),
            ("v2.2.0".into(), sha('b')),
            ("v2.1.0".into(), sha('a')),
        ];
        if older_line_published_between {
            g.tags.push(("v1.9.2".into(), sha('9')));
            g.made_releases.push(
                json!({"id": 9, "tag_name": "v1.9.2", "draft": false, "prerelease": false,
                "published_at": "2026-11-23T09:00:00Z", "body": "- Backport (#49)"}),
            );
            g.compares.insert(
                "v1.9.2...v2.4.0".into(),
                json!({"base_commit": {"sha": sha('8')}, "commits": (0..40).map(|n| compared_commit(&format!("{n:040}"), &format!("feat: the 2.x line's change number {n}"))).collect::<Vec<_>>(), "files": []}),
            );
        }
        // The notes as they stood at v2.3.0: fixes listed with the issue they close.
        g.files.insert(
            (sha('c'), "CHANGELOG.md".into()),
            "# Changelog\n\n## [2.3.0] - 2026-11-01\n### Fixed\n- Export keeps dates ([#30](https://github.com/acme/rocket/issues/30))\n- Totals round once (#32)\n- Import skips blank rows (#34)\n\n## [2.2.0] - 2026-10-01\n### Fixed\n- Search finds accents (#20)\n- PDF margins (#22)\n- Login remembers the tab (#24)\n\n## [2.1.0] - 2026-09-01\n- First release\n".into(),
        );
        g.files.insert(
            (sha('c'), "Cargo.toml".into()),
            "[package]\nname = \"rocket\"\n".into(),
        );
        // At the release: the manifest and README that name the project.
        g.files.insert(
            (sha('e'), "Cargo.toml".into()),
            "[package]\nname = \"rocket-cli\"\nkeywords = [\"invoices\"]\n".into(),
        );
        g.files.insert(
            (sha('e'), "README.md".into()),
            "# Rocket CLI\n\nInvoices from your terminal.\n".into(),
        );
        let past = |fixes: [(u64, u64, &str); 3], head: char| {
            json!({"base_commit": {"sha": sha('0')}, "commits": fixes.iter().enumerate().map(|(n, (pr, issue, what))| {
                let id = if n == 2 { sha(head) } else { format!("{n}{}", head.to_string().repeat(39)) };
                compared_commit(&id, &format!("Fix {what} (#{pr})\n\nFixes #{issue}"))
            }).collect::<Vec<_>>(), "files": []})
        };
        g.compares.insert(
            format!("{}...{}", sha('b'), sha('c')),
            past(
                [
                    (31, 30, "export dates"),
                    (33, 32, "totals rounding"),
                    (35, 34, "blank rows"),
                ],
                'c',
            ),
        );
        g.compares.insert(
            format!("{}...{}", sha('a'), sha('b')),
            past(
                [
                    (21, 20, "accent search"),
                    (23, 22, "PDF margins"),
                    (25, 24, "tab memory"),
                ],
                'b',
            ),
        );
        // The release itself.
        g.compares.insert(
            "v2.3.0...v2.4.0".into(),
            json!({
                "base_commit": {"sha": sha('c')},
                "commits": [
                    compared_commit(&format!("1{}", "d".repeat(39)), "feat: export invoices as CSV (#51)"),
                    compared_commit(&sha('e'), "fix: crash on empty files (#53)\n\nFixes #52"),
                ],
                "files": [{"filename": "src/export.rs", "status": "modified", "patch": "@@ -1 +1,2 @@\n pub mod csv;\n+pub fn export_csv() {}"}]
            }),
        );
    }
    let mut release: Value =
        serde_json::from_slice(&crate::helpers::fixture("release/published.payload.json")).unwrap();
    release["repository"]["full_name"] = json!(REPO);
    release["release"]["tag_name"] = json!("v2.4.0");
    release["release"]["body"] = json!("");
    let r = app
        .deliver(
            &id,
            "release",
            "hook-style",
            &secret,
            &serde_json::to_vec(&release).unwrap(),
        )
        .await;
    assert_eq!(r.status(), 202);
    let drafted = || async {
        app.get_json("/api/v1/cards?status=pending").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["content"].as_str().unwrap_or_default().contains("CSV"))
            .cloned()
    };
    app.eventually("the release is drafted", || async {
        drafted().await.is_some()
    })
    .await;
    let card = drafted().await.unwrap();
    let notes = card["content"].as_str().unwrap();
    assert!(notes.contains("#52"), "the issue the fix closes: {notes}");
    assert!(
        !notes.contains("2.x line's change"),
        "only what v2.3.0..v2.4.0 brings: {notes}"
    );
    assert!(
        !notes.contains("#53") && !notes.contains("#51"),
        "no pull requests, as the project's notes never cite them: {notes}"
    );
    assert!(
        card["title"].as_str().unwrap().contains("Rocket CLI"),
        "{card}"
    );
    for channel in ["x", "linkedin", "mastodon", "bluesky"] {
        let text = card["variants"][channel].as_str().unwrap();
        assert!(text.contains("Rocket CLI v2.4.0"), "{channel}: {text}");
        assert!(!text.contains("acme/rocket v2.4.0"), "{channel}: {text}");
    }
    assert!(
        card["variants"]["linkedin"]
            .as_str()
            .unwrap()
            .contains("#rust"),
        "hashtags from the manifest's language: {}",
        card["variants"]["linkedin"]
    );
    // Read once at the previous release and once at this one; nothing the release added
    // to its notes was read (there is no CHANGELOG request at v2.4.0).
    let calls = github.lock().unwrap().content_calls.clone();
    assert!(
        calls.contains(&format!("CHANGELOG.md@{}", sha('c'))),
        "{calls:?}"
    );
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("CHANGELOG.md@") && c.ends_with(&sha('e'))),
        "{calls:?}"
    );
    // Cached by commit: a commit's files never change.
    let ws = crate::helpers::workspace_id(app.store.as_ref(), "acme").await;
    let cached = app
        .store
        .github_cache_get(
            ws,
            &format!("get:/repos/{REPO}/contents/CHANGELOG.md?ref={}", sha('c')),
        )
        .await
        .unwrap();
    assert!(cached.is_some(), "the notes file is cached");
    app.stop().await;
}

/// A release reported for `tag` (by another tool: the events API); its card's id.
async fn reported_release(app: &TestApp, tag: &str) -> String {
    crate::changelog::release(
        app,
        tag,
        "- feat: export invoices as CSV\n- fix: totals round once",
    )
    .await
}

/// GitHub Releases as a channel: the approved notes become the body of the tag's release —
/// the existing one edited, a missing one made (here as a draft) — once, through GitHub's
/// rate limit and a lost answer, with the source's token and nothing printed of it.
async fn approved_release_notes_are_written_into_the_github_release_once(backend: Backend) {
    let (base, github) = start_github().await;
    let app = app_with_github(backend, &base, Some("https://covalynce.example.com")).await;
    let source = connect(&app).await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Only a GitHub source of this workspace, with a token, can lend its repository.
    let r = app
        .post_json("/api/v1/channels", &json!({"kind": "github_release"}))
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .post_json(
            "/api/v1/channels",
            &json!({"kind": "github_release", "source": "0190a0a0-0000-7000-8000-000000000000"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .post_json(
            "/api/v1/channels",
            &json!({"kind": "github_release", "source": source, "draft": true}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert!(!created.to_string().contains(TOKEN), "{created}");
    assert_eq!(created["data"]["config"]["repo"], REPO);
    let channel = created["data"]["id"].as_str().unwrap().to_owned();
    // "Send test" reads the releases, and writes nothing.
    let test = app.test_channel(&channel).await;
    assert!(test.to_string().contains("acme/rocket"), "{test}");

    // v2.4.0 is on GitHub already: its body becomes the approved notes.
    let card = reported_release(&app, "v2.4.0").await;
    let notes = app.card(&card).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    app.approve(&card, &channel).await;
    let done = app.settled(&card).await;
    assert_eq!(done["status"], "published", "{done}");
    assert_eq!(
        done["publications"][0]["url"],
        "https://github.com/acme/rocket/releases/tag/v2.4.0"
    );
    {
        let g = github.lock().unwrap();
        assert_eq!(g.release_edits, vec![(3, notes.clone())]);
        assert!(
            g.made_releases.is_empty(),
            "nothing made for an existing release"
        );
    }

    // v2.5.0 is not: it is made as a draft — through a rate limit, and an answer lost
    // after GitHub made it — exactly once.
    {
        let mut g = github.lock().unwrap();
        g.limit_releases_next = true;
        g.lose_create_answer = true;
    }
    let card = reported_release(&app, "v2.5.0").await;
    let notes = app.card(&card).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    app.approve(&card, &channel).await;
    app.eventually("the draft release is written", || async {
        app.card(&card).await["status"] == "published"
    })
    .await;
    let done = app.card(&card).await;
    let publication = &done["publications"][0];
    assert_eq!(
        publication["url"],
        "https://github.com/acme/rocket/releases/tag/v2.5.0"
    );
    assert!(
        publication["note"]
            .as_str()
            .unwrap_or_default()
            .contains("draft"),
        "{publication}"
    );
    let g = github.lock().unwrap();
    assert_eq!(
        g.made_releases.len(),
        1,
        "one release, whatever was retried: {:?}",
        g.made_releases
    );
    let made = &g.made_releases[0];
    assert_eq!(made["tag_name"], "v2.5.0");
    assert_eq!(made["draft"], true);
    assert_eq!(made["body"], notes.as_str());
    assert_eq!(made["name"], "rocket v2.5.0");
    assert!(
        !g.limit_releases_next && !g.lose_create_answer,
        "both happened"
    );
}

/// Issue 24's promise, whole: one approval of one release card puts it on the public
/// changelog (page and both feeds), into the GitHub release, and onto Mastodon, X,
/// LinkedIn, Bluesky (a real PDS) and Discord with its image and alt text — each once.
async fn one_release_card_goes_to_the_changelog_the_github_release_and_every_platform_once(
    backend: Backend,
) {
    use crate::fakes::{FakeDiscord, FakeLinkedin, FakeMastodon, FakeX};
    use crate::pds::{Account, Wire};
    let (base, github) = start_github().await;
    let app = app_with_github(backend, &base, Some("https://covalynce.example.com")).await;
    let source = connect(&app).await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mastodon = FakeMastodon::start("mastodon-token-0123456789", 500).await;
    let x = FakeX::start("x-access-0", Duration::from_secs(7200), "x-refresh-0").await;
    let linkedin = FakeLinkedin::start("AQV-linkedin-token-0123456789").await;
    let discord = FakeDiscord::start(5, Duration::from_secs(2)).await;
    let wire = Wire::start().await;
    let ada = Account::create("ada").await;
    let password = ada.app_password("covalynce").await;
    let mut channels = Vec::new();
    for body in [
        json!({"kind": "changelog"}),
        json!({"kind": "github_release", "source": source}),
        json!({"kind": "mastodon", "instance": mastodon.base, "access_token": "mastodon-token-0123456789"}),
        json!({"kind": "x", "access_token": "x-access-0", "api_base": x.base, "thread": true}),
        json!({"kind": "linkedin", "access_token": "AQV-linkedin-token-0123456789", "author": "urn:li:person:abc123", "api_base": linkedin.base}),
        json!({"kind": "bluesky", "service": wire.base, "identifier": ada.handle, "app_password": password}),
        json!({"kind": "discord", "webhook_url": discord.webhook("900000000000000009")}),
    ] {
        let r = app.post_json("/api/v1/channels", &body).await;
        assert_eq!(r.status(), 201, "{body}: {}", r.text().await.unwrap());
        channels.push(
            r.json::<Value>().await.unwrap()["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let card = crate::changelog::release(
        &app,
        "v2.6.0",
        "- feat: export invoices as CSV\n- feat: dark mode follows the system\n- fix: totals round once",
    )
    .await;
    let notes = app.card(&card).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post_json(
            &format!("/api/v1/cards/{card}/approve"),
            &json!({"channels": channels, "as_thread": true}),
        )
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let done = app.settled(&card).await;
    assert_eq!(done["status"], "published", "{done}");
    let publications = done["publications"].as_array().unwrap();
    assert_eq!(publications.len(), 7);
    assert!(
        publications.iter().all(|p| p["status"] == "published"),
        "{done}"
    );

    // The changelog: the page and both feeds, once.
    crate::changelog::make_public(&app, true).await;
    let page = app.get("/changelog/acme/v2.6.0").await;
    assert_eq!(page.status(), 200);
    let atom = app
        .get("/changelog/acme/feed.atom")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(atom.matches("<entry>").count(), 1, "{atom}");
    let feed: Value = app
        .get("/changelog/acme/feed.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(feed["items"].as_array().unwrap().len(), 1);
    // The GitHub release, made once with the notes.
    {
        let g = github.lock().unwrap();
        assert_eq!(g.made_releases.len(), 1);
        assert_eq!(g.made_releases[0]["body"], notes.as_str());
    }
    // Every platform: one post, with the image and words for it.
    assert_eq!(mastodon.statuses_made(), 1);
    assert!(
        mastodon.statuses()[0]["media_attachments"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("rocket v2.6.0: ")
    );
    let tweets = x.tweets();
    let (first, _, _) = &tweets[0];
    assert_eq!(x.media_of(first).len(), 1);
    assert_eq!(x.uploads(), 1);
    let posted = linkedin.contents();
    assert_eq!(posted.len(), 1);
    assert!(
        posted[0]["media"]["altText"]
            .as_str()
            .unwrap()
            .starts_with("rocket v2.6.0: ")
    );
    let made = ada.posts().await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].1["embed"]["$type"], "app.bsky.embed.images");
    let attachments = discord.attachments();
    assert_eq!(attachments.len(), 1);
    assert!(attachments[0].2.starts_with("rocket v2.6.0: "));
    app.stop().await;
}
