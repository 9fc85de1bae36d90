//! A workspace's people and keys: members and their roles, invitation links, API tokens,
//! the audit log, the export of everything, and deleting the workspace.

use super::{Data, List, Paging};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, Owner, PathId};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Query, State};
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
    auth: Auth,
) -> Result<Json<List<MemberView>>, ApiError> {
    let members = state.app().members(&auth.acting()?).await?;
    let members = members.into_iter().map(MemberView::from).collect();
    Ok(Json(List::page(members, 0, |_| String::new())))
}

impl From<covalynce_storage::Member> for MemberView {
    fn from(m: covalynce_storage::Member) -> Self {
        Self {
            user_id: m.user_id.to_string(),
            email: m.email.to_string(),
            name: m.name,
            role: m.role,
            joined_at: super::time(m.joined_at),
        }
    }
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
    PathId(user): PathId<UserId>,
    ApiJson(req): ApiJson<ChangeRole>,
) -> Result<StatusCode, ApiError> {
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
    PathId(user): PathId<UserId>,
) -> Result<StatusCode, ApiError> {
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
    auth: Auth<Owner>,
) -> Result<Json<List<InvitationView>>, ApiError> {
    let list = state.app().invitations(&auth.acting()?).await?;
    let list = list.into_iter().map(InvitationView::from).collect();
    Ok(Json(List::page(list, 0, |_| String::new())))
}

impl From<covalynce_storage::InvitationRecord> for InvitationView {
    fn from(i: covalynce_storage::InvitationRecord) -> Self {
        Self {
            id: i.id.to_string(),
            role: i.role,
            created_at: super::time(i.created_at),
            expires_at: super::time(i.expires_at),
            accepted_at: i.accepted_at.map(super::time),
            accepted_by: i.accepted_by.map(|u| u.to_string()),
            token: None,
            url: None,
        }
    }
}

/// Withdraw an unused invitation (owners).
#[utoipa::path(delete, operation_id = "invitations_delete", path = "/api/v1/invitations/{id}", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    auth: Auth<Owner>,
    PathId(inv): PathId<InvitationId>,
) -> Result<StatusCode, ApiError> {
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
    auth: Auth<Editor>,
) -> Result<Json<List<TokenView>>, ApiError> {
    let list = state.app().tokens(&auth.acting()?).await?;
    let list = list.into_iter().map(TokenView::from).collect();
    Ok(Json(List::page(list, 0, |_| String::new())))
}

impl From<covalynce_storage::TokenRecord> for TokenView {
    fn from(t: covalynce_storage::TokenRecord) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
            prefix: t.prefix,
            role: t.role,
            user_id: t.user_id.map(|u| u.to_string()),
            created_at: super::time(t.created_at),
            last_used_at: t.last_used_at.map(super::time),
            revoked_at: t.revoked_at.map(super::time),
            token: None,
        }
    }
}

/// Revoke a token: owners any, editors their own.
#[utoipa::path(delete, operation_id = "tokens_delete", path = "/api/v1/tokens/{id}", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(token): PathId<TokenId>,
) -> Result<StatusCode, ApiError> {
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
    auth: Auth<Owner>,
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
        .app()
        .audit_log(&auth.acting()?, before, limit)
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
    auth: Auth<Owner>,
) -> Result<Json<Data<Export>>, ApiError> {
    let who = auth.acting()?;
    let all = state.app().export(&who).await?;
    fn views<T, V: From<T>>(v: Vec<T>) -> Vec<V> {
        v.into_iter().map(V::from).collect()
    }
    let cards = all
        .cards
        .into_iter()
        .map(|c| {
            let mut card = super::cards::CardView::from(c.card);
            card.publications = Some(views(c.publications));
            CardExport {
                card,
                revisions: views(c.revisions),
            }
        })
        .collect();
    let ai = super::ai::view(
        &state,
        &covalynce_app::Acting::authorize(all.workspace.clone(), who.principal().clone())?,
    )
    .await?;
    Ok(Json(Data {
        data: Export {
            exported_at: super::time(now_millis()),
            workspace: super::workspace::view(all.workspace),
            members: views(all.members),
            invitations: views(all.invitations),
            tokens: views(all.tokens),
            sources: all.sources.iter().map(Into::into).collect(),
            channels: views(all.channels),
            deliveries: views(all.deliveries),
            events: views(all.events),
            cards,
            audit: views(all.audit),
            ai,
            ai_calls: views(all.ai_calls),
        },
    }))
}
