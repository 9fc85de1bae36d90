//! `serve --demo`: a workspace whose cards are drafted from a real git history — the
//! current directory's repository, or Covalynce's own — so the first thing a newcomer
//! sees is real.

use crate::sources::watch::{project_name, push_event, store_events, tag_event};
use covalynce_domain::WorkspaceId;
use covalynce_sources::git::Repo;
use covalynce_storage::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The repository the demo drafts from.
pub fn demo_repository() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok();
    // Covalynce's own checkout, when the binary was built from one.
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    cwd.into_iter()
        .chain([own])
        .find(|p| Repo::open(p).is_ok())
        .and_then(|p| p.canonicalize().ok())
}

/// The demo's reviewer: `serve --demo` makes this account (no password) and the one-time
/// links sign it in.
pub const REVIEWER_EMAIL: &str = "demo@covalynce.local";

/// How long a demo sign-in link works.
pub const LINK_VALID: std::time::Duration = std::time::Duration::from_secs(3600);

pub struct Seeded {
    pub repository: PathBuf,
    pub events: usize,
}

/// Registers the repository as a git source of the workspace and turns its recent history
/// into events — the last two releases (tags) and the latest commits since — which the
/// workers then draft into cards. Running it again adds nothing: the events' keys dedupe.
async fn seed(store: &Arc<dyn Store>, ws: WorkspaceId) -> anyhow::Result<Option<Seeded>> {
    let Some(path) = demo_repository() else {
        return Ok(None);
    };
    // The operator ran `serve --demo` here: the demo workspace may read this repository.
    let source = crate::App::new(store.clone())
        .watch_git_repository(ws, &path)
        .await?;
    let scan_path = path.clone();
    let events = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let repo = crate::drafting::open_analyzed(&scan_path)?;
        let project = project_name(&repo);
        let mut events = Vec::new();
        for tag in repo.recent_tags(2)?.iter().rev() {
            let range = repo.range(None, tag)?;
            let sha = range
                .commits
                .last()
                .map(|c| c.id.clone())
                .unwrap_or_default();
            events.push(tag_event(
                &repo,
                &project,
                tag,
                &sha,
                range.from.as_deref(),
                &range.commits,
            ));
        }
        // The latest commits, each as its own push, oldest first: a stack of cards. They
        // landed on the checked-out branch (said in the posts: never a guessed "main").
        let branch = repo.head()?.and_then(|(_, b)| b);
        let mut recent = repo.log("HEAD", 8)?;
        recent.retain(|c| !c.is_merge);
        recent.reverse();
        let mut before: Option<String> = None;
        for commit in recent {
            let id = commit.id.clone();
            events.push(push_event(
                &repo,
                &project,
                branch.as_deref(),
                before.as_deref(),
                &id,
                std::slice::from_ref(&commit),
            ));
            before = Some(id);
        }
        Ok(events)
    })
    .await??;
    let found = store_events(store.as_ref(), ws, source.id, events).await?;
    // From here on, the watcher reports what is new.
    if source.cursor.is_none() {
        let source = store.source(source.id).await?.expect("just stored");
        crate::sources::watch::poll(store.as_ref(), &source).await?;
    }
    Ok(Some(Seeded {
        repository: path,
        events: found,
    }))
}

