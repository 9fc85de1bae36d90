//! Signing up and in: accounts with a password or a GitHub identity, the first workspace
//! of a new account, and server-side sessions (a fresh id at every sign-in; the session
//! the browser came with ends). Account events (`auth.signup`, `auth.login`,
//! `auth.login_failed`) go to the person's own audit log.
//!
//! Adapters keep what is theirs: the cookie that carries a session, and the rate limit
//! on attempts, checked before these are called.

use crate::github::oauth::GithubUser;
use crate::{App, AppError, password, tokens};
use covalynce_domain::{Email, Plan, UserId, WorkspaceSlug, now_millis};
use covalynce_storage::{Acceptance, NewAudit, NewSession, NewUser, User};
use serde_json::json;
use std::time::Duration;

/// Who may sign up, and on which plan new workspaces start: the operator's settings.
#[derive(Clone, Copy, Debug)]
pub struct SignUpPolicy {
    /// Anyone may sign up (`--open-signup`); otherwise only the first person on a new
    /// server and people holding an invitation.
    pub open: bool,
    pub default_plan: Plan,
}

/// Where a sign-in comes from, and how long its session lasts without use.
#[derive(Clone, Debug, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session the browser came with (its cookie's value), ended on sign-in.
    pub previous: Option<String>,
    pub idle: Duration,
}

/// A session just started: the value its cookie carries (only its hash is stored) and
/// the CSRF token its forms send.
#[derive(Debug)]
pub struct Session {
    pub value: String,
    pub csrf: String,
}

/// A new account with a password.
#[derive(Debug)]
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    /// The new workspace's slug (default: from the email). Ignored with an invitation.
    pub workspace: Option<String>,
    /// Join that workspace instead of creating one.
    pub invitation: Option<String>,
}

fn by_invitation() -> AppError {
    AppError::Forbidden(
        "sign-up on this server is by invitation: ask a workspace owner for a link".into(),
    )
}

impl App {
    /// Creates an account with a password and signs it in.
    pub async fn sign_up(
        &self,
        policy: SignUpPolicy,
        account: NewAccount,
        client: &Client,
    ) -> Result<(User, Session), AppError> {
        let email = Email::parse(&account.email).map_err(|e| AppError::Invalid(e.0))?;
        password::check_new(&account.password, email.as_str()).map_err(AppError::Invalid)?;
        let first = !self.store().has_users().await?;
        if !(first || policy.open || account.invitation.is_some()) {
            return Err(by_invitation());
        }
        let hash = password::hash(account.password).await.map_err(|e| {
            // The cause is the server's business, not the person's.
            tracing::error!(error = %e, "hashing a password");
            AppError::Unavailable("the account could not be created just now; try again".into())
        })?;
        let user = self
            .store()
            .create_user(&NewUser {
                id: UserId::new(),
                email,
                name: account.name.unwrap_or_default().chars().take(100).collect(),
                password_hash: Some(hash),
                github_id: None,
                github_login: None,
            })
            .await?
            .ok_or_else(|| {
                AppError::Conflict("an account with this email exists: sign in instead".into())
            })?;
        self.join_or_create(
            policy,
            &user,
            account.invitation.as_deref(),
            account.workspace.as_deref(),
        )
        .await?;
        let method = json!({"method": "password"});
        self.account_event(Some(user.id), "auth.signup", client, method)
            .await;
        let session = self.start_session(&user, client).await?;
        Ok((user, session))
    }

    /// Checks a password and starts a session. A wrong email and a wrong password get
    /// the same answer in the same time (a dummy hash is checked for an unknown email).
    pub async fn sign_in(
        &self,
        email: &str,
        given: &str,
        client: &Client,
    ) -> Result<(User, Session), AppError> {
        let user = match Email::parse(email) {
            Ok(e) => self.store().user_by_email(&e).await?,
            Err(_) => None,
        };
        let given = given.chars().take(password::MAX_LEN).collect();
        let ok = password::verify(given, user.as_ref().and_then(|u| u.password_hash.clone())).await;
        let user = match (ok, user) {
            (true, Some(user)) => user,
            (_, user) => {
                if let Some(u) = user {
                    self.account_event(Some(u.id), "auth.login_failed", client, json!({}))
                        .await;
                }
                return Err(AppError::Unauthorized(
                    "the email or password is wrong".into(),
                ));
            }
        };
        let session = self.start_session(&user, client).await?;
        let method = json!({"method": "password"});
        self.account_event(Some(user.id), "auth.login", client, method)
            .await;
        Ok((user, session))
    }

