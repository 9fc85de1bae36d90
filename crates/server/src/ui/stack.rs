//! The card stack: pending cards one at a time, oldest first, with what each came from,
//! its risk light and its posts per channel.

use super::page::{Layout, PageId, Signed, UiError, render};
use crate::http::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use covalynce_domain::{CardId, CardStatus, Risk};
use covalynce_drafting::Channel;
use covalynce_storage::{CardFilter, CardRecord, ChannelRecord};
use serde::Deserialize;

/// How many pending cards the stack knows of at once (their ids); more wait for a reload.
const STACK_SIZE: i64 = 500;
/// How many of them the page renders: the rest are fetched one by one as the stack runs
/// low, so the page stays light (under 100 KB) however many cards wait.
const RENDERED: usize = 6;

pub struct CardVm {
    pub id: String,
    pub title: String,
    pub category: String,
    pub status: String,
    /// green, yellow, red or unknown: a CSS class and a word.
    pub risk: &'static str,
    pub reasons: Vec<String>,
    pub kind: String,
    pub repo: String,
    pub reference: Option<String>,
    /// http(s) only: a link a person may follow.
    pub url: Option<String>,
    /// What each active channel will send, as its platform shows it.
    pub sends: Vec<super::sends::SendVm>,
    /// The drafted texts: all of them when no channel is connected, else those that no
    /// active channel sends (shown folded, for reference).
    pub variants: Vec<VariantVm>,
    /// Some channel would cut a text into a thread: approving asks first.
    pub splits: bool,
    /// Where "approve" sends it unless a person picks: "Outbox", "all 3 channels".
    pub pick_label: String,
    /// Red because its commit text leaked a secret: "I rotated it" is offered.
    pub leak: bool,
    /// Who confirmed the leaked secret was rotated.
    pub rotated_by: Option<String>,
    /// When the work shipped (the event's own time), else when the card was drafted.
    pub when: super::page::When,
    /// "shipped" or "drafted".
    pub when_label: &'static str,
    /// What the category badge means.
    pub category_help: &'static str,
    pub red: bool,
    /// The AI provider/model that wrote it, when one did.
    pub drafted_by: Option<String>,
    /// Why the offline draft stands although AI is on.
    pub draft_note: Option<String>,
    /// Shown in the stack: only the first card is visible before the script takes over.
    pub first: bool,
    /// A release card's image (`/cards/{id}/image.png`): its alt text.
    pub image_alt: Option<String>,
}

pub struct VariantVm {
    pub channel: String,
    pub label: &'static str,
    pub text: String,
    /// The posts of a thread, in order (empty for a single post): shown one under the
    /// other, as the platform will show the replies.
    pub thread: Vec<String>,
}

/// A variant's platform by name ("Post" for one that names none).
pub fn channel_label(name: &str) -> &'static str {
    Channel::parse(name).map_or("Post", Channel::label)
}

/// Where a variant goes among the others: the platforms' own order.
pub fn channel_rank(name: &str) -> usize {
    Channel::ALL
        .iter()
        .position(|c| c.as_str() == name)
        .unwrap_or(usize::MAX)
}

