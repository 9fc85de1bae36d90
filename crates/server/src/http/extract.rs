//! Extractors that turn a request into typed input or a problem response.

use super::AppState;
use super::problem::ApiError;
use crate::auth::{Actor, Principal};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use covalynce_domain::Id;
use covalynce_storage::{SessionRecord, User, Workspace};
use std::marker::PhantomData;
use subtle::ConstantTimeEq;

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

/// A path's id, parsed once here: text that is no id of its kind answers 404, as an id of
/// another workspace does, so a malformed id never reaches a use case. Taken after `Auth`,
/// so a stranger learns nothing from it.
pub struct PathId<T>(pub T);

impl<T: Id, S: Send + Sync> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        T::from_text(&raw)
            .map(PathId)
            .ok_or_else(|| missing::<T>(&raw))
    }
}

/// The answer to an id that names nothing in the workspace: `there is no card "…" in this
/// workspace`.
pub fn missing<T: Id>(id: impl std::fmt::Display) -> ApiError {
    ApiError::NotFound(format!(
        "there is no {} {:?} in this workspace",
        T::NOUN,
        id.to_string()
    ))
}

/// The least role a handler needs, as a type: `Auth<Editor>` cannot be reached by a
/// viewer, and every handler names its role where it takes its workspace. The roles are the
/// application layer's: the use cases take `Acting<Editor>`, which only it makes.
pub use covalynce_app::{Editor, MinRole, Owner, Viewer};

/// The workspace an API request acts in and who is acting, from a bearer token or a
/// browser session (then with its CSRF token on anything that changes state). Every
/// handler that takes this can only reach that workspace's rows.
pub struct Auth<R = Viewer>(pub Workspace, pub Principal, pub PhantomData<R>);

impl<R: MinRole> Auth<R> {
    /// Who acts, as the use cases take it (the role is checked again, by them).
    pub fn acting(&self) -> Result<covalynce_app::Acting<R>, ApiError> {
        Ok(covalynce_app::Acting::authorize(
            self.0.clone(),
            self.1.clone(),
        )?)
    }

    /// The same person acting with a lesser role (an editor reading back what they did).
    pub fn acting_as<S: MinRole>(&self) -> Result<covalynce_app::Acting<S>, ApiError> {
        Ok(covalynce_app::Acting::authorize(
            self.0.clone(),
            self.1.clone(),
        )?)
    }
}

impl<R: MinRole> FromRequestParts<AppState> for Auth<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (workspace, principal) = resolve(parts, state).await?;
        covalynce_app::Acting::<R>::check(&workspace, &principal)?;
        if let Some(caller) = parts.extensions.get::<super::audit::Caller>() {
            caller.set(Some(workspace.id), principal.clone());
        }
        Ok(Auth(workspace, principal, PhantomData))
    }
}

/// A signed-in person, without a workspace: from a session, or a token that acts for a
/// person. For the account's own routes (`/me`, creating a workspace, accepting an
/// invitation).
pub struct Person {
    pub user: User,
    /// `None` when the request came with a token.
    pub session: Option<SessionRecord>,
    pub ip: Option<String>,
    caller: Option<super::audit::Caller>,
}

impl FromRequestParts<AppState> for Person {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let mut person = Self::resolve(parts, state).await?;
        person.caller = parts.extensions.get::<super::audit::Caller>().cloned();
        person.acting_in(None);
        Ok(person)
    }
}

impl Person {
    /// Files what this request does under a workspace's audit log (or, `None`, the
    /// person's own account events).
    pub fn acting_in(&self, workspace: Option<covalynce_domain::WorkspaceId>) {
        if let Some(caller) = &self.caller {
            caller.set(
                workspace,
                Principal::new(
                    Actor::User(self.user.id),
                    covalynce_domain::Role::Viewer,
                    self.ip.clone(),
                    None,
                ),
            );
        }
    }

    async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = client_ip(parts, state);
        if let Some(token) = bearer(parts)? {
            let auth = token_auth(state, token, ip.as_deref()).await?;
            let user_id = auth.user_id.ok_or_else(|| {
                ApiError::Forbidden(
                    "this token belongs to no person (it was made with the CLI); sign in or use a personal token".into(),
                )
            })?;
            let user = state.store().user(user_id).await?.ok_or_else(|| {
                ApiError::Unauthorized("the API token is unknown or revoked".into())
            })?;
            limit(state, &Actor::User(user.id).limit_key()).await?;
            return Ok(Person {
                user,
                session: None,
                ip,
                caller: None,
            });
        }
        let session = session(parts, state).await?.ok_or_else(unauthenticated)?;
        limit(state, &Actor::User(session.user.id).limit_key()).await?;
        Ok(Person {
            user: session.user.clone(),
            session: Some(session),
            ip,
            caller: None,
        })
    }
}

fn unauthenticated() -> ApiError {
    ApiError::Unauthorized(
        "sign in, or send an API token as Authorization: Bearer TOKEN (create one with `covalynce token create`)".into(),
    )
}

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let header = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not valid text".into()))?;
    header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
        .map(Some)
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be \"Bearer TOKEN\"".into())
        })
}

