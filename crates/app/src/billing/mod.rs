//! Plans and payments: what a payment provider's webhook means for a workspace. Stripe and
//! Razorpay events are verified and read here (pure functions, tested against the
//! providers' documented examples); `http/billing.rs` receives them and
//! [`App::apply_billing_event`] applies them once, in order.

pub mod razorpay;
pub mod stripe;

use crate::{App, AppError};
use covalynce_domain::{Plan, WorkspaceId};
use covalynce_storage::{BillingApplied, BillingUpdate};

/// Billing settings: the webhook secrets (several for Stripe while a secret is rolled) and
/// the plan new and cancelled workspaces get.
#[derive(Clone)]
pub struct BillingConfig {
    pub stripe_secrets: Vec<String>,
    pub razorpay_secret: Option<String>,
    /// SOLO unless the operator says otherwise (`unlimited` for a self-hosted team).
    pub default_plan: Plan,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            stripe_secrets: Vec::new(),
            razorpay_secret: None,
            default_plan: Plan::Solo,
        }
    }
}

// By hand: the secrets never print.
impl std::fmt::Debug for BillingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingConfig")
            .field("stripe_secrets", &self.stripe_secrets.len())
            .field("razorpay_secret", &self.razorpay_secret.is_some())
            .field("default_plan", &self.default_plan)
            .finish()
    }
}

/// Which workspace an event is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Named by the event (Stripe's `client_reference_id` or `metadata.workspace_id`,
    /// Razorpay's `notes.workspace_id`).
    Workspace(WorkspaceId),
    /// The provider's customer, linked to a workspace by an earlier event.
    Customer(String),
}

/// A verified event, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub meaning: Meaning,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Meaning {
    Change(Target, BillingUpdate),
    /// Not an event that changes a plan (or not about a subscription), with why.
    Ignored(String),
}

/// A plan named by a price's lookup key, a product's metadata or a subscription's notes:
/// `pro`, `covalynce_team_monthly`, `TEAM`.
pub fn plan_named(name: &str) -> Option<Plan> {
    let n = name.to_ascii_lowercase();
    [Plan::Unlimited, Plan::Team, Plan::Pro, Plan::Solo]
        .into_iter()
        .find(|p| {
            n.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == p.as_str())
        })
}

/// Constant-time comparison of a hex signature with the HMAC-SHA256 of `message`.
pub(crate) fn hmac_matches(secret: &[u8], message: &[&[u8]], hex_signature: &str) -> bool {
    use hmac::{KeyInit, Mac};
    use subtle::ConstantTimeEq;
    let Ok(given) = hex::decode(hex_signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return false;
    };
    for part in message {
        mac.update(part);
    }
    let expected = mac.finalize().into_bytes();
    expected.len() == given.len() && bool::from(expected.as_slice().ct_eq(&given))
}

/// Hex HMAC-SHA256: how both providers sign (and how the tests sign their events).
pub fn hmac_hex(secret: &[u8], message: &[&[u8]]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    for part in message {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_found_in_price_names() {
        assert_eq!(plan_named("pro"), Some(Plan::Pro));
        assert_eq!(plan_named("covalynce_team_monthly"), Some(Plan::Team));
        assert_eq!(plan_named("TEAM"), Some(Plan::Team));
        assert_eq!(plan_named("production"), None);
        assert_eq!(plan_named(""), None);
    }
}

/// What was done with a verified payment event.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// Its id was seen before: nothing done again.
    Duplicate,
    /// Not an event that changes a plan, with why (recorded, so a retry is a duplicate).
    Ignored(String),
    /// Applied: the workspace's plan after it.
    Applied(Plan),
    /// Older than the state stored: recorded, not applied.
    Stale,
}

impl App {
    /// A payment provider's verified event, applied to the workspace it is about once (by
    /// event id) and only when not older than what is stored. An event about a customer no
    /// workspace is linked to yet is a conflict and not recorded, so the provider's retry
    /// applies it once the checkout that links them lands.
    pub async fn apply_billing_event(
        &self,
        provider: &str,
        event: &Event,
    ) -> Result<Applied, AppError> {
        let store = self.store();
        if store.billing_event_known(provider, &event.id).await? {
            return Ok(Applied::Duplicate);
        }
        let (target, update) = match &event.meaning {
            Meaning::Ignored(why) => {
                store
                    .record_billing_event(provider, &event.id, &event.kind, None, "ignored")
                    .await?;
                return Ok(Applied::Ignored(why.clone()));
            }
            Meaning::Change(t, u) => (t, u),
        };
        let workspace = match target {
            Target::Workspace(id) => store.workspace(*id).await?,
            Target::Customer(c) => store.workspace_by_customer(provider, c).await?,
        };
        let Some(workspace) = workspace else {
            return Err(AppError::Conflict(format!(
                "no workspace is linked to this {provider} event's customer or workspace yet; it is not recorded, so a retry will apply it"
            )));
        };
        let applied = match store.apply_billing(workspace.id, update).await? {
            BillingApplied::Applied(ws) => {
                tracing::info!(provider, event = %event.id, kind = %event.kind, workspace = %ws.id, plan = ws.plan.as_stored(), "billing event applied");
                Applied::Applied(ws.plan)
            }
            BillingApplied::Stale => Applied::Stale,
            BillingApplied::NoWorkspace => {
                return Err(AppError::Conflict("the workspace is gone".into()));
            }
        };
        let outcome = match applied {
            Applied::Applied(_) => "applied",
            _ => "stale",
        };
        store
            .record_billing_event(
                provider,
                &event.id,
                &event.kind,
                Some(workspace.id),
                outcome,
            )
            .await?;
        Ok(applied)
    }
}
