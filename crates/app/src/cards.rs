//! Cards: what a person does to a drafted card (approve it for channels, withdraw the
//! approval, dismiss it, undo either), and the trust policy's approvals, which go through
//! the same approval as a person's.

use crate::audit::Action;
use crate::{Acting, App, AppError, Editor};
use covalynce_domain::{CardId, CardStatus, ChannelId, Risk};
use covalynce_publishing::preview::{Draft, Preview, preview};
use covalynce_storage::{Approval, CardChange, CardRecord, ChannelRecord, Workspace};
use serde_json::json;
use std::collections::BTreeMap;

/// An approval request, parsed: at least one channel, each named once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approve {
    channels: Vec<ChannelId>,
    /// When the publications are due (Unix ms); now for "publish now".
    publish_at: i64,
    /// The person said yes to a text that a channel cuts into a thread (an X text over
    /// 280 on a channel that posts threads); without it such an approval is refused.
    as_thread: bool,
    /// Each channel with posting slots takes its next free one at or after `publish_at`.
    slotted: bool,
}

impl Approve {
    pub fn parse(channels: &[String], publish_at: i64) -> Result<Self, AppError> {
        if channels.is_empty() {
            return Err(AppError::Invalid(
                "channels must name at least one channel id".into(),
            ));
        }
        let mut parsed = Vec::new();
        for c in channels {
            let id = ChannelId::parse(c)
                .ok_or_else(|| AppError::Invalid(format!("{c:?} is not a channel id")))?;
            if !parsed.contains(&id) {
                parsed.push(id);
            }
        }
        Ok(Self {
            channels: parsed,
            publish_at,
            as_thread: false,
            slotted: false,
        })
    }

    /// Puts each channel's post in that channel's next free posting slot (channels without
    /// slots post at `publish_at`).
    pub fn in_next_slot(mut self, yes: bool) -> Self {
        self.slotted = yes;
        self
    }

    /// Confirms (or not) that a text a channel cuts into a thread goes out as one.
    pub fn as_thread(mut self, yes: bool) -> Self {
        self.as_thread = yes;
        self
    }

    pub fn channels(&self) -> &[ChannelId] {
        &self.channels
    }
}

/// Who approved: a person's approval that needed no edit extends the trust streak; the
/// trust policy's own approvals do not (it must not earn trust by trusting itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Approver {
    Person,
    TrustPolicy,
}

impl App {
    /// PENDING → APPROVED for the chosen channels (one publication each, due at
    /// `publish_at`). A red card needs an edit first.
    pub async fn approve(
        &self,
        who: &Acting<Editor>,
        card: CardId,
        request: Approve,
    ) -> Result<Box<CardRecord>, AppError> {
        let record = self
            .approve_as(who.workspace(), card, &request, Approver::Person)
            .await?;
        let channels: Vec<String> = request.channels.iter().map(ToString::to_string).collect();
        self.record(
            who,
            Action::ApproveCard,
            card,
            json!({ "channels": channels, "publish_at": request.publish_at }),
        )
        .await;
        Ok(record)
    }

