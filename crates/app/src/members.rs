//! Members: who may act in a workspace and with which role: roles changed (owners), people
//! removed (owners) or leaving (anyone), invitation links (owners, within the plan's
//! seats), and personal API tokens that can do no more than the person.

use crate::audit::Action;
use crate::tokens;
use crate::{Acting, Actor, App, AppError, Editor, Owner, Viewer};
use covalynce_domain::AuditId;
use covalynce_domain::{InvitationId, Role, TokenId, UnixMillis, UserId, now_millis};
use covalynce_storage::{
    AuditRecord, InvitationRecord, Member, MemberChange, NewInvitation, NewToken, TokenRecord,
};
use serde_json::json;
use std::time::Duration;

/// An invitation as made. Its token is shown once; only its hash is stored.
#[derive(Debug)]
pub struct Invitation {
    pub id: InvitationId,
    pub role: Role,
    pub created_at: UnixMillis,
    pub expires_at: UnixMillis,
    pub token: String,
}

/// A personal API token as made. Its text is shown once; only its hash is stored.
#[derive(Debug)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub prefix: String,
    pub role: Role,
    /// The person it acts for.
    pub user: Option<UserId>,
    pub created_at: UnixMillis,
    pub token: String,
}

impl App {
    /// Gives a member another role. A workspace keeps at least one owner.
    pub async fn change_role(
        &self,
        who: &Acting<Owner>,
        member: UserId,
        role: Role,
    ) -> Result<(), AppError> {
        let change = self
            .store()
            .set_member_role(who.workspace().id, member, role)
            .await?;
        member_change(change, member)?;
        self.record(who, Action::ChangeRole, member, json!({ "to": role }))
            .await;
        Ok(())
    }

    /// Removes a member (owners), or the caller leaves (anyone). Their tokens for this
    /// workspace are revoked with them. A workspace keeps at least one owner.
    pub async fn remove_member(
        &self,
        who: &Acting<Viewer>,
        member: UserId,
    ) -> Result<(), AppError> {
        let me = who.principal();
        if me.actor.user() != Some(member) && me.role < Role::Owner {
            return Err(AppError::Forbidden(
                "only owners remove other members (anyone may leave)".into(),
            ));
        }
        let change = self
            .store()
            .remove_member(who.workspace().id, member)
            .await?;
        member_change(change, member)?;
        self.record(who, Action::RemoveMember, member, json!({}))
            .await;
        Ok(())
    }

    /// An invitation link for `role`, valid for `valid_for`, while the plan has a seat for
    /// it (members and open invitations count).
    pub async fn invite(
        &self,
        who: &Acting<Owner>,
        role: Role,
        valid_for: Duration,
    ) -> Result<Invitation, AppError> {
        let ws = who.workspace();
        let now = now_millis();
        let used = self.store().seats_used(ws.id, now).await?;
        if used >= ws.seat_limit {
            return Err(AppError::PlanLimit(format!(
                "the {} plan allows {} member{}, and {used} {} taken (members and open invitations); upgrade the plan or revoke an invitation",
                ws.plan,
                ws.seat_limit,
                if ws.seat_limit == 1 { "" } else { "s" },
                if used == 1 { "is" } else { "are" },
            )));
        }
        let token = tokens::random_token();
        let invitation = Invitation {
            id: InvitationId::new(),
            role,
            created_at: now,
            expires_at: now + valid_for.as_millis() as i64,
            token,
        };
        self.store()
            .create_invitation(&NewInvitation {
                id: invitation.id,
                workspace_id: ws.id,
                role,
                token_hash: tokens::hash(&invitation.token),
                created_by: who.principal().actor.user(),
                expires_at: invitation.expires_at,
            })
            .await?;
        // The link's token is never logged.
        self.record(
            who,
            Action::Invite,
            invitation.id,
            json!({ "grants": role, "expires_at": invitation.expires_at }),
        )
        .await;
        Ok(invitation)
    }

