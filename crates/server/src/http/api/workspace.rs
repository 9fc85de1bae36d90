use super::Data;
use crate::http::extract::Auth;
use crate::http::problem::Problem;
use axum::Json;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkspaceView {
    pub id: String,
    pub slug: String,
    /// SOLO, or a paid plan.
    pub plan: String,
    /// Cards the plan allows per period.
    pub card_limit: i64,
    pub cards_used: i64,
    pub voice: String,
    pub created_at: String,
}

/// The workspace the token belongs to, with its plan and card usage.
#[utoipa::path(get, path = "/api/v1/workspace", tag = "workspace", security(("bearer" = [])),
    responses((status = 200, body = Data<WorkspaceView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn get(Auth(ws): Auth) -> Json<Data<WorkspaceView>> {
    Json(Data {
        data: WorkspaceView {
            id: ws.id.to_string(),
            slug: ws.slug.to_string(),
            plan: ws.plan,
            card_limit: ws.card_limit,
            cards_used: ws.cards_used,
            voice: ws.voice,
            created_at: super::time(ws.created_at),
        },
    })
}
