use super::Data;
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, Owner};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkspaceView {
    pub id: String,
    pub slug: String,
    /// SOLO, PRO, TEAM or UNLIMITED.
    pub plan: String,
    /// Cards the plan allows per period (null: no limit).
    pub card_limit: Option<i64>,
    /// Cards drafted in the current period.
    pub cards_used: i64,
    /// Members the plan allows, open invitations included (null: no limit).
    pub seat_limit: Option<i64>,
    /// When the current period ends and `cards_used` starts again at 0 (null: the next
    /// card starts a period).
    pub period_ends_at: Option<String>,
    /// The subscription as the payment provider last reported it.
    pub billing: Option<BillingView>,
    pub voice: String,
    /// The IANA time zone posting slots are read in ("Europe/Berlin"; default UTC).
    pub time_zone: String,
    pub created_at: String,
    /// True while the emergency stop is on: nothing is published.
    pub emergency_stop: bool,
    pub trust: TrustView,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BillingView {
    /// stripe or razorpay.
    pub provider: String,
    /// The provider's word: active, past_due, canceled, payment_failed, …
    pub status: String,
    pub updated_at: String,
}

/// Review everything (`after` null, the default), or auto-approve green cards to
/// `channels` once `after` approvals in a row needed no edit.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrustView {
    pub after: Option<i64>,
    pub channels: Vec<String>,
    /// Approvals in a row that needed no edit (read-only).
    #[serde(default)]
    pub streak: i64,
}

/// The workspace the token belongs to, with its plan and card usage.
#[utoipa::path(get, operation_id = "workspace_get", path = "/api/v1/workspace", tag = "workspace", security(("bearer" = [])),
    responses((status = 200, body = Data<WorkspaceView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn get(Auth(ws, ..): Auth) -> Json<Data<WorkspaceView>> {
    Json(Data { data: view(ws) })
}

pub fn view(ws: covalynce_storage::Workspace) -> WorkspaceView {
    {
        WorkspaceView {
            id: ws.id.to_string(),
            slug: ws.slug.to_string(),
            card_limit: (ws.card_limit < i64::MAX).then_some(ws.card_limit),
            cards_used: ws.cards_used_at(covalynce_domain::now_millis()),
            seat_limit: (ws.seat_limit < i64::MAX).then_some(ws.seat_limit),
            period_ends_at: ws
                .period_end
                .filter(|e| *e > covalynce_domain::now_millis())
                .map(super::time),
            billing: ws.billing.as_ref().map(|b| BillingView {
                provider: b["provider"].as_str().unwrap_or_default().to_owned(),
                status: b["status"].as_str().unwrap_or_default().to_owned(),
                updated_at: super::time(b["updated_at"].as_i64().unwrap_or_default()),
            }),
            plan: ws.plan.as_stored().to_owned(),
            voice: ws.voice.as_str().to_owned(),
            time_zone: ws.time_zone.name().to_owned(),
            created_at: super::time(ws.created_at),
            emergency_stop: ws.halted_at.is_some(),
            trust: TrustView {
                after: ws.trust_after,
                channels: ws.trust_channels,
                streak: ws.trust_streak,
            },
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateWorkspace {
    /// How drafts sound: sassy (the default), plain or technical.
    pub voice: Option<String>,
    /// The trust policy (`streak` is ignored).
    pub trust: Option<TrustView>,
    /// The IANA time zone posting slots are read in ("Europe/Berlin", "UTC").
    pub time_zone: Option<String>,
}

/// Change workspace settings (the drafting voice).
#[utoipa::path(patch, operation_id = "workspace_update", path = "/api/v1/workspace", tag = "workspace", security(("bearer" = [])),
    request_body = UpdateWorkspace,
    responses((status = 200, body = Data<WorkspaceView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth<Owner>,
    ApiJson(req): ApiJson<UpdateWorkspace>,
) -> Result<Json<Data<WorkspaceView>>, ApiError> {
    let acting = auth.acting()?;
    let mut ws = auth.0;
    if let Some(voice) = &req.voice {
        let voice = covalynce_drafting::Voice::parse(voice).ok_or_else(|| {
            ApiError::Validation(format!(
                "voice must be sassy, plain or technical; got {voice:?}"
            ))
        })?;
        ws = state.app().set_voice(&acting, voice).await?;
    }
    if let Some(trust) = &req.trust {
        let policy = covalynce_app::workspace::TrustPolicy::parse(trust.after, &trust.channels)?;
        ws = state.app().set_trust_policy(&acting, policy).await?;
    }
    if let Some(zone) = &req.time_zone {
        state.app().set_time_zone(&acting, zone).await?;
        ws = state.app().workspace_now(&acting).await?.unwrap_or(ws);
    }
    Ok(Json(Data { data: view(ws) }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EmergencyStop {
    /// true: halt every pending publication now; false: lift the stop.
    pub on: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EmergencyStopState {
    pub on: bool,
    /// Publications queued again when the stop was lifted.
    pub resumed: usize,
}

/// The emergency stop: halts every pending publication of the workspace at once; nothing is
/// published until it is lifted.
#[utoipa::path(put, operation_id = "workspace_emergency_stop", path = "/api/v1/workspace/emergency-stop", tag = "workspace", security(("bearer" = [])),
    request_body = EmergencyStop,
    responses((status = 200, body = Data<EmergencyStopState>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn emergency_stop(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    ApiJson(req): ApiJson<EmergencyStop>,
) -> Result<Json<Data<EmergencyStopState>>, ApiError> {
    let resumed = state
        .app()
        .set_emergency_stop(&auth.acting()?, req.on)
        .await?;
    Ok(Json(Data {
        data: EmergencyStopState {
            on: req.on,
            resumed,
        },
    }))
}
