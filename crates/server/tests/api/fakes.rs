//! Stand-ins for the platforms a channel posts to, on loopback, answering as each one is
//! documented to (shared/research/publishing-platforms.md): Slack incoming webhooks,
//! Discord webhooks with their rate-limit buckets, and a webhook receiver of one's own.
//! Each records every request it gets, so a test can count what reached the platform.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Log = Arc<Mutex<Vec<Received>>>;

pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn record(
    log: &Log,
    path: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
    body: &Bytes,
) {
    log.lock().unwrap().push(Received {
        path,
        query,
        headers,
        body: String::from_utf8_lossy(body).into_owned(),
        at: Instant::now(),
    });
}

// ---------------------------------------------------------------------------------------
// Slack incoming webhooks: POST /services/T…/B…/secret with {"text": …}; 200 `ok`, or a
// plain-text error code.

/// What the Slack workspace behind one webhook URL is like.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SlackHook {
    /// Posts go to the channel.
    Live,
    /// The app was uninstalled or the URL revoked: 404 `no_service`.
    Revoked,
    /// The channel was deleted: 404 `channel_not_found`.
    ChannelGone,
    /// The channel was archived: 410 `channel_is_archived`.
    Archived,
    /// Slack is slow: the answer never comes within any sane timeout.
    Hangs,
    /// Slack is having a bad day: 500 `rollup_error`.
    Down,
    /// Slack's own payload checks disagree with ours: 400 `invalid_payload`.
    RejectsPayload,
}

#[derive(Default)]
struct SlackState {
    hooks: HashMap<String, SlackHook>,
    /// The next this many posts (to any hook) are answered 429 with `Retry-After: 1`.
    rate_limited: u32,
}

#[derive(Clone)]
pub struct FakeSlack {
    pub base: String,
    pub log: Log,
    state: Arc<Mutex<SlackState>>,
}

impl FakeSlack {
    pub async fn start() -> Self {
        let log: Log = Arc::default();
        let state: Arc<Mutex<SlackState>> = Arc::default();
        let router = Router::new()
            .route("/services/{team}/{bot}/{secret}", post(slack_post))
            .with_state((log.clone(), state.clone()));
        Self {
            base: serve(router).await,
            log,
            state,
        }
    }

    /// A new incoming-webhook URL whose channel behaves as `hook`.
    pub fn hook(&self, hook: SlackHook) -> String {
        let secret = format!("{:024x}", rand_u128());
        self.state
            .lock()
            .unwrap()
            .hooks
            .insert(secret.clone(), hook);
        format!("{}/services/T0001/B0001/{secret}", self.base)
    }

    pub fn set(&self, url: &str, hook: SlackHook) {
        let secret = url.rsplit('/').next().unwrap().to_owned();
        self.state.lock().unwrap().hooks.insert(secret, hook);
    }

    pub fn rate_limit_next(&self, n: u32) {
        self.state.lock().unwrap().rate_limited = n;
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

async fn slack_post(
    State((log, state)): State<(Log, Arc<Mutex<SlackState>>)>,
    Path((team, bot, secret)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &log,
        format!("/services/{team}/{bot}/{secret}"),
        HashMap::new(),
        headers.clone(),
        &body,
    );
    let hook = {
        let mut s = state.lock().unwrap();
        if s.rate_limited > 0 {
            s.rate_limited -= 1;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                "rate_limited",
            )
                .into_response();
        }
        s.hooks.get(&secret).copied()
    };
    let text = |status: u16, body: &'static str| {
        (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "text/plain")],
            body,
        )
            .into_response()
    };
    match hook {
        None | Some(SlackHook::Revoked) => return text(404, "no_service"),
        Some(SlackHook::ChannelGone) => return text(404, "channel_not_found"),
        Some(SlackHook::Archived) => return text(410, "channel_is_archived"),
        Some(SlackHook::Down) => return text(500, "rollup_error"),
        Some(SlackHook::RejectsPayload) => return text(400, "invalid_payload"),
        Some(SlackHook::Hangs) => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return text(200, "ok");
        }
        Some(SlackHook::Live) => {}
    }
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return text(400, "invalid_payload");
    };
    if !is_json || !payload.is_object() {
        return text(400, "invalid_payload");
    }
    let has_text = payload["text"]
        .as_str()
        .is_some_and(|t| !t.trim().is_empty());
    if !has_text && payload.get("blocks").is_none() {
        return text(400, "no_text");
    }
    text(200, "ok")
}

// ---------------------------------------------------------------------------------------
// Discord webhooks: POST /api/webhooks/{id}/{token}[?wait=true] with `content` (≤ 2000
// characters). Every answer carries the bucket's X-RateLimit-* headers; past the limit, 429
// with `retry_after` in the body. An unknown webhook is 404 code 10015.

struct Bucket {
    remaining: u32,
    resets_at: Instant,
}

struct DiscordState {
    /// webhook id → (token, channel id)
    hooks: HashMap<String, (String, String)>,
    limit: u32,
    window: Duration,
    buckets: HashMap<String, Bucket>,
    /// The next this many requests get a global 429 regardless of the buckets.
    global_limited: u32,
    next_message: u64,
    /// Files attached to messages: (message id, file name, description, bytes).
    attachments: Vec<(String, String, String, Vec<u8>)>,
}

#[derive(Clone)]
pub struct FakeDiscord {
    pub base: String,
    pub log: Log,
    state: Arc<Mutex<DiscordState>>,
}

impl FakeDiscord {
    /// Files attached to messages: (message id, file name, description, bytes).
    pub fn attachments(&self) -> Vec<(String, String, String, Vec<u8>)> {
        self.state.lock().unwrap().attachments.clone()
    }

    /// Discord with buckets of `limit` requests per `window` per webhook.
    pub async fn start(limit: u32, window: Duration) -> Self {
        let log: Log = Arc::default();
        let state = Arc::new(Mutex::new(DiscordState {
            hooks: HashMap::new(),
            limit,
            window,
            buckets: HashMap::new(),
            global_limited: 0,
            next_message: 1_200_000_000_000_000_000,
            attachments: Vec::new(),
        }));
        let router = Router::new()
            .route("/api/webhooks/{id}/{token}", post(discord_post))
            .with_state((log.clone(), state.clone()));
        Self {
            base: serve(router).await,
            log,
            state,
        }
    }

