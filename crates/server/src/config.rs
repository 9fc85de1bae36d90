//! Typed configuration, built once from the command line and environment.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// `None`: the SQLite file inside `data_dir`.
    pub database_url: Option<String>,
    /// PostgreSQL only: the role that owns the tables. Migrations run as it, and it grants
    /// the runtime role (`database_url`) row access and stores the scope key. `None`: the
    /// runtime role does that itself, and so could lift row level security.
    pub database_owner_url: Option<String>,
    pub addr: String,
    /// Hex AES-256 key for secrets at rest; `None`: `DATA_DIR/secret.key`.
    pub secret_key: Option<String>,
    pub demo: bool,
    pub jobs: JobsConfig,
    /// How long shutdown waits for running jobs before giving their leases back.
    pub shutdown_grace: Duration,
    /// How often local git sources are looked at.
    pub git_poll: Duration,
    /// The least time between two polls of one GitHub source (GitHub's `X-Poll-Interval`
    /// may ask for more).
    pub github_min_poll: Duration,
    /// Channels may publish to loopback, private and link-local addresses (and over plain
    /// http): off by default, so a channel URL cannot reach the server's own network.
    pub allow_private_targets: bool,
    /// How long one request to a platform may take before its outcome is treated as
    /// unknown (or retried, where the platform deduplicates).
    pub publish_timeout: Duration,
    /// Sign-in, sessions, rate limits.
    pub security: crate::auth::SecurityConfig,
    /// AI drafting: the price table and each provider's time limit.
    pub ai: covalynce_app::ai::Settings,
}

pub use covalynce_app::jobs::JobsConfig;

impl Config {
    /// Defaults for a data dir, as `covalynce serve` would run with no flags.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            database_owner_url: None,
            addr: "127.0.0.1:8000".into(),
            secret_key: None,
            demo: false,
            jobs: JobsConfig::default(),
            shutdown_grace: Duration::from_secs(30),
            git_poll: Duration::from_secs(2),
            github_min_poll: Duration::from_secs(60),
            allow_private_targets: false,
            publish_timeout: Duration::from_secs(15),
            security: crate::auth::SecurityConfig::default(),
            ai: covalynce_app::ai::Settings::default(),
        }
    }
}

impl Config {
    /// What the background jobs need (the worker pool of `serve` and of `watch`, and
    /// handlers that do a job's work in the request).
    pub fn jobs_context(
        &self,
        store: std::sync::Arc<dyn covalynce_storage::Store>,
        secrets: covalynce_app::secrets::SecretBox,
        http: covalynce_publishing::Http,
    ) -> covalynce_app::jobs::Context {
        covalynce_app::jobs::Context {
            store,
            secrets,
            http,
            ai: self.ai.clone(),
            github_api: covalynce_app::github::Api::base_for(self.security.github.as_ref()),
            data_dir: self.data_dir.clone(),
            public_url: self.security.public_url.clone(),
        }
    }
}

// By hand, so the secret key never reaches a log line or a panic message.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_deref()
                    .map(covalynce_storage::redact_url),
            )
            .field(
                "database_owner_url",
                &self
                    .database_owner_url
                    .as_deref()
                    .map(covalynce_storage::redact_url),
            )
            .field("addr", &self.addr)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("demo", &self.demo)
            .field("jobs", &self.jobs)
            .field("allow_private_targets", &self.allow_private_targets)
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_output_never_shows_secrets() {
        let mut c = super::Config::new("/tmp/x");
        c.secret_key = Some("ab".repeat(32));
        c.database_url = Some("postgres://app:hunter2@db/x".into());
        c.database_owner_url = Some("postgres://owner:hunter2@db/x".into());
        c.security.redis_url = Some("redis://:redispass@cache:6379".into());
        c.security.github = Some(crate::auth::GithubOAuth {
            client_id: "id".into(),
            client_secret: "ghsecret".into(),
            web_base: "https://github.com".into(),
            api_base: "https://api.github.com".into(),
        });
        let shown = format!("{c:?}");
        for secret in ["abab", "hunter2", "redispass", "ghsecret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