/// A card as the stack and the editor show it, with what each active channel would post
/// and when.
pub async fn card_vm(
    state: &AppState,
    who: &covalynce_app::Acting<covalynce_app::Viewer>,
    card: CardRecord,
    active: &Active,
) -> Result<CardVm, UiError> {
    let channels = active.channels.as_slice();
    let event = match card.event_id {
        Some(e) => state.app().event(who, e).await?,
        None => None,
    };
    let (kind, repo, reference, url) = match &event {
        Some(e) => {
            let reference = e.facts.reference();
            let url = e.facts.link().map(str::to_owned);
            (
                e.kind.as_str().replace('_', " "),
                e.repo.clone(),
                reference,
                url,
            )
        }
        None => ("change".into(), String::new(), None, None),
    };
    let risk = card.risk.map_or("unknown", Risk::as_str);
    let image_alt = event
        .as_ref()
        .and_then(|e| covalynce_app::images::release_image(&card, e))
        .map(|i| i.alt());
    let card_id = card.id.to_string();
    let text = covalynce_publishing::preview::CardText {
        id: &card_id,
        title: &card.title,
        category: card.category.as_str(),
        variants: &card.variants,
        release_notes: &card.content,
        source: &card.source_key,
    };
    let sends: Vec<super::sends::SendVm> = covalynce_app::cards::previews(
        &card,
        event.as_ref().and_then(|e| e.facts.version()),
        channels,
    )
    .into_iter()
    .map(|(c, p)| {
        let json =
            covalynce_publishing::preview::payload(&c.config.settings, &c.id.to_string(), &text);
        super::sends::SendVm::of(c, p, json, active.when(c))
    })
    .collect();
    let sent: std::collections::BTreeSet<String> =
        covalynce_app::cards::texts_sent(&card, channels)
            .into_iter()
            .map(|(_, variant)| variant)
            .collect();
    let mut variants: Vec<VariantVm> = card
        .variants
        .into_iter()
        .filter(|(channel, _)| !sent.contains(channel))
        .map(|(channel, text)| {
            let posts = covalynce_drafting::thread::posts(&text);
            let threads = covalynce_drafting::Channel::parse(&channel).is_some_and(|c| c.threads());
            VariantVm {
                label: channel_label(&channel),
                thread: if threads && posts.len() > 1 {
                    posts
                } else {
                    Vec::new()
                },
                channel,
                text,
            }
        })
        .collect();
    // The fullest post first; the short ones after.
    variants.sort_by_key(|v| channel_rank(&v.channel));
    let shipped = event
        .as_ref()
        .map(|e| e.occurred_at.unwrap_or(e.created_at));
    let leak = card
        .risk_reasons
        .iter()
        .any(|r| r.starts_with(covalynce_cards::LEAK_REASON));
    Ok(CardVm {
        id: card.id.to_string(),
        title: card.title,
        category: card.category.as_str().to_owned(),
        status: card.status.as_str().to_owned(),
        risk,
        reasons: card.risk_reasons,
        kind,
        repo,
        reference,
        url,
        splits: sends.iter().any(|s| s.split),
        leak,
        rotated_by: card.secret_rotated_by,
        pick_label: match sends.as_slice() {
            [one] => one.name.clone(),
            [_, _] => "both channels".to_owned(),
            all => format!("all {} channels", all.len()),
        },
        sends,
        variants,
        when: super::page::When::at(shipped.unwrap_or(card.created_at)),
        when_label: if shipped.is_some() {
            "shipped"
        } else {
            "drafted"
        },
        category_help: match card.category {
            covalynce_domain::CardCategory::Mkt => "MKT: a post for your users and followers",
            covalynce_domain::CardCategory::Eng => {
                "ENG: for engineers: release notes, a team or changelog note"
            }
            covalynce_domain::CardCategory::Strategy => {
                "STRATEGY: a suggestion drawn from a pattern in recent work"
            }
        },
        red: card.risk == Some(Risk::Red),
        drafted_by: (card.drafted_by != "offline").then_some(card.drafted_by),
        draft_note: card.draft_note,
        first: false,
        image_alt,
    })
}

/// A message at the top of the stack after a form was sent without the script, with
/// undo when there is something to take back.
pub struct Flash {
    pub text: String,
    pub error: bool,
    pub undo: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "stack.html")]
struct StackPage {
    layout: Layout,
    csrf: String,
    cards: Vec<CardVm>,
    /// Every pending card, rendered or not.
    count: usize,
    /// Where the no-script "next" and "previous" links start the stack.
    next: usize,
    prev: usize,
    /// Ids of the pending cards not rendered, oldest first, for the script to fetch.
    more: String,
    flash: Option<Flash>,
    no_channels: bool,
    editor: bool,
    /// Cards the CI gate holds: not reviewable until CI for their commit is green.
    held: Vec<HeldVm>,
}

/// A held card as the stack lists it under "Waiting for CI".
pub struct HeldVm {
    pub title: String,
    pub repo: String,
    pub sha: String,
    /// "waiting for CI" or "CI failed: CI (failure)".
    pub state: String,
    pub failed: bool,
    /// The failing run (http(s) only).
    pub run_url: Option<String>,
}

