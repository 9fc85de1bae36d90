//! Connecting through a platform's consent page: a LinkedIn member or page, or an X
//! account, becomes a channel; GitHub repositories become sources. Each step is a use
//! case: [`App::consent`] (where to send the person, and the flow to carry),
//! [`App::complete`] (the platform's answer: a channel, or a choice to make), then
//! [`App::choose_page`] or [`App::pick_repos`] for that choice.
//!
//! Between steps the adapter carries the flow sealed with the server's key (the pages keep
//! it in a short-lived cookie): nothing is stored server-side, nothing in it can be read
//! or forged, and it completes only for the same person in the same workspace, within ten
//! minutes, with the `state` the platform sent back. Tokens it holds while the person
//! chooses are never shown.

use crate::connect::{CreateChannel, OAuthApp};
use crate::github::oauth::{CONNECT_SCOPES, consent_url, exchange_token};
use crate::sources::{Added, CreateSource, SourcePlatform};
use crate::{Acting, App, AppError, Editor};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use covalynce_domain::{ChannelSettings, SourceKind, UnixMillis, WorkspaceId, now_millis};
use covalynce_publishing::{Url, linkedin, x};
use covalynce_storage::ChannelRecord;
use serde::{Deserialize, Serialize};

/// How long a flow may take from the consent page to its last step.
const TTL_MS: i64 = 600_000;
/// Repositories connected in one go, at most.
pub const MAX_PICKED: usize = 50;

/// Which consent page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// LinkedIn; `pages`: post as a page the member administers (asks for the page
    /// scopes too).
    Linkedin { pages: bool },
    /// X, OAuth 2.0 with PKCE and `offline.access` (a channel that renews itself).
    X,
    /// GitHub repositories: `repo admin:repo_hook`, not the sign-in's scopes.
    Github,
}

impl Flow {
    pub fn platform(self) -> &'static str {
        match self {
            Flow::Linkedin { .. } => "LinkedIn",
            Flow::X => "X",
            Flow::Github => "GitHub",
        }
    }

    /// Where a refusal tells the person to start again.
    fn start_again(self) -> &'static str {
        match self {
            Flow::Github => "Sources",
            Flow::Linkedin { .. } | Flow::X => "Channels",
        }
    }
}

/// What a flow needs of the server: its key, the channel platforms (the guarded HTTP
/// client, the operator's LinkedIn and X apps) and adding sources (the GitHub app).
pub struct OAuthPlatform<'a> {
    pub channels: crate::connect::Platforms<'a>,
    pub sources: SourcePlatform<'a>,
}

/// A flow to carry to its next step: `state` goes to the platform (or into the next form),
/// `sealed` stays with the person's browser.
#[derive(Debug)]
pub struct Carried {
    pub state: String,
    pub sealed: String,
}

/// Where to send the person, and what to carry until they come back.
#[derive(Debug)]
pub struct Consent {
    pub url: Url,
    pub carried: Carried,
}

/// What the platform sent back to the callback.
#[derive(Debug, Default, Deserialize)]
pub struct Answer {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A repository the granted token reaches, to tick.
#[derive(Debug, Clone)]
pub struct Repo {
    pub name: String,
    pub private: bool,
    pub description: String,
    /// The token may create its webhook (else the source polls).
    pub hook: bool,
    /// Already a source of this workspace.
    pub connected: bool,
}

/// Where a flow stands after the platform's answer.
#[derive(Debug)]
pub enum Completed {
    /// A channel is connected (a LinkedIn page's when `page` names it).
    Channel {
        channel: Box<ChannelRecord>,
        page: Option<String>,
    },
    /// LinkedIn: the member administers several pages; choosing one completes the flow.
    ChoosePage {
        pages: Vec<(String, String)>,
        next: Carried,
    },
    /// GitHub: the repositories the token reaches; ticking some completes the flow.
    PickRepos { repos: Vec<Repo>, next: Carried },
    /// The platform did not connect (the person declined, the code was refused, it did
    /// not answer) or had nothing to connect: why, in words to show.
    NotConnected(String),
}

/// The account a connected channel posts as, for telling the person.
pub fn account(channel: &ChannelRecord) -> Option<&str> {
    match &channel.config.settings {
        ChannelSettings::Linkedin(s) => s.account.as_deref(),
        ChannelSettings::X(s) => s.account.as_deref(),
        _ => None,
    }
}

/// A flow between two steps, as sealed.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    workspace: WorkspaceId,
    /// The person (or token) who started it, as the audit log names them.
    actor: String,
    at: UnixMillis,
    step: Step,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    Linkedin {
        pages: bool,
    },
    X {
        verifier: String,
    },
    Github {
        verifier: String,
    },
    /// The member administers several pages: the grant waits for the choice.
    LinkedinPage {
        grant: linkedin::Grant,
        pages: Vec<(String, String)>,
    },
    /// GitHub granted a token: it waits while the person ticks repositories.
    GithubPick {
        token: String,
    },
}

