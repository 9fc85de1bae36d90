//! Who acts, with the least role a use case needs as a type. An `Acting<Editor>` exists
//! only once this crate has checked that the principal's role in that workspace is at
//! least editor; a use case that takes one cannot be reached by a viewer, whatever the
//! adapter in front of it does.

use crate::AppError;
use covalynce_domain::{Role, TokenId, UserId};
use covalynce_storage::Workspace;
use std::marker::PhantomData;

/// The least role, as a type.
pub trait MinRole: Send + Sync + 'static {
    const ROLE: Role;
}
pub struct Viewer;
pub struct Editor;
pub struct Owner;
impl MinRole for Viewer {
    const ROLE: Role = Role::Viewer;
}
impl MinRole for Editor {
    const ROLE: Role = Role::Editor;
}
impl MinRole for Owner {
    const ROLE: Role = Role::Owner;
}

/// Who made a request, for role checks and the audit log.
#[derive(Clone, Debug)]
pub enum Actor {
    User(UserId),
    Token {
        id: TokenId,
        user: Option<UserId>,
    },
    /// The server's operator at its command line (`covalynce stop`, `token create`):
    /// whoever can run the binary on the data.
    Operator,
}

impl Actor {
    pub fn user(&self) -> Option<UserId> {
        match self {
            Actor::User(u) => Some(*u),
            Actor::Token { user, .. } => *user,
            Actor::Operator => None,
        }
    }

    /// As the audit log names it.
    pub fn label(&self) -> String {
        match self {
            Actor::User(u) => format!("user:{u}"),
            Actor::Token { id, .. } => format!("token:{id}"),
            Actor::Operator => "cli".to_owned(),
        }
    }

    /// The rate-limit bucket: a person's tokens and sessions share theirs.
    pub fn limit_key(&self) -> String {
        match self {
            Actor::User(u) | Actor::Token { user: Some(u), .. } => format!("user:{u}"),
            Actor::Token { id, user: None } => format!("token:{id}"),
            Actor::Operator => "operator".to_owned(),
        }
    }
}

/// The caller as resolved: the effective role in the workspace acted in, who, from where.
#[derive(Clone, Debug)]
pub struct Principal {
    pub actor: Actor,
    pub role: Role,
    pub ip: Option<String>,
    /// The client that asked (`cards`, `mcp`), when it said.
    pub via: Option<String>,
    /// Whether a use case already wrote this request's audit entry (shared by copies).
    pub recorded: crate::audit::Recorded,
}

impl Principal {
    pub fn new(actor: Actor, role: Role, ip: Option<String>, via: Option<String>) -> Self {
        Self {
            actor,
            role,
            ip,
            via,
            recorded: Default::default(),
        }
    }
}

/// A principal acting in a workspace with at least role `R`.
pub struct Acting<R> {
    workspace: Workspace,
    principal: Principal,
    role: PhantomData<R>,
}

// Cloned without asking `R: Clone`: the role is only a type. (A clone is the same
// authorization, made inside `app` like the first.)
impl<R> Clone for Acting<R> {
    fn clone(&self) -> Self {
        Self {
            workspace: self.workspace.clone(),
            principal: self.principal.clone(),
            role: PhantomData,
        }
    }
}

impl<R: MinRole> Acting<R> {
    /// Whether `principal` has at least role `R` in `workspace`: the one role check, which
    /// the HTTP extractors also answer with before a handler runs.
    pub fn check(workspace: &Workspace, principal: &Principal) -> Result<(), AppError> {
        if principal.role < R::ROLE {
            return Err(AppError::Forbidden(format!(
                "this needs the {} role in workspace {}; yours is {}",
                R::ROLE,
                workspace.slug,
                principal.role
            )));
        }
        Ok(())
    }

    /// The only way to make one: the role is checked here.
    pub fn authorize(workspace: Workspace, principal: Principal) -> Result<Self, AppError> {
        Self::check(&workspace, &principal)?;
        Ok(Self {
            workspace,
            principal,
            role: PhantomData,
        })
    }

    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covalynce_domain::{Plan, Privacy, Voice, WorkspaceId, WorkspaceSlug};

    fn workspace() -> Workspace {
        Workspace {
            id: WorkspaceId::new(),
            slug: WorkspaceSlug::parse("acme").unwrap(),
            plan: Plan::Solo,
            card_limit: 100,
            cards_used: 0,
            voice: Voice::default(),
            created_at: 0,
            halted_at: None,
            trust_after: None,
            trust_channels: Vec::new(),
            trust_streak: 0,
            ai_privacy: Privacy::default(),
            seat_limit: 1,
            period_end: None,
            billing: None,
            time_zone: covalynce_domain::schedule::Zone::utc(),
        }
    }

    fn as_role(role: Role) -> Principal {
        Principal::new(Actor::User(UserId::new()), role, None, None)
    }

    /// Whatever an adapter does, a viewer never reaches a use case that needs an editor,
    /// and an owner reaches every one.
    #[test]
    fn acting_needs_at_least_the_role_the_use_case_names() {
        let refused = Acting::<Editor>::authorize(workspace(), as_role(Role::Viewer));
        assert!(matches!(
            refused,
            Err(AppError::Forbidden(m)) if m == "this needs the editor role in workspace acme; yours is viewer"
        ));
        assert!(Acting::<Editor>::authorize(workspace(), as_role(Role::Editor)).is_ok());
        assert!(Acting::<Owner>::authorize(workspace(), as_role(Role::Editor)).is_err());
        let owner = Acting::<Editor>::authorize(workspace(), as_role(Role::Owner)).unwrap();
        assert_eq!(owner.workspace().slug.as_str(), "acme");
        assert_eq!(owner.principal().role, Role::Owner);
    }
}
