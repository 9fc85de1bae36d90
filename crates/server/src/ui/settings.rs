//! Workspace settings: plan and card usage, the emergency stop, the drafting voice, the
//! trust policy, members and invitations, API tokens. Every action runs the API's own
//! handler (same rules, same roles, same audit entry).

use super::page::{Button, CsrfForm, Keyed, Layout, PageId, Signed, UiError, render};
use crate::http::AppState;
use crate::http::api::given;
use crate::http::api::members::{InvitationView, MemberView, TokenView};
use crate::http::api::workspace::WorkspaceView;
use crate::http::extract::{Editor, Owner, Viewer};
use crate::http::problem::ApiError;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use covalynce_domain::{InvitationId, Role, TokenId, UserId};

/// The public changelog's section: on or off, its address, the sources it may show.
pub struct ChangelogVm {
    pub public: bool,
    pub path: String,
    /// (id, name, shown) of each source; none ticked: every source.
    pub sources: Vec<(String, String, bool)>,
    /// The newest entries: (version, title).
    pub entries: Vec<(String, String)>,
}

pub struct ChannelOption {
    pub id: String,
    pub name: String,
    pub trusted: bool,
}

#[derive(askama::Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    csrf: String,
    ws: WorkspaceView,
    me: String,
    members: Vec<MemberView>,
    invitations: Vec<InvitationView>,
    tokens: Vec<TokenView>,
    channels: Vec<ChannelOption>,
    ai: crate::http::api::ai::AiSettingsView,
    changelog: ChangelogVm,
    notice: Option<(bool, String)>,
    /// Shown once: a new token or invitation link.
    secret: Option<(String, String)>,
    owner: bool,
    editor: bool,
}

