//! `POST /hooks/stripe` and `POST /hooks/razorpay`: payment events, verified, applied to
//! the workspace they are about once (by event id), and only when not older than what is
//! stored. An event about a customer no workspace is linked to yet is answered 409 and not
//! recorded, so the provider's retry applies it once the checkout that links them lands.

use super::AppState;
use super::problem::ApiError;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use covalynce_app::billing::{Applied, Event};
use serde::Serialize;

/// What was done with a payment event.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BillingAnswer {
    /// applied, duplicate, stale (a newer state is stored) or ignored.
    pub outcome: String,
    pub event: String,
    /// The workspace's plan after it, when it was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[utoipa::path(
    post,
    operation_id = "hooks_stripe",
    path = "/hooks/stripe",
    tag = "webhooks",
    params(("Stripe-Signature" = String, Header, description = "t=TIMESTAMP,v1=HMAC-SHA256(TIMESTAMP.BODY) (several v1 while a secret is rolled)")),
    request_body(content = serde_json::Value, description = "A Stripe event, exactly as sent", content_type = "application/json"),
    responses(
        (status = 200, description = "Applied, a duplicate, stale or ignored (with the reason)", body = BillingAnswer),
        (status = 400, description = "Not a readable event", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, wrong or stale signature; nothing changed", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Stripe billing is not configured here", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No workspace is linked to the customer yet; Stripe retries", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn stripe(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BillingAnswer>, ApiError> {
    let cfg = state.security().config.billing.clone();
    if cfg.stripe_secrets.is_empty() {
        return Err(ApiError::NotFound(
            "Stripe billing is not configured on this server (--stripe-webhook-secret)".into(),
        ));
    }
    let signature = header(&headers, "stripe-signature");
    let check = |body: &[u8]| {
        covalynce_app::billing::stripe::verify(
            &cfg.stripe_secrets,
            signature,
            body,
            covalynce_domain::now_millis() / 1000,
        )
        .map_err(|e| ApiError::InvalidSignature(e.to_string()))
    };
    let body =
        super::hooks::read_verified(&state, &headers, body, super::hooks::WholeBody(check)).await?;
    let event = covalynce_app::billing::stripe::read(&body, cfg.default_plan)
        .map_err(ApiError::BadRequest)?;
    apply(&state, "stripe", event).await.map(Json)
}

#[utoipa::path(
    post,
    operation_id = "hooks_razorpay",
    path = "/hooks/razorpay",
    tag = "webhooks",
    params(
        ("X-Razorpay-Signature" = String, Header, description = "Hex HMAC-SHA256 of the raw body with the webhook secret"),
        ("X-Razorpay-Event-Id" = String, Header, description = "The event's id, the same on every retry"),
    ),
    request_body(content = serde_json::Value, description = "A Razorpay event, exactly as sent", content_type = "application/json"),
    responses(
        (status = 200, description = "Applied, a duplicate, stale or ignored (with the reason)", body = BillingAnswer),
        (status = 400, description = "Not a readable event, or no event id", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong signature; nothing changed", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Razorpay billing is not configured here", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "No workspace is linked to the customer yet; Razorpay retries", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn razorpay(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BillingAnswer>, ApiError> {
    let cfg = state.security().config.billing.clone();
    let Some(secret) = cfg.razorpay_secret.as_deref() else {
        return Err(ApiError::NotFound(
            "Razorpay billing is not configured on this server (--razorpay-webhook-secret)".into(),
        ));
    };
    let signature = header(&headers, "x-razorpay-signature");
    let check = |body: &[u8]| {
        covalynce_app::billing::razorpay::verify(secret, signature, body)
            .map_err(|e| ApiError::InvalidSignature(e.to_string()))
    };
    let body =
        super::hooks::read_verified(&state, &headers, body, super::hooks::WholeBody(check)).await?;
    let id = header(&headers, "x-razorpay-event-id")
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .ok_or_else(|| {
            ApiError::BadRequest("the X-Razorpay-Event-Id header is missing or too long".into())
        })?;
    let event = covalynce_app::billing::razorpay::read(id, &body, cfg.default_plan)
        .map_err(ApiError::BadRequest)?;
    apply(&state, "razorpay", event).await.map(Json)
}

async fn apply(state: &AppState, provider: &str, event: Event) -> Result<BillingAnswer, ApiError> {
    let applied = state.app().apply_billing_event(provider, &event).await?;
    let (outcome, plan, reason) = match applied {
        Applied::Duplicate => ("duplicate", None, None),
        Applied::Ignored(why) => ("ignored", None, Some(why)),
        Applied::Applied(plan) => ("applied", Some(plan.as_stored().to_owned()), None),
        Applied::Stale => ("stale", None, None),
    };
    Ok(BillingAnswer {
        outcome: outcome.into(),
        event: event.id,
        plan,
        reason,
    })
}
