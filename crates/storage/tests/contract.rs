//! The storage contract: every story here runs on SQLite and on PostgreSQL, each on a
//! database of its own. A backend that passes these behaves the same to the pipeline.

use covalynce_domain::{
    CardCategory, CardStatus, EventFacts, EventKind, EventStatus, JobId, NewEvent, Plan,
    PublicationStatus, Risk, SourceId, SourceKind, TokenId, WorkspaceSlug, now_millis,
};
use covalynce_storage::*;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = covalynce_storage::testing::fresh_store(covalynce_storage::Backend::Sqlite).await;
                    tokio::time::timeout(std::time::Duration::from_secs(60), super::$name(store))
                        .await
                        .expect("test timed out");
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = covalynce_storage::testing::fresh_store(covalynce_storage::Backend::Postgres).await;
                    tokio::time::timeout(std::time::Duration::from_secs(60), super::$name(store))
                        .await
                        .expect("test timed out");
                }
            )*
        }
    };
}

on_both_backends!(
    migrations_are_idempotent_and_make_the_store_ready,
    workspaces_are_created_once_with_the_founding_plan_defaults,
    tokens_resolve_to_their_workspace_by_hash_only,
    sources_are_scoped_to_their_workspace,
    a_delivery_is_stored_once_by_delivery_id,
    the_same_work_is_one_event_whatever_delivers_it,
    a_batch_answers_each_delivery_in_order,
    new_events_enqueue_their_next_step_and_ci_runs_a_gate_check,
    jobs_run_retry_and_fail_visibly,
    a_crashed_workers_lease_expires_and_the_job_runs_again,
    concurrent_workers_never_claim_the_same_job,
    released_jobs_run_again_without_losing_an_attempt,
    events_page_newest_first_and_filter,
    concurrent_group_commits_store_each_delivery_once,
    cards_are_one_per_event_and_count_against_the_plan,
    the_pending_count_settles_even_when_submitters_give_up,
    publications_start_once_within_the_daily_cap_and_settle_their_card,
    channels_disable_enable_and_delete_without_losing_history,
    people_join_workspaces_with_roles_and_the_last_owner_stays,
    sessions_invitations_and_tokens_live_and_die_as_told,
    deleting_a_user_or_workspace_removes_their_data,
    lifting_the_stop_keeps_each_posts_scheduled_time,
    each_channel_keeps_its_own_time_in_the_queue_and_a_move_takes_its_job_along,
    a_dismissal_can_be_taken_back,
    ai_chains_and_the_ledger_belong_to_their_workspace,
    publications_of_many_cards_come_in_one_answer_and_stay_in_their_workspace,
    one_holder_at_a_time_rotates_a_channels_credentials,
    an_ended_period_starts_again_and_billing_applies_once_in_order,
    two_owners_changing_the_ai_chain_at_once_lose_neither_change,
    two_members_adding_one_path_at_once_make_one_git_source,
    two_first_api_events_at_once_make_one_api_source,
    a_sign_in_link_works_once_while_fresh_and_only_the_newest,
    two_uses_of_one_sign_in_link_at_once_sign_in_once,
    a_changelog_entry_is_one_per_version_and_shows_only_what_its_setting_shows,
);

fn changelog_entry(
    ws: &Workspace,
    version: &str,
    source: Option<SourceId>,
    at: i64,
) -> NewChangelogEntry {
    NewChangelogEntry {
        workspace_id: ws.id,
        version: version.into(),
        card_id: covalynce_domain::CardId::new(),
        publication_id: covalynce_domain::PublicationId::new(),
        source_id: source,
        project: "Rocket".into(),
        title: format!("Rocket {version}"),
        body: format!("## {version}\n- a fix"),
        release_url: None,
        at,
    }
}

/// A publication written again after a crash (or a corrected card for the same version)
/// is still one entry; a take-down hides it from every read but keeps the feed's time true;
/// a setting's sources decide what shows; another workspace sees none of it.
async fn a_changelog_entry_is_one_per_version_and_shows_only_what_its_setting_shows(
    store: Arc<dyn Store>,
) {
    let ws = workspace(store.as_ref(), "acme").await;
    let other = workspace(store.as_ref(), "other").await;
    let rocket = github_source(store.as_ref(), &ws).await;
    let docs = github_source(store.as_ref(), &ws).await;
    // Off until set, and no address answers.
    assert!(!store.changelog_setting(ws.id).await.unwrap().is_public());
    assert_eq!(store.public_changelog(&ws.slug).await.unwrap(), None);
    let all = store
        .set_changelog_setting(ws.id, true, &[], 1_000)
        .await
        .unwrap();
    assert_eq!(all.public_since, Some(1_000));

    let first = changelog_entry(&ws, "v1.0.0", Some(rocket.id), 2_000);
    assert!(store.put_changelog_entry(&first).await.unwrap());
    assert!(
        store.put_changelog_entry(&first).await.unwrap(),
        "a replay is the same entry"
    );
    let mut corrected = changelog_entry(&ws, "v1.0.0", Some(rocket.id), 3_000);
    corrected.body = "## v1.0.0\n- a fix, said better".into();
    assert!(store.put_changelog_entry(&corrected).await.unwrap());
    // Another repository's v1.0.0 is refused, never written over the first.
    assert!(
        !store
            .put_changelog_entry(&changelog_entry(&ws, "v1.0.0", Some(docs.id), 3_500))
            .await
            .unwrap()
    );
    assert!(
        store
            .put_changelog_entry(&changelog_entry(&ws, "docs-1", Some(docs.id), 4_000))
            .await
            .unwrap()
    );
    let page = store.changelog_page(ws.id, &all, 0, 20).await.unwrap();
    assert_eq!(page.total, 2);
    let versions: Vec<&str> = page.entries.iter().map(|e| e.version.as_str()).collect();
    assert_eq!(
        versions,
        ["docs-1", "v1.0.0"],
        "newest first, one per version"
    );
    let v1 = &page.entries[1];
    assert_eq!(v1.body, "## v1.0.0\n- a fix, said better");
    assert_eq!(
        (v1.published_at, v1.updated_at),
        (2_000, 3_000),
        "first shown, last changed"
    );
    assert_eq!(page.modified, 4_000);

    // Only the rocket source: the docs entry is not shown, not even by its address.
    let rocket_only = store
        .set_changelog_setting(ws.id, true, &[rocket.id], 5_000)
        .await
        .unwrap();
    assert_eq!(
        rocket_only.public_since,
        Some(1_000),
        "public since it first was"
    );
    let page = store
        .changelog_page(ws.id, &rocket_only, 0, 20)
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.modified, 5_000, "a changed setting changes the feed");
    assert_eq!(
        store
            .changelog_entry(ws.id, &rocket_only, "docs-1")
            .await
            .unwrap(),
        None
    );

    // Taken down: gone from reads, but the time moves; nothing to take down twice.
    assert!(
        store
            .withdraw_changelog_entry(ws.id, "v1.0.0", 6_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .withdraw_changelog_entry(ws.id, "v1.0.0", 6_500)
            .await
            .unwrap()
    );
    let page = store
        .changelog_page(ws.id, &rocket_only, 0, 20)
        .await
        .unwrap();
    assert_eq!((page.total, page.modified), (0, 6_000));
    assert_eq!(
        store
            .changelog_entry(ws.id, &rocket_only, "v1.0.0")
            .await
            .unwrap(),
        None
    );
    // Approved again: back, with its first time.
    assert!(store.put_changelog_entry(&corrected).await.unwrap());
    let back = store
        .changelog_entry(ws.id, &rocket_only, "v1.0.0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.published_at, 2_000);

    // Another workspace: its own (empty, private) changelog, and none of these entries.
    assert_eq!(store.public_changelog(&other.slug).await.unwrap(), None);
    let theirs = store
        .set_changelog_setting(other.id, true, &[], 7_000)
        .await
        .unwrap();
    assert_eq!(
        store
            .changelog_page(other.id, &theirs, 0, 20)
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        store
            .changelog_entry(other.id, &theirs, "v1.0.0")
            .await
            .unwrap(),
        None
    );
    // Switched off: no address answers, the entries stay.
    store
        .set_changelog_setting(ws.id, false, &[], 8_000)
        .await
        .unwrap();
    assert_eq!(store.public_changelog(&ws.slug).await.unwrap(), None);
    assert!(store.public_changelog(&other.slug).await.unwrap().is_some());
}

/// The demo prints a link at start and `covalynce demo-link` prints another from a second
/// process: the database holds them, and each works once, within its hour, newest only.
async fn person(store: &dyn Store, email: &str) -> covalynce_storage::User {
    store.create_user(&new_user(email)).await.unwrap().unwrap()
}

async fn link(store: &dyn Store, hash: &str, user: covalynce_domain::UserId, until: i64) {
    store.create_login_link(hash, user, until).await.unwrap();
}

async fn a_sign_in_link_works_once_while_fresh_and_only_the_newest(store: Arc<dyn Store>) {
    let ada = person(store.as_ref(), "ada@example.com").await;
    let bob = person(store.as_ref(), "bob@example.com").await;
    let now = now_millis();
    link(store.as_ref(), "link-1", ada.id, now + 60_000).await;
    link(store.as_ref(), "link-bob", bob.id, now + 60_000).await;
    assert_eq!(store.take_login_link("nope", now).await.unwrap(), None);
    assert_eq!(
        store.take_login_link("link-1", now).await.unwrap(),
        Some(ada.id)
    );
    assert_eq!(
        store.take_login_link("link-1", now).await.unwrap(),
        None,
        "used once"
    );
    // A newer link replaces the person's earlier one; another person's stays.
    link(store.as_ref(), "link-2", ada.id, now + 60_000).await;
    link(store.as_ref(), "link-3", ada.id, now + 60_000).await;
    assert_eq!(store.take_login_link("link-2", now).await.unwrap(), None);
    assert_eq!(
        store.take_login_link("link-bob", now).await.unwrap(),
        Some(bob.id)
    );
    // Past its hour, a link signs no one in, and is gone.
    assert_eq!(
        store.take_login_link("link-3", now + 60_001).await.unwrap(),
        None
    );
    assert_eq!(store.take_login_link("link-3", now).await.unwrap(), None);
    // Making a link sweeps away the ones nobody used in time.
    link(store.as_ref(), "link-stale", bob.id, now - 1).await;
    link(store.as_ref(), "link-4", ada.id, now + 60_000).await;
    assert_eq!(
        store
            .take_login_link("link-stale", now - 1_000)
            .await
            .unwrap(),
        None,
        "swept when link-4 was made"
    );
}

async fn two_uses_of_one_sign_in_link_at_once_sign_in_once(store: Arc<dyn Store>) {
    let ada = person(store.as_ref(), "ada@example.com").await;
    let now = now_millis();
    for round in 0..10 {
        let hash = format!("race-{round}");
        link(store.as_ref(), &hash, ada.id, now + 60_000).await;
        let uses = (0..4).map(|_| {
            let store = store.clone();
            let hash = hash.clone();
            tokio::spawn(async move { store.take_login_link(&hash, now).await.unwrap() })
        });
        let mut signed_in = 0;
        for used in uses {
            signed_in += usize::from(used.await.unwrap().is_some());
        }
        assert_eq!(signed_in, 1, "round {round}");
    }
}

async fn two_owners_changing_the_ai_chain_at_once_lose_neither_change(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let provider = |model: &str| NewAiProvider {
        kind: "openai".into(),
        model: model.into(),
        base_url: "https://api.openai.com/v1".into(),
        sealed_key: Some(vec![9; 12]),
    };
    let first: Vec<NewAiProvider> = ["a", "b", "c"].map(provider).to_vec();
    store.set_ai_chain(ws.id, &first).await.unwrap();
    // Four owners add at once to a chain of three that holds at most five.
    let adds = (0..4).map(|n| {
        let store = store.clone();
        let edit = ChainEdit::Add {
            provider: provider(&format!("new-{n}")),
            most: 5,
        };
        tokio::spawn(async move { store.edit_ai_chain(ws.id, edit).await.unwrap() })
    });
    let mut done = 0;
    let mut full = 0;
    for answer in futures_join(adds).await {
        match answer {
            ChainEdited::Done { removed: None, .. } => done += 1,
            ChainEdited::Full => full += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((done, full), (2, 2), "two fit, two are refused");
    let chain = store.ai_chain(ws.id).await.unwrap();
    assert_eq!(chain.len(), 5, "{chain:?}");
    assert_eq!(
        chain.iter().map(|p| p.position).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        chain.iter().filter(|p| p.model.starts_with("new-")).count(),
        2,
        "every added provider that was answered Done is in the chain"
    );
    // A removal and an addition at once: both land.
    let remove = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .edit_ai_chain(ws.id, ChainEdit::Remove { index: 0 })
                .await
                .unwrap()
        })
    };
    let removed = remove.await.unwrap();
    assert!(
        matches!(&removed, ChainEdited::Done { removed: Some(m), chain } if m == "a" && chain.len() == 4),
        "{removed:?}"
    );
    assert_eq!(
        store
            .edit_ai_chain(ws.id, ChainEdit::Remove { index: 9 })
            .await
            .unwrap(),
        ChainEdited::NoSuchProvider
    );
    assert_eq!(store.ai_chain(ws.id).await.unwrap().len(), 4);
}