async fn page(
    state: &AppState,
    signed: &Signed,
    base: &str,
    notice: Option<(bool, String)>,
    secret: Option<(String, String)>,
) -> Result<Response, UiError> {
    use crate::http::api::members::{InvitationView, MemberView, TokenView};
    let app = state.app();
    let viewer = signed.acting_as::<Viewer>()?;
    let ws = crate::http::api::workspace::view(signed.workspace.clone());
    let ai = crate::http::api::ai::view(state, &viewer).await?;
    let changelog = {
        let c = app.changelog_setting(&viewer).await?;
        ChangelogVm {
            public: c.setting.is_public(),
            path: format!("/changelog/{}", ws.slug),
            sources: c
                .sources
                .into_iter()
                .map(|(id, name)| (id.to_string(), name, c.setting.sources.contains(&id)))
                .collect(),
            entries: c
                .entries
                .into_iter()
                .map(|e| (e.version, e.title))
                .collect(),
        }
    };
    let members: Vec<MemberView> = app
        .members(&viewer)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let owner = signed.role >= Role::Owner;
    let editor = signed.role >= Role::Editor;
    let invitations: Vec<InvitationView> = if owner {
        let who = signed.acting_as::<Owner>()?;
        let list = app.invitations(&who).await?;
        list.into_iter().map(Into::into).collect()
    } else {
        Vec::new()
    };
    let tokens: Vec<TokenView> = if editor {
        let who = signed.acting_as::<Editor>()?;
        let list = app.tokens(&who).await?;
        list.into_iter().map(Into::into).collect()
    } else {
        Vec::new()
    };
    let channels = state
        .app()
        .channels(&signed.acting_as::<covalynce_app::Viewer>()?)
        .await?
        .into_iter()
        .map(|c| ChannelOption {
            trusted: ws.trust.channels.contains(&c.id.to_string()),
            id: c.id.to_string(),
            name: c.name,
        })
        .collect();
    let secret = secret.map(|(what, value)| {
        let value = if value.starts_with('/') {
            format!("{base}{value}")
        } else {
            value
        };
        (what, value)
    });
    let failed = notice.as_ref().is_some_and(|(ok, _)| !ok);
    let mut r = render(&SettingsPage {
        layout: signed.layout("settings"),
        csrf: signed.session.csrf_token.clone(),
        ws,
        me: signed.user.id.to_string(),
        members,
        invitations: invitations
            .into_iter()
            .filter(|i| i.accepted_at.is_none())
            .collect(),
        tokens: tokens
            .into_iter()
            .filter(|t| t.revoked_at.is_none())
            .collect(),
        channels,
        ai,
        changelog,
        notice,
        secret,
        owner,
        editor,
    });
    if failed {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn show(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let base = crate::http::session::base_url(&state, &headers);
    page(&state, &signed, &base, None, None).await
}

fn role(v: &Option<String>) -> Result<Role, UiError> {
    Role::parse(given(v).as_deref().unwrap_or("viewer"))
        .map_err(|e| UiError::Page(axum::http::StatusCode::UNPROCESSABLE_ENTITY, e.0))
}

/// The settings page again, saying what an action did (or why it could not), with a new
/// secret to show once. The workspace is read again: the stop changes what every page
/// shows (the banner).
async fn answer(
    state: &AppState,
    signed: Signed,
    headers: &HeaderMap,
    result: Result<String, ApiError>,
    secret: Option<(String, String)>,
) -> Result<Response, UiError> {
    let notice = match result {
        Ok(m) => (true, m),
        Err(e) => (false, UiError::from(e).message()),
    };
    let fresh = state
        .app()
        .workspace_now(&signed.acting_as::<covalynce_app::Viewer>()?)
        .await?;
    let signed = signed.with_workspace(fresh);
    let base = crate::http::session::base_url(state, headers);
    page(state, &signed, &base, Some(notice), secret).await
}

/// Turns the emergency stop on: nothing is published until it is lifted.
pub async fn stop(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let result = state
        .app()
        .set_emergency_stop(&signed.acting_as::<Editor>()?, true)
        .await
        .map(|_| "Emergency stop is on: nothing is published until it is lifted.".to_owned())
        .map_err(ApiError::from);
    answer(&state, signed, &headers, result, None).await
}

/// Lifts the emergency stop: what it held goes out.
pub async fn resume(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let result = state
        .app()
        .set_emergency_stop(&signed.acting_as::<Editor>()?, false)
        .await
        .map(|resumed| format!("Publishing resumed ({resumed} held post(s) going out)."))
        .map_err(ApiError::from);
    answer(&state, signed, &headers, result, None).await
}

#[derive(serde::Deserialize)]
pub struct VoiceForm {
    #[serde(default)]
    voice: Option<String>,
}

/// How new drafts sound.
pub async fn voice(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<VoiceForm>,
) -> Result<Response, UiError> {
    let acting = signed.acting_as::<Owner>()?;
    let result = match given(&form.voice)
        .as_deref()
        .and_then(covalynce_domain::Voice::parse)
    {
        Some(voice) => state
            .app()
            .set_voice(&acting, voice)
            .await
            .map(|_| "The voice is saved; new drafts use it.".to_owned())
            .map_err(ApiError::from),
        None => Err(ApiError::Validation(format!(
            "voice must be sassy, plain or technical; got {:?}",
            form.voice.unwrap_or_default()
        ))),
    };
    answer(&state, signed, &headers, result, None).await
}

#[derive(serde::Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
}

/// The zone posting slots are read in.
pub async fn time_zone(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<TimeZoneForm>,
) -> Result<Response, UiError> {
    let acting = signed.acting_as::<Owner>()?;
    let result = state
        .app()
        .set_time_zone(&acting, &form.time_zone)
        .await
        .map(|z| format!("Posting slots are read in {z} now."))
        .map_err(ApiError::from);
    answer(&state, signed, &headers, result, None).await
}

/// The changelog's form: `public`, and a `source:<id>` box per source.
#[derive(serde::Deserialize)]
pub struct ChangelogForm {
    #[serde(default)]
    public: Option<String>,
    #[serde(flatten)]
    boxes: Keyed,
}

/// Turns the public changelog on or off, and picks its sources (none ticked: all).
pub async fn changelog(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<ChangelogForm>,
) -> Result<Response, UiError> {
    let acting = signed.acting_as::<Owner>()?;
    let public = form.public.is_some();
    let sources = form.boxes.ticked("source");
    let path = format!("/changelog/{}", acting.workspace().slug.as_str());
    let result = state
        .app()
        .set_changelog(&acting, public, &sources)
        .await
        .map(|_| {
            if public {
                format!("The changelog is public at {path}.")
            } else {
                "The changelog is private: its pages and feeds answer 404.".to_owned()
            }
        })
        .map_err(ApiError::from);
    answer(&state, signed, &headers, result, None).await
}

/// Takes a release off the public changelog and its feeds.
pub async fn take_down(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(version): Path<String>,
    CsrfForm(_): CsrfForm<Button>,
) -> Result<Response, UiError> {
    let acting = signed.acting_as::<Editor>()?;
    let result = state
        .app()
        .take_down_changelog_entry(&acting, &version)
        .await
        .map(|_| format!("{version} is off the changelog and its feeds."))
        .map_err(ApiError::from);
    answer(&state, signed, &headers, result, None).await
}

/// The trust policy's form: `after`, and a `trust:<channel id>` box per channel.
#[derive(serde::Deserialize)]
pub struct TrustForm {
    #[serde(default)]
    after: Option<String>,
    #[serde(flatten)]
    boxes: Keyed,
}

/// The trust policy: `after` approvals in a row without an edit, and the ticked channels
/// (`trust:<channel id>` boxes, one per channel, so the form's fields are not fixed).
pub async fn trust(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<TrustForm>,
) -> Result<Response, UiError> {
    let acting = signed.acting_as::<Owner>()?;
    let after = match given(&form.after).map(|a| a.parse::<i64>()) {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            let msg =
                "The number of approvals must be a whole number (or empty to review everything).";
            return answer(
                &state,
                signed,
                &headers,
                Err(ApiError::Validation(msg.into())),
                None,
            )
            .await;
        }
        None => None,
    };
    let channels = form.boxes.ticked("trust");
    let result = async {
        let policy = covalynce_app::workspace::TrustPolicy::parse(after, &channels)?;
        state.app().set_trust_policy(&acting, policy).await?;
        Ok::<_, covalynce_app::AppError>(match after {
            Some(n) => format!(
                "After {n} approvals in a row without an edit, cards are approved automatically."
            ),
            None => "Every card waits for your review.".to_owned(),
        })
    }
    .await
    .map_err(ApiError::from);
    answer(&state, signed, &headers, result, None).await
}