    /// A new webhook posting into channel `channel_id`; returns its URL.
    pub fn webhook(&self, channel_id: &str) -> String {
        let id = format!(
            "{}",
            1_100_000_000_000_000_000u64 + (rand_u128() % 1_000_000) as u64
        );
        let token = format!("{:032x}", rand_u128());
        self.state
            .lock()
            .unwrap()
            .hooks
            .insert(id.clone(), (token.clone(), channel_id.to_owned()));
        format!("{}/api/webhooks/{id}/{token}", self.base)
    }

    /// Someone deleted the webhook in Discord's settings.
    pub fn delete(&self, url: &str) {
        let id = url.rsplit('/').nth(1).unwrap().to_owned();
        self.state.lock().unwrap().hooks.remove(&id);
    }

    pub fn global_limit_next(&self, n: u32) {
        self.state.lock().unwrap().global_limited = n;
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

async fn discord_post(
    State((log, state)): State<(Log, Arc<Mutex<DiscordState>>)>,
    Path((id, token)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &log,
        format!("/api/webhooks/{id}/{token}"),
        query.clone(),
        headers.clone(),
        &body,
    );
    let mut s = state.lock().unwrap();
    let error = |status: u16, body: Value| {
        (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
    };
    if s.global_limited > 0 {
        s.global_limited -= 1;
        let mut r = error(
            429,
            json!({"message": "You are being rate limited.", "retry_after": 0.4, "global": true}),
        );
        let h = r.headers_mut();
        h.insert("retry-after", "1".parse().unwrap());
        h.insert("x-ratelimit-global", "true".parse().unwrap());
        h.insert("x-ratelimit-scope", "global".parse().unwrap());
        return r;
    }
    let channel = match s.hooks.get(&id) {
        Some((t, channel)) if *t == token => channel.clone(),
        _ => return error(404, json!({"message": "Unknown Webhook", "code": 10015})),
    };
    let (limit, window) = (s.limit, s.window);
    let now = Instant::now();
    let bucket = s.buckets.entry(id.clone()).or_insert(Bucket {
        remaining: limit,
        resets_at: now + window,
    });
    if now >= bucket.resets_at {
        *bucket = Bucket {
            remaining: limit,
            resets_at: now + window,
        };
    }
    let reset_after = bucket
        .resets_at
        .saturating_duration_since(now)
        .as_secs_f64();
    let rate_headers = |r: &mut Response, remaining: u32| {
        let h = r.headers_mut();
        h.insert("x-ratelimit-limit", limit.to_string().parse().unwrap());
        h.insert(
            "x-ratelimit-remaining",
            remaining.to_string().parse().unwrap(),
        );
        h.insert(
            "x-ratelimit-reset-after",
            format!("{reset_after:.3}").parse().unwrap(),
        );
        h.insert("x-ratelimit-bucket", id.parse().unwrap());
    };
    if bucket.remaining == 0 {
        let mut r = error(
            429,
            json!({"message": "You are being rate limited.", "retry_after": reset_after, "global": false}),
        );
        rate_headers(&mut r, 0);
        r.headers_mut().insert(
            "retry-after",
            (reset_after.ceil() as u64).to_string().parse().unwrap(),
        );
        r.headers_mut()
            .insert("x-ratelimit-scope", "user".parse().unwrap());
        return r;
    }
    bucket.remaining -= 1;
    let remaining = bucket.remaining;
    // A message with files is multipart: its JSON in `payload_json`, files in `files[n]`.
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let json_body: Vec<u8> = match content_type.split("boundary=").nth(1) {
        Some(boundary) if content_type.starts_with("multipart/form-data") => {
            let mut json = Vec::new();
            for part in split_bytes(&body, format!("--{boundary}").as_bytes()) {
                let Some(head_end) = find(part, b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&part[..head_end]).into_owned();
                let value = part[head_end + 4..]
                    .strip_suffix(b"\r\n")
                    .unwrap_or(&part[head_end + 4..]);
                if head.contains("name=\"payload_json\"") {
                    json = value.to_vec();
                } else if let Some(name) = head
                    .split("name=\"")
                    .nth(1)
                    .and_then(|n| n.split('"').next())
                {
                    files.push((name.to_owned(), value.to_vec()));
                }
            }
            json
        }
        _ => body.to_vec(),
    };
    let Ok(payload) = serde_json::from_slice::<Value>(&json_body) else {
        let mut r = error(
            400,
            json!({"message": "Cannot send an empty message", "code": 50006}),
        );
        rate_headers(&mut r, remaining);
        return r;
    };
    let content = payload["content"].as_str().unwrap_or_default();
    let mut r = if content.chars().count() > 2000 {
        error(
            400,
            json!({"message": "Invalid Form Body", "code": 50035, "errors": {"content": {"_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}}),
        )
    } else if content.trim().is_empty() {
        error(
            400,
            json!({"message": "Cannot send an empty message", "code": 50006}),
        )
    } else if query.get("wait").map(String::as_str) == Some("true") {
        s.next_message += 1;
        let message = s.next_message.to_string();
        for (n, attachment) in payload["attachments"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Some((_, bytes)) = files
                .iter()
                .find(|(name, _)| *name == format!("files[{n}]"))
            {
                s.attachments.push((
                    message.clone(),
                    attachment["filename"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    attachment["description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    bytes.clone(),
                ));
            }
        }
        axum::Json(json!({
            "id": s.next_message.to_string(),
            "type": 0,
            "content": content,
            "channel_id": channel,
            "webhook_id": id,
            "author": {"id": id, "username": "Covalynce", "bot": true},
            "mentions": [],
            "mention_everyone": false,
            "timestamp": "2026-11-23T10:00:00.000000+00:00",
        }))
        .into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    rate_headers(&mut r, remaining);
    r
}

// ---------------------------------------------------------------------------------------
// A webhook receiver of one's own (Zapier, n8n, a script): answers from a script of
// statuses, then 200 with a JSON body naming where the post went.

#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    pub log: Log,
    script: Arc<Mutex<Vec<u16>>>,
    delays: Arc<Mutex<Vec<u64>>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let log: Log = Arc::default();
        let script: Arc<Mutex<Vec<u16>>> = Arc::default();
        let delays: Arc<Mutex<Vec<u64>>> = Arc::default();
        let router = Router::new().route("/{*path}", post(receive)).with_state((
            log.clone(),
            script.clone(),
            delays.clone(),
        ));
        Self {
            base: serve(router).await,
            log,
            script,
            delays,
        }
    }

    /// The next requests are answered only after these many milliseconds, in order (a
    /// slow receiver: the sender is mid-send meanwhile).
    pub fn delay_next(&self, millis: &[u64]) {
        *self.delays.lock().unwrap() = millis.iter().rev().copied().collect();
    }

    /// The next requests are answered with these statuses, in order.
    pub fn answer_next(&self, statuses: &[u16]) {
        *self.script.lock().unwrap() = statuses.iter().rev().copied().collect();
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

type ReceiverState = (Log, Arc<Mutex<Vec<u16>>>, Arc<Mutex<Vec<u64>>>);

async fn receive(
    State((log, script, delays)): State<ReceiverState>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&log, format!("/{path}"), HashMap::new(), headers, &body);
    let delay = delays.lock().unwrap().pop();
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let status = script.lock().unwrap().pop().unwrap_or(200);
    if status == 200 {
        let n = log.lock().unwrap().len();
        return axum::Json(json!({"url": format!("https://example.test/posts/{n}")}))
            .into_response();
    }
    let mut r = (StatusCode::from_u16(status).unwrap(), "not now").into_response();
    if status == 429 {
        r.headers_mut().insert("retry-after", "1".parse().unwrap());
    }
    r
}

fn rand_u128() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

// ---------------------------------------------------------------------------------------
// Mastodon: GET /api/v1/accounts/verify_credentials and /api/v2/instance, POST
// /api/v1/statuses with a Bearer token and an Idempotency-Key it honours (a repeat answers
// the status already made); 401 {"error"} for a bad token, 422 for too long.

#[derive(Default)]
struct MastodonState {
    tokens: Vec<String>,
    max_characters: u64,
    /// Idempotency-Key → the status made for it.
    statuses: HashMap<String, Value>,
    made: u32,
    /// The next this many posts are made, but answered 503 (the answer is lost).
    lose_answers: u32,
    /// The answers to these statuses (counted from 1 as they are made) are lost the same way.
    lose_made: Vec<u32>,
    /// Uploaded media: id → (its description, the file's bytes).
    media: HashMap<String, (String, Vec<u8>)>,
    /// The next media upload is taken, but its answer is lost (a 503).
    lose_media_answer: bool,
    /// The token was made without `write:media`.
    no_media_scope: bool,
}

#[derive(Clone)]
pub struct FakeMastodon {
    pub base: String,
    pub log: Log,
    state: Arc<Mutex<MastodonState>>,
}

impl FakeMastodon {
    pub async fn start(token: &str, max_characters: u64) -> Self {
        let log: Log = Arc::default();
        let state = Arc::new(Mutex::new(MastodonState {
            tokens: vec![token.to_owned()],
            max_characters,
            ..Default::default()
        }));
        let router = Router::new()
            .route(
                "/api/v1/accounts/verify_credentials",
                axum::routing::get(mastodon_me),
            )
            .route("/api/v2/instance", axum::routing::get(mastodon_instance))
            .route("/api/v1/statuses", post(mastodon_post))
            .route("/api/v2/media", post(mastodon_media))
            .with_state((log.clone(), state.clone()));
        Self {
            base: serve(router).await,
            log,
            state,
        }
    }

    /// The user revoked the token in their settings.
    pub fn revoke_all(&self) {
        self.state.lock().unwrap().tokens.clear();
    }

    pub fn lose_next_answers(&self, n: u32) {
        self.state.lock().unwrap().lose_answers = n;
    }

    /// The answer to the `n`th status made from now on (1: the next) is lost.
    pub fn lose_answer_to_status(&self, n: u32) {
        let mut s = self.state.lock().unwrap();
        let at = s.made + n;
        s.lose_made.push(at);
    }

    /// Media uploaded: (id, description, file bytes).
    pub fn media(&self) -> Vec<(String, String, Vec<u8>)> {
        let s = self.state.lock().unwrap();
        let mut all: Vec<_> = s
            .media
            .iter()
            .map(|(id, (d, b))| (id.clone(), d.clone(), b.clone()))
            .collect();
        all.sort();
        all
    }

    /// The token in use was made with `write:statuses` only.
    pub fn without_media_scope(&self) {
        self.state.lock().unwrap().no_media_scope = true;
    }

    pub fn lose_next_media_answer(&self) {
        self.state.lock().unwrap().lose_media_answer = true;
    }

    /// The statuses made, as the instance keeps them.
    pub fn statuses(&self) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .statuses
            .values()
            .cloned()
            .collect()
    }

    /// Statuses actually made (a repeat with a known key makes none).
    pub fn statuses_made(&self) -> u32 {
        self.state.lock().unwrap().made
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

type MastodonShared = (Log, Arc<Mutex<MastodonState>>);

/// Whether the request's `Authorization: Bearer` token is one of `tokens`.
fn bearer_in(tokens: &[String], headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| tokens.iter().any(|k| k == t))
}

fn mastodon_unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"error": "The access token is invalid"})),
    )
        .into_response()
}

async fn mastodon_me(State((log, state)): State<MastodonShared>, headers: HeaderMap) -> Response {
    record(
        &log,
        "/api/v1/accounts/verify_credentials".into(),
        HashMap::new(),
        headers.clone(),
        &Bytes::new(),
    );
    if !bearer_in(&state.lock().unwrap().tokens, &headers) {
        return mastodon_unauthorized();
    }
    axum::Json(
        json!({"id": "109", "username": "founder", "acct": "founder", "display_name": "A Founder"}),
    )
    .into_response()
}

/// `POST /api/v2/media`: a multipart upload of `file` with its `description`.
async fn mastodon_media(
    State((log, state)): State<MastodonShared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &log,
        "/api/v2/media".into(),
        HashMap::new(),
        headers.clone(),
        &Bytes::new(),
    );
    let mut s = state.lock().unwrap();
    if !bearer_in(&s.tokens, &headers) {
        return mastodon_unauthorized();
    }
    if s.no_media_scope {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(json!({"error": "This action is outside the authorized scopes"})),
        )
            .into_response();
    }
    let boundary = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("boundary=").nth(1))
        .unwrap_or_default()
        .to_owned();
    let (mut file, mut description) = (None, String::new());
    let delimiter = format!("--{boundary}");
    let parts = split_bytes(&body, delimiter.as_bytes());
    for part in parts {
        let Some(head_end) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..head_end]);
        let mut value = &part[head_end + 4..];
        value = value.strip_suffix(b"\r\n").unwrap_or(value);
        if head.contains("name=\"file\"") {
            file = Some(value.to_vec());
        } else if head.contains("name=\"description\"") {
            description = String::from_utf8_lossy(value).into_owned();
        }
    }
    let Some(file) = file else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": "Validation failed: File can't be blank"})),
        )
            .into_response();
    };
    let id = format!("2200{}", s.media.len() + 1);
    s.media.insert(id.clone(), (description.clone(), file));
    if std::mem::take(&mut s.lose_media_answer) {
        return (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response();
    }
    axum::Json(json!({"id": id, "type": "image", "description": description})).into_response()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(hay: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = hay;
    while let Some(at) = find(rest, sep) {
        out.push(&rest[..at]);
        rest = &rest[at + sep.len()..];
    }
    out.push(rest);
    out
}

async fn mastodon_instance(State((_, state)): State<MastodonShared>) -> Response {
    let max = state.lock().unwrap().max_characters;
    axum::Json(json!({
        "domain": "social.example",
        "title": "Social Example",
        "configuration": {"statuses": {"max_characters": max, "max_media_attachments": 4, "characters_reserved_per_url": 23}}
    }))
    .into_response()
}

async fn mastodon_post(
    State((log, state)): State<MastodonShared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &log,
        "/api/v1/statuses".into(),
        HashMap::new(),
        headers.clone(),
        &body,
    );
    let mut s = state.lock().unwrap();
    if !bearer_in(&s.tokens, &headers) {
        return mastodon_unauthorized();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if let Some(existing) = s.statuses.get(&key).filter(|_| !key.is_empty()) {
        return axum::Json(existing.clone()).into_response();
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = v["status"].as_str().unwrap_or_default();
    if text.trim().is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": "Validation failed: Text can't be blank"})),
        )
            .into_response();
    }
    if text.chars().count() as u64 > s.max_characters {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": format!("Validation failed: Text character limit of {} exceeded", s.max_characters)})),
        )
            .into_response();
    }
    if let Some(parent) = v["in_reply_to_id"].as_str()
        && !s.statuses.values().any(|st| st["id"] == parent)
    {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "Record not found"})),
        )
            .into_response();
    }
    let media_ids: Vec<String> = v["media_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(unknown) = media_ids.iter().find(|id| !s.media.contains_key(*id)) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": format!("Validation failed: media {unknown} not found")})),
        )
            .into_response();
    }
    s.made += 1;
    let id = format!("1100{}", s.made);
    let attachments: Vec<Value> = media_ids
        .iter()
        .map(|m| json!({"id": m, "type": "image", "description": s.media[m].0}))
        .collect();
    let status = json!({"id": id, "url": format!("https://social.example/@founder/{id}"), "content": format!("<p>{text}</p>"), "visibility": v["visibility"], "in_reply_to_id": v["in_reply_to_id"], "media_attachments": attachments});
    if !key.is_empty() {
        s.statuses.insert(key, status.clone());
    }
    let made = s.made;
    if let Some(at) = s.lose_made.iter().position(|m| *m == made) {
        s.lose_made.remove(at);
        return (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response();
    }
    if s.lose_answers > 0 {
        s.lose_answers -= 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response();
    }
    let mut r = axum::Json(status).into_response();
    r.headers_mut()
        .insert("x-ratelimit-limit", "300".parse().unwrap());
    r.headers_mut()
        .insert("x-ratelimit-remaining", "299".parse().unwrap());
    r
}

