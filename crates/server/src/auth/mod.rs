//! Who is asking: people (password or GitHub sign-in, server-side sessions with a CSRF
//! token), API tokens (a workspace and a role each), and how often they may ask.

pub use covalynce_app::github::oauth as github;
pub mod limits;
pub use covalynce_app::password;

use std::time::Duration;

pub const SESSION_COOKIE: &str = "covalynce_session";
pub const OAUTH_COOKIE: &str = "covalynce_oauth";
/// Browser requests that change something carry the session's CSRF token here.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Which of the signed-in person's workspaces a browser request acts in (slug).
pub const WORKSPACE_HEADER: &str = "x-covalynce-workspace";

/// Sign-in and request-limit settings, from the command line and environment.
#[derive(Clone)]
pub struct SecurityConfig {
    /// Anyone may sign up; otherwise only the first user and people with an invitation.
    pub open_signup: bool,
    /// A session ends after this long without use.
    pub session_idle: Duration,
    /// A session ends this long after sign-in however much it is used (a stolen cookie
    /// does not live for ever by being used): then its person signs in again.
    pub session_lifetime: Duration,
    /// Cookies get `Secure` (set when the public URL is https).
    pub secure_cookies: bool,
    /// Where people reach this server, e.g. `https://covalynce.example.com`; used for the
    /// GitHub callback URL and the Origin check. `None`: taken from the request's Host.
    pub public_url: Option<String>,
    /// API requests per minute per user or token (0: no limit).
    pub api_per_minute: u32,
    /// Sign-in and sign-up attempts per minute per client address.
    pub login_per_minute: u32,
    /// Redis for limits shared by replicas.
    pub redis_url: Option<String>,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy you run).
    pub trust_proxy: bool,
    pub github: Option<GithubOAuth>,
    /// "Connect LinkedIn" (the channel's OAuth flow), when configured.
    pub linkedin: Option<OAuthApp>,
    /// "Connect X" and token renewal for X channels; an empty secret is a public client.
    pub x: Option<OAuthApp>,
    /// How long an invitation link stays valid.
    pub invitation_ttl: Duration,
    /// Payment webhooks' secrets and the plan new workspaces get.
    pub billing: covalynce_app::billing::BillingConfig,
}

// By hand: a Redis URL may carry a password.
impl std::fmt::Debug for SecurityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityConfig")
            .field("open_signup", &self.open_signup)
            .field("session_idle", &self.session_idle)
            .field("session_lifetime", &self.session_lifetime)
            .field("public_url", &self.public_url)
            .field("api_per_minute", &self.api_per_minute)
            .field("login_per_minute", &self.login_per_minute)
            .field(
                "redis_url",
                &self.redis_url.as_deref().map(covalynce_storage::redact_url),
            )
            .field("trust_proxy", &self.trust_proxy)
            .field("github", &self.github)
            .field("linkedin", &self.linkedin)
            .field("x", &self.x)
            .field("billing", &self.billing)
            .finish_non_exhaustive()
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            open_signup: false,
            session_idle: Duration::from_secs(14 * 24 * 3600),
            session_lifetime: Duration::from_secs(30 * 24 * 3600),
            secure_cookies: false,
            public_url: None,
            api_per_minute: 100,
            login_per_minute: 10,
            redis_url: None,
            trust_proxy: false,
            github: None,
            linkedin: None,
            x: None,
            invitation_ttl: Duration::from_secs(7 * 24 * 3600),
            billing: covalynce_app::billing::BillingConfig::default(),
        }
    }
}

pub use covalynce_app::github::GithubOAuth;

pub use covalynce_app::connect::OAuthApp;

/// The security settings with the limiters they configure.
pub struct Security {
    pub config: SecurityConfig,
    pub api_limit: limits::Limiter,
    pub login_limit: limits::Limiter,
}

impl Security {
    /// Connects to Redis when configured (failing the start if it cannot).
    pub async fn build(config: SecurityConfig) -> anyhow::Result<Self> {
        let redis = match &config.redis_url {
            Some(url) => Some(limits::connect_redis(url).await?),
            None => None,
        };
        Ok(Self {
            api_limit: limits::Limiter::new("api", config.api_per_minute, redis.clone()),
            login_limit: limits::Limiter::new("login", config.login_per_minute, redis),
            config,
        })
    }
}

// Who acts (a person or a token) and with which role: the application layer's types.
pub use covalynce_app::{Actor, Principal};

/// The value of one cookie in a `Cookie` header.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax always, Secure over https.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite=Lax{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// Adds `cookie` (a `Set-Cookie` value from [`set_cookie`] or [`clear_cookie`]) to a
/// response.
pub fn append_cookie(response: &mut axum::response::Response, cookie: &str) {
    if let Ok(v) = axum::http::HeaderValue::from_str(cookie) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, v);
    }
}

pub fn clear_cookie(name: &str, path: &str, secure: bool) -> String {
    set_cookie(name, "", path, Duration::ZERO, secure)
}

/// 256 random bits, hex: session ids, CSRF tokens, invitation tokens, OAuth state.
pub fn random_token() -> String {
    covalynce_app::tokens::random_token()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            "a=1; covalynce_session_x=no; covalynce_session=yes"
                .parse()
                .unwrap(),
        );
        assert_eq!(super::cookie(&h, super::SESSION_COOKIE), Some("yes"));
        assert_eq!(super::cookie(&h, "b"), None);
        let c = super::set_cookie("s", "v", "/", std::time::Duration::from_secs(60), true);
        assert_eq!(c, "s=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
    }
}
