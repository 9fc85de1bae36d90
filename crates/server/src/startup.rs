//! Building and running the server: open and migrate the store, bind the listener, start
//! the ingest writer and the worker pool, and shut all of it down in order.

use crate::config::Config;
use crate::http::{self, AppState};
use anyhow::Context;
use covalynce_app::jobs;
use covalynce_app::secrets::SecretBox;
use covalynce_storage::{Backend, IngestWriter, Store};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

pub struct Application {
    listener: TcpListener,
    store: Arc<dyn Store>,
    secrets: SecretBox,
    config: Config,
}

/// What the store needs from the configuration: the URLs (the owner's, on PostgreSQL,
/// only migrates) and the scope key derived from the secret key.
pub fn connect(config: &Config, secrets: &SecretBox) -> covalynce_storage::Connect {
    covalynce_storage::Connect::new(
        config.database_url.as_deref(),
        &config.data_dir,
        secrets.scope_key(),
    )
    .owner_url(config.database_owner_url.as_deref())
}

impl Application {
    /// Opens the database, applies migrations, and binds the address (port 0 picks a free
    /// port; see [`Application::port`]). On PostgreSQL, migrating also checks that the
    /// database's scope key is this server's (derived from the secret key): the server
    /// refuses to start when it is not.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let secrets = SecretBox::load(config.secret_key.as_deref(), &config.data_dir)?;
        let store = covalynce_storage::open(&connect(&config, &secrets))
            .await
            .context("opening the database")?;
        store.migrate().await.context("migrating the database")?;
        let stopped = store
            .stop_outboxes_naming_paths(covalynce_publishing::outbox::LEGACY_PATH)
            .await
            .context("stopping outboxes that name server paths")?;
        if stopped > 0 {
            tracing::warn!(
                channels = stopped,
                "disabled outbox channels that name a path on the server; their workspaces see why on the Channels page"
            );
        }
        let listener = TcpListener::bind(&config.addr)
            .await
            .with_context(|| format!("binding {}", config.addr))?;
        Ok(Self {
            listener,
            store,
            secrets,
            config,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Serves until `shutdown` resolves, then: stops accepting, finishes in-flight requests,
    /// commits queued deliveries, lets running jobs finish (or releases them after the
    /// grace period), and closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            store,
            secrets,
            config,
        } = self;
        let security = crate::auth::Security::build(config.security.clone()).await?;
        if config.demo {
            let started = covalynce_app::demo::start(&store).await?;
            let addr = listener.local_addr()?;
            println!("Covalynce demo workspace \"demo\" is ready.");
            match started.seeded {
                Ok(Some(seeded)) => println!(
                    "  Drafting:  {} new change(s) from the git history of {}",
                    seeded.events,
                    seeded.repository.display()
                ),
                Ok(None) => {
                    println!("  (no git repository found to draft from: run it inside one)")
                }
                Err(e) => println!("  (could not read the git history: {e:#})"),
            }
            let token = started.token;
            println!(
                "  Cards:     curl -H 'Authorization: Bearer {token}' http://{addr}/api/v1/cards"
            );
            match started.link {
                Ok(link) => println!(
                    "  Review:    http://{addr}/login/link/{link}  (one-time sign-in link, valid for an hour; `covalynce demo-link` prints a new one)"
                ),
                Err(e) => println!("  ({e:#})"),
            }
            println!("  API docs:  http://{addr}/docs");
            println!("  Token:     {token}");
        }

        let writers = match store.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 4,
        };
        let (ingest, ingest_tasks) = IngestWriter::spawn(store.clone(), writers, 256);
        let wakeup = Arc::new(Notify::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        let stop_rx_watch = stop_rx.clone();
        let yield_to = (store.backend() == Backend::Sqlite).then(|| ingest.pending());
        let http =
            covalynce_publishing::Http::new(config.allow_private_targets, config.publish_timeout);
        let pool = jobs::Pool::spawn_yielding(
            config.jobs_context(store.clone(), secrets.clone(), http.clone()),
            config.jobs.clone(),
            wakeup.clone(),
            stop_rx,
            config.shutdown_grace,
            yield_to,
        );
        let watcher = tokio::spawn(covalynce_app::sources::watch::run(
            store.clone(),
            config.git_poll,
            wakeup.clone(),
            stop_rx_watch.clone(),
        ));
        let github_poller = tokio::spawn(covalynce_app::github::run(
            store.clone(),
            secrets.clone(),
            covalynce_app::github::Api::base_for(config.security.github.as_ref()),
            config.github_min_poll,
            config.git_poll,
            wakeup.clone(),
            stop_rx_watch,
        ));
        if config.security.redis_url.is_none() && store.backend() == Backend::Postgres {
            tracing::warn!(
                "rate limits are counted per replica: set --redis-url to share them between replicas"
            );
        }
        let state = AppState::new(
            store.clone(),
            ingest,
            secrets,
            http,
            http::metrics::handle(),
            wakeup,
            config.data_dir.clone(),
            security,
            config.ai.clone(),
        );
        let app = http::router(state, crate::ui::routes());

        tracing::info!(
            addr = %listener.local_addr()?,
            database = store.backend().as_str(),
            workers = config.jobs.workers,
            "covalynce is serving"
        );
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;

        // The router (and with it every ingest sender) is gone: the writers drain and stop.
        for task in ingest_tasks {
            let _ = task.await;
        }
        let _ = stop_tx.send(true);
        let _ = watcher.await;
        let _ = github_poller.await;
        pool.join().await;
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