// ---------------------------------------------------------------------------------------
// LinkedIn: GET /v2/userinfo, POST /rest/posts (201, the URN in `x-restli-id`). Like the
// real one, an unescaped little-text character cuts the post there while still answering
// 201; `displayed` is what a reader would see.

#[derive(Default)]
struct LinkedinState {
    tokens: Vec<String>,
    displayed: Vec<String>,
    /// Who each post was made as.
    authors: Vec<String>,
    /// Pages the member may post as: (organization id, name).
    pages: Vec<(String, String)>,
    /// The refresh token codes come with (apps approved for programmatic refresh); it
    /// does not rotate.
    refresh_token: Option<String>,
    refreshes: usize,
    /// Images: URN → (owner, the bytes once uploaded).
    images: HashMap<String, (String, Option<Vec<u8>>)>,
    /// Each post's `content` as sent.
    contents: Vec<Value>,
    /// Where this fake is, for the upload addresses it hands out.
    base: String,
}

#[derive(Clone)]
pub struct FakeLinkedin {
    pub base: String,
    pub log: Log,
    state: Arc<Mutex<LinkedinState>>,
}

impl FakeLinkedin {
    pub async fn start(token: &str) -> Self {
        let log: Log = Arc::default();
        let state = Arc::new(Mutex::new(LinkedinState {
            tokens: vec![token.to_owned()],
            ..Default::default()
        }));
        let router = Router::new()
            .route("/v2/userinfo", axum::routing::get(linkedin_me))
            .route("/rest/posts", post(linkedin_post))
            .route("/rest/images", post(linkedin_image_init))
            .route(
                "/dms-uploads/{id}",
                axum::routing::put(linkedin_image_bytes),
            )
            .route("/rest/organizationAcls", axum::routing::get(linkedin_acls))
            .route(
                "/rest/organizations/{id}",
                axum::routing::get(linkedin_organization),
            )
            .route("/oauth/v2/accessToken", post(linkedin_token))
            .with_state((log.clone(), state.clone()));
        let base = serve(router).await;
        state.lock().unwrap().base = base.clone();
        Self { base, log, state }
    }