impl Step {
    fn flow(&self) -> Flow {
        match self {
            Step::Linkedin { pages } => Flow::Linkedin { pages: *pages },
            Step::LinkedinPage { .. } => Flow::Linkedin { pages: true },
            Step::X { .. } => Flow::X,
            Step::Github { .. } | Step::GithubPick { .. } => Flow::Github,
        }
    }
}

/// A PKCE verifier and its S256 challenge, as the sign-in makes them.
fn pkce() -> (String, String) {
    let verifier = crate::github::oauth::verifier();
    let challenge = crate::github::oauth::challenge(&verifier);
    (verifier, challenge)
}

fn seal(
    platform: &OAuthPlatform<'_>,
    who: &Acting<Editor>,
    started: UnixMillis,
    step: Step,
) -> Carried {
    let state = crate::tokens::random_token();
    let pending = Pending {
        state: state.clone(),
        workspace: who.workspace().id,
        actor: who.principal().actor.label(),
        at: started,
        step,
    };
    // A struct of strings and numbers always serializes.
    let json = serde_json::to_vec(&pending).unwrap_or_default();
    let sealed = URL_SAFE_NO_PAD.encode(platform.sources.secrets.seal(&json));
    Carried { state, sealed }
}

/// The flow `sealed` carries, if `state` is its own and the same person in the same
/// workspace started it less than ten minutes ago, at the step `flow` expects.
fn open(
    platform: &OAuthPlatform<'_>,
    who: &Acting<Editor>,
    flow: Flow,
    sealed: Option<&str>,
    state: Option<&str>,
) -> Result<(Step, UnixMillis), AppError> {
    let name = flow.platform();
    let again = flow.start_again();
    let sealed = sealed.ok_or_else(|| {
        AppError::BadRequest(format!(
            "This {name} answer does not belong to this browser (no pending connection); start again from {again}."
        ))
    })?;
    let pending: Pending = URL_SAFE_NO_PAD
        .decode(sealed)
        .ok()
        .and_then(|b| platform.sources.secrets.open(&b).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "The pending {name} connection is unreadable; start again from {again}."
            ))
        })?;
    let fresh = (0..TTL_MS).contains(&(now_millis() - pending.at));
    let same = Some(pending.state.as_str()) == state
        && pending.workspace == who.workspace().id
        && pending.actor == who.principal().actor.label()
        && pending.step.flow().platform() == name;
    if !(fresh && same) {
        return Err(AppError::BadRequest(format!(
            "This {name} answer does not match the connection this browser started (state mismatch or expired); start again from {again}."
        )));
    }
    Ok((pending.step, pending.at))
}

fn app_for<'a>(platform: &'a OAuthPlatform<'_>, flow: Flow) -> Result<&'a OAuthApp, AppError> {
    let (app, how) = match flow {
        Flow::Linkedin { .. } => (
            platform.channels.linkedin,
            "(--linkedin-client-id and --linkedin-client-secret); paste a token instead",
        ),
        Flow::X => (platform.channels.x, "(--x-client-id); paste tokens instead"),
        Flow::Github => {
            return Err(AppError::Invalid(
                "GitHub connects repositories, not a channel".into(),
            ));
        }
    };
    app.ok_or_else(|| {
        AppError::NotFound(format!(
            "Connect {} is not configured on this server {how}.",
            flow.platform()
        ))
    })
}

