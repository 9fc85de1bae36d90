//! The `covalynce` command line (names fixed by CONTRACT.md).

use crate::Application;
use crate::config::{Config, JobsConfig};
use crate::telemetry::LogFormat;
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use covalynce_domain::WorkspaceSlug;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "covalynce",
    version,
    about = "Turns shipped engineering work into ready-to-post drafts."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Where the SQLite database, the secret key and the outbox live.
    #[arg(
        long,
        env = "COVALYNCE_DATA_DIR",
        default_value = "./covalynce-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// postgres://… selects PostgreSQL; default: the SQLite file inside the data dir.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL: the role that owns the tables, for migrating (serve, migrate, keys
    /// rotate). DATABASE_URL's role then owns nothing, so it cannot lift row level security.
    #[arg(
        long,
        env = "COVALYNCE_DATABASE_OWNER_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_owner_url: Option<String>,
    /// Log lines as text or as one JSON object per line.
    #[arg(
        long,
        value_enum,
        env = "COVALYNCE_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
    /// Let channels publish to loopback, private and link-local addresses (a LAN n8n, a
    /// test server). Off by default: a channel URL must not reach this server's network.
    #[arg(
        long,
        env = "COVALYNCE_ALLOW_PRIVATE_TARGETS",
        global = true,
        default_value_t = false,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub allow_private_targets: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: API, webhooks and background workers. Migrates on start.
    Serve(Box<ServeArgs>),
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print a fresh one-time sign-in link to the demo (`serve --demo`) while it runs: for
    /// when the one it printed at start was used or is over an hour old. Earlier links stop
    /// working.
    DemoLink {
        /// Where the demo answers, as the browser reaches it.
        #[arg(
            long,
            env = "COVALYNCE_PUBLIC_URL",
            default_value = "http://127.0.0.1:8000"
        )]
        url: String,
    },
    /// Watch local git repositories: new commits on the checked-out branch and new tags
    /// become events, then cards, in the workspace.
    Watch(WatchArgs),
    /// Emergency stop: halt every pending publication of a workspace now (`--lift` to
    /// resume).
    Stop {
        #[arg(long, default_value = "default")]
        workspace: String,
        /// Lift the stop: what was held is published.
        #[arg(long)]
        lift: bool,
    },
    /// Local paths a workspace may use as git sources. Workspace members can only add a
    /// local repository at or below a path the operator allowed their workspace here.
    Paths {
        #[command(subcommand)]
        command: PathsCommand,
    },
    /// Keys that seal stored credentials.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Offline: release notes and per-channel posts for the commits in FROM..TO of a local
    /// repository (FROM defaults to the previous tag).
    Draft(DraftArgs),
    /// Review cards on a running server (local or remote) with an API token: list, show,
    /// edit, approve, dismiss. Human output, or `--json`.
    Cards(CardsArgs),
    /// An MCP server on stdin/stdout for AI assistants: review cards (list, show, edit,
    /// refine, approve, dismiss) and draft release notes of a local repository, through a
    /// Covalynce server's API with a token.
    Mcp {
        /// The Covalynce server.
        #[arg(
            long,
            env = "COVALYNCE_SERVER",
            default_value = "http://127.0.0.1:8000"
        )]
        server: String,
        /// An API token; approving needs an editor's.
        #[arg(long, env = "COVALYNCE_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// No server to reach: open the data dir (or DATABASE_URL) directly, acting in
        /// `--workspace` with an owner's token made for this session.
        #[arg(long)]
        local: bool,
        /// With `--local`: the workspace's slug.
        #[arg(long, default_value = "default")]
        workspace: String,
    },
    /// Set a workspace's plan (solo, pro, team or unlimited) by hand: for self-hosters
    /// without a payment provider.
    Plan {
        /// The workspace's slug.
        workspace: String,
        /// solo, pro, team or unlimited.
        plan: String,
    },
}

#[derive(Args, Debug)]
pub struct CardsArgs {
    /// The Covalynce server.
    #[arg(
        long,
        env = "COVALYNCE_SERVER",
        default_value = "http://127.0.0.1:8000"
    )]
    pub server: String,
    /// An API token (`covalynce token create`, or one made in Settings).
    #[arg(long, env = "COVALYNCE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the API's JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub command: CardsCommand,
}

