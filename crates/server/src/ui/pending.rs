//! A platform's OAuth flow in progress, between the pages' steps: the flow that
//! `covalynce_app::oauth` sealed (bound there to this workspace and person, ten minutes)
//! rides in a short-lived cookie, so a callback can only complete this browser's request.

use crate::http::AppState;
use axum::http::HeaderMap;
use axum::response::{IntoResponse as _, Response};
use covalynce_app::oauth::{Carried, Consent};

/// Where a platform's flow keeps this browser's pending connection.
pub struct Pending {
    pub cookie: &'static str,
    /// The cookie's path: it covers the callback and any step after it.
    pub path: &'static str,
}

/// The redirect to the platform's consent page, carrying the flow in its cookie.
pub fn to_consent(state: &AppState, pending: &Pending, consent: &Consent) -> Response {
    let mut r = axum::response::Redirect::to(consent.url.as_str()).into_response();
    carry(state, pending, &consent.carried, &mut r);
    r
}

/// Sets the flow's cookie on `r` (for 10 minutes, as long as the flow lasts).
pub fn carry(state: &AppState, pending: &Pending, carried: &Carried, r: &mut Response) {
    let cookie = crate::auth::set_cookie(
        pending.cookie,
        &carried.sealed,
        pending.path,
        std::time::Duration::from_secs(600),
        state.security().config.secure_cookies,
    );
    crate::auth::append_cookie(r, &cookie);
}

/// The flow this browser carries, if any.
pub fn carried<'h>(headers: &'h HeaderMap, pending: &Pending) -> Option<&'h str> {
    crate::auth::cookie(headers, pending.cookie)
}

/// Ends the flow's cookie on `r`: the connection is done, or failed.
pub fn clear(state: &AppState, pending: &Pending, r: &mut Response) {
    let clear = crate::auth::clear_cookie(
        pending.cookie,
        pending.path,
        state.security().config.secure_cookies,
    );
    crate::auth::append_cookie(r, &clear);
}