impl HeldVm {
    fn of(card: &CardRecord) -> Self {
        let (repo, sha, state, failed, run_url) = match &card.gate {
            Some(g) => {
                let failed = g.state == covalynce_domain::GateState::Failed;
                let state = if failed {
                    format!(
                        "CI failed: {} ({})",
                        g.workflow.as_deref().unwrap_or_default(),
                        g.conclusion.as_deref().unwrap_or_default()
                    )
                } else {
                    "waiting for CI".into()
                };
                let run = g.run_link().map(str::to_owned);
                (
                    g.repo.clone(),
                    g.sha.chars().take(7).collect(),
                    state,
                    failed,
                    run,
                )
            }
            None => (
                String::new(),
                String::new(),
                "waiting for CI".into(),
                false,
                None,
            ),
        };
        Self {
            title: card.title.clone(),
            repo,
            sha,
            state,
            failed,
            run_url,
        }
    }
}

#[derive(Deserialize)]
pub struct StackQuery {
    /// approved | dismissed | restored | withdrawn | error
    done: Option<String>,
    card: Option<String>,
    message: Option<String>,
    /// Start the stack at this card (oldest = 0): "next" and "previous" without script.
    at: Option<usize>,
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(q): Query<StackQuery>,
) -> Result<Response, UiError> {
    let viewer = signed.acting_as::<covalynce_app::Viewer>()?;
    let mut pending = state
        .app()
        .cards(
            &viewer,
            &CardFilter {
                status: Some(CardStatus::Pending),
                before: None,
                limit: STACK_SIZE,
            },
        )
        .await?;
    pending.reverse();
    let count = pending.len();
    // Skipping round the stack: the cards before `at` go to its end.
    let at = q.at.unwrap_or(0) % count.max(1);
    pending.rotate_left(at);
    let more: Vec<String> = pending
        .iter()
        .skip(RENDERED)
        .map(|c| c.id.to_string())
        .collect();
    let active = active_channels(&state, &viewer).await?;
    let mut cards = Vec::with_capacity(RENDERED);
    for c in pending.into_iter().take(RENDERED) {
        cards.push(card_vm(&state, &viewer, c, &active).await?);
    }
    if let Some(first) = cards.first_mut() {
        first.first = true;
    }
    let held = state
        .app()
        .held_cards(&viewer)
        .await?
        .iter()
        .map(HeldVm::of)
        .collect();
    let flash = flash(&q);
    let page = StackPage {
        layout: signed.layout("review"),
        csrf: signed.session.csrf_token.clone(),
        count,
        next: (at + 1) % count.max(1),
        prev: (at + count.max(1) - 1) % count.max(1),
        more: more.join(" "),
        cards,
        flash,
        no_channels: active.channels.is_empty(),
        editor: signed.role >= covalynce_domain::Role::Editor,
        held,
    };
    Ok(render(&page))
}

/// The channels an approval goes to unless a person picks (the active ones), with when
/// each would post a card approved now.
pub struct Active {
    pub channels: Vec<ChannelRecord>,
    next: Vec<(covalynce_domain::ChannelId, covalynce_app::queue::NextSlot)>,
    zone: covalynce_domain::schedule::Zone,
}

impl Active {
    fn next(&self, channel: &ChannelRecord) -> covalynce_app::queue::NextSlot {
        self.next
            .iter()
            .find(|(id, _)| *id == channel.id)
            .map_or(covalynce_app::queue::NextSlot::AtOnce, |(_, n)| *n)
    }

    /// Its next free posting slot (in the workspace's zone), if it has slots.
    pub fn next_slot(&self, channel: &ChannelRecord) -> Option<String> {
        match self.next(channel) {
            covalynce_app::queue::NextSlot::At(at) => Some(self.zone.wall(at)),
            _ => None,
        }
    }

    /// When a card approved now would go out on `channel`, in words.
    pub fn when(&self, channel: &ChannelRecord) -> String {
        use covalynce_app::queue::NextSlot;
        match self.next(channel) {
            NextSlot::At(at) => format!("next free slot: {} ({})", self.zone.wall(at), self.zone.name()),
            NextSlot::AtOnce => "a few seconds after approval".to_owned(),
            NextSlot::Full => {
                "no free posting slot in the next year: add slots under Channels, or pick a time in the editor".to_owned()
            }
        }
    }
}

pub async fn active_channels(
    state: &AppState,
    who: &covalynce_app::Acting<covalynce_app::Viewer>,
) -> Result<Active, UiError> {
    let not_before = covalynce_domain::now_millis() + super::review::UNDO_WINDOW_MS;
    let next = state.app().next_slots(who, not_before).await?;
    Ok(Active {
        next: next.iter().map(|(c, n)| (c.id, *n)).collect(),
        channels: next.into_iter().map(|(c, _)| c).collect(),
        zone: who.workspace().time_zone.clone(),
    })
}