#[derive(Subcommand, Debug)]
pub enum CardsCommand {
    /// Cards waiting for review (or another status), oldest first.
    List {
        #[arg(long, default_value = "pending")]
        status: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One card: its posts per channel and its risk.
    Show { id: String },
    /// Replace one channel's post.
    Edit {
        id: String,
        #[arg(long)]
        channel: String,
        #[arg(long)]
        text: String,
    },
    /// Approve to channels (names or ids; all active channels when none are given).
    Approve {
        id: String,
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// Yes to an X text over 280 that a channel would post as a thread.
        #[arg(long)]
        as_thread: bool,
    },
    /// Dismiss: it will not be posted.
    Dismiss { id: String },
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    #[arg(long, default_value = "default")]
    pub workspace: String,
    /// Repositories to watch (any directory inside each).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// How often to look, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub interval_ms: u64,
    /// Look once, draft what is new, and exit (for scripts and cron).
    #[arg(long)]
    pub once: bool,
}

#[derive(Args, Debug)]
pub struct DraftArgs {
    /// The repository (any directory inside it).
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Start of the range (exclusive); default: the most recent tag before TO.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range (inclusive): a tag, branch or commit.
    #[arg(long, default_value = "HEAD")]
    pub to: String,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: DraftFormat,
    /// How the posts sound: sassy, plain or technical.
    #[arg(long, default_value = "sassy")]
    pub voice: String,
    /// Also write the release's image (1200×630 PNG) to this file.
    #[arg(long)]
    pub image: Option<PathBuf>,
}

/// `--format` of `covalynce draft`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DraftFormat {
    Markdown,
    Json,
}

