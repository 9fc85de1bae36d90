//! Browser sessions as every door opens them, and the address this server gives of itself.
//! Here rather than in `auth` (which `http` builds on): they read the server's state.

use super::AppState;
use crate::auth::{SESSION_COOKIE, append_cookie, cookie, set_cookie};

/// The session the request's cookie names, if it is live. Every door a browser comes
/// through (the API's extractors, the pages' `Signed`, the invitation page) opens the
/// session here, then — once its own checks passed — calls [`keep_alive`].
pub async fn live_session(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<Option<covalynce_storage::SessionRecord>, covalynce_storage::StoreError> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let now = covalynce_domain::now_millis();
    let lifetime = state.security().config.session_lifetime.as_millis() as i64;
    Ok(state
        .store()
        .session(&crate::tokens::hash(value), now)
        .await?
        // Past its lifetime, however active: sign in again.
        .filter(|s| now < s.created_at.saturating_add(lifetime)))
}

/// How long a new session lasts unused: the idle time, unless the lifetime is shorter.
pub fn first_idle(state: &AppState) -> std::time::Duration {
    let config = &state.security().config;
    config.session_idle.min(config.session_lifetime)
}

/// A session in use stays signed in: its expiry slides at most every tenth of the idle time
/// (and at least every ten minutes), so an active person costs one write now and then, not
/// one per request. The browser's cookie slides with it: [`refresh_cookie`] sends it again
/// with a fresh `Max-Age` on the answer (without it, the browser would drop the cookie
/// `session_idle` after sign-in, however active its person).
pub async fn keep_alive(
    state: &AppState,
    session: &covalynce_storage::SessionRecord,
    extensions: &axum::http::Extensions,
    headers: &axum::http::HeaderMap,
) {
    let now = covalynce_domain::now_millis();
    let config = &state.security().config;
    let idle = config.session_idle.as_millis() as i64;
    if now - session.last_seen_at <= (idle / 10).clamp(1_000, 600_000) {
        return;
    }
    // Never past the session's lifetime.
    let end = session
        .created_at
        .saturating_add(config.session_lifetime.as_millis() as i64);
    let until = (now + idle).min(end);
    match state
        .store()
        .touch_session(&session.id_hash, now, until)
        .await
    {
        Ok(()) => {
            if let (Some(slot), Some(value)) = (
                extensions.get::<SessionSlot>(),
                cookie(headers, SESSION_COOKIE),
            ) {
                let left = std::time::Duration::from_millis((until - now).max(0) as u64);
                *slot.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((value.to_owned(), left));
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not extend a session"),
    }
}

/// Filled by [`keep_alive`] with the session cookie's value and how long it now lasts when
/// the session was extended.
#[derive(Clone, Default)]
pub struct SessionSlot(std::sync::Arc<std::sync::Mutex<Option<(String, std::time::Duration)>>>);

/// Sends the session cookie again, with a fresh `Max-Age`, on the answer to a request that
/// extended its session (unless the answer sets the cookie itself: a sign-in or sign-out).
pub async fn refresh_cookie(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let slot = SessionSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut response = next.run(req).await;
    let value = slot.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    let sets_session = response
        .headers()
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(SESSION_COOKIE.as_bytes()));
    if let Some((value, left)) = value
        && !sets_session
    {
        let fresh = set_cookie(
            SESSION_COOKIE,
            &value,
            "/",
            left,
            state.security().config.secure_cookies,
        );
        append_cookie(&mut response, &fresh);
    }
    response
}

/// Where people reach this server: the configured public URL, else `http://` and the
/// request's Host — only when it is a plain host name (a Host header carrying a path, a
/// query or user info, `evil.example/steal?to=`, cannot bend the OAuth callback or the
/// webhook URLs a page shows). Without a public URL the Host is trusted as it is; GitHub
/// checks the callback against the one registered for the app.
pub fn base_url(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(url) = state.security().config.public_url.as_deref() {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}