    /// Signs in the person GitHub vouched for: their linked account, else the account
    /// with the same verified email (linked now), else a new account (when sign-up is
    /// open to them) with its first workspace. An invitation is accepted on the way.
    pub async fn sign_in_with_github(
        &self,
        policy: SignUpPolicy,
        gh: &GithubUser,
        invitation: Option<&str>,
        client: &Client,
    ) -> Result<(User, Session), AppError> {
        let mut created = false;
        let user = match self.store().user_by_github(gh.id).await? {
            Some(u) => u,
            None => {
                let email = gh
                    .verified_email
                    .as_deref()
                    .and_then(|e| Email::parse(e).ok())
                    .ok_or_else(|| {
                        AppError::Forbidden(
                            "your GitHub account has no verified primary email; verify one on GitHub and try again".into(),
                        )
                    })?;
                match self.store().user_by_email(&email).await? {
                    // The same verified address: the same person.
                    Some(existing) => {
                        self.store()
                            .link_github(existing.id, gh.id, &gh.login)
                            .await?;
                        existing
                    }
                    None => {
                        let first = !self.store().has_users().await?;
                        if !(first || policy.open || invitation.is_some()) {
                            return Err(by_invitation());
                        }
                        let user = self
                            .store()
                            .create_user(&NewUser {
                                id: UserId::new(),
                                email,
                                name: gh.name.clone().unwrap_or_else(|| gh.login.clone()),
                                password_hash: None,
                                github_id: Some(gh.id),
                                github_login: Some(gh.login.clone()),
                            })
                            .await?
                            .ok_or_else(|| {
                                AppError::Conflict("this GitHub account is already linked".into())
                            })?;
                        let wish = self.free_slug(&gh.login).await?;
                        self.join_or_create(policy, &user, invitation, Some(wish.as_str()))
                            .await?;
                        let method = json!({"method": "github"});
                        self.account_event(Some(user.id), "auth.signup", client, method)
                            .await;
                        created = true;
                        user
                    }
                }
            }
        };
        if !created && let Some(token) = invitation {
            // Best effort: a stale link should not stop a known person signing in.
            let _ = self
                .store()
                .accept_invitation(&tokens::hash(token), user.id, now_millis())
                .await?;
        }
        let session = self.start_session(&user, client).await?;
        let detail = json!({"method": "github", "github_login": gh.login});
        self.account_event(Some(user.id), "auth.login", client, detail)
            .await;
        Ok((user, session))
    }

    /// A one-time sign-in link's token for a person, valid for `valid`; earlier links of
    /// theirs stop working. Stored (hashed) in the database, so the process that prints
    /// it (`serve --demo`, `covalynce demo-link`) need not be the one that serves it.
    pub async fn login_link(&self, user: UserId, valid: Duration) -> Result<String, AppError> {
        let token = tokens::random_token();
        let until = now_millis() + i64::try_from(valid.as_millis()).unwrap_or(i64::MAX / 2);
        self.store()
            .create_login_link(&tokens::hash(&token), user, until)
            .await?;
        Ok(token)
    }

    /// Signs in with a one-time link; `None` when it is used, expired or unknown (one
    /// answer for all three: a guess learns nothing).
    pub async fn sign_in_with_login_link(
        &self,
        token: &str,
        client: &Client,
    ) -> Result<Option<(User, Session)>, AppError> {
        let Some(user_id) = self
            .store()
            .take_login_link(&tokens::hash(token), now_millis())
            .await?
        else {
            return Ok(None);
        };
        let Some(user) = self.store().user(user_id).await? else {
            return Ok(None);
        };
        let session = self.start_session(&user, client).await?;
        let method = json!({"method": "link"});
        self.account_event(Some(user.id), "auth.login", client, method)
            .await;
        Ok(Some((user, session)))
    }

    /// Ends one session: the browser that sent it is signed out. `session_hash` is the
    /// stored hash of the cookie's value (the adapter found the session by it).
    pub async fn sign_out(&self, session_hash: &str) -> Result<(), AppError> {
        self.store().delete_session(session_hash).await?;
        Ok(())
    }

