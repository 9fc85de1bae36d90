//! What each kind of job does.

use super::JobError;
use covalynce_domain::{EventId, JobKind};
use covalynce_storage::{ClaimedJob, Store};

pub async fn run(store: &dyn Store, kind: JobKind, job: &ClaimedJob) -> Result<(), JobError> {
    match kind {
        JobKind::DraftEvent => draft_event(store, job).await,
    }
}

/// A new event is handed to drafting. Drafting arrives with the understanding/drafting
/// stage; until then the event is marked `ready` for it, which is what this records.
async fn draft_event(store: &dyn Store, job: &ClaimedJob) -> Result<(), JobError> {
    let event_id = job
        .payload
        .get("event_id")
        .and_then(|v| v.as_str())
        .and_then(EventId::parse)
        .ok_or_else(|| JobError::Permanent("payload has no valid event_id".into()))?;
    // One conditional write; only when it changes nothing is it worth a read to tell
    // "already handed over" (a re-run) from "no such event" (retry: not visible yet).
    if store
        .set_event_status_if(event_id, "new", "ready", Some("waiting for the drafter"))
        .await?
    {
        return Ok(());
    }
    match store.event_by_id(event_id).await? {
        Some(_) => Ok(()),
        None => Err(JobError::Retry(format!("event {event_id} not found"))),
    }
}