fn flash(q: &StackQuery) -> Option<Flash> {
    let card = q.card.as_deref().and_then(CardId::parse);
    let undo = card.map(|c| format!("/cards/{c}/undo"));
    match q.done.as_deref()? {
        "approved" => Some(Flash {
            text: "Approved: it goes out in a few seconds.".into(),
            error: false,
            undo,
        }),
        "dismissed" => Some(Flash {
            text: "Dismissed.".into(),
            error: false,
            undo,
        }),
        "restored" => Some(Flash {
            text: "The card is back in the stack.".into(),
            error: false,
            undo: None,
        }),
        "rotated" => Some(Flash {
            text: "Noted: the secret is rotated, and the card was judged again.".into(),
            error: false,
            undo: None,
        }),
        "error" => Some(Flash {
            text: q
                .message
                .clone()
                .unwrap_or_else(|| "That did not work.".into())
                .chars()
                .take(300)
                .collect(),
            error: true,
            undo: None,
        }),
        _ => None,
    }
}

#[derive(askama::Template)]
#[template(path = "card_fragment.html")]
pub struct CardFragment {
    pub csrf: String,
    pub card: CardVm,
    pub editor: bool,
}

/// One pending card's HTML, for the script to add to the stack live.
/// `GET /images/{workspace}/{card}/{signature}.png`: an approved release card's image,
/// without signing in, for platforms that show images by address (Slack). Any wrong part
/// is the same 404.
pub async fn shared_image(
    State(state): State<AppState>,
    Path((ws, card, file)): Path<(String, String, String)>,
) -> Response {
    let not_found = || (axum::http::StatusCode::NOT_FOUND, "no such image").into_response();
    let Some(signature) = file.strip_suffix(".png") else {
        return not_found();
    };
    match state
        .app()
        .shared_card_image(state.secrets(), &ws, &card, signature)
        .await
    {
        Ok(Some(png)) => (
            [
                (axum::http::header::CONTENT_TYPE, "image/png"),
                (axum::http::header::CACHE_CONTROL, "public, max-age=300"),
            ],
            png.bytes,
        )
            .into_response(),
        Ok(None) => not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "a shared image could not be read");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}

/// `GET /cards/{id}/image.png`: a release card's image, drawn from its text as it stands.
pub async fn image(
    State(state): State<AppState>,
    signed: Signed,
    PageId(card_id): PageId<CardId>,
) -> Result<Response, UiError> {
    let not_found = || {
        UiError::Page(
            axum::http::StatusCode::NOT_FOUND,
            "This card has no release image.".into(),
        )
    };
    let viewer = signed.acting_as::<covalynce_app::Viewer>()?;
    let png = state
        .app()
        .card_image(&viewer, card_id)
        .await?
        .ok_or_else(not_found)?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/png"),
            // Drawn from text a person may edit: never kept by anyone else.
            (axum::http::header::CACHE_CONTROL, "private, no-cache"),
        ],
        png.bytes,
    )
        .into_response())
}

pub async fn fragment(
    State(state): State<AppState>,
    signed: Signed,
    PageId(card_id): PageId<CardId>,
) -> Result<Response, UiError> {
    let html = fragment_html(&state, &signed, card_id).await?;
    Ok(axum::response::Html(html).into_response())
}

use axum::response::IntoResponse as _;

pub async fn fragment_html<R>(
    state: &AppState,
    signed: &Signed<R>,
    card_id: CardId,
) -> Result<String, UiError> {
    let viewer = signed.acting_as::<covalynce_app::Viewer>()?;
    let (card, _) = state
        .app()
        .card(&viewer, card_id)
        .await?
        .ok_or_else(super::page::no_such::<CardId>)?;
    let active = active_channels(state, &viewer).await?;
    let mut vm = card_vm(state, &viewer, card, &active).await?;
    vm.first = true;
    let fragment = CardFragment {
        csrf: signed.session.csrf_token.clone(),
        card: vm,
        editor: signed.role >= covalynce_domain::Role::Editor,
    };
    askama::Template::render(&fragment).map_err(|e| {
        tracing::error!(error = %e, "a card failed to render");
        UiError::Page(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "The card could not be shown.".into(),
        )
    })
}