    /// Ends every session of a person, on every browser: how many ended. API tokens
    /// are not sessions; they are revoked on their own.
    pub async fn sign_out_everywhere(&self, user: UserId) -> Result<u64, AppError> {
        Ok(self.store().delete_user_sessions(user).await?)
    }

    /// Starts a fresh session (a new id every sign-in: a session fixed before sign-in is
    /// worth nothing after), ending the one the browser came with.
    async fn start_session(&self, user: &User, client: &Client) -> Result<Session, AppError> {
        if let Some(old) = &client.previous {
            self.store().delete_session(&tokens::hash(old)).await?;
        }
        let session = Session {
            value: tokens::random_token(),
            csrf: tokens::random_token(),
        };
        self.store()
            .create_session(&NewSession {
                id_hash: tokens::hash(&session.value),
                user_id: user.id,
                csrf_token: session.csrf.clone(),
                expires_at: now_millis() + client.idle.as_millis() as i64,
                ip: client.ip.clone(),
                user_agent: client
                    .user_agent
                    .as_deref()
                    .map(|v| v.chars().take(200).collect()),
            })
            .await?;
        Ok(session)
    }

    /// An account event in the person's own log (not a workspace's).
    async fn account_event(
        &self,
        user: Option<UserId>,
        action: &str,
        client: &Client,
        detail: serde_json::Value,
    ) {
        let entry = NewAudit {
            workspace_id: None,
            user_id: user,
            actor: user.map_or_else(|| "anonymous".to_owned(), |u| format!("user:{u}")),
            action: action.to_owned(),
            target: None,
            detail,
            ip: client.ip.clone(),
        };
        if let Err(e) = self.store().audit(&entry).await {
            tracing::error!(error = %e, action, "could not write the audit log");
        }
    }

    /// A new account's first workspace: the invitation's, or one of their own.
    async fn join_or_create(
        &self,
        policy: SignUpPolicy,
        user: &User,
        invitation: Option<&str>,
        wish: Option<&str>,
    ) -> Result<(), AppError> {
        let own = user.email.as_str().split('@').next().unwrap_or("me");
        let Some(token) = invitation else {
            let slug = match wish {
                Some(w) => WorkspaceSlug::parse(w).map_err(|e| AppError::Invalid(e.0))?,
                None => self.free_slug(own).await?,
            };
            self.create_workspace(user, &slug, policy.default_plan)
                .await?
                .ok_or_else(|| AppError::Conflict(format!("the workspace name {slug} is taken")))?;
            return Ok(());
        };
        let accepted = self
            .store()
            .accept_invitation(&tokens::hash(token), user.id, now_millis())
            .await?;
        if let Acceptance::Joined { .. } = accepted {
            return Ok(());
        }
        // The account exists now; without a seat or a valid link it starts with its own.
        let slug = self.free_slug(own).await?;
        self.create_workspace(user, &slug, policy.default_plan)
            .await?;
        Err(match accepted {
            Acceptance::Full { plan, seats } => AppError::PlanLimit(format!(
                "the account was created, but the workspace's {plan} plan has no seat left ({seats} in all); ask its owner to upgrade"
            )),
            _ => AppError::Conflict(
                "the account was created, but the invitation is unknown, used or expired; ask for a new link".into(),
            ),
        })
    }

    /// A free workspace slug from a wish or an email: `ada`, else `ada-2f9c`.
    async fn free_slug(&self, wish: &str) -> Result<WorkspaceSlug, AppError> {
        let base: String = wish
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .trim_matches('-')
            .chars()
            .take(30)
            .collect();
        let base = if base.is_empty() {
            "workspace".to_owned()
        } else {
            base
        };
        for attempt in 0..5 {
            let candidate = if attempt == 0 {
                base.clone()
            } else {
                format!("{base}-{}", &hex::encode(rand::random::<[u8; 2]>()))
            };
            if let Ok(slug) = WorkspaceSlug::parse(&candidate)
                && self.store().workspace_by_slug(&slug).await?.is_none()
            {
                return Ok(slug);
            }
        }
        Err(AppError::Conflict(
            "could not find a free workspace name; choose one".into(),
        ))
    }
}
