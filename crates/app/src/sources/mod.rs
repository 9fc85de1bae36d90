//! Sources: where a workspace's work comes from. A member adds GitHub repositories (with a
//! token: checked, webhook created, polled), Jira sites and local git repositories (only
//! inside the paths the server's operator allowed the workspace), turns a source's CI gate
//! on or off, and removes sources; the operator adds local repositories too (`covalynce
//! watch PATH`, `serve --demo`): the same checks, one path. The API and the Sources page
//! both call these.

pub mod watch;

use crate::audit::Action;
use crate::connect::signing_secret;
use crate::github::{Api, GithubError, GithubOAuth};
use crate::secrets::SecretBox;
use crate::{Acting, App, AppError, Editor};
use covalynce_domain::{GateConfig, RepoSlug, SourceId, SourceKind, SourceSettings, WorkspaceId};
use covalynce_storage::{GitSourceInsert, NewSource, Source};
use serde::Deserialize;
use std::path::Path;

/// A source to add, as the API (`POST /api/v1/sources`) and the Sources page ask for it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CreateSource {
    /// A GitHub repository. With a `token` (OAuth or a personal access token with `repo`
    /// and `admin:repo_hook`), Covalynce creates the webhook itself when this server has
    /// a public URL, polls the repository's events (always, as backfill behind the
    /// webhook), and reads diffs from the API. Without one, set the webhook up on GitHub
    /// with `webhook_url` and the secret.
    Github {
        /// `owner/name`.
        repo: String,
        /// The webhook secret to set on GitHub. Omit it and one is generated (and, without
        /// a token, returned once).
        secret: Option<String>,
        /// A GitHub token the source acts with (sealed; never shown again).
        token: Option<String>,
    },
    /// A local git repository, by absolute path.
    Git { path: String },
    /// A Jira Cloud site: create an admin webhook (System → WebHooks) for "Issue updated"
    /// with `webhook_url` and the secret; issues moving to a done-category status become
    /// events.
    Jira {
        /// A label for the site or project (`acme.atlassian.net`, `Rocket`).
        name: String,
        /// The webhook secret to set in Jira. Omit it and one is generated and returned once.
        secret: Option<String>,
        /// `false` for Jira webhooks that cannot sign (no secret field): deliveries then
        /// carry the secret in the URL instead (`webhook_url`, shown once). Default true.
        #[serde(default)]
        signed: Option<bool>,
    },
}

/// A source just added, and what is shown this once.
pub struct Added {
    pub source: Source,
    /// The secret the server generated, when somebody must copy it somewhere.
    pub secret: Option<String>,
    /// A Jira source that cannot sign: the webhook URL that carries its secret.
    pub unsigned_url: Option<String>,
}

/// What adding and removing sources needs of the server: the key that seals secrets,
/// GitHub (its API, the OAuth app), the public URL webhooks are sent to, and its cache of
/// sources that receive webhooks.
pub struct SourcePlatform<'a> {
    pub secrets: &'a SecretBox,
    pub github: Option<&'a GithubOAuth>,
    pub public_url: Option<&'a str>,
    pub deliveries: &'a dyn Deliveries,
}

/// The server's cache of the sources that receive webhooks (their secrets, for checking
/// signatures).
pub trait Deliveries: Send + Sync {
    /// A removed source must stop accepting deliveries now, not when the cache expires.
    fn forget(&self, source: SourceId);
}

/// The CI gate as a person sets it for a source.
pub struct SetGate {
    /// Off: cards go to the stack whatever CI says.
    pub enabled: bool,
    /// The workflows that must be green (empty: every workflow that runs).
    pub workflows: Vec<String>,
    /// How long a first card waits for any CI (seconds, 1 to 604800); `None` keeps the
    /// source's current wait.
    pub absent_after_secs: Option<u64>,
}

