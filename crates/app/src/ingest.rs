//! Webhook deliveries, once their signature is proven: which source a delivery is for, and
//! storing it once (by the sender's delivery id) with the events it carries.
//!
//! The HTTP adapter keeps what belongs to the wire: reading a body within the server's
//! budget for unsigned bytes, checking its signature as it streams in, and the answer's
//! status. What a delivery means — a ping, an ignored event, events, a repeat — is decided
//! here, from the source's own facts.

use crate::{App, AppError};
use covalynce_domain::{RepoSlug, SourceId, SourceKind, WorkspaceId, now_millis};
use covalynce_sources::github::Classified;
use covalynce_storage::{DeliveryOutcome, Ingest, IngestOutcome, IngestWriter, StoredEvent};

/// What verifying and storing a delivery needs to know of its source, with its secret
/// unsealed (adapters may cache it briefly: a delivery should not cost a query and a
/// decryption).
pub struct HookSource {
    pub kind: SourceKind,
    pub workspace_id: WorkspaceId,
    pub repo: Option<RepoSlug>,
    pub secret: Vec<u8>,
    /// A Jira source created `signed: false`: deliveries without a signature are taken
    /// when the URL carries the secret (`?secret=`) instead.
    pub url_secret: bool,
}

/// A delivery whose signature was proven, as classified from its payload.
pub struct Delivery {
    /// The sender's id for it, kept across its retries: what makes it count once.
    pub guid: String,
    /// `X-GitHub-Event`'s value, or `jira`.
    pub event_name: String,
    pub body: Vec<u8>,
    pub classified: Classified,
}

/// What became of a delivery.
pub enum Received {
    /// This delivery id was received before; nothing new was stored.
    Duplicate,
    /// A ping (GitHub's when a hook is made), stored.
    Ping { zen: Option<String> },
    /// Stored; it starts no work, for this reason.
    Ignored { reason: String },
    /// Stored with its events (`new: false` for work stored before by another delivery).
    Stored {
        delivery_id: String,
        events: Vec<StoredEvent>,
    },
}

impl App {
    /// The source `id` names, with its secret opened, if it is a source of `kind` that
    /// takes webhooks. `None` either way otherwise: a stranger learns nothing of which ids
    /// exist.
    pub async fn hook_source(
        &self,
        secrets: &crate::secrets::SecretBox,
        id: SourceId,
        kind: SourceKind,
    ) -> Result<Option<HookSource>, AppError> {
        let Some(source) = self.store().source(id).await? else {
            return Ok(None);
        };
        if source.kind != kind {
            return Ok(None);
        }
        let Some(sealed) = source.sealed_secret.as_deref() else {
            return Ok(None);
        };
        // Sealed under a key this server no longer has: the operator's to mend (the log
        // says so; the sender, a stranger until the signature is checked, is told only to
        // come back, and GitHub's "Redeliver" works once the key is back).
        let secret = secrets.open(sealed).map_err(|e| {
            tracing::error!(source = %id, error = %e, "a source's webhook secret does not open with this server's keys: restore the key that sealed it");
            AppError::Unavailable("this source cannot take deliveries right now".into())
        })?;
        Ok(Some(HookSource {
            kind,
            workspace_id: source.workspace_id,
            repo: source.repo.as_deref().and_then(|r| RepoSlug::parse(r).ok()),
            secret,
            url_secret: source.settings.unsigned,
        }))
    }

    /// Stores a verified delivery once, through the group-commit writer (durable before
    /// this returns), and wakes the workers when it brought new work.
    pub async fn receive(
        &self,
        writer: &IngestWriter,
        source: &HookSource,
        source_id: SourceId,
        delivery: Delivery,
    ) -> Result<Received, AppError> {
        let (outcome, reason, events, zen) = match delivery.classified {
            Classified::Ping { zen } => (DeliveryOutcome::Ping, None, Vec::new(), zen),
            Classified::Ignored(reason) => {
                (DeliveryOutcome::Ignored, Some(reason), Vec::new(), None)
            }
            Classified::Events(events) => (DeliveryOutcome::Events, None, events, None),
        };
        let stored = writer
            .submit(Ingest {
                workspace_id: source.workspace_id,
                source_id,
                guid: delivery.guid,
                event_name: delivery.event_name,
                outcome,
                reason: reason.clone(),
                body: delivery.body,
                events,
                received_at: now_millis(),
            })
            .await?;
        Ok(match stored {
            IngestOutcome::Duplicate => Received::Duplicate,
            IngestOutcome::Stored {
                delivery_id,
                events,
            } => match outcome {
                DeliveryOutcome::Ping => Received::Ping { zen },
                DeliveryOutcome::Ignored => Received::Ignored {
                    reason: reason.unwrap_or_default(),
                },
                DeliveryOutcome::Events => {
                    if events.iter().any(|e| e.new) {
                        self.wake_workers();
                    }
                    Received::Stored {
                        delivery_id: delivery_id.to_string(),
                        events,
                    }
                }
            },
        })
    }
}

/// An event posted to the API, as stored.
pub struct Submitted {
    /// Whether it was new (else its idempotency key was seen before; nothing changed).
    pub new: bool,
    pub event: covalynce_storage::EventRecord,
}

impl App {
    /// An event a member posts to the API (`POST /api/v1/events`): normalized, stored once
    /// by its idempotency key (the `Idempotency-Key` header, else the body's own) under the
    /// workspace's API source, through the same writer as webhook deliveries; the workers
    /// are woken when it is new.
    pub async fn submit_event(
        &self,
        writer: &IngestWriter,
        who: &crate::Acting<crate::Editor>,
        submitted: covalynce_sources::generic::Submitted,
        idempotency_key: Option<&str>,
    ) -> Result<Submitted, AppError> {
        let ws = who.workspace();
        let event =
            covalynce_sources::generic::normalize(submitted, idempotency_key, ws.slug.as_str())
                .map_err(AppError::Invalid)?;
        let key = event.dedup_key.clone();
        let source_id = self.api_source(who).await?;
        // What the delivery log keeps of it: the event as normalized (a JSON value always
        // encodes).
        let body = serde_json::to_vec(&serde_json::json!({
            "kind": event.kind, "key": event.dedup_key, "title": event.title, "data": event.facts,
        }))
        .unwrap_or_default();
        let stored = writer
            .submit(Ingest {
                workspace_id: ws.id,
                source_id,
                guid: key.clone(),
                event_name: format!("api.{}", event.kind.as_str()),
                outcome: DeliveryOutcome::Events,
                reason: None,
                body,
                events: vec![event],
                received_at: now_millis(),
            })
            .await?;
        let new =
            matches!(&stored, IngestOutcome::Stored { events, .. } if events.iter().any(|e| e.new));
        if new {
            self.wake_workers();
        }
        let event = self
            .store()
            .event_by_key(ws.id, &key)
            .await?
            .ok_or_else(|| {
                AppError::Store(covalynce_storage::StoreError::Corrupt(format!(
                    "event {key} is not stored after its ingest"
                )))
            })?;
        Ok(Submitted { new, event })
    }
}
