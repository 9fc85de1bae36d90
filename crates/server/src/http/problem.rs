//! API errors as RFC 9457 `application/problem+json`. Each kind has a stable `type`, so
//! clients branch on it, never on the human `detail`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    InvalidSignature(String),
    /// Signed in, but the role (or a CSRF check) does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Over a rate limit; retry after this many seconds.
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    /// The workspace's plan does not allow more (cards this period, seats).
    #[error("{0}")]
    PlanLimit(String),
    #[error("{0}")]
    Unavailable(String),
    /// A fault on our side. The cause is logged; the client gets no internals.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

/// The problem types this API answers with: (slug, status, title, when).
pub const PROBLEM_TYPES: &[(&str, u16, &str, &str)] = &[
    (
        "unauthorized",
        401,
        "Unauthorized",
        "The request has no valid API token (Authorization: Bearer TOKEN) or session, or the sign-in failed.",
    ),
    (
        "invalid-signature",
        401,
        "Invalid signature",
        "A webhook's X-Hub-Signature-256 is missing or does not match the source's secret.",
    ),
    (
        "forbidden",
        403,
        "Forbidden",
        "You are signed in, but your role in this workspace does not allow this (or a browser request lacked its CSRF token).",
    ),
    (
        "too-many-requests",
        429,
        "Too many requests",
        "Over the rate limit for this token, user or address; retry after the Retry-After header's seconds.",
    ),
    (
        "not-found",
        404,
        "Not found",
        "No such resource in your workspace.",
    ),
    (
        "malformed-json",
        400,
        "Malformed JSON",
        "The body is not valid JSON.",
    ),
    (
        "bad-request",
        400,
        "Bad request",
        "A required header or parameter is missing or malformed.",
    ),
    (
        "validation",
        422,
        "Validation failed",
        "The JSON is well-formed but a field is missing or invalid.",
    ),
    (
        "payload-too-large",
        413,
        "Payload too large",
        "The body is larger than this endpoint accepts (25 MB for webhooks).",
    ),
    (
        "unsupported-media-type",
        415,
        "Unsupported media type",
        "Send JSON with Content-Type: application/json.",
    ),
    (
        "conflict",
        409,
        "Conflict",
        "The resource is not in a state that allows this (a card that is no longer pending, say).",
    ),
    (
        "plan-limit",
        402,
        "Plan limit reached",
        "The workspace's plan allows no more of this (members and open invitations, or cards this period); the detail says which. Upgrade the plan, or wait for the next period.",
    ),
    (
        "method-not-allowed",
        405,
        "Method not allowed",
        "This path does not accept that HTTP method.",
    ),
    (
        "unavailable",
        503,
        "Service unavailable",
        "The database is unreachable or the server is shutting down; retry later.",
    ),
    (
        "internal",
        500,
        "Internal error",
        "Something failed on our side; the server log has the details.",
    ),
];

impl ApiError {
    pub fn slug(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::InvalidSignature(_) => "invalid-signature",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::TooManyRequests { .. } => "too-many-requests",
            ApiError::NotFound(_) => "not-found",
            ApiError::MalformedJson(_) => "malformed-json",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Validation(_) => "validation",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::MethodNotAllowed(_) => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PlanLimit(_) => "plan-limit",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub(crate) fn status_and_title(&self) -> (StatusCode, &'static str) {
        let slug = self.slug();
        // Every kind is listed (a unit test checks); an error path must not panic anyway.
        match PROBLEM_TYPES.iter().find(|(s, ..)| *s == slug) {
            Some((_, status, title, _)) => (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                title,
            ),
            None => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
        }
    }
}

/// The `Retry-After` of a 503.
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// The body of every error response.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of error, e.g. `/problems/not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, title) = self.status_and_title();
        let detail = match &self {
            ApiError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "internal error");
                "Something failed on our side; the server log has the details.".to_owned()
            }
            other => other.to_string(),
        };
        let body = Problem {
            kind: format!("/problems/{}", self.slug()),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
        };
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let ApiError::TooManyRequests { retry_after, .. } = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            // Worth trying again soon: the database is back or the load has passed.
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(UNAVAILABLE_RETRY_SECS),
            );
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The answer when a handler panicked: the panic's message goes to the log, the caller
/// gets the internal-error problem.
pub fn panicked(err: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let what = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError::Internal(anyhow::anyhow!("a handler panicked: {what}")).into_response()
}

