//! The queue: when approved cards go out. A workspace's time zone, each channel's posting
//! slots, the next free slot an approval takes, and what a person does to what waits
//! (move it, send it earlier, pull it back: `cards::withdraw`).

use crate::audit::Action;
use crate::{Acting, App, AppError, Editor, Owner, Viewer};
use covalynce_domain::schedule::{Slots, Zone};
use covalynce_domain::{ChannelId, PublicationId};
use covalynce_storage::{ChannelRecord, PublicationChange, PublicationRecord, Queued, Workspace};

impl App {
    /// What waits for its time, soonest first.
    pub async fn queue(&self, who: &Acting<Viewer>) -> Result<Vec<Queued>, AppError> {
        Ok(self.store().queue(who.workspace().id).await?)
    }

    /// When each channel would send a card approved now for "the next free slot": its next
    /// free slot at or after `not_before`, or `not_before` for a channel without slots.
    pub(crate) async fn schedule(
        &self,
        workspace: &Workspace,
        channels: &[ChannelRecord],
        chosen: &[ChannelId],
        not_before: i64,
        slotted: bool,
    ) -> Result<Vec<(ChannelId, i64)>, AppError> {
        let mut out = Vec::with_capacity(chosen.len());
        for id in chosen {
            let slots = channels.iter().find(|c| c.id == *id).map(|c| &c.slots);
            let at = match slots {
                Some(slots) if slotted && !slots.is_empty() => {
                    let taken = self
                        .store()
                        .taken_slots(workspace.id, *id, not_before)
                        .await?;
                    slots
                        .next_free(&workspace.time_zone, not_before, &taken)
                        .ok_or_else(|| {
                            let name = channels
                                .iter()
                                .find(|c| c.id == *id)
                                .map_or("a channel", |c| c.name.as_str());
                            AppError::Conflict(format!(
                                "every posting slot of \"{name}\" in the next year is taken: add slots under Channels, or pick a time"
                            ))
                        })?
                }
                _ => not_before,
            };
            out.push((*id, at));
        }
        Ok(out)
    }

    /// Where "the next free slot" falls for each of the workspace's active channels now,
    /// for the review to show before approving.
    pub async fn next_slots(
        &self,
        who: &Acting<Viewer>,
        not_before: i64,
    ) -> Result<Vec<(ChannelRecord, NextSlot)>, AppError> {
        let ws = who.workspace();
        let mut out = Vec::new();
        for c in self.store().list_channels(ws.id).await? {
            if c.status != covalynce_domain::ChannelStatus::Active {
                continue;
            }
            let next = if c.slots.is_empty() {
                NextSlot::AtOnce
            } else {
                let taken = self.store().taken_slots(ws.id, c.id, not_before).await?;
                c.slots
                    .next_free(&ws.time_zone, not_before, &taken)
                    .map_or(NextSlot::Full, NextSlot::At)
            };
            out.push((c, next));
        }
        Ok(out)
    }

    /// Moves a waiting publication to `at` (Unix ms, not in the past).
    pub async fn reschedule(
        &self,
        who: &Acting<Editor>,
        id: PublicationId,
        at: i64,
    ) -> Result<Box<PublicationRecord>, AppError> {
        let at = at.max(covalynce_domain::now_millis());
        let change = self
            .store()
            .reschedule_publication(who.workspace().id, id, at)
            .await?;
        let p = waiting(change)?;
        self.wake_workers();
        self.record(
            who,
            Action::ReschedulePublication,
            p.id,
            serde_json::json!({ "due_at": covalynce_domain::time::format_rfc3339(at) }),
        )
        .await;
        Ok(p)
    }

