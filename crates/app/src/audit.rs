//! The audit log, written by the use cases themselves from their own result: an action is
//! recorded when it was done, never when it was only tried, whichever adapter asked (the
//! API, a UI form, the CLI, MCP). Requests no use case serves yet are recorded by the
//! HTTP layer's middleware, which leaves alone a request whose use case already wrote.

use crate::{Acting, App, MinRole};
use covalynce_storage::NewAudit;
use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What was done, as the audit log names it (`card.approve`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    ApproveCard,
    EditCard,
    RegenerateCard,
    WithdrawCard,
    DismissCard,
    UndoCard,
    ConfirmRotated,
    CreateChannel,
    DisableChannel,
    EnableChannel,
    DeleteChannel,
    TestChannel,
    RetryPublication,
    ConfirmPublication,
    ReschedulePublication,
    WithdrawPublication,
    SetTimeZone,
    SetSlots,
    SetChangelog,
    TakeDownChangelogEntry,
    SetEmergencyStop,
    SetVoice,
    SetTrustPolicy,
    SetAiPrivacy,
    SetAiChain,
    ChangeRole,
    RemoveMember,
    Invite,
    RevokeInvitation,
    CreateToken,
    RevokeToken,
    AddSource,
    SetSourceGate,
    RemoveSource,
    SetPlan,
    AllowPath,
    RevokePath,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ApproveCard => "card.approve",
            Action::EditCard => "card.edit",
            Action::RegenerateCard => "card.regenerate",
            Action::WithdrawCard => "card.withdraw",
            Action::DismissCard => "card.dismiss",
            Action::UndoCard => "card.undo",
            Action::ConfirmRotated => "card.secret_rotated",
            Action::CreateChannel => "channel.create",
            Action::DisableChannel => "channel.disable",
            Action::EnableChannel => "channel.enable",
            Action::DeleteChannel => "channel.delete",
            Action::TestChannel => "channel.test",
            Action::RetryPublication => "publication.retry",
            Action::ConfirmPublication => "publication.confirm",
            Action::ReschedulePublication => "publication.reschedule",
            Action::WithdrawPublication => "publication.withdraw",
            Action::SetTimeZone => "workspace.time_zone",
            Action::SetSlots => "channel.slots",
            Action::SetChangelog => "workspace.changelog",
            Action::TakeDownChangelogEntry => "changelog.take_down",
            Action::SetEmergencyStop => "workspace.emergency_stop",
            Action::SetVoice => "workspace.voice",
            Action::SetTrustPolicy => "workspace.trust_policy",
            Action::SetAiPrivacy => "ai.privacy",
            Action::SetAiChain => "ai.chain",
            Action::ChangeRole => "member.role",
            Action::RemoveMember => "member.remove",
            Action::Invite => "invitation.create",
            Action::RevokeInvitation => "invitation.revoke",
            Action::CreateToken => "token.create",
            Action::RevokeToken => "token.revoke",
            Action::AddSource => "source.create",
            Action::SetSourceGate => "source.gate",
            Action::RemoveSource => "source.delete",
            Action::SetPlan => "workspace.plan",
            Action::AllowPath => "paths.allow",
            Action::RevokePath => "paths.revoke",
        }
    }
}

/// Set once a use case wrote the request's audit entry, shared by every copy of the
/// principal (the HTTP middleware holds one): the entry is written once.
#[derive(Clone, Debug, Default)]
pub struct Recorded(Arc<AtomicBool>);

impl Recorded {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

impl App {
    /// Writes what `who` did to `target`, with `detail` beside the role and the client
    /// (`detail` never names a key `role` or `via`: those are the actor's).
    /// A failure to write is logged, not returned: the action itself was done.
    pub(crate) async fn record<R: MinRole>(
        &self,
        who: &Acting<R>,
        action: Action,
        target: impl Display,
        detail: serde_json::Value,
    ) {
        let p = who.principal();
        let mut d = serde_json::json!({ "role": p.role });
        if let Some(via) = &p.via {
            d["via"] = via.as_str().into();
        }
        if let (Some(d), serde_json::Value::Object(more)) = (d.as_object_mut(), detail) {
            d.extend(more);
        }
        let entry = NewAudit {
            workspace_id: Some(who.workspace().id),
            user_id: p.actor.user(),
            actor: p.actor.label(),
            action: action.as_str().to_owned(),
            target: Some(target.to_string()),
            detail: d,
            ip: p.ip.clone(),
        };
        if self.write_audit(&entry).await {
            p.recorded.set();
        }
    }

    /// Writes one entry. A failure is logged, not returned (the action itself was done);
    /// whether it was written.
    async fn write_audit(&self, entry: &NewAudit) -> bool {
        match self.store().audit(entry).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, action = %entry.action, "could not write the audit log");
                false
            }
        }
    }
}

impl App {
    /// What the trust policy did on its own (no person acted): written as the policy's.
    pub(crate) async fn record_policy(
        &self,
        workspace: &covalynce_storage::Workspace,
        action: Action,
        target: impl Display,
        detail: serde_json::Value,
    ) {
        let entry = NewAudit {
            workspace_id: Some(workspace.id),
            user_id: None,
            actor: "trust-policy".into(),
            action: action.as_str().to_owned(),
            target: Some(target.to_string()),
            detail,
            ip: None,
        };
        self.write_audit(&entry).await;
    }
}