/// What a person is told when the database cannot be reached; the cause goes to the log.
pub const DATABASE_DOWN: &str =
    "the database is not answering right now; try again in a few seconds";

/// Every use case's error, answered. No wildcard: a new `AppError` variant does not compile
/// until it has its problem type here.
impl From<covalynce_app::AppError> for ApiError {
    fn from(err: covalynce_app::AppError) -> Self {
        use covalynce_app::AppError;
        match err {
            AppError::NotFound(detail) => ApiError::NotFound(detail),
            AppError::Conflict(detail) => ApiError::Conflict(detail),
            AppError::Invalid(detail) => ApiError::Validation(detail),
            AppError::BadRequest(detail) => ApiError::BadRequest(detail),
            AppError::Unauthorized(detail) => ApiError::Unauthorized(detail),
            AppError::Forbidden(detail) => ApiError::Forbidden(detail),
            AppError::PlanLimit(detail) => ApiError::PlanLimit(detail),
            AppError::Unavailable(detail) => ApiError::Unavailable(detail),
            AppError::Store(e) => e.into(),
        }
    }
}

impl From<covalynce_storage::StoreError> for ApiError {
    fn from(err: covalynce_storage::StoreError) -> Self {
        if err.is_unavailable() {
            // The cause (a host, a timeout, a lock) is for the operator, not the caller.
            tracing::warn!(error = %err, "database unavailable");
            return ApiError::Unavailable(DATABASE_DOWN.into());
        }
        ApiError::Internal(err.into())
    }
}

/// `GET /problems/{slug}`: what a problem type means, so `type` URIs resolve to docs.
pub async fn describe(axum::extract::Path(slug): axum::extract::Path<String>) -> Response {
    match PROBLEM_TYPES.iter().find(|(s, ..)| *s == slug) {
        Some((s, status, title, when)) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("/problems/{s}\n{title} (HTTP {status})\n\n{when}\n"),
        )
            .into_response(),
        None => ApiError::NotFound(format!("there is no problem type {slug:?}")).into_response(),
    }
}

pub async fn not_found_fallback(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("nothing is served at {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_a_handler_is_a_500_problem_without_its_message() {
        let r = panicked(Box::new(
            "index out of bounds: secret-ish detail".to_owned(),
        ));
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("/problems/internal"), "{body}");
        assert!(!body.contains("secret-ish"), "{body}");
    }

    #[test]
    fn every_error_kind_has_a_documented_problem_type() {
        let all = [
            ApiError::Unauthorized(String::new()),
            ApiError::InvalidSignature(String::new()),
            ApiError::Forbidden(String::new()),
            ApiError::TooManyRequests {
                detail: String::new(),
                retry_after: 1,
            },
            ApiError::NotFound(String::new()),
            ApiError::MalformedJson(String::new()),
            ApiError::BadRequest(String::new()),
            ApiError::Validation(String::new()),
            ApiError::PayloadTooLarge(String::new()),
            ApiError::UnsupportedMediaType(String::new()),
            ApiError::MethodNotAllowed(String::new()),
            ApiError::Conflict(String::new()),
            ApiError::Unavailable(String::new()),
            ApiError::Internal(anyhow::anyhow!("x")),
        ];
        for e in all {
            let slug = e.slug();
            let listed = PROBLEM_TYPES.iter().find(|(s, ..)| *s == slug);
            let (_, status, ..) =
                listed.unwrap_or_else(|| panic!("{slug} is not in PROBLEM_TYPES"));
            assert_eq!(e.status_and_title().0.as_u16(), *status, "{slug}");
        }
    }
}