    /// The trust policy: once enough approvals in a row needed no edit, a green card goes
    /// straight to the workspace's chosen channels. Anything else waits for a person;
    /// `None` when the policy does not apply.
    pub async fn approve_by_trust_policy(
        &self,
        workspace: &Workspace,
        card: CardId,
        risk: Option<Risk>,
    ) -> Result<Option<Box<CardRecord>>, AppError> {
        let Some(after) = workspace.trust_after else {
            return Ok(None);
        };
        if risk != Some(Risk::Green) || workspace.trust_streak < after {
            return Ok(None);
        }
        let mut channels: Vec<ChannelId> = workspace
            .trust_channels
            .iter()
            .filter_map(|c| ChannelId::parse(c))
            .collect();
        // Release-only channels (the changelog, GitHub Releases) take release cards; for
        // any other card they are left out, not a reason to hold the card back.
        let release_only: Vec<ChannelId> = self
            .store()
            .list_channels(workspace.id)
            .await?
            .into_iter()
            .filter(|c| c.kind.release_only())
            .map(|c| c.id)
            .collect();
        if !release_only.is_empty() {
            let record = self.store().card(workspace.id, card).await?;
            let event = match record.as_ref().and_then(|c| c.event_id) {
                Some(e) => self.store().event(workspace.id, e).await?,
                None => None,
            };
            if event.as_ref().and_then(|e| e.facts.version()).is_none() {
                channels.retain(|c| !release_only.contains(c));
            }
        }
        if channels.is_empty() {
            return Ok(None);
        }
        let request = Approve {
            channels,
            publish_at: covalynce_domain::now_millis(),
            as_thread: false,
            slotted: true,
        };
        let card = self
            .approve_as(workspace, card, &request, Approver::TrustPolicy)
            .await?;
        tracing::info!(card = %card.id, "trust policy: auto-approval");
        // Nobody clicked: the log says the policy approved it, and for which channels.
        self.record_policy(
            workspace,
            Action::ApproveCard,
            card.id,
            json!({ "channels": workspace.trust_channels }),
        )
        .await;
        Ok(Some(card))
    }

    async fn approve_as(
        &self,
        workspace: &Workspace,
        card: CardId,
        request: &Approve,
        approver: Approver,
    ) -> Result<Box<CardRecord>, AppError> {
        let ws = workspace.id;
        let channels = self.store().list_channels(ws).await?;
        if let Some(record) = self.store().card(ws, card).await? {
            // The changelog takes releases: what the card is about decides.
            let event = self.event_of(ws, &record).await?;
            let version = event.as_ref().and_then(|e| e.facts.version());
            fits(&record, version, &channels, request)?;
        }
        let schedule = self
            .schedule(
                workspace,
                &channels,
                &request.channels,
                request.publish_at,
                request.slotted,
            )
            .await?;
        match self
            .store()
            .approve_card(ws, card, &schedule)
            .await?
        {
            Approval::Approved(record) => {
                if approver == Approver::Person {
                    // The trust policy counts approvals that needed no edit.
                    let edited = self.store().card_revisions(ws, card).await?.len() > 1;
                    self.store().record_approval(ws, edited).await?;
                }
                self.wake_workers();
                Ok(record)
            }
            Approval::NotFound => Err(not_found(card)),
            Approval::Conflict(status) => Err(AppError::Conflict(format!(
                "card {card} is {}; only a pending card can be approved",
                status.as_str()
            ))),
            Approval::Red => Err(AppError::Conflict(
                "the card's risk light is red: change what its reasons name (edit the posts, or confirm a leaked secret was rotated) before approving".into(),
            )),
            Approval::UnknownChannel(c) => Err(AppError::Invalid(format!(
                "there is no active channel {c} in this workspace (a disabled channel must be enabled first)"
            ))),
        }
    }

    /// Drafts a pending card again from its event, in the workspace's current voice: a new
    /// revision by the drafter (earlier ones stay). `Conflict` when the card has no event
    /// left or the event no longer makes a card.
    pub async fn regenerate(
        &self,
        who: &Acting<Editor>,
        card: CardId,
    ) -> Result<CardChange, AppError> {
        let ws = who.workspace();
        let Some(record) = self.store().card(ws.id, card).await? else {
            return Ok(CardChange::NotFound);
        };
        let event = self.event_of(ws.id, &record).await?.ok_or_else(|| {
            AppError::Conflict(format!("card {card} has no event left to draft from"))
        })?;
        let input = covalynce_cards::EventInput {
            kind: event.kind,
            repo: &event.repo,
            title: &event.title,
            facts: &event.facts,
        };
        let draft = match covalynce_cards::from_event(&input, ws.voice) {
            covalynce_cards::Decision::Card(d) => d,
            covalynce_cards::Decision::Skip(reason) => {
                return Err(AppError::Conflict(format!(
                    "the event no longer makes a card: {reason}"
                )));
            }
        };
        // Judged like any edit: a leak someone confirmed rotated stays confirmed.
        let report = covalynce_cards::judge(
            &draft.variants,
            Some(&input),
            record.secret_rotated_by.is_some(),
        );
        let change = self
            .store()
            .edit_card(
                ws.id,
                card,
                &draft.variants,
                report.level,
                &report.reasons,
                "drafter",
            )
            .await?;
        if let CardChange::Done(_) = &change {
            let detail = json!({ "voice": ws.voice.as_str() });
            self.record(who, Action::RegenerateCard, card, detail).await;
        }
        Ok(change)
    }