impl App {
    /// A member adds a source (see [`CreateSource`]).
    pub async fn add_source(
        &self,
        who: &Acting<Editor>,
        req: CreateSource,
        platform: &SourcePlatform<'_>,
    ) -> Result<Added, AppError> {
        let ws = who.workspace().id;
        let id = SourceId::new();
        let (new, secret, unsigned_url) = match req {
            CreateSource::Git { path } => {
                let source = self.add_git_source(who, &path).await?;
                return Ok(Added {
                    source,
                    secret: None,
                    unsigned_url: None,
                });
            }
            CreateSource::Github {
                repo,
                secret,
                token: Some(token),
            } => {
                let repo = RepoSlug::parse(&repo).map_err(|e| AppError::Invalid(e.0))?;
                let source = self
                    .connect_github(ws, id, repo, secret, token, platform)
                    .await?;
                self.record(
                    who,
                    Action::AddSource,
                    source.id,
                    serde_json::json!({ "kind": "github", "token": true }),
                )
                .await;
                return Ok(Added {
                    source,
                    secret: None,
                    unsigned_url: None,
                });
            }
            CreateSource::Github {
                repo,
                secret,
                token: None,
            } => {
                let repo = RepoSlug::parse(&repo).map_err(|e| AppError::Invalid(e.0))?;
                let (secret, generated) = signing_secret(secret)?;
                let new = NewSource {
                    id,
                    workspace_id: ws,
                    kind: SourceKind::Github,
                    repo: Some(repo.to_string()),
                    path: None,
                    sealed_secret: Some(platform.secrets.seal(secret.as_bytes())),
                    settings: SourceSettings::default(),
                    sealed_token: None,
                };
                (new, generated, None)
            }
            CreateSource::Jira {
                name,
                secret,
                signed,
            } => {
                let name = name.trim();
                if name.is_empty() || name.chars().count() > 200 {
                    return Err(AppError::Invalid(
                        "name must be 1 to 200 characters (the site or project)".into(),
                    ));
                }
                let (secret, generated) = signing_secret(secret)?;
                let unsigned = signed == Some(false);
                let new = NewSource {
                    id,
                    workspace_id: ws,
                    kind: SourceKind::Jira,
                    repo: Some(name.to_owned()),
                    path: None,
                    sealed_secret: Some(platform.secrets.seal(secret.as_bytes())),
                    settings: SourceSettings {
                        unsigned,
                        note: unsigned.then(|| {
                            "takes unsigned deliveries whose URL carries the secret".to_owned()
                        }),
                        ..Default::default()
                    },
                    sealed_token: None,
                };
                // The URL with its secret is shown once, like the secret itself.
                if unsigned {
                    let url = format!("/hooks/jira/{id}?secret={secret}");
                    (new, generated.or(Some(secret)), Some(url))
                } else {
                    (new, generated, None)
                }
            }
        };
        let kind = new.kind;
        let source = self.store().insert_source(&new).await?;
        self.record(
            who,
            Action::AddSource,
            source.id,
            serde_json::json!({ "kind": kind.as_str() }),
        )
        .await;
        Ok(Added {
            source,
            secret,
            unsigned_url,
        })
    }

    /// The workspace's source for events reported through the API, made on first use:
    /// every event needs a source, and asking a script to create one first would be input
    /// for nothing.
    pub async fn api_source(&self, who: &Acting<Editor>) -> Result<SourceId, AppError> {
        let source = self
            .store()
            .api_source(&NewSource {
                id: SourceId::new(),
                workspace_id: who.workspace().id,
                kind: SourceKind::Generic,
                repo: Some("api".into()),
                path: None,
                sealed_secret: None,
                settings: Default::default(),
                sealed_token: None,
            })
            .await?;
        Ok(source.id)
    }

    /// A GitHub source with a token: the repository is checked with it, a fresh secret is
    /// generated (nobody copies it anywhere), and the webhook is created on GitHub when it
    /// can be; the source polls either way.
    async fn connect_github(
        &self,
        ws: WorkspaceId,
        id: SourceId,
        repo: RepoSlug,
        secret: Option<String>,
        token: String,
        platform: &SourcePlatform<'_>,
    ) -> Result<Source, AppError> {
        let token = token.trim().to_owned();
        if token.is_empty() || token.len() > 1000 {
            return Err(AppError::Invalid(
                "token must be 1 to 1000 characters".into(),
            ));
        }
        let api = Api::new(&Api::base_for(platform.github), token.clone());
        let found = api.repository(&repo).await.map_err(|e| match e {
            GithubError::NotFound(_) => AppError::Invalid(format!(
                "GitHub has no repository {repo} that this token can see"
            )),
            GithubError::Refused(m) => AppError::Invalid(format!("GitHub refused the token: {m}")),
            other => AppError::Unavailable(other.to_string()),
        })?;
        let (secret, _) = signing_secret(secret)?;
        let new = NewSource {
            id,
            workspace_id: ws,
            kind: SourceKind::Github,
            repo: Some(found.full_name.clone()),
            path: None,
            sealed_secret: Some(platform.secrets.seal(secret.as_bytes())),
            settings: SourceSettings {
                default_branch: found.default_branch.clone(),
                private: found.private,
                ..Default::default()
            },
            sealed_token: Some(platform.secrets.seal(token.as_bytes())),
        };
        let mut source = self.store().insert_source(&new).await?;
        match crate::github::create_hook_for(platform.public_url, id, &repo, &api, &secret).await {
            Ok(hook) => {
                self.store().set_source_hook(id, Some(hook)).await?;
                source.hook_id = Some(hook);
            }
            Err(note) => {
                tracing::info!(source = %id, %repo, note, "GitHub source polls");
                source.settings.note = Some(note.to_string());
                self.store()
                    .set_source_settings(ws, id, &source.settings)
                    .await?;
            }
        }
        Ok(source)
    }

