//! The publisher: one job per (card, channel) publication.
//!
//! Exactly once, as far as each platform allows:
//! - a publication is marked `publishing` (durably, taking a slot of the channel's daily
//!   cap) before the platform is called, and its outcome is recorded after;
//! - each post of a thread is recorded (`sent_posts`) before the next is sent, so a
//!   thread cut off part-way resumes after its last recorded post;
//! - a publication found still `publishing` was cut off mid-send: it is sent again only
//!   where a repeat with the same idempotency key is harmless (outbox, webhook); otherwise
//!   it becomes `unknown` and waits for a person to check (Slack, Discord);
//! - retryable failures (429, 5xx, network) go back to `queued` with the reason and retry
//!   with backoff — or exactly when the platform said (`Retry-After`), pausing the whole
//!   channel so its other publications wait too; permanent ones fail at once with the
//!   platform's words; when the channel itself is gone (revoked webhook, archived
//!   channel) the channel is disabled with the platform's words, so nothing else is sent
//!   to it until a person looks.

use super::{Context, JobError};
use covalynce_domain::{CardStatus, ChannelStatus, PublicationId, PublicationStatus, now_millis};
use covalynce_publishing::{Failure, Post, Progress, Recovery, SentPost, Target};
use covalynce_storage::{Begin, ChannelRecord, ClaimedJob};