    pub fn revoke_all(&self) {
        self.state.lock().unwrap().tokens.clear();
    }

    /// Each post's `content` (null for text alone).
    pub fn contents(&self) -> Vec<Value> {
        self.state.lock().unwrap().contents.clone()
    }

    /// An image's bytes as uploaded.
    pub fn image(&self, urn: &str) -> Option<Vec<u8>> {
        self.state
            .lock()
            .unwrap()
            .images
            .get(urn)
            .and_then(|(_, b)| b.clone())
    }

    /// The member administers these pages (id, name).
    pub fn with_pages(&self, pages: &[(&str, &str)]) {
        self.state.lock().unwrap().pages = pages
            .iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect();
    }

    /// Codes come with this refresh token (`None`: the app is not approved for it).
    pub fn issue_refresh_token(&self, token: Option<&str>) {
        self.state.lock().unwrap().refresh_token = token.map(str::to_owned);
    }

    pub fn refreshes(&self) -> usize {
        self.state.lock().unwrap().refreshes
    }

    /// Who each post was made as (`urn:li:person:…`, `urn:li:organization:…`).
    pub fn authors(&self) -> Vec<String> {
        self.state.lock().unwrap().authors.clone()
    }

    /// The posts as readers see them.
    pub fn displayed(&self) -> Vec<String> {
        self.state.lock().unwrap().displayed.clone()
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

type LinkedinShared = (Log, Arc<Mutex<LinkedinState>>);

fn linkedin_revoked() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN", "message": "The token used in the request has been revoked by the user", "status": 401})),
    )
        .into_response()
}