impl From<DraftFormat> for covalynce_app::drafting::Format {
    fn from(f: DraftFormat) -> Self {
        match f {
            DraftFormat::Markdown => Self::Markdown,
            DraftFormat::Json => Self::Json,
        }
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[arg(long, env = "COVALYNCE_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: String,
    /// Also create a demo workspace and print a token for it.
    #[arg(long)]
    pub demo: bool,
    /// Background workers in this process.
    #[arg(long, env = "COVALYNCE_WORKERS", default_value_t = 2)]
    pub workers: usize,
    /// How often idle workers look for jobs enqueued by other replicas, in milliseconds.
    #[arg(long, env = "COVALYNCE_JOB_POLL_MS", default_value_t = 500)]
    pub job_poll_ms: u64,
    /// How long a claimed job is held before another process may take it over, in seconds.
    /// A working process renews its leases every third of this, so it bounds how soon a
    /// crashed process's jobs (publications mid-send) resume elsewhere.
    #[arg(long, env = "COVALYNCE_JOB_LEASE_SECS", default_value_t = 15)]
    pub job_lease_secs: u64,
    /// Seconds shutdown waits for running jobs before giving their leases back.
    #[arg(long, env = "COVALYNCE_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// Let anyone sign up (by default: the first person, then by invitation only).
    #[arg(long, env = "COVALYNCE_OPEN_SIGNUP")]
    pub open_signup: bool,
    /// Seconds one AI provider may take for one post (retries included) before the next
    /// in the chain is asked.
    #[arg(long, env = "COVALYNCE_AI_TIMEOUT_SECS", default_value_t = 20)]
    pub ai_timeout_secs: u64,
    /// AI prices for the cost ledger, USD per million tokens: {"model": [in, out]}
    /// (added to and overriding the built-in table).
    #[arg(long, env = "COVALYNCE_AI_PRICES")]
    pub ai_prices: Option<String>,
    /// The operator's AI provider for workspaces that allow AI but configure none:
    /// openai, anthropic or gemini (with --ai-default-model and --ai-default-key).
    #[arg(long, env = "COVALYNCE_AI_DEFAULT_PROVIDER")]
    pub ai_default_provider: Option<String>,
    #[arg(long, env = "COVALYNCE_AI_DEFAULT_MODEL")]
    pub ai_default_model: Option<String>,
    /// Default: the provider's public API.
    #[arg(long, env = "COVALYNCE_AI_DEFAULT_BASE_URL")]
    pub ai_default_base_url: Option<String>,
    #[arg(long, env = "COVALYNCE_AI_DEFAULT_KEY", hide_env_values = true)]
    pub ai_default_key: Option<String>,
    /// Where people reach this server, e.g. https://covalynce.example.com (the GitHub
    /// callback URL, the Origin check; https makes cookies Secure).
    #[arg(long, env = "COVALYNCE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// API requests per minute per person or token (0: no limit).
    #[arg(long, env = "COVALYNCE_RATE_LIMIT", default_value_t = 100)]
    pub rate_limit: u32,
    /// Sign-in attempts per minute per client address (and per email).
    #[arg(long, env = "COVALYNCE_LOGIN_RATE_LIMIT", default_value_t = 10)]
    pub login_rate_limit: u32,
    /// Redis for rate limits shared by replicas, e.g. redis://127.0.0.1:6379.
    #[arg(long, env = "COVALYNCE_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Take client addresses from X-Forwarded-For (only behind your own proxy).
    #[arg(long, env = "COVALYNCE_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// GitHub OAuth app for "Sign in with GitHub" (client id and secret).
    #[arg(long, env = "COVALYNCE_GITHUB_CLIENT_ID")]
    pub github_client_id: Option<String>,
    #[arg(long, env = "COVALYNCE_GITHUB_CLIENT_SECRET", hide_env_values = true)]
    pub github_client_secret: Option<String>,
    /// GitHub's web and API bases (for GitHub Enterprise, or a test server).
    #[arg(
        long,
        env = "COVALYNCE_GITHUB_WEB_BASE",
        default_value = "https://github.com"
    )]
    pub github_web_base: String,
    #[arg(
        long,
        env = "COVALYNCE_GITHUB_API_BASE",
        default_value = "https://api.github.com"
    )]
    pub github_api_base: String,
    /// "Connect LinkedIn": the OAuth app's client id (with the secret below; redirect URL
    /// PUBLIC_URL/channels/linkedin/callback, scopes openid profile w_member_social).
    #[arg(long, env = "COVALYNCE_LINKEDIN_CLIENT_ID")]
    pub linkedin_client_id: Option<String>,
    #[arg(long, env = "COVALYNCE_LINKEDIN_CLIENT_SECRET", hide_env_values = true)]
    pub linkedin_client_secret: Option<String>,
    #[arg(
        long,
        env = "COVALYNCE_LINKEDIN_WEB_BASE",
        default_value = "https://www.linkedin.com"
    )]
    pub linkedin_web_base: String,
    #[arg(
        long,
        env = "COVALYNCE_LINKEDIN_API_BASE",
        default_value = "https://api.linkedin.com"
    )]
    pub linkedin_api_base: String,
    /// "Connect X": the OAuth 2.0 app's client id (redirect URL
    /// PUBLIC_URL/channels/x/callback; scopes tweet.read tweet.write users.read
    /// offline.access media.write). Also renews tokens of X channels added by API without a client.
    #[arg(long, env = "COVALYNCE_X_CLIENT_ID")]
    pub x_client_id: Option<String>,
    /// Only for confidential ("Web App") clients; public clients use PKCE alone.
    #[arg(long, env = "COVALYNCE_X_CLIENT_SECRET", hide_env_values = true)]
    pub x_client_secret: Option<String>,
    #[arg(long, env = "COVALYNCE_X_WEB_BASE", default_value = "https://x.com")]
    pub x_web_base: String,
    #[arg(
        long,
        env = "COVALYNCE_X_API_BASE",
        default_value = "https://api.x.com"
    )]
    pub x_api_base: String,
    /// Stripe webhook signing secret(s) (`whsec_…`), comma-separated while one is rolled;
    /// enables `POST /hooks/stripe`.
    #[arg(
        long,
        env = "COVALYNCE_STRIPE_WEBHOOK_SECRET",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub stripe_webhook_secret: Vec<String>,
    /// Razorpay webhook secret; enables `POST /hooks/razorpay`.
    #[arg(
        long,
        env = "COVALYNCE_RAZORPAY_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub razorpay_webhook_secret: Option<String>,
    /// The plan new workspaces start on (and cancelled subscriptions fall back to): solo,
    /// pro, team or unlimited.
    #[arg(long, env = "COVALYNCE_DEFAULT_PLAN", default_value = "solo")]
    pub default_plan: String,
}

