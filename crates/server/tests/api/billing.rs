//! Plans and payments: SOLO's limits hold, and Stripe and Razorpay events — signed as the
//! providers document it — change a workspace's plan once each, in the order they
//! happened, whatever order they arrive in.

use crate::accounts::Browser;
use crate::helpers::{TestApp, on_both_backends, push_of_commit, spawn_app, spawn_app_with};
use covalynce_app::billing::BillingConfig;
use covalynce_storage::Backend;
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    a_plan_limits_seats_and_says_so,
    stripe_events_change_the_plan_once_and_in_order,
    razorpay_events_change_the_plan_once,
);

const STRIPE_OLD: &str = "whsec_old_4eC39HqLyjWDarjtT1zdp7dc";
const STRIPE_NEW: &str = "whsec_new_9aF22LqKzmXEbskuU2aeq8ed";
const RAZORPAY: &str = "rzp_webhook_secret_test";

async fn a_plan_limits_seats_and_says_so(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    let (_, ws) = owner.send(Method::GET, "/api/v1/workspace", None).await;
    assert_eq!(ws["data"]["plan"], "SOLO");
    assert_eq!(ws["data"]["card_limit"], 5);
    assert_eq!(ws["data"]["seat_limit"], 1);

    // SOLO is one person: no invitation.
    let invite = || {
        owner.send(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"role": "editor"})),
        )
    };
    let (status, refused) = invite().await;
    assert_eq!(status, 402);
    assert_eq!(refused["type"], "/problems/plan-limit");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("the SOLO plan allows 1 member"),
        "{refused}"
    );

    // PRO has three seats: the owner and two invitations.
    app.set_plan("team", "pro").await;
    assert_eq!(invite().await.0, 201);
    assert_eq!(invite().await.0, 201);
    let (status, full) = invite().await;
    assert_eq!(status, 402, "{full}");
    assert!(
        full["detail"].as_str().unwrap().contains("3 are taken"),
        "{full}"
    );
    let (_, ws) = owner.send(Method::GET, "/api/v1/workspace", None).await;
    assert_eq!(ws["data"]["plan"], "PRO");
    assert_eq!(ws["data"]["card_limit"], 100);
    assert_eq!(ws["data"]["seat_limit"], 3);

    // A self-hoster's UNLIMITED shows no limits.
    app.set_plan("team", "unlimited").await;
    let (_, ws) = owner.send(Method::GET, "/api/v1/workspace", None).await;
    assert_eq!(ws["data"]["card_limit"], Value::Null);
    assert_eq!(ws["data"]["seat_limit"], Value::Null);
    assert_eq!(invite().await.0, 201);
    app.stop().await;
}

/// A Stripe event as Stripe sends it: `id`, `type`, `created`, `data.object`.
fn stripe_event(id: &str, kind: &str, created: i64, object: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id, "object": "event", "api_version": "2024-06-20", "created": created,
        "livemode": false, "pending_webhooks": 1, "type": kind,
        "request": {"id": null, "idempotency_key": null},
        "data": {"object": object}
    }))
    .unwrap()
}