    /// A person replaces some of a pending card's posts (channel → text; the others keep
    /// theirs). The drafted text and every edit stay as revisions; the risk light is judged
    /// again on what they wrote (a pasted key is as red as a drafted one).
    pub async fn edit(
        &self,
        who: &Acting<Editor>,
        card: CardId,
        edits: BTreeMap<String, String>,
    ) -> Result<CardChange, AppError> {
        // Only what changed is an edit: a text sent back as it stands ("approve" from the
        // editor, a client that PATCHes every channel) makes no revision and leaves the
        // card unedited, so its approval still counts toward the trust streak.
        let record = self
            .store()
            .card(who.workspace().id, card)
            .await?
            .ok_or_else(|| not_found(card))?;
        let asked = !edits.is_empty();
        let edits: BTreeMap<String, String> = edits
            .into_iter()
            .filter(|(channel, text)| record.variants.get(channel) != Some(text))
            .collect();
        if asked && edits.is_empty() {
            return Ok(match record.status {
                CardStatus::Pending => CardChange::Done(Box::new(record)),
                status => CardChange::Conflict(status),
            });
        }
        let channels: Vec<String> = edits.keys().cloned().collect();
        let author = who.principal().actor.label();
        let change = self
            .revise_record(who.workspace(), &author, record, edits)
            .await?;
        if let CardChange::Done(_) = &change {
            self.record(who, Action::EditCard, card, json!({ "channels": channels }))
                .await;
        }
        Ok(change)
    }

    /// The same edit written for someone (`author`: the AI's rewrite "ai:… for user:…",
    /// whose request is recorded by its own route).
    pub async fn revise(
        &self,
        workspace: &Workspace,
        author: &str,
        card: CardId,
        edits: BTreeMap<String, String>,
    ) -> Result<CardChange, AppError> {
        let record = self
            .store()
            .card(workspace.id, card)
            .await?
            .ok_or_else(|| not_found(card))?;
        self.revise_record(workspace, author, record, edits).await
    }

    /// [`App::revise`] of a card already read (an edit reads it first to keep only what
    /// changed): the texts checked, the light judged on the event, a new revision.
    async fn revise_record(
        &self,
        workspace: &Workspace,
        author: &str,
        record: CardRecord,
        edits: BTreeMap<String, String>,
    ) -> Result<CardChange, AppError> {
        use covalynce_drafting::Channel;
        if edits.is_empty() {
            return Err(AppError::Invalid(
                "variants must name at least one channel".into(),
            ));
        }
        for (name, text) in &edits {
            if Channel::parse(name).is_none() {
                return Err(AppError::Invalid(format!(
                    "{name:?} is not a channel kind (linkedin, x, mastodon, bluesky, slack, discord)"
                )));
            }
            if text.trim().is_empty() {
                return Err(AppError::Invalid(format!(
                    "the {name} text must not be empty"
                )));
            }
        }
        let ws = workspace.id;
        let event = self.event_of(ws, &record).await?;
        let mut variants = record.variants.clone();
        variants.extend(edits);
        let report = covalynce_cards::judge(
            &variants,
            event.as_ref().map(event_input).as_ref(),
            record.secret_rotated_by.is_some(),
        );
        Ok(self
            .store()
            .edit_card(
                ws,
                record.id,
                &variants,
                report.level,
                &report.reasons,
                author,
            )
            .await?)
    }

