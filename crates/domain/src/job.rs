//! Background jobs as types. The queue stores a job as its kind and a JSON payload; this is
//! the one place that encoding is written and read, so a handler never digs in JSON and no
//! query compares payload text.

use crate::{CardId, EventId, JobKind, PublicationId};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// Turn a stored event into a card.
    DraftEvent { event: EventId },
    /// Publish one card on one channel.
    Publish { publication: PublicationId },
    /// A CI run finished (the event that recorded it): judge the cards held for its commit.
    CiRun { event: EventId },
    /// A card held for CI on a repository that may have none: if no run has answered by
    /// now, CI is taken to be absent.
    CiAbsent { card: CardId },
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Job::DraftEvent { .. } => JobKind::DraftEvent,
            Job::Publish { .. } => JobKind::Publish,
            Job::CiRun { .. } | Job::CiAbsent { .. } => JobKind::CiGate,
        }
    }

    /// The payload as stored (the shapes every earlier version wrote, so queued jobs of an
    /// older version still run).
    pub fn payload(&self) -> String {
        match self {
            Job::DraftEvent { event } | Job::CiRun { event } => {
                json!({ "event_id": event.to_string() })
            }
            Job::Publish { publication } => json!({ "publication_id": publication.to_string() }),
            Job::CiAbsent { card } => json!({ "absent_check": card.to_string() }),
        }
        .to_string()
    }

    /// A stored job read back. `Err` says what is wrong with it (a job of an unknown kind,
    /// written by a newer version, or a payload without its id).
    pub fn decode(kind: &str, payload: &Value) -> Result<Job, String> {
        let kind = JobKind::parse(kind).ok_or_else(|| format!("unknown job kind {kind:?}"))?;
        let id = |field: &str| payload.get(field).and_then(Value::as_str);
        let missing = |field: &str| format!("{} job payload has no valid {field}", kind.as_str());
        match kind {
            JobKind::DraftEvent => id("event_id")
                .and_then(EventId::parse)
                .map(|event| Job::DraftEvent { event })
                .ok_or_else(|| missing("event_id")),
            JobKind::Publish => id("publication_id")
                .and_then(PublicationId::parse)
                .map(|publication| Job::Publish { publication })
                .ok_or_else(|| missing("publication_id")),
            JobKind::CiGate => match id("absent_check") {
                Some(card) => CardId::parse(card)
                    .map(|card| Job::CiAbsent { card })
                    .ok_or_else(|| missing("absent_check")),
                None => id("event_id")
                    .and_then(EventId::parse)
                    .map(|event| Job::CiRun { event })
                    .ok_or_else(|| missing("event_id")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_reads_back_as_it_was_queued() {
        for job in [
            Job::DraftEvent {
                event: EventId::new(),
            },
            Job::Publish {
                publication: PublicationId::new(),
            },
            Job::CiRun {
                event: EventId::new(),
            },
            Job::CiAbsent {
                card: CardId::new(),
            },
        ] {
            let payload: Value = serde_json::from_str(&job.payload()).unwrap();
            assert_eq!(Job::decode(job.kind().as_str(), &payload), Ok(job));
        }
    }

    /// Rows as earlier versions stored them, byte for byte, still decode.
    #[test]
    fn payloads_an_earlier_version_queued_still_decode() {
        let id = "0193a7e2-5f4c-7cc0-8d2a-4b9f0e6a1c11";
        let row = |field: &str| -> Value {
            serde_json::from_str(&format!(r#"{{"{field}":"{id}"}}"#)).unwrap()
        };
        assert_eq!(
            Job::decode("publish", &row("publication_id")),
            Ok(Job::Publish {
                publication: PublicationId::parse(id).unwrap()
            })
        );
        assert_eq!(
            Job::decode("ci_gate", &row("absent_check")),
            Ok(Job::CiAbsent {
                card: CardId::parse(id).unwrap()
            })
        );
        assert_eq!(
            Job::decode("ci_gate", &row("event_id")),
            Ok(Job::CiRun {
                event: EventId::parse(id).unwrap()
            })
        );
        assert_eq!(
            Job::decode("draft_event", &row("event_id")),
            Ok(Job::DraftEvent {
                event: EventId::parse(id).unwrap()
            })
        );
    }

    #[test]
    fn a_bad_stored_job_says_what_is_wrong() {
        assert_eq!(
            Job::decode("send_fax", &json!({})),
            Err("unknown job kind \"send_fax\"".into())
        );
        assert_eq!(
            Job::decode("publish", &json!({ "publication_id": "nope" })),
            Err("publish job payload has no valid publication_id".into())
        );
        assert_eq!(
            Job::decode("draft_event", &json!({})),
            Err("draft_event job payload has no valid event_id".into())
        );
    }
}
