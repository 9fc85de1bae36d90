//! Workspace settings: plan and card usage, the emergency stop, the drafting voice, the
//! trust policy, members and invitations, API tokens. Every action runs the API's own
//! handler (same rules, same roles, same audit entry).

use super::page::{CsrfForm, Layout, Signed, UiError, render};
use crate::http::AppState;
use crate::http::api::members::{InvitationView, MemberView, TokenView};
use crate::http::api::workspace::WorkspaceView;
use crate::http::extract::{ApiJson, Editor, Owner, Viewer};
use crate::http::problem::ApiError;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use covalynce_domain::Role;
use std::collections::HashMap;

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
    use crate::http::api::{members, workspace};
    let st = || State(state.clone());
    let ws = workspace::get(signed.auth_as::<Viewer>()?).await.0.data;
    let ai = crate::http::api::ai::get(st(), signed.auth_as::<Viewer>()?)
        .await?
        .0
        .data;
    let members = members::list(st(), signed.auth_as::<Viewer>()?)
        .await?
        .0
        .data;
    let owner = signed.role >= Role::Owner;
    let editor = signed.role >= Role::Editor;
    let invitations = if owner {
        members::invitations(st(), signed.auth_as::<Owner>()?)
            .await?
            .0
            .data
    } else {
        Vec::new()
    };
    let tokens = if editor {
        members::tokens(st(), signed.auth_as::<Editor>()?)
            .await?
            .0
            .data
    } else {
        Vec::new()
    };
    let channels = state
        .store()
        .list_channels(signed.workspace.id)
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
    let base = crate::http::api::account::base_url(&state, &headers);
    page(&state, &signed, &base, None, None).await
}

/// One settings action: `stop`, `resume`, `voice`, `trust`, `invite`, `token`.
pub async fn act(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path(action): Path<String>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    use crate::http::api::workspace;
    let st = || State(state.clone());
    let field = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let role = |k: &str| {
        Role::parse(field(k).as_deref().unwrap_or("viewer"))
            .map_err(|e| UiError::Page(axum::http::StatusCode::UNPROCESSABLE_ENTITY, e.0))
    };
    let mut secret = None;
    let result: Result<String, crate::http::problem::ApiError> = match action.as_str() {
        "stop" | "resume" => {
            let on = action == "stop";
            workspace::emergency_stop(
                st(),
                signed.auth_as::<Editor>()?,
                ApiJson(workspace::EmergencyStop { on }),
            )
            .await
            .map(|r| {
                if on {
                    "Emergency stop is on: nothing is published until it is lifted.".to_owned()
                } else {
                    format!(
                        "Publishing resumed ({} held post(s) going out).",
                        r.0.data.resumed
                    )
                }
            })
        }
        "voice" => workspace::update(
            st(),
            signed.auth_as::<Owner>()?,
            ApiJson(workspace::UpdateWorkspace {
                voice: field("voice"),
                trust: None,
            }),
        )
        .await
        .map(|_| "The voice is saved; new drafts use it.".to_owned()),
        "trust" => {
            let after = match field("after").map(|a| a.parse::<i64>()) {
                Some(Ok(n)) => Some(n),
                Some(Err(_)) => {
                    let base = crate::http::api::account::base_url(&state, &headers);
                    let msg = "The number of approvals must be a whole number (or empty to review everything).";
                    return page(&state, &signed, &base, Some((false, msg.into())), None).await;
                }
                None => None,
            };
            let channels: Vec<String> = form
                .keys()
                .filter_map(|k| k.strip_prefix("trust:"))
                .map(str::to_owned)
                .collect();
            workspace::update(
                st(),
                signed.auth_as::<Owner>()?,
                ApiJson(workspace::UpdateWorkspace {
                    voice: None,
                    trust: Some(workspace::TrustView { after, channels, streak: 0 }),
                }),
            )
            .await
            .map(|_| match after {
                Some(n) => format!("After {n} approvals in a row without an edit, cards are approved automatically."),
                None => "Every card waits for your review.".to_owned(),
            })
        }
        "ai-privacy" => crate::http::api::ai::update(
            st(),
            signed.auth_as::<Owner>()?,
            ApiJson(crate::http::api::ai::UpdateAi {
                privacy: field("privacy"),
                providers: None,
            }),
        )
        .await
        .map(|r| format!("AI privacy: {}.", r.0.data.privacy)),
        "ai-add" => {
            signed.auth_as::<Owner>()?;
            let input = crate::http::api::ai::ProviderInput {
                kind: field("kind").unwrap_or_default(),
                model: field("model").unwrap_or_default(),
                base_url: field("base_url"),
                api_key: field("api_key"),
            };
            let mut chain = ai_chain(&state, signed.workspace.id).await?;
            match crate::http::api::ai::provider_input(&state, chain.len(), &input).await {
                Ok(p) if chain.len() < 5 => {
                    chain.push(p);
                    state
                        .store()
                        .set_ai_chain(signed.workspace.id, &chain)
                        .await?;
                    Ok(format!(
                        "{} added as provider {} of the chain.",
                        input.model,
                        chain.len()
                    ))
                }
                Ok(_) => Ok("A chain holds at most 5 providers: remove one first.".to_owned()),
                Err(e) => Err(e),
            }
        }
        "invite" => state
            .app()
            .invite(
                &signed.acting_as::<Owner>()?,
                role("role")?,
                state.security().config.invitation_ttl,
            )
            .await
            .map_err(ApiError::from)
            .map(|inv| {
                secret = Some((
                    "Invitation link (works once, shown once)".to_owned(),
                    format!("/invite/{}", inv.token),
                ));
                format!("Invitation for a new {} created.", inv.role)
            }),
        "token" => state
            .app()
            .create_token(
                &signed.acting_as::<Editor>()?,
                &field("name").unwrap_or_default(),
                Some(role("role")?),
            )
            .await
            .map_err(ApiError::from)
            .map(|t| {
                secret = Some((format!("API token {} (shown once)", t.name), t.token));
                "Token created: copy it now.".to_owned()
            }),
        _ => {
            return Err(UiError::Page(
                axum::http::StatusCode::NOT_FOUND,
                "There is no such setting.".into(),
            ));
        }
    };
    let notice = match result {
        Ok(m) => (true, m),
        Err(e) => (false, UiError::from(e).message()),
    };
    // The stop changes what every page shows (the banner): read the workspace again.
    let fresh = state.store().workspace(signed.workspace.id).await?;
    let signed = signed.with_workspace(fresh);
    let base = crate::http::api::account::base_url(&state, &headers);
    page(&state, &signed, &base, Some(notice), secret).await
}

