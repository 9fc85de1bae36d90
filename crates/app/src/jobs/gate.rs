//! The CI gate in the pipeline: a card about a commit of a repository that has CI is
//! created HELD until CI for that commit is green (`hold`); each finished CI run releases
//! or annotates the cards held for its commit (`on_ci_run`).
//!
//! Ordering: a CI run is stored before its `ci_gate` job reads the held cards, and a held
//! card is stored before the drafting job checks CI again (`recheck`), so whichever of the
//! two lands second sees the other; no card waits for a run that already came.

use super::{Context, JobError};
use covalynce_cards::gate::{self, Verdict};
use covalynce_domain::{
    CardId, CardStatus, EventId, EventKind, Gate, GateState, SourceSettings, WorkspaceId,
};
use covalynce_storage::{ClaimedJob, EventFilter, EventRecord, Store};

/// A source's gate settings (`settings.gate`): on unless turned off; `workflows` names
/// the workflows that count (empty: all). Turned on explicitly (`enabled: true`), the gate
/// holds even a newly connected repository's first cards, before any CI was seen, until
/// CI answers or `absent_after_secs` pass without any (then CI is taken to be absent and
/// the card says so).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GateSettings {
    pub off: bool,
    pub workflows: Vec<String>,
    pub explicit: bool,
    pub absent_after_secs: u64,
}

/// How long a newly connected repository's first held card waits for any CI at all.
pub const ABSENT_AFTER_SECS: u64 = 3600;

impl GateSettings {
    pub fn of(settings: &SourceSettings) -> Self {
        let gate = settings.gate.clone().unwrap_or_default();
        Self {
            explicit: gate.enabled == Some(true),
            absent_after_secs: gate.absent_after_secs.unwrap_or(ABSENT_AFTER_SECS),
            off: gate.enabled == Some(false),
            workflows: gate.workflows,
        }
    }
}

/// How many recent CI events are read to judge a commit: runs for a commit arrive within
/// hours of it, and a workspace stores far fewer than this in that time.
const RECENT_RUNS: i64 = 500;

/// Whether any CI has been seen for `repo` lately, and the runs for commit `sha`.
async fn runs_for(
    store: &dyn Store,
    ws: WorkspaceId,
    repo: &str,
    sha: &str,
) -> Result<(bool, Vec<gate::Run>), JobError> {
    let events = store
        .list_events(
            ws,
            &EventFilter {
                kind: Some(EventKind::CiRun),
                limit: RECENT_RUNS,
                ..Default::default()
            },
        )
        .await?;
    let mut seen = false;
    let mut runs = Vec::new();
    for e in events.iter().filter(|e| e.repo.eq_ignore_ascii_case(repo)) {
        let covalynce_domain::Work::CiRun(ci) = &e.facts.work else {
            continue;
        };
        if let Some((commit, run)) = gate::run_of(ci, e.created_at) {
            seen = true;
            if commit == sha {
                runs.push(run);
            }
        }
    }
    Ok((seen, runs))
}

fn gate_state(event: &EventRecord, sha: &str, verdict: &Verdict) -> Gate {
    let mut g = Gate::waiting(event.source_id, &event.repo, sha);
    if let Verdict::Red(run) = verdict {
        decided(&mut g, GateState::Failed, run);
    }
    g
}

/// The run that decided a gate (failed: which workflow, how, and where to look; passed:
/// the green run that released it).
fn decided(g: &mut Gate, state: GateState, run: &gate::Run) {
    g.decided_by(state, &run.workflow, &run.conclusion, run.url.as_deref());
}

/// After storing a card held before any CI was seen: a job that releases it if no CI has
/// answered for its repository by the deadline.
pub async fn schedule_absence(
    ctx: &Context,
    ws: WorkspaceId,
    card: CardId,
    gate: &Gate,
) -> Result<(), JobError> {
    let Some(at) = gate.absent_after else {
        return Ok(());
    };
    ctx.store
        .enqueue_job(&covalynce_storage::NewJob {
            workspace_id: Some(ws),
            job: covalynce_domain::Job::CiAbsent { card },
            run_at: at,
            max_attempts: 5,
        })
        .await?;
    Ok(())
}

