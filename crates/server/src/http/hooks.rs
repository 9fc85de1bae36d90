//! `POST /hooks/github/{source_id}` and `POST /hooks/jira/{source_id}`: webhook deliveries.
//!
//! Order matters: find the source (404), read at most 25 MB (413), verify the signature
//! over the raw bytes (401) — only then is anything parsed or stored. The delivery is
//! committed durably (group commit) before the answer; the work it implies runs in jobs.

use super::AppState;
use super::problem::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use covalynce_app::ingest::{Delivery, HookSource, Received};
use covalynce_domain::{SourceId, SourceKind};
use covalynce_sources::github::{self, Classified};
use covalynce_storage::StoredEvent;
use serde::Serialize;
use std::sync::Arc;

/// The answer to a delivery GitHub shows in its "Recent Deliveries" log.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum HookAnswer {
    Stored {
        delivery_id: String,
        events: Vec<HookEvent>,
    },
    Ignored {
        /// Why this delivery starts no work.
        ignored: String,
    },
    Duplicate {
        /// True: this delivery id was received before; nothing new was stored.
        duplicate: bool,
    },
    Pong {
        pong: bool,
        zen: Option<String>,
    },
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HookEvent {
    pub id: String,
    #[schema(value_type = String)]
    pub kind: covalynce_domain::EventKind,
    /// False when the same work (same commit, tag, release, PR) was stored before.
    pub new: bool,
}

impl From<StoredEvent> for HookEvent {
    fn from(e: StoredEvent) -> Self {
        Self {
            id: e.id.to_string(),
            kind: e.kind,
            new: e.new,
        }
    }
}

/// Receive a GitHub webhook delivery.
#[utoipa::path(
    post,
    operation_id = "hooks_github",
    path = "/hooks/github/{source_id}",
    tag = "webhooks",
    params(
        ("source_id" = String, Path, description = "The source's id, from `POST /api/v1/sources`"),
        ("X-GitHub-Event" = String, Header, description = "The event name"),
        ("X-GitHub-Delivery" = String, Header, description = "The delivery's unique id; a redelivery keeps it"),
        ("X-Hub-Signature-256" = String, Header, description = "sha256= HMAC-SHA256 of the raw body with the source's secret"),
    ),
    request_body(content = serde_json::Value, description = "The payload exactly as GitHub sends it", content_type = "application/json"),
    responses(
        (status = 202, description = "Stored; events created (or the event is ignored, with a reason)", body = HookAnswer),
        (status = 200, description = "A ping, or a redelivery of a delivery already stored", body = HookAnswer),
        (status = 400, description = "Malformed JSON or missing GitHub headers", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such source", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 25 MB", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn github(
    State(state): State<AppState>,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    answer(receive(&state, &source_id, &headers, body).await)
}

/// Counts the delivery's outcome and answers it.
fn answer(result: Result<(StatusCode, HookAnswer), ApiError>) -> Result<Response, ApiError> {
    let outcome = match &result {
        Ok((_, HookAnswer::Stored { .. })) => "stored",
        Ok((_, HookAnswer::Ignored { .. })) => "ignored",
        Ok((_, HookAnswer::Duplicate { .. })) => "duplicate",
        Ok((_, HookAnswer::Pong { .. })) => "ping",
        Err(e) => e.slug(),
    };
    metrics::counter!("covalynce_webhook_deliveries_total", "outcome" => outcome).increment(1);
    let (status, answer) = result?;
    Ok((status, Json(answer)).into_response())
}

async fn receive(
    state: &AppState,
    source_id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, HookAnswer), ApiError> {
    let (source_id, source) = hook_source(state, source_id, SourceKind::Github).await?;
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let verifier = HubVerifier::new(
        &source.secret,
        "X-Hub-Signature-256",
        header_str("x-hub-signature-256"),
    );
    let body = read_verified(state, headers, body, verifier).await?;

    let event_name = header_str("x-github-event")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::BadRequest("the X-GitHub-Event header is missing".into()))?
        .to_owned();
    let guid = delivery_id(headers, "X-GitHub-Delivery")?;

    let classified =
        github::classify(&event_name, &body, source.repo.as_ref()).map_err(payload_error)?;
    store(
        state, &source, source_id, guid, event_name, body, classified,
    )
    .await
}

fn payload_error(e: github::PayloadError) -> ApiError {
    match e {
        github::PayloadError::NotJson(_) => ApiError::MalformedJson(e.to_string()),
        github::PayloadError::Shape { .. } => ApiError::BadRequest(e.to_string()),
    }
}

/// How many bytes of webhook bodies whose signature is not yet known the whole server
/// holds at once. Anyone can send a body to a webhook URL; until its signature is checked
/// it is a stranger's memory, so it is bounded: a body is admitted only when its declared
/// size fits what is left, and answered 503 with `Retry-After` otherwise (GitHub, Stripe
/// and Razorpay retry; nothing is stored). Small bodies (every ordinary delivery) and
/// large ones draw from separate pools, so a flood of large unsigned bodies cannot starve
/// the signed deliveries that keep arriving.
pub struct Unverified {
    small: Arc<tokio::sync::Semaphore>,
    large: Arc<tokio::sync::Semaphore>,
}

/// Up to this size a body counts as small. GitHub's push payloads are a few KB to a few
/// hundred KB; a body without a `Content-Length` may not grow past it.
pub const SMALL_BODY: usize = 1024 * 1024;
/// Permits are KiB.
const UNIT: usize = 1024;

impl Unverified {
    /// `small_bytes` for small bodies together, `large_bytes` for large ones (at least
    /// one body of the 25 MB maximum).
    pub fn new(small_bytes: usize, large_bytes: usize) -> Self {
        let permits = |bytes: usize| tokio::sync::Semaphore::new(bytes.div_ceil(UNIT));
        Self {
            small: Arc::new(permits(small_bytes.max(SMALL_BODY))),
            large: Arc::new(permits(large_bytes.max(github::MAX_PAYLOAD_BYTES))),
        }
    }
}

impl Default for Unverified {
    /// 8 MiB of small bodies and one 25 MB one at a time: about 34 MiB at most.
    fn default() -> Self {
        Self::new(8 * SMALL_BODY, github::MAX_PAYLOAD_BYTES)
    }
}

/// What checks a body's signature: fed each chunk as it arrives, then asked once.
pub(crate) trait Verifier {
    fn update(&mut self, _chunk: &[u8]) {}
    /// Whether the body (all of it, also passed here) is signed.
    fn verify(self, body: &[u8]) -> Result<(), ApiError>;
}

/// A `sha256=<hex HMAC>` header over the raw body (GitHub, Jira), computed while the body
/// streams in.
pub(crate) struct HubVerifier<'a> {
    signer: github::HubSigner,
    name: &'static str,
    header: Option<&'a str>,
}