#[derive(serde::Deserialize)]
pub struct PrivacyForm {
    #[serde(default)]
    privacy: Option<String>,
}

/// What the AI layer may be sent.
pub async fn ai_privacy(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<PrivacyForm>,
) -> Result<Response, UiError> {
    let who = signed.acting_as::<Owner>()?;
    let result = async {
        let asked = given(&form.privacy).unwrap_or_default();
        let privacy = crate::http::api::ai::privacy(&asked)?;
        state.app().set_ai_privacy(&who, privacy).await?;
        Ok(format!("AI privacy: {}.", privacy.as_str()))
    }
    .await;
    answer(&state, signed, &headers, result, None).await
}

#[derive(serde::Deserialize)]
pub struct ProviderForm {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    api_key: Option<String>,
}

/// Adds a provider at the end of the AI chain.
pub async fn ai_add(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<ProviderForm>,
) -> Result<Response, UiError> {
    let who = signed.acting_as::<Owner>()?;
    let input = crate::http::api::ai::ProviderInput {
        kind: given(&form.kind).unwrap_or_default(),
        model: given(&form.model).unwrap_or_default(),
        base_url: given(&form.base_url),
        api_key: given(&form.api_key),
    };
    let index = state
        .app()
        .ai_chain(&signed.acting_as::<covalynce_app::Viewer>()?)
        .await?
        .len();
    let result = match crate::http::api::ai::provider_input(&state, index, &input).await {
        // A full chain is refused: the page says why, and as nothing was added, nothing
        // is logged.
        Ok(p) => match state.app().add_ai_provider(&who, p).await {
            Ok(n) => Ok(format!(
                "{} added as provider {n} of the chain.",
                input.model
            )),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e),
    };
    answer(&state, signed, &headers, result, None).await
}

