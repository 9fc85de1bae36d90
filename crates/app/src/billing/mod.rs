//! Plans and payments: what a payment provider's webhook means for a workspace. Stripe and
//! Razorpay events are verified and read here (pure functions, tested against the
//! providers' documented examples); `http/billing.rs` receives them and the store applies
//! them once, in order.

pub mod razorpay;
pub mod stripe;

use covalynce_domain::{Plan, WorkspaceId};
use covalynce_storage::BillingUpdate;

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