    /// Withdraws an invitation nobody has used yet.
    pub async fn revoke_invitation(
        &self,
        who: &Acting<Owner>,
        invitation: InvitationId,
    ) -> Result<(), AppError> {
        if self
            .store()
            .revoke_invitation(who.workspace().id, invitation)
            .await?
        {
            self.record(who, Action::RevokeInvitation, invitation, json!({}))
                .await;
            Ok(())
        } else {
            Err(AppError::NotFound(format!(
                "there is no unused invitation \"{invitation}\" in this workspace"
            )))
        }
    }

    /// A personal API token: at most the caller's own role (their role by default).
    pub async fn create_token(
        &self,
        who: &Acting<Editor>,
        name: &str,
        role: Option<Role>,
    ) -> Result<ApiToken, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::Invalid("name must be 1-100 characters".into()));
        }
        let mine = who.principal().role;
        let role = role.unwrap_or(mine);
        if role > mine {
            return Err(AppError::Forbidden(format!(
                "a token can do no more than you: your role is {mine}"
            )));
        }
        let token = tokens::generate();
        let made = ApiToken {
            id: TokenId::new(),
            name: name.to_owned(),
            prefix: tokens::display_prefix(&token),
            role,
            user: who.principal().actor.user(),
            created_at: now_millis(),
            token,
        };
        self.store()
            .insert_token(&NewToken {
                id: made.id,
                workspace_id: who.workspace().id,
                name: made.name.clone(),
                token_hash: tokens::hash(&made.token),
                prefix: made.prefix.clone(),
                role,
                user_id: made.user,
            })
            .await?;
        // Its name and role; never the token.
        self.record(
            who,
            Action::CreateToken,
            made.id,
            json!({ "name": made.name, "grants": role }),
        )
        .await;
        Ok(made)
    }

    /// Revokes an API token: editors their own (or the one they call with), owners any.
    pub async fn revoke_token(&self, who: &Acting<Editor>, token: TokenId) -> Result<(), AppError> {
        let ws = who.workspace().id;
        let not_found = || {
            AppError::NotFound(format!(
                "there is no active token \"{token}\" in this workspace"
            ))
        };
        let record = self
            .store()
            .tokens(ws)
            .await?
            .into_iter()
            .find(|t| t.id == token && t.revoked_at.is_none())
            .ok_or_else(not_found)?;
        let principal = who.principal();
        let own = match &principal.actor {
            Actor::Token { id, .. } if *id == token => true,
            actor => actor.user().is_some() && actor.user() == record.user_id,
        };
        if !own && principal.role < Role::Owner {
            return Err(AppError::Forbidden(
                "editors revoke only their own tokens".into(),
            ));
        }
        if !self.store().revoke_token(ws, token).await? {
            return Err(not_found());
        }
        self.record(
            who,
            Action::RevokeToken,
            token,
            json!({ "name": record.name }),
        )
        .await;
        Ok(())
    }
}

/// Reading who is in a workspace: the members (anyone in it), the invitations (owners),
/// the tokens (editors and owners; never a token's text, only its prefix) and the audit
/// log (owners), newest first.
impl App {
    pub async fn members(&self, who: &Acting<Viewer>) -> Result<Vec<Member>, AppError> {
        Ok(self.store().members(who.workspace().id).await?)
    }

    pub async fn invitations(
        &self,
        who: &Acting<Owner>,
    ) -> Result<Vec<InvitationRecord>, AppError> {
        Ok(self.store().invitations(who.workspace().id).await?)
    }

    pub async fn tokens(&self, who: &Acting<Editor>) -> Result<Vec<TokenRecord>, AppError> {
        Ok(self.store().tokens(who.workspace().id).await?)
    }

    /// A page of the audit log: `limit` entries older than `before`.
    pub async fn audit_log(
        &self,
        who: &Acting<Owner>,
        before: Option<AuditId>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, AppError> {
        Ok(self
            .store()
            .audit_log(who.workspace().id, before, limit)
            .await?)
    }
}

fn member_change(change: MemberChange, member: UserId) -> Result<(), AppError> {
    match change {
        MemberChange::Done => Ok(()),
        MemberChange::NotFound => Err(AppError::NotFound(format!(
            "there is no member \"{member}\" in this workspace"
        ))),
        MemberChange::LastOwner => Err(AppError::Conflict(
            "a workspace keeps at least one owner: make someone else owner first".into(),
        )),
    }
}