fn github_app<'a>(
    platform: &'a OAuthPlatform<'_>,
) -> Result<&'a crate::github::GithubOAuth, AppError> {
    platform.sources.github.ok_or_else(|| {
        AppError::NotFound(
            "Connect GitHub is not configured on this server (--github-client-id and --github-client-secret); connect a repository with a token instead.".into(),
        )
    })
}

fn address(base: &str, what: &str) -> Result<Url, AppError> {
    Url::parse(base).map_err(|e| AppError::Invalid(format!("the {what} address is invalid: {e}")))
}

impl App {
    /// Starts connecting: the platform's consent page (with `redirect`, the callback the
    /// operator registered) and the flow to carry until the person comes back.
    pub async fn consent(
        &self,
        who: &Acting<Editor>,
        platform: &OAuthPlatform<'_>,
        flow: Flow,
        redirect: &str,
    ) -> Result<Consent, AppError> {
        let (url, carried) = match flow {
            Flow::Linkedin { pages } => {
                let app = app_for(platform, flow)?;
                let scopes = if pages {
                    linkedin::PAGE_SCOPES
                } else {
                    linkedin::MEMBER_SCOPES
                };
                let carried = seal(platform, who, now_millis(), Step::Linkedin { pages });
                let web = address(&app.web_base, "LinkedIn")?;
                let url =
                    linkedin::authorize_url(&web, &app.client_id, redirect, &carried.state, scopes)
                        .map_err(|f| AppError::Invalid(f.to_string()))?;
                (url, carried)
            }
            Flow::X => {
                let app = app_for(platform, flow)?;
                let (verifier, challenge) = pkce();
                let carried = seal(platform, who, now_millis(), Step::X { verifier });
                let web = address(&app.web_base, "X")?;
                let url =
                    x::authorize_url(&web, &app.client_id, redirect, &carried.state, &challenge)
                        .map_err(|f| AppError::Invalid(f.to_string()))?;
                (url, carried)
            }
            Flow::Github => {
                let app = github_app(platform)?;
                let (verifier, challenge) = pkce();
                let carried = seal(platform, who, now_millis(), Step::Github { verifier });
                let url = consent_url(app, redirect, CONNECT_SCOPES, &carried.state, &challenge);
                (address(&url, "GitHub")?, carried)
            }
        };
        Ok(Consent { url, carried })
    }

    /// The platform's answer at the callback (`redirect` as given to [`App::consent`]):
    /// the code is traded for a token, checked with the platform, and becomes a channel,
    /// or the choice the person must make first.
    pub async fn complete(
        &self,
        who: &Acting<Editor>,
        platform: &OAuthPlatform<'_>,
        flow: Flow,
        sealed: Option<&str>,
        answer: Answer,
        redirect: &str,
    ) -> Result<Completed, AppError> {
        let name = flow.platform();
        // The flow is checked first: an answer that is not this browser's flow (a forged
        // "?error=…" link) cannot end it.
        let (step, started) = open(platform, who, flow, sealed, answer.state.as_deref())?;
        if let Some(why) = answer.error_description.or(answer.error) {
            return Ok(Completed::NotConnected(format!(
                "{name} did not connect: {why}"
            )));
        }
        let code = answer.code.ok_or_else(|| {
            AppError::BadRequest(format!(
                "{name} sent no code; start again from {}.",
                flow.start_again()
            ))
        })?;
        match step {
            Step::Linkedin { pages } => {
                self.linkedin_granted(who, platform, &code, redirect, pages, started)
                    .await
            }
            Step::X { verifier } => {
                let app = app_for(platform, flow)?;
                let api = address(&app.api_base, "X API")?;
                let secret = Some(app.client_secret.clone()).filter(|s| !s.is_empty());
                let client = x::Client {
                    id: app.client_id.clone(),
                    secret: secret.clone(),
                };
                let grant = match x::exchange_code(
                    platform.channels.http,
                    &api,
                    &client,
                    &code,
                    redirect,
                    &verifier,
                )
                .await
                {
                    Ok(g) => g,
                    Err(f) => return Ok(Completed::NotConnected(f.to_string())),
                };
                let req = CreateChannel {
                    kind: "x".into(),
                    access_token: Some(grant.access_token),
                    refresh_token: grant.refresh_token,
                    expires_in: grant.expires_in,
                    api_base: Some(app.api_base.clone()),
                    client_id: Some(app.client_id.clone()),
                    client_secret: secret,
                    ..CreateChannel::default()
                };
                self.connected(who, platform, &req, None).await
            }
            Step::Github { verifier } => {
                let app = github_app(platform)?;
                let token = match exchange_token(app, &code, redirect, &verifier).await {
                    Ok(t) => t,
                    Err(e) => {
                        return Ok(Completed::NotConnected(format!(
                            "GitHub did not connect: {e}"
                        )));
                    }
                };
                self.github_granted(who, platform, token, started).await
            }
            Step::LinkedinPage { .. } | Step::GithubPick { .. } => {
                Err(AppError::BadRequest(format!(
                    "This {name} connection is waiting for a choice, not an answer; start again from {}.",
                    flow.start_again()
                )))
            }
        }
    }