#[derive(Subcommand, Debug)]
pub enum PathsCommand {
    /// Allow the workspace's members to add local git repositories at or below PATH
    /// (resolved now: symlinks and `..`; it must exist).
    Allow {
        #[arg(long, default_value = "default")]
        workspace: String,
        path: PathBuf,
    },
    /// Take an allowance back: sources below it stop being watched (and say why).
    Revoke {
        #[arg(long, default_value = "default")]
        workspace: String,
        path: PathBuf,
    },
    /// The paths the workspace may use.
    List {
        #[arg(long, default_value = "default")]
        workspace: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Seal every stored credential under a new key. With the key file: a new key is
    /// made and the old one kept (read-only) in `secret.key.previous`. With
    /// COVALYNCE_SECRET_KEY: set it to the new key and the old one in
    /// COVALYNCE_PREVIOUS_SECRET_KEYS first; this re-seals under the new one. Restart
    /// running servers afterwards so they load the new key.
    Rotate,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token (and the workspace, if it is new). The token is the last line of stdout.
    Create {
        #[arg(long, default_value = "default")]
        workspace: String,
        /// A label to tell tokens apart.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let g = cli.global;
    let mut config = Config::new(&g.data_dir);
    config.database_url = g.database_url.clone();
    config.database_owner_url = g.database_owner_url.clone();
    config.secret_key = std::env::var("COVALYNCE_SECRET_KEY").ok();
    config.allow_private_targets = g.allow_private_targets;
    match cli.command {
        Command::Serve(args) => {
            config.addr = args.addr;
            config.demo = args.demo;
            config.shutdown_grace = Duration::from_secs(args.shutdown_grace_secs);
            config.ai = covalynce_app::ai::Settings {
                prices: std::sync::Arc::new(covalynce_app::ai::Prices::with_overrides(
                    args.ai_prices.as_deref(),
                )?),
                timeout: Duration::from_secs(args.ai_timeout_secs.max(1)),
                default: match (
                    args.ai_default_provider.as_deref(),
                    args.ai_default_model.clone(),
                ) {
                    (None, None) => None,
                    (Some(kind), Some(model)) => {
                        let kind = covalynce_ai::ProviderKind::parse(kind).ok_or_else(|| {
                            anyhow::anyhow!(
                                "--ai-default-provider must be openai, anthropic or gemini; got {kind:?}"
                            )
                        })?;
                        Some(covalynce_app::ai::DefaultProvider {
                            kind,
                            base_url: args
                                .ai_default_base_url
                                .clone()
                                .unwrap_or_else(|| kind.default_base_url().to_owned()),
                            model,
                            api_key: args.ai_default_key.clone().unwrap_or_default(),
                        })
                    }
                    _ => anyhow::bail!(
                        "the default AI provider needs both --ai-default-provider and --ai-default-model"
                    ),
                },
            };
            config.jobs = JobsConfig {
                workers: args.workers,
                poll_interval: Duration::from_millis(args.job_poll_ms.max(10)),
                lease: Duration::from_secs(args.job_lease_secs.max(1)),
                ..JobsConfig::default()
            };
            let github = match (args.github_client_id, args.github_client_secret) {
                (Some(client_id), Some(client_secret)) => Some(crate::auth::GithubOAuth {
                    client_id,
                    client_secret,
                    web_base: args.github_web_base,
                    api_base: args.github_api_base,
                }),
                (None, None) => None,
                _ => anyhow::bail!(
                    "GitHub sign-in needs both --github-client-id and --github-client-secret"
                ),
            };
            let linkedin = match (args.linkedin_client_id, args.linkedin_client_secret) {
                (Some(client_id), Some(client_secret)) => Some(crate::auth::OAuthApp {
                    client_id,
                    client_secret,
                    web_base: args.linkedin_web_base,
                    api_base: args.linkedin_api_base,
                }),
                (None, None) => None,
                _ => anyhow::bail!(
                    "Connect LinkedIn needs both --linkedin-client-id and --linkedin-client-secret"
                ),
            };
            if args.x_client_secret.is_some() && args.x_client_id.is_none() {
                anyhow::bail!("--x-client-secret needs --x-client-id");
            }
            let x = args
                .x_client_id
                .clone()
                .map(|client_id| crate::auth::OAuthApp {
                    client_id,
                    client_secret: args.x_client_secret.clone().unwrap_or_default(),
                    web_base: args.x_web_base.clone(),
                    api_base: args.x_api_base.clone(),
                });
            let default_plan =
                covalynce_domain::Plan::parse(&args.default_plan).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--default-plan must be solo, pro, team or unlimited, not {:?}",
                        args.default_plan
                    )
                })?;
            let billing = covalynce_app::billing::BillingConfig {
                stripe_secrets: args
                    .stripe_webhook_secret
                    .iter()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
                razorpay_secret: args
                    .razorpay_webhook_secret
                    .clone()
                    .filter(|s| !s.is_empty()),
                default_plan,
            };
            config.security = crate::auth::SecurityConfig {
                linkedin,
                x,
                billing,
                open_signup: args.open_signup,
                secure_cookies: args
                    .public_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://")),
                public_url: args.public_url,
                api_per_minute: args.rate_limit,
                login_per_minute: args.login_rate_limit,
                redis_url: args.redis_url,
                trust_proxy: args.trust_proxy,
                github,
                ..crate::auth::SecurityConfig::default()
            };
            let app = Application::build(config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Watch(args) => watch(&config, args).await,
        Command::Keys {
            command: KeysCommand::Rotate,
        } => rotate_keys(&config).await,
        Command::Stop { workspace, lift } => {
            let slug = WorkspaceSlug::parse(&workspace).map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = open_store(&config).await?;
            store.migrate().await.context("migrating the database")?;
            // The same use case as the API's stop: audited as workspace.emergency_stop, by
            // `cli`.
            let app = covalynce_app::App::new(store.clone());
            let stopped = async {
                let who = app.operator_at(&slug, true).await?;
                app.set_emergency_stop(&who, !lift).await
            }
            .await;
            store.close().await;
            let resumed = stopped?;
            if lift {
                println!("emergency stop lifted for {slug}: {resumed} publication(s) resume");
            } else {
                println!(
                    "emergency stop ON for {slug}: nothing will be published until `covalynce stop --lift`"
                );
            }
            Ok(())
        }
        Command::Draft(args) => {
            let voice = covalynce_drafting::Voice::parse(&args.voice).ok_or_else(|| {
                anyhow::anyhow!(
                    "--voice must be sassy, plain or technical, not {:?}",
                    args.voice
                )
            })?;
            let out = covalynce_app::drafting::draft(&covalynce_app::drafting::Request {
                repo: &args.repo,
                from: args.from.as_deref(),
                to: &args.to,
                voice,
            })?;
            print!(
                "{}",
                covalynce_app::drafting::render(&out, args.format.into())
            );
            if let Some(path) = &args.image {
                use covalynce_publishing::image::{ReleaseImage, render};
                let lead = out
                    .drafts
                    .posts
                    .get(&covalynce_drafting::Channel::Linkedin)
                    .and_then(|t| t.lines().next());
                let image = ReleaseImage::led_by(
                    &out.context.project,
                    out.context.version.as_deref().unwrap_or(&args.to),
                    &out.drafts.release_notes,
                    out.context.url.as_deref(),
                    lead,
                );
                let started = std::time::Instant::now();
                let png = render(&image);
                let took = started.elapsed();
                std::fs::write(path, &png)
                    .with_context(|| format!("writing the image to {}", path.display()))?;
                eprintln!(
                    "image: {} ({} bytes, drawn in {:.1} ms); alt text: {}",
                    path.display(),
                    png.len(),
                    took.as_secs_f64() * 1000.0,
                    image.alt()
                );
            }
            Ok(())
        }
        Command::Cards(args) => cards(args).await,
        Command::Mcp {
            local: true,
            workspace,
            ..
        } => mcp_local(config, &workspace).await,
        Command::Mcp { server, token, .. } => {
            let token = token.filter(|t| !t.trim().is_empty()).ok_or_else(|| {
                anyhow::anyhow!("an API token is needed: --token or COVALYNCE_TOKEN (`covalynce token create` makes one)")
            })?;
            crate::mcp::serve(crate::remote::Remote::new(&server, token.trim(), "mcp")?).await
        }
        Command::Paths { command } => paths(&config, command).await,
        Command::Plan { workspace, plan } => {
            let slug = WorkspaceSlug::parse(&workspace).map_err(|e| anyhow::anyhow!("{e}"))?;
            let plan = covalynce_domain::Plan::parse(&plan).ok_or_else(|| {
                anyhow::anyhow!("the plan must be solo, pro, team or unlimited, not {plan:?}")
            })?;
            let store = open_store(&config).await?;
            store.migrate().await.context("migrating the database")?;
            let app = covalynce_app::App::new(store.clone());
            let set = async {
                let who = app.operator_at(&slug, false).await?;
                app.set_plan(&who, plan).await
            }
            .await;
            store.close().await;
            set?;
            let limit = |n: Option<i64>| n.map_or("no limit".to_owned(), |n| n.to_string());
            println!(
                "{slug} is on the {plan} plan: {} cards a month, {} seats",
                limit(plan.limits().cards_per_period),
                limit(plan.limits().seats)
            );
            Ok(())
        }
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.migrate().await.context("migrating the database")?;
            store.close().await;
            println!("migrations applied ({})", store.backend().as_str());
            Ok(())
        }
        Command::DemoLink { url } => {
            let store = open_store(&config).await?;
            store.migrate().await.context("migrating the database")?;
            let link = covalynce_app::demo::link(&store).await;
            store.close().await;
            println!("{}/login/link/{}", url.trim_end_matches('/'), link?);
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { workspace, name },
        } => {
            let slug = WorkspaceSlug::parse(&workspace).map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = open_store(&config).await?;
            store.migrate().await.context("migrating the database")?;
            // The same use case as a person's token (token.create, by `cli`), with the
            // owner's role: the operator holds every key already.
            let app = covalynce_app::App::new(store.clone());
            let made = app
                .operator_token(&slug, &name, covalynce_app::operator::Earlier::Keep)
                .await;
            store.close().await;
            let (_, made) = made?;
            println!("workspace: {slug}");
            println!("{}", made.token);
            Ok(())
        }
    }
}

