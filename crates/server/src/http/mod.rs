//! The HTTP edge: REST API under `/api/v1`, GitHub webhooks under `/hooks`, health probes,
//! Prometheus metrics, and the OpenAPI document with its browsable docs.

pub mod api;
pub mod audit;
pub mod billing;
pub mod extract;
pub mod health;
pub mod hooks;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod session;

use axum::Router;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use covalynce_app::ingest::HookSource;
use covalynce_app::secrets::SecretBox;
use covalynce_domain::SourceId;
use covalynce_storage::{IngestWriter, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    ingest: IngestWriter,
    secrets: SecretBox,
    http: covalynce_publishing::Http,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Webhook sources with their secrets opened, for `HOOK_SOURCE_TTL`: verifying a
    /// delivery should not cost a query and a decryption.
    hook_sources: Mutex<HashMap<SourceId, (Instant, Arc<HookSource>)>>,
    jobs_wakeup: Arc<Notify>,
    app: covalynce_app::App,
    data_dir: std::path::PathBuf,
    security: crate::auth::Security,
    ai: covalynce_app::ai::Settings,
    unverified: hooks::Unverified,
}

const HOOK_SOURCE_TTL: Duration = Duration::from_secs(10);

impl covalynce_app::sources::Deliveries for AppState {
    fn forget(&self, source: SourceId) {
        self.forget_hook_source(source);
    }
}

