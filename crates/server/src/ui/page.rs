//! What every page shares: who is signed in (and in which workspace), the CSRF check on
//! forms, the layout, and errors as readable pages.

use crate::auth::{Actor, Principal};
use crate::http::AppState;
use crate::http::extract::{MinRole, Viewer};
use crate::http::problem::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use covalynce_domain::Role;
use covalynce_storage::{Membership, SessionRecord, User, Workspace};
use std::marker::PhantomData;
use subtle::ConstantTimeEq;

/// The cookie that remembers which of a person's workspaces the UI shows.
pub const WORKSPACE_COOKIE: &str = "cvl_ws";

/// A redirect to `/` showing workspace `slug` from now on.
pub fn to_workspace(state: &AppState, slug: &str) -> Response {
    let mut r = Redirect::to("/").into_response();
    let cookie = crate::auth::set_cookie(
        WORKSPACE_COOKIE,
        slug,
        "/",
        std::time::Duration::from_secs(365 * 24 * 3600),
        state.security().config.secure_cookies,
    );
    crate::auth::append_cookie(&mut r, &cookie);
    r
}

/// A signed-in person in the browser, acting in one of their workspaces with at least
/// role `R`. Not signed in: a redirect to the sign-in page, back here afterwards.
pub struct Signed<R = Viewer> {
    pub user: User,
    pub session: SessionRecord,
    pub workspace: Workspace,
    pub role: Role,
    pub memberships: Vec<Membership>,
    pub ip: Option<String>,
    /// Who acts, as the audit middleware also holds it: a use case's own entry is seen.
    principal: Principal,
    _role: PhantomData<R>,
}

impl<R: MinRole> FromRequestParts<AppState> for Signed<R> {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let back = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let Some(session) = crate::http::session::live_session(state, &parts.headers).await? else {
            return Err(UiError::SignIn(back));
        };
        if !parts.method.is_safe() {
            crate::http::extract::check_origin(parts, state)?;
        }
        let actor = Actor::User(session.user.id);
        crate::http::extract::limit(state, &actor.limit_key()).await?;
        let memberships = state.app().memberships(session.user.id).await?;
        let wanted = crate::auth::cookie(&parts.headers, WORKSPACE_COOKIE);
        let chosen = memberships
            .iter()
            .find(|m| Some(m.workspace.slug.as_str()) == wanted)
            .or_else(|| memberships.first())
            .cloned()
            .ok_or_else(|| {
                UiError::Page(
                    StatusCode::NOT_FOUND,
                    "You are in no workspace yet: ask an owner for an invitation link.".into(),
                )
            })?;
        if chosen.role < R::ROLE {
            return Err(UiError::Page(
                StatusCode::FORBIDDEN,
                format!(
                    "This needs the {} role in {}; yours is {}.",
                    R::ROLE,
                    chosen.workspace.slug,
                    chosen.role
                ),
            ));
        }
        crate::http::session::keep_alive(state, &session, &parts.extensions, &parts.headers).await;
        // The session's CSRF token travels to `CsrfForm`, which checks the form's copy.
        parts
            .extensions
            .insert(SessionCsrf(session.csrf_token.clone()));
        let ip = crate::http::extract::client_ip(parts, state);
        let principal = Principal::new(actor, chosen.role, ip.clone(), None);
        if let Some(caller) = parts.extensions.get::<crate::http::audit::Caller>() {
            caller.set(Some(chosen.workspace.id), principal.clone());
        }
        Ok(Signed {
            user: session.user.clone(),
            session,
            workspace: chosen.workspace,
            role: chosen.role,
            memberships,
            ip,
            principal,
            _role: PhantomData,
        })
    }
}

impl<R> Signed<R> {
    /// The same person with the workspace as it is now (after a change to it).
    pub fn with_workspace(mut self, fresh: Option<Workspace>) -> Self {
        if let Some(ws) = fresh {
            self.workspace = ws;
        }
        self
    }

    /// Who acts, as the use cases take it: the role this page needs, checked by them.
    pub fn acting(&self) -> Result<covalynce_app::Acting<R>, ApiError>
    where
        R: MinRole,
    {
        Ok(covalynce_app::Acting::authorize(
            self.workspace.clone(),
            self.principal.clone(),
        )?)
    }

    /// Who acts, for a use case needing role `R2` (pages that mix actions of several
    /// roles): a lesser role is this page's 403, in its words.
    pub fn acting_as<R2: MinRole>(&self) -> Result<covalynce_app::Acting<R2>, UiError> {
        covalynce_app::Acting::authorize(self.workspace.clone(), self.principal.clone()).map_err(
            |e| match e {
                covalynce_app::AppError::Forbidden(_) => UiError::Page(
                    StatusCode::FORBIDDEN,
                    format!("This needs the {} role; yours is {}.", R2::ROLE, self.role),
                ),
                other => ApiError::from(other).into(),
            },
        )
    }