async fn open_store(
    config: &Config,
) -> anyhow::Result<std::sync::Arc<dyn covalynce_storage::Store>> {
    let secrets =
        covalynce_app::secrets::SecretBox::load(config.secret_key.as_deref(), &config.data_dir)?;
    open_store_with(config, &secrets).await
}

async fn open_store_with(
    config: &Config,
    secrets: &covalynce_app::secrets::SecretBox,
) -> anyhow::Result<std::sync::Arc<dyn covalynce_storage::Store>> {
    covalynce_storage::open(&crate::startup::connect(config, secrets))
        .await
        .context("opening the database")
}

/// Kept here too: the CLI's `token create` is where operators (and the tests) know it.
pub use crate::tokens::create_token;

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}

/// Registers each path as a git source of the workspace (once), then polls them, drafting
/// what is new with a worker pool of its own — `serve` need not run, and may run beside it
/// on the same data dir.
async fn watch(config: &Config, args: WatchArgs) -> anyhow::Result<()> {
    let slug = WorkspaceSlug::parse(&args.workspace).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = open_store(config).await?;
    store.migrate().await.context("migrating the database")?;
    let ws = store.ensure_workspace(&slug).await?;
    let mut sources = Vec::new();
    let app = covalynce_app::App::new(store.clone());
    for path in &args.paths {
        // The operator names it here, so the workspace may read it (and `serve` keeps
        // watching it): the same checks as a member's, then it is allowed.
        let source = app.watch_git_repository(ws.id, path).await?;
        let display = source.path.clone().unwrap_or_default();
        println!(
            "watching {display} (source {}) for workspace {slug}",
            source.id
        );
        sources.push(source.id);
    }

    let wakeup = std::sync::Arc::new(tokio::sync::Notify::new());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let jobs = JobsConfig {
        workers: 1,
        poll_interval: Duration::from_millis(200),
        ..JobsConfig::default()
    };
    let secrets =
        covalynce_app::secrets::SecretBox::load(config.secret_key.as_deref(), &config.data_dir)?;
    let http =
        covalynce_publishing::Http::new(config.allow_private_targets, config.publish_timeout);
    let context = config.jobs_context(store.clone(), secrets, http);
    let pool = covalynce_app::jobs::Pool::spawn(
        context,
        jobs,
        wakeup.clone(),
        stop_rx,
        Duration::from_secs(5),
    );
    let poll_all = || covalynce_app::sources::watch::poll_each(store.as_ref(), &sources);
    if args.once {
        let found = poll_all().await?;
        wakeup.notify_waiters();
        // Let the drafting jobs for what was found finish before exiting.
        let most = Duration::from_secs(30);
        if !covalynce_app::sources::watch::settled(store.as_ref(), ws.id, most).await? {
            eprintln!("drafting was still under way after {most:?}; it goes on at the next start");
        }
        println!("{found} new event(s)");
    } else {
        let interval = Duration::from_millis(args.interval_ms.max(100));
        let stop = shutdown_signal();
        tokio::pin!(stop);
        loop {
            match poll_all().await {
                Ok(0) => {}
                Ok(n) => {
                    println!("{n} new event(s)");
                    wakeup.notify_waiters();
                }
                Err(e) => tracing::warn!(error = format!("{e:#}"), "could not read a repository"),
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = tokio::time::sleep(interval) => {}
            }
        }
    }
    let _ = stop_tx.send(true);
    pool.join().await;
    store.close().await;
    Ok(())
}