impl AppState {
    // Everything the edge shares, built once at startup; a builder would add nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        ingest: IngestWriter,
        secrets: SecretBox,
        http: covalynce_publishing::Http,
        metrics: metrics_exporter_prometheus::PrometheusHandle,
        jobs_wakeup: Arc<Notify>,
        data_dir: std::path::PathBuf,
        security: crate::auth::Security,
        ai: covalynce_app::ai::Settings,
    ) -> Self {
        let app = covalynce_app::App::new(store.clone()).waking(jobs_wakeup.clone());
        Self(Arc::new(Inner {
            app,
            store,
            ingest,
            secrets,
            http,
            metrics,
            hook_sources: Mutex::new(HashMap::new()),
            jobs_wakeup,
            data_dir,
            security,
            ai,
            unverified: hooks::Unverified::default(),
        }))
    }

    /// The budget of webhook bytes not yet verified, shared by every webhook route.
    pub fn unverified(&self) -> &hooks::Unverified {
        &self.0.unverified
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.0.data_dir
    }

    pub fn ai(&self) -> &covalynce_app::ai::Settings {
        &self.0.ai
    }

    pub fn security(&self) -> &crate::auth::Security {
        &self.0.security
    }

    /// What a job needs, for handlers that do a job's work in the request (a channel's
    /// test renews its token as a publication would).
    pub fn jobs_context(&self) -> covalynce_app::jobs::Context {
        covalynce_app::jobs::Context {
            store: self.0.store.clone(),
            secrets: self.0.secrets.clone(),
            http: self.0.http.clone(),
            ai: self.0.ai.clone(),
            github_api: covalynce_app::github::Api::base_for(
                self.0.security.config.github.as_ref(),
            ),
            data_dir: self.data_dir().to_path_buf(),
            public_url: self.security().config.public_url.clone(),
        }
    }

    /// The use cases (so far: cards); handlers and pages call these rather than the store.
    pub fn app(&self) -> &covalynce_app::App {
        &self.0.app
    }

    /// What asking the AI chain needs of this server.
    pub fn ai_platform(&self) -> covalynce_app::ai::AiPlatform<'_> {
        covalynce_app::ai::AiPlatform {
            secrets: self.secrets(),
            http: self.http(),
            settings: self.ai(),
            github: self.security().config.github.as_ref(),
        }
    }

    /// What adding and removing sources needs of this server.
    pub fn source_platform(&self) -> covalynce_app::sources::SourcePlatform<'_> {
        covalynce_app::sources::SourcePlatform {
            secrets: self.secrets(),
            github: self.security().config.github.as_ref(),
            public_url: self.security().config.public_url.as_deref(),
            deliveries: self,
        }
    }

    /// What connecting channels needs of this server: the guarded HTTP client and the
    /// operator's OAuth apps.
    pub fn connect_platforms(&self) -> covalynce_app::connect::Platforms<'_> {
        let config = &self.security().config;
        covalynce_app::connect::Platforms {
            http: self.http(),
            allow_private: self.http().allows_private(),
            github_api: covalynce_app::github::Api::base_for(config.github.as_ref()),
            secrets: Some(self.secrets()),
            linkedin: config.linkedin.as_ref(),
            x: config.x.as_ref(),
        }
    }

    /// What connecting through a platform's consent page needs of this server.
    pub fn oauth_platform(&self) -> covalynce_app::oauth::OAuthPlatform<'_> {
        covalynce_app::oauth::OAuthPlatform {
            channels: self.connect_platforms(),
            sources: self.source_platform(),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.0.store.as_ref()
    }

    pub fn ingest(&self) -> &IngestWriter {
        &self.0.ingest
    }

    pub fn secrets(&self) -> &SecretBox {
        &self.0.secrets
    }

    /// The guarded client channels publish (and are tested) through.
    pub fn http(&self) -> &covalynce_publishing::Http {
        &self.0.http
    }

    pub fn metrics_handle(&self) -> &metrics_exporter_prometheus::PrometheusHandle {
        &self.0.metrics
    }

    pub fn wake_workers(&self) {
        self.0.jobs_wakeup.notify_waiters();
    }

    pub(crate) fn cached_hook_source(&self, id: SourceId) -> Option<Arc<HookSource>> {
        let cache = self
            .0
            .hook_sources
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        cache
            .get(&id)
            .filter(|(at, _)| at.elapsed() < HOOK_SOURCE_TTL)
            .map(|(_, s)| s.clone())
    }

    /// A deleted source must stop accepting deliveries now, not when the cache expires.
    pub(crate) fn forget_hook_source(&self, id: SourceId) {
        self.0
            .hook_sources
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    pub(crate) fn cache_hook_source(&self, id: SourceId, source: Arc<HookSource>) {
        let mut cache = self
            .0
            .hook_sources
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if cache.len() > 10_000 {
            cache.retain(|_, (at, _)| at.elapsed() < HOOK_SOURCE_TTL);
        }
        cache.insert(id, (Instant::now(), source));
    }
}