/// The deadline of a card held for a repository without CI: if it is still waiting and no
/// CI has answered for its repository, CI is absent; the card goes to the stack and says so.
pub async fn on_absence_deadline(
    ctx: &Context,
    job: &ClaimedJob,
    id: CardId,
) -> Result<(), JobError> {
    let ws = job
        .workspace_id
        .ok_or_else(|| JobError::Permanent("the job names no workspace".into()))?;
    let Some(held) = ctx.store.card(ws, id).await? else {
        return Ok(());
    };
    let Some(g) = held
        .gate
        .as_ref()
        .filter(|_| held.status == CardStatus::Held)
    else {
        return Ok(());
    };
    let (repo, sha) = (g.repo.as_str(), g.sha.as_str());
    if g.state != GateState::Waiting || g.absent_after.is_none() {
        return Ok(());
    }
    let (seen, runs) = runs_for(ctx.store.as_ref(), ws, repo, sha).await?;
    let released = if seen {
        // CI answered meanwhile (for another commit): this card waits for its own run.
        settle(ctx, ws, id, g, &runs).await?
    } else {
        // The wait as configured (a card held by an older build has only the deadline: the
        // time from the card to it, rounded, as the card was stamped after the deadline was
        // set and a 1 s wait would otherwise read "within 0 seconds").
        let waited_secs = g.absent_after_secs.map_or_else(
            || {
                let ms = (g.absent_after.unwrap_or_default() - held.created_at).max(0);
                (ms + 500) / 1000
            },
            |secs| i64::try_from(secs).unwrap_or(i64::MAX),
        );
        let waited = match waited_secs {
            secs if secs >= 120 => format!("{} minutes", secs.saturating_add(30) / 60),
            1 => "1 second".to_owned(),
            secs => format!("{secs} seconds"),
        };
        let mut next = g.clone();
        next.state = GateState::NoCi;
        next.note = Some(format!(
            "no CI run was reported for {repo} within {waited} of this card: CI is taken to be absent"
        ));
        let released = ctx.store.update_gate(ws, id, &next, true).await?;
        if released {
            tracing::info!(card = %id, "no CI answered: the held card goes to the stack");
        }
        released
    };
    if released {
        super::handlers::after_release(ctx, ws, id).await?;
    }
    Ok(())
}