/// The token's grant (`covalynce_app::App::token_grant`). An unknown token counts against
/// the client address's sign-in allowance, so an address guessing tokens is answered 429
/// (with `Retry-After`) once it is over it; a known token is never refused for others'
/// guesses.
async fn token_auth(
    state: &AppState,
    token: &str,
    ip: Option<&str>,
) -> Result<covalynce_app::tokens::Grant, ApiError> {
    use covalynce_app::tokens::Lookup;
    match state.app().token_grant(token).await? {
        Lookup::Granted(grant) => return Ok(*grant),
        // A person's token whose person left: refused, but no one's guess.
        Lookup::Orphaned => {}
        Lookup::Unknown => {
            let key = format!("ip:{}", ip.unwrap_or("unknown"));
            state
                .security()
                .login_limit
                .check(&key)
                .await
                .map_err(|retry_after| ApiError::TooManyRequests {
                    detail: format!(
                        "too many unknown tokens from this address; retry in {retry_after} s"
                    ),
                    retry_after,
                })?;
        }
    }
    Err(ApiError::Unauthorized(
        "the API token is unknown or revoked".into(),
    ))
}

pub(crate) async fn limit(state: &AppState, key: &str) -> Result<(), ApiError> {
    state
        .security()
        .api_limit
        .check(key)
        .await
        .map_err(|retry_after| ApiError::TooManyRequests {
            detail: format!("too many requests; retry in {retry_after} s"),
            retry_after,
        })
}

/// The browser session named by the cookie, if it is live. Requests that change state
/// must also pass the CSRF check: the session's token in `X-CSRF-Token`, and an `Origin`
/// (when the browser sends one) that is this server.
async fn session(parts: &Parts, state: &AppState) -> Result<Option<SessionRecord>, ApiError> {
    let Some(session) = crate::http::session::live_session(state, &parts.headers).await? else {
        return Ok(None);
    };
    if !parts.method.is_safe() {
        check_origin(parts, state)?;
        let sent = parts
            .headers
            .get(crate::auth::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !bool::from(sent.as_bytes().ct_eq(session.csrf_token.as_bytes())) {
            return Err(ApiError::Forbidden(
                "this request changes something and needs the session's CSRF token in X-CSRF-Token"
                    .into(),
            ));
        }
    }
    crate::http::session::keep_alive(state, &session, &parts.extensions, &parts.headers).await;
    Ok(Some(session))
}

/// Browsers send `Origin` on cross-site and on state-changing requests: it must name this
/// server (the public URL when configured, else the Host the request came to).
pub fn check_origin(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    let Some(origin) = parts.headers.get(axum::http::header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    let expected = match &state.security().config.public_url {
        Some(url) => url
            .split_once("://")
            .map(|(_, h)| h)
            .unwrap_or(url)
            .trim_end_matches('/')
            .to_owned(),
        None => parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
    };
    if origin_host.eq_ignore_ascii_case(&expected) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "cross-site request refused (its Origin is not this server)".into(),
        ))
    }
}

/// The client's address: the connection's peer, or with `--trust-proxy` the first
/// address in `X-Forwarded-For`.
pub fn client_ip(parts: &Parts, state: &AppState) -> Option<String> {
    if state.security().config.trust_proxy
        && let Some(first) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
    {
        return Some(first.to_owned());
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<(Workspace, Principal), ApiError> {
    let ip = client_ip(parts, state);
    if let Some(token) = bearer(parts)? {
        let auth = token_auth(state, token, ip.as_deref()).await?;
        let role = auth.role;
        let actor = Actor::Token {
            id: auth.token_id,
            user: auth.user_id,
        };
        limit(state, &actor.limit_key()).await?;
        let via = super::audit::client_via(&parts.headers);
        return Ok((auth.workspace, Principal::new(actor, role, ip, via)));
    }
    let session = session(parts, state).await?.ok_or_else(unauthenticated)?;
    let actor = Actor::User(session.user.id);
    limit(state, &actor.limit_key()).await?;
    let memberships = state.app().memberships(session.user.id).await?;
    let chosen = match parts
        .headers
        .get(crate::auth::WORKSPACE_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(slug) => memberships
            .into_iter()
            .find(|m| m.workspace.slug.as_str() == slug)
            .ok_or_else(|| {
                ApiError::NotFound(format!("you are not a member of a workspace {slug:?}"))
            })?,
        None => memberships.into_iter().next().ok_or_else(|| {
            ApiError::NotFound(
                "you are in no workspace yet: create one or accept an invitation".into(),
            )
        })?,
    };
    let via = super::audit::client_via(&parts.headers);
    Ok((
        chosen.workspace,
        Principal::new(actor, chosen.role, ip, via),
    ))
}

/// A request from someone not signed in yet (sign-in, sign-up, OAuth callback): its
/// headers and address, after the same-origin check.
pub struct Browser {
    pub headers: axum::http::HeaderMap,
    pub ip: Option<String>,
}

impl FromRequestParts<AppState> for Browser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if !parts.method.is_safe() {
            check_origin(parts, state)?;
        }
        Ok(Browser {
            headers: parts.headers.clone(),
            ip: client_ip(parts, state),
        })
    }
}
