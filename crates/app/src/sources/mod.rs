//! Sources: where a workspace's work comes from. So far the local git repositories, which
//! a member adds (only inside the paths the server's operator allowed the workspace) and
//! the operator adds (`covalynce watch PATH`, `serve --demo`): the same checks, one path.

pub mod watch;

use crate::audit::Action;
use crate::{Acting, App, AppError, Editor};
use covalynce_domain::{SourceId, SourceKind, WorkspaceId};
use covalynce_storage::{NewSource, Source};
use std::path::Path;

impl App {
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
        if let Some(existing) = self.git_source_at(ws, &display).await? {
            return Err(AppError::Conflict(format!(
                "{display} is already source {} of this workspace",
                existing.id
            )));
        }
        let source = self.insert_git_source(ws, display).await?;
        self.record(
            who,
            Action::AddGitSource,
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
        match self.git_source_at(workspace, &display).await? {
            Some(existing) => Ok(existing),
            None => self.insert_git_source(workspace, display).await,
        }
    }

    async fn git_source_at(&self, ws: WorkspaceId, path: &str) -> Result<Option<Source>, AppError> {
        Ok(self
            .store()
            .list_sources(ws)
            .await?
            .into_iter()
            .find(|s| s.kind == SourceKind::Git && s.path.as_deref() == Some(path)))
    }

    async fn insert_git_source(&self, ws: WorkspaceId, path: String) -> Result<Source, AppError> {
        Ok(self
            .store()
            .insert_source(&NewSource {
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