/// Revoke a token or an invitation, change a member's role or remove a member:
/// `/settings/{what}/{id}/{action}`.
pub async fn item(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Path((what, id, action)): Path<(String, String, String)>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    use crate::http::api::members;
    let st = || State(state.clone());
    let path = || Path(id.clone());
    let result = match (what.as_str(), action.as_str()) {
        ("tokens", "revoke") => members::revoke_token(st(), signed.auth_as::<Editor>()?, path())
            .await
            .map(|_| "The token is revoked.".to_owned()),
        ("invitations", "revoke") => {
            let acting = signed.acting_as::<Owner>()?;
            match covalynce_domain::InvitationId::parse(&id) {
                Some(inv) => state
                    .app()
                    .revoke_invitation(&acting, inv)
                    .await
                    .map_err(ApiError::from),
                None => Err(ApiError::NotFound(
                    "there is no such unused invitation".into(),
                )),
            }
            .map(|_| "The invitation is withdrawn.".to_owned())
        }
        ("members", "role") => {
            let role = Role::parse(form.get("role").map(String::as_str).unwrap_or_default())
                .map_err(|e| UiError::Page(axum::http::StatusCode::UNPROCESSABLE_ENTITY, e.0))?;
            let acting = signed.acting_as::<Owner>()?;
            match covalynce_domain::UserId::parse(&id) {
                Some(user) => state
                    .app()
                    .change_role(&acting, user, role)
                    .await
                    .map_err(ApiError::from),
                None => Err(ApiError::NotFound("there is no such member".into())),
            }
            .map(|_| format!("The role is now {role}."))
        }
        ("ai", "remove") => {
            signed.auth_as::<Owner>()?;
            let mut chain = ai_chain(&state, signed.workspace.id).await?;
            match id.parse::<usize>() {
                Ok(i) if i < chain.len() => {
                    let gone = chain.remove(i);
                    state
                        .store()
                        .set_ai_chain(signed.workspace.id, &chain)
                        .await?;
                    Ok(format!("{} is no longer asked.", gone.model))
                }
                _ => Err(crate::http::problem::ApiError::NotFound(
                    "there is no such provider in the chain".into(),
                )),
            }
        }
        ("members", "remove") => {
            let acting = signed.acting_as::<Viewer>()?;
            match covalynce_domain::UserId::parse(&id) {
                Some(user) => state
                    .app()
                    .remove_member(&acting, user)
                    .await
                    .map_err(ApiError::from),
                None => Err(ApiError::NotFound("there is no such member".into())),
            }
            .map(|_| "The member is removed and their tokens revoked.".to_owned())
        }
        _ => {
            return Err(UiError::Page(
                axum::http::StatusCode::NOT_FOUND,
                "There is no such action.".into(),
            ));
        }
    };
    let notice = match result {
        Ok(m) => (true, m),
        Err(e) => (false, UiError::from(e).message()),
    };
    let base = crate::http::api::account::base_url(&state, &headers);
    page(&state, &signed, &base, Some(notice), None).await
}

/// The chain as stored (keys stay sealed), to change one link and store it again.
async fn ai_chain(
    state: &AppState,
    ws: covalynce_domain::WorkspaceId,
) -> Result<Vec<covalynce_storage::NewAiProvider>, UiError> {
    Ok(state
        .store()
        .ai_chain(ws)
        .await?
        .into_iter()
        .map(|p| covalynce_storage::NewAiProvider {
            kind: p.kind,
            model: p.model,
            base_url: p.base_url,
            sealed_key: p.sealed_key,
        })
        .collect())
}
