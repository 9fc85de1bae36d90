//! Channels: where approved cards go. Connect one, send a test, disable, enable, delete.

use super::page::{CsrfForm, Layout, Signed, UiError, render};
use super::pending::{Pending, pending_connection, pending_cookie, to_consent};
use crate::http::AppState;
use crate::http::api::channels::{ChannelView, CreateChannel};
use crate::http::extract::Editor;
use crate::http::problem::ApiError;
use axum::extract::{Path, State};
use axum::response::Response;
use std::collections::HashMap;

#[derive(askama::Template)]
#[template(path = "channels.html")]
struct ChannelsPage {
    layout: Layout,
    csrf: String,
    channels: Vec<ChannelView>,
    notice: Option<(bool, String)>,
    created_secret: Option<String>,
    editor: bool,
    /// Channel id → when its token (or, for self-renewing channels, what renews it) runs
    /// out, and whether that needs the person soon.
    expiry: std::collections::HashMap<String, (bool, String)>,
    /// "Connect LinkedIn" (OAuth) is configured on this server.
    linkedin_oauth: bool,
    /// "Connect X" (OAuth 2.0 with PKCE) is configured on this server.
    x_oauth: bool,
    /// After "Connect a LinkedIn page": the pages to choose from.
    linkedin_pages: Option<PagePicker>,
}

/// The LinkedIn pages a member may post as, and the `state` of the pending connection
/// (sealed in the cookie with the token) that choosing one completes.
struct PagePicker {
    state: String,
    pages: Vec<(String, String)>,
}

async fn page<R>(
    state: &AppState,
    signed: &Signed<R>,
    notice: Option<(bool, String)>,
    created_secret: Option<String>,
) -> Result<Response, UiError> {
    page_with(state, signed, notice, created_secret, None).await
}

