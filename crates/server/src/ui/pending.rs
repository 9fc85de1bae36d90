//! A platform's OAuth flow in progress: `state` (and anything the next step needs, such as
//! a PKCE verifier or a token awaiting a choice) sealed in a short-lived cookie bound to
//! this workspace and person, so a callback can only complete this browser's request.

use super::page::{Signed, UiError};
use crate::http::AppState;
use crate::http::extract::Editor;
use axum::response::{IntoResponse as _, Response};

/// Where a platform's OAuth flow keeps this browser's pending connection.
pub struct Pending {
    pub platform: &'static str,
    pub cookie: &'static str,
    /// The cookie's path: it covers the callback and any step after it.
    pub path: &'static str,
    /// The page to start again from, named in refusals ("Channels").
    pub start_again: &'static str,
}

/// The redirect to a platform's consent page, with the pending connection (`state`, bound
/// to this workspace and person, plus `extra`) sealed in a 10-minute cookie so it cannot
/// be forged or completed by another browser.
pub fn to_consent(
    state: &AppState,
    signed: &Signed<Editor>,
    pending: &Pending,
    nonce: &str,
    extra: serde_json::Value,
    to: &covalynce_publishing::Url,
) -> Response {
    let mut r = axum::response::Redirect::to(to.as_str()).into_response();
    crate::auth::append_cookie(
        &mut r,
        &pending_cookie(state, signed, pending, nonce, extra),
    );
    r
}

/// The pending connection's cookie: `state`, bound to this workspace and person, plus
/// `extra`, sealed for 10 minutes.
pub fn pending_cookie(
    state: &AppState,
    signed: &Signed<Editor>,
    pending: &Pending,
    nonce: &str,
    extra: serde_json::Value,
) -> String {
    use base64::Engine;
    let mut sealed = serde_json::json!({
        "state": nonce,
        "workspace": signed.workspace.id.to_string(),
        "user": signed.user.id.to_string(),
        "at": covalynce_domain::now_millis(),
    });
    if let Some(extra) = extra.as_object() {
        for (k, v) in extra {
            sealed[k] = v.clone();
        }
    }
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(state.secrets().seal(sealed.to_string().as_bytes()));
    crate::auth::set_cookie(
        pending.cookie,
        &sealed,
        pending.path,
        std::time::Duration::from_secs(600),
        state.security().config.secure_cookies,
    )
}

/// The pending connection this browser started, if the platform's `state` matches it
/// (same workspace and person, under 10 minutes old).
pub fn pending_connection(
    state: &AppState,
    signed: &Signed<Editor>,
    headers: &axum::http::HeaderMap,
    pending: &Pending,
    returned_state: Option<&str>,
) -> Result<serde_json::Value, UiError> {
    use base64::Engine;
    let platform = pending.platform;
    let again = pending.start_again;
    let refused = |m: String| UiError::Page(axum::http::StatusCode::BAD_REQUEST, m);
    let cookie = crate::auth::cookie(headers, pending.cookie).ok_or_else(|| {
        refused(format!("This {platform} answer does not belong to this browser (no pending connection); start again from {again}."))
    })?;
    let sealed: serde_json::Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cookie)
        .ok()
        .and_then(|b| state.secrets().open(&b).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            refused(format!(
                "The pending {platform} connection is unreadable; start again from {again}."
            ))
        })?;
    let fresh = sealed["at"]
        .as_i64()
        .is_some_and(|at| covalynce_domain::now_millis() - at < 600_000);
    let same = sealed["state"].as_str() == returned_state
        && sealed["workspace"].as_str() == Some(signed.workspace.id.to_string().as_str())
        && sealed["user"].as_str() == Some(signed.user.id.to_string().as_str());
    if !(fresh && same) {
        return Err(refused(format!(
            "This {platform} answer does not match the connection this browser started (state mismatch or expired); start again from {again}."
        )));
    }
    Ok(sealed)
}