    /// A member turns a source's CI gate on or off and names the workflows that count.
    /// Turned off, every card the source holds goes to the stack.
    pub async fn set_source_gate(
        &self,
        who: &Acting<Editor>,
        id: SourceId,
        gate: SetGate,
    ) -> Result<Source, AppError> {
        let ws = who.workspace().id;
        let not_found = || AppError::NotFound(format!("there is no source {id} in this workspace"));
        let mut source = self
            .store()
            .workspace_source(ws, id)
            .await?
            .ok_or_else(not_found)?;
        if gate.workflows.len() > 50
            || gate
                .workflows
                .iter()
                .any(|w| w.trim().is_empty() || w.len() > 200)
        {
            return Err(AppError::Invalid(
                "gate.workflows must be at most 50 workflow names of 1 to 200 characters".into(),
            ));
        }
        if gate
            .absent_after_secs
            .is_some_and(|s| !(1..=604_800).contains(&s))
        {
            return Err(AppError::Invalid(
                "gate.absent_after_secs must be between 1 and 604800 seconds".into(),
            ));
        }
        // Unsaid, the wait for a first CI run stays as it was (the page does not show it).
        let kept = source
            .settings
            .gate
            .as_ref()
            .and_then(|g| g.absent_after_secs);
        source.settings.gate = Some(GateConfig {
            enabled: Some(gate.enabled),
            workflows: gate.workflows,
            absent_after_secs: gate.absent_after_secs.or(kept),
        });
        if !self
            .store()
            .set_source_settings(ws, id, &source.settings)
            .await?
        {
            return Err(not_found());
        }
        let released = if gate.enabled {
            0
        } else {
            crate::jobs::gate::release_source(self.store(), ws, id).await?
        };
        self.record(
            who,
            Action::SetSourceGate,
            id,
            serde_json::json!({
                "enabled": gate.enabled,
                "workflows": source.settings.gate.as_ref().map(|g| g.workflows.clone()),
                "released": released,
            }),
        )
        .await;
        Ok(source)
    }

