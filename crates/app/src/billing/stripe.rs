//! Stripe webhooks (docs.stripe.com, "Receive Stripe events in your webhook endpoint" and
//! "Verify webhook signatures manually"): `Stripe-Signature: t=TIMESTAMP,v1=SIG[,v1=SIG…]`
//! where each `v1` is the hex HMAC-SHA256 of `TIMESTAMP.BODY` with an endpoint secret; a
//! timestamp more than five minutes off is refused (replays); while a secret is rolled,
//! Stripe signs with both, so any `v1` matching any configured secret is enough.

use super::{Event, Meaning, Target, hmac_matches, plan_named};
use covalynce_domain::{Plan, WorkspaceId};
use covalynce_storage::BillingUpdate;
use serde_json::Value;

/// Stripe's default tolerance.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the Stripe-Signature timestamp is more than {TOLERANCE_SECS} s from now (a replay?)")]
    Stale,
    #[error("no v1 signature in Stripe-Signature matches a configured webhook secret")]
    Mismatch,
}

pub fn verify(
    secrets: &[String],
    header: Option<&str>,
    body: &[u8],
    now_s: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t: Option<i64> = None;
    let mut v1: Vec<&str> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.trim().parse().ok(),
            Some(("v1", v)) => v1.push(v.trim()),
            _ => {}
        }
    }
    let (Some(t), false) = (t, v1.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    if (now_s - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let stamp = t.to_string();
    let signed: [&[u8]; 3] = [stamp.as_bytes(), b".", body];
    let ok = secrets.iter().any(|s| {
        v1.iter()
            .any(|sig| hmac_matches(s.as_bytes(), &signed, sig))
    });
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `Stripe-Signature` header Stripe would send for `body` at `t` (for tests and for
/// operators checking their setup).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let stamp = t.to_string();
    format!(
        "t={t},v1={}",
        super::hmac_hex(secret.as_bytes(), &[stamp.as_bytes(), b".", body])
    )
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// The subscription's plan: its metadata, else its first price's lookup key or metadata.
fn subscription_plan(sub: &Value) -> Option<Plan> {
    let price = &sub["items"]["data"][0]["price"];
    s(&sub["metadata"], "plan")
        .or_else(|| s(price, "lookup_key"))
        .or_else(|| s(&price["metadata"], "plan"))
        .or_else(|| s(price, "nickname"))
        .and_then(plan_named)
}

fn target(obj: &Value, customer: Option<&str>) -> Option<Target> {
    let named = s(obj, "client_reference_id")
        .or_else(|| s(&obj["metadata"], "workspace_id"))
        .and_then(WorkspaceId::parse);
    match (named, customer) {
        (Some(ws), _) => Some(Target::Workspace(ws)),
        (None, Some(c)) => Some(Target::Customer(c.to_owned())),
        (None, None) => None,
    }
}

/// Reads a verified event. `default_plan` is what a cancelled subscription falls back to.
pub fn read(body: &[u8], default_plan: Plan) -> Result<Event, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the event is not JSON: {e}"))?;
    let id = s(&v, "id").ok_or("the event has no id")?.to_owned();
    let kind = s(&v, "type").ok_or("the event has no type")?.to_owned();
    let at = v["created"]
        .as_i64()
        .ok_or("the event has no created time")?
        * 1000;
    let obj = &v["data"]["object"];
    let customer = s(obj, "customer");
    let update = |status: &str| BillingUpdate {
        provider: "stripe".into(),
        customer: customer.map(str::to_owned),
        subscription: None,
        status: status.into(),
        plan: None,
        period_end: None,
        reset_usage: false,
        at,
    };
    let meaning = match kind.as_str() {
        "checkout.session.completed" => {
            let mut u = update(if s(obj, "payment_status") == Some("paid") {
                "active"
            } else {
                "checkout_completed"
            });
            u.subscription = s(obj, "subscription").map(str::to_owned);
            u.plan = s(&obj["metadata"], "plan").and_then(plan_named);
            match target(obj, customer) {
                Some(t) => Meaning::Change(t, u),
                None => Meaning::Ignored("the checkout names no workspace or customer".into()),
            }
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let status = s(obj, "status").unwrap_or("unknown");
            let deleted = kind.ends_with(".deleted");
            let mut u = update(if deleted { "canceled" } else { status });
            u.subscription = s(obj, "id").map(str::to_owned);
            // A subscription that pays (or is in its grace) gives its plan; any other
            // state falls back to the default plan.
            u.plan = if !deleted && matches!(status, "active" | "trialing" | "past_due") {
                subscription_plan(obj)
            } else {
                Some(default_plan)
            };
            u.period_end = obj["current_period_end"]
                .as_i64()
                .or_else(|| obj["items"]["data"][0]["current_period_end"].as_i64())
                .filter(|_| !deleted)
                .map(|e| e * 1000);
            match target(obj, customer) {
                Some(t) => Meaning::Change(t, u),
                None => Meaning::Ignored("the subscription names no customer".into()),
            }
        }
        "invoice.paid" | "invoice.payment_failed" => {
            let paid = kind == "invoice.paid";
            let mut u = update(if paid { "active" } else { "payment_failed" });
            u.subscription = s(obj, "subscription")
                .or_else(|| s(&obj["parent"]["subscription_details"], "subscription"))
                .map(str::to_owned);
            if paid {
                // A paid invoice opens a new period: usage starts again.
                u.period_end = obj["lines"]["data"][0]["period"]["end"]
                    .as_i64()
                    .or_else(|| obj["period_end"].as_i64())
                    .map(|e| e * 1000);
                u.reset_usage = true;
            }
            match (u.subscription.is_some(), target(obj, customer)) {
                (true, Some(t)) => Meaning::Change(t, u),
                (false, _) => Meaning::Ignored("the invoice is not for a subscription".into()),
                (_, None) => Meaning::Ignored("the invoice names no customer".into()),
            }
        }
        other => Meaning::Ignored(format!("{other} does not change a plan")),
    };
    Ok(Event { id, kind, meaning })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn signatures_follow_stripes_scheme() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        let header = signature(SECRET, now, body);
        assert!(header.starts_with("t=1700000000,v1="));
        let secrets = vec![SECRET.to_owned()];
        assert_eq!(verify(&secrets, Some(&header), body, now + 10), Ok(()));
        // During a roll: the header carries two v1s, the server may know either secret.
        let both = format!(
            "{header},v1={}",
            &signature("whsec_new", now, body)[("t=1700000000,v1=".len())..]
        );
        assert_eq!(
            verify(&["whsec_new".into()], Some(&both), body, now),
            Ok(())
        );
        assert_eq!(
            verify(&secrets, Some(&header), b"{\"id\":\"evt_2\"}", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secrets, Some(&header), body, now + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&secrets, None, body, now),
            Err(SignatureError::Missing)
        );
        for bad in ["", "t=1700000000", "v1=abcd", "t=x,v1=ab"] {
            assert_eq!(
                verify(&secrets, Some(bad), body, now),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify(&secrets, Some("t=1700000000,v1=zz"), body, now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_subscription_event_names_its_plan_period_and_customer() {
        let body = json!({
            "id": "evt_1", "object": "event", "type": "customer.subscription.updated", "created": 1_700_000_000,
            "data": {"object": {"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
                "items": {"data": [{"price": {"id": "price_1", "lookup_key": "covalynce_team_monthly"}, "current_period_end": 1_702_592_000}]}}}
        });
        let e = read(&serde_json::to_vec(&body).unwrap(), Plan::Solo).unwrap();
        let Meaning::Change(Target::Customer(c), u) = e.meaning else {
            panic!("{e:?}")
        };
        assert_eq!(c, "cus_1");
        assert_eq!(u.plan, Some(Plan::Team));
        assert_eq!(u.period_end, Some(1_702_592_000_000));
        assert_eq!(u.at, 1_700_000_000_000);
        let unpaid = json!({"id": "evt_2", "type": "customer.subscription.updated", "created": 1,
            "data": {"object": {"id": "sub_1", "customer": "cus_1", "status": "unpaid"}}});
        let e = read(&serde_json::to_vec(&unpaid).unwrap(), Plan::Solo).unwrap();
        let Meaning::Change(_, u) = e.meaning else {
            panic!()
        };
        assert_eq!(
            u.plan,
            Some(Plan::Solo),
            "an unpaid subscription falls back"
        );
        let other =
            json!({"id": "evt_3", "type": "charge.refunded", "created": 1, "data": {"object": {}}});
        assert!(matches!(
            read(&serde_json::to_vec(&other).unwrap(), Plan::Solo)
                .unwrap()
                .meaning,
            Meaning::Ignored(_)
        ));
        assert!(read(b"{", Plan::Solo).is_err());
        assert!(read(b"{}", Plan::Solo).is_err());
    }
}
