//! Release images: a release card's (and a public changelog entry's) 1200×630 PNG, made
//! from its notes as they stand, so an edited card shows its new text the next time its
//! image is asked for. Only cards about a release or tag have one.

use crate::{Acting, App, AppError, Viewer};
use covalynce_domain::CardId;
use covalynce_publishing::image::{ReleaseImage, render};
use covalynce_storage::{CardRecord, EventRecord};

/// The project's own name for an event: its manifest's, else the repository's name.
pub fn project_of(event: &EventRecord) -> String {
    event.facts.project.project_name.clone().unwrap_or_else(|| {
        event
            .repo
            .rsplit('/')
            .next()
            .unwrap_or(&event.repo)
            .to_owned()
    })
}

/// What a release card's image says; `None` for cards that are not about a release.
pub fn release_image(card: &CardRecord, event: &EventRecord) -> Option<ReleaseImage> {
    let version = event.facts.version()?;
    let link = event
        .facts
        .links()
        .into_iter()
        .rev()
        .find(|u| u.starts_with("https://") || u.starts_with("http://"));
    // The posts' headline leads the image too.
    let lead = ["linkedin", "x", "mastodon", "bluesky"]
        .iter()
        .find_map(|v| card.variants.get(*v))
        .and_then(|t| t.lines().find(|l| !l.trim().is_empty()));
    Some(ReleaseImage::led_by(
        &project_of(event),
        version,
        &card.content,
        link,
        lead,
    ))
}

/// A rendered image and its alt text.
pub struct Png {
    pub bytes: Vec<u8>,
    pub alt: String,
}

impl App {
    /// A card's release image, for anyone in its workspace; `None` when the card is not
    /// about a release.
    pub async fn card_image(
        &self,
        who: &Acting<Viewer>,
        card: CardId,
    ) -> Result<Option<Png>, AppError> {
        let ws = who.workspace().id;
        let Some(record) = self.store().card(ws, card).await? else {
            return Err(AppError::NotFound(format!(
                "there is no card \"{card}\" in this workspace"
            )));
        };
        let event = match record.event_id {
            Some(e) => self.store().event(ws, e).await?,
            None => None,
        };
        Ok(event
            .as_ref()
            .and_then(|e| release_image(&record, e))
            .map(|image| Png {
                alt: image.alt(),
                bytes: render(&image),
            }))
    }
}
