//! The audit log of the API: every request that changes something and succeeds is
//! recorded with who (user or token), in which workspace, what (the route and its
//! target), when and from where. Done once here, around every route, so a new route
//! cannot forget it; sign-in, sign-up and sign-out record themselves (they have no
//! caller yet, or none after).

use super::AppState;
use crate::auth::Principal;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use covalynce_domain::WorkspaceId;
use covalynce_storage::NewAudit;
use std::sync::{Arc, Mutex};

/// Put on a response that reads as success when the action itself failed — a plain form
/// sent back to the stack with the reason (303) — so the audit log records what was done,
/// not what was tried.
#[derive(Clone, Copy, Debug)]
pub struct ActionFailed;

/// `response`, marked as an action that failed (see [`ActionFailed`]).
pub fn failed(mut response: Response) -> Response {
    response.extensions_mut().insert(ActionFailed);
    response
}

/// Filled by the auth extractors with whoever the request turned out to be.
#[derive(Clone, Default)]
pub struct Caller(Arc<Mutex<Option<Acting>>>);

/// The workspace acted in (`None`: the person's own account) and who acted.
type Acting = (Option<WorkspaceId>, Principal);

impl Caller {
    pub fn set(&self, workspace: Option<WorkspaceId>, principal: Principal) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((workspace, principal));
    }

    fn take(&self) -> Option<Acting> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// How the action came (`covalynce cards`, `covalynce mcp`): a short word, or nothing.
pub fn client_via(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get("x-covalynce-client")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 32
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned)
}

pub async fn record(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.method().is_safe() {
        return next.run(req).await;
    }
    let caller = Caller::default();
    req.extensions_mut().insert(caller.clone());
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let path = req.uri().path().to_owned();
    let via = client_via(req.headers());
    let response = next.run(req).await;
    let (Some(route), Some((workspace, who))) = (route, caller.take()) else {
        return response;
    };
    // The use case wrote its own entry, from its own result.
    if who.recorded.is_set() {
        return response;
    }
    if !(response.status().is_success() || response.status().is_redirection())
        || response.extensions().get::<ActionFailed>().is_some()
    {
        return response;
    }
    let entry = NewAudit {
        workspace_id: workspace,
        user_id: who.actor.user(),
        actor: who.actor.label(),
        action: format!("{method} {route}"),
        target: (path != route).then_some(path),
        detail: match via {
            Some(via) => {
                serde_json::json!({ "status": response.status().as_u16(), "role": who.role, "via": via })
            }
            None => serde_json::json!({ "status": response.status().as_u16(), "role": who.role }),
        },
        ip: who.ip,
    };
    if let Err(e) = state.store().audit(&entry).await {
        tracing::error!(error = %e, action = %entry.action, "could not write the audit log");
    }
    response
}