impl<'a> HubVerifier<'a> {
    pub(crate) fn new(secret: &[u8], name: &'static str, header: Option<&'a str>) -> Self {
        Self {
            signer: github::HubSigner::new(secret),
            name,
            header,
        }
    }
}

impl Verifier for HubVerifier<'_> {
    fn update(&mut self, chunk: &[u8]) {
        self.signer.update(chunk);
    }
    fn verify(self, _body: &[u8]) -> Result<(), ApiError> {
        self.signer
            .verify(self.name, self.header)
            .map_err(|e| ApiError::InvalidSignature(e.to_string()))
    }
}

/// Any check that needs the whole body (Stripe signs a timestamp with it); the body is
/// still held against the budget until it has run.
pub(crate) struct WholeBody<F>(pub F);

impl<F: FnOnce(&[u8]) -> Result<(), ApiError>> Verifier for WholeBody<F> {
    fn verify(self, body: &[u8]) -> Result<(), ApiError> {
        (self.0)(body)
    }
}

/// Reads a webhook body of at most 25 MB (GitHub's own limit; Jira's and the payment
/// providers' are far smaller) while `verifier` checks it, holding its bytes against the
/// server's [`Unverified`] budget until the verdict. Only a verified body is returned.
pub(crate) async fn read_verified(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    mut verifier: impl Verifier,
) -> Result<axum::body::Bytes, ApiError> {
    use futures_util::StreamExt;
    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "webhook bodies are limited to {} bytes, as GitHub's are",
            github::MAX_PAYLOAD_BYTES
        ))
    };
    let busy = || {
        metrics::counter!("covalynce_webhook_bodies_refused_total").increment(1);
        ApiError::Unavailable(
            "too many webhook bodies are being received at once; retry shortly".into(),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > github::MAX_PAYLOAD_BYTES) {
        return Err(too_large());
    }
    // A body that says how large it is reserves all of it up front (a liar is cut off by
    // HTTP itself); one that does not is small, reserved as it arrives.
    let budget = state.unverified();
    let limit = declared.unwrap_or(SMALL_BODY);
    let pool = if limit <= SMALL_BODY {
        &budget.small
    } else {
        &budget.large
    };
    let mut held = match declared {
        Some(n) => pool
            .clone()
            .try_acquire_many_owned(n.div_ceil(UNIT).max(1) as u32)
            .map_err(|_| busy())?,
        None => pool.clone().try_acquire_many_owned(1).map_err(|_| busy())?,
    };
    let mut buf = Vec::with_capacity(declared.unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(if declared.is_none() {
                ApiError::PayloadTooLarge(format!(
                    "a webhook body over {SMALL_BODY} bytes must declare its Content-Length"
                ))
            } else {
                too_large()
            });
        }
        if declared.is_none() {
            let want = (buf.len() + chunk.len()).div_ceil(UNIT) as u32;
            if want > held.num_permits() as u32 {
                held.merge(
                    pool.clone()
                        .try_acquire_many_owned(want - held.num_permits() as u32)
                        .map_err(|_| busy())?,
                );
            }
        }
        verifier.update(&chunk);
        buf.extend_from_slice(&chunk);
    }
    verifier.verify(&buf)?;
    // Verified: no longer a stranger's bytes.
    drop(held);
    Ok(buf.into())
}