async fn linkedin_me(State((log, state)): State<LinkedinShared>, headers: HeaderMap) -> Response {
    record(
        &log,
        "/v2/userinfo".into(),
        HashMap::new(),
        headers.clone(),
        &Bytes::new(),
    );
    if !bearer_in(&state.lock().unwrap().tokens, &headers) {
        return linkedin_revoked();
    }
    axum::Json(json!({"sub": "abc123", "name": "Ada Founder", "given_name": "Ada", "family_name": "Founder", "email_verified": true})).into_response()
}

async fn linkedin_post(
    State((log, state)): State<LinkedinShared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &log,
        "/rest/posts".into(),
        HashMap::new(),
        headers.clone(),
        &body,
    );
    let mut s = state.lock().unwrap();
    if !bearer_in(&s.tokens, &headers) {
        return linkedin_revoked();
    }
    if headers.get("linkedin-version").is_none() {
        return (StatusCode::UPGRADE_REQUIRED, axum::Json(json!({"status": 426, "code": "NONEXISTENT_VERSION", "message": "Requested version  is not active"}))).into_response();
    }
    if headers
        .get("x-restli-protocol-version")
        .and_then(|v| v.to_str().ok())
        != Some("2.0.0")
    {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"status": 400, "message": "X-Restli-Protocol-Version 2.0.0 is required"}),
            ),
        )
            .into_response();
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let author = v["author"].as_str().unwrap_or_default().to_owned();
    if author.is_empty() {
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"status": 422, "message": "ERROR :: /author :: field is required but not found and has no default value"}))).into_response();
    }
    if let Some(org) = author.strip_prefix("urn:li:organization:")
        && !s.pages.iter().any(|(id, _)| id == org)
    {
        return (StatusCode::FORBIDDEN, axum::Json(json!({"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED", "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE.20261101"}))).into_response();
    }
    // An image must be uploaded, by this author, before a post can carry it.
    if let Some(urn) = v["content"]["media"]["id"].as_str() {
        match s.images.get(urn) {
            Some((owner, Some(_))) if *owner == author => {}
            _ => {
                return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"status": 422, "message": format!("ERROR :: /content/media/id :: {urn} is not an uploaded image of the author")}))).into_response();
            }
        }
    }
    s.contents.push(v["content"].clone());
    s.authors.push(author);
    // Little text: a backslash makes the next character literal; an unescaped reserved
    // character ends what is shown (and the answer is still 201).
    let mut shown = String::new();
    let mut chars = v["commentary"].as_str().unwrap_or_default().chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    shown.push(next);
                }
            }
            '|' | '{' | '}' | '@' | '[' | ']' | '(' | ')' | '<' | '>' | '#' | '*' | '_' | '~' => {
                break;
            }
            other => shown.push(other),
        }
    }
    s.displayed.push(shown);
    let urn = format!("urn:li:share:{}", 7000 + s.displayed.len());
    let mut r = StatusCode::CREATED.into_response();
    r.headers_mut().insert("x-restli-id", urn.parse().unwrap());
    r
}

/// `POST /rest/images?action=initializeUpload`: an image URN and where to PUT its bytes.
async fn linkedin_image_init(
    State((log, state)): State<LinkedinShared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &log,
        "/rest/images".into(),
        q.clone(),
        headers.clone(),
        &body,
    );
    let mut s = state.lock().unwrap();
    if !bearer_in(&s.tokens, &headers) {
        return linkedin_revoked();
    }
    if q.get("action").map(String::as_str) != Some("initializeUpload")
        || headers.get("linkedin-version").is_none()
    {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"status": 400, "message": "action=initializeUpload and LinkedIn-Version are required"}))).into_response();
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(owner) = v["initializeUploadRequest"]["owner"].as_str() else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"status": 422, "message": "owner is required"})),
        )
            .into_response();
    };
    let id = format!("C4E10AQ{}", s.images.len() + 1);
    let urn = format!("urn:li:image:{id}");
    s.images.insert(urn.clone(), (owner.to_owned(), None));
    let upload = format!("{}/dms-uploads/{id}", s.base);
    axum::Json(json!({"value": {"uploadUrlExpiresAt": 4_102_444_800_000_i64, "uploadUrl": upload, "image": urn}})).into_response()
}

