//! What each kind of job does.

use super::{Context, JobError};
use covalynce_cards::{Decision, EventInput};
use covalynce_domain::{EventId, EventKind, EventStatus, Job};
use covalynce_drafting::Voice;
use covalynce_storage::{CardCreation, ClaimedJob, NewCard, Store};
use std::sync::Arc;

pub async fn run(ctx: &Context, what: Job, job: &ClaimedJob) -> Result<(), JobError> {
    match what {
        Job::DraftEvent { event } => draft_event(ctx, job, event).await,
        Job::Publish { publication } => super::publish::run(ctx, job, publication).await,
        Job::CiRun { event } => super::gate::on_ci_run(ctx, job, event).await,
        Job::CiAbsent { card } => super::gate::on_absence_deadline(ctx, job, card).await,
    }
}

/// A job that kept crashing its worker is given up: leave its subject in an honest state.
pub async fn abandon(ctx: &Context, what: Job, why: &str) -> Result<(), JobError> {
    match what {
        Job::DraftEvent { .. } | Job::CiRun { .. } | Job::CiAbsent { .. } => Ok(()),
        Job::Publish { publication } => super::publish::abandon(ctx, publication, why).await,
    }
}

/// A new event becomes a PENDING card (or a recorded reason why not). Idempotent: the
/// card is unique per event, and a finished event is left alone.
async fn draft_event(ctx: &Context, job: &ClaimedJob, event_id: EventId) -> Result<(), JobError> {
    let store = ctx.store.as_ref();
    let workspace_id = job
        .workspace_id
        .ok_or_else(|| JobError::Permanent("the job names no workspace".into()))?;
    let mut event = store
        .event_by_id(event_id)
        .await?
        .ok_or_else(|| JobError::Retry(format!("event {event_id} not found")))?;
    if event.status.is_settled() {
        return Ok(());
    }
    // Read once: GitHub completes the event from its API, and the CI gate reads the
    // source's settings.
    let source = store
        .workspace_source(workspace_id, event.source_id)
        .await?;
    if let Some(source) = &source
        && source.kind == covalynce_domain::SourceKind::Github
        && let Some(api) = crate::github::api_for(&ctx.secrets, &ctx.github_api, source)
    {
        crate::github::enrich(store, &api, source, &mut event).await;
    }
    let workspace = store
        .workspace(workspace_id)
        .await?
        .ok_or_else(|| JobError::Permanent(format!("workspace {workspace_id} is gone")))?;
    if workspace.cards_used_at(covalynce_domain::now_millis()) >= workspace.card_limit {
        // Drafting would be thrown away: say why now. (`create_card` enforces the limit
        // atomically anyway; this only saves the work when it is plainly used up.)
        let reason = format!(
            "not drafted: the {} plan allows {} cards and {} are used; raise the limit or upgrade, then redraft",
            workspace.plan.as_stored(),
            workspace.card_limit,
            workspace.cards_used
        );
        store
            .set_event_status(event.id, EventStatus::OverLimit, Some(&reason))
            .await?;
        return Ok(());
    }
    let voice = workspace.voice;
    // A release supersedes the pushes it contains: what their cards already announced is
    // not announced again, and their cards still waiting for review fold into this one.
    // Both read the recent cards: listed once.
    let recent = if matches!(event.kind, EventKind::Tag | EventKind::Release) {
        store
            .list_cards(
                workspace_id,
                &covalynce_storage::CardFilter {
                    limit: RECENT_PUSHES,
                    ..Default::default()
                },
            )
            .await?
    } else {
        Vec::new()
    };
    // One card per version: the same release seen again (its tag, then GitHub's release —
    // which a GitHub Releases channel itself makes — or another tool's report) is not a
    // second announcement. Already announced: skipped; still waiting: it folds into this.
    let mut superseded = Superseded::default();
    if let Some(version) = event.facts.version().map(str::to_owned) {
        match same_version(store, workspace_id, &event, &version, &recent).await? {
            SameVersion::Announced => {
                let reason = format!(
                    "{version} of {} was already announced from an earlier card",
                    event.repo
                );
                store
                    .set_event_status(event.id, EventStatus::Skipped, Some(&reason))
                    .await?;
                return Ok(());
            }
            SameVersion::Waiting(cards) => superseded.waiting.extend(cards),
            SameVersion::New => {}
        }
    }
    if matches!(event.kind, EventKind::Tag | EventKind::Release) {
        let pushes = pushes_in_release(store, workspace_id, &event, &recent).await?;
        superseded.announced = pushes.announced;
        superseded.waiting.extend(pushes.waiting);
    }
    if !superseded.announced.is_empty()
        && let Some(commits) = event.facts.commits_mut()
    {
        let before = commits.len();
        commits.retain(|c| !superseded.announced.contains(&c.id));
        if before > 0 && commits.is_empty() {
            let reason = format!(
                "nothing new to announce: every change in {} was already announced from its pushes",
                event.title
            );
            store
                .set_event_status(event.id, EventStatus::Skipped, Some(&reason))
                .await?;
            return Ok(());
        }
    }
    let decision = covalynce_cards::from_event(
        &EventInput {
            kind: event.kind,
            repo: &event.repo,
            title: &event.title,
            facts: &event.facts,
        },
        voice,
    );
    match decision {
        Decision::Skip(reason) => {
            store
                .set_event_status(event.id, EventStatus::Skipped, Some(&reason))
                .await?;
        }
        Decision::Card(card) => {
            let security_fixes = card.security_fixes;
            let (mut new, calls) = with_ai(ctx, &workspace, &event, *card).await?;
            new.gate = super::gate::hold(ctx, workspace_id, &event, source.as_ref()).await?;
            new.ai_calls = crate::ai::ledger(&ctx.ai.prices, workspace_id, None, "draft", &calls);
            let risk = new.risk;
            match store.create_card(&new).await? {
                CardCreation::OverLimit { plan, limit, used } => {
                    tracing::info!(%event_id, plan, limit, used, "card limit reached; event kept, not drafted");
                }
                CardCreation::Created(card_id) => {
                    for folded in &superseded.waiting {
                        // Already reviewed or gone meanwhile: nothing to fold.
                        let _ = store.dismiss_card(workspace_id, *folded).await?;
                        tracing::info!(card = %folded, release = %card_id, "an earlier card (a push, or the same version) folds into its release");
                    }
                    let held = match &new.gate {
                        Some(gate) => {
                            super::gate::schedule_absence(ctx, workspace_id, card_id, gate).await?;
                            !super::gate::recheck(ctx, workspace_id, card_id, gate).await?
                        }
                        None => false,
                    };
                    if !held {
                        auto_approve(ctx.store.clone(), &workspace, card_id, Some(risk)).await?;
                    }
                    if security_fixes > 0 {
                        suggest_strategy(store, workspace_id, &event, voice).await?;
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// What became of earlier cards for the same version of the same repository.
enum SameVersion {
    New,
    /// One was approved or published: the version is announced.
    Announced,
    /// Cards still waiting for review: they fold into the new one.
    Waiting(Vec<covalynce_domain::CardId>),
}

async fn same_version(
    store: &dyn Store,
    ws: covalynce_domain::WorkspaceId,
    event: &covalynce_storage::EventRecord,
    version: &str,
    cards: &[covalynce_storage::CardRecord],
) -> Result<SameVersion, JobError> {
    let mut earlier = Vec::new();
    for kind in [EventKind::Tag, EventKind::Release] {
        let events = store
            .list_events(
                ws,
                &covalynce_storage::EventFilter {
                    kind: Some(kind),
                    repo: Some(event.repo.clone()),
                    limit: RECENT_PUSHES,
                    ..Default::default()
                },
            )
            .await?;
        earlier.extend(
            events
                .into_iter()
                .filter(|e| e.id != event.id && e.facts.version() == Some(version))
                .map(|e| e.id),
        );
    }
    if earlier.is_empty() {
        return Ok(SameVersion::New);
    }
    let mut waiting = Vec::new();
    for card in cards
        .iter()
        .filter(|c| c.event_id.is_some_and(|e| earlier.contains(&e)))
    {
        use covalynce_domain::CardStatus as S;
        match card.status {
            S::Approved | S::Published | S::Partial => return Ok(SameVersion::Announced),
            S::Pending | S::Held => waiting.push(card.id),
            _ => {}
        }
    }
    Ok(if waiting.is_empty() {
        SameVersion::New
    } else {
        SameVersion::Waiting(waiting)
    })
}

/// What a release (or tag) supersedes among the cards of pushes it contains.
#[derive(Default)]
struct Superseded {
    /// Commits a push card already announced (approved, published or partly published):
    /// not announced again.
    announced: std::collections::HashSet<String>,
    /// Push cards still waiting for review (pending or held) whose every commit is in the
    /// release: dismissed once the release's card exists.
    waiting: Vec<covalynce_domain::CardId>,
}

/// How many recent pushes and cards are looked at: a release's pushes are recent.
const RECENT_PUSHES: i64 = 500;

async fn pushes_in_release(
    store: &dyn Store,
    ws: covalynce_domain::WorkspaceId,
    release: &covalynce_storage::EventRecord,
    cards: &[covalynce_storage::CardRecord],
) -> Result<Superseded, JobError> {
    let ids = |facts: &covalynce_domain::EventFacts| -> Vec<String> {
        facts.commits().iter().map(|c| c.id.clone()).collect()
    };
    let in_release: std::collections::HashSet<String> = ids(&release.facts).into_iter().collect();
    let mut out = Superseded::default();
    if in_release.is_empty() {
        return Ok(out);
    }
    let pushes = store
        .list_events(
            ws,
            &covalynce_storage::EventFilter {
                kind: Some(EventKind::Push),
                repo: Some(release.repo.clone()),
                limit: RECENT_PUSHES,
                ..Default::default()
            },
        )
        .await?;
    let pushes: Vec<(covalynce_domain::EventId, Vec<String>)> = pushes
        .iter()
        .map(|p| (p.id, ids(&p.facts)))
        .filter(|(_, commits)| commits.iter().any(|c| in_release.contains(c)))
        .collect();
    if pushes.is_empty() {
        return Ok(out);
    }
    for (event, commits) in pushes {
        let Some(card) = cards.iter().find(|c| c.event_id == Some(event)) else {
            continue;
        };
        use covalynce_domain::CardStatus as S;
        match card.status {
            S::Approved | S::Published | S::Partial => out
                .announced
                .extend(commits.into_iter().filter(|c| in_release.contains(c))),
            S::Pending | S::Held if commits.iter().all(|c| in_release.contains(c)) => {
                out.waiting.push(card.id)
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The offline draft, rewritten by the workspace's AI chain where allowed and where the
/// answer keeps to the facts; the light is judged again on the final text. Any failure
/// leaves the offline text (with a note saying so).
async fn with_ai(
    ctx: &Context,
    workspace: &covalynce_storage::Workspace,
    event: &covalynce_storage::EventRecord,
    card: covalynce_cards::CardDraft,
) -> Result<(NewCard, Vec<(String, covalynce_ai::Attempt)>), JobError> {
    let mut new = new_card(workspace.id, event.id, event.dedup_key.clone(), card);
    let privacy = workspace.ai_privacy;
    if privacy == covalynce_ai::Privacy::Offline {
        return Ok((new, Vec::new()));
    }
    let providers = crate::ai::chain(
        ctx.store.as_ref(),
        &ctx.secrets,
        &ctx.http,
        workspace.id,
        workspace.plan,
        &ctx.ai,
    )
    .await?;
    if providers.is_empty() {
        return Ok((new, Vec::new()));
    }
    let mut facts = crate::ai::facts(Some(event), &new.title, &new.content);
    let github = crate::ai::GithubAccess {
        secrets: &ctx.secrets,
        api_base: &ctx.github_api,
    };
    facts.diffs = crate::ai::diffs(
        ctx.store.as_ref(),
        workspace.id,
        privacy,
        Some(event),
        github,
    )
    .await?;
    let rewrite = crate::ai::rewrite(
        &providers,
        privacy,
        workspace.voice,
        &facts,
        &new.variants,
        crate::ai::Ask::default(),
        None,
    )
    .await;
    if !rewrite.texts.is_empty() {
        new.variants.extend(rewrite.texts);
        let input = covalynce_cards::EventInput {
            kind: event.kind,
            repo: &event.repo,
            title: &event.title,
            facts: &event.facts,
        };
        let report = covalynce_cards::judge(&new.variants, Some(&input), false);
        new.risk = report.level;
        new.risk_reasons = report.reasons;
        new.drafted_by = rewrite.drafted_by.unwrap_or_else(|| "offline".into());
    }
    new.draft_note = rewrite.note;
    Ok((new, rewrite.calls))
}

/// After a card with security fixes: if the last 30 days hold several, suggest a security
/// post (a STRATEGY card, at most one a month).
async fn suggest_strategy(
    store: &dyn Store,
    workspace_id: covalynce_domain::WorkspaceId,
    event: &covalynce_storage::EventRecord,
    voice: Voice,
) -> Result<(), JobError> {
    let since = covalynce_domain::now_millis() - 30 * 24 * 3600 * 1000;
    let recent: Vec<covalynce_storage::EventRecord> = store
        .list_events(
            workspace_id,
            // This repository's work only: the card says "shipped in <project>", and
            // another repository of the workspace has its own suggestion.
            &covalynce_storage::EventFilter {
                repo: Some(event.repo.clone()),
                limit: 200,
                ..Default::default()
            },
        )
        .await?
        .into_iter()
        .filter(|e| e.created_at >= since && e.kind != covalynce_domain::EventKind::CiRun)
        .collect();
    let inputs: Vec<EventInput> = recent
        .iter()
        .map(|e| EventInput {
            kind: e.kind,
            repo: &e.repo,
            title: &e.title,
            facts: &e.facts,
        })
        .collect();
    let Some(card) = covalynce_cards::strategy(&inputs, &event.repo, voice) else {
        return Ok(());
    };
    let month = &covalynce_domain::time::format_rfc3339(covalynce_domain::now_millis())[..7];
    // One a month per repository, however its sources spell it.
    let key = format!(
        "strategy:security:{}:{month}",
        event.repo.to_ascii_lowercase()
    );
    if let CardCreation::OverLimit { plan, limit, used } = store
        .create_card(&new_card(workspace_id, event.id, key, card))
        .await?
    {
        // The event that prompted it has its own card; only the suggestion is refused.
        tracing::info!(event = %event.id, plan, limit, used, "card limit reached; no STRATEGY suggestion");
    }
    Ok(())
}

fn new_card(
    workspace_id: covalynce_domain::WorkspaceId,
    event_id: EventId,
    source_key: String,
    card: covalynce_cards::CardDraft,
) -> NewCard {
    NewCard {
        workspace_id,
        event_id,
        source_key,
        category: card.category,
        title: card.title,
        content: card.content,
        variants: card.variants,
        risk: card.risk,
        risk_reasons: card.risk_reasons,
        drafted_by: "offline".into(),
        draft_note: None,
        gate: None,
        ai_calls: Vec::new(),
    }
}

/// A card the CI gate released is treated as if it had just been drafted: the trust
/// policy may approve it.
pub(super) async fn after_release(
    ctx: &Context,
    ws: covalynce_domain::WorkspaceId,
    card: covalynce_domain::CardId,
) -> Result<(), JobError> {
    let store = ctx.store.as_ref();
    let (Some(workspace), Some(record)) = (store.workspace(ws).await?, store.card(ws, card).await?)
    else {
        return Ok(());
    };
    auto_approve(ctx.store.clone(), &workspace, card, record.risk).await
}

/// The trust policy (the application layer's, the same approval a person's goes through):
/// a card it does not approve waits for a person, and that is no job failure.
async fn auto_approve(
    store: Arc<dyn Store>,
    workspace: &covalynce_storage::Workspace,
    card: covalynce_domain::CardId,
    risk: Option<covalynce_domain::Risk>,
) -> Result<(), JobError> {
    use crate::AppError;
    match crate::App::new(store)
        .approve_by_trust_policy(workspace, card, risk)
        .await
    {
        Ok(_) => Ok(()),
        Err(AppError::Store(e)) => Err(e.into()),
        Err(AppError::Unavailable(why)) => Err(JobError::Retry(why)),
        // Approved or dismissed by a person meanwhile, a trusted channel gone: it waits.
        Err(
            e @ (AppError::NotFound(_)
            | AppError::Conflict(_)
            | AppError::Invalid(_)
            | AppError::BadRequest(_)
            | AppError::Unauthorized(_)
            | AppError::Forbidden(_)
            | AppError::PlanLimit(_)),
        ) => {
            tracing::info!(%card, reason = %e, "trust policy: not approved");
            Ok(())
        }
    }
}