async fn to_stripe(app: &TestApp, body: &[u8], signature: Option<String>) -> (u16, Value) {
    let mut r = app
        .client
        .post(app.url("/hooks/stripe"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(s) = signature {
        r = r.header("stripe-signature", s);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Signed now with `secret`, as Stripe does.
fn signed(secret: &str, body: &[u8]) -> Option<String> {
    Some(covalynce_app::billing::stripe::signature(
        secret,
        covalynce_domain::now_millis() / 1000,
        body,
    ))
}

fn subscription(customer: &str, status: &str, lookup_key: &str, period_end: i64) -> Value {
    json!({
        "id": "sub_1MowQVLkdIwHu7ixeRlqHVzs", "object": "subscription", "customer": customer,
        "status": status, "metadata": {},
        "items": {"object": "list", "data": [{
            "id": "si_1", "object": "subscription_item", "current_period_end": period_end,
            "price": {"id": "price_1", "object": "price", "lookup_key": lookup_key, "unit_amount": 4900, "currency": "usd"}
        }]}
    })
}

async fn stripe_events_change_the_plan_once_and_in_order(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.security.billing = BillingConfig {
            // Mid-roll: both secrets are accepted.
            stripe_secrets: vec![STRIPE_OLD.into(), STRIPE_NEW.into()],
            ..BillingConfig::default()
        }
    })
    .await;
    let ws = app.get_json("/api/v1/workspace").await["data"].clone();
    let ws_id = ws["id"].as_str().unwrap().to_owned();
    let t0 = covalynce_domain::now_millis() / 1000 - 100;

    // The checkout names the workspace and links Stripe's customer to it.
    let checkout = stripe_event(
        "evt_checkout",
        "checkout.session.completed",
        t0,
        json!({"id": "cs_test_a1", "object": "checkout.session", "mode": "subscription",
               "client_reference_id": ws_id, "customer": "cus_NffrFeUfNV2Hib",
               "subscription": "sub_1MowQVLkdIwHu7ixeRlqHVzs", "payment_status": "paid",
               "metadata": {"plan": "pro"}}),
    );
    let (status, answer) = to_stripe(&app, &checkout, signed(STRIPE_NEW, &checkout)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "applied");
    assert_eq!(answer["plan"], "PRO");
    let now = app.get_json("/api/v1/workspace").await["data"].clone();
    assert_eq!(now["plan"], "PRO");
    assert_eq!(now["card_limit"], 100);
    assert_eq!(now["billing"]["provider"], "stripe");
    assert_eq!(now["billing"]["status"], "active");

    // A replay is recognised and changes nothing.
    let (status, again) = to_stripe(&app, &checkout, signed(STRIPE_OLD, &checkout)).await;
    assert_eq!(
        (status, again["outcome"].as_str()),
        (200, Some("duplicate"))
    );

    // Bad signatures change nothing and say why.
    let team = stripe_event(
        "evt_team",
        "customer.subscription.updated",
        t0 + 20,
        subscription(
            "cus_NffrFeUfNV2Hib",
            "active",
            "covalynce_team_monthly",
            t0 + 30 * 86_400,
        ),
    );
    for (signature, why) in [
        (None, "missing"),
        (signed("whsec_someone_else", &team), "no v1 signature"),
        (
            Some(covalynce_app::billing::stripe::signature(
                STRIPE_NEW,
                t0 - 1000,
                &team,
            )),
            "more than 300 s",
        ),
        (Some("t=1,v2=abc".into()), "no timestamp or no v1"),
    ] {
        let (status, problem) = to_stripe(&app, &team, signature).await;
        assert_eq!(status, 401, "{problem}");
        assert_eq!(problem["type"], "/problems/invalid-signature");
        assert!(
            problem["detail"].as_str().unwrap().contains(why),
            "{problem}"
        );
    }
    let mut tampered = team.clone();
    let sig = signed(STRIPE_NEW, &team);
    tampered.extend_from_slice(b" ");
    assert_eq!(to_stripe(&app, &tampered, sig).await.0, 401);
    assert_eq!(
        app.get_json("/api/v1/workspace").await["data"]["plan"],
        "PRO"
    );

    // Upgraded to TEAM; an older update that arrives late is stale.
    let (_, a) = to_stripe(&app, &team, signed(STRIPE_NEW, &team)).await;
    assert_eq!(a["outcome"], "applied", "{a}");
    let late = stripe_event(
        "evt_late_pro",
        "customer.subscription.updated",
        t0 + 10,
        subscription("cus_NffrFeUfNV2Hib", "active", "pro", t0 + 30 * 86_400),
    );
    let (_, a) = to_stripe(&app, &late, signed(STRIPE_NEW, &late)).await;
    assert_eq!(a["outcome"], "stale", "{a}");
    let now = app.get_json("/api/v1/workspace").await["data"].clone();
    assert_eq!(now["plan"], "TEAM");
    assert_eq!(now["seat_limit"], 20);
    assert!(now["period_ends_at"].is_string(), "{now}");

    // A paid invoice starts a new period: usage is back to 0.
    let src = app.github_source("Codertocat/Hello-World", "s").await;
    let r = app
        .deliver(
            &src,
            "push",
            "billing-push",
            "s",
            &push_of_commit(&"b".repeat(40)),
        )
        .await;
    assert_eq!(r.status(), 202);
    app.wait_pending(1).await;
    assert_eq!(
        app.get_json("/api/v1/workspace").await["data"]["cards_used"],
        1
    );
    let period_end = t0 + 31 * 86_400;
    let paid = stripe_event(
        "evt_paid",
        "invoice.paid",
        t0 + 30,
        json!({"id": "in_1", "object": "invoice", "customer": "cus_NffrFeUfNV2Hib",
               "subscription": "sub_1MowQVLkdIwHu7ixeRlqHVzs", "status": "paid",
               "lines": {"data": [{"period": {"start": t0, "end": period_end}}]}}),
    );
    let (_, a) = to_stripe(&app, &paid, signed(STRIPE_NEW, &paid)).await;
    assert_eq!(a["outcome"], "applied", "{a}");
    let now = app.get_json("/api/v1/workspace").await["data"].clone();
    assert_eq!(now["cards_used"], 0);
    assert_eq!(
        now["period_ends_at"],
        covalynce_domain::time::format_rfc3339(period_end * 1000)
    );

    // A failed payment is shown; the plan holds until the subscription ends.
    let failed = stripe_event(
        "evt_failed",
        "invoice.payment_failed",
        t0 + 40,
        json!({"id": "in_2", "object": "invoice", "customer": "cus_NffrFeUfNV2Hib",
               "parent": {"subscription_details": {"subscription": "sub_1MowQVLkdIwHu7ixeRlqHVzs"}}}),
    );
    to_stripe(&app, &failed, signed(STRIPE_NEW, &failed)).await;
    let now = app.get_json("/api/v1/workspace").await["data"].clone();
    assert_eq!(
        (now["plan"].as_str(), now["billing"]["status"].as_str()),
        (Some("TEAM"), Some("payment_failed"))
    );
    let deleted = stripe_event(
        "evt_deleted",
        "customer.subscription.deleted",
        t0 + 50,
        subscription(
            "cus_NffrFeUfNV2Hib",
            "canceled",
            "covalynce_team_monthly",
            t0,
        ),
    );
    to_stripe(&app, &deleted, signed(STRIPE_NEW, &deleted)).await;
    let now = app.get_json("/api/v1/workspace").await["data"].clone();
    assert_eq!(now["plan"], "SOLO");
    assert_eq!(now["card_limit"], 5);
    assert_eq!(now["billing"]["status"], "canceled");

    // Out of order: a subscription for a customer no checkout has linked yet is refused
    // unrecorded (Stripe retries), and applied once its checkout has landed.
    let early = stripe_event(
        "evt_early",
        "customer.subscription.created",
        t0 + 60,
        subscription("cus_Second", "active", "pro", t0 + 30 * 86_400),
    );
    let (status, problem) = to_stripe(&app, &early, signed(STRIPE_NEW, &early)).await;
    assert_eq!(status, 409, "{problem}");
    app.token_for("second").await;
    let second = app
        .store
        .workspace_by_slug(&covalynce_domain::WorkspaceSlug::parse("second").unwrap())
        .await
        .unwrap()
        .unwrap();
    let link = stripe_event(
        "evt_second_checkout",
        "checkout.session.completed",
        t0 + 55,
        json!({"id": "cs_2", "object": "checkout.session", "client_reference_id": second.id.to_string(),
               "customer": "cus_Second", "payment_status": "unpaid"}),
    );
    let (_, a) = to_stripe(&app, &link, signed(STRIPE_NEW, &link)).await;
    assert_eq!(a["outcome"], "applied", "{a}");
    let (_, a) = to_stripe(&app, &early, signed(STRIPE_NEW, &early)).await;
    assert_eq!(a["outcome"], "applied", "the retry applies: {a}");
    assert_eq!(a["plan"], "PRO");

    // Events that change no plan are acknowledged with the reason.
    let other = stripe_event("evt_other", "charge.refunded", t0, json!({"id": "ch_1"}));
    let (_, a) = to_stripe(&app, &other, signed(STRIPE_NEW, &other)).await;
    assert_eq!(a["outcome"], "ignored");
    // Unsigned garbage is refused before it is read; signed garbage is a 400.
    let (status, _) = to_stripe(&app, b"{not json", signed(STRIPE_NEW, b"{not json")).await;
    assert_eq!(status, 400);
    app.stop().await;
}

async fn to_razorpay(app: &TestApp, id: Option<&str>, body: &[u8], secret: &str) -> (u16, Value) {
    let mut r = app
        .client
        .post(app.url("/hooks/razorpay"))
        .header("content-type", "application/json")
        .header(
            "x-razorpay-signature",
            covalynce_app::billing::hmac_hex(secret.as_bytes(), &[body]),
        )
        .body(body.to_vec());
    if let Some(id) = id {
        r = r.header("x-razorpay-event-id", id);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A Razorpay subscription event as its docs show one.
fn razorpay_event(kind: &str, created_at: i64, ws: &str, plan: &str, current_end: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "entity": "event", "account_id": "acc_BFQ7uQEaa7j2z7", "event": kind,
        "contains": ["subscription"], "created_at": created_at,
        "payload": {"subscription": {"entity": {
            "id": "sub_00000000000001", "entity": "subscription", "plan_id": format!("plan_{plan}"),
            "customer_id": "cust_00000000000001", "status": "active", "quantity": 1,
            "current_start": created_at, "current_end": current_end,
            "notes": {"workspace_id": ws, "plan": plan}
        }}}
    }))
    .unwrap()
}

async fn razorpay_events_change_the_plan_once(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.security.billing = BillingConfig {
            razorpay_secret: Some(RAZORPAY.into()),
            ..BillingConfig::default()
        }
    })
    .await;
    let ws = app.get_json("/api/v1/workspace").await["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t0 = covalynce_domain::now_millis() / 1000;
    // Stripe is not set up on this server.
    assert_eq!(to_stripe(&app, b"{}", None).await.0, 404);

    let activated = razorpay_event("subscription.activated", t0, &ws, "pro", t0 + 30 * 86_400);
    let (status, a) = to_razorpay(&app, Some("evt_rzp_1"), &activated, RAZORPAY).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        (a["outcome"].as_str(), a["plan"].as_str()),
        (Some("applied"), Some("PRO"))
    );
    let (_, a) = to_razorpay(&app, Some("evt_rzp_1"), &activated, RAZORPAY).await;
    assert_eq!(a["outcome"], "duplicate");
    let (status, problem) = to_razorpay(&app, Some("evt_rzp_2"), &activated, "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(problem["type"], "/problems/invalid-signature");
    assert_eq!(to_razorpay(&app, None, &activated, RAZORPAY).await.0, 400);

    let charged = razorpay_event(
        "subscription.charged",
        t0 + 10,
        &ws,
        "team",
        t0 + 60 * 86_400,
    );
    let (_, a) = to_razorpay(&app, Some("evt_rzp_3"), &charged, RAZORPAY).await;
    assert_eq!(a["plan"], "TEAM", "{a}");
    let now = app.get_json("/api/v1/workspace").await["data"].clone();
    assert_eq!(
        now["period_ends_at"],
        covalynce_domain::time::format_rfc3339((t0 + 60 * 86_400) * 1000)
    );
    let failed = serde_json::to_vec(&json!({
        "entity": "event", "event": "payment.failed", "contains": ["payment"], "created_at": t0 + 20,
        "payload": {"payment": {"entity": {"id": "pay_1", "entity": "payment", "status": "failed",
            "customer_id": "cust_00000000000001", "notes": {"workspace_id": ws}}}}
    }))
    .unwrap();
    let (_, a) = to_razorpay(&app, Some("evt_rzp_4"), &failed, RAZORPAY).await;
    assert_eq!(a["outcome"], "applied", "{a}");
    assert_eq!(
        app.get_json("/api/v1/workspace").await["data"]["billing"]["status"],
        "payment_failed"
    );
    let cancelled = razorpay_event("subscription.cancelled", t0 + 30, &ws, "team", t0);
    to_razorpay(&app, Some("evt_rzp_5"), &cancelled, RAZORPAY).await;
    let now = app.get_json("/api/v1/workspace").await["data"].clone();
    assert_eq!(now["plan"], "SOLO");
    assert_eq!(now["billing"]["provider"], "razorpay");
    app.stop().await;
}
