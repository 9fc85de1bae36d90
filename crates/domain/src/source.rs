//! A source's records and the CI gate's, as stored and as the API spells them: a source's
//! [`SourceSettings`] (with what it asks of CI), where polling it left off ([`PollState`])
//! and where a card held for CI stands ([`Gate`]). Parsed when a row is read, so a shape no
//! version of Covalynce wrote is an error, never a silent default; written back, they keep
//! the flat JSON every release stored.

use crate::{SourceId, UnixMillis};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn is_false(b: &bool) -> bool {
    !*b
}

/// A source's settings (`{}`: the defaults).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSettings {
    /// GitHub: the repository's default branch when it was connected (GitHub's own
    /// default, `main`, when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_branch: Option<String>,
    /// GitHub: the repository is private.
    #[serde(default, skip_serializing_if = "is_false")]
    pub private: bool,
    /// Why the source works the way it does ("polls: …", "takes unsigned deliveries …").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Jira: deliveries carry the secret in their URL instead of a signature.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unsigned: bool,
    /// The CI gate as a person set it; `None`: never set (on, every workflow counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateConfig>,
}

/// The CI gate as a person set it for a source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// `Some(true)`: turned on explicitly, so even a newly connected repository's first
    /// cards wait for CI; `Some(false)`: off; `None`: on once CI has been seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The workflows that count (empty: all).
    #[serde(default)]
    pub workflows: Vec<String>,
    /// How long a first card waits for any CI before CI is taken to be absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent_after_secs: Option<u64>,
}

/// Where polling a GitHub source left off (`sources.poll_state`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollState {
    pub etag: Option<String>,
    /// The newest repository event already read (GitHub event ids grow).
    pub last_event: Option<i64>,
    /// Seconds GitHub asks between polls (`X-Poll-Interval`).
    pub interval: Option<u64>,
    /// Failed polls in a row (backoff doubles with each).
    #[serde(default)]
    pub failures: u32,
    /// The last refusal or fault, shown on the source.
    pub last_error: Option<String>,
    /// The workflow-run list's ETag: CI for sources GitHub cannot deliver webhooks to.
    #[serde(default)]
    pub runs_etag: Option<String>,
}

/// Where a card held for CI stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum GateState {
    /// Waiting for CI on its commit.
    #[serde(rename = "waiting")]
    Waiting,
    /// A workflow that counts failed; the card stays held.
    #[serde(rename = "failed")]
    Failed,
    /// CI went green: released to the stack.
    #[serde(rename = "passed")]
    Passed,
    /// No CI answered for the repository in time: released, and the card says so.
    #[serde(rename = "no CI")]
    NoCi,
    /// The gate was turned off for the source: released.
    #[serde(rename = "gate off")]
    GateOff,
}

/// The CI gate on a card about a commit of a repository with CI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    #[schema(value_type = String)]
    pub source_id: SourceId,
    pub repo: String,
    pub sha: String,
    pub state: GateState,
    /// The run that decided the gate (failed or passed): its workflow, conclusion and page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    /// Why it was released without a run ("no CI run was reported … within 1 hour").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// A first card held before any CI was seen: when CI counts as absent (Unix ms), and
    /// the wait as configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent_after: Option<UnixMillis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent_after_secs: Option<u64>,
}

impl Gate {
    /// A card's gate for commit `sha` of `repo`, waiting for CI.
    pub fn waiting(source_id: SourceId, repo: &str, sha: &str) -> Self {
        Self {
            source_id,
            repo: repo.to_owned(),
            sha: sha.to_owned(),
            state: GateState::Waiting,
            workflow: None,
            conclusion: None,
            run_url: None,
            note: None,
            absent_after: None,
            absent_after_secs: None,
        }
    }

    /// The run that decided the gate: the fields always describe it (a card released by a
    /// green re-run no longer shows the red run before it), and the wait for a first run
    /// is over.
    pub fn decided_by(
        &mut self,
        state: GateState,
        workflow: &str,
        conclusion: &str,
        url: Option<&str>,
    ) {
        self.state = state;
        self.workflow = Some(workflow.to_owned());
        self.conclusion = Some(conclusion.to_owned());
        self.run_url = url.map(str::to_owned);
        self.absent_after = None;
        self.absent_after_secs = None;
    }