/// The gate for a card about to be drafted from `event` (of `source`): `None` sends it to the stack
/// (gate off, no commit, the repository has no CI, or CI is already green for it).
pub async fn hold(
    ctx: &Context,
    ws: WorkspaceId,
    event: &EventRecord,
    source: Option<&covalynce_storage::Source>,
) -> Result<Option<Gate>, JobError> {
    let Some(sha) = event.facts.commit().map(str::to_owned) else {
        return Ok(None);
    };
    let settings = source.map_or_else(GateSettings::default, |s| GateSettings::of(&s.settings));
    if settings.off {
        return Ok(None);
    }
    let (seen, for_commit) = runs_for(ctx.store.as_ref(), ws, &event.repo, &sha).await?;
    if !seen {
        if !settings.explicit {
            // No CI seen for this repository and no one asked to wait: nothing to wait for.
            return Ok(None);
        }
        // The gate was turned on for a repository whose CI has not answered yet (a newly
        // connected one): hold until CI answers, or until it is plainly absent.
        let mut g = gate_state(event, &sha, &Verdict::Waiting);
        let wait_ms =
            i64::try_from(settings.absent_after_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        g.absent_after = Some(covalynce_domain::now_millis().saturating_add(wait_ms));
        // The wait as configured, for the note: the deadline is set before the card is
        // drafted and stamped, so the two times differ by the drafting.
        g.absent_after_secs = Some(settings.absent_after_secs);
        return Ok(Some(g));
    }
    let verdict = gate::verdict(&for_commit, &settings.workflows);
    Ok(match verdict {
        Verdict::Green(_) => None,
        v => Some(gate_state(event, &sha, &v)),
    })
}

/// After storing a HELD card: CI may have finished while it was drafted.
pub async fn recheck(
    ctx: &Context,
    ws: WorkspaceId,
    card: CardId,
    gate: &Gate,
) -> Result<bool, JobError> {
    let (_, runs) = runs_for(ctx.store.as_ref(), ws, &gate.repo, &gate.sha).await?;
    settle(ctx, ws, card, gate, &runs).await
}

/// Judges one held card again; true when it was released to the stack.
async fn settle(
    ctx: &Context,
    ws: WorkspaceId,
    card: CardId,
    gate_now: &Gate,
    runs: &[gate::Run],
) -> Result<bool, JobError> {
    let settings = match ctx.store.workspace_source(ws, gate_now.source_id).await? {
        Some(s) => GateSettings::of(&s.settings),
        None => GateSettings::default(),
    };
    if settings.off {
        let mut next = gate_now.clone();
        next.state = GateState::GateOff;
        return Ok(ctx.store.update_gate(ws, card, &next, true).await?);
    }
    let verdict = gate::verdict(runs, &settings.workflows);
    let mut next = gate_now.clone();
    match &verdict {
        Verdict::Green(run) => {
            decided(&mut next, GateState::Passed, run);
            let released = ctx.store.update_gate(ws, card, &next, true).await?;
            if released {
                tracing::info!(%card, "CI is green: the held card goes to the stack");
            }
            Ok(released)
        }
        Verdict::Red(run) => {
            decided(&mut next, GateState::Failed, run);
            if &next != gate_now {
                ctx.store.update_gate(ws, card, &next, false).await?;
            }
            Ok(false)
        }
        Verdict::Waiting => Ok(false),
    }
}

/// A CI run finished: every card held for its commit is judged again.
pub async fn on_ci_run(ctx: &Context, job: &ClaimedJob, event_id: EventId) -> Result<(), JobError> {
    let ws = job
        .workspace_id
        .ok_or_else(|| JobError::Permanent("the job names no workspace".into()))?;
    let event = ctx
        .store
        .event_by_id(event_id)
        .await?
        .ok_or_else(|| JobError::Retry(format!("event {event_id} not found")))?;
    let covalynce_domain::Work::CiRun(ci) = &event.facts.work else {
        return Ok(());
    };
    let Some(sha) = ci.head_sha.as_deref() else {
        return Ok(());
    };
    // Read once for all the cards held for this commit (there may be several: a push, its
    // tag, its release).
    let mut runs: Option<Vec<gate::Run>> = None;
    for card in ctx.store.held_cards(ws).await? {
        let Some(g) = card.gate.as_ref() else {
            continue;
        };
        let same = g.sha == sha && g.repo.eq_ignore_ascii_case(&event.repo);
        if !same {
            continue;
        }
        if runs.is_none() {
            runs = Some(runs_for(ctx.store.as_ref(), ws, &event.repo, sha).await?.1);
        }
        if settle(ctx, ws, card.id, g, runs.as_deref().unwrap_or_default()).await? {
            super::handlers::after_release(ctx, ws, card.id).await?;
        }
    }
    Ok(())
}

/// Releases every card a source holds, whatever CI says (the gate was turned off for it).
pub async fn release_source(
    store: &dyn Store,
    ws: WorkspaceId,
    source: covalynce_domain::SourceId,
) -> Result<usize, covalynce_storage::StoreError> {
    let mut n = 0;
    for card in store.held_cards(ws).await? {
        let Some(g) = card.gate.as_ref() else {
            continue;
        };
        if g.source_id == source {
            let mut next = g.clone();
            next.state = GateState::GateOff;
            if store.update_gate(ws, card.id, &next, true).await? {
                n += 1;
            }
        }
    }
    Ok(n)
}