    /// The LinkedIn page chosen after "Connect a LinkedIn page": the grant sealed in the
    /// flow posts as it, if it was among those LinkedIn offered.
    pub async fn choose_page(
        &self,
        who: &Acting<Editor>,
        platform: &OAuthPlatform<'_>,
        sealed: Option<&str>,
        state: Option<&str>,
        organization: &str,
    ) -> Result<Completed, AppError> {
        let flow = Flow::Linkedin { pages: true };
        let (Step::LinkedinPage { grant, pages }, _) = open(platform, who, flow, sealed, state)?
        else {
            return Err(AppError::BadRequest(
                "This LinkedIn connection is not waiting for a page; start again from Channels."
                    .into(),
            ));
        };
        let Some((urn, name)) = pages.into_iter().find(|(urn, _)| urn == organization) else {
            return Err(AppError::BadRequest(
                "That page was not among the ones LinkedIn offered; start again from Channels."
                    .into(),
            ));
        };
        self.linkedin_channel(who, platform, grant, urn, Some(name))
            .await
    }

    /// The ticked repositories become sources with the token sealed in the flow, each
    /// through [`App::add_source`] (its checks, webhook and audit apply): each one's
    /// outcome, in the order given.
    pub async fn pick_repos(
        &self,
        who: &Acting<Editor>,
        platform: &OAuthPlatform<'_>,
        sealed: Option<&str>,
        state: Option<&str>,
        mut repos: Vec<String>,
    ) -> Result<Vec<(String, Result<Added, AppError>)>, AppError> {
        let (Step::GithubPick { token }, _) = open(platform, who, Flow::Github, sealed, state)?
        else {
            return Err(AppError::BadRequest(
                "The pending GitHub connection holds no token; start again from Sources.".into(),
            ));
        };
        repos.sort_unstable();
        repos.dedup();
        if repos.is_empty() {
            return Err(AppError::Invalid("Tick at least one repository.".into()));
        }
        if repos.len() > MAX_PICKED {
            return Err(AppError::Invalid(format!(
                "{} repositories were ticked; connect at most {MAX_PICKED} at a time.",
                repos.len()
            )));
        }
        let mut outcomes = Vec::with_capacity(repos.len());
        for repo in repos {
            let req = CreateSource::Github {
                repo: repo.clone(),
                secret: None,
                token: Some(token.clone()),
            };
            let added = self.add_source(who, req, &platform.sources).await;
            outcomes.push((repo, added));
        }
        Ok(outcomes)
    }