/// A source without secrets or settings: a local path, or the API's generic one.
fn bare_source(
    ws: covalynce_domain::WorkspaceId,
    kind: SourceKind,
    path: Option<&str>,
) -> NewSource {
    NewSource {
        id: SourceId::new(),
        workspace_id: ws,
        kind,
        repo: (kind == SourceKind::Generic).then(|| "api".to_owned()),
        path: path.map(str::to_owned),
        sealed_secret: None,
        settings: Default::default(),
        sealed_token: None,
    }
}

async fn two_first_api_events_at_once_make_one_api_source(store: Arc<dyn Store>) {
    // Eight first submissions released together by a barrier, in five workspaces in turn:
    // without the workspace lock two of them see no source and both make one.
    const ASKS: usize = 8;
    for round in 0..5 {
        let ws = workspace(store.as_ref(), &format!("acme-{round}")).await;
        let start = Arc::new(tokio::sync::Barrier::new(ASKS));
        let asks = (0..ASKS).map(|_| {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                let source = bare_source(ws.id, SourceKind::Generic, None);
                start.wait().await;
                store.api_source(&source).await.unwrap().id
            })
        });
        let ids = futures_join(asks).await;
        assert!(ids.iter().all(|id| *id == ids[0]), "round {round}: {ids:?}");
        let generic = store
            .list_sources(ws.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.kind == SourceKind::Generic)
            .count();
        assert_eq!(generic, 1, "round {round}");
    }
}

async fn two_members_adding_one_path_at_once_make_one_git_source(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    // Eight members add the same path, released together by a barrier so that their
    // reads and writes overlap; five paths in turn. Without the workspace lock, two of
    // them see no source and both insert one (PostgreSQL, read committed).
    const MEMBERS: usize = 8;
    for round in 0..5 {
        let path = format!("/srv/repos/rocket-{round}");
        let start = Arc::new(tokio::sync::Barrier::new(MEMBERS));
        let adds = (0..MEMBERS).map(|_| {
            let (store, start, path) = (store.clone(), start.clone(), path.clone());
            tokio::spawn(async move {
                let source = bare_source(ws.id, SourceKind::Git, Some(&path));
                start.wait().await;
                store.insert_git_source(&source).await.unwrap()
            })
        });
        let answers = futures_join(adds).await;
        let inserted: Vec<&Source> = answers
            .iter()
            .filter_map(|a| match a {
                GitSourceInsert::Inserted(s) => Some(s),
                GitSourceInsert::Exists(_) => None,
            })
            .collect();
        assert_eq!(inserted.len(), 1, "round {round}: {answers:?}");
        for a in &answers {
            if let GitSourceInsert::Exists(s) = a {
                assert_eq!(s.id, inserted[0].id, "the later ones are told of the first");
            }
        }
    }
    let git: Vec<Source> = store
        .list_sources(ws.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.kind == SourceKind::Git)
        .collect();
    assert_eq!(git.len(), 5);
    // Another workspace may have the same path as its own source.
    let other = workspace(store.as_ref(), "other").await;
    let mut theirs = NewSource {
        id: SourceId::new(),
        workspace_id: other.id,
        kind: SourceKind::Git,
        repo: None,
        // A path `acme` has as a source of its own.
        path: Some("/srv/repos/rocket-0".into()),
        sealed_secret: None,
        settings: Default::default(),
        sealed_token: None,
    };
    assert!(matches!(
        store.insert_git_source(&theirs).await.unwrap(),
        GitSourceInsert::Inserted(_)
    ));
    theirs.id = SourceId::new();
    assert!(matches!(
        store.insert_git_source(&theirs).await.unwrap(),
        GitSourceInsert::Exists(_)
    ));
}

/// Every task's answer, in the order the tasks were made.
async fn futures_join<T: Send + 'static>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let tasks: Vec<_> = tasks.collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn workspace(store: &dyn Store, slug: &str) -> Workspace {
    store
        .ensure_workspace(&WorkspaceSlug::parse(slug).unwrap())
        .await
        .unwrap()
}

async fn github_source(store: &dyn Store, ws: &Workspace) -> Source {
    store
        .insert_source(&NewSource {
            id: SourceId::new(),
            workspace_id: ws.id,
            kind: SourceKind::Github,
            repo: Some("acme/rocket".into()),
            path: None,
            sealed_secret: Some(vec![1, 2, 3]),
            settings: Default::default(),
            sealed_token: None,
        })
        .await
        .unwrap()
}

fn push_event(sha: &str) -> NewEvent {
    NewEvent {
        kind: EventKind::Push,
        dedup_key: format!("push:acme/rocket:{sha}"),
        repo: "acme/rocket".into(),
        title: format!("commit {sha}"),
        occurred_at: Some(1_700_000_000_000),
        facts: EventFacts::parse(
            EventKind::Push,
            &json!({"after": sha, "commits": [{"id": sha, "message": "feat: x"}]}),
        )
        .unwrap(),
    }
}

fn delivery(ws: &Workspace, src: &Source, guid: &str, events: Vec<NewEvent>) -> Ingest {
    Ingest {
        workspace_id: ws.id,
        source_id: src.id,
        guid: guid.into(),
        event_name: "push".into(),
        outcome: if events.is_empty() {
            DeliveryOutcome::Ignored
        } else {
            DeliveryOutcome::Events
        },
        reason: None,
        body: format!("{{\"guid\":\"{guid}\"}}").into_bytes(),
        events,
        received_at: now_millis(),
    }
}

fn prep(items: Vec<Ingest>) -> Vec<PreparedIngest> {
    items.into_iter().map(|i| i.prepare().unwrap()).collect()
}

/// A job about a new (made-up) event: the queue does not care what the event is.
fn draft_job(ws: &Workspace, max_attempts: i64) -> NewJob {
    NewJob {
        workspace_id: Some(ws.id),
        job: covalynce_domain::Job::DraftEvent {
            event: covalynce_domain::EventId::new(),
        },
        run_at: now_millis(),
        max_attempts,
    }
}

async fn migrations_are_idempotent_and_make_the_store_ready(store: Arc<dyn Store>) {
    store.ready().await.expect("ready after migrating");
    store.migrate().await.expect("migrating twice is a no-op");
    store.ready().await.unwrap();
}

async fn workspaces_are_created_once_with_the_founding_plan_defaults(store: Arc<dyn Store>) {
    let a = workspace(store.as_ref(), "acme").await;
    let again = workspace(store.as_ref(), "acme").await;
    assert_eq!(a, again, "ensure_workspace returns the existing workspace");
    assert_eq!(a.plan, covalynce_domain::Plan::Solo);
    assert_eq!(a.card_limit, 5);
    assert_eq!(a.cards_used, 0);
    assert_eq!(a.voice, covalynce_domain::Voice::Sassy);
    assert_eq!(store.workspace(a.id).await.unwrap(), Some(a));
}

async fn tokens_resolve_to_their_workspace_by_hash_only(store: Arc<dyn Store>) {
    let a = workspace(store.as_ref(), "a").await;
    let b = workspace(store.as_ref(), "b").await;
    for (ws, hash) in [(&a, "hash-a"), (&b, "hash-b")] {
        store
            .insert_token(&NewToken {
                id: TokenId::new(),
                workspace_id: ws.id,
                name: "t".into(),
                token_hash: hash.into(),
                prefix: "cvl_x".into(),
                role: covalynce_domain::Role::Owner,
                user_id: None,
            })
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .workspace_for_token("hash-a")
            .await
            .unwrap()
            .unwrap()
            .id,
        a.id
    );
    assert_eq!(
        store
            .workspace_for_token("hash-b")
            .await
            .unwrap()
            .unwrap()
            .id,
        b.id
    );
    assert_eq!(store.workspace_for_token("nope").await.unwrap(), None);
}

async fn sources_are_scoped_to_their_workspace(store: Arc<dyn Store>) {
    let a = workspace(store.as_ref(), "a").await;
    let b = workspace(store.as_ref(), "b").await;
    let src = github_source(store.as_ref(), &a).await;
    assert_eq!(
        store.workspace_source(a.id, src.id).await.unwrap(),
        Some(src.clone())
    );
    assert_eq!(store.workspace_source(b.id, src.id).await.unwrap(), None);
    assert_eq!(store.list_sources(a.id).await.unwrap(), vec![src.clone()]);
    assert!(store.list_sources(b.id).await.unwrap().is_empty());
    assert_eq!(
        store.source(src.id).await.unwrap().unwrap().sealed_secret,
        Some(vec![1, 2, 3])
    );
}

async fn a_delivery_is_stored_once_by_delivery_id(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let src = github_source(store.as_ref(), &ws).await;
    let d = delivery(&ws, &src, "guid-1", vec![push_event("aaa")]);
    let first = store.ingest(&prep(vec![d.clone()])).await.unwrap();
    assert!(
        matches!(&first[0], IngestOutcome::Stored { events, .. } if events.len() == 1 && events[0].new)
    );
    let again = store.ingest(&prep(vec![d.clone()])).await.unwrap();
    assert_eq!(again, vec![IngestOutcome::Duplicate]);
    let deliveries = store.list_deliveries(ws.id, None, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].guid, "guid-1");
    assert_eq!(
        store.delivery_body(ws.id, "guid-1").await.unwrap().unwrap(),
        d.body,
        "the raw body is kept byte for byte"
    );
    assert_eq!(
        store
            .list_events(
                ws.id,
                &EventFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .len(),
        1
    );
    let src_now = store.source(src.id).await.unwrap().unwrap();
    assert_eq!(src_now.last_delivery_at, Some(d.received_at));
}

async fn the_same_work_is_one_event_whatever_delivers_it(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let src = github_source(store.as_ref(), &ws).await;
    let out1 = store
        .ingest(&prep(vec![delivery(
            &ws,
            &src,
            "g1",
            vec![push_event("abc")],
        )]))
        .await
        .unwrap();
    let out2 = store
        .ingest(&prep(vec![delivery(
            &ws,
            &src,
            "g2",
            vec![push_event("abc")],
        )]))
        .await
        .unwrap();
    let (IngestOutcome::Stored { events: e1, .. }, IngestOutcome::Stored { events: e2, .. }) =
        (&out1[0], &out2[0])
    else {
        panic!("both deliveries are new: {out1:?} {out2:?}");
    };
    assert!(e1[0].new);
    assert!(
        !e2[0].new,
        "the second delivery of the same commit adds no event"
    );
    assert_eq!(e1[0].id, e2[0].id, "it points at the event already stored");
    assert_eq!(
        store.list_deliveries(ws.id, None, 10).await.unwrap().len(),
        2
    );
    assert_eq!(
        store
            .list_events(
                ws.id,
                &EventFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .len(),
        1
    );
    // Another workspace watching the same repository gets its own event.
    let other = workspace(store.as_ref(), "other").await;
    let other_src = github_source(store.as_ref(), &other).await;
    let out3 = store
        .ingest(&prep(vec![delivery(
            &other,
            &other_src,
            "g1",
            vec![push_event("abc")],
        )]))
        .await
        .unwrap();
    assert!(matches!(&out3[0], IngestOutcome::Stored { events, .. } if events[0].new));
}

async fn a_batch_answers_each_delivery_in_order(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let src = github_source(store.as_ref(), &ws).await;
    store
        .ingest(&prep(vec![delivery(&ws, &src, "old", vec![])]))
        .await
        .unwrap();
    // Deliveries are written in a lock order unrelated to input order; answers are not.
    let batch = vec![
        delivery(&ws, &src, "zzz", vec![push_event("1")]),
        delivery(&ws, &src, "old", vec![]),
        delivery(&ws, &src, "aaa", vec![push_event("2"), push_event("1")]),
        delivery(&ws, &src, "zzz", vec![push_event("3")]),
    ];
    let out = store.ingest(&prep(batch.clone())).await.unwrap();
    assert_eq!(out.len(), 4);
    assert_eq!(
        out[1],
        IngestOutcome::Duplicate,
        "seen in an earlier commit"
    );
    let IngestOutcome::Stored { events: aaa, .. } = &out[2] else {
        panic!("{out:?}")
    };
    assert_eq!(
        aaa.iter().map(|e| e.new).collect::<Vec<_>>(),
        vec![true, true]
    );
    // "aaa" sorts first, so it stored commit 1; "zzz" then finds it already there.
    let IngestOutcome::Stored { events: zzz, .. } = &out[0] else {
        panic!("{out:?}")
    };
    assert!(!zzz[0].new);
    assert_eq!(zzz[0].id, aaa[1].id);
    assert_eq!(
        out[3],
        IngestOutcome::Duplicate,
        "same delivery id twice in one batch"
    );
}

async fn new_events_enqueue_their_next_step_and_ci_runs_a_gate_check(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let src = github_source(store.as_ref(), &ws).await;
    let ci = NewEvent {
        kind: EventKind::CiRun,
        dedup_key: "ci:acme/rocket:1:1".into(),
        repo: "acme/rocket".into(),
        title: "CI: success".into(),
        occurred_at: None,
        facts: EventFacts::parse(EventKind::CiRun, &json!({"conclusion": "success"})).unwrap(),
    };
    store
        .ingest(&prep(vec![delivery(
            &ws,
            &src,
            "g1",
            vec![push_event("a"), ci],
        )]))
        .await
        .unwrap();
    store
        .ingest(&prep(vec![delivery(
            &ws,
            &src,
            "g2",
            vec![push_event("a")],
        )]))
        .await
        .unwrap();
    let mut jobs = store.list_jobs(ws.id, None, 10).await.unwrap();
    assert_eq!(
        jobs.len(),
        2,
        "a draft for the one new announceable event, a gate check for the CI run: {jobs:?}"
    );
    jobs.sort_by(|a, b| a.kind.cmp(&b.kind));
    assert_eq!(jobs[0].kind, "ci_gate");
    let jobs = &jobs[1..];
    assert_eq!(jobs[0].kind, "draft_event");
    assert_eq!(jobs[0].status, JobStatus::Queued);
    let events = store
        .list_events(
            ws.id,
            &EventFilter {
                kind: Some(EventKind::Push),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        jobs[0].payload,
        json!({"event_id": events[0].id.to_string()})
    );
}

async fn jobs_run_retry_and_fail_visibly(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let id = store.enqueue_job(&draft_job(&ws, 2)).await.unwrap();
    let claimed = store.claim_jobs("w1", 10, 60_000).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].id, claimed[0].attempts), (id, 1));
    assert!(
        store.claim_jobs("w2", 10, 60_000).await.unwrap().is_empty(),
        "held by w1"
    );
    assert!(
        !store.fail_job(id, "w2", "not mine", None).await.unwrap(),
        "only the holder records"
    );
    // Fails, retries later.
    let later = now_millis() + 60_000;
    assert!(
        store
            .fail_job(id, "w1", "boom: upstream 502", Some(later))
            .await
            .unwrap()
    );
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.last_error.as_deref(), Some("boom: upstream 502"));
    assert_eq!(job.run_at, later);
    assert!(
        store.claim_jobs("w1", 10, 60_000).await.unwrap().is_empty(),
        "not due yet"
    );
    // Another job fails for good.
    let id2 = store.enqueue_job(&draft_job(&ws, 1)).await.unwrap();
    let claimed = store.claim_jobs("w1", 10, 60_000).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id2]);
    assert!(
        store
            .fail_job(id2, "w1", "bad payload", None)
            .await
            .unwrap()
    );
    let failed = store
        .list_jobs(ws.id, Some(JobStatus::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("bad payload"));
    assert!(failed[0].finished_at.is_some());
    // And one that succeeds.
    let id3 = store.enqueue_job(&draft_job(&ws, 3)).await.unwrap();
    assert_eq!(store.claim_jobs("w1", 10, 60_000).await.unwrap()[0].id, id3);
    assert!(store.complete_job(id3, "w1").await.unwrap());
    let done = store.job(id3).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Done);
    assert_eq!(
        done.locked_by.as_deref(),
        Some("w1"),
        "who ran it stays visible"
    );
    let counts = store.job_counts().await.unwrap();
    assert!(
        counts.contains(&(JobStatus::Done, 1))
            && counts.contains(&(JobStatus::Failed, 1))
            && counts.contains(&(JobStatus::Queued, 1)),
        "{counts:?}"
    );
}