    pub fn layout(&self, current: &'static str) -> Layout {
        Layout {
            css: super::assets::css_url(),
            js: super::assets::js_url(),
            csrf: self.session.csrf_token.clone(),
            nav: Some(Nav {
                current,
                workspace: self.workspace.slug.to_string(),
                email: self.user.email.to_string(),
                halted: self.workspace.halted_at.is_some(),
                owner: self.role >= Role::Owner,
                editor: self.role >= Role::Editor,
                others: self
                    .memberships
                    .iter()
                    .filter(|m| m.workspace.id != self.workspace.id)
                    .map(|m| m.workspace.slug.to_string())
                    .collect(),
            }),
        }
    }
}

#[derive(Clone)]
struct SessionCsrf(String);

/// Form fields whose names carry a key, `<prefix>:<key>` (one box per channel or
/// repository, one text per variant), so a form's field names are not fixed: a typed
/// form takes them with `#[serde(flatten)]` beside its fixed fields.
#[derive(serde::Deserialize, Default)]
#[serde(transparent)]
pub struct Keyed(std::collections::HashMap<String, String>);

impl Keyed {
    /// `(key, value)` of every field named `<prefix>:<key>`.
    pub fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0.iter().filter_map(move |(k, v)| {
            k.strip_prefix(prefix)
                .and_then(|k| k.strip_prefix(':'))
                .map(|k| (k, v.as_str()))
        })
    }

    /// The keys of the ticked boxes named `<prefix>:<key>`.
    pub fn ticked(&self, prefix: &str) -> Vec<String> {
        self.under(prefix).map(|(k, _)| k.to_owned()).collect()
    }
}

/// A form that is only a button: nothing in it but its CSRF token.
#[derive(serde::Deserialize)]
pub struct Button {}

/// A form from a signed-in page, its `_csrf` field checked against the session (or the
/// `X-CSRF-Token` header that the page's script also sends). Every UI handler that
/// changes something takes one, so none can forget the check.
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

impl<T: serde::de::DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = UiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, UiError> {
        let expected = req
            .extensions()
            .get::<SessionCsrf>()
            .cloned()
            .ok_or_else(|| {
                UiError::Page(
                    StatusCode::FORBIDDEN,
                    "This form needs a signed-in session.".into(),
                )
            })?;
        let header = req
            .headers()
            .get(crate::auth::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| UiError::Page(StatusCode::BAD_REQUEST, e.body_text()))?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField {
            csrf: String::new(),
        });
        let sent = header.unwrap_or(field.csrf);
        if !bool::from(sent.as_bytes().ct_eq(expected.0.as_bytes())) {
            return Err(UiError::Page(
                StatusCode::FORBIDDEN,
                "This form has expired (its security token does not match your session). Reload the page and try again.".into(),
            ));
        }
        let value = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            UiError::Page(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("The form is incomplete: {e}"),
            )
        })?;
        Ok(CsrfForm(value))
    }
}

/// Someone not signed in yet (sign-in and sign-up forms): the API's `Browser` (headers,
/// address, same-origin check), refused with a readable page instead of problem+json.
pub struct Visitor {
    pub headers: HeaderMap,
    pub ip: Option<String>,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let crate::http::extract::Browser { headers, ip } =
            crate::http::extract::Browser::from_request_parts(parts, state)
                .await
                .map_err(|_| {
                    UiError::Page(
                        StatusCode::FORBIDDEN,
                        "This form was sent from another site, so it was refused. Open Covalynce and try again.".into(),
                    )
                })?;
        Ok(Visitor { headers, ip })
    }
}

/// The frame around every page.
pub struct Layout {
    pub css: &'static str,
    pub js: &'static str,
    pub csrf: String,
    pub nav: Option<Nav>,
}

impl Layout {
    /// For pages seen before signing in.
    pub fn public() -> Self {
        Layout {
            css: super::assets::css_url(),
            js: super::assets::js_url(),
            csrf: String::new(),
            nav: None,
        }
    }
}

pub struct Nav {
    pub current: &'static str,
    pub workspace: String,
    pub email: String,
    pub halted: bool,
    pub owner: bool,
    pub editor: bool,
    pub others: Vec<String>,
}

/// Renders a template, or a plain error page if the template itself fails.
pub fn render<T: askama::Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            UiError::Page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "This page could not be shown.".into(),
            )
            .into_response()
        }
    }
}

/// Whether the page's script sent this (it asks for JSON), or a plain form did.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// A page's id from its path, parsed once: text that is no id of its kind is the 404 page
/// ("There is no such card."), or for the page's script (asking for JSON) the same answer
/// as JSON, `{"ok": false, "detail": …}`, as its actions answer their errors. Pages' forms
/// only ever post ids the server rendered, so this is a hand-made URL; a well-formed id of
/// another workspace gets the action's own answer. Taken after `Signed`.
pub struct PageId<T>(pub T);