    async fn linkedin_granted(
        &self,
        who: &Acting<Editor>,
        platform: &OAuthPlatform<'_>,
        code: &str,
        redirect: &str,
        pages: bool,
        started: UnixMillis,
    ) -> Result<Completed, AppError> {
        let app = app_for(platform, Flow::Linkedin { pages })?;
        let http = platform.channels.http;
        let web = address(&app.web_base, "LinkedIn")?;
        let grant = match linkedin::exchange_code(
            http,
            &web,
            &app.client_id,
            &app.client_secret,
            code,
            redirect,
        )
        .await
        {
            Ok(g) => g,
            Err(f) => return Ok(Completed::NotConnected(f.to_string())),
        };
        let api = address(&app.api_base, "LinkedIn API")?;
        let (sub, _) = match linkedin::member(http, &api, &grant.access_token).await {
            Ok(m) => m,
            Err(f) => return Ok(Completed::NotConnected(f.to_string())),
        };
        if !pages {
            let author = format!("urn:li:person:{sub}");
            return self
                .linkedin_channel(who, platform, grant, author, None)
                .await;
        }
        let offered = match linkedin::pages(http, &api, &grant.access_token).await {
            Ok(p) => p,
            Err(f) => {
                return Ok(Completed::NotConnected(format!(
                    "Could not list your LinkedIn pages: {f}"
                )));
            }
        };
        match <[_; 1]>::try_from(offered) {
            Ok([(urn, name)]) => {
                self.linkedin_channel(who, platform, grant, urn, Some(name))
                    .await
            }
            Err(offered) if offered.is_empty() => Ok(Completed::NotConnected(
                "LinkedIn says you administer no page (an approved administrator or content admin role is needed to post as one). Connect your own profile instead, or ask a page admin to add you.".into(),
            )),
            Err(offered) => {
                let next = seal(
                    platform,
                    who,
                    started,
                    Step::LinkedinPage {
                        grant,
                        pages: offered.clone(),
                    },
                );
                Ok(Completed::ChoosePage {
                    pages: offered,
                    next,
                })
            }
        }
    }

    /// The channel for a LinkedIn grant posting as `author`.
    async fn linkedin_channel(
        &self,
        who: &Acting<Editor>,
        platform: &OAuthPlatform<'_>,
        grant: linkedin::Grant,
        author: String,
        page: Option<String>,
    ) -> Result<Completed, AppError> {
        let app = app_for(
            platform,
            Flow::Linkedin {
                pages: page.is_some(),
            },
        )?;
        let req = CreateChannel {
            kind: "linkedin".into(),
            name: page.as_ref().map(|p| format!("LinkedIn · {p}")),
            access_token: Some(grant.access_token),
            author: Some(author),
            api_base: Some(app.api_base.clone()),
            expires_in: grant.expires_in,
            refresh_token: grant.refresh_token,
            refresh_token_expires_in: grant.refresh_token_expires_in,
            ..CreateChannel::default()
        };
        self.connected(who, platform, &req, page).await
    }

    /// Makes the channel through [`App::create_channel`], so its checks and audit apply.
    async fn connected(
        &self,
        who: &Acting<Editor>,
        platform: &OAuthPlatform<'_>,
        req: &CreateChannel,
        page: Option<String>,
    ) -> Result<Completed, AppError> {
        let secrets = platform.sources.secrets;
        let (channel, _) = self
            .create_channel(who, req, &platform.channels, |s| secrets.seal(s))
            .await?;
        Ok(Completed::Channel {
            channel: Box::new(channel),
            page,
        })
    }

    /// The repositories GitHub lists for the granted token; the token waits, sealed,
    /// while the person ticks some.
    async fn github_granted(
        &self,
        who: &Acting<Editor>,
        platform: &OAuthPlatform<'_>,
        token: String,
        started: UnixMillis,
    ) -> Result<Completed, AppError> {
        let app = github_app(platform)?;
        let api = crate::github::Api::new(&app.api_base, token.clone());
        let listed = match api.user_repos().await {
            Ok(r) => r,
            Err(e) => {
                return Ok(Completed::NotConnected(format!(
                    "Could not list your GitHub repositories: {e}"
                )));
            }
        };
        if listed.is_empty() {
            return Ok(Completed::NotConnected(
                "GitHub lists no repository for this account; create one or ask to be added to one, then connect again.".into(),
            ));
        }
        let connected: Vec<String> = self
            .store()
            .list_sources(who.workspace().id)
            .await?
            .into_iter()
            .filter(|s| s.kind == SourceKind::Github)
            .filter_map(|s| s.repo.map(|r| r.to_ascii_lowercase()))
            .collect();
        let repos = listed
            .iter()
            .map(|r| Repo {
                connected: connected.contains(&r.full_name.to_ascii_lowercase()),
                name: r.full_name.clone(),
                private: r.private,
                description: r.description.clone().unwrap_or_default(),
                hook: r.can_hook(),
            })
            .collect();
        let next = seal(platform, who, started, Step::GithubPick { token });
        Ok(Completed::PickRepos { repos, next })
    }
}
