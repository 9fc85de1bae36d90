//! Release images: a release card's (and a public changelog entry's) 1200×630 PNG, made
//! from its notes as they stand, so an edited card shows its new text the next time its
//! image is asked for. Only cards about a release or tag have one.

use crate::{Acting, App, AppError, Viewer};
use covalynce_domain::{CardId, CardStatus, WorkspaceId};
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

/// The signature of a card's public image address: HMAC-SHA256 of the workspace and card
/// ids under a key derived from the server's secret key (never the key itself), so only
/// this server can make one and a card's address says nothing of another's.
fn link_mac(secrets: &crate::secrets::SecretBox, ws: WorkspaceId, card: CardId) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secrets.scope_key().as_bytes())
            .expect("HMAC takes keys of any size");
    mac.update(b"covalynce release image link v1\0");
    mac.update(format!("{ws}/{card}").as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// Where a card's release image is seen without signing in (a Slack image block fetches
/// it): `{public_url}/images/{workspace}/{card}/{signature}.png`.
pub fn public_link(
    secrets: &crate::secrets::SecretBox,
    public_url: &str,
    ws: WorkspaceId,
    card: CardId,
) -> String {
    format!(
        "{}/images/{ws}/{card}/{}.png",
        public_url.trim_end_matches('/'),
        link_mac(secrets, ws, card)
    )
}

/// A rendered image and its alt text.
pub struct Png {
    pub bytes: Vec<u8>,
    pub alt: String,
}

impl App {
    /// A card's release image by its signed public address; `None` (one answer for all)
    /// when the signature is wrong, or the card is not approved for publishing: what waits
    /// for review is not shown to anyone outside the workspace.
    pub async fn shared_card_image(
        &self,
        secrets: &crate::secrets::SecretBox,
        ws: &str,
        card: &str,
        signature: &str,
    ) -> Result<Option<Png>, AppError> {
        use subtle::ConstantTimeEq;
        let (Some(ws), Some(card)) = (WorkspaceId::parse(ws), CardId::parse(card)) else {
            return Ok(None);
        };
        let expected = link_mac(secrets, ws, card);
        if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
            return Ok(None);
        }
        let Some(record) = self.store().card(ws, card).await? else {
            return Ok(None);
        };
        if !matches!(
            record.status,
            CardStatus::Approved | CardStatus::Published | CardStatus::Partial
        ) {
            return Ok(None);
        }
        self.drawn(ws, &record).await
    }

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
        self.drawn(ws, &record).await
    }

    /// A card's release image, drawn off the async threads; `None` when the card is not
    /// about a release.
    async fn drawn(&self, ws: WorkspaceId, record: &CardRecord) -> Result<Option<Png>, AppError> {
        let event = match record.event_id {
            Some(e) => self.store().event(ws, e).await?,
            None => None,
        };
        let Some(image) = event.as_ref().and_then(|e| release_image(record, e)) else {
            return Ok(None);
        };
        let alt = image.alt();
        let bytes = tokio::task::spawn_blocking(move || render(&image))
            .await
            .unwrap_or_default();
        Ok(Some(Png { bytes, alt }))
    }
}