/// `PUT` of an image's bytes to the address `initializeUpload` gave.
async fn linkedin_image_bytes(
    State((log, state)): State<LinkedinShared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &log,
        format!("/dms-uploads/{id}"),
        HashMap::new(),
        headers.clone(),
        &Bytes::new(),
    );
    let mut s = state.lock().unwrap();
    if !bearer_in(&s.tokens, &headers) {
        return linkedin_revoked();
    }
    match s.images.get_mut(&format!("urn:li:image:{id}")) {
        Some(image) => {
            image.1 = Some(body.to_vec());
            StatusCode::CREATED.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The code exchange of LinkedIn's 3-legged flow: client id and secret in the form, the
/// one code this fake issued (`good-code`), and the redirect URI.
async fn linkedin_token(
    State((log, state)): State<LinkedinShared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &log,
        "/oauth/v2/accessToken".into(),
        HashMap::new(),
        headers,
        &body,
    );
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |k: &str| form.get(k).map(String::as_str);
    let client = field("client_id") == Some("cid") && field("client_secret") == Some("csecret");
    let mut s = state.lock().unwrap();
    match field("grant_type") {
        Some("authorization_code")
            if client
                && field("code") == Some("good-code")
                && field("redirect_uri").is_some_and(|u| u.ends_with("/channels/linkedin/callback")) =>
        {
            let token = s.tokens.first().cloned().unwrap_or_default();
            let mut grant = json!({"access_token": token, "expires_in": 5_184_000, "scope": "openid,profile,w_member_social"});
            if let Some(r) = &s.refresh_token {
                grant["refresh_token"] = json!(r);
                grant["refresh_token_expires_in"] = json!(31_536_000);
            }
            axum::Json(grant).into_response()
        }
        // Programmatic refresh: a new access token; the refresh token stays the same and
        // keeps its end (a year from the first authorization).
        Some("refresh_token")
            if client
                && field("refresh_token").is_some()
                && field("refresh_token") == s.refresh_token.as_deref() =>
        {
            s.refreshes += 1;
            let token = format!("AQV-linkedin-renewed-{}", s.refreshes);
            s.tokens.push(token.clone());
            axum::Json(json!({"access_token": token, "expires_in": 5_184_000, "refresh_token": s.refresh_token, "refresh_token_expires_in": 31_536_000 - 3_600})).into_response()
        }
        Some("refresh_token") => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request", "error_description": "The provided authorization grant or refresh token is invalid, expired or revoked"}))).into_response(),
        _ => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request", "error_description": "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code"}))).into_response(),
    }
}

/// The member's roles on pages (`q=roleAssignee`), in LinkedIn's shape.
async fn linkedin_acls(
    State((log, state)): State<LinkedinShared>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(
        &log,
        "/rest/organizationAcls".into(),
        q.clone(),
        headers.clone(),
        &Bytes::new(),
    );
    let s = state.lock().unwrap();
    if !bearer_in(&s.tokens, &headers) {
        return linkedin_revoked();
    }
    if q.get("q").map(String::as_str) != Some("roleAssignee")
        || headers.get("x-restli-protocol-version").is_none()
    {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"status": 400, "message": "Invalid finder"})),
        )
            .into_response();
    }
    let mut elements: Vec<Value> = s
        .pages
        .iter()
        .map(|(id, _)| json!({"organization": format!("urn:li:organization:{id}"), "role": "ADMINISTRATOR", "roleAssignee": "urn:li:person:abc123", "state": "APPROVED"}))
        .collect();
    // A role that cannot post is listed too, and must not be offered.
    elements.push(json!({"organization": "urn:li:organization:9999", "role": "ANALYST", "roleAssignee": "urn:li:person:abc123", "state": "APPROVED"}));
    axum::Json(json!({"paging": {"count": 100, "start": 0, "links": []}, "elements": elements}))
        .into_response()
}

async fn linkedin_organization(
    State((_, state)): State<LinkedinShared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let s = state.lock().unwrap();
    if !bearer_in(&s.tokens, &headers) {
        return linkedin_revoked();
    }
    match s.pages.iter().find(|(i, _)| *i == id) {
        Some((_, name)) => axum::Json(json!({"id": id.parse::<i64>().unwrap_or(0), "localizedName": name, "vanityName": name.to_lowercase().replace(' ', "-")})).into_response(),
        None => (StatusCode::FORBIDDEN, axum::Json(json!({"status": 403, "message": "Not enough permissions to access: organizations.GET"}))).into_response(),
    }
}

// ---------------------------------------------------------------------------------------
// X: GET /2/users/me, POST /2/tweets (201 `{"data": {"id", "text"}}`; problem bodies on
// errors; 403 for duplicate content; replies by `reply.in_reply_to_tweet_id`), and
// POST /2/oauth2/token. Like the real one, access tokens expire and refresh tokens are
// single-use: spending one that was already spent revokes the whole family.

#[derive(Default)]
struct XState {
    /// Access token → when it stops working (Unix ms).
    access: HashMap<String, i64>,
    refresh: Option<String>,
    spent: Vec<String>,
    family_revoked: bool,
    refreshes: usize,
    /// (id, text, in reply to).
    tweets: Vec<(String, String, Option<String>)>,
    /// How the next posts are answered: 201 as usual; 429 makes nothing (the budget is
    /// spent, reset in a second); 500 makes the post and then fails (the answer is lost);
    /// 502 makes nothing and says nothing useful; 0 holds the request for 30 s, making
    /// nothing (the sender is killed meanwhile).
    fail_next: std::collections::VecDeque<u16>,
    counter: u64,
    /// The PKCE challenge of the authorization the browser was sent to.
    challenge: Option<String>,
    /// Uploaded media: id → (the decoded file, its alt text once set).
    media: HashMap<String, (Vec<u8>, Option<String>)>,
    /// Each post's media ids, by post id.
    tweet_media: HashMap<String, Vec<String>>,
}