pub async fn run(ctx: &Context, job: &ClaimedJob, id: PublicationId) -> Result<(), JobError> {
    let store = ctx.store.as_ref();
    let publication = store
        .publication(id)
        .await?
        .ok_or_else(|| JobError::Permanent(format!("publication {id} is gone")))?;
    let status = publication.status;
    if !matches!(
        status,
        PublicationStatus::Queued | PublicationStatus::Publishing
    ) {
        return Ok(());
    }
    let card = store
        .card(publication.workspace_id, publication.card_id)
        .await?
        .ok_or_else(|| JobError::Permanent("the card is gone".into()))?;
    // Withdrawn before it went out: nothing to publish.
    if matches!(card.status, CardStatus::Pending | CardStatus::Dismissed) {
        return Ok(());
    }
    let channel = store
        .channel(publication.channel_id)
        .await?
        .ok_or_else(|| JobError::Permanent("the channel is gone".into()))?;
    let queued = status == PublicationStatus::Queued;
    match channel.status {
        ChannelStatus::Deleted => {
            store
                .set_publication(
                    id,
                    PublicationStatus::Failed,
                    None,
                    Some("the channel was deleted before this went out"),
                )
                .await?;
            return Ok(());
        }
        // Held; enabling the channel queues it again.
        ChannelStatus::Disabled if queued => return Ok(()),
        _ => {}
    }
    let workspace = store
        .workspace(publication.workspace_id)
        .await?
        .ok_or_else(|| JobError::Permanent("the workspace is gone".into()))?;
    if workspace.halted_at.is_some() && queued {
        // Emergency stop: the publication stays queued; lifting the stop queues it again.
        tracing::info!(publication = %id, "emergency stop: held");
        return Ok(());
    }
    let target = match open_target(ctx, &channel) {
        Ok(t) => t,
        Err(message) => {
            // A channel that cannot be opened (an outbox naming a server path, credentials
            // that no longer unseal) is broken: said on the channel, not only here, and
            // disabled so its other publications wait for a person. The channel is stopped
            // first: whoever sees this publication failed sees the channel stopped too.
            stop_channel(store, &channel, &message).await?;
            store
                .set_publication(id, PublicationStatus::Failed, None, Some(&message))
                .await?;
            tracing::warn!(channel = %channel.id, error = %message, "channel cannot be opened: disabled");
            return Ok(());
        }
    };
    let label = target.kind().label();
    let kind = target.kind().as_str();
    let now = now_millis();
    if queued && let Some(due) = publication.due_at.filter(|d| *d > now + 1_000) {
        // A job older than the post's time (the post was moved later in the queue, or
        // lifting the emergency stop queued another): the post keeps its time.
        return Err(JobError::Defer {
            note: "waiting for its time in the queue".into(),
            at: due,
        });
    }
    if queued && let Some(until) = channel.paused_until.filter(|u| *u > now) {
        return Err(JobError::Defer {
            note: format!("{kind} asked for a pause; waiting until it ends"),
            at: until,
        });
    }

    // What a send after a crash says on the publication (the first send may have arrived).
    let mut resumed: Option<&'static str> = None;
    if queued {
        match store.begin_publication(id, daily_cap(&channel)).await? {
            Begin::Started => {}
            Begin::NotQueued => return Ok(()),
            Begin::CapReached => {
                let tomorrow = (covalynce_storage::utc_day(now) + 1) * 86_400_000;
                let note = format!(
                    "the channel's daily cap of {} is reached; it goes out after midnight UTC",
                    daily_cap(&channel).unwrap_or_default()
                );
                store
                    .set_publication(id, PublicationStatus::Queued, None, Some(&note))
                    .await?;
                return Err(JobError::Defer { note, at: tomorrow });
            }
        }
    } else if target.recovery() == Recovery::AskAPerson {
        // It was being sent when its process stopped. The platform takes no idempotency
        // key and cannot be asked, so sending it again could post it twice. The posts of a
        // thread recorded as sent are known: a retry resumes after them.
        let done = publication.sent_posts.len();
        let message = if done == 0 {
            format!(
                "Covalynce stopped while sending this to {kind}, so it may or may not have been posted: check the channel, then retry or confirm the publication"
            )
        } else {
            format!(
                "Covalynce stopped while sending this thread to {kind}: {done} post{} went out, and post {} may or may not have: check the channel, then retry (it resumes at post {}) or confirm the publication",
                if done == 1 { "" } else { "s" },
                done + 1,
                done + 1
            )
        };
        let first = publication
            .sent_posts
            .first()
            .and_then(|p| p.url.as_deref());
        store
            .set_publication(id, PublicationStatus::Unknown, first, Some(&message))
            .await?;
        tracing::warn!(publication = %id, channel = kind, "interrupted publication: outcome unknown");
        return Ok(());
    } else {
        // It was being sent when its process stopped, and a repeat is harmless here: send
        // it again, as another attempt, and say so on the publication.
        let note = target.replay_note();
        if !store.resume_publication(id, note).await? {
            return Ok(());
        }
        tracing::warn!(publication = %id, channel = kind, "interrupted publication: sending again");
        resumed = Some(note);
    }

    // The release the card is about: the changelog's entry is addressed by its tag.
    let event = match card.event_id {
        Some(e) => store.event(publication.workspace_id, e).await?,
        None => None,
    };
    let project = event.as_ref().map(crate::images::project_of);
    let release = match (&event, &project) {
        (Some(e), Some(project)) => {
            e.facts
                .version()
                .map(|version| covalynce_publishing::Release {
                    version,
                    project,
                    url: e.facts.release_page(),
                })
        }
        _ => None,
    };
    // The release image, for channels whose posts carry it: drawn from the card's text
    // as approved (a few milliseconds).
    let image = match &event {
        Some(e) if target.takes_media() => crate::images::release_image(&card, e)
            .map(|i| (covalynce_publishing::image::render(&i), i.alt())),
        _ => None,
    };
    let image_url = match (&image, &ctx.public_url) {
        (Some(_), Some(public)) => Some(crate::images::public_link(
            &ctx.secrets,
            public,
            publication.workspace_id,
            card.id,
        )),
        _ => None,
    };
    let recorder = Recorder {
        store,
        id,
        posts: std::sync::Mutex::new(publication.sent_posts.clone()),
        shelf: Shelf {
            workspace: &workspace,
            card: card.id,
            source: event.as_ref().map(|e| e.source_id),
        },
    };
    let post = Post {
        publication_id: &id.to_string(),
        card_id: &card.id.to_string(),
        channel_id: &channel.id.to_string(),
        idempotency_key: &publication.idempotency_key,
        title: &card.title,
        category: card.category.as_str(),
        variants: &card.variants,
        release_notes: &card.content,
        source: &card.source_key,
        release,
        image: image
            .as_ref()
            .map(|(png, alt)| covalynce_publishing::PostImage {
                png,
                alt,
                url: image_url.as_deref(),
            }),
        progress: &recorder,
    };
    let started = std::time::Instant::now();
    // A refused token that could not be renewed leaves the channel broken like any other.
    let result = send(ctx, &channel, target, &post)
        .await
        .map_err(|f| match f {
            Failure::Expired { message } => Failure::Permanent {
                message: format!("{message}; connect {label} again"),
                channel_broken: true,
            },
            other => other,
        });
    let outcome = match &result {
        Ok(_) => "published",
        Err(Failure::Retry { .. }) => "retry",
        Err(Failure::Permanent { .. } | Failure::Expired { .. }) => "failed",
        Err(Failure::Unknown { .. }) => "unknown",
    };
    metrics::counter!("covalynce_publications_total", "channel" => kind, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("covalynce_publish_seconds", "channel" => kind)
        .record(started.elapsed().as_secs_f64());
    // A thread that went out in part is seen at its first post, whatever happened next.
    let first_url = recorder.sent().first().and_then(|p| p.url.clone());
    let first_url = first_url.as_deref();
    match result {
        Ok(sent) => {
            let note = match (resumed, sent.note.as_deref()) {
                (Some(r), Some(n)) => Some(format!("{r}; {n}")),
                (Some(r), None) => Some(r.to_owned()),
                (None, n) => n.map(str::to_owned),
            };
            store
                .set_publication(
                    id,
                    PublicationStatus::Published,
                    sent.url.as_deref(),
                    note.as_deref(),
                )
                .await?;
            // The last success was recorded with the publication; the health row is written
            // only when there is a pause to keep or an old error to clear.
            if sent.pause_until.is_some() || channel.last_error.is_some() {
                store
                    .set_channel_health(channel.id, sent.pause_until, None, true)
                    .await?;
            }
            Ok(())
        }
        Err(Failure::Retry { message, after }) => {
            let at = after.map(|d| now_millis() + d.as_millis() as i64);
            if let Some(at) = at {
                // The platform's limit is the channel's, not this publication's.
                store
                    .set_channel_health(channel.id, Some(at), channel.last_error.as_deref(), false)
                    .await?;
            }
            if job.attempts >= job.max_attempts {
                let message = format!("gave up after {} attempts: {message}", job.attempts);
                store
                    .set_publication(id, PublicationStatus::Failed, first_url, Some(&message))
                    .await?;
                return Ok(());
            }
            store
                .set_publication(
                    id,
                    PublicationStatus::Queued,
                    first_url,
                    Some(&format!("{message}; will retry")),
                )
                .await?;
            Err(match at {
                Some(at) => JobError::RetryAt(message, at),
                None => JobError::Retry(message),
            })
        }
        Err(Failure::Permanent {
            message,
            channel_broken,
        }) => {
            if channel_broken {
                // A revoked webhook or a deleted channel stays broken: sending the channel's
                // other publications would only repeat the refusal (and Discord bans IPs
                // that keep sending to missing webhooks). Disabled, they wait for a person.
                // Stopped before the publication is marked failed, so whoever sees the
                // failure sees the channel stopped too.
                stop_channel(store, &channel, &message).await?;
                tracing::warn!(channel = %channel.id, kind, "channel broken: disabled");
            }
            store
                .set_publication(id, PublicationStatus::Failed, first_url, Some(&message))
                .await?;
            Ok(())
        }
        // Mapped to a broken channel above.
        Err(Failure::Expired { message }) => Err(JobError::Permanent(message)),
        Err(Failure::Unknown { message }) => {
            store
                .set_publication(id, PublicationStatus::Unknown, first_url, Some(&message))
                .await?;
            Ok(())
        }
    }
}

/// Records the posts of a thread on the publication as its platform takes them, durably,
/// before the publisher sends the next (see [`covalynce_publishing::Progress`]).
struct Recorder<'a> {
    store: &'a dyn covalynce_storage::Store,
    id: PublicationId,
    posts: std::sync::Mutex<Vec<SentPost>>,
    shelf: Shelf<'a>,
}