/// Re-seals every stored credential under the current key, making a new one first when
/// keys live in the data dir. All secrets change in one transaction. On PostgreSQL the
/// database's scope key (derived from the secret key) is replaced first.
async fn rotate_keys(config: &Config) -> anyhow::Result<()> {
    use covalynce_app::secrets::SecretBox;
    // The scope key is derived from the secret key, so the database's copy changes too:
    // make sure this process may write it before making a new key.
    let store = open_store(config).await?;
    let may = store.may_replace_scope_key().await;
    store.close().await;
    if !may? {
        anyhow::bail!(
            "a new secret key means a new scope key in the database, which only the role that \
             owns the tables may store: give its URL with --database-owner-url or \
             COVALYNCE_DATABASE_OWNER_URL"
        );
    }
    let from_env = config
        .secret_key
        .as_deref()
        .is_some_and(|k| !k.trim().is_empty());
    let secrets = if from_env {
        SecretBox::load(config.secret_key.as_deref(), &config.data_dir)?
    } else {
        // Make sure there is a key file to rotate from.
        SecretBox::load(None, &config.data_dir)?;
        SecretBox::rotate_key_file(&config.data_dir)?
    };
    // Migrating stores the new scope key (and checks it) before anything is re-sealed.
    let store = open_store_with(config, &secrets).await?;
    store.migrate().await.context("migrating the database")?;
    let resealed = covalynce_app::App::new(store.clone())
        .reseal_all(&secrets)
        .await;
    store.close().await;
    println!(
        "{} secret(s) re-sealed under key {}. Restart running servers so they use it.",
        resealed?,
        secrets.key_id()
    );
    if !from_env {
        println!(
            "The previous key stays in secret.key.previous (it opens nothing now and may be deleted)."
        );
    }
    Ok(())
}

