//! Channels: where approved cards go. Connect one, send a test, disable, enable, delete.

use super::page::{Button, CsrfForm, Layout, PageId, Signed, UiError, render};
use super::pending::{Pending, carried, carry, clear, to_consent};
use crate::http::AppState;
use crate::http::api::channels::{ChannelView, CreateChannel};
use crate::http::extract::Editor;
use crate::http::problem::ApiError;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use covalynce_app::AppError;
use covalynce_app::oauth::{Answer, Completed, Flow};
use covalynce_domain::ChannelId;

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
    /// GitHub sources that hold a token: (id, repository), for a GitHub Releases channel.
    github_sources: Vec<(String, String)>,
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
    let records = state
        .app()
        .channels(&signed.acting_as::<covalynce_app::Viewer>()?)
        .await?;
    let now = covalynce_domain::now_millis();
    let expiry = records
        .iter()
        .filter_map(|c| {
            let (at, what) = c.config.reconnect_by()?;
            let what = what.as_str();
            let day = &covalynce_domain::time::format_rfc3339(at)[..10];
            let urgent = at - now < 7 * 24 * 3600 * 1000;
            let note = if at <= now {
                format!("{what} expired on {day}: connect again")
            } else if urgent {
                format!("{what} expires on {day}: connect again before then")
            } else {
                format!("{what} is valid until {day}")
            };
            Some((c.id.to_string(), (urgent, note)))
        })
        .collect();
    let channels: Vec<ChannelView> = records.into_iter().map(ChannelView::from).collect();
    let github_sources = state
        .app()
        .sources(&signed.acting_as::<covalynce_app::Viewer>()?)
        .await?
        .0
        .into_iter()
        .filter(|s| s.kind == covalynce_domain::SourceKind::Github && s.sealed_token.is_some())
        .filter_map(|s| Some((s.id.to_string(), s.repo?)))
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
        github_sources,
    });
    if failed {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn list(State(state): State<AppState>, signed: Signed) -> Result<Response, UiError> {
    page(&state, &signed, None, None).await
}

/// The channels page's "Connect" form: `kind` and the fields that kind needs (empty
/// fields are absent).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct ChannelForm {
    kind: String,
    name: Option<String>,
    file: Option<String>,
    variant: Option<String>,
    url: Option<String>,
    secret: Option<String>,
    webhook_url: Option<String>,
    instance: Option<String>,
    access_token: Option<String>,
    author: Option<String>,
    api_base: Option<String>,
    daily_cap: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// A checkbox: present when ticked.
    thread: Option<String>,
    link_in_reply: Option<String>,
    service: Option<String>,
    identifier: Option<String>,
    app_password: Option<String>,
    source: Option<String>,
    /// A checkbox: present when ticked.
    draft: Option<String>,
}

