//! The OpenAPI document, generated from the handlers' annotations. A snapshot test pins it
//! (tests/api/openapi.rs), so the contract cannot drift without a reviewed diff.

use utoipa::Modify;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Covalynce",
        description = "Turns shipped engineering work into ready-to-post drafts. Every /api/v1 request takes `Authorization: Bearer TOKEN` (create one with `covalynce token create`). Errors are application/problem+json (RFC 9457) with a stable `type`.",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "Health probes"),
        (name = "workspace", description = "The token's workspace"),
        (name = "sources", description = "Where shipped work comes from"),
        (name = "events", description = "Shipped work, normalized"),
        (name = "jobs", description = "The background queue"),
        (name = "cards", description = "Drafts waiting for review"),
        (name = "channels", description = "Where approved cards are published"),
        (name = "ai", description = "AI drafting: providers, privacy, the cost ledger"),
        (name = "analytics", description = "Ship-to-announce lag, review outcomes, edits, publications, AI spend; CSV and JSON exports"),
        (name = "webhooks", description = "Deliveries from GitHub, Jira, Stripe and Razorpay"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