#[derive(Clone)]
pub struct FakeX {
    pub base: String,
    pub log: Log,
    state: Arc<Mutex<XState>>,
}

pub const X_CLIENT: &str = "x-client-id";

impl FakeX {
    /// An account whose `access` token works for `valid_for` and whose refresh token is
    /// `refresh`.
    pub async fn start(access: &str, valid_for: Duration, refresh: &str) -> Self {
        let log: Log = Arc::default();
        let mut state = XState {
            refresh: Some(refresh.to_owned()),
            ..Default::default()
        };
        state.access.insert(
            access.to_owned(),
            covalynce_domain::now_millis() + valid_for.as_millis() as i64,
        );
        let state = Arc::new(Mutex::new(state));
        let router = Router::new()
            .route("/2/users/me", axum::routing::get(x_me))
            .route("/2/tweets", post(x_tweet))
            .route("/2/media/upload", post(x_media_upload))
            .route("/2/media/metadata", post(x_media_metadata))
            .route("/2/oauth2/token", post(x_token))
            .with_state((log.clone(), state.clone()));
        Self {
            base: serve(router).await,
            log,
            state,
        }
    }

    /// Every access token stops working now (two hours went by).
    pub fn expire_access(&self) {
        for at in self.state.lock().unwrap().access.values_mut() {
            *at = 0;
        }
    }

    /// The person revoked the app: no token works any more.
    pub fn revoke(&self) {
        let mut s = self.state.lock().unwrap();
        s.family_revoked = true;
        s.access.clear();
    }

    pub fn refreshes(&self) -> usize {
        self.state.lock().unwrap().refreshes
    }

    pub fn family_revoked(&self) -> bool {
        self.state.lock().unwrap().family_revoked
    }

    /// The browser went through X's consent page with this PKCE challenge.
    pub fn authorized(&self, challenge: &str) {
        self.state.lock().unwrap().challenge = Some(challenge.to_owned());
    }

    /// The refresh token X would accept now.
    pub fn current_refresh(&self) -> Option<String> {
        self.state.lock().unwrap().refresh.clone()
    }

    /// The next posts are answered with these statuses, in order (see `XState::fail_next`).
    pub fn fail_next(&self, statuses: &[u16]) {
        self.state.lock().unwrap().fail_next.extend(statuses);
    }

    /// (id, text, in reply to), in the order they were made.
    pub fn tweets(&self) -> Vec<(String, String, Option<String>)> {
        self.state.lock().unwrap().tweets.clone()
    }

    /// A post's images: (the file, its alt text).
    pub fn media_of(&self, tweet: &str) -> Vec<(Vec<u8>, Option<String>)> {
        let s = self.state.lock().unwrap();
        s.tweet_media
            .get(tweet)
            .map(|ids| ids.iter().map(|id| s.media[id].clone()).collect())
            .unwrap_or_default()
    }

    /// Images uploaded, used or not.
    pub fn uploads(&self) -> usize {
        self.state.lock().unwrap().media.len()
    }
}

/// `POST /2/media/upload`: a one-shot upload, base64 in JSON.
async fn x_media_upload(
    State((log, state)): State<XShared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use base64::Engine as _;
    record(
        &log,
        "/2/media/upload".into(),
        HashMap::new(),
        headers.clone(),
        &Bytes::new(),
    );
    let mut s = state.lock().unwrap();
    if !x_authorized(&s, &headers) {
        return x_problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(file) = v["media"]
        .as_str()
        .and_then(|m| base64::engine::general_purpose::STANDARD.decode(m).ok())
    else {
        return x_problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "media is required",
        );
    };
    if v["media_category"] != "tweet_image" {
        return x_problem(StatusCode::BAD_REQUEST, "Invalid Request", "media_category");
    }
    s.counter += 1;
    let id = format!("19{:017}", s.counter);
    s.media.insert(id.clone(), (file, None));
    axum::Json(json!({"data": {"id": id, "media_key": format!("3_{id}"), "size": 1}}))
        .into_response()
}

/// `POST /2/media/metadata`: alt text for an uploaded image.
async fn x_media_metadata(
    State((log, state)): State<XShared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(
        &log,
        "/2/media/metadata".into(),
        HashMap::new(),
        headers.clone(),
        &body,
    );
    let mut s = state.lock().unwrap();
    if !x_authorized(&s, &headers) {
        return x_problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    let Some(alt) = v["metadata"]["alt_text"]["text"].as_str() else {
        return x_problem(StatusCode::BAD_REQUEST, "Invalid Request", "metadata");
    };
    if alt.chars().count() > 1000 {
        return x_problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "alt text over 1000",
        );
    }
    match s.media.get_mut(&id) {
        Some(m) => m.1 = Some(alt.to_owned()),
        None => return x_problem(StatusCode::BAD_REQUEST, "Invalid Request", "no such media"),
    }
    axum::Json(json!({"data": {"associated_metadata": {"alt_text": {"text": alt}}}}))
        .into_response()
}

type XShared = (Log, Arc<Mutex<XState>>);

fn x_problem(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        [("content-type", "application/problem+json")],
        json!({"title": title, "detail": detail, "type": "about:blank", "status": status.as_u16()})
            .to_string(),
    )
        .into_response()
}

fn x_authorized(state: &XState, headers: &HeaderMap) -> bool {
    let now = covalynce_domain::now_millis();
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| state.access.get(t))
        .is_some_and(|at| *at > now)
}

