//! Plans, seats and payment events. A payment provider's event is recorded once by its id
//! (a replay changes nothing) and applied only if it is not older than the subscription
//! state already stored (deliveries arrive out of order).

use crate::{Result, Workspace};
use async_trait::async_trait;
use covalynce_domain::{Plan, UnixMillis, WorkspaceId};

/// A subscription's state as a payment event tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct BillingUpdate {
    /// `stripe` or `razorpay`.
    pub provider: String,
    pub customer: Option<String>,
    pub subscription: Option<String>,
    /// The provider's status (`active`, `past_due`, `canceled`, `payment_failed`, …).
    pub status: String,
    /// The plan it pays for; `None` keeps the current one.
    pub plan: Option<Plan>,
    /// When the paid period ends; with `reset_usage`, a new period starts now.
    pub period_end: Option<UnixMillis>,
    pub reset_usage: bool,
    /// The provider's own time of this state (ms): older than the stored one is stale.
    pub at: UnixMillis,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BillingApplied {
    Applied(Box<Workspace>),
    /// The stored state is newer: nothing changed.
    Stale,
    NoWorkspace,
}

#[async_trait]
pub trait BillingStore {
    /// Sets a workspace's plan and the limits that come with it.
    async fn set_plan(&self, ws: WorkspaceId, plan: Plan) -> Result<Option<Workspace>>;
    /// Members plus open (unused, unexpired) invitations.
    async fn seats_used(&self, ws: WorkspaceId, now: UnixMillis) -> Result<i64>;
    /// Whether a payment event was already processed (a replay or a retry).
    async fn billing_event_known(&self, provider: &str, event_id: &str) -> Result<bool>;
    /// Records a payment event once; false when it was already recorded (a replay).
    async fn record_billing_event(
        &self,
        provider: &str,
        event_id: &str,
        kind: &str,
        ws: Option<WorkspaceId>,
        outcome: &str,
    ) -> Result<bool>;
    /// The workspace a provider's customer pays for.
    async fn workspace_by_customer(
        &self,
        provider: &str,
        customer: &str,
    ) -> Result<Option<Workspace>>;
    /// Applies a subscription state unless a newer one is stored.
    async fn apply_billing(
        &self,
        ws: WorkspaceId,
        update: &BillingUpdate,
    ) -> Result<BillingApplied>;
}

/// One implementation for both pools, like `impl_store!`.
macro_rules! impl_billing {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::billing::BillingStore for $store {
            async fn set_plan(
                &self,
                ws: covalynce_domain::WorkspaceId,
                plan: covalynce_domain::Plan,
            ) -> $crate::Result<Option<$crate::Workspace>> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                sqlx::query(
                    "UPDATE workspaces SET plan = $1, card_limit = $2, seat_limit = $3 WHERE id = $4",
                )
                .bind(plan.as_stored())
                .bind(plan.card_limit())
                .bind(plan.seat_limit())
                .bind(ws.to_string())
                .execute(&mut *tx)
                .await?;
                let row: Option<$crate::sql::WorkspaceRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM workspaces WHERE id = $1",
                        $crate::sql::WORKSPACE_COLS
                    )))
                    .bind(ws.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn seats_used(
                &self,
                ws: covalynce_domain::WorkspaceId,
                now: covalynce_domain::UnixMillis,
            ) -> $crate::Result<i64> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let n: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM memberships WHERE workspace_id = $1)
                          + (SELECT COUNT(*) FROM invitations
                             WHERE workspace_id = $1 AND accepted_at IS NULL AND expires_at > $2)",
                )
                .bind(ws.to_string())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn billing_event_known(
                &self,
                provider: &str,
                event_id: &str,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM billing_events WHERE provider = $1 AND event_id = $2",
                )
                .bind(provider)
                .bind(event_id)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(n > 0)
            }

            async fn record_billing_event(
                &self,
                provider: &str,
                event_id: &str,
                kind: &str,
                ws: Option<covalynce_domain::WorkspaceId>,
                outcome: &str,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let n = sqlx::query(
                    "INSERT INTO billing_events (provider, event_id, kind, workspace_id, outcome, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider, event_id) DO NOTHING",
                )
                .bind(provider)
                .bind(event_id)
                .bind(kind)
                .bind(ws.map(|w| w.to_string()))
                .bind(outcome)
                .bind(covalynce_domain::now_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(n == 1)
            }

            async fn workspace_by_customer(
                &self,
                provider: &str,
                customer: &str,
            ) -> $crate::Result<Option<$crate::Workspace>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::sql::WorkspaceRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM workspaces WHERE billing_customer = $1",
                        $crate::sql::WORKSPACE_COLS
                    )))
                    .bind(format!("{provider}:{customer}"))
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn apply_billing(
                &self,
                ws: covalynce_domain::WorkspaceId,
                u: &$crate::billing::BillingUpdate,
            ) -> $crate::Result<$crate::billing::BillingApplied> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let stored: Option<(Option<String>,)> =
                    sqlx::query_as("SELECT billing FROM workspaces WHERE id = $1")
                        .bind(ws.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some((stored,)) = stored else {
                    return Ok($crate::billing::BillingApplied::NoWorkspace);
                };
                let stored: serde_json::Value = stored
                    .as_deref()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or_default();
                if stored["updated_at"].as_i64().is_some_and(|at| at > u.at) {
                    return Ok($crate::billing::BillingApplied::Stale);
                }
                let billing = serde_json::json!({
                    "provider": u.provider,
                    "customer": u.customer.clone().or_else(|| stored["customer"].as_str().map(str::to_owned)),
                    "subscription": u.subscription.clone().or_else(|| stored["subscription"].as_str().map(str::to_owned)),
                    "status": u.status,
                    "updated_at": u.at,
                });
                sqlx::query(
                    "UPDATE workspaces SET
                        billing = $1,
                        billing_customer = COALESCE($2, billing_customer),
                        plan = COALESCE($3, plan),
                        card_limit = COALESCE($4, card_limit),
                        seat_limit = COALESCE($5, seat_limit),
                        period_end = COALESCE($6, period_end),
                        cards_used = CASE WHEN $7 THEN 0 ELSE cards_used END
                     WHERE id = $8",
                )
                .bind(billing.to_string())
                .bind(u.customer.as_ref().map(|c| format!("{}:{c}", u.provider)))
                .bind(u.plan.map(|p| p.as_stored()))
                .bind(u.plan.map(|p| p.card_limit()))
                .bind(u.plan.map(|p| p.seat_limit()))
                .bind(u.period_end)
                .bind(u.reset_usage)
                .bind(ws.to_string())
                .execute(&mut *tx)
                .await?;
                let row: $crate::sql::WorkspaceRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM workspaces WHERE id = $1",
                    $crate::sql::WORKSPACE_COLS
                )))
                .bind(ws.to_string())
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::billing::BillingApplied::Applied(Box::new(row.try_into()?)))
            }
        }
    };
}
pub(crate) use impl_billing;
