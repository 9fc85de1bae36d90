//! GitHub's REST API for sources that hold a token, in four parts: `client` (the API and
//! its errors, rate limits and pages), `hooks` (the repository webhook Covalynce creates
//! and removes itself), `poller` (the repository's events, workflow runs and check suites
//! for sources without a webhook: ETag, `X-Poll-Interval`, `Link` pagination; typed
//! events through `sources::github::classify_polled`, never a rebuilt webhook) and
//! `enrich` (what an event lacks that the API can tell: a compare's commits and analysis,
//! a release's range, project and house style; cached). `project` reads a release's
//! project files and notes through the API.
//!
//! Contract (docs.github.com, REST: "Repository webhooks", "Events", "Commits",
//! "Rate limits for the REST API", "Using pagination"): a 304 to `If-None-Match` costs no
//! rate limit; `X-Poll-Interval` is the least number of seconds between polls; a 403/429
//! with `Retry-After` or with `X-RateLimit-Remaining: 0` (until `X-RateLimit-Reset`) means
//! wait; `Link: <…>; rel="next"` names the next page.

mod client;
mod enrich;
mod hooks;
/// The OAuth web flow (state and PKCE): signing in with GitHub, and connecting repositories.
pub mod oauth;
mod poller;
/// GitHub's own notes as the house style of a source without a clone.
pub mod project;

pub use client::{
    API_VERSION, Api, Fetched, GithubError, HOOK_EVENTS, Page, Permissions, RepoChoice, api_for,
    next_link, rate_limit_wait,
};
pub use enrich::{commit_pulls, compare, compare_commits, enrich, patch_text};
pub use hooks::{after_delete, create_hook_for};
pub use poller::{PollState, poll_once, run};

/// The GitHub OAuth app the operator registered: sign-in and connecting repositories.
#[derive(Clone)]
pub struct GithubOAuth {
    pub client_id: String,
    pub client_secret: String,
    /// `https://github.com` (authorize, access token); a local server in tests.
    pub web_base: String,
    /// `https://api.github.com`.
    pub api_base: String,
}

impl std::fmt::Debug for GithubOAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubOAuth")
            .field("client_id", &self.client_id)
            .field("web_base", &self.web_base)
            .finish_non_exhaustive()
    }
}