/// The routes that make up the documented API, and the OpenAPI document built from them.
pub fn api_routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(
            api::workspace::get,
            api::workspace::update,
            api::members::delete_workspace
        ))
        .routes(routes!(api::workspace::emergency_stop))
        .routes(routes!(api::changelog::get, api::changelog::update))
        .routes(routes!(api::changelog::take_down))
        .routes(routes!(api::sources::create, api::sources::list))
        .routes(routes!(
            api::sources::get,
            api::sources::update,
            api::sources::delete
        ))
        .routes(routes!(api::deliveries::list))
        .routes(routes!(api::events::list, api::events::create))
        .routes(routes!(api::events::get))
        .routes(routes!(api::jobs::list))
        .routes(routes!(api::cards::list))
        .routes(routes!(api::cards::get, api::cards::edit))
        .routes(routes!(api::cards::dismiss))
        .routes(routes!(api::cards::approve))
        .routes(routes!(api::cards::unapprove))
        .routes(routes!(api::cards::rotated))
        .routes(routes!(api::cards::regenerate))
        .routes(routes!(api::ai::refine))
        .routes(routes!(api::ai::get, api::ai::update))
        .routes(routes!(api::ai::calls))
        .routes(routes!(api::channels::create, api::channels::list))
        .routes(routes!(api::channels::get, api::channels::delete))
        .routes(routes!(api::channels::test))
        .routes(routes!(api::channels::disable))
        .routes(routes!(api::channels::enable))
        .routes(routes!(api::publications::retry))
        .routes(routes!(api::publications::confirm))
        .routes(routes!(api::publications::queue))
        .routes(routes!(api::publications::reschedule))
        .routes(routes!(api::publications::earlier))
        .routes(routes!(api::publications::withdraw))
        .routes(routes!(api::channels::slots))
        .routes(routes!(api::cards::revisions))
        .routes(routes!(api::account::signup))
        .routes(routes!(api::account::login))
        .routes(routes!(api::account::logout))
        .routes(routes!(api::account::logout_all))
        .routes(routes!(api::account::me, api::account::delete_me))
        .routes(routes!(api::account::create_workspace))
        .routes(routes!(api::account::accept_invitation))
        .routes(routes!(api::account::github_start))
        .routes(routes!(api::account::github_callback))
        .routes(routes!(api::members::list))
        .routes(routes!(api::members::update, api::members::delete))
        .routes(routes!(api::members::invite, api::members::invitations))
        .routes(routes!(api::members::revoke_invitation))
        .routes(routes!(api::members::create_token, api::members::tokens))
        .routes(routes!(api::members::revoke_token))
        .routes(routes!(api::members::audit))
        .routes(routes!(api::members::export))
        .routes(routes!(api::analytics::get))
        .routes(routes!(api::analytics::export))
        .routes(routes!(hooks::github))
        .routes(routes!(hooks::jira))
        .routes(routes!(billing::stripe))
        .routes(routes!(billing::razorpay))
        .split_for_parts()
}

/// The whole router: the API, the pages (`pages`, the UI adapter's routes, handed in so
/// that `http` does not import `ui`, which builds on it), docs, metrics, and the layers
/// every request passes.
pub fn router(state: AppState, pages: Router<AppState>) -> Router {
    let (api, openapi) = api_routes();
    Router::new()
        .merge(api)
        .merge(pages)
        .merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .route("/metrics", get(metrics::render))
        .route("/problems/{slug}", get(problem::describe))
        .fallback(problem::not_found_fallback)
        .method_not_allowed_fallback(|| async {
            problem::ApiError::MethodNotAllowed("this path does not accept that method".into())
        })
        // A bug that panics in a handler answers 500 problem+json (and is logged), never a
        // dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            problem::panicked,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        // A session extended by this request: its cookie again, with a fresh Max-Age.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::http::session::refresh_cookie,
        ))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(security_headers))
        // Pages, scripts and JSON shrink several-fold; event streams are left alone.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        // A request that takes longer than this is answered 408 and its work dropped:
        // nothing here should, and a stuck one must not hold a connection forever.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req
                                .headers()
                                .get(REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default();
                            // The route, not the path: a sign-in link or an invitation
                            // carries its token in the path (and query strings may carry
                            // things we do not log). A path no route matched is logged as is.
                            let route = req
                                .extensions()
                                .get::<axum::extract::MatchedPath>()
                                .map_or_else(|| req.uri().path(), |m| m.as_str());
                            tracing::info_span!(
                                "request",
                                request_id = %id,
                                method = %req.method(),
                                path = %route,
                            )
                        })
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .with_state(state)
}

/// Headers every answer carries: a strict CSP (no inline script anywhere; the API docs
/// page needs inline styles), no framing, no MIME sniffing, no referrer to other sites. (HSTS is
/// the TLS-terminating proxy's to send.)
async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::HeaderValue;
    let docs = req.uri().path().starts_with("/docs");
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let csp = if docs {
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    } else {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    };
    for (name, value) in [
        ("content-security-policy", csp),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        // Not `no-referrer`: with it browsers send `Origin: null` on form posts, and the
        // same-origin check could no longer tell our own forms from anyone's. `same-origin`
        // still sends nothing to other sites.
        ("referrer-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}