/// The demo's reviewer: `demo@covalynce.local` (no password: they sign in with the
/// one-time link printed at start), owner of the demo workspace, which gets an outbox
/// channel so that approved cards visibly go somewhere. Idempotent.
async fn reviewer(store: &dyn Store, ws: WorkspaceId) -> anyhow::Result<covalynce_domain::UserId> {
    use covalynce_domain::{Email, InvitationId, Role, UserId, now_millis};
    use covalynce_storage::{Acceptance, NewChannel, NewInvitation, NewUser};
    let email = Email::parse(REVIEWER_EMAIL).map_err(|e| anyhow::anyhow!(e.0))?;
    let user = match store.user_by_email(&email).await? {
        Some(u) => u,
        None => store
            .create_user(&NewUser {
                id: UserId::new(),
                email: email.clone(),
                name: "Demo reviewer".into(),
                password_hash: None,
                github_id: None,
                github_login: None,
            })
            .await?
            .ok_or_else(|| anyhow::anyhow!("the demo reviewer could not be created"))?,
    };
    if store.member_role(ws, user.id).await?.is_none() {
        let token = crate::tokens::random_token();
        store
            .create_invitation(&NewInvitation {
                id: InvitationId::new(),
                workspace_id: ws,
                role: Role::Owner,
                token_hash: crate::tokens::hash(&token),
                created_by: None,
                expires_at: now_millis() + 60_000,
            })
            .await?;
        if !matches!(
            store
                .accept_invitation(&crate::tokens::hash(&token), user.id, now_millis())
                .await?,
            Acceptance::Joined { .. }
        ) {
            anyhow::bail!("the demo reviewer could not join the demo workspace");
        }
    }
    // An outbox to approve into, unless one still works (an older demo's outbox named a
    // path and was stopped at start).
    let channels = store.list_channels(ws).await?;
    if !channels
        .iter()
        .any(|c| c.status == covalynce_domain::ChannelStatus::Active)
    {
        store
            .insert_channel(&NewChannel {
                id: covalynce_domain::ChannelId::new(),
                workspace_id: ws,
                name: "Outbox (demo)".into(),
                config: covalynce_domain::ChannelConfig::new(
                    covalynce_domain::ChannelSettings::Outbox(
                        covalynce_domain::channel::OutboxSettings {
                            file: Some(covalynce_publishing::outbox::DEFAULT_FILE.to_owned()),
                            variant: "linkedin".to_owned(),
                            path: None,
                        },
                    ),
                ),
                sealed_credentials: None,
            })
            .await?;
    }
    Ok(user.id)
}

/// A new sign-in link for the demo's reviewer (`covalynce demo-link`), made through the
/// same use case the demo uses at start.
pub async fn link(store: &Arc<dyn Store>) -> anyhow::Result<String> {
    let slug =
        covalynce_domain::WorkspaceSlug::parse("demo").map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(ws) = store.workspace_by_slug(&slug).await? else {
        anyhow::bail!(
            "there is no demo here (no workspace \"demo\" in this data dir or database): \
             start one with `covalynce serve --demo`"
        );
    };
    // Only the reviewer `serve --demo` made, already in the demo workspace: this command
    // never adds anyone (a workspace someone named "demo" gets no new owner from it).
    let email = covalynce_domain::Email::parse(REVIEWER_EMAIL).map_err(|e| anyhow::anyhow!(e.0))?;
    let reviewer = match store.user_by_email(&email).await? {
        Some(user) if store.member_role(ws.id, user.id).await?.is_some() => user.id,
        _ => anyhow::bail!(
            "the workspace \"demo\" here was not made by `covalynce serve --demo` (it has no \
             demo reviewer): no link is made for it"
        ),
    };
    Ok(crate::App::new(store.clone())
        .login_link(reviewer, LINK_VALID)
        .await?)
}

/// What `serve --demo` made: the token it prints, what it drafts from, and the reviewer's
/// sign-in link. The seed and the link are results of their own: the demo starts without
/// them (and says why) rather than not at all.
pub struct Started {
    pub token: String,
    pub seeded: anyhow::Result<Option<Seeded>>,
    pub link: anyhow::Result<String>,
}

/// `serve --demo`: the "demo" workspace (made if needed, on the UNLIMITED plan — the
/// operator's own trial, where SOLO's five cards would be spent by the seed alone), a fresh
/// owner token (the ones earlier starts printed are revoked, so restarts do not pile them
/// up; a "demo" token the operator made by hand is kept), the seed, and the reviewer.
pub async fn start(store: &Arc<dyn Store>) -> anyhow::Result<Started> {
    let ws = store
        .ensure_workspace(&covalynce_domain::WorkspaceSlug::parse("demo").expect("valid slug"))
        .await?;
    let app = crate::App::new(store.clone());
    if ws.plan == covalynce_domain::Plan::Solo {
        let operator = crate::operator::operator_in(ws.clone())?;
        app.set_plan(&operator, covalynce_domain::Plan::Unlimited)
            .await?;
    }
    let (_, made) = app
        .operator_token(&ws.slug, "serve --demo", crate::operator::Earlier::Revoke)
        .await?;
    let seeded = seed(store, ws.id).await;
    let link = match reviewer(store.as_ref(), ws.id).await {
        Ok(user) => app
            .login_link(user, LINK_VALID)
            .await
            .map_err(|e| anyhow::anyhow!("could not make a sign-in link: {e}")),
        Err(e) => Err(e.context("could not prepare the demo reviewer")),
    };
    Ok(Started {
        token: made.token,
        seeded,
        link,
    })
}
