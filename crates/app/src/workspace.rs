//! A workspace's own settings: the emergency stop, the drafting voice and the trust policy.

use crate::audit::Action;
use crate::{Acting, App, AppError, Editor, Owner};
use covalynce_domain::{ChannelId, Voice};
use covalynce_storage::Workspace;

/// Review everything, or auto-approve green cards to `channels` once `after` approvals in
/// a row needed no edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustPolicy {
    after: Option<i64>,
    channels: Vec<ChannelId>,
}

impl TrustPolicy {
    /// `after` at least 1 (or none: review everything), and somewhere to send what is
    /// approved automatically; each channel id parsed once.
    pub fn parse(after: Option<i64>, channels: &[String]) -> Result<Self, AppError> {
        if after.is_some_and(|n| n < 1) {
            return Err(AppError::Invalid(
                "trust.after must be at least 1 (or null to review everything)".into(),
            ));
        }
        let channels = channels
            .iter()
            .map(|c| {
                ChannelId::parse(c).ok_or_else(|| {
                    AppError::Invalid(format!("there is no channel {c} in this workspace"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if after.is_some() && channels.is_empty() {
            return Err(AppError::Invalid(
                "trust.channels must name where auto-approved cards go".into(),
            ));
        }
        Ok(Self { after, channels })
    }
}

impl App {
    /// Halts (`on`) every pending publication of the workspace at once, or lifts the stop;
    /// how many publications were queued again.
    pub async fn set_emergency_stop(
        &self,
        who: &Acting<Editor>,
        on: bool,
    ) -> Result<usize, AppError> {
        let resumed = self
            .store()
            .set_emergency_stop(who.workspace().id, on)
            .await?;
        if resumed > 0 {
            self.wake_workers();
        }
        let ws = who.workspace().slug.clone();
        self.record(
            who,
            Action::SetEmergencyStop,
            ws,
            serde_json::json!({ "on": on, "resumed": resumed }),
        )
        .await;
        Ok(resumed)
    }

    /// How new drafts sound.
    pub async fn set_voice(
        &self,
        who: &Acting<Owner>,
        voice: Voice,
    ) -> Result<Workspace, AppError> {
        let ws = who.workspace().id;
        self.store().set_workspace_voice(ws, voice).await?;
        let slug = who.workspace().slug.clone();
        self.record(
            who,
            Action::SetVoice,
            slug,
            serde_json::json!({ "voice": voice }),
        )
        .await;
        self.reread(ws).await
    }

    /// The trust policy; its channels must be the workspace's own.
    pub async fn set_trust_policy(
        &self,
        who: &Acting<Owner>,
        policy: TrustPolicy,
    ) -> Result<Workspace, AppError> {
        let ws = who.workspace().id;
        let known = self.store().list_channels(ws).await?;
        if let Some(c) = policy
            .channels
            .iter()
            .find(|c| !known.iter().any(|k| k.id == **c))
        {
            return Err(AppError::Invalid(format!(
                "there is no channel {c} in this workspace"
            )));
        }
        let ids: Vec<String> = policy.channels.iter().map(ToString::to_string).collect();
        self.store()
            .set_trust_policy(ws, policy.after, &ids)
            .await?;
        let slug = who.workspace().slug.clone();
        self.record(
            who,
            Action::SetTrustPolicy,
            slug,
            serde_json::json!({ "after": policy.after, "channels": ids }),
        )
        .await;
        self.reread(ws).await
    }

    async fn reread(&self, ws: covalynce_domain::WorkspaceId) -> Result<Workspace, AppError> {
        self.store()
            .workspace(ws)
            .await?
            .ok_or_else(|| AppError::NotFound("the workspace is gone".into()))
    }
}

/// Everything of a workspace, for its owner to keep or take elsewhere. Credentials stay
/// sealed in the records and adapters never show them (a file is easier to leak than a
/// database).
pub struct Everything {
    pub workspace: covalynce_storage::Workspace,
    pub members: Vec<covalynce_storage::Member>,
    pub invitations: Vec<covalynce_storage::InvitationRecord>,
    pub tokens: Vec<covalynce_storage::TokenRecord>,
    pub sources: Vec<covalynce_storage::Source>,
    pub channels: Vec<covalynce_storage::ChannelRecord>,
    pub deliveries: Vec<covalynce_storage::DeliveryRecord>,
    pub events: Vec<covalynce_storage::EventRecord>,
    /// Newest first, each with its publications and its revisions.
    pub cards: Vec<ExportedCard>,
    pub audit: Vec<covalynce_storage::AuditRecord>,
    pub ai_calls: Vec<covalynce_storage::AiCallRecord>,
}

pub struct ExportedCard {
    pub card: covalynce_storage::CardRecord,
    pub publications: Vec<covalynce_storage::PublicationRecord>,
    pub revisions: Vec<covalynce_storage::CardRevision>,
}

/// Rows read a page at a time.
const EXPORT_PAGE: i64 = 500;

impl App {
    /// Everything of the workspace, read a page at a time (owners).
    pub async fn export(&self, who: &Acting<crate::Owner>) -> Result<Everything, AppError> {
        let store = self.store();
        let ws = who.workspace().id;
        let viewer = Acting::authorize(who.workspace().clone(), who.principal().clone())?;
        let editor = Acting::authorize(who.workspace().clone(), who.principal().clone())?;
        let mut events = Vec::new();
        let mut before = None;
        loop {
            let filter = covalynce_storage::EventFilter {
                kind: None,
                status: None,
                before,
                repo: None,
                limit: EXPORT_PAGE,
            };
            let page = store.list_events(ws, &filter).await?;
            let done = (page.len() as i64) < EXPORT_PAGE;
            before = page.last().map(|e| e.id);
            events.extend(page);
            if done {
                break;
            }
        }
        let mut cards = Vec::new();
        for (card, publications) in self.cards_with_publications(&viewer).await? {
            let revisions = store.card_revisions(ws, card.id).await?;
            cards.push(ExportedCard {
                card,
                publications,
                revisions,
            });
        }
        let mut audit = Vec::new();
        let mut before = None;
        loop {
            let page = self.audit_log(who, before, EXPORT_PAGE).await?;
            let done = (page.len() as i64) < EXPORT_PAGE;
            before = page.last().map(|a| a.id);
            audit.extend(page);
            if done {
                break;
            }
        }
        Ok(Everything {
            workspace: who.workspace().clone(),
            members: self.members(&viewer).await?,
            invitations: self.invitations(who).await?,
            tokens: self.tokens(&editor).await?,
            sources: store.list_sources(ws).await?,
            channels: store.list_channels(ws).await?,
            deliveries: store.list_deliveries(ws, None, i64::MAX).await?,
            events,
            cards,
            audit,
            ai_calls: store.ai_calls(ws, 0, i64::MAX, i64::MAX).await?,
        })
    }
}