/// A text field as given, trimmed; blank is absent.
fn given(v: Option<String>) -> Option<String> {
    v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A new channel from the form.
pub async fn create(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    CsrfForm(form): CsrfForm<ChannelForm>,
) -> Result<Response, UiError> {
    let daily_cap = match given(form.daily_cap).map(|c| c.parse::<i64>()) {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            let msg = "The daily cap must be a whole number.".to_owned();
            return page(&state, &signed, Some((false, msg)), None).await;
        }
        None => None,
    };
    let req = CreateChannel {
        kind: form.kind.trim().to_owned(),
        name: given(form.name),
        file: given(form.file),
        path: None,
        variant: given(form.variant),
        url: given(form.url),
        secret: given(form.secret),
        webhook_url: given(form.webhook_url),
        instance: given(form.instance),
        access_token: given(form.access_token),
        author: given(form.author),
        api_base: given(form.api_base),
        expires_in: None,
        daily_cap,
        refresh_token: given(form.refresh_token),
        client_id: given(form.client_id),
        client_secret: given(form.client_secret),
        thread: Some(given(form.thread).is_some()),
        link_in_reply: Some(given(form.link_in_reply).is_some()),
        refresh_token_expires_in: None,
        service: given(form.service),
        identifier: given(form.identifier),
        app_password: given(form.app_password),
        source: given(form.source),
        draft: Some(given(form.draft).is_some()),
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
    PageId(id): PageId<ChannelId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let publisher = crate::http::api::channels::ChannelPublisher::new(&state);
    let result = async {
        let tested = state
            .app()
            .test_channel(&signed.acting()?, id, &publisher)
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

#[derive(serde::Deserialize)]
pub struct SlotsForm {
    #[serde(default)]
    slots: String,
}

/// The channel's posting times, in the workspace's zone.
pub async fn slots(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    PageId(id): PageId<ChannelId>,
    CsrfForm(form): CsrfForm<SlotsForm>,
) -> Result<Response, UiError> {
    let result = async {
        let who = signed.acting()?;
        let channel = state.app().set_slots(&who, id, &form.slots).await?;
        let zone = who.workspace().time_zone.name().to_owned();
        Ok::<_, ApiError>((
            true,
            if channel.slots.is_empty() {
                format!("{} posts as soon as a card is approved.", channel.name)
            } else {
                format!("{} posts at {} ({zone}).", channel.name, channel.slots)
            },
        ))
    }
    .await;
    answer(&state, &signed, result).await
}

/// Stops publishing to the channel until it is enabled.
pub async fn disable(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    PageId(id): PageId<ChannelId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let result = async {
        let channel = state.app().disable_channel(&signed.acting()?, id).await?;
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
    PageId(id): PageId<ChannelId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let publisher = crate::http::api::channels::ChannelPublisher::new(&state);
    let result = async {
        let channel = state
            .app()
            .enable_channel(&signed.acting()?, id, &publisher)
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
    PageId(id): PageId<ChannelId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let result = async {
        state.app().delete_channel(&signed.acting()?, id).await?;
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

const LINKEDIN: Pending = Pending {
    cookie: "covalynce_linkedin",
    path: "/channels/linkedin",
};

const X: Pending = Pending {
    cookie: "covalynce_x",
    path: "/channels/x",
};

fn callback(state: &AppState, headers: &HeaderMap, flow: Flow) -> String {
    let base = crate::http::session::base_url(state, headers);
    match flow {
        Flow::X => format!("{base}/channels/x/callback"),
        _ => format!("{base}/channels/linkedin/callback"),
    }
}

/// "Connect LinkedIn" and "Connect X": to the platform's consent page, carrying the flow
/// in a short-lived cookie.
async fn consent(
    state: &AppState,
    signed: &Signed<Editor>,
    headers: &HeaderMap,
    flow: Flow,
    pending: &Pending,
) -> Result<Response, UiError> {
    let who = signed.acting()?;
    let redirect = callback(state, headers, flow);
    let consent = state
        .app()
        .consent(&who, &state.oauth_platform(), flow, &redirect)
        .await?;
    Ok(to_consent(state, pending, &consent))
}

pub async fn linkedin_connect(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    Query(q): Query<LinkedinConnect>,
) -> Result<Response, UiError> {
    let pages = q.pages.is_some_and(|p| p == "1" || p == "true");
    consent(
        &state,
        &signed,
        &headers,
        Flow::Linkedin { pages },
        &LINKEDIN,
    )
    .await
}

/// "Connect X": OAuth 2.0 with PKCE (S256).
pub async fn x_connect(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    consent(&state, &signed, &headers, Flow::X, &X).await
}

/// LinkedIn sends the browser back here: the code becomes a channel of this workspace,
/// or the pages to choose from.
pub async fn linkedin_callback(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    Query(answer): Query<Answer>,
) -> Result<Response, UiError> {
    // The flow's own `pages` is what counts; this only names the platform.
    let flow = Flow::Linkedin { pages: false };
    completed(&state, &signed, &headers, flow, &LINKEDIN, answer).await
}

/// X sends the browser back here: the code and the PKCE verifier are traded for tokens
/// (with `offline.access`, a refresh token), and the account becomes a channel of this
/// workspace that renews itself.
pub async fn x_callback(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    Query(answer): Query<Answer>,
) -> Result<Response, UiError> {
    completed(&state, &signed, &headers, Flow::X, &X, answer).await
}

async fn completed(
    state: &AppState,
    signed: &Signed<Editor>,
    headers: &HeaderMap,
    flow: Flow,
    pending: &Pending,
    answer: Answer,
) -> Result<Response, UiError> {
    let who = signed.acting()?;
    let redirect = callback(state, headers, flow);
    let done = state
        .app()
        .complete(
            &who,
            &state.oauth_platform(),
            flow,
            carried(headers, pending),
            answer,
            &redirect,
        )
        .await;
    shown(state, signed, pending, done).await
}

#[derive(serde::Deserialize)]
pub struct PageChoice {
    state: Option<String>,
    organization: String,
}

/// The page chosen after "Connect a LinkedIn page".
pub async fn linkedin_page(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<PageChoice>,
) -> Result<Response, UiError> {
    let who = signed.acting()?;
    let done = state
        .app()
        .choose_page(
            &who,
            &state.oauth_platform(),
            carried(&headers, &LINKEDIN),
            form.state.as_deref(),
            &form.organization,
        )
        .await;
    shown(&state, &signed, &LINKEDIN, done).await
}

/// The page after a step of a flow: connected, a choice to make (the flow's cookie moves
/// on), or why not. A step that is not this browser's is refused outright.
async fn shown(
    state: &AppState,
    signed: &Signed<Editor>,
    pending: &Pending,
    done: Result<Completed, AppError>,
) -> Result<Response, UiError> {
    let notice = match done {
        Err(AppError::BadRequest(why)) => {
            return Err(UiError::Page(axum::http::StatusCode::BAD_REQUEST, why));
        }
        Err(e) => (false, UiError::from(e).message()),
        Ok(Completed::NotConnected(why)) => (false, why),
        Ok(Completed::Channel { channel, page }) => {
            let who = covalynce_app::oauth::account(&channel)
                .unwrap_or("you")
                .to_owned();
            match (channel.kind, page) {
                (covalynce_domain::ChannelKind::X, _) => (true, format!("Connected X as @{who}.")),
                (_, Some(p)) => (
                    true,
                    format!("Connected LinkedIn: {who} posts as the page {p}."),
                ),
                (_, None) => (true, format!("Connected LinkedIn as {who}.")),
            }
        }
        Ok(Completed::ChoosePage { pages, next }) => {
            let picker = PagePicker {
                state: next.state.clone(),
                pages,
            };
            let mut r = page_with(state, signed, None, None, Some(picker)).await?;
            carry(state, pending, &next, &mut r);
            return Ok(r);
        }
        Ok(Completed::PickRepos { .. }) => (false, "GitHub connects sources, not channels.".into()),
    };
    let mut r = page(state, signed, Some(notice), None).await?;
    clear(state, pending, &mut r);
    Ok(r)
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