/// Where a changelog entry of this publication belongs.
struct Shelf<'a> {
    workspace: &'a covalynce_storage::Workspace,
    card: covalynce_domain::CardId,
    source: Option<covalynce_domain::SourceId>,
}

impl Progress for Recorder<'_> {
    fn sent(&self) -> Vec<SentPost> {
        self.posts.lock().map(|p| p.clone()).unwrap_or_default()
    }

    fn record<'a>(
        &'a self,
        posts: &'a [SentPost],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async move {
            self.store
                .record_sent_posts(self.id, posts)
                .await
                .map_err(|e| e.to_string())?;
            if let Ok(mut kept) = self.posts.lock() {
                *kept = posts.to_vec();
            }
            Ok(())
        })
    }

    fn shelve<'a>(
        &'a self,
        entry: &'a covalynce_publishing::changelog::Entry,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<covalynce_publishing::changelog::Shelved, String>,
                > + Send
                + 'a,
        >,
    > {
        use covalynce_publishing::changelog::Shelved;
        Box::pin(async move {
            let ws = self.shelf.workspace;
            let kept = self
                .store
                .put_changelog_entry(&covalynce_storage::NewChangelogEntry {
                    workspace_id: ws.id,
                    version: entry.version.clone(),
                    card_id: self.shelf.card,
                    publication_id: self.id,
                    source_id: self.shelf.source,
                    project: entry.project.clone(),
                    title: entry.title.clone(),
                    body: entry.body.clone(),
                    release_url: entry.release_url.clone(),
                    at: now_millis(),
                })
                .await
                .map_err(|e| e.to_string())?;
            Ok(if kept {
                Shelved::At(crate::changelog::entry_path(&ws.slug, &entry.version))
            } else {
                Shelved::Taken(format!(
                    "the changelog already shows {} from another source: a changelog has one entry per version, so take that one down first (or show one source only)",
                    entry.version
                ))
            })
        })
    }
}

