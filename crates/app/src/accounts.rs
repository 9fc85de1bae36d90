//! A person's own account, apart from any role in a workspace: the workspaces they make,
//! the invitations they accept, deleting their account; and an owner deleting a workspace.
//! (Signing in and out, sessions and cookies are the server's: they are how a browser is
//! told who it is, not something the application decides.)

use crate::{Acting, App, AppError, Owner, tokens};
use covalynce_domain::{Plan, Role, WorkspaceId, WorkspaceSlug, now_millis};
use covalynce_storage::{Acceptance, User, Workspace};

/// A workspace a person belongs to now, and their role in it.
pub struct Joined {
    pub workspace: Workspace,
    pub role: Role,
}

impl App {
    /// The workspaces a person belongs to, with their role in each (the first is where a
    /// sign-in lands when nothing else is chosen).
    pub async fn memberships(
        &self,
        person: covalynce_domain::UserId,
    ) -> Result<Vec<covalynce_storage::Membership>, AppError> {
        Ok(self.store().memberships(person).await?)
    }

    /// A new workspace owned by `owner`, on `plan` (the operator's default); `None` when
    /// the name is taken.
    pub async fn create_workspace(
        &self,
        owner: &User,
        slug: &WorkspaceSlug,
        plan: Plan,
    ) -> Result<Option<Workspace>, AppError> {
        let Some(ws) = self.store().create_workspace(slug, owner.id).await? else {
            return Ok(None);
        };
        if plan == Plan::Solo {
            return Ok(Some(ws));
        }
        Ok(self.store().set_plan(ws.id, plan).await?)
    }

    /// A person joins a workspace with an invitation link's token: once, before it
    /// expires, within the workspace's seats.
    pub async fn accept_invitation(&self, person: &User, token: &str) -> Result<Joined, AppError> {
        let hash = tokens::hash(token.trim());
        match self
            .store()
            .accept_invitation(&hash, person.id, now_millis())
            .await?
        {
            Acceptance::Joined { workspace, role } => {
                let workspace = self
                    .store()
                    .workspace(workspace)
                    .await?
                    .ok_or_else(|| AppError::NotFound("the workspace is gone".into()))?;
                Ok(Joined { workspace, role })
            }
            Acceptance::Invalid => Err(AppError::NotFound(
                "the invitation is unknown, already used or expired: ask for a new link".into(),
            )),
            Acceptance::Full { plan, seats } => Err(AppError::PlanLimit(format!(
                "the workspace's {plan} plan has no seat left ({seats} in all): ask its owner to upgrade"
            ))),
        }
    }

    /// A person deletes their account and everything of theirs: sessions, tokens,
    /// memberships, their account's events, and the workspaces nobody else is in. Refused
    /// while they are the only owner of a workspace others are in. `confirm` is their
    /// email, typed again.
    pub async fn delete_account(&self, person: &User, confirm: &str) -> Result<(), AppError> {
        if !confirm.trim().eq_ignore_ascii_case(person.email.as_str()) {
            return Err(AppError::Invalid(
                "confirm must be the account's email".into(),
            ));
        }
        let mut alone_in: Vec<WorkspaceId> = Vec::new();
        for m in self.store().memberships(person.id).await? {
            let members = self.store().members(m.workspace.id).await?;
            if members.len() == 1 {
                alone_in.push(m.workspace.id);
            } else if m.role == Role::Owner
                && members.iter().filter(|x| x.role == Role::Owner).count() == 1
            {
                return Err(AppError::Conflict(format!(
                    "you are the only owner of workspace {}: make another member owner (or delete the workspace) first",
                    m.workspace.slug
                )));
            }
        }
        self.store().delete_user(person.id, &alone_in).await?;
        Ok(())
    }

    /// An owner deletes the workspace and everything in it: sources, deliveries, events,
    /// cards, channels and their credentials, publications, tokens, invitations, the audit
    /// log. `confirm` is the workspace's slug, typed again.
    pub async fn delete_workspace(
        &self,
        who: &Acting<Owner>,
        confirm: &str,
    ) -> Result<(), AppError> {
        let ws = who.workspace();
        if confirm.trim() != ws.slug.as_str() {
            return Err(AppError::Invalid(
                "confirm must be the workspace's slug".into(),
            ));
        }
        self.store().delete_workspace(ws.id).await?;
        Ok(())
    }
}