/// `covalynce cards …`: the API's review actions from a terminal.
async fn cards(args: CardsArgs) -> anyhow::Result<()> {
    use crate::remote::{Remote, describe, line};
    let token = args.token.as_deref().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        anyhow::anyhow!("an API token is needed: --token or COVALYNCE_TOKEN (`covalynce token create` makes one)")
    })?;
    let remote = Remote::new(&args.server, token.trim(), "cli")?;
    let print = |v: &serde_json::Value, human: String| {
        if args.json {
            println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
        } else {
            print!("{human}");
        }
    };
    match args.command {
        CardsCommand::List { status, limit } => {
            let cards = remote.cards(&status, limit).await?;
            let human = if cards.is_empty() {
                format!("no {status} cards\n")
            } else {
                cards.iter().map(|c| line(c) + "\n").collect()
            };
            print(&serde_json::Value::Array(cards), human);
        }
        CardsCommand::Show { id } => {
            let card = remote.card(&id).await?;
            print(&card, describe(&card));
        }
        CardsCommand::Edit { id, channel, text } => {
            let card = remote.edit(&id, &channel, &text).await?;
            print(&card, format!("edited {channel} of {id}\n"));
        }
        CardsCommand::Approve {
            id,
            channels,
            as_thread,
        } => {
            let ids = remote.channel_ids(&channels).await?;
            let card = match remote.approve(&id, &ids, as_thread).await {
                // The server asks for a yes the terminal gives with a flag.
                Err(crate::remote::RemoteError::Problem { status, detail })
                    if detail.contains("as a thread") =>
                {
                    return Err(crate::remote::RemoteError::Problem {
                        status,
                        detail: format!("{detail} (add --as-thread)"),
                    }
                    .into());
                }
                other => other?,
            };
            print(
                &card,
                format!(
                    "approved {id} to {} channel(s); it goes out shortly\n",
                    ids.len()
                ),
            );
        }
        CardsCommand::Dismiss { id } => {
            let card = remote.dismiss(&id).await?;
            print(&card, format!("dismissed {id}\n"));
        }
    }
    Ok(())
}

