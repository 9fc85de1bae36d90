//! Extractors that turn a request into typed input or a problem response.

use super::AppState;
use super::problem::ApiError;
use crate::tokens;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use covalynce_storage::Workspace;

/// `axum::Json`, with rejections answered as problem+json: broken JSON is 400, JSON of the
/// wrong shape is 422, a missing content type is 415.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::Validation(e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::MalformedJson(e.body_text())),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            )),
            Err(JsonRejection::BytesRejection(e)) => Err(ApiError::PayloadTooLarge(e.body_text())),
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// The workspace an API request acts in, from its bearer token. Every handler that takes
/// this can only reach that workspace's rows.
pub struct Auth(pub Workspace);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "send an API token as Authorization: Bearer TOKEN (create one with `covalynce token create`)".into(),
                )
            })?
            .to_str()
            .map_err(|_| ApiError::Unauthorized("the Authorization header is not valid text".into()))?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be \"Bearer TOKEN\"".into())
            })?;
        let workspace = state
            .store()
            .workspace_for_token(&tokens::hash(token))
            .await?
            .ok_or_else(|| ApiError::Unauthorized("the API token is unknown or revoked".into()))?;
        Ok(Auth(workspace))
    }
}
