//! Server-sent events for the open stack: the id of each card that becomes pending, so
//! the page adds it without a reload.
//!
//! Each stream polls its workspace's pending cards rather than listening to this process:
//! with several replicas a card may be drafted by another one. It ends after a while and
//! the browser reconnects, which also checks the session again.

use super::page::Signed;
use crate::http::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use covalynce_domain::CardStatus;
use covalynce_storage::CardFilter;
use futures_util::stream::{self, Stream};
use std::collections::HashSet;
use std::convert::Infallible;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_secs(2);
const LIFETIME: Duration = Duration::from_secs(600);

pub async fn events(
    State(state): State<AppState>,
    signed: Signed,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    struct Cursor {
        state: AppState,
        who: Option<covalynce_app::Acting<covalynce_app::Viewer>>,
        seen: HashSet<String>,
        queue: Vec<String>,
        started: Instant,
        first: bool,
    }
    let cursor = Cursor {
        state,
        // A session that cannot act ends the stream; the browser reconnects and is told.
        who: signed.acting().ok(),
        seen: HashSet::new(),
        queue: Vec::new(),
        started: Instant::now(),
        first: true,
    };
    let events = stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(id) = c.queue.pop() {
                return Some((Ok(Event::default().event("card").data(id)), c));
            }
            if c.started.elapsed() > LIFETIME {
                return None;
            }
            if !c.first {
                tokio::time::sleep(POLL).await;
            }
            c.first = false;
            let who = c.who.as_ref()?;
            let pending = c
                .state
                .app()
                .cards(
                    who,
                    &CardFilter {
                        status: Some(CardStatus::Pending),
                        before: None,
                        limit: 100,
                    },
                )
                .await;
            match pending {
                // Newest first from the store; `pop` then sends the oldest first.
                Ok(cards) => {
                    for card in cards {
                        let id = card.id.to_string();
                        if c.seen.insert(id.clone()) {
                            c.queue.push(id);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the card stream could not read cards"),
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