async fn page_with<R>(
    state: &AppState,
    signed: &Signed<R>,
    notice: Option<(bool, String)>,
    created_secret: Option<String>,
    linkedin_pages: Option<PagePicker>,
) -> Result<Response, UiError> {
    let channels: Vec<ChannelView> = state
        .store()
        .list_channels(signed.workspace.id)
        .await?
        .into_iter()
        .map(ChannelView::from)
        .collect();
    let now = covalynce_domain::now_millis();
    let expiry = channels
        .iter()
        .filter_map(|c| {
            // A channel that renews its own token (X, Bluesky, LinkedIn with a refresh
            // token) needs reconnecting only when what renews it runs out.
            let renews = c.config["renewable"].as_bool() == Some(true);
            let (at, what) = if renews {
                (
                    c.config["refresh_expires_at"].as_i64()?,
                    "the refresh token",
                )
            } else {
                (c.config["expires_at"].as_i64()?, "the token")
            };
            let day = &covalynce_domain::time::format_rfc3339(at)[..10];
            let urgent = at - now < 7 * 24 * 3600 * 1000;
            let note = if at <= now {
                format!("{what} expired on {day}: connect again")
            } else if urgent {
                format!("{what} expires on {day}: connect again before then")
            } else {
                format!("{what} is valid until {day}")
            };
            Some((c.id.clone(), (urgent, note)))
        })
        .collect();
    let failed = notice.as_ref().is_some_and(|(ok, _)| !ok);
    let mut r = render(&ChannelsPage {
        layout: signed.layout("channels"),
        csrf: signed.session.csrf_token.clone(),
        channels,
        notice,
        created_secret,
        editor: signed.role >= covalynce_domain::Role::Editor,
        expiry,
        linkedin_oauth: state.security().config.linkedin.is_some(),
        x_oauth: state.security().config.x.is_some(),
        linkedin_pages,
    });
    if failed {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn list(State(state): State<AppState>, signed: Signed) -> Result<Response, UiError> {
    page(&state, &signed, None, None).await
}

/// A new channel from the form: `kind` and the fields that kind needs.
pub async fn create(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let field = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let daily_cap = match field("daily_cap").map(|c| c.parse::<i64>()) {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            let msg = "The daily cap must be a whole number.".to_owned();
            return page(&state, &signed, Some((false, msg)), None).await;
        }
        None => None,
    };
    let req = CreateChannel {
        kind: field("kind").unwrap_or_default(),
        name: field("name"),
        file: field("file"),
        path: None,
        variant: field("variant"),
        url: field("url"),
        secret: field("secret"),
        webhook_url: field("webhook_url"),
        instance: field("instance"),
        access_token: field("access_token"),
        author: field("author"),
        api_base: field("api_base"),
        expires_in: None,
        daily_cap,
        refresh_token: field("refresh_token"),
        client_id: field("client_id"),
        client_secret: field("client_secret"),
        thread: Some(field("thread").is_some()),
        link_in_reply: Some(field("link_in_reply").is_some()),
        refresh_token_expires_in: None,
        service: field("service"),
        identifier: field("identifier"),
        app_password: field("app_password"),
    };
    match connect(&state, &signed, &req).await {
        Ok(created) => {
            let msg = format!("Connected {}. Send a test to check it works.", created.name);
            page(&state, &signed, Some((true, msg)), created.secret).await
        }
        Err(e) => {
            page(
                &state,
                &signed,
                Some((false, UiError::from(e).message())),
                None,
            )
            .await
        }
    }
}

/// Sends the channel a test; the page says how it went.
pub async fn test(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let publisher = crate::http::api::channels::ChannelPublisher::new(&state);
    let result = async {
        let tested = state
            .app()
            .test_channel(&signed.acting()?, &id, &publisher)
            .await?;
        Ok::<_, ApiError>(if tested.ok {
            (true, format!("Test sent: {}", tested.detail))
        } else {
            (false, format!("The test failed: {}", tested.detail))
        })
    }
    .await;
    answer(&state, &signed, result).await
}

/// Stops publishing to the channel until it is enabled.
pub async fn disable(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let result = async {
        let channel = state.app().disable_channel(&signed.acting()?, &id).await?;
        Ok::<_, ApiError>((
            true,
            format!(
                "{} is disabled: its posts wait until you enable it.",
                channel.name
            ),
        ))
    }
    .await;
    answer(&state, &signed, result).await
}

/// Publishes to the channel again.
pub async fn enable(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let publisher = crate::http::api::channels::ChannelPublisher::new(&state);
    let result = async {
        let channel = state
            .app()
            .enable_channel(&signed.acting()?, &id, &publisher)
            .await?;
        Ok::<_, ApiError>((true, format!("{} is enabled.", channel.name)))
    }
    .await;
    answer(&state, &signed, result).await
}

/// Deletes the channel; what it published stays on the cards.
pub async fn delete(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let result = async {
        state.app().delete_channel(&signed.acting()?, &id).await?;
        Ok::<_, ApiError>((
            true,
            "The channel is deleted; what it published stays on the cards.".to_owned(),
        ))
    }
    .await;
    answer(&state, &signed, result).await
}

/// The channels page with what an action did, or why it could not.
async fn answer(
    state: &AppState,
    signed: &Signed<Editor>,
    result: Result<(bool, String), ApiError>,
) -> Result<Response, UiError> {
    let notice = result.unwrap_or_else(|e| (false, UiError::from(e).message()));
    page(state, signed, Some(notice), None).await
}

#[derive(serde::Deserialize)]
pub struct LinkedinConnect {
    /// Post as a page the member administers (asks for the page scopes too).
    #[serde(default)]
    pages: Option<String>,
}

/// "Connect LinkedIn": to LinkedIn's consent page, with a `state` sealed in a short-lived
/// cookie so the callback can only complete this browser's request.
pub async fn linkedin_connect(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(q): axum::extract::Query<LinkedinConnect>,
) -> Result<Response, UiError> {
    let pages = q.pages.is_some_and(|p| p == "1" || p == "true");
    let scopes = if pages {
        covalynce_publishing::linkedin::PAGE_SCOPES
    } else {
        covalynce_publishing::linkedin::MEMBER_SCOPES
    };
    let app = linkedin_app(&state)?;
    let nonce = crate::auth::random_token();
    let redirect = format!(
        "{}/channels/linkedin/callback",
        crate::http::api::account::base_url(&state, &headers)
    );
    let web = covalynce_publishing::Url::parse(&app.web_base).map_err(|e| {
        UiError::Page(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("the LinkedIn address is invalid: {e}"),
        )
    })?;
    let to = covalynce_publishing::linkedin::authorize_url(
        &web,
        &app.client_id,
        &redirect,
        &nonce,
        scopes,
    )
    .map_err(|f| UiError::Page(axum::http::StatusCode::INTERNAL_SERVER_ERROR, f.to_string()))?;
    Ok(to_consent(
        &state,
        &signed,
        &LINKEDIN,
        &nonce,
        serde_json::json!({ "pages": pages }),
        &to,
    ))
}

const LINKEDIN: Pending = Pending {
    platform: "LinkedIn",
    cookie: "covalynce_linkedin",
    path: "/channels/linkedin",
    start_again: "Channels",
};

const X: Pending = Pending {
    platform: "X",
    cookie: "covalynce_x",
    path: "/channels/x",
    start_again: "Channels",
};

/// `page` with the pending connection's cookie cleared.
async fn connected_page(
    state: &AppState,
    signed: &Signed<Editor>,
    pending: &Pending,
    notice: (bool, String),
) -> Result<Response, UiError> {
    let mut r = page(state, signed, Some(notice), None).await?;
    let clear = crate::auth::clear_cookie(
        pending.cookie,
        pending.path,
        state.security().config.secure_cookies,
    );
    crate::auth::append_cookie(&mut r, &clear);
    Ok(r)
}

fn linkedin_app(state: &AppState) -> Result<crate::auth::OAuthApp, UiError> {
    state.security().config.linkedin.clone().ok_or_else(|| {
        UiError::Page(
            axum::http::StatusCode::NOT_FOUND,
            "Connect LinkedIn is not configured on this server (--linkedin-client-id and --linkedin-client-secret); paste a token instead.".into(),
        )
    })
}

#[derive(serde::Deserialize)]
pub struct LinkedinCallback {
    code: Option<String>,
    state: Option<String>,
    error_description: Option<String>,
}

/// LinkedIn sends the browser back here: the state must match this browser's cookie, the
/// code is traded for a token, and the member becomes a channel of this workspace.
pub async fn linkedin_callback(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(q): axum::extract::Query<LinkedinCallback>,
) -> Result<Response, UiError> {
    let app = linkedin_app(&state)?;
    let refused = |m: String| UiError::Page(axum::http::StatusCode::BAD_REQUEST, m);
    if let Some(why) = q.error_description {
        return page(
            &state,
            &signed,
            Some((false, format!("LinkedIn did not connect: {why}"))),
            None,
        )
        .await;
    }
    let pending = pending_connection(&state, &signed, &headers, &LINKEDIN, q.state.as_deref())?;
    let code = q
        .code
        .ok_or_else(|| refused("LinkedIn sent no code.".into()))?;
    let redirect = format!(
        "{}/channels/linkedin/callback",
        crate::http::api::account::base_url(&state, &headers)
    );
    let web = covalynce_publishing::Url::parse(&app.web_base)
        .map_err(|e| refused(format!("the LinkedIn address is invalid: {e}")))?;
    let grant = match covalynce_publishing::linkedin::exchange_code(
        state.http(),
        &web,
        &app.client_id,
        &app.client_secret,
        &code,
        &redirect,
    )
    .await
    {
        Ok(g) => g,
        Err(f) => return page(&state, &signed, Some((false, f.to_string())), None).await,
    };
    let api = covalynce_publishing::Url::parse(&app.api_base)
        .map_err(|e| refused(format!("the LinkedIn API address is invalid: {e}")))?;
    let (sub, _) =
        match covalynce_publishing::linkedin::member(state.http(), &api, &grant.access_token).await
        {
            Ok(m) => m,
            Err(f) => return page(&state, &signed, Some((false, f.to_string())), None).await,
        };
    if pending["pages"].as_bool() != Some(true) {
        let author = format!("urn:li:person:{sub}");
        let notice = connect_linkedin(&state, &signed, &app, grant, author, None).await;
        return connected_page(&state, &signed, &LINKEDIN, notice).await;
    }
    let pages = match covalynce_publishing::linkedin::pages(state.http(), &api, &grant.access_token)
        .await
    {
        Ok(p) => p,
        Err(f) => {
            let notice = (false, format!("Could not list your LinkedIn pages: {f}"));
            return connected_page(&state, &signed, &LINKEDIN, notice).await;
        }
    };
    match pages.as_slice() {
        [] => {
            let notice = (
                false,
                "LinkedIn says you administer no page (an approved administrator or content admin role is needed to post as one). Connect your own profile instead, or ask a page admin to add you.".to_owned(),
            );
            connected_page(&state, &signed, &LINKEDIN, notice).await
        }
        [(urn, name)] => {
            let notice =
                connect_linkedin(&state, &signed, &app, grant, urn.clone(), Some(name)).await;
            connected_page(&state, &signed, &LINKEDIN, notice).await
        }
        _ => {
            // Several pages: the token waits, sealed in the pending cookie, for the choice.
            let nonce = crate::auth::random_token();
            let extra = serde_json::json!({ "grant": grant, "pages": pages });
            let cookie = pending_cookie(&state, &signed, &LINKEDIN, &nonce, extra);
            let picker = PagePicker {
                state: nonce,
                pages,
            };
            let mut r = page_with(&state, &signed, None, None, Some(picker)).await?;
            crate::auth::append_cookie(&mut r, &cookie);
            Ok(r)
        }
    }
}

#[derive(serde::Deserialize)]
pub struct PageChoice {
    state: Option<String>,
    organization: String,
}

/// The page chosen after "Connect a LinkedIn page": the token sealed in this browser's
/// pending connection posts as it.
pub async fn linkedin_page(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: axum::http::HeaderMap,
    CsrfForm(form): CsrfForm<PageChoice>,
) -> Result<Response, UiError> {
    let app = linkedin_app(&state)?;
    let pending = pending_connection(&state, &signed, &headers, &LINKEDIN, form.state.as_deref())?;
    let refused = |m: &str| UiError::Page(axum::http::StatusCode::BAD_REQUEST, m.to_owned());
    let offered = pending["pages"].as_array().and_then(|pages| {
        pages
            .iter()
            .find(|p| p[0].as_str() == Some(form.organization.as_str()))
            .and_then(|p| p[1].as_str())
            .map(str::to_owned)
    });
    let Some(name) = offered else {
        return Err(refused(
            "That page was not among the ones LinkedIn offered; start again from Channels.",
        ));
    };
    let grant: covalynce_publishing::linkedin::Grant =
        serde_json::from_value(pending["grant"].clone()).map_err(|_| {
            refused("The pending LinkedIn connection is unreadable; start again from Channels.")
        })?;
    let notice =
        connect_linkedin(&state, &signed, &app, grant, form.organization, Some(&name)).await;
    connected_page(&state, &signed, &LINKEDIN, notice).await
}

/// Makes the channel for a LinkedIn grant posting as `author` (through the API's own
/// creation, so its checks and audit apply); what to tell the person.
async fn connect_linkedin(
    state: &AppState,
    signed: &Signed<Editor>,
    app: &crate::auth::OAuthApp,
    grant: covalynce_publishing::linkedin::Grant,
    author: String,
    page: Option<&str>,
) -> (bool, String) {
    let req = CreateChannel {
        kind: "linkedin".into(),
        name: page.map(|p| format!("LinkedIn · {p}")),
        access_token: Some(grant.access_token),
        author: Some(author),
        api_base: Some(app.api_base.clone()),
        expires_in: grant.expires_in,
        refresh_token: grant.refresh_token,
        refresh_token_expires_in: grant.refresh_token_expires_in,
        ..CreateChannel::default()
    };
    match connect(state, signed, &req).await {
        Ok(c) => {
            let who = c.config["account"].as_str().unwrap_or("you");
            match page {
                Some(p) => (
                    true,
                    format!("Connected LinkedIn: {who} posts as the page {p}."),
                ),
                None => (true, format!("Connected LinkedIn as {who}.")),
            }
        }
        Err(e) => (false, UiError::from(e).message()),
    }
}

fn x_app(state: &AppState) -> Result<crate::auth::OAuthApp, UiError> {
    state.security().config.x.clone().ok_or_else(|| {
        UiError::Page(
            axum::http::StatusCode::NOT_FOUND,
            "Connect X is not configured on this server (--x-client-id); paste tokens instead."
                .into(),
        )
    })
}

/// "Connect X": to X's consent page with PKCE (S256). The verifier and `state` are sealed
/// in a short-lived cookie, bound to this workspace and person.
pub async fn x_connect(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: axum::http::HeaderMap,
) -> Result<Response, UiError> {
    use base64::Engine;
    use sha2::Digest;
    let app = x_app(&state)?;
    let nonce = crate::auth::random_token();
    let verifier = crate::auth::random_token();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = format!(
        "{}/channels/x/callback",
        crate::http::api::account::base_url(&state, &headers)
    );
    let internal = |m: String| UiError::Page(axum::http::StatusCode::INTERNAL_SERVER_ERROR, m);
    let web = covalynce_publishing::Url::parse(&app.web_base)
        .map_err(|e| internal(format!("the X address is invalid: {e}")))?;
    let to =
        covalynce_publishing::x::authorize_url(&web, &app.client_id, &redirect, &nonce, &challenge)
            .map_err(|f| internal(f.to_string()))?;
    let extra = serde_json::json!({ "verifier": verifier });
    Ok(to_consent(&state, &signed, &X, &nonce, extra, &to))
}

#[derive(serde::Deserialize)]
pub struct XCallback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// X sends the browser back here: the state must match this browser's cookie; the code
/// and the PKCE verifier are traded for tokens (with `offline.access`, a refresh token),
/// and the account becomes a channel of this workspace that renews itself.
pub async fn x_callback(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: axum::http::HeaderMap,
    axum::extract::Query(q): axum::extract::Query<XCallback>,
) -> Result<Response, UiError> {
    let app = x_app(&state)?;
    let refused = |m: String| UiError::Page(axum::http::StatusCode::BAD_REQUEST, m);
    if let Some(why) = q.error {
        let msg = format!("X did not connect: {why}");
        return page(&state, &signed, Some((false, msg)), None).await;
    }
    let pending = pending_connection(&state, &signed, &headers, &X, q.state.as_deref())?;
    let code = q.code.ok_or_else(|| refused("X sent no code.".into()))?;
    let verifier = pending["verifier"].as_str().unwrap_or_default();
    let redirect = format!(
        "{}/channels/x/callback",
        crate::http::api::account::base_url(&state, &headers)
    );
    let api = covalynce_publishing::Url::parse(&app.api_base)
        .map_err(|e| refused(format!("the X API address is invalid: {e}")))?;
    let secret = Some(app.client_secret.clone()).filter(|s| !s.is_empty());
    let client = covalynce_publishing::x::Client {
        id: app.client_id.clone(),
        secret: secret.clone(),
    };
    let grant = match covalynce_publishing::x::exchange_code(
        state.http(),
        &api,
        &client,
        &code,
        &redirect,
        verifier,
    )
    .await
    {
        Ok(g) => g,
        Err(f) => return page(&state, &signed, Some((false, f.to_string())), None).await,
    };
    let req = CreateChannel {
        kind: "x".into(),
        access_token: Some(grant.access_token),
        refresh_token: grant.refresh_token,
        expires_in: grant.expires_in,
        api_base: Some(app.api_base.clone()),
        client_id: Some(app.client_id.clone()),
        client_secret: secret,
        ..CreateChannel::default()
    };
    let notice = match connect(&state, &signed, &req).await {
        Ok(c) => (
            true,
            format!(
                "Connected X as @{}.",
                c.config["account"].as_str().unwrap_or("you")
            ),
        ),
        Err(e) => (false, UiError::from(e).message()),
    };
    connected_page(&state, &signed, &X, notice).await
}

/// A member connects a channel from a page, as the API would.
async fn connect(
    state: &AppState,
    signed: &Signed<Editor>,
    req: &CreateChannel,
) -> Result<crate::http::api::channels::ChannelView, crate::http::problem::ApiError> {
    let who = signed.acting()?;
    crate::http::api::channels::connect(state, &who, req).await
}