impl<T: covalynce_domain::Id, S: Send + Sync> FromRequestParts<S> for PageId<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let raw = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| p.0)
            .unwrap_or_default();
        T::from_text(&raw).map(PageId).ok_or_else(|| {
            let missing = no_such::<T>();
            if wants_json(&parts.headers) {
                let (status, detail) = missing.status_and_message();
                let body = serde_json::json!({ "ok": false, "detail": detail });
                (status, axum::Json(body)).into_response()
            } else {
                missing.into_response()
            }
        })
    }
}

/// The 404 page for an id of this kind.
pub fn no_such<T: covalynce_domain::Id>() -> UiError {
    UiError::Page(
        StatusCode::NOT_FOUND,
        format!("There is no such {}.", T::NOUN),
    )
}

/// Errors on the UI's side of the edge: a page with a readable message (or JSON for the
/// page's script), never a stack trace.
#[derive(Debug)]
pub enum UiError {
    /// Not signed in: to the sign-in page, then back to this path.
    SignIn(String),
    Page(StatusCode, String),
}

impl UiError {
    /// The sentence a person reads.
    pub fn message(self) -> String {
        self.status_and_message().1
    }

    /// The status a page (or the page's script) answers with, and the sentence.
    pub fn status_and_message(self) -> (StatusCode, String) {
        match self {
            UiError::SignIn(_) => (StatusCode::UNAUTHORIZED, "Sign in first.".into()),
            UiError::Page(s, m) => (s, m),
        }
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        let (status, _) = e.status_and_title();
        let detail = match &e {
            ApiError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "internal error");
                "Something went wrong on our side; it has been logged. Try again.".to_owned()
            }
            other => {
                let text = other.to_string();
                let mut chars = text.chars();
                match chars.next() {
                    Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
                    None => text,
                }
            }
        };
        UiError::Page(status, detail)
    }
}

impl From<covalynce_app::AppError> for UiError {
    fn from(e: covalynce_app::AppError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<covalynce_storage::StoreError> for UiError {
    fn from(e: covalynce_storage::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self {
            UiError::SignIn(back) => {
                let target = if back.starts_with('/') && !back.starts_with("//") {
                    format!("/login?next={}", urlencode(&back))
                } else {
                    "/login".into()
                };
                Redirect::to(&target).into_response()
            }
            UiError::Page(status, message) => {
                let page = ErrorPage {
                    layout: Layout::public(),
                    status: status.as_u16(),
                    message,
                };
                let html = page
                    .render()
                    .unwrap_or_else(|_| "Something went wrong.".to_owned());
                (status, Html(html)).into_response()
            }
        }
    }
}

use askama::Template as _;

/// Percent-encodes a path for a query parameter.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Keyed;

    #[derive(serde::Deserialize)]
    struct Form {
        #[serde(default)]
        intent: Option<String>,
        #[serde(flatten)]
        fields: Keyed,
    }

    #[test]
    fn a_typed_form_takes_its_keyed_fields_beside_its_fixed_ones() {
        let form: Form = serde_urlencoded::from_str(
            "_csrf=t&intent=approve&text%3Ax=Hello%20X&channel%3Aab12=on&channels%3Ano=on&channelzz=on",
        )
        .unwrap();
        assert_eq!(form.intent.as_deref(), Some("approve"));
        let texts: Vec<_> = form.fields.under("text").collect();
        assert_eq!(texts, [("x", "Hello X")]);
        // Only `channel:<id>`: neither `channels:…` nor `channelzz`.
        assert_eq!(form.fields.ticked("channel"), ["ab12"]);
    }
}

/// A moment as pages show it: `<time datetime="{iso}">{text}</time>`, the text a readable
/// UTC date ("7 Dec 2026, 08:49 UTC"). The script turns it into "2 h ago" with the exact
/// time, in the viewer's own zone, on hover.
pub struct When {
    pub iso: String,
    pub text: String,
}

impl When {
    pub fn at(ms: i64) -> Self {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let iso = covalynce_domain::time::format_rfc3339(ms);
        // RFC 3339 is fixed width: YYYY-MM-DDTHH:MM.
        let month = iso[5..7].parse::<usize>().unwrap_or(1).clamp(1, 12);
        let day = iso[8..10].trim_start_matches('0');
        let text = format!(
            "{day} {} {}, {} UTC",
            MONTHS[month - 1],
            &iso[..4],
            &iso[11..16]
        );
        Self { iso, text }
    }
}

#[cfg(test)]
mod when_tests {
    use super::When;

    #[test]
    fn moments_read_as_dates_not_as_iso_strings() {
        let w = When::at(1_796_633_340_000);
        assert_eq!(w.iso, "2026-12-07T08:49:00.000Z");
        assert_eq!(w.text, "7 Dec 2026, 08:49 UTC");
    }
}

/// An RFC 3339 time from a view as pages show it without the script ("7 Dec 2026, 08:49
/// UTC"); anything else as it is.
pub fn readable(iso: &str) -> String {
    covalynce_domain::time::parse_rfc3339_millis(iso)
        .map(|ms| When::at(ms).text)
        .unwrap_or_else(|| iso.to_owned())
}