    /// A card of the workspace and the event it was drafted from (none for a card whose
    /// event is gone): what the risk light is judged on.
    async fn card_and_event(
        &self,
        ws: covalynce_domain::WorkspaceId,
        card: CardId,
    ) -> Result<(CardRecord, Option<covalynce_storage::EventRecord>), AppError> {
        let record = self
            .store()
            .card(ws, card)
            .await?
            .ok_or_else(|| not_found(card))?;
        let event = self.event_of(ws, &record).await?;
        Ok((record, event))
    }

    /// The event a card was drafted from; none for a card whose event is gone.
    async fn event_of(
        &self,
        ws: covalynce_domain::WorkspaceId,
        record: &CardRecord,
    ) -> Result<Option<covalynce_storage::EventRecord>, AppError> {
        Ok(match record.event_id {
            Some(e) => self.store().event(ws, e).await?,
            None => None,
        })
    }

    /// A person confirms that the secret the card's commit text leaked was rotated: the
    /// light is judged again without it (a secret still in a post keeps it red), and the
    /// card says who confirmed it.
    pub async fn confirm_rotated(
        &self,
        who: &Acting<Editor>,
        card: CardId,
    ) -> Result<Box<CardRecord>, AppError> {
        let ws = who.workspace().id;
        let (record, event) = self.card_and_event(ws, card).await?;
        let input = event.as_ref().map(event_input);
        let leaked = input
            .as_ref()
            .map(covalynce_cards::leaked)
            .unwrap_or_default();
        if leaked.is_empty() {
            return Err(AppError::Conflict(format!(
                "card {card}'s commit text held no secret: there is nothing to confirm"
            )));
        }
        let report = covalynce_cards::judge(&record.variants, input.as_ref(), true);
        let by = who.principal().actor.label();
        let change = self
            .store()
            .confirm_rotated(ws, card, &by, report.level, &report.reasons)
            .await?;
        let done = pending_only(change, card, "marked rotated")?;
        self.record(
            who,
            Action::ConfirmRotated,
            card,
            json!({ "risk": report.level.as_str() }),
        )
        .await;
        Ok(done)
    }

    /// APPROVED → PENDING while nothing has gone out.
    pub async fn withdraw(
        &self,
        who: &Acting<Editor>,
        card: CardId,
    ) -> Result<Box<CardRecord>, AppError> {
        match self
            .store()
            .unapprove_card(who.workspace().id, card)
            .await?
        {
            CardChange::Done(record) => {
                self.record(who, Action::WithdrawCard, card, json!({}))
                    .await;
                Ok(record)
            }
            CardChange::NotFound => Err(not_found(card)),
            CardChange::Conflict(CardStatus::Approved) => Err(AppError::Conflict(format!(
                "card {card} is already being published; it can no longer be withdrawn"
            ))),
            CardChange::Conflict(status) => Err(AppError::Conflict(format!(
                "card {card} is {}; only an approved card can be withdrawn",
                status.as_str()
            ))),
        }
    }

    /// PENDING → DISMISSED.
    pub async fn dismiss(
        &self,
        who: &Acting<Editor>,
        card: CardId,
    ) -> Result<Box<CardRecord>, AppError> {
        let change = self.store().dismiss_card(who.workspace().id, card).await?;
        let record = pending_only(change, card, "dismissed")?;
        self.record(who, Action::DismissCard, card, json!({})).await;
        Ok(record)
    }