/// Disables a broken channel with `why` as its last error: its other publications wait
/// for a person instead of repeating the failure.
async fn stop_channel(
    store: &dyn covalynce_storage::Store,
    channel: &ChannelRecord,
    why: &str,
) -> Result<(), JobError> {
    store
        .set_channel_health(channel.id, channel.paused_until, Some(why), false)
        .await?;
    store
        .set_channel_status(channel.workspace_id, channel.id, ChannelStatus::Disabled)
        .await?;
    Ok(())
}

/// Publishes with a token that works.
async fn send(
    ctx: &Context,
    channel: &ChannelRecord,
    target: Target,
    post: &Post<'_>,
) -> Result<covalynce_publishing::Sent, Failure> {
    with_fresh_token(ctx, channel, target, |t: Target| async move {
        t.publish(&ctx.http, post).await
    })
    .await
}

/// Runs `op` on the channel's target with a token that works: for channels that renew
/// their tokens, renewed first when it is about to expire, and once more if the platform
/// refuses it anyway (revoked early, clock skew).
pub async fn with_fresh_token<T, F, Fut>(
    ctx: &Context,
    channel: &ChannelRecord,
    target: Target,
    op: F,
) -> Result<T, Failure>
where
    F: Fn(Target) -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    if !channel.config.renewable() {
        return op(target).await;
    }
    let current = super::credentials::fresh(ctx, channel.clone(), false).await?;
    match op(reopen(ctx, &current)?).await {
        Err(Failure::Expired { .. }) => {
            let current = super::credentials::fresh(ctx, current, true).await?;
            op(reopen(ctx, &current)?).await
        }
        other => other,
    }
}

fn reopen(ctx: &Context, channel: &ChannelRecord) -> Result<Target, Failure> {
    open_target(ctx, channel).map_err(|message| Failure::Permanent {
        message,
        channel_broken: true,
    })
}

/// The job kept crashing its worker: whatever it was doing is not known to have worked.
pub async fn abandon(ctx: &Context, id: PublicationId, why: &str) -> Result<(), JobError> {
    let Some(publication) = ctx.store.publication(id).await? else {
        return Ok(());
    };
    let status = match publication.status {
        PublicationStatus::Queued => PublicationStatus::Failed,
        PublicationStatus::Publishing => PublicationStatus::Unknown,
        _ => return Ok(()),
    };
    ctx.store
        .set_publication(id, status, None, Some(why))
        .await?;
    Ok(())
}

fn daily_cap(channel: &ChannelRecord) -> Option<i64> {
    channel.config.daily_cap
}

/// The channel's settings and unsealed credentials, parsed.
pub fn open_target(ctx: &Context, channel: &ChannelRecord) -> Result<Target, String> {
    let plain = match &channel.sealed_credentials {
        Some(sealed) => Some(ctx.secrets.open(sealed).map_err(|e| e.to_string())?),
        None => None,
    };
    let secrets = covalynce_domain::ChannelSecrets::parse(channel.kind, plain.as_deref())
        .map_err(|e| e.to_string())?;
    Target::open(
        &channel.config,
        &secrets,
        &ctx.outbox_dir(channel.workspace_id),
    )
}