/// A role to give: an invitation's, a token's at most, a member's new one.
#[derive(serde::Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: Option<String>,
}

/// An invitation link for a new member of the chosen role, shown once.
pub async fn invite(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<Response, UiError> {
    let invitation = state
        .app()
        .invite(
            &signed.acting_as::<Owner>()?,
            role(&form.role)?,
            state.security().config.invitation_ttl,
        )
        .await
        .map_err(ApiError::from);
    let (result, secret) = match invitation {
        Ok(inv) => (
            Ok(format!("Invitation for a new {} created.", inv.role)),
            Some((
                "Invitation link (works once, shown once)".to_owned(),
                format!("/invite/{}", inv.token),
            )),
        ),
        Err(e) => (Err(e), None),
    };
    answer(&state, signed, &headers, result, secret).await
}

#[derive(serde::Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

/// An API token of at most the caller's role, shown once.
pub async fn token(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, UiError> {
    let created = state
        .app()
        .create_token(
            &signed.acting_as::<Editor>()?,
            &given(&form.name).unwrap_or_default(),
            Some(role(&form.role)?),
        )
        .await
        .map_err(ApiError::from);
    let (result, secret) = match created {
        Ok(t) => (
            Ok("Token created: copy it now.".to_owned()),
            Some((format!("API token {} (shown once)", t.name), t.token)),
        ),
        Err(e) => (Err(e), None),
    };
    answer(&state, signed, &headers, result, secret).await
}

/// Revokes an API token.
pub async fn revoke_token(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    PageId(token): PageId<TokenId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let who = signed.acting_as::<Editor>()?;
    let result = state
        .app()
        .revoke_token(&who, token)
        .await
        .map(|_| "The token is revoked.".to_owned())
        .map_err(ApiError::from);
    answer(&state, signed, &headers, result, None).await
}

/// Withdraws an invitation no one used yet.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    PageId(inv): PageId<InvitationId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let acting = signed.acting_as::<Owner>()?;
    let result = state
        .app()
        .revoke_invitation(&acting, inv)
        .await
        .map(|_| "The invitation is withdrawn.".to_owned())
        .map_err(ApiError::from);
    answer(&state, signed, &headers, result, None).await
}

/// Changes a member's role.
pub async fn change_role(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    PageId(user): PageId<UserId>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<Response, UiError> {
    let role = Role::parse(form.role.as_deref().unwrap_or_default())
        .map_err(|e| UiError::Page(axum::http::StatusCode::UNPROCESSABLE_ENTITY, e.0))?;
    let acting = signed.acting_as::<Owner>()?;
    let result = state
        .app()
        .change_role(&acting, user, role)
        .await
        .map(|_| format!("The role is now {role}."))
        .map_err(ApiError::from);
    answer(&state, signed, &headers, result, None).await
}

/// Removes a member (an owner removing someone, or anyone leaving).
pub async fn remove_member(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    PageId(user): PageId<UserId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let acting = signed.acting_as::<Viewer>()?;
    let result = state
        .app()
        .remove_member(&acting, user)
        .await
        .map(|_| "The member is removed and their tokens revoked.".to_owned())
        .map_err(ApiError::from);
    answer(&state, signed, &headers, result, None).await
}

/// Takes a provider out of the AI chain.
pub async fn ai_remove(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<String>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let who = signed.acting_as::<Owner>()?;
    let result = match id.parse::<usize>() {
        Ok(i) => state
            .app()
            .remove_ai_provider(&who, i)
            .await
            .map(|model| format!("{model} is no longer asked."))
            .map_err(ApiError::from),
        Err(_) => Err(ApiError::NotFound(
            "there is no such provider in the chain".into(),
        )),
    };
    answer(&state, signed, &headers, result, None).await
}