    /// The failing run's page, when it is a web address (it is shown as a link).
    pub fn run_link(&self) -> Option<&str> {
        self.run_url
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_gate_shape_earlier_releases_stored_reads_and_writes_back_the_same() {
        let id = SourceId::new().to_string();
        for stored in [
            json!({"source_id": id, "repo": "o/r", "sha": "abc", "state": "waiting"}),
            json!({"source_id": id, "repo": "o/r", "sha": "abc", "state": "waiting",
                   "absent_after": 1_700_000_000_000_i64, "absent_after_secs": 3600}),
            json!({"source_id": id, "repo": "o/r", "sha": "abc", "state": "failed",
                   "workflow": "CI", "conclusion": "failure", "run_url": "https://github.com/o/r/actions/runs/1"}),
            json!({"source_id": id, "repo": "o/r", "sha": "abc", "state": "passed",
                   "workflow": "CI", "conclusion": "success", "run_url": null}),
            json!({"source_id": id, "repo": "o/r", "sha": "abc", "state": "no CI",
                   "absent_after": 1, "absent_after_secs": 1, "note": "no CI run was reported"}),
            json!({"source_id": id, "repo": "o/r", "sha": "abc", "state": "gate off"}),
        ] {
            let gate: Gate = serde_json::from_value(stored.clone()).expect("an earlier shape");
            let mut written = serde_json::to_value(&gate).unwrap();
            let mut expected = stored.clone();
            // Only nulls are left out when written back.
            expected
                .as_object_mut()
                .unwrap()
                .retain(|_, v| !v.is_null());
            written.as_object_mut().unwrap().retain(|_, v| !v.is_null());
            assert_eq!(written, expected);
        }
    }

    #[test]
    fn a_gate_or_settings_no_release_wrote_is_refused() {
        let id = SourceId::new().to_string();
        for bad in [
            json!({"source_id": id, "repo": "o/r", "sha": "abc", "state": "green"}),
            json!({"source_id": "not-an-id", "repo": "o/r", "sha": "abc", "state": "waiting"}),
            json!({"source_id": id, "repo": "o/r", "state": "waiting"}),
            json!({"source_id": id, "repo": "o/r", "sha": "abc", "state": "waiting", "extra": 1}),
        ] {
            assert!(
                serde_json::from_value::<Gate>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        for bad in [
            json!({"gate": {"enabled": "yes"}}),
            json!({"private": "true"}),
            json!({"mode": "push"}),
        ] {
            assert!(
                serde_json::from_value::<SourceSettings>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_poll_state_as_the_poller_stored_it_reads_and_writes_back_the_same() {
        for stored in [
            json!({"etag": "W/\"a1\"", "last_event": 42, "interval": 60, "failures": 0,
                   "last_error": null, "runs_etag": null}),
            json!({"etag": null, "last_event": null, "interval": null, "failures": 3,
                   "last_error": "rate limited: secondary limit", "runs_etag": "W/\"r\""}),
        ] {
            let state: PollState = serde_json::from_value(stored.clone()).unwrap();
            assert_eq!(serde_json::to_value(&state).unwrap(), stored);
        }
        assert!(serde_json::from_value::<PollState>(json!({"failures": "many"})).is_err());
    }

    #[test]
    fn every_settings_shape_earlier_releases_stored_reads_and_writes_back_the_same() {
        for stored in [
            json!({}),
            json!({"default_branch": "master", "private": true}),
            json!({"default_branch": "main", "private": false, "note": "polls: no public URL"}),
            json!({"unsigned": true, "note": "takes unsigned deliveries whose URL carries the secret"}),
            json!({"gate": {"enabled": true, "workflows": ["CI"], "absent_after_secs": 60}}),
            json!({"gate": {"enabled": false, "workflows": []}}),
        ] {
            let settings: SourceSettings =
                serde_json::from_value(stored.clone()).expect("an earlier shape");
            let mut expected = stored.clone();
            // False flags are left out when written back.
            expected
                .as_object_mut()
                .unwrap()
                .retain(|_, v| v != &json!(false));
            assert_eq!(serde_json::to_value(&settings).unwrap(), expected);
        }
    }
}