    /// Swaps a waiting publication's time with the one before it on the same channel, so
    /// it goes out first; `Conflict` when it is already the first.
    pub async fn move_earlier(
        &self,
        who: &Acting<Editor>,
        id: PublicationId,
    ) -> Result<Box<PublicationRecord>, AppError> {
        let queue = self.store().queue(who.workspace().id).await?;
        let Some(pos) = queue.iter().position(|q| q.publication.id == id) else {
            return Err(AppError::NotFound(
                "that post is not in this workspace's queue".into(),
            ));
        };
        let this = &queue[pos];
        let Some(before) = queue[..pos]
            .iter()
            .rev()
            .find(|q| q.publication.channel_id == this.publication.channel_id)
        else {
            return Err(AppError::Conflict(
                "it is already the next post on its channel".into(),
            ));
        };
        let (mine, theirs) = (this.due_at, before.due_at);
        let other = before.publication.id;
        // Theirs first, so the two never share a time for longer than a moment; if the
        // second move fails, the first is put back.
        self.reschedule(who, other, mine).await?;
        match self.reschedule(who, id, theirs).await {
            Ok(p) => Ok(p),
            Err(e) => {
                let _ = self.reschedule(who, other, theirs).await;
                Err(e)
            }
        }
    }

    /// Takes one waiting post off the queue: its card comes back to the stack when it was
    /// the card's last (`true`); otherwise the card's other posts stay as they are.
    pub async fn pull_back(
        &self,
        who: &Acting<Editor>,
        id: PublicationId,
    ) -> Result<(Box<PublicationRecord>, bool), AppError> {
        let ws = who.workspace().id;
        let p = waiting(self.store().withdraw_publication(ws, id).await?)?;
        let back = self
            .store()
            .card(ws, p.card_id)
            .await?
            .is_some_and(|c| c.status == covalynce_domain::CardStatus::Pending);
        self.record(
            who,
            Action::WithdrawPublication,
            p.id,
            serde_json::json!({ "card_back": back }),
        )
        .await;
        Ok((p, back))
    }

    /// The zone posting slots are read in and times are typed in.
    pub async fn set_time_zone(&self, who: &Acting<Owner>, name: &str) -> Result<Zone, AppError> {
        let zone = Zone::parse(name).map_err(AppError::Invalid)?;
        self.store()
            .set_time_zone(who.workspace().id, &zone)
            .await?;
        let slug = who.workspace().slug.clone();
        self.record(
            who,
            Action::SetTimeZone,
            slug,
            serde_json::json!({ "time_zone": zone.name() }),
        )
        .await;
        Ok(zone)
    }

    /// A channel's posting times ("mon-fri 09:00, 14:30; sat 10:00"; empty: post when
    /// approved). Posts already waiting keep their times.
    pub async fn set_slots(
        &self,
        who: &Acting<Editor>,
        id: ChannelId,
        text: &str,
    ) -> Result<ChannelRecord, AppError> {
        let slots = Slots::parse(text).map_err(AppError::Invalid)?;
        let record = self
            .store()
            .set_channel_slots(who.workspace().id, id, &slots)
            .await?
            .ok_or_else(|| AppError::missing(id))?;
        self.record(
            who,
            Action::SetSlots,
            id,
            serde_json::json!({ "slots": slots.to_string() }),
        )
        .await;
        Ok(record)
    }
}

/// When a channel would post a card approved now for "the next free slot".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextSlot {
    /// It has no posting slots: as soon as it is approved.
    AtOnce,
    /// Its next free slot (Unix ms).
    At(i64),
    /// Every slot of the next year is taken.
    Full,
}

fn waiting(change: PublicationChange) -> Result<Box<PublicationRecord>, AppError> {
    use covalynce_domain::PublicationStatus as S;
    match change {
        PublicationChange::Done(p) => Ok(p),
        PublicationChange::NotFound => Err(AppError::NotFound(
            "that post is not in this workspace's queue".into(),
        )),
        PublicationChange::Conflict(status) => Err(AppError::Conflict(
            match status {
                S::Publishing => "this post is being sent right now: it can no longer change",
                S::Published => "this post is already published",
                S::Failed => "this post already failed: retry it from History",
                S::Unknown => {
                    "this post's outcome is unknown: check the channel, then confirm or retry it from History"
                }
                S::Queued => "this post is waiting in the queue",
            }
            .into(),
        )),
    }
}