async fn a_crashed_workers_lease_expires_and_the_job_runs_again(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let id = store.enqueue_job(&draft_job(&ws, 5)).await.unwrap();
    let first = store.claim_jobs("crashed", 1, 50).await.unwrap();
    assert_eq!(first[0].id, id);
    assert!(
        store.claim_jobs("w2", 1, 60_000).await.unwrap().is_empty(),
        "lease still valid"
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    let second = store.claim_jobs("w2", 1, 60_000).await.unwrap();
    assert_eq!(
        second.len(),
        1,
        "the expired lease lets another worker take it"
    );
    assert_eq!(second[0].attempts, 2);
    assert!(
        !store.complete_job(id, "crashed").await.unwrap(),
        "the old holder lost it"
    );
    assert!(store.complete_job(id, "w2").await.unwrap());
}

async fn concurrent_workers_never_claim_the_same_job(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let mut ids = HashSet::new();
    for _ in 0..60 {
        ids.insert(store.enqueue_job(&draft_job(&ws, 3)).await.unwrap());
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine: Vec<JobId> = Vec::new();
            loop {
                let got = store.claim_jobs(&format!("w{w}"), 3, 60_000).await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                for j in got {
                    assert!(store.complete_job(j.id, &format!("w{w}")).await.unwrap());
                    mine.push(j.id);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<JobId> = all.iter().copied().collect();
    assert_eq!(all.len(), 60, "every job was claimed exactly once");
    assert_eq!(unique, ids);
}

async fn released_jobs_run_again_without_losing_an_attempt(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let id = store.enqueue_job(&draft_job(&ws, 1)).await.unwrap();
    store.claim_jobs("w1", 1, 60_000).await.unwrap();
    assert!(store.release_job(id, "w1").await.unwrap());
    let again = store.claim_jobs("w2", 1, 60_000).await.unwrap();
    assert_eq!(again[0].attempts, 1, "a released run does not count");
}

async fn events_page_newest_first_and_filter(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let src = github_source(store.as_ref(), &ws).await;
    for n in 0..5 {
        store
            .ingest(&prep(vec![delivery(
                &ws,
                &src,
                &format!("g{n}"),
                vec![push_event(&format!("s{n}"))],
            )]))
            .await
            .unwrap();
    }
    let page1 = store
        .list_events(
            ws.id,
            &EventFilter {
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page1.iter().map(|e| e.title.as_str()).collect::<Vec<_>>(),
        vec!["commit s4", "commit s3"]
    );
    let page2 = store
        .list_events(
            ws.id,
            &EventFilter {
                limit: 2,
                before: Some(page1[1].id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page2.iter().map(|e| e.title.as_str()).collect::<Vec<_>>(),
        vec!["commit s2", "commit s1"]
    );
    assert!(
        store
            .list_events(
                ws.id,
                &EventFilter {
                    kind: Some(EventKind::Tag),
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .is_empty()
    );
    // One repository's events, however its name is cased; another's are not in the page.
    let other = NewEvent {
        dedup_key: "push:octo/other:o1".into(),
        repo: "octo/other".into(),
        title: "commit o1".into(),
        ..push_event("o1")
    };
    store
        .ingest(&prep(vec![delivery(&ws, &src, "g-other", vec![other])]))
        .await
        .unwrap();
    let rocket = |repo: &str| EventFilter {
        repo: Some(repo.into()),
        limit: 2,
        ..Default::default()
    };
    let mine = store
        .list_events(ws.id, &rocket("Acme/Rocket"))
        .await
        .unwrap();
    assert_eq!(
        mine.iter().map(|e| e.title.as_str()).collect::<Vec<_>>(),
        vec!["commit s4", "commit s3"],
        "the newest of acme/rocket's, past the other repository's newer one"
    );
    let theirs = store
        .list_events(ws.id, &rocket("octo/other"))
        .await
        .unwrap();
    assert_eq!(
        theirs.iter().map(|e| e.title.as_str()).collect::<Vec<_>>(),
        vec!["commit o1"]
    );
    store
        .set_event_status(page1[0].id, EventStatus::Skipped, Some("no card"))
        .await
        .unwrap();
    let skipped = store
        .list_events(
            ws.id,
            &EventFilter {
                status: Some(EventStatus::Skipped),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].status_reason.as_deref(), Some("no card"));
    assert_eq!(skipped[0].facts.commit(), None, "not a full commit id");
    assert_eq!(skipped[0].facts.to_value()["after"], "s4");
    let other = workspace(store.as_ref(), "other").await;
    assert_eq!(
        store.event(other.id, page1[0].id).await.unwrap(),
        None,
        "other workspaces cannot see it"
    );
}

async fn concurrent_group_commits_store_each_delivery_once(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let src = github_source(store.as_ref(), &ws).await;
    let (writer, tasks) = IngestWriter::spawn(store.clone(), 2, 64);
    let mut handles = Vec::new();
    // 200 submissions of 100 distinct deliveries: each twice, concurrently.
    for n in 0..200 {
        let writer = writer.clone();
        let d = delivery(
            &ws,
            &src,
            &format!("g{}", n % 100),
            vec![push_event(&format!("c{}", n % 100))],
        );
        handles.push(tokio::spawn(async move { writer.submit(d).await.unwrap() }));
    }
    let mut stored = 0;
    let mut duplicate = 0;
    for h in handles {
        match h.await.unwrap() {
            IngestOutcome::Stored { .. } => stored += 1,
            IngestOutcome::Duplicate => duplicate += 1,
        }
    }
    assert_eq!((stored, duplicate), (100, 100));
    drop(writer);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        store.list_deliveries(ws.id, None, 200).await.unwrap().len(),
        100
    );
    assert_eq!(store.list_jobs(ws.id, None, 200).await.unwrap().len(), 100);
}

async fn cards_are_one_per_event_and_count_against_the_plan(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let src = github_source(store.as_ref(), &ws).await;
    let events = pushed(store.as_ref(), &ws, &src, "c", 6).await;
    let card = |n: usize| NewCard {
        workspace_id: ws.id,
        event_id: events[n].0,
        source_key: events[n].1.clone(),
        category: CardCategory::Mkt,
        title: format!("card {n}"),
        content: "notes".into(),
        variants: [("x".to_owned(), format!("post {n}"))].into(),
        risk: Risk::Yellow,
        risk_reasons: vec!["mentions @bob".into()],
        drafted_by: "offline".into(),
        draft_note: None,
        gate: None,
        ai_calls: vec![NewAiCall {
            workspace_id: ws.id,
            card_id: None,
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            purpose: "draft".into(),
            channel: Some("x".into()),
            tokens_in: 120,
            tokens_out: 40,
            cost_micros: 42,
            latency_ms: 300,
            outcome: "used".into(),
            detail: None,
        }],
    };
    let first = store.create_card(&card(0)).await.unwrap();
    let CardCreation::Created(id) = first else {
        panic!("{first:?}")
    };
    let ledger = store.ai_calls(ws.id, 0, i64::MAX, 10).await.unwrap();
    assert_eq!(
        ledger.len(),
        1,
        "the drafting call is written with the card"
    );
    assert_eq!(ledger[0].card_id.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(
        store.create_card(&card(0)).await.unwrap(),
        CardCreation::Exists(id),
        "a re-run makes no second card"
    );
    for n in 1..5 {
        assert!(matches!(
            store.create_card(&card(n)).await.unwrap(),
            CardCreation::Created(_)
        ));
    }
    let over = store.create_card(&card(5)).await.unwrap();
    assert_eq!(
        over,
        CardCreation::OverLimit {
            plan: "SOLO".into(),
            limit: 5,
            used: 5
        }
    );
    assert_eq!(
        store.workspace(ws.id).await.unwrap().unwrap().cards_used,
        5,
        "the re-run and the refusal cost nothing"
    );
    let e5 = store.event(ws.id, events[5].0).await.unwrap().unwrap();
    assert_eq!(e5.status, EventStatus::OverLimit);
    // A STRATEGY suggestion refused for the same reason names the event that prompted it;
    // that event has its own card and stays drafted.
    let suggestion = NewCard {
        source_key: "strategy:security:acme/app:2026-12".into(),
        category: CardCategory::Strategy,
        ai_calls: Vec::new(),
        ..card(0)
    };
    assert!(matches!(
        store.create_card(&suggestion).await.unwrap(),
        CardCreation::OverLimit { .. }
    ));
    let e0 = store.event(ws.id, events[0].0).await.unwrap().unwrap();
    assert_eq!(
        (e0.status, e0.status_reason),
        (EventStatus::Drafted, None),
        "the suggestion's refusal is not its event's"
    );
    let ledger = store.ai_calls(ws.id, 0, i64::MAX, 20).await.unwrap();
    assert_eq!(
        ledger.iter().filter(|c| c.card_id.is_none()).count(),
        2,
        "the calls of a re-run and of a refused card are still counted, against no card"
    );
    assert_eq!(ledger.len(), 7);
    assert_eq!(
        store
            .event(ws.id, events[0].0)
            .await
            .unwrap()
            .unwrap()
            .status,
        EventStatus::Drafted
    );

    let stored = store.card(ws.id, id).await.unwrap().unwrap();
    assert_eq!(stored.status, CardStatus::Pending);
    assert_eq!(stored.risk, Some(Risk::Yellow));
    assert_eq!(stored.risk_reasons, vec!["mentions @bob"]);
    assert_eq!(stored.variants["x"], "post 0");
    assert_eq!(stored.event_id, Some(events[0].0));
    let pending = store
        .list_cards(
            ws.id,
            &CardFilter {
                status: Some(CardStatus::Pending),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(pending.len(), 5);
    assert_eq!(pending[0].title, "card 4", "newest first");
    let other = workspace(store.as_ref(), "other").await;
    assert_eq!(store.card(other.id, id).await.unwrap(), None);
}

async fn the_pending_count_settles_even_when_submitters_give_up(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let src = github_source(store.as_ref(), &ws).await;
    let (writer, _tasks) = IngestWriter::spawn(store.clone(), 1, 64);
    let pending = writer.pending();
    let mut handles = Vec::new();
    for n in 0..50 {
        let writer = writer.clone();
        let d = delivery(
            &ws,
            &src,
            &format!("g{n}"),
            vec![push_event(&format!("c{n}"))],
        );
        handles.push(tokio::spawn(async move { writer.submit(d).await }));
    }
    // Half of the submitters hang up (an HTTP client disconnecting mid-request).
    for h in handles.iter().step_by(2) {
        h.abort();
    }
    for h in handles {
        let _ = h.await;
    }
    assert_eq!(pending.load(std::sync::atomic::Ordering::Relaxed), 0);
}

/// `n` drafted green cards in `ws`, each for an event of its own.
async fn green_cards(store: &dyn Store, ws: &Workspace, n: usize) -> Vec<covalynce_domain::CardId> {
    let src = github_source(store, ws).await;
    let mut cards = Vec::new();
    for k in 0..n {
        let out = store
            .ingest(&prep(vec![delivery(
                ws,
                &src,
                &format!("pub{k}"),
                vec![push_event(&format!("p{k}"))],
            )]))
            .await
            .unwrap();
        let IngestOutcome::Stored { events, .. } = &out[0] else {
            panic!("{out:?}")
        };
        let created = store
            .create_card(&NewCard {
                workspace_id: ws.id,
                event_id: events[0].id,
                source_key: format!("push:acme/rocket:p{k}"),
                category: CardCategory::Mkt,
                title: format!("card {k}"),
                content: "notes".into(),
                variants: [("x".to_owned(), format!("post {k}"))].into(),
                risk: Risk::Green,
                risk_reasons: vec![],
                drafted_by: "offline".into(),
                draft_note: None,
                gate: None,
                ai_calls: vec![],
            })
            .await
            .unwrap();
        let CardCreation::Created(id) = created else {
            panic!("{created:?}")
        };
        cards.push(id);
    }
    cards
}

fn slack_settings() -> covalynce_domain::ChannelConfig {
    covalynce_domain::ChannelConfig::new(covalynce_domain::ChannelSettings::Slack(
        covalynce_domain::channel::IncomingWebhookSettings {
            webhook: "https://hooks.slack.com/…".into(),
        },
    ))
}

/// Settings that differ only in their daily cap, to see which were written.
fn capped(n: i64) -> covalynce_domain::ChannelConfig {
    covalynce_domain::ChannelConfig {
        daily_cap: Some(n),
        ..slack_settings()
    }
}

async fn channel(store: &dyn Store, ws: &Workspace, name: &str) -> ChannelRecord {
    store
        .insert_channel(&NewChannel {
            id: covalynce_domain::ChannelId::new(),
            workspace_id: ws.id,
            name: name.into(),
            config: slack_settings(),
            sealed_credentials: Some(vec![9, 9, 9]),
        })
        .await
        .unwrap()
}

async fn approved(
    store: &dyn Store,
    ws: &Workspace,
    card: covalynce_domain::CardId,
    channels: &[covalynce_domain::ChannelId],
) -> Vec<PublicationRecord> {
    let now = now_millis();
    let schedule: Vec<_> = channels.iter().map(|c| (*c, now)).collect();
    let a = store.approve_card(ws.id, card, &schedule).await.unwrap();
    assert!(matches!(a, Approval::Approved(_)), "{a:?}");
    store.card_publications(card).await.unwrap()
}

async fn card_status(
    store: &dyn Store,
    ws: &Workspace,
    card: covalynce_domain::CardId,
) -> CardStatus {
    store.card(ws.id, card).await.unwrap().unwrap().status
}

async fn publications_start_once_within_the_daily_cap_and_settle_their_card(store: Arc<dyn Store>) {
    use covalynce_domain::PublicationStatus as P;
    let s = store.as_ref();
    let ws = workspace(s, "acme").await;
    let cards = green_cards(s, &ws, 3).await;
    let a = channel(s, &ws, "a").await;
    let b = channel(s, &ws, "b").await;
    let p0 = approved(s, &ws, cards[0], &[a.id, b.id]).await;
    let (pa0, pb0) = if p0[0].channel_id == a.id {
        (p0[0].clone(), p0[1].clone())
    } else {
        (p0[1].clone(), p0[0].clone())
    };
    assert_eq!(pa0.status, P::Queued);
    assert_ne!(pa0.idempotency_key, pb0.idempotency_key);
    assert_eq!(card_status(s, &ws, cards[0]).await, CardStatus::Approved);

    // Started once: a second start (a duplicate job) finds it no longer queued.
    assert_eq!(
        s.begin_publication(pa0.id, Some(2)).await.unwrap(),
        Begin::Started
    );
    assert_eq!(
        s.begin_publication(pa0.id, Some(2)).await.unwrap(),
        Begin::NotQueued
    );
    let started = s.publication(pa0.id).await.unwrap().unwrap();
    assert_eq!((started.status, started.attempts), (P::Publishing, 1));

    // Two more for channel a start at the same moment; the cap of 2 lets exactly one in.
    let p1 = approved(s, &ws, cards[1], &[a.id]).await[0].clone();
    let p2 = approved(s, &ws, cards[2], &[a.id]).await[0].clone();
    let (r1, r2) = tokio::join!(
        s.begin_publication(p1.id, Some(2)),
        s.begin_publication(p2.id, Some(2))
    );
    let mut outcomes = vec![r1.unwrap(), r2.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, vec![Begin::CapReached, Begin::Started]);
    let a_now = s.channel(a.id).await.unwrap().unwrap();
    assert_eq!(a_now.sent_today, 2);
    let (started1, held) = if s.publication(p1.id).await.unwrap().unwrap().status == P::Publishing {
        (p1.clone(), p2.clone())
    } else {
        (p2.clone(), p1.clone())
    };
    let held_card = s.publication(held.id).await.unwrap().unwrap();
    assert_eq!(
        (held_card.status, held_card.attempts),
        (P::Queued, 0),
        "untouched by the cap"
    );
    // Without a cap (None) it starts regardless.
    assert_eq!(
        s.begin_publication(held.id, None).await.unwrap(),
        Begin::Started
    );

    // Published on a, failed on b: the card is PARTIAL; all published would be PUBLISHED.
    s.set_publication(pa0.id, P::Published, Some("https://x/1"), None)
        .await
        .unwrap();
    assert_eq!(
        card_status(s, &ws, cards[0]).await,
        CardStatus::Approved,
        "b still to go"
    );
    assert_eq!(
        s.begin_publication(pb0.id, None).await.unwrap(),
        Begin::Started
    );
    s.set_publication(pb0.id, P::Failed, None, Some("no_service"))
        .await
        .unwrap();
    assert_eq!(card_status(s, &ws, cards[0]).await, CardStatus::Partial);
    let pa = s.publication(pa0.id).await.unwrap().unwrap();
    assert_eq!(pa.url.as_deref(), Some("https://x/1"));
    assert!(pa.published_at.is_some());

    // Unknown keeps the card approved until a person decides.
    s.set_publication(started1.id, P::Unknown, None, Some("timed out"))
        .await
        .unwrap();
    assert_eq!(
        card_status(s, &ws, started1.card_id).await,
        CardStatus::Approved
    );
    assert!(matches!(
        s.confirm_publication(ws.id, held.id).await.unwrap(),
        PublicationChange::Conflict(P::Publishing)
    ));
    let other = workspace(s, "other").await;
    assert_eq!(
        s.retry_publication(other.id, started1.id).await.unwrap(),
        PublicationChange::NotFound
    );
    // Retried: queued again with the same key (and a job to run it).
    let PublicationChange::Done(retried) = s.retry_publication(ws.id, started1.id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(retried.status, P::Queued);
    assert_eq!(retried.idempotency_key, started1.idempotency_key);
    assert_eq!(
        s.begin_publication(started1.id, Some(2)).await.unwrap(),
        Begin::Started,
        "a retry spends no second slot of the cap"
    );
    s.set_publication(started1.id, P::Unknown, None, Some("timed out again"))
        .await
        .unwrap();
    let PublicationChange::Done(confirmed) =
        s.confirm_publication(ws.id, started1.id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(confirmed.status, P::Published);
    assert_eq!(
        card_status(s, &ws, started1.card_id).await,
        CardStatus::Published
    );
    // A failed publication retried brings its card back to APPROVED.
    let PublicationChange::Done(_) = s.retry_publication(ws.id, pb0.id).await.unwrap() else {
        panic!()
    };
    assert_eq!(card_status(s, &ws, cards[0]).await, CardStatus::Approved);
}

async fn channels_disable_enable_and_delete_without_losing_history(store: Arc<dyn Store>) {
    use covalynce_domain::{ChannelStatus as C, PublicationStatus as P};
    let s = store.as_ref();
    let ws = workspace(s, "acme").await;
    let other = workspace(s, "other").await;
    let cards = green_cards(s, &ws, 2).await;
    let ch = channel(s, &ws, "launches").await;
    assert_eq!(ch.status, C::Active);
    assert_eq!(s.workspace_channel(other.id, ch.id).await.unwrap(), None);
    assert_eq!(
        s.set_channel_status(other.id, ch.id, C::Disabled)
            .await
            .unwrap(),
        None
    );

    let done = approved(s, &ws, cards[0], &[ch.id]).await[0].clone();
    s.begin_publication(done.id, None).await.unwrap();
    s.set_publication(done.id, P::Published, None, None)
        .await
        .unwrap();
    let waiting = approved(s, &ws, cards[1], &[ch.id]).await[0].clone();
    let jobs_for = |claimed: &[ClaimedJob], id: &str| {
        claimed
            .iter()
            .filter(|j| j.kind == "publish" && j.payload["publication_id"] == id)
            .count()
    };
    let first = s.claim_jobs("w", 50, 60_000).await.unwrap();
    assert_eq!(jobs_for(&first, &waiting.id.to_string()), 1);

    // Disabled, with the platform's words; enabled again, its queued work gets a new job
    // and the error is cleared.
    s.set_channel_health(ch.id, None, Some("no_service"), false)
        .await
        .unwrap();
    let disabled = s
        .set_channel_status(ws.id, ch.id, C::Disabled)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(disabled.status, C::Disabled);
    assert_eq!(disabled.last_error.as_deref(), Some("no_service"));
    assert!(disabled.last_error_at.is_some());
    assert_eq!(s.list_channels(ws.id).await.unwrap().len(), 1);
    let enabled = s
        .set_channel_status(ws.id, ch.id, C::Active)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((enabled.status, enabled.last_error), (C::Active, None));
    let again = s.claim_jobs("w", 50, 60_000).await.unwrap();
    assert_eq!(jobs_for(&again, &waiting.id.to_string()), 1, "requeued");

    // A pause is recorded and read back.
    let until = now_millis() + 60_000;
    s.set_channel_health(ch.id, Some(until), None, true)
        .await
        .unwrap();
    assert_eq!(
        s.channel(ch.id).await.unwrap().unwrap().paused_until,
        Some(until)
    );

    // Deleted: credentials erased, what waited fails (its card settles), what went out stays.
    let deleted = s
        .set_channel_status(ws.id, ch.id, C::Deleted)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deleted.status, C::Deleted);
    assert!(s.list_channels(ws.id).await.unwrap().is_empty());
    assert_eq!(s.workspace_channel(ws.id, ch.id).await.unwrap(), None);
    let kept = s.channel(ch.id).await.unwrap().unwrap();
    assert_eq!(kept.status, C::Deleted);
    assert_eq!(kept.sealed_credentials, None);
    let failed = s.publication(waiting.id).await.unwrap().unwrap();
    assert_eq!(failed.status, P::Failed);
    assert!(failed.error.unwrap().contains("deleted"));
    assert_eq!(card_status(s, &ws, cards[1]).await, CardStatus::Failed);
    assert_eq!(
        s.publication(done.id).await.unwrap().unwrap().status,
        P::Published
    );
    assert_eq!(card_status(s, &ws, cards[0]).await, CardStatus::Published);
    assert_eq!(
        s.set_channel_status(ws.id, ch.id, C::Active).await.unwrap(),
        None,
        "deleted stays deleted"
    );
}

fn new_user(email: &str) -> NewUser {
    NewUser {
        id: covalynce_domain::UserId::new(),
        email: covalynce_domain::Email::parse(email).unwrap(),
        name: email.split('@').next().unwrap().to_owned(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        github_id: None,
        github_login: None,
    }
}

async fn people_join_workspaces_with_roles_and_the_last_owner_stays(store: Arc<dyn Store>) {
    use covalynce_domain::Role;
    let ada = store
        .create_user(&new_user("Ada@Example.com"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .create_user(&new_user("ada@example.com"))
            .await
            .unwrap()
            .is_none(),
        "one account per email"
    );
    let bob = store
        .create_user(&new_user("bob@example.com"))
        .await
        .unwrap()
        .unwrap();
    let slug = WorkspaceSlug::parse("acme").unwrap();
    let ws = store
        .create_workspace(&slug, ada.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .create_workspace(&slug, bob.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.member_role(ws.id, ada.id).await.unwrap(),
        Some(Role::Owner)
    );
    assert_eq!(store.member_role(ws.id, bob.id).await.unwrap(), None);

    // The only owner can be neither demoted nor removed.
    assert_eq!(
        store
            .set_member_role(ws.id, ada.id, Role::Editor)
            .await
            .unwrap(),
        MemberChange::LastOwner
    );
    assert_eq!(
        store.remove_member(ws.id, ada.id).await.unwrap(),
        MemberChange::LastOwner
    );
    assert_eq!(
        store
            .set_member_role(ws.id, bob.id, Role::Editor)
            .await
            .unwrap(),
        MemberChange::NotFound
    );

    let token_hash = "invite-hash-1";
    store
        .create_invitation(&NewInvitation {
            id: covalynce_domain::InvitationId::new(),
            workspace_id: ws.id,
            role: Role::Editor,
            token_hash: token_hash.into(),
            created_by: Some(ada.id),
            expires_at: now_millis() + 60_000,
        })
        .await
        .unwrap();
    // SOLO's one seat is taken: the link is refused and stays unused.
    assert_eq!(
        store
            .accept_invitation(token_hash, bob.id, now_millis())
            .await
            .unwrap(),
        Acceptance::Full {
            plan: "SOLO".into(),
            seats: 1
        }
    );
    store.set_plan(ws.id, Plan::Team).await.unwrap();
    match store
        .accept_invitation(token_hash, bob.id, now_millis())
        .await
        .unwrap()
    {
        Acceptance::Joined { workspace, role } => {
            assert_eq!(workspace, ws.id);
            assert_eq!(role, Role::Editor);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(
            store
                .accept_invitation(token_hash, ada.id, now_millis())
                .await
                .unwrap(),
            Acceptance::Invalid
        ),
        "an invitation is used once"
    );
    let members = store.members(ws.id).await.unwrap();
    assert_eq!(
        members
            .iter()
            .map(|m| (m.email.as_str(), m.role))
            .collect::<Vec<_>>(),
        [
            ("ada@example.com", Role::Owner),
            ("bob@example.com", Role::Editor)
        ]
    );
    // With a second owner, the first may step down.
    assert_eq!(
        store
            .set_member_role(ws.id, bob.id, Role::Owner)
            .await
            .unwrap(),
        MemberChange::Done
    );
    assert_eq!(
        store
            .set_member_role(ws.id, ada.id, Role::Viewer)
            .await
            .unwrap(),
        MemberChange::Done
    );
    let mine = store.memberships(ada.id).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].workspace.slug.as_str(), mine[0].role),
        ("acme", Role::Viewer)
    );
    assert_eq!(
        store.remove_member(ws.id, ada.id).await.unwrap(),
        MemberChange::Done
    );
    assert!(store.memberships(ada.id).await.unwrap().is_empty());
}

async fn sessions_invitations_and_tokens_live_and_die_as_told(store: Arc<dyn Store>) {
    use covalynce_domain::Role;
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap()
        .unwrap();
    let now = now_millis();
    for (hash, expires) in [
        ("s-live", now + 60_000),
        ("s-old", now - 1),
        ("s-other", now + 60_000),
    ] {
        store
            .create_session(&NewSession {
                id_hash: hash.into(),
                user_id: ada.id,
                csrf_token: format!("csrf-{hash}"),
                expires_at: expires,
                ip: Some("127.0.0.1".into()),
                user_agent: None,
            })
            .await
            .unwrap();
    }
    let live = store.session("s-live", now).await.unwrap().unwrap();
    assert_eq!(
        (live.user.id, live.csrf_token.as_str()),
        (ada.id, "csrf-s-live")
    );
    assert!(
        store.session("s-old", now).await.unwrap().is_none(),
        "expired"
    );
    assert!(store.session("nope", now).await.unwrap().is_none());
    store
        .touch_session("s-live", now + 10, now + 120_000)
        .await
        .unwrap();
    assert_eq!(
        store
            .session("s-live", now)
            .await
            .unwrap()
            .unwrap()
            .expires_at,
        now + 120_000
    );
    store.delete_session("s-live").await.unwrap();
    assert!(
        store.session("s-live", now).await.unwrap().is_none(),
        "logged out"
    );
    assert_eq!(
        store.delete_user_sessions(ada.id).await.unwrap(),
        2,
        "everywhere"
    );
    assert!(store.session("s-other", now).await.unwrap().is_none());

    let ws = store
        .create_workspace(&WorkspaceSlug::parse("acme").unwrap(), ada.id)
        .await
        .unwrap()
        .unwrap();
    store
        .create_invitation(&NewInvitation {
            id: covalynce_domain::InvitationId::new(),
            workspace_id: ws.id,
            role: Role::Viewer,
            token_hash: "expired".into(),
            created_by: None,
            expires_at: now - 1,
        })
        .await
        .unwrap();
    assert!(matches!(
        store
            .accept_invitation("expired", ada.id, now)
            .await
            .unwrap(),
        Acceptance::Invalid
    ));
    let inv = store.invitations(ws.id).await.unwrap();
    assert_eq!(inv.len(), 1);
    assert!(store.revoke_invitation(ws.id, inv[0].id).await.unwrap());

    let id = TokenId::new();
    store
        .insert_token(&NewToken {
            id,
            workspace_id: ws.id,
            name: "ci".into(),
            token_hash: "tok-hash".into(),
            prefix: "cvl_abc".into(),
            role: Role::Editor,
            user_id: Some(ada.id),
        })
        .await
        .unwrap();
    let auth = store.token_auth("tok-hash").await.unwrap().unwrap();
    assert_eq!(
        (auth.token_id, auth.role, auth.user_id),
        (id, Role::Editor, Some(ada.id))
    );
    assert_eq!(auth.workspace.id, ws.id);
    assert_eq!(auth.last_used_at, None);
    store.touch_token(id, now).await.unwrap();
    store.touch_token(id, now + 1_000).await.unwrap();
    let listed = store.tokens(ws.id).await.unwrap();
    assert_eq!(
        listed[0].last_used_at,
        Some(now),
        "touched at most once a minute"
    );
    assert!(store.revoke_token(ws.id, id).await.unwrap());
    assert!(!store.revoke_token(ws.id, id).await.unwrap());
    assert!(store.token_auth("tok-hash").await.unwrap().is_none());
    assert!(store.tokens(ws.id).await.unwrap()[0].revoked_at.is_some());
}

async fn deleting_a_user_or_workspace_removes_their_data(store: Arc<dyn Store>) {
    use covalynce_domain::Role;
    let ada = store
        .create_user(&new_user("ada@example.com"))
        .await
        .unwrap()
        .unwrap();
    let bob = store
        .create_user(&new_user("bob@example.com"))
        .await
        .unwrap()
        .unwrap();
    let solo = store
        .create_workspace(&WorkspaceSlug::parse("ada-solo").unwrap(), ada.id)
        .await
        .unwrap()
        .unwrap();
    let shared = store
        .create_workspace(&WorkspaceSlug::parse("shared").unwrap(), bob.id)
        .await
        .unwrap()
        .unwrap();
    store
        .create_invitation(&NewInvitation {
            id: covalynce_domain::InvitationId::new(),
            workspace_id: shared.id,
            role: Role::Editor,
            token_hash: "inv".into(),
            created_by: Some(bob.id),
            expires_at: now_millis() + 60_000,
        })
        .await
        .unwrap();
    store
        .accept_invitation("inv", ada.id, now_millis())
        .await
        .unwrap();
    github_source(store.as_ref(), &solo).await;
    for (ws, action) in [(Some(shared.id), "card.approve"), (None, "auth.login")] {
        store
            .audit(&NewAudit {
                workspace_id: ws,
                user_id: Some(ada.id),
                actor: format!("user:{}", ada.id),
                action: action.into(),
                target: None,
                detail: json!({}),
                ip: Some("10.0.0.1".into()),
            })
            .await
            .unwrap();
    }
    assert_eq!(store.user_audit_log(ada.id, 10).await.unwrap().len(), 1);

    store.delete_user(ada.id, &[solo.id]).await.unwrap();
    assert!(store.user(ada.id).await.unwrap().is_none());
    assert!(
        store.workspace(solo.id).await.unwrap().is_none(),
        "their own workspace went"
    );
    assert!(store.list_sources(solo.id).await.unwrap().is_empty());
    assert_eq!(
        store.members(shared.id).await.unwrap().len(),
        1,
        "bob stays"
    );
    assert!(store.user_audit_log(ada.id, 10).await.unwrap().is_empty());
    let log = store.audit_log(shared.id, None, 10).await.unwrap();
    assert_eq!(log.len(), 1, "the shared workspace keeps its history");
    assert_eq!(
        (log[0].actor.as_str(), log[0].ip.as_deref()),
        ("deleted-user", None)
    );

    store.delete_workspace(shared.id).await.unwrap();
    assert!(store.workspace(shared.id).await.unwrap().is_none());
    assert!(store.memberships(bob.id).await.unwrap().is_empty());
    assert!(
        store
            .audit_log(shared.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A workspace setting no version of Covalynce writes (a hand edit, a bad restore) is
/// reported when the workspace is read, naming the value, on both backends; it never
/// falls back to a default (a plan read as SOLO would cut a paying workspace's limits, a
/// voice read as sassy would change every post without a word).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_setting_no_version_wrote_is_an_error_not_a_default() {
    tokio::time::timeout(Duration::from_secs(60), async {
        for (column, value) in [("voice", "loud"), ("plan", "ENTERPRISE")] {
            // The row is edited around the store, as an operator's hand would; the store
            // must then refuse to read the workspace, naming the value.
            let edit = format!("UPDATE workspaces SET {column} = '{value}'");
            macro_rules! edited_then_read {
                ($store:expr, $conn:expr, $backend:literal) => {{
                    let ws = workspace(&$store, "acme").await;
                    let mut conn = $conn;
                    sqlx::query(sqlx::AssertSqlSafe(edit.clone()))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    let err = $store.workspace(ws.id).await.unwrap_err();
                    assert!(
                        matches!(&err, StoreError::Corrupt(m) if m.contains(value)),
                        "{} {column}: {err:?}",
                        $backend
                    );
                }};
            }
            let (store, conn) = sqlite_with_a_side_door().await;
            edited_then_read!(store, conn, "sqlite");
            let (store, conn) = postgres_with_a_side_door().await;
            edited_then_read!(store, conn, "postgres");
        }
    })
    .await
    .expect("bounded");
}

/// An event status no version wrote is reported when the event is read, on both backends:
/// read as "new" it would be drafted again, read as "drafted" it would never be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_event_status_no_version_wrote_is_an_error_not_a_default() {
    tokio::time::timeout(Duration::from_secs(60), async {
        macro_rules! edited_then_read {
            ($store:expr, $conn:expr, $backend:literal) => {{
                let ws = workspace(&$store, "acme").await;
                let src = github_source(&$store, &ws).await;
                let out = $store
                    .ingest(&prep(vec![delivery(&ws, &src, "d1", vec![push_event("c1")])]))
                    .await
                    .unwrap();
                let IngestOutcome::Stored { events, .. } = &out[0] else {
                    panic!("{out:?}")
                };
                let mut conn = $conn;
                sqlx::query("UPDATE events SET status = 'ready'")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let err = $store.event(ws.id, events[0].id).await.unwrap_err();
                assert!(
                    matches!(&err, StoreError::Corrupt(m) if m.contains("ready")),
                    "{}: {err:?}",
                    $backend
                );
            }};
        }
        let (store, conn) = sqlite_with_a_side_door().await;
        edited_then_read!(store, conn, "sqlite");
        let (store, conn) = postgres_with_a_side_door().await;
        edited_then_read!(store, conn, "postgres");
    })
    .await
    .expect("bounded");
}

/// An event's facts read back as they were written, typed; facts of the wrong type (a hand
/// edit, a bad restore) are an error naming the event's kind, on both backends — read as
/// "no commits" the work would be skipped without a word. The error never quotes a value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_events_facts_read_back_typed_and_a_wrong_shape_is_an_error() {
    tokio::time::timeout(Duration::from_secs(60), async {
        macro_rules! edited_then_read {
            ($store:expr, $conn:expr, $backend:literal) => {{
                let ws = workspace(&$store, "acme").await;
                let src = github_source(&$store, &ws).await;
                let written = push_event(&"a".repeat(40));
                let out = $store
                    .ingest(&prep(vec![delivery(&ws, &src, "d1", vec![written.clone()])]))
                    .await
                    .unwrap();
                let IngestOutcome::Stored { events, .. } = &out[0] else {
                    panic!("{out:?}")
                };
                let read = $store.event(ws.id, events[0].id).await.unwrap().unwrap();
                assert_eq!(read.facts, written.facts, "{}", $backend);
                assert_eq!(read.facts.commit(), Some("a".repeat(40).as_str()));
                let mut conn = $conn;
                sqlx::query(r#"UPDATE events SET data = '{"commits": "hunter2-secret"}'"#)
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let err = $store.event(ws.id, events[0].id).await.unwrap_err();
                assert!(
                    matches!(&err, StoreError::Corrupt(m) if m.contains("push") && !m.contains("hunter2")),
                    "{}: {err:?}",
                    $backend
                );
            }};
        }
        let (store, conn) = sqlite_with_a_side_door().await;
        edited_then_read!(store, conn, "sqlite");
        let (store, conn) = postgres_with_a_side_door().await;
        edited_then_read!(store, conn, "postgres");
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn a_cards_ci_gate_and_a_sources_settings_read_back_typed_and_a_wrong_shape_is_an_error() {
    tokio::time::timeout(Duration::from_secs(60), async {
        macro_rules! edited_then_read {
            ($store:expr, $conn:expr, $backend:literal) => {{
                let ws = workspace(&$store, "acme").await;
                let src = github_source(&$store, &ws).await;
                let settings = covalynce_domain::SourceSettings {
                    default_branch: Some("master".into()),
                    gate: Some(covalynce_domain::GateConfig {
                        enabled: Some(true),
                        workflows: vec!["CI".into()],
                        absent_after_secs: Some(60),
                    }),
                    ..Default::default()
                };
                assert!($store.set_source_settings(ws.id, src.id, &settings).await.unwrap());
                let read = $store.workspace_source(ws.id, src.id).await.unwrap().unwrap();
                assert_eq!(read.settings, settings, "{}", $backend);

                let events = pushed(&$store, &ws, &src, "g", 1).await;
                let mut gate = covalynce_domain::Gate::waiting(src.id, "acme/widget", &"a".repeat(40));
                gate.absent_after = Some(now_millis() + 60_000);
                let created = $store
                    .create_card(&NewCard {
                        workspace_id: ws.id,
                        event_id: events[0].0,
                        source_key: events[0].1.clone(),
                        category: CardCategory::Mkt,
                        title: "held".into(),
                        content: "notes".into(),
                        variants: [("x".to_owned(), "post".to_owned())].into(),
                        risk: Risk::Green,
                        risk_reasons: vec![],
                        drafted_by: "offline".into(),
                        draft_note: None,
                        gate: Some(gate.clone()),
                        ai_calls: vec![],
                    })
                    .await
                    .unwrap();
                let CardCreation::Created(card) = created else {
                    panic!("{created:?}")
                };
                let held = $store.held_cards(ws.id).await.unwrap();
                assert_eq!(held[0].gate.as_ref(), Some(&gate), "{}", $backend);
                gate.decided_by(covalynce_domain::GateState::Passed, "CI", "success", None);
                assert!($store.update_gate(ws.id, card, &gate, true).await.unwrap());
                let read = $store.card(ws.id, card).await.unwrap().unwrap();
                assert_eq!(read.status, CardStatus::Pending);
                assert_eq!(read.gate, Some(gate), "{}", $backend);

                let mut conn = $conn;
                sqlx::query(r#"UPDATE cards SET gate = '{"state": "green", "token": "hunter2"}'"#)
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let err = $store.card(ws.id, card).await.unwrap_err();
                assert!(
                    matches!(&err, StoreError::Corrupt(m) if m.contains("gate") && !m.contains("hunter2")),
                    "{}: {err:?}",
                    $backend
                );
                sqlx::query(r#"UPDATE sources SET settings = '{"gate": {"enabled": "hunter2"}}'"#)
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let err = $store.workspace_source(ws.id, src.id).await.unwrap_err();
                assert!(
                    matches!(&err, StoreError::Corrupt(m) if m.contains("settings") && !m.contains("hunter2")),
                    "{}: {err:?}",
                    $backend
                );
                // One unreadable source does not stop the watcher's walk of everyone else's.
                let git = |path: &str| NewSource {
                    id: SourceId::new(),
                    workspace_id: ws.id,
                    kind: SourceKind::Git,
                    repo: None,
                    path: Some(path.into()),
                    sealed_secret: None,
                    settings: Default::default(),
                    sealed_token: None,
                };
                let bad = $store.insert_source(&git("/srv/bad")).await.unwrap();
                let good = $store.insert_source(&git("/srv/good")).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    r#"UPDATE sources SET settings = '{{"mode": "x"}}' WHERE id = '{}'"#,
                    bad.id
                )))
                .execute(&mut conn)
                .await
                .unwrap();
                let walked: Vec<SourceId> =
                    $store.git_sources().await.unwrap().iter().map(|s| s.id).collect();
                assert_eq!(walked, vec![good.id], "{}", $backend);
            }};
        }
        let (store, conn) = sqlite_with_a_side_door().await;
        edited_then_read!(store, conn, "sqlite");
        let (store, conn) = postgres_with_a_side_door().await;
        edited_then_read!(store, conn, "postgres");
    })
    .await
    .expect("bounded");
}

/// A migrated SQLite store and a connection of its own to the same file: rows edited around
/// the store, as an operator's hand (or a bad restore) would.
async fn sqlite_with_a_side_door() -> (SqliteStore, sqlx::SqliteConnection) {
    use sqlx::Connection;
    let (_, dir) = testing::fresh_database(Backend::Sqlite).await;
    let path = dir.join("covalynce.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.migrate().await.unwrap();
    let conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    (store, conn)
}

/// The PostgreSQL store on its runtime role, and the administrator's connection to the
/// same database, which edits rows around it.
async fn postgres_with_a_side_door() -> (PgStore, sqlx::PgConnection) {
    use sqlx::Connection;
    let (store, url, _) = runtime_store().await;
    let conn = sqlx::PgConnection::connect(&testing::admin_url_for(&url))
        .await
        .unwrap();
    (store, conn)
}

/// A fresh PostgreSQL database as the harness prepares it (migrated by its owner), the
/// store on the runtime role, its URL and the scope key the store proves its scopes with.
async fn runtime_store() -> (PgStore, String, ScopeKey) {
    let (url, dir) = testing::fresh_database(Backend::Postgres).await;
    let url = url.unwrap();
    let key = testing::scope_key_of(&dir);
    let store = PgStore::connect(&url, key.clone(), None).await.unwrap();
    store.migrate().await.unwrap();
    (store, url, key)
}

/// Row level security on PostgreSQL: defence in depth behind every query's own
/// `workspace_id = $1`. A session that names a workspace sees and changes only that
/// workspace's rows even when a query forgets its filter; one that names none sees no
/// tenant row at all; and the setting ends with its transaction, so a pooled connection
/// never carries one workspace's scope into the next borrower's query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_row_level_security_confines_each_transaction_to_its_workspace() {
    use sqlx::{Connection, Row};
    tokio::time::timeout(Duration::from_secs(60), async {
        let (store, url, key) = runtime_store().await;
        let acme = workspace(&store, "acme").await;
        let globex = workspace(&store, "globex").await;
        let acme_cards = green_cards(&store, &acme, 2).await;
        green_cards(&store, &globex, 3).await;

        // The application's own role: neither superuser nor BYPASSRLS.
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let bypass: bool = sqlx::query_scalar(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert!(!bypass, "the tests run as an ordinary role");

        for table in ["workspaces", "sources", "events", "cards", "card_revisions", "jobs"] {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {table}"
            )))
            .fetch_one(&mut c)
            .await
            .unwrap();
            assert_eq!(n, 0, "no scope, no {table} rows");
        }

        // Scoped to acme, a query without any workspace filter still sees acme alone.
        let mut tx = testing::begin_scoped(&mut c, &key, &acme.id.to_string()).await;
        let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM cards ORDER BY title")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(titles, ["card 0", "card 1"], "acme's two cards, not globex's three");
        let revisions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM card_revisions")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(revisions, 2, "revisions follow their card");
        let touched = sqlx::query("UPDATE cards SET title = 'renamed'")
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
        assert_eq!(touched, 2, "an unfiltered UPDATE reaches acme's rows only");
        let err = sqlx::query(
            "INSERT INTO sources (id, workspace_id, kind, repo, created_at) VALUES ($1, $2, 'github', 'evil/x', 0)",
        )
        .bind(SourceId::new().to_string())
        .bind(globex.id.to_string())
        .execute(&mut *tx)
        .await
        .expect_err("writing into another workspace is refused");
        assert!(
            err.to_string().contains("row-level security"),
            "refused by the policy: {err}"
        );
        tx.rollback().await.unwrap();

        // The scope ended with its transaction.
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cards")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(n, 0, "the next transaction on this connection starts without a scope");

        // The system scope (job queue, token lookups) sees across workspaces.
        let mut tx = testing::begin_scoped(&mut c, &key, "*").await;
        let rows = sqlx::query("SELECT workspace_id FROM cards")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(rows.len(), 5);
        let globex_rows = rows
            .iter()
            .filter(|r| r.get::<String, _>(0) == globex.id.to_string())
            .count();
        assert_eq!(globex_rows, 3);
        tx.commit().await.unwrap();

        // And the store itself, which scopes every transaction, still works through it.
        let card = store.card(acme.id, acme_cards[0]).await.unwrap().unwrap();
        assert_eq!(card.title, "card 0", "the rolled-back rename left no trace");
        assert!(
            store.card(globex.id, acme_cards[0]).await.unwrap().is_none(),
            "acme's card is not globex's"
        );
        let _ = c.close().await;
    })
    .await
    .expect("test timed out");
}

/// Two workspaces' people, sessions, cards, channels and a payment event, for the stories
/// below about what the application's own role can reach.
struct Tenants {
    acme: Workspace,
    globex: Workspace,
    ada: User,
    bob: User,
}

async fn two_tenants(store: &dyn Store) -> Tenants {
    let ada = store
        .create_user(&new_user("ada@acme.test"))
        .await
        .unwrap()
        .unwrap();
    let bob = store
        .create_user(&new_user("bob@globex.test"))
        .await
        .unwrap()
        .unwrap();
    let acme = store
        .create_workspace(&WorkspaceSlug::parse("acme").unwrap(), ada.id)
        .await
        .unwrap()
        .unwrap();
    let globex = store
        .create_workspace(&WorkspaceSlug::parse("globex").unwrap(), bob.id)
        .await
        .unwrap()
        .unwrap();
    green_cards(store, &acme, 2).await;
    green_cards(store, &globex, 3).await;
    channel(store, &acme, "acme-out").await;
    channel(store, &globex, "globex-out").await;
    for (hash, user) in [("s-ada", ada.id), ("s-bob", bob.id)] {
        store
            .create_session(&NewSession {
                id_hash: hash.into(),
                user_id: user,
                csrf_token: format!("csrf-{hash}"),
                expires_at: now_millis() + 60_000,
                ip: None,
                user_agent: None,
            })
            .await
            .unwrap();
    }
    for (hash, user) in [("l-ada", ada.id), ("l-bob", bob.id)] {
        store
            .create_login_link(hash, user, now_millis() + 60_000)
            .await
            .unwrap();
    }
    assert!(
        store
            .record_billing_event(
                "stripe",
                "evt_1",
                "invoice.paid",
                Some(globex.id),
                "applied"
            )
            .await
            .unwrap()
    );
    Tenants {
        acme,
        globex,
        ada,
        bob,
    }
}

/// Rows of each tenant table `c` sees in its current state: `(table, rows)`.
async fn visible(c: &mut sqlx::PgConnection) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "workspaces",
        "cards",
        "card_revisions",
        "channels",
        "memberships",
        "users",
        "sessions",
        "login_links",
        "billing_events",
        "jobs",
    ] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *c)
                .await
                .unwrap();
        out.push((table, n));
    }
    out
}

fn nothing() -> Vec<(&'static str, i64)> {
    [
        "workspaces",
        "cards",
        "card_revisions",
        "channels",
        "memberships",
        "users",
        "sessions",
        "login_links",
        "billing_events",
        "jobs",
    ]
    .into_iter()
    .map(|t| (t, 0))
    .collect()
}

/// Issue 20, point 6: the database enforces the tenant even against the application's own
/// role. Whatever an injected statement sets `covalynce.scope` to — the system scope,
/// another workspace's id, session-wide or for its transaction, with no proof, a forged
/// one, one made under a key of its own, or one read from another scope or an earlier
/// transaction — it sees no row at all; and it can neither lift row level security nor
/// read the key. The store, which proves its scopes, still serves both workspaces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_application_role_cannot_widen_its_own_scope() {
    use sqlx::Connection;
    tokio::time::timeout(Duration::from_secs(60), async {
        let (store, url, key) = runtime_store().await;
        let t = two_tenants(&store).await;
        let (acme, globex) = (t.acme.id.to_string(), t.globex.id.to_string());

        // The application's own role, as an injected statement would use it.
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let me: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&mut c).await.unwrap();
        assert_eq!(me, testing::APP_ROLE);

        // Session-wide, no proof.
        for scope in ["*", globex.as_str()] {
            sqlx::query(sqlx::AssertSqlSafe(format!("SET covalynce.scope = '{scope}'")))
                .execute(&mut c)
                .await
                .unwrap();
            assert_eq!(visible(&mut c).await, nothing(), "SET covalynce.scope = {scope:?}");
        }
        sqlx::query("RESET covalynce.scope").execute(&mut c).await.unwrap();

        // For the transaction, no proof (what `scoped` did before migration 0013).
        for scope in ["*", globex.as_str()] {
            let mut tx = c.begin().await.unwrap();
            sqlx::query("SELECT set_config('covalynce.scope', $1, true)")
                .bind(scope)
                .execute(&mut *tx)
                .await
                .unwrap();
            assert_eq!(visible(&mut tx).await, nothing(), "set_config {scope:?}");
            tx.rollback().await.unwrap();
        }

        // A forged proof, and a proof made the right way under a key of the attacker's own,
        // even with a temporary table shadowing the key table.
        let mut tx = c.begin().await.unwrap();
        sqlx::query(
            "SELECT set_config('covalynce.scope', '*', true), set_config('covalynce.scope_proof', $1, true)",
        )
        .bind("ab".repeat(32))
        .execute(&mut *tx)
        .await
        .unwrap();
        assert_eq!(visible(&mut tx).await, nothing(), "a forged proof");
        tx.rollback().await.unwrap();
        let mine = ScopeKey::random();
        sqlx::query("CREATE TEMP TABLE covalynce_scope_key (id BOOLEAN PRIMARY KEY, key BYTEA)")
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::query("INSERT INTO pg_temp.covalynce_scope_key VALUES (true, $1)")
            .bind(&mine.as_bytes()[..])
            .execute(&mut c)
            .await
            .unwrap();
        let mut tx = testing::begin_scoped(&mut c, &mine, "*").await;
        assert_eq!(visible(&mut tx).await, nothing(), "a proof under another key");
        tx.rollback().await.unwrap();
        sqlx::query("DROP TABLE pg_temp.covalynce_scope_key").execute(&mut c).await.unwrap();

        // Proofs an injected statement can read: its own transaction's. Acme's proof does
        // not open globex (nor the system scope), and a system proof read in one
        // transaction opens nothing in the next.
        let mut tx = testing::begin_scoped(&mut c, &key, &acme).await;
        let acme_proof: String = sqlx::query_scalar("SELECT current_setting('covalynce.scope_proof')")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let mine_now = visible(&mut tx).await;
        assert!(mine_now.contains(&("cards", 2)) && mine_now.contains(&("users", 1)), "{mine_now:?}");
        for scope in [globex.as_str(), "*"] {
            sqlx::query("SELECT set_config('covalynce.scope', $1, true)")
                .bind(scope)
                .execute(&mut *tx)
                .await
                .unwrap();
            assert_eq!(visible(&mut tx).await, nothing(), "acme's proof under scope {scope:?}");
        }
        tx.rollback().await.unwrap();
        let mut tx = testing::begin_scoped(&mut c, &key, "*").await;
        let system_proof: String = sqlx::query_scalar("SELECT current_setting('covalynce.scope_proof')")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert!(visible(&mut tx).await.contains(&("cards", 5)), "the real system scope sees all");
        tx.commit().await.unwrap();
        for (scope, proof) in [("*", &system_proof), (globex.as_str(), &acme_proof), (acme.as_str(), &acme_proof)] {
            let mut tx = c.begin().await.unwrap();
            sqlx::query(
                "SELECT set_config('covalynce.scope', $1, true), set_config('covalynce.scope_proof', $2, true)",
            )
            .bind(scope)
            .bind(proof)
            .execute(&mut *tx)
            .await
            .unwrap();
            assert_eq!(visible(&mut tx).await, nothing(), "a replayed proof for {scope:?}");
            tx.rollback().await.unwrap();
        }

        // Nothing lifts the policies or reads the key.
        for (statement, refusal) in [
            ("ALTER TABLE cards NO FORCE ROW LEVEL SECURITY", "must be owner"),
            ("ALTER TABLE cards DISABLE ROW LEVEL SECURITY", "must be owner"),
            ("DROP POLICY tenant ON cards", "must be owner"),
            ("CREATE POLICY open ON cards USING (true)", "must be owner"),
            ("SELECT * FROM covalynce_scope_key", "permission denied"),
            ("UPDATE covalynce_scope_key SET key = key", "permission denied"),
            ("TRUNCATE cards", "permission denied"),
            ("INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) VALUES (0, 'x', now(), true, '', 0)", "permission denied"),
            ("SET ROLE covalynce_test_owner", "permission denied"),
            ("CREATE OR REPLACE FUNCTION covalynce_scope() RETURNS TEXT LANGUAGE sql AS $$ SELECT '*' $$", "permission denied"),
        ] {
            let err = sqlx::query(statement)
                .execute(&mut c)
                .await
                .expect_err(statement);
            assert!(err.to_string().contains(refusal), "{statement}: {err}");
        }

        // The store proves its scopes: both workspaces, their people and sessions work.
        let acme_cards = store.list_cards(t.acme.id, &CardFilter { limit: 50, ..Default::default() }).await.unwrap();
        let globex_cards = store.list_cards(t.globex.id, &CardFilter { limit: 50, ..Default::default() }).await.unwrap();
        assert_eq!((acme_cards.len(), globex_cards.len()), (2, 3));
        assert_eq!(store.session("s-bob", now_millis()).await.unwrap().unwrap().user.id, t.bob.id);
        assert_eq!(store.members(t.acme.id).await.unwrap().len(), 1);
        assert_eq!(store.user(t.ada.id).await.unwrap().unwrap().id, t.ada.id);
        assert!(store.billing_event_known("stripe", "evt_1").await.unwrap());
        let _ = c.close().await;
    })
    .await
    .expect("test timed out");
}

/// People, sessions and payment events: a workspace's scope sees its own members and no
/// one else, and no session or payment event at all; the system scope sees them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_people_sessions_and_payments_follow_the_scope_that_fits_them() {
    use sqlx::Connection;
    tokio::time::timeout(Duration::from_secs(60), async {
        let (store, url, key) = runtime_store().await;
        let t = two_tenants(&store).await;
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();

        let mut tx = testing::begin_scoped(&mut c, &key, &t.acme.id.to_string()).await;
        let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM users")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(
            emails,
            ["ada@acme.test"],
            "acme sees its member, not globex's"
        );
        let seen = visible(&mut tx).await;
        assert!(
            seen.contains(&("sessions", 0))
                && seen.contains(&("login_links", 0))
                && seen.contains(&("billing_events", 0)),
            "{seen:?}"
        );
        let err = sqlx::query("UPDATE users SET name = 'x'")
            .execute(&mut *tx)
            .await
            .expect_err("a workspace's scope writes no person");
        assert!(err.to_string().contains("row-level security"), "{err}");
        tx.rollback().await.unwrap();

        let mut tx = testing::begin_scoped(&mut c, &key, "*").await;
        let seen = visible(&mut tx).await;
        for row in [
            ("users", 2),
            ("sessions", 2),
            ("login_links", 2),
            ("billing_events", 1),
        ] {
            assert!(
                seen.contains(&row),
                "the system scope sees {row:?}: {seen:?}"
            );
        }
        tx.rollback().await.unwrap();
        let _ = c.close().await;
    })
    .await
    .expect("test timed out");
}

/// The scope is checked once per query, not once per row: the policies' sub-SELECT is an
/// InitPlan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_scope_is_an_init_plan() {
    use sqlx::Connection;
    tokio::time::timeout(Duration::from_secs(60), async {
        let (url, dir) = testing::fresh_database(Backend::Postgres).await;
        let url = url.unwrap();
        let key = testing::scope_key_of(&dir);
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut tx = testing::begin_scoped(&mut c, &key, "*").await;
        for table in ["cards", "users", "sessions"] {
            let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "EXPLAIN (COSTS OFF) SELECT * FROM {table}"
            )))
            .fetch_all(&mut *tx)
            .await
            .unwrap();
            let plan = plan.join("\n");
            assert!(plan.contains("InitPlan"), "{table}: {plan}");
            assert!(
                !plan.contains("Filter: (covalynce_scope()"),
                "{table}: {plan}"
            );
        }
        tx.rollback().await.unwrap();
        let _ = c.close().await;
    })
    .await
    .expect("test timed out");
}

/// Two roles: a runtime role that owns nothing cannot migrate, and says which URL it
/// needs; the owner migrates and grants; then the runtime role alone starts (nothing
/// pending), unless its scope key is not the database's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_owner_migrates_and_the_runtime_role_only_runs() {
    use sqlx::Connection;
    tokio::time::timeout(Duration::from_secs(90), async {
        let (url, owner) = testing::fresh_postgres().await;
        let key = ScopeKey::random();
        let runtime_only = PgStore::connect(&url, key.clone(), None).await.unwrap();
        let err = runtime_only.migrate().await.expect_err("the runtime role may not migrate");
        assert!(err.to_string().contains("--database-owner-url"), "{err}");
        runtime_only.close().await;

        let with_owner = PgStore::connect(&url, key.clone(), Some(&owner)).await.unwrap();
        with_owner.migrate().await.unwrap();
        with_owner.migrate().await.expect("migrating again is harmless");
        assert!(with_owner.may_replace_scope_key().await.unwrap());
        with_owner.close().await;

        let runtime_only = PgStore::connect(&url, key.clone(), None).await.unwrap();
        runtime_only.migrate().await.expect("nothing pending, the key matches");
        assert!(
            !runtime_only.may_replace_scope_key().await.unwrap(),
            "the runtime role cannot change the key"
        );
        let ws = workspace(&runtime_only, "acme").await;
        assert!(runtime_only.workspace(ws.id).await.unwrap().is_some());
        runtime_only.close().await;

        let other_key = PgStore::connect(&url, ScopeKey::random(), None).await.unwrap();
        let err = other_key.migrate().await.expect_err("another secret key");
        assert!(
            err.to_string().contains("scope key does not match"),
            "{err}"
        );
        other_key.close().await;

        // What the owner granted: rows, not the key, not the migrations' history.
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let rights: Vec<(String, bool, bool)> = sqlx::query_as(
            "SELECT relname::text, has_table_privilege(oid, 'SELECT'), has_table_privilege(oid, 'INSERT')
             FROM pg_class WHERE relname IN ('cards', 'covalynce_scope_key', '_sqlx_migrations') ORDER BY relname",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert_eq!(
            rights,
            [
                ("_sqlx_migrations".to_owned(), true, false),
                ("cards".to_owned(), true, true),
                ("covalynce_scope_key".to_owned(), false, false),
            ]
        );
        let owns: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!(owns, 0, "the runtime role owns nothing");
        let _ = c.close().await;
    })
    .await
    .expect("test timed out");
}

/// Lifting the emergency stop sends what it held, but a post scheduled for later (or
/// inside the UI's undo window) still waits for its time.
async fn lifting_the_stop_keeps_each_posts_scheduled_time(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let cards = green_cards(store.as_ref(), &ws, 2).await;
    let out = channel(store.as_ref(), &ws, "out").await;
    let later = now_millis() + 3_600_000;
    assert!(matches!(
        store
            .approve_card(ws.id, cards[0], &[(out.id, later)])
            .await
            .unwrap(),
        Approval::Approved(_)
    ));
    approved(store.as_ref(), &ws, cards[1], &[out.id]).await;
    store.set_emergency_stop(ws.id, true).await.unwrap();
    let before = now_millis();
    assert_eq!(store.set_emergency_stop(ws.id, false).await.unwrap(), 2);
    let jobs = store
        .list_jobs(ws.id, Some(JobStatus::Queued), 50)
        .await
        .unwrap();
    let resumed: Vec<i64> = jobs
        .iter()
        .filter(|j| j.kind == "publish")
        .map(|j| j.run_at)
        .collect();
    assert_eq!(
        resumed.len(),
        4,
        "the two approvals' jobs and one each on lifting"
    );
    assert_eq!(
        resumed.iter().filter(|at| **at >= later).count(),
        2,
        "the scheduled post's jobs both wait for its time: {resumed:?}"
    );
    assert_eq!(
        resumed
            .iter()
            .filter(|at| **at < later && **at <= before + 60_000)
            .count(),
        2
    );
}

/// Undo of a dismissal: DISMISSED → PENDING, once; nothing else can be restored.
async fn a_dismissal_can_be_taken_back(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let other = workspace(store.as_ref(), "globex").await;
    let cards = green_cards(store.as_ref(), &ws, 2).await;
    assert!(matches!(
        store.dismiss_card(ws.id, cards[0]).await.unwrap(),
        CardChange::Done(_)
    ));
    assert_eq!(
        store.restore_card(other.id, cards[0]).await.unwrap(),
        CardChange::NotFound,
        "another workspace cannot touch it"
    );
    let CardChange::Done(card) = store.restore_card(ws.id, cards[0]).await.unwrap() else {
        panic!("restored")
    };
    assert_eq!(card.status, CardStatus::Pending);
    assert_eq!(
        store.restore_card(ws.id, cards[1]).await.unwrap(),
        CardChange::Conflict(CardStatus::Pending),
        "a pending card has nothing to restore"
    );
}

/// A workspace's AI provider chain is replaced as a whole and read in order; its ledger
/// answers by period; neither is visible from another workspace; keys are rotatable.
async fn ai_chains_and_the_ledger_belong_to_their_workspace(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let other = workspace(store.as_ref(), "globex").await;
    assert_eq!(
        ws.ai_privacy,
        covalynce_domain::Privacy::Offline,
        "nothing leaves by default"
    );
    let p = |kind: &str, model: &str| NewAiProvider {
        kind: kind.into(),
        model: model.into(),
        base_url: "https://api.example".into(),
        sealed_key: Some(vec![9, 9, 9]),
    };
    store
        .set_ai_chain(ws.id, &[p("openai", "a"), p("anthropic", "b")])
        .await
        .unwrap();
    store
        .set_ai_chain(ws.id, &[p("gemini", "c"), p("openai", "d")])
        .await
        .unwrap();
    let chain = store.ai_chain(ws.id).await.unwrap();
    let names: Vec<&str> = chain.iter().map(|c| c.model.as_str()).collect();
    assert_eq!(names, ["c", "d"], "replaced, in order");
    assert!(store.ai_chain(other.id).await.unwrap().is_empty());
    let blobs = store.sealed_blobs().await.unwrap();
    assert_eq!(
        blobs
            .iter()
            .filter(|b| b.place == SealedPlace::AiKey)
            .count(),
        2,
        "AI keys are re-sealed by key rotation"
    );
    store
        .set_ai_privacy(ws.id, covalynce_domain::Privacy::Messages)
        .await
        .unwrap();
    assert_eq!(
        store.workspace(ws.id).await.unwrap().unwrap().ai_privacy,
        covalynce_domain::Privacy::Messages
    );

    let call = |outcome: &str, cost: i64| NewAiCall {
        workspace_id: ws.id,
        card_id: None,
        provider: "gemini".into(),
        model: "c".into(),
        purpose: "draft".into(),
        channel: Some("x".into()),
        tokens_in: 100,
        tokens_out: 20,
        cost_micros: cost,
        latency_ms: 300,
        outcome: outcome.into(),
        detail: None,
    };
    let before = now_millis();
    store
        .record_ai_calls(&[call("failed", 0), call("used", 75)])
        .await
        .unwrap();
    let calls = store
        .ai_calls(ws.id, before, now_millis() + 1, 100)
        .await
        .unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls.iter().map(|c| c.cost_micros).sum::<i64>(), 75);
    assert!(
        store
            .ai_calls(ws.id, 0, before, 100)
            .await
            .unwrap()
            .is_empty(),
        "outside the period"
    );
    assert!(
        store
            .ai_calls(other.id, 0, i64::MAX, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The history page's one query: the publications of several cards, each card's own,
/// none of another workspace's.
async fn publications_of_many_cards_come_in_one_answer_and_stay_in_their_workspace(
    store: Arc<dyn Store>,
) {
    let ws = workspace(store.as_ref(), "acme").await;
    let other = workspace(store.as_ref(), "globex").await;
    let cards = green_cards(store.as_ref(), &ws, 3).await;
    let a = channel(store.as_ref(), &ws, "a").await;
    let b = channel(store.as_ref(), &ws, "b").await;
    approved(store.as_ref(), &ws, cards[0], &[a.id, b.id]).await;
    approved(store.as_ref(), &ws, cards[1], &[a.id]).await;
    let all = store.publications_of_cards(ws.id, &cards).await.unwrap();
    let count = |c| all.iter().filter(|p| p.card_id == c).count();
    assert_eq!(
        (count(cards[0]), count(cards[1]), count(cards[2])),
        (2, 1, 0)
    );
    for c in &cards[..2] {
        let one = store.card_publications(*c).await.unwrap();
        let mine: Vec<_> = all.iter().filter(|p| p.card_id == *c).cloned().collect();
        assert_eq!(one, mine, "the same records as asking card by card");
    }
    // Publishing one marks its channel's last success, and only that channel's.
    let first_a = all.iter().find(|p| p.channel_id == a.id).unwrap().id;
    store
        .set_publication(
            first_a,
            covalynce_domain::PublicationStatus::Published,
            None,
            None,
        )
        .await
        .unwrap();
    assert!(
        store
            .channel(a.id)
            .await
            .unwrap()
            .unwrap()
            .last_success_at
            .is_some()
    );
    assert!(
        store
            .channel(b.id)
            .await
            .unwrap()
            .unwrap()
            .last_success_at
            .is_none()
    );
    assert!(
        store
            .publications_of_cards(ws.id, &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .publications_of_cards(other.id, &cards)
            .await
            .unwrap()
            .is_empty(),
        "another workspace gets nothing"
    );
}

async fn one_holder_at_a_time_rotates_a_channels_credentials(store: Arc<dyn Store>) {
    let s = store.as_ref();
    let ws = workspace(s, "acme").await;
    let ch = channel(s, &ws, "x").await;
    let soon = now_millis() + 30_000;
    // Eight workers race for the lease: exactly one gets it.
    let races: Vec<_> = (0..8)
        .map(|_| {
            let (store, id) = (store.clone(), ch.id);
            tokio::spawn(async move { store.lease_credential_refresh(id, soon).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for race in races {
        won += usize::from(race.await.unwrap());
    }
    assert_eq!(won, 1);
    // The holder's swap needs the credentials it read; a stale one writes nothing.
    assert!(
        !s.rotate_credentials(ch.id, &[1, 2, 3], &[4, 4, 4], &capped(1))
            .await
            .unwrap()
    );
    assert!(
        s.rotate_credentials(ch.id, &[9, 9, 9], &[4, 4, 4], &capped(2))
            .await
            .unwrap()
    );
    let now = s.channel(ch.id).await.unwrap().unwrap();
    assert_eq!(now.sealed_credentials.as_deref(), Some(&[4u8, 4, 4][..]));
    assert_eq!(now.config.daily_cap, Some(2));
    // The swap ended the lease; a failed refresh ends it too; an expired lease is free.
    assert!(s.lease_credential_refresh(ch.id, soon).await.unwrap());
    s.release_credential_refresh(ch.id).await.unwrap();
    assert!(
        s.lease_credential_refresh(ch.id, now_millis() - 1)
            .await
            .unwrap()
    );
    assert!(
        s.lease_credential_refresh(ch.id, soon).await.unwrap(),
        "a lapsed lease is taken over"
    );
    assert!(!s.lease_credential_refresh(ch.id, soon).await.unwrap());
}

async fn an_ended_period_starts_again_and_billing_applies_once_in_order(store: Arc<dyn Store>) {
    let ws = workspace(store.as_ref(), "acme").await;
    let src = github_source(store.as_ref(), &ws).await;
    let events = pushed(store.as_ref(), &ws, &src, "p", 7).await;
    let card = |n: usize| NewCard {
        workspace_id: ws.id,
        event_id: events[n].0,
        source_key: events[n].1.clone(),
        category: CardCategory::Mkt,
        title: format!("card {n}"),
        content: "notes".into(),
        variants: [("x".to_owned(), format!("post {n}"))].into(),
        risk: Risk::Green,
        risk_reasons: vec![],
        drafted_by: "offline".into(),
        draft_note: None,
        gate: None,
        ai_calls: vec![],
    };
    for n in 0..5 {
        assert!(matches!(
            store.create_card(&card(n)).await.unwrap(),
            CardCreation::Created(_)
        ));
    }
    let fresh = store.workspace(ws.id).await.unwrap().unwrap();
    assert_eq!(
        fresh.period_end,
        Some(covalynce_domain::next_month_start(now_millis())),
        "the first card started a calendar-month period"
    );
    assert!(matches!(
        store.create_card(&card(5)).await.unwrap(),
        CardCreation::OverLimit { .. }
    ));

    // The provider says the paid period ended a second ago (a late renewal): the next card
    // starts a new period instead of being refused.
    let update = |at: i64, plan: Option<Plan>, period_end: Option<i64>| BillingUpdate {
        provider: "stripe".into(),
        customer: Some("cus_1".into()),
        subscription: Some("sub_1".into()),
        status: "active".into(),
        plan,
        period_end,
        reset_usage: false,
        at,
    };
    let past = now_millis() - 1000;
    assert!(matches!(
        store
            .apply_billing(ws.id, &update(100, None, Some(past)))
            .await
            .unwrap(),
        BillingApplied::Applied(_)
    ));
    assert_eq!(
        store
            .workspace(ws.id)
            .await
            .unwrap()
            .unwrap()
            .cards_used_at(now_millis()),
        0
    );
    assert!(matches!(
        store.create_card(&card(6)).await.unwrap(),
        CardCreation::Created(_)
    ));
    let fresh = store.workspace(ws.id).await.unwrap().unwrap();
    assert_eq!(fresh.cards_used, 1);

    // Newer states apply, older ones are stale; the customer finds the workspace.
    let applied = store
        .apply_billing(ws.id, &update(300, Some(Plan::Team), None))
        .await
        .unwrap();
    let BillingApplied::Applied(after) = applied else {
        panic!("{applied:?}")
    };
    assert_eq!(
        (after.plan, after.card_limit, after.seat_limit),
        (Plan::Team, 500, 20)
    );
    assert_eq!(
        store
            .apply_billing(ws.id, &update(200, Some(Plan::Pro), None))
            .await
            .unwrap(),
        BillingApplied::Stale
    );
    let found = store
        .workspace_by_customer("stripe", "cus_1")
        .await
        .unwrap();
    assert_eq!(found.map(|w| w.id), Some(ws.id));
    assert!(
        store
            .workspace_by_customer("razorpay", "cus_1")
            .await
            .unwrap()
            .is_none(),
        "customers are per provider"
    );

    // Each provider event is recorded once.
    assert!(!store.billing_event_known("stripe", "evt_1").await.unwrap());
    assert!(
        store
            .record_billing_event("stripe", "evt_1", "invoice.paid", Some(ws.id), "applied")
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_billing_event("stripe", "evt_1", "invoice.paid", Some(ws.id), "applied")
            .await
            .unwrap()
    );
    assert!(store.billing_event_known("stripe", "evt_1").await.unwrap());
    assert!(
        !store
            .billing_event_known("razorpay", "evt_1")
            .await
            .unwrap()
    );

    // Seats: this workspace has no member yet (the API stories count invitations too).
    assert_eq!(store.seats_used(ws.id, now_millis()).await.unwrap(), 0);
}

/// `n` pushes `{prefix}0…` stored as events: (event id, its key).
async fn pushed(
    store: &dyn Store,
    ws: &Workspace,
    src: &Source,
    prefix: &str,
    n: usize,
) -> Vec<(covalynce_domain::EventId, String)> {
    let mut events = Vec::new();
    for k in 0..n {
        let out = store
            .ingest(&prep(vec![delivery(
                ws,
                src,
                &format!("{prefix}{k}"),
                vec![push_event(&format!("{prefix}{k}"))],
            )]))
            .await
            .unwrap();
        let IngestOutcome::Stored { events: e, .. } = &out[0] else {
            panic!()
        };
        events.push((e[0].id, format!("push:acme/rocket:{prefix}{k}")));
    }
    events
}

/// An approval gives each channel its own time; the queue lists what waits, soonest first;
/// moving a post moves its job (and the card's time), and what already left the queue
/// cannot be moved. Slots already given are what `taken_slots` answers.
async fn each_channel_keeps_its_own_time_in_the_queue_and_a_move_takes_its_job_along(
    store: Arc<dyn Store>,
) {
    let ws = workspace(store.as_ref(), "acme").await;
    let other = workspace(store.as_ref(), "globex").await;
    let cards = green_cards(store.as_ref(), &ws, 2).await;
    let (a, b) = (
        channel(store.as_ref(), &ws, "a").await,
        channel(store.as_ref(), &ws, "b").await,
    );
    let now = now_millis();
    let (soon, later) = (now + 3_600_000, now + 7_200_000);
    assert!(matches!(
        store
            .approve_card(ws.id, cards[0], &[(a.id, later), (b.id, soon)])
            .await
            .unwrap(),
        Approval::Approved(c) if c.publish_at == Some(soon)
    ));
    let queue = store.queue(ws.id).await.unwrap();
    assert_eq!(
        queue
            .iter()
            .map(|q| (q.publication.channel_id, q.due_at))
            .collect::<Vec<_>>(),
        vec![(b.id, soon), (a.id, later)],
        "soonest first, each at its own time"
    );
    assert_eq!(queue[0].card_title, queue[1].card_title);
    assert!(store.queue(other.id).await.unwrap().is_empty());
    assert_eq!(
        store.taken_slots(ws.id, a.id, now).await.unwrap(),
        vec![later]
    );
    assert!(
        store
            .taken_slots(ws.id, a.id, later + 1)
            .await
            .unwrap()
            .is_empty()
    );

    // Moving b's post after a's: its job moves too, and the card's time follows.
    let moved = now + 10_800_000;
    let id = queue[0].publication.id;
    assert!(matches!(
        store.reschedule_publication(ws.id, id, moved).await.unwrap(),
        PublicationChange::Done(p) if p.due_at == Some(moved)
    ));
    let jobs = store
        .list_jobs(ws.id, Some(JobStatus::Queued), 50)
        .await
        .unwrap();
    let mut runs: Vec<i64> = jobs
        .iter()
        .filter(|j| j.kind == "publish")
        .map(|j| j.run_at)
        .collect();
    runs.sort();
    assert_eq!(runs, vec![later, moved]);
    let card = store.card(ws.id, cards[0]).await.unwrap().unwrap();
    assert_eq!(card.publish_at, Some(later));
    // Another workspace cannot move it; a post that is no longer queued cannot move.
    assert!(matches!(
        store
            .reschedule_publication(other.id, id, now)
            .await
            .unwrap(),
        PublicationChange::NotFound
    ));
    store
        .set_publication(id, PublicationStatus::Published, None, None)
        .await
        .unwrap();
    assert!(matches!(
        store.reschedule_publication(ws.id, id, now).await.unwrap(),
        PublicationChange::Conflict(PublicationStatus::Published)
    ));
    assert_eq!(store.queue(ws.id).await.unwrap().len(), 1);
}