async fn x_me(State((log, state)): State<XShared>, headers: HeaderMap) -> Response {
    record(
        &log,
        "/2/users/me".into(),
        HashMap::new(),
        headers.clone(),
        &Bytes::new(),
    );
    if !x_authorized(&state.lock().unwrap(), &headers) {
        return x_problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    axum::Json(
        json!({"data": {"id": "2244994945", "name": "Ada Founder", "username": "adafounder"}}),
    )
    .into_response()
}

/// twitter-text's weight for what these tests send: URLs 23, emoji 2, the rest 1.
fn x_weight(text: &str) -> usize {
    text.split_inclusive(char::is_whitespace)
        .map(|w| {
            if w.trim().starts_with("http://") || w.trim().starts_with("https://") {
                23 + usize::from(w.ends_with(char::is_whitespace))
            } else {
                w.chars()
                    .map(|c| if (c as u32) > 0x2000 { 2 } else { 1 })
                    .sum()
            }
        })
        .sum()
}

async fn x_tweet(State((log, state)): State<XShared>, headers: HeaderMap, body: Bytes) -> Response {
    record(
        &log,
        "/2/tweets".into(),
        HashMap::new(),
        headers.clone(),
        &body,
    );
    // 0: X holds the request (the post not made yet) long enough for the sender to die.
    let hang = {
        let mut s = state.lock().unwrap();
        if s.fail_next.front() == Some(&0) {
            s.fail_next.pop_front();
            true
        } else {
            false
        }
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(30)).await;
        return (StatusCode::GATEWAY_TIMEOUT, "timed out").into_response();
    }
    let mut s = state.lock().unwrap();
    if !x_authorized(&s, &headers) {
        return x_problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let failure = s.fail_next.pop_front();
    if failure == Some(502) {
        // A proxy in front of X failed: the post was not made, but nothing says so.
        return (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response();
    }
    if failure == Some(429) {
        let reset = covalynce_domain::now_millis() / 1000 + 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("x-rate-limit-remaining", "0".to_owned()),
                ("x-rate-limit-reset", reset.to_string()),
            ],
            axum::Json(json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429})),
        )
            .into_response();
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(text) = v["text"].as_str() else {
        return x_problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
        );
    };
    if x_weight(text) > 280 {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"errors": [{"message": "Your Tweet text is too long."}], "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"}))).into_response();
    }
    if s.tweets.iter().any(|(_, t, _)| t == text) {
        return x_problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "You are not allowed to create a Tweet with duplicate content.",
        );
    }
    let reply_to = v["reply"]["in_reply_to_tweet_id"]
        .as_str()
        .map(str::to_owned);
    if let Some(r) = &reply_to
        && !s.tweets.iter().any(|(id, _, _)| id == r)
    {
        return x_problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "The Tweet being replied to does not exist.",
        );
    }
    let media: Vec<String> = v["media"]["media_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if media.iter().any(|m| !s.media.contains_key(m)) {
        return x_problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "Your media IDs are invalid.",
        );
    }
    s.counter += 1;
    let id = format!("18{:017}", s.counter);
    s.tweets.push((id.clone(), text.to_owned(), reply_to));
    if !media.is_empty() {
        s.tweet_media.insert(id.clone(), media);
    }
    if failure == Some(500) {
        return x_problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            "Something went wrong.",
        );
    }
    let reset = covalynce_domain::now_millis() / 1000 + 900;
    (
        StatusCode::CREATED,
        [
            ("x-rate-limit-limit", "100".to_owned()),
            ("x-rate-limit-remaining", "99".to_owned()),
            ("x-rate-limit-reset", reset.to_string()),
        ],
        axum::Json(json!({"data": {"id": id, "text": text, "edit_history_tweet_ids": [id]}})),
    )
        .into_response()
}

/// Refreshing: a public client names itself in the form; the refresh token is spent by
/// use, and a spent one coming back revokes every token of the family.
async fn x_token(State((log, state)): State<XShared>, headers: HeaderMap, body: Bytes) -> Response {
    record(
        &log,
        "/2/oauth2/token".into(),
        HashMap::new(),
        headers,
        &body,
    );
    // X takes its time; a second renewal racing this one would be caught spending the
    // same token.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let invalid = || {
        (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request", "error_description": "Value passed for the token was invalid."}))).into_response()
    };
    if form.get("client_id").map(String::as_str) != Some(X_CLIENT) {
        return invalid();
    }
    let mut s = state.lock().unwrap();
    if form.get("grant_type").map(String::as_str) == Some("authorization_code") {
        use base64::Engine;
        use sha2::Digest;
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let ok = form.get("code").map(String::as_str) == Some("good-code")
            && form
                .get("redirect_uri")
                .is_some_and(|u| u.ends_with("/channels/x/callback"))
            && s.challenge.as_deref() == Some(challenge.as_str());
        if !ok {
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request", "error_description": "Value passed for the authorization code or code verifier was invalid."}))).into_response();
        }
        s.access.insert(
            "x-access-oauth".into(),
            covalynce_domain::now_millis() + 7_200_000,
        );
        s.refresh = Some("x-refresh-oauth".into());
        return axum::Json(json!({"token_type": "bearer", "expires_in": 7200, "access_token": "x-access-oauth", "scope": "tweet.read tweet.write users.read offline.access", "refresh_token": "x-refresh-oauth"})).into_response();
    }
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") {
        return invalid();
    }
    let given = form.get("refresh_token").cloned().unwrap_or_default();
    if s.family_revoked {
        return invalid();
    }
    if s.spent.contains(&given) {
        s.family_revoked = true;
        s.access.clear();
        return invalid();
    }
    if s.refresh.as_deref() != Some(given.as_str()) {
        return invalid();
    }
    s.refreshes += 1;
    s.spent.push(given);
    let access = format!("x-access-{}", s.refreshes);
    let refresh = format!("x-refresh-{}", s.refreshes);
    s.access
        .insert(access.clone(), covalynce_domain::now_millis() + 7_200_000);
    s.refresh = Some(refresh.clone());
    axum::Json(json!({"token_type": "bearer", "expires_in": 7200, "access_token": access, "scope": "tweet.read tweet.write users.read offline.access", "refresh_token": refresh})).into_response()
}