/// Stores a verified, classified delivery (deduplicated by `guid`) and its events, and
/// answers as GitHub's delivery log shows it.
async fn store(
    state: &AppState,
    source: &HookSource,
    source_id: SourceId,
    guid: String,
    event_name: String,
    body: axum::body::Bytes,
    classified: Classified,
) -> Result<(StatusCode, HookAnswer), ApiError> {
    let delivery = Delivery {
        guid,
        event_name,
        body: body.to_vec(),
        classified,
    };
    Ok(
        match state
            .app()
            .receive(state.ingest(), source, source_id, delivery)
            .await?
        {
            Received::Duplicate => (StatusCode::OK, HookAnswer::Duplicate { duplicate: true }),
            Received::Ping { zen } => (StatusCode::OK, HookAnswer::Pong { pong: true, zen }),
            Received::Ignored { reason } => (
                StatusCode::ACCEPTED,
                HookAnswer::Ignored { ignored: reason },
            ),
            Received::Stored {
                delivery_id,
                events,
            } => (
                StatusCode::ACCEPTED,
                HookAnswer::Stored {
                    delivery_id,
                    events: events.into_iter().map(HookEvent::from).collect(),
                },
            ),
        },
    )
}

/// Receive a Jira Cloud webhook delivery (an admin webhook with a secret).
#[utoipa::path(
    post,
    operation_id = "hooks_jira",
    path = "/hooks/jira/{source_id}",
    tag = "webhooks",
    params(
        ("source_id" = String, Path, description = "The Jira source's id, from `POST /api/v1/sources`"),
        ("X-Hub-Signature" = String, Header, description = "sha256= HMAC-SHA256 of the raw body with the source's secret (a source created `signed: false` may instead take `?secret=`)"),
        ("X-Atlassian-Webhook-Identifier" = String, Header, description = "The delivery's id; unchanged when Jira retries"),
        JiraQuery,
    ),
    request_body(content = serde_json::Value, description = "The payload exactly as Jira sends it", content_type = "application/json"),
    responses(
        (status = 202, description = "Stored; an issue that reached done is an event (anything else is ignored, with a reason)", body = HookAnswer),
        (status = 200, description = "A retry of a delivery already stored", body = HookAnswer),
        (status = 400, description = "Malformed JSON or a missing Jira header", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such Jira source", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn jira(
    State(state): State<AppState>,
    Path(source_id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<JiraQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    answer(receive_jira(&state, &source_id, q.secret.as_deref(), &headers, body).await)
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct JiraQuery {
    /// Only for a source created `signed: false`: its secret, for Jira webhooks that send
    /// no signature.
    secret: Option<String>,
}

async fn receive_jira(
    state: &AppState,
    source_id: &str,
    url_secret: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, HookAnswer), ApiError> {
    let (source_id, source) = hook_source(state, source_id, SourceKind::Jira).await?;
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let body = match (header_str("x-hub-signature"), url_secret) {
        // Jira signed it (a secret is set on the webhook): the signature decides.
        (Some(_), _) | (None, None) => {
            let verifier = HubVerifier::new(
                &source.secret,
                covalynce_sources::jira::SIGNATURE_HEADER,
                header_str("x-hub-signature"),
            );
            read_verified(state, headers, body, verifier).await?
        }
        (None, Some(given)) => {
            use subtle::ConstantTimeEq;
            let same = bool::from(given.as_bytes().ct_eq(&source.secret));
            if !(source.url_secret && same) {
                return Err(ApiError::InvalidSignature(
                    "the delivery has no X-Hub-Signature, and the URL's secret is wrong or this source takes signed deliveries only".into(),
                ));
            }
            // The URL proved the secret before a byte was read.
            read_verified(state, headers, body, WholeBody(|_: &[u8]| Ok(()))).await?
        }
    };
    let guid = delivery_id(headers, covalynce_sources::jira::DELIVERY_HEADER)?;
    let classified = covalynce_sources::jira::classify(&body).map_err(payload_error)?;
    store(
        state,
        &source,
        source_id,
        guid,
        "jira".into(),
        body,
        classified,
    )
    .await
}

/// The sender's id for a delivery (kept across its retries): what deduplicates it.
fn delivery_id(headers: &HeaderMap, name: &str) -> Result<String, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::BadRequest(format!("the {name} header is missing or too long")))
}

/// The source a delivery's path names, if it is of `kind` (cached briefly).
async fn hook_source(
    state: &AppState,
    id: &str,
    kind: SourceKind,
) -> Result<(SourceId, Arc<HookSource>), ApiError> {
    let id = SourceId::parse(id)
        .ok_or_else(|| ApiError::NotFound(format!("there is no source {id:?}")))?;
    let not_found = || ApiError::NotFound(format!("there is no {} source {id}", kind.as_str()));
    if let Some(cached) = state.cached_hook_source(id) {
        return if cached.kind == kind {
            Ok((id, cached))
        } else {
            Err(not_found())
        };
    }
    let hook = Arc::new(
        state
            .app()
            .hook_source(state.secrets(), id, kind)
            .await?
            .ok_or_else(not_found)?,
    );
    state.cache_hook_source(id, hook.clone());
    Ok((id, hook))
}
