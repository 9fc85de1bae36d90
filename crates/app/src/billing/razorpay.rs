//! Razorpay webhooks (razorpay.com/docs/webhooks, "Validate and test webhooks" and
//! "Subscriptions webhook events"): `X-Razorpay-Signature` is the hex HMAC-SHA256 of the
//! raw body with the webhook secret; `X-Razorpay-Event-Id` names the event (the same on
//! every retry). The subscription rides in `payload.subscription.entity`; a workspace is
//! named by the subscription's `notes.workspace_id` (set when it is created) or found by
//! its customer.

use super::{Event, Meaning, Target, hmac_matches, plan_named};
use covalynce_domain::{Plan, WorkspaceId};
use covalynce_storage::BillingUpdate;
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SignatureError {
    #[error("the X-Razorpay-Signature header is missing")]
    Missing,
    #[error("X-Razorpay-Signature does not match the webhook secret")]
    Mismatch,
}

pub fn verify(secret: &str, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let sig = header.ok_or(SignatureError::Missing)?;
    if hmac_matches(secret.as_bytes(), &[body], sig) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Reads a verified event; `event_id` is the `X-Razorpay-Event-Id` header.
pub fn read(event_id: &str, body: &[u8], default_plan: Plan) -> Result<Event, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the event is not JSON: {e}"))?;
    let kind = s(&v, "event").ok_or("the event has no name")?.to_owned();
    let at = v["created_at"]
        .as_i64()
        .ok_or("the event has no created_at")?
        * 1000;
    let sub = &v["payload"]["subscription"]["entity"];
    let pay = &v["payload"]["payment"]["entity"];
    let notes = if sub.is_object() {
        &sub["notes"]
    } else {
        &pay["notes"]
    };
    let customer = s(sub, "customer_id").or_else(|| s(pay, "customer_id"));
    let target = s(notes, "workspace_id")
        .and_then(WorkspaceId::parse)
        .map(Target::Workspace)
        .or_else(|| customer.map(|c| Target::Customer(c.to_owned())));
    let mut u = BillingUpdate {
        provider: "razorpay".into(),
        customer: customer.map(str::to_owned),
        subscription: s(sub, "id")
            .or_else(|| s(pay, "subscription_id"))
            .map(str::to_owned),
        status: s(sub, "status").unwrap_or("unknown").to_owned(),
        plan: None,
        period_end: sub["current_end"].as_i64().map(|e| e * 1000),
        reset_usage: false,
        at,
    };
    let plan = s(notes, "plan")
        .or_else(|| s(sub, "plan_id"))
        .and_then(plan_named);
    let meaning = match kind.as_str() {
        "subscription.activated" | "subscription.charged" => {
            // Activation starts the first paid period, each charge the next one.
            u.status = "active".into();
            u.plan = plan;
            u.reset_usage = true;
            Meaning::Change(
                target.ok_or("the subscription names no workspace or customer")?,
                u,
            )
        }
        "subscription.cancelled" => {
            u.status = "cancelled".into();
            u.plan = Some(default_plan);
            u.period_end = None;
            Meaning::Change(
                target.ok_or("the subscription names no workspace or customer")?,
                u,
            )
        }
        "payment.failed" => {
            u.status = "payment_failed".into();
            u.period_end = None;
            match target {
                Some(t) => Meaning::Change(t, u),
                None => Meaning::Ignored("the payment is not for a known subscription".into()),
            }
        }
        other => Meaning::Ignored(format!("{other} does not change a plan")),
    };
    Ok(Event {
        id: event_id.to_owned(),
        kind,
        meaning,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_signature_is_the_hmac_of_the_raw_body() {
        let body = br#"{"event":"subscription.charged"}"#;
        let sig = super::super::hmac_hex(b"rzp_secret", &[body]);
        assert_eq!(verify("rzp_secret", Some(&sig), body), Ok(()));
        assert_eq!(
            verify("rzp_secret", Some(&sig), b"{}"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("other", Some(&sig), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("rzp_secret", None, body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify("rzp_secret", Some("not hex"), body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_charge_starts_a_period_and_a_cancellation_falls_back() {
        let ws = covalynce_domain::WorkspaceId::new();
        let charged = json!({
            "entity": "event", "account_id": "acc_1", "event": "subscription.charged",
            "contains": ["subscription", "payment"], "created_at": 1_700_000_000,
            "payload": {
                "subscription": {"entity": {"id": "sub_1", "entity": "subscription", "plan_id": "plan_pro",
                    "customer_id": "cust_1", "status": "active", "current_start": 1_700_000_000,
                    "current_end": 1_702_592_000, "notes": {"workspace_id": ws.to_string(), "plan": "pro"}}},
                "payment": {"entity": {"id": "pay_1", "entity": "payment", "amount": 99900, "currency": "INR", "status": "captured"}}
            }
        });
        let e = read("evt_1", &serde_json::to_vec(&charged).unwrap(), Plan::Solo).unwrap();
        let Meaning::Change(Target::Workspace(w), u) = e.meaning else {
            panic!("{e:?}")
        };
        assert_eq!(w, ws);
        assert_eq!((u.plan, u.reset_usage), (Some(Plan::Pro), true));
        assert_eq!(u.period_end, Some(1_702_592_000_000));
        let mut cancelled = charged.clone();
        cancelled["event"] = json!("subscription.cancelled");
        let e = read(
            "evt_2",
            &serde_json::to_vec(&cancelled).unwrap(),
            Plan::Solo,
        )
        .unwrap();
        let Meaning::Change(_, u) = e.meaning else {
            panic!()
        };
        assert_eq!(u.plan, Some(Plan::Solo));
        assert_eq!(u.status, "cancelled");
    }
}