    /// Takes back the last approval (while nothing has gone out) or dismissal: the card is
    /// pending again.
    pub async fn undo(
        &self,
        who: &Acting<Editor>,
        card: CardId,
    ) -> Result<Box<CardRecord>, AppError> {
        let ws = who.workspace().id;
        let record = self
            .store()
            .card(ws, card)
            .await?
            .ok_or_else(|| not_found(card))?;
        let change = match record.status {
            CardStatus::Approved => self.store().unapprove_card(ws, card).await?,
            CardStatus::Dismissed => self.store().restore_card(ws, card).await?,
            other => CardChange::Conflict(other),
        };
        match change {
            CardChange::Done(undone) => {
                self.record(
                    who,
                    Action::UndoCard,
                    card,
                    json!({ "was": record.status.as_str() }),
                )
                .await;
                Ok(undone)
            }
            CardChange::NotFound => Err(not_found(card)),
            CardChange::Conflict(CardStatus::Approved | CardStatus::Published) => Err(
                AppError::Conflict("too late to undo: it is already being published".into()),
            ),
            CardChange::Conflict(s) => Err(AppError::Conflict(format!(
                "this card is {}; there is nothing to undo",
                s.as_str()
            ))),
        }
    }
}

/// What each of `channels` would send for `card` (about the release `version`, if it is
/// one), as the review shows it: the same functions the publishers send with.
pub fn previews<'a>(
    card: &CardRecord,
    version: Option<&str>,
    channels: &'a [ChannelRecord],
) -> Vec<(&'a ChannelRecord, Result<Preview, String>)> {
    let draft = draft(card, version);
    channels
        .iter()
        .map(|c| (c, preview(&c.config.settings, &draft)))
        .collect()
}

/// Which of the card's texts each channel sends: the variant its settings pick (a channel
/// whose kind has no text of its own on this card sends none). What the review shows beside
/// each text, and what it does not offer to edit for nothing.
pub fn texts_sent<'a>(
    card: &CardRecord,
    channels: &'a [ChannelRecord],
) -> Vec<(&'a ChannelRecord, String)> {
    channels
        .iter()
        .filter_map(|c| {
            covalynce_publishing::preview::pick(
                &card.variants,
                covalynce_publishing::preview::wanted(&c.config.settings),
            )
            .map(|(variant, _)| (c, variant.to_owned()))
        })
        .collect()
}

fn draft<'a>(card: &'a CardRecord, version: Option<&'a str>) -> Draft<'a> {
    Draft {
        variants: &card.variants,
        release_notes: &card.content,
        version,
    }
}

