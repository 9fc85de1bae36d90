//! A workspace's people and keys: members and their roles, invitation links, API tokens,
//! the audit log, the export of everything, and deleting the workspace.

use super::{Data, List, Paging};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, Owner};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use covalynce_domain::{AuditId, InvitationId, Role, TokenId, UserId, now_millis};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: String,
}

/// The workspace's members and their roles.
#[utoipa::path(get, operation_id = "members_list", path = "/api/v1/members", tag = "members", security(("bearer" = [])),
    responses((status = 200, body = List<MemberView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    Auth(ws, ..): Auth,
) -> Result<Json<List<MemberView>>, ApiError> {
    let members: Vec<MemberView> = state
        .store()
        .members(ws.id)
        .await?
        .into_iter()
        .map(|m| MemberView {
            user_id: m.user_id.to_string(),
            email: m.email.to_string(),
            name: m.name,
            role: m.role,
            joined_at: super::time(m.joined_at),
        })
        .collect();
    Ok(Json(List::page(members, 0, |_| String::new())))
}

fn user_id(id: &str) -> Result<UserId, ApiError> {
    UserId::parse(id)
        .ok_or_else(|| ApiError::NotFound(format!("there is no member {id:?} in this workspace")))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChangeRole {
    pub role: Role,
}

/// Change a member's role (owners only). The last owner cannot be demoted.
#[utoipa::path(patch, operation_id = "members_update", path = "/api/v1/members/{user_id}", tag = "members", security(("bearer" = [])),
    params(("user_id" = String, Path)), request_body = ChangeRole,
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth<Owner>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ChangeRole>,
) -> Result<StatusCode, ApiError> {
    let user = user_id(&id)?;
    state
        .app()
        .change_role(&auth.acting()?, user, req.role)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member (owners), or leave the workspace (anyone, for themselves). Their
/// tokens for this workspace are revoked. The last owner cannot leave.
#[utoipa::path(delete, operation_id = "members_delete", path = "/api/v1/members/{user_id}", tag = "members", security(("bearer" = [])),
    params(("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = user_id(&id)?;
    state.app().remove_member(&auth.acting()?, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateInvitation {
    pub role: Role,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    pub id: String,
    pub role: Role,
    pub created_at: String,
    pub expires_at: String,
    pub accepted_at: Option<String>,
    pub accepted_by: Option<String>,
    /// Shown once, at creation: the link's secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Shown once: where to send the person (`/invite/TOKEN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Create an invitation link (owners). The token is shown once; it works once, for 7 days.
#[utoipa::path(post, operation_id = "invitations_create", path = "/api/v1/invitations", tag = "members", security(("bearer" = [])),
    request_body = CreateInvitation,
    responses((status = 201, body = Data<InvitationView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn invite(
    State(state): State<AppState>,
    auth: Auth<Owner>,
    ApiJson(req): ApiJson<CreateInvitation>,
) -> Result<(StatusCode, Json<Data<InvitationView>>), ApiError> {
    let made = state
        .app()
        .invite(
            &auth.acting()?,
            req.role,
            state.security().config.invitation_ttl,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Data {
            data: InvitationView {
                id: made.id.to_string(),
                role: made.role,
                created_at: super::time(made.created_at),
                expires_at: super::time(made.expires_at),
                accepted_at: None,
                accepted_by: None,
                url: Some(format!("/invite/{}", made.token)),
                token: Some(made.token),
            },
        }),
    ))
}

/// Invitations of this workspace, used or not (owners).
#[utoipa::path(get, operation_id = "invitations_list", path = "/api/v1/invitations", tag = "members", security(("bearer" = [])),
    responses((status = 200, body = List<InvitationView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn invitations(
    State(state): State<AppState>,
    Auth(ws, ..): Auth<Owner>,
) -> Result<Json<List<InvitationView>>, ApiError> {
    let list: Vec<InvitationView> = state
        .store()
        .invitations(ws.id)
        .await?
        .into_iter()
        .map(|i| InvitationView {
            id: i.id.to_string(),
            role: i.role,
            created_at: super::time(i.created_at),
            expires_at: super::time(i.expires_at),
            accepted_at: i.accepted_at.map(super::time),
            accepted_by: i.accepted_by.map(|u| u.to_string()),
            token: None,
            url: None,
        })
        .collect();
    Ok(Json(List::page(list, 0, |_| String::new())))
}

/// Withdraw an unused invitation (owners).
#[utoipa::path(delete, operation_id = "invitations_delete", path = "/api/v1/invitations/{id}", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    auth: Auth<Owner>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let inv = InvitationId::parse(&id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "there is no unused invitation {id:?} in this workspace"
        ))
    })?;
    state.app().revoke_invitation(&auth.acting()?, inv).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateToken {
    pub name: String,
    /// At most your own role (default: your role).
    pub role: Option<Role>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// The first characters, to tell tokens apart.
    pub prefix: String,
    pub role: Role,
    /// The person it acts for; null for operator tokens made with the CLI.
    pub user_id: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Shown once, at creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Create a personal API token for this workspace (editors and owners). The token is
/// shown once and stored only as a hash; it can do no more than you can.
#[utoipa::path(post, operation_id = "tokens_create", path = "/api/v1/tokens", tag = "members", security(("bearer" = [])),
    request_body = CreateToken,
    responses((status = 201, body = Data<TokenView>), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_token(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<Data<TokenView>>), ApiError> {
    let made = state
        .app()
        .create_token(&auth.acting()?, &req.name, req.role)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Data {
            data: TokenView {
                id: made.id.to_string(),
                name: made.name,
                prefix: made.prefix,
                role: made.role,
                user_id: made.user.map(|u| u.to_string()),
                created_at: super::time(made.created_at),
                last_used_at: None,
                revoked_at: None,
                token: Some(made.token),
            },
        }),
    ))
}

/// API tokens of this workspace with when each was last used (editors and owners).
#[utoipa::path(get, operation_id = "tokens_list", path = "/api/v1/tokens", tag = "members", security(("bearer" = [])),
    responses((status = 200, body = List<TokenView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn tokens(
    State(state): State<AppState>,
    Auth(ws, ..): Auth<Editor>,
) -> Result<Json<List<TokenView>>, ApiError> {
    let list: Vec<TokenView> = state
        .store()
        .tokens(ws.id)
        .await?
        .into_iter()
        .map(|t| TokenView {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.prefix,
            role: t.role,
            user_id: t.user_id.map(|u| u.to_string()),
            created_at: super::time(t.created_at),
            last_used_at: t.last_used_at.map(super::time),
            revoked_at: t.revoked_at.map(super::time),
            token: None,
        })
        .collect();
    Ok(Json(List::page(list, 0, |_| String::new())))
}

/// Revoke a token: owners any, editors their own.
#[utoipa::path(delete, operation_id = "tokens_delete", path = "/api/v1/tokens/{id}", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let token = TokenId::parse(&id).ok_or_else(|| {
        ApiError::NotFound(format!("there is no active token {id:?} in this workspace"))
    })?;
    state.app().revoke_token(&auth.acting()?, token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub id: String,
    /// `user:ID`, `token:ID`, `cli`, `system`, or `deleted-user`.
    pub actor: String,
    pub user_id: Option<String>,
    /// The route, e.g. `POST /api/v1/cards/{id}/approve`, or an account event.
    pub action: String,
    pub target: Option<String>,
    pub detail: serde_json::Value,
    pub ip: Option<String>,
    pub at: String,
}

impl From<covalynce_storage::AuditRecord> for AuditView {
    fn from(a: covalynce_storage::AuditRecord) -> Self {
        AuditView {
            id: a.id.to_string(),
            actor: a.actor,
            user_id: a.user_id.map(|u| u.to_string()),
            action: a.action,
            target: a.target,
            detail: a.detail,
            ip: a.ip,
            at: super::time(a.created_at),
        }
    }
}

/// The audit log: every change in this workspace, newest first (owners).
#[utoipa::path(get, operation_id = "audit_list", path = "/api/v1/audit", tag = "members", security(("bearer" = [])),
    params(Paging),
    responses((status = 200, body = List<AuditView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn audit(
    State(state): State<AppState>,
    Auth(ws, ..): Auth<Owner>,
    Query(paging): Query<Paging>,
) -> Result<Json<List<AuditView>>, ApiError> {
    let before = match &paging.before {
        Some(b) => Some(
            AuditId::parse(b)
                .ok_or_else(|| ApiError::Validation("before must be an audit entry id".into()))?,
        ),
        None => None,
    };
    let limit = paging.limit();
    let entries: Vec<AuditView> = state
        .store()
        .audit_log(ws.id, before, limit)
        .await?
        .into_iter()
        .map(AuditView::from)
        .collect();
    Ok(Json(List::page(entries, limit, |a| a.id.clone())))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeleteWorkspace {
    /// The workspace's slug, typed again.
    pub confirm: String,
}

/// Delete this workspace and everything in it: sources, deliveries, events, cards,
/// channels and their credentials, publications, tokens, invitations, the audit log
/// (owners).
#[utoipa::path(delete, operation_id = "workspace_delete", path = "/api/v1/workspace", tag = "workspace", security(("bearer" = [])),
    request_body = DeleteWorkspace,
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_workspace(
    State(state): State<AppState>,
    auth: Auth<Owner>,
    ApiJson(req): ApiJson<DeleteWorkspace>,
) -> Result<StatusCode, ApiError> {
    state
        .app()
        .delete_workspace(&auth.acting()?, &req.confirm)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CardExport {
    #[serde(flatten)]
    pub card: super::cards::CardView,
    pub revisions: Vec<super::cards::RevisionView>,
}

/// Everything of a workspace, for the owner to keep or take elsewhere. Credentials are
/// never exported (they are sealed, and a file is easier to leak than a database).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Export {
    pub exported_at: String,
    pub workspace: super::workspace::WorkspaceView,
    pub members: Vec<MemberView>,
    pub invitations: Vec<InvitationView>,
    pub tokens: Vec<TokenView>,
    pub sources: Vec<super::sources::SourceView>,
    pub channels: Vec<super::channels::ChannelView>,
    pub deliveries: Vec<super::deliveries::DeliveryView>,
    pub events: Vec<super::events::EventView>,
    pub cards: Vec<CardExport>,
    pub audit: Vec<AuditView>,
    /// The AI settings (keys never) and every AI call on record.
    pub ai: super::ai::AiSettingsView,
    pub ai_calls: Vec<super::ai::LedgerEntry>,
}

/// Export everything of this workspace as one JSON document (owners).
#[utoipa::path(get, operation_id = "export_get", path = "/api/v1/export", tag = "workspace", security(("bearer" = [])),
    responses((status = 200, body = Data<Export>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn export(
    State(state): State<AppState>,
    Auth(ws, who, ..): Auth<Owner>,
) -> Result<Json<Data<Export>>, ApiError> {
    let store = state.store();
    let Json(members) = list(
        State(state.clone()),
        Auth(ws.clone(), who.clone(), std::marker::PhantomData),
    )
    .await?;
    let Json(invitations) = invitations(
        State(state.clone()),
        Auth(ws.clone(), who.clone(), std::marker::PhantomData),
    )
    .await?;
    let Json(tokens) = tokens(
        State(state.clone()),
        Auth(ws.clone(), who.clone(), std::marker::PhantomData),
    )
    .await?;
    let sources = store
        .list_sources(ws.id)
        .await?
        .iter()
        .map(Into::into)
        .collect();
    let channels = store
        .list_channels(ws.id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let deliveries = store
        .list_deliveries(ws.id, None, i64::MAX)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let mut events = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_events(
                ws.id,
                &covalynce_storage::EventFilter {
                    kind: None,
                    status: None,
                    before,
                    limit: 500,
                },
            )
            .await?;
        let done = page.len() < 500;
        before = page.last().map(|e| e.id);
        events.extend(page.into_iter().map(super::events::EventView::from));
        if done {
            break;
        }
    }
    let mut cards = Vec::new();
    for (card, mine) in super::analytics::all_cards(&state, ws.id).await? {
        let revisions = store
            .card_revisions(ws.id, card.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        let mut view = super::cards::CardView::from(card);
        view.publications = Some(mine.into_iter().map(Into::into).collect());
        cards.push(CardExport {
            card: view,
            revisions,
        });
    }
    let mut audit = Vec::new();
    let mut before = None;
    loop {
        let page = store.audit_log(ws.id, before, 500).await?;
        let done = page.len() < 500;
        before = page.last().map(|a| a.id);
        audit.extend(page.into_iter().map(AuditView::from));
        if done {
            break;
        }
    }
    let Json(ai) = super::ai::get(
        State(state.clone()),
        Auth(ws.clone(), who.clone(), std::marker::PhantomData),
    )
    .await?;
    let ai_calls = store
        .ai_calls(ws.id, 0, i64::MAX, i64::MAX)
        .await?
        .into_iter()
        .map(super::ai::LedgerEntry::from)
        .collect();
    Ok(Json(Data {
        data: Export {
            exported_at: super::time(now_millis()),
            workspace: super::workspace::view(ws),
            members: members.data,
            invitations: invitations.data,
            tokens: tokens.data,
            sources,
            channels,
            deliveries,
            events,
            cards,
            audit,
            ai: ai.data,
            ai_calls,
        },
    }))
}