/// `covalynce mcp --local`: the API served in this process on a loopback port over the
/// data dir, so the assistant gets the same roles, checks and audit as through a server.
async fn mcp_local(mut config: Config, workspace: &str) -> anyhow::Result<()> {
    let slug = WorkspaceSlug::parse(workspace).map_err(|e| anyhow::anyhow!("{e}"))?;
    config.addr = "127.0.0.1:0".into();
    let app = Application::build(config).await?;
    let token = create_token(&app.store(), &slug, "mcp --local").await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stop_rx.await;
    }));
    let served = crate::mcp::serve(crate::remote::Remote::new(&base, &token, "mcp")?).await;
    let _ = stop_tx.send(());
    server.await??;
    served
}

/// `covalynce paths allow|revoke|list`: the operator's word on which local paths a
/// workspace may read.
async fn paths(config: &Config, command: PathsCommand) -> anyhow::Result<()> {
    let (workspace, path) = match &command {
        PathsCommand::Allow { workspace, path } | PathsCommand::Revoke { workspace, path } => {
            (workspace, Some(path))
        }
        PathsCommand::List { workspace } => (workspace, None),
    };
    let slug = WorkspaceSlug::parse(workspace).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = open_store(config).await?;
    store.migrate().await.context("migrating the database")?;
    let result = async {
        let app = covalynce_app::App::new(store.clone());
        let who = app
            .operator_at(&slug, matches!(command, PathsCommand::Allow { .. }))
            .await?;
        match (&command, path) {
            (PathsCommand::Allow { .. }, Some(path)) => {
                let resolved = path
                    .canonicalize()
                    .with_context(|| format!("{} cannot be resolved", path.display()))?;
                let shown = resolved.display().to_string();
                app.allow_path(&who, &shown).await?;
                println!("{slug} may now add local git repositories at or below {shown}");
            }
            (PathsCommand::Revoke { .. }, Some(path)) => {
                // The stored form is resolved; a path that no longer resolves is taken as given.
                let shown = path
                    .canonicalize()
                    .unwrap_or_else(|_| path.clone())
                    .display()
                    .to_string();
                app.revoke_path(&who, &shown).await.map_err(|e| match e {
                    covalynce_app::AppError::NotFound(_) => {
                        anyhow::anyhow!("{slug} was not allowed {shown}")
                    }
                    other => anyhow::Error::from(other),
                })?;
                println!(
                    "{slug} may no longer use {shown}; its sources below it stop being watched"
                );
            }
            _ => {
                for p in app.allowed_paths(&who).await? {
                    println!("{p}");
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}
