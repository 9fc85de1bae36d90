//! What only the server's operator does, at its command line or when it starts: set a
//! workspace's plan (`covalynce plan`; otherwise billing's webhooks do) and make tokens
//! for their own tools (`covalynce token create`, the demo, `mcp --local`). The operator
//! is an owner of every workspace (whoever runs the binary on the data holds its keys
//! already) and is audited as `cli`.

use crate::audit::Action;
use crate::members::ApiToken;
use crate::{Acting, Actor, App, AppError, Editor, MinRole, Owner, Principal};
use covalynce_domain::{Plan, Role, WorkspaceSlug};
use covalynce_storage::Workspace;
use serde_json::json;

/// The operator acting in `workspace`.
pub fn operator_in<R: MinRole>(workspace: Workspace) -> Result<Acting<R>, AppError> {
    Acting::authorize(
        workspace,
        Principal::new(Actor::Operator, Role::Owner, None, None),
    )
}

/// Whether a token made for the operator is the only one of its name, or one more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Earlier {
    /// Keep the operator's earlier tokens of the same name (`token create`: each is
    /// someone's).
    Keep,
    /// Revoke them (the demo prints a fresh token each start: the old ones are spent).
    Revoke,
}

impl App {
    /// The operator acting in the workspace `slug`: made first when `create` (a command
    /// that sets something up there), else it must exist.
    pub async fn operator_at<R: MinRole>(
        &self,
        slug: &WorkspaceSlug,
        create: bool,
    ) -> Result<Acting<R>, AppError> {
        let ws = if create {
            self.store().ensure_workspace(slug).await?
        } else {
            self.store()
                .workspace_by_slug(slug)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("there is no workspace {slug:?}")))?
        };
        operator_in(ws)
    }

    /// The local paths the workspace may add git repositories at or below.
    pub async fn allowed_paths(&self, who: &Acting<Owner>) -> Result<Vec<String>, AppError> {
        operator_only(who)?;
        Ok(self.store().allowed_paths(who.workspace().id).await?)
    }

    /// Every stored secret sealed under an older key, sealed again under `secrets`' current
    /// one (`covalynce keys rotate`), in one write; how many. A secret no known key opens
    /// stops it before anything is written.
    pub async fn reseal_all(&self, secrets: &crate::secrets::SecretBox) -> Result<usize, AppError> {
        let mut resealed = Vec::new();
        for blob in self.store().sealed_blobs().await? {
            if secrets.is_current(&blob.blob) {
                continue;
            }
            let plain = secrets.open(&blob.blob).map_err(|_| {
                AppError::Invalid(
                    "a stored secret opens with none of the known keys; set the key that sealed it in COVALYNCE_PREVIOUS_SECRET_KEYS (or secret.key.previous)".into(),
                )
            })?;
            resealed.push(covalynce_storage::SealedBlob {
                blob: secrets.seal(&plain),
                ..blob
            });
        }
        self.store().replace_sealed(&resealed).await?;
        Ok(resealed.len())
    }

    /// Moves a workspace to `plan`: the operator's word, never a member's (a member's
    /// plan changes through billing).
    pub async fn set_plan(&self, who: &Acting<Owner>, plan: Plan) -> Result<Workspace, AppError> {
        operator_only(who)?;
        let ws = who.workspace();
        let previous = ws.plan;
        self.store().set_plan(ws.id, plan).await?;
        self.record(
            who,
            Action::SetPlan,
            ws.id,
            json!({ "plan": plan.as_str(), "was": previous.as_str() }),
        )
        .await;
        self.store()
            .workspace(ws.id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("there is no workspace {}", ws.slug)))
    }

    /// An owner token for the operator's own tool in the workspace `slug` (made if it
    /// does not exist), through the same use case as a person's token; with
    /// [`Earlier::Revoke`], the operator's earlier live tokens of that name are revoked
    /// first, each audited.
    pub async fn operator_token(
        &self,
        slug: &WorkspaceSlug,
        name: &str,
        earlier: Earlier,
    ) -> Result<(Workspace, ApiToken), AppError> {
        let ws = self.store().ensure_workspace(slug).await?;
        let who: Acting<Editor> = operator_in(ws.clone())?;
        if earlier == Earlier::Revoke {
            let spent = self
                .store()
                .tokens(ws.id)
                .await?
                .into_iter()
                .filter(|t| t.name == name && t.user_id.is_none() && t.revoked_at.is_none());
            for token in spent {
                self.revoke_token(&who, token.id).await?;
            }
        }
        let made = self.create_token(&who, name, Some(Role::Owner)).await?;
        Ok((ws, made))
    }

    /// Lets the workspace add local git repositories at or below `path` (resolved by the
    /// operator's shell; the server never resolves a member's path).
    pub async fn allow_path(&self, who: &Acting<Owner>, path: &str) -> Result<(), AppError> {
        operator_only(who)?;
        self.store().allow_path(who.workspace().id, path).await?;
        self.record(
            who,
            Action::AllowPath,
            who.workspace().id,
            json!({ "path": path }),
        )
        .await;
        Ok(())
    }

    /// Takes `path` back: the workspace's sources below it stop being watched.
    pub async fn revoke_path(&self, who: &Acting<Owner>, path: &str) -> Result<(), AppError> {
        operator_only(who)?;
        if !self.store().revoke_path(who.workspace().id, path).await? {
            return Err(AppError::NotFound(format!("{path} was not allowed")));
        }
        self.record(
            who,
            Action::RevokePath,
            who.workspace().id,
            json!({ "path": path }),
        )
        .await;
        Ok(())
    }
}

fn operator_only<R: MinRole>(who: &Acting<R>) -> Result<(), AppError> {
    match who.principal().actor {
        Actor::Operator => Ok(()),
        _ => Err(AppError::Forbidden(
            "only the server's operator decides this, at its command line".into(),
        )),
    }
}