/// Refuses an approval that a chosen channel cannot send as approved: a text its platform
/// would refuse, or one the channel would cut into a thread without the person saying so.
/// (Channels that are not the workspace's active ones are refused by the store.)
fn fits(
    card: &CardRecord,
    version: Option<&str>,
    channels: &[ChannelRecord],
    request: &Approve,
) -> Result<(), AppError> {
    let draft = draft(card, version);
    for id in &request.channels {
        let Some(channel) = channels.iter().find(|c| c.id == *id) else {
            continue;
        };
        let label = channel.kind.label();
        match preview(&channel.config.settings, &draft) {
            Err(why) => {
                return Err(AppError::Conflict(format!(
                    "\"{}\" ({label}) cannot send this card: {why}",
                    channel.name
                )));
            }
            Ok(p) if p.split && !request.as_thread => {
                return Err(AppError::Conflict(format!(
                    "the {label} text is too long for one post: \"{}\" would send it as a thread of {} posts. Approve it as a thread, or shorten it",
                    channel.name,
                    p.posts.len()
                )));
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// What the risk light reads of a stored event.
fn event_input(e: &covalynce_storage::EventRecord) -> covalynce_cards::EventInput<'_> {
    covalynce_cards::EventInput {
        kind: e.kind,
        repo: &e.repo,
        title: &e.title,
        facts: &e.facts,
    }
}

fn not_found(card: CardId) -> AppError {
    AppError::NotFound(format!("there is no card \"{card}\" in this workspace"))
}

/// The answer to an action only a pending card allows.
fn pending_only(change: CardChange, card: CardId, done: &str) -> Result<Box<CardRecord>, AppError> {
    match change {
        CardChange::Done(record) => Ok(record),
        CardChange::NotFound => Err(not_found(card)),
        CardChange::Conflict(status) => Err(AppError::Conflict(format!(
            "card {card} is {}; only a pending card can be {done}",
            status.as_str()
        ))),
    }
}

/// What every member may read of the cards.
impl App {
    /// A page of the workspace's cards, newest first.
    pub async fn cards(
        &self,
        who: &Acting<crate::Viewer>,
        filter: &covalynce_storage::CardFilter,
    ) -> Result<Vec<CardRecord>, AppError> {
        Ok(self.store().list_cards(who.workspace().id, filter).await?)
    }

    /// One card of the workspace, with its publications.
    pub async fn card(
        &self,
        who: &Acting<crate::Viewer>,
        card: CardId,
    ) -> Result<Option<(CardRecord, Vec<covalynce_storage::PublicationRecord>)>, AppError> {
        let Some(record) = self.store().card(who.workspace().id, card).await? else {
            return Ok(None);
        };
        let publications = self.store().card_publications(record.id).await?;
        Ok(Some((record, publications)))
    }

    /// The cards the CI gate holds until their build passes, oldest first.
    pub async fn held_cards(
        &self,
        who: &Acting<crate::Viewer>,
    ) -> Result<Vec<CardRecord>, AppError> {
        Ok(self.store().held_cards(who.workspace().id).await?)
    }

    /// The newest decided cards (approved, published, rejected: not those still to
    /// review), at most `limit`, each with its publications: the history page.
    pub async fn decided_cards(
        &self,
        who: &Acting<crate::Viewer>,
        limit: usize,
    ) -> Result<Vec<(CardRecord, Vec<covalynce_storage::PublicationRecord>)>, AppError> {
        let ws = who.workspace().id;
        let filter = covalynce_storage::CardFilter {
            status: None,
            before: None,
            // Pending cards are among the newest: read enough to still fill the page.
            limit: i64::try_from(limit.saturating_mul(2)).unwrap_or(i64::MAX),
        };
        let shown: Vec<CardRecord> = self
            .store()
            .list_cards(ws, &filter)
            .await?
            .into_iter()
            .filter(|c| c.status != CardStatus::Pending)
            .take(limit)
            .collect();
        let ids: Vec<CardId> = shown.iter().map(|c| c.id).collect();
        let mut by_card: std::collections::HashMap<CardId, Vec<_>> = Default::default();
        for p in self.store().publications_of_cards(ws, &ids).await? {
            by_card.entry(p.card_id).or_default().push(p);
        }
        Ok(shown
            .into_iter()
            .map(|c| {
                let publications = by_card.remove(&c.id).unwrap_or_default();
                (c, publications)
            })
            .collect())
    }

    /// The workspace as it is stored now: a page that has just changed a setting shows
    /// the new value, not the one read when the request began.
    /// `None` once the workspace is deleted.
    pub async fn workspace_now<R: crate::MinRole>(
        &self,
        who: &Acting<R>,
    ) -> Result<Option<Workspace>, AppError> {
        Ok(self.store().workspace(who.workspace().id).await?)
    }

    /// A card's revisions, oldest first (empty for a card of another workspace).
    pub async fn card_revisions(
        &self,
        who: &Acting<crate::Viewer>,
        card: CardId,
    ) -> Result<Vec<covalynce_storage::CardRevision>, AppError> {
        Ok(self
            .store()
            .card_revisions(who.workspace().id, card)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a client sends is parsed once, here: no channel, a malformed id, a repeat.
    #[test]
    fn an_approval_names_each_channel_once_and_at_least_one() {
        assert!(matches!(
            Approve::parse(&[], 0),
            Err(AppError::Invalid(m)) if m.contains("at least one channel")
        ));
        assert!(matches!(
            Approve::parse(&["not-a-channel".into()], 0),
            Err(AppError::Invalid(m)) if m.contains("\"not-a-channel\" is not a channel id")
        ));
        let id = ChannelId::new();
        let twice = Approve::parse(&[id.to_string(), id.to_string()], 42).unwrap();
        assert_eq!(twice.channels(), &[id]);
        assert_eq!(twice.publish_at, 42);
    }
}