    /// A member removes a source: its deliveries and events go with it (cards stay). For a
    /// GitHub source connected with a token, the webhook Covalynce created is removed too.
    pub async fn remove_source(
        &self,
        who: &Acting<Editor>,
        id: SourceId,
        platform: &SourcePlatform<'_>,
    ) -> Result<Source, AppError> {
        let source = self
            .store()
            .delete_source(who.workspace().id, id)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!("there is no source {id} in this workspace"))
            })?;
        // Before anything is awaited: from now on no delivery for it is accepted.
        platform.deliveries.forget(id);
        crate::github::after_delete(platform.secrets, platform.github, &source).await;
        self.record(
            who,
            Action::RemoveSource,
            id,
            serde_json::json!({ "kind": source.kind.as_str() }),
        )
        .await;
        Ok(source)
    }

    /// A member adds a local git repository: it must lie inside a path the operator allowed
    /// this workspace (resolved first: symlinks and `..` cannot lead outside), be a git
    /// repository, and not be a source of the workspace already. Outside what was allowed,
    /// the answer is the same whether or not the path exists; inside it, a member may learn
    /// that a folder is no repository.
    pub async fn add_git_source(
        &self,
        who: &Acting<Editor>,
        path: &str,
    ) -> Result<Source, AppError> {
        let ws = who.workspace().id;
        let allowed = self.store().allowed_paths(ws).await?;
        let canonical = covalynce_sources::local::confine(path, &allowed)
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        let display = repository(&canonical, path)?;
        let source = match self.insert_git_source(ws, display.clone()).await? {
            GitSourceInsert::Inserted(source) => source,
            GitSourceInsert::Exists(existing) => {
                return Err(AppError::Conflict(format!(
                    "{display} is already source {} of this workspace",
                    existing.id
                )));
            }
        };
        self.record(
            who,
            Action::AddSource,
            source.id,
            serde_json::json!({ "kind": "git" }),
        )
        .await;
        Ok(source)
    }

    /// The operator names a repository for a workspace (`covalynce watch PATH`, `serve
    /// --demo`): exactly that path is allowed from now on (never a folder above it: naming a
    /// subdirectory must not open its parents to the workspace's members), it must open as
    /// a git repository (a subdirectory of a clone does), and it is the workspace's source
    /// (the one it already has for that path, if any).
    pub async fn watch_git_repository(
        &self,
        workspace: WorkspaceId,
        path: &Path,
    ) -> Result<Source, AppError> {
        let shown = path.display().to_string();
        let canonical = path
            .canonicalize()
            .map_err(|e| AppError::Invalid(format!("{shown} cannot be read: {e}")))?;
        covalynce_sources::git::Repo::open(&canonical)
            .map_err(|_| AppError::Invalid(format!("{shown} is not a git repository")))?;
        let display = canonical.display().to_string();
        self.store().allow_path(workspace, &display).await?;
        match self.insert_git_source(workspace, display).await? {
            GitSourceInsert::Inserted(source) | GitSourceInsert::Exists(source) => Ok(source),
        }
    }

    /// The workspace's source at `path`, made unless it has one there already (checked and
    /// made in one unit of work: two members adding a path at once make one source).
    async fn insert_git_source(
        &self,
        ws: WorkspaceId,
        path: String,
    ) -> Result<GitSourceInsert, AppError> {
        Ok(self
            .store()
            .insert_git_source(&NewSource {
                id: SourceId::new(),
                workspace_id: ws,
                kind: SourceKind::Git,
                repo: None,
                path: Some(path),
                sealed_secret: None,
                settings: Default::default(),
                sealed_token: None,
            })
            .await?)
    }
}

/// The resolved path as stored, if it is a git repository (a work tree or a bare one).
fn repository(canonical: &Path, requested: &str) -> Result<String, AppError> {
    if !is_repository(canonical) {
        return Err(AppError::Invalid(format!(
            "{requested} is not a git repository"
        )));
    }
    Ok(canonical.display().to_string())
}

fn is_repository(dir: &Path) -> bool {
    dir.join(".git").exists() || (dir.join("HEAD").is_file() && dir.join("objects").is_dir())
}

/// What every member may read of where work comes from.
impl App {
    /// The workspace's sources, and the local paths the operator allows it.
    pub async fn sources(
        &self,
        who: &Acting<crate::Viewer>,
    ) -> Result<(Vec<Source>, Vec<String>), AppError> {
        let ws = who.workspace().id;
        let sources = self.store().list_sources(ws).await?;
        let allowed = self.store().allowed_paths(ws).await?;
        Ok((sources, allowed))
    }

    /// One source of the workspace, and the local paths the operator allows it.
    pub async fn source(
        &self,
        who: &Acting<crate::Viewer>,
        source: SourceId,
    ) -> Result<Option<(Source, Vec<String>)>, AppError> {
        let ws = who.workspace().id;
        let Some(found) = self.store().workspace_source(ws, source).await? else {
            return Ok(None);
        };
        Ok(Some((found, self.store().allowed_paths(ws).await?)))
    }

    /// A page of the workspace's events, newest first.
    pub async fn events(
        &self,
        who: &Acting<crate::Viewer>,
        filter: &covalynce_storage::EventFilter,
    ) -> Result<Vec<covalynce_storage::EventRecord>, AppError> {
        Ok(self.store().list_events(who.workspace().id, filter).await?)
    }

    pub async fn event(
        &self,
        who: &Acting<crate::Viewer>,
        event: covalynce_domain::EventId,
    ) -> Result<Option<covalynce_storage::EventRecord>, AppError> {
        Ok(self.store().event(who.workspace().id, event).await?)
    }

    /// The newest webhook deliveries, of one source or all.
    pub async fn deliveries(
        &self,
        who: &Acting<crate::Viewer>,
        source: Option<SourceId>,
        limit: i64,
    ) -> Result<Vec<covalynce_storage::DeliveryRecord>, AppError> {
        let ws = who.workspace().id;
        Ok(self.store().list_deliveries(ws, source, limit).await?)
    }
}
