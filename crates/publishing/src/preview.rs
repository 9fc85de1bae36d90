//! What a channel will send for a card, before anything is sent: which drafted text it
//! takes, and the posts that text becomes there (a thread, X's links reply), or why the
//! platform would refuse it. The review shows this and approval checks it with the same
//! functions the publishers send with, so what a person approves is what goes out.

use crate::ChannelSettings;
use std::collections::BTreeMap;

/// One channel's post for one card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The drafted variant (`x`, `linkedin`, …) the channel sends.
    pub variant: String,
    /// What goes out, post by post (one for a plain post).
    pub posts: Vec<String>,
    /// One written text that the channel itself cuts into a thread (an X channel that
    /// posts threads, given a text over 280): a person confirms that before approving.
    pub split: bool,
}

/// What a card has drafted, as a channel sends from it.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'a> {
    pub variants: &'a BTreeMap<String, String>,
    /// The release notes (markdown).
    pub release_notes: &'a str,
    /// The release's tag, when the card is about one.
    pub version: Option<&'a str>,
}

/// A card as a preview of the outbox line or the webhook body needs it.
pub struct CardText<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub category: &'a str,
    pub variants: &'a BTreeMap<String, String>,
    pub release_notes: &'a str,
    pub source: &'a str,
}

/// Nothing is recorded while previewing.
struct NoProgress;

impl crate::Progress for NoProgress {
    fn sent(&self) -> Vec<crate::SentPost> {
        Vec::new()
    }

    fn record<'a>(
        &'a self,
        _: &'a [crate::SentPost],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async { Ok(()) })
    }
}

/// The JSON an outbox or webhook channel will write for `card` (the idempotency key and
/// the time are the publication's, set when it goes out); `None` for the platforms.
pub fn payload(
    settings: &ChannelSettings,
    channel_id: &str,
    card: &CardText<'_>,
) -> Option<serde_json::Value> {
    let post = crate::Post {
        publication_id: "",
        card_id: card.id,
        channel_id,
        idempotency_key: "(set when approved)",
        title: card.title,
        category: card.category,
        variants: card.variants,
        release_notes: card.release_notes,
        source: card.source,
        release: None,
        image: None,
        progress: &NoProgress,
    };
    let now = covalynce_domain::now_millis();
    match settings {
        ChannelSettings::Outbox(s) => Some(crate::outbox::line(&post, &s.variant, now)),
        ChannelSettings::Webhook(s) => Some(crate::webhook::body(&post, &s.variant, now)),
        _ => None,
    }
}

/// The text drafted for `wanted`, else LinkedIn's (the fullest), else any: (its variant,
/// the text). `None` only for a card with no text at all.
pub fn pick<'a>(
    variants: &'a BTreeMap<String, String>,
    wanted: &str,
) -> Option<(&'a str, &'a str)> {
    variants
        .get_key_value(wanted)
        .or_else(|| variants.get_key_value("linkedin"))
        .or_else(|| variants.iter().next())
        .map(|(k, v)| (k.as_str(), v.as_str()))
}

/// The variant a channel of these settings asks for.
pub fn wanted(settings: &ChannelSettings) -> &str {
    match settings {
        ChannelSettings::Outbox(s) => &s.variant,
        ChannelSettings::Webhook(s) => &s.variant,
        other => other.kind().as_str(),
    }
}

/// What a channel with `settings` sends for `card`; `Err` says why the platform would
/// refuse it (too long, a thread too long, not a release), in words a person can act on.
/// Each kind's own [`crate::platform::Platform::preview`] answers.
pub fn preview(settings: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String> {
    crate::platform::preview(settings, card)
}

/// The text a channel with `settings` sends from `card`: (its variant, the text).
pub(crate) fn text<'a>(
    settings: &'a ChannelSettings,
    card: &Draft<'a>,
) -> Result<(&'a str, &'a str), String> {
    pick(card.variants, wanted(settings)).ok_or_else(|| "the card has no text".to_owned())
}

impl Preview {
    /// `text`, sent whole as one post.
    pub(crate) fn one(variant: &str, text: &str) -> Self {
        Self::posts(variant, vec![text.to_owned()])
    }

    /// `posts`, as written.
    pub(crate) fn posts(variant: &str, posts: Vec<String>) -> Self {
        Preview {
            variant: variant.to_owned(),
            posts,
            split: false,
        }
    }

    /// The card's release notes, whole (the changelog, GitHub Releases).
    pub(crate) fn release_notes(card: &Draft<'_>) -> Self {
        Self::one("release_notes", card.release_notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x;
    use covalynce_domain::channel::{MastodonSettings, OutboxSettings, XSettings};

    /// `preview` of a card with only these texts.
    fn preview(
        settings: &ChannelSettings,
        variants: &BTreeMap<String, String>,
    ) -> Result<Preview, String> {
        super::preview(
            settings,
            &Draft {
                variants,
                release_notes: "",
                version: None,
            },
        )
    }

    fn variants(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn x_channel(thread: bool) -> ChannelSettings {
        ChannelSettings::X(XSettings {
            api_base: x::API_BASE.into(),
            account: Some("ada".into()),
            user_id: None,
            expires_at: None,
            client_id: None,
            renewable: false,
            thread,
            link_in_reply: false,
        })
    }

    #[test]
    fn an_outbox_sends_the_variant_it_names_and_nothing_is_guessed() {
        let outbox = ChannelSettings::Outbox(OutboxSettings {
            file: None,
            variant: "x".into(),
            path: None,
        });
        let card = variants(&[("x", "short"), ("linkedin", "long")]);
        let p = preview(&outbox, &card).unwrap();
        assert_eq!(
            (p.variant.as_str(), p.posts),
            ("x", vec!["short".to_owned()])
        );
    }

    #[test]
    fn a_long_x_text_is_a_thread_the_person_must_confirm_or_a_refusal() {
        let long = format!("{} {}", "word ".repeat(50), "more. ".repeat(20));
        let card = variants(&[("x", &long)]);
        let threaded = preview(&x_channel(true), &card).unwrap();
        assert!(threaded.split, "cut by the channel: {threaded:?}");
        assert!(threaded.posts.len() >= 2, "{threaded:?}");
        let refused = preview(&x_channel(false), &card).unwrap_err();
        assert!(refused.contains("X takes 280"), "{refused}");
        // A thread written as one goes out as written: nothing to confirm.
        let written = variants(&[("x", "first post\n---\nsecond post")]);
        let p = preview(&x_channel(false), &written).unwrap();
        assert_eq!(p.posts, vec!["first post", "second post"]);
        assert!(!p.split);
    }

    #[test]
    fn every_platform_that_refuses_a_length_is_checked_before_approval() {
        let linkedin = ChannelSettings::Linkedin(covalynce_domain::channel::LinkedinSettings {
            api_base: "https://api.linkedin.com".into(),
            author: "urn:li:person:1".into(),
            account: None,
            expires_at: None,
            renewable: false,
            client_id: None,
            web_base: None,
            refresh_expires_at: None,
        });
        let long = "a".repeat(3001);
        let why = preview(&linkedin, &variants(&[("linkedin", &long)])).unwrap_err();
        assert!(why.contains("at most 3000"), "{why}");
        let webhook = ChannelSettings::Webhook(covalynce_domain::channel::WebhookSettings {
            url: "https://example.com/in".into(),
            variant: "x".into(),
        });
        let p = preview(&webhook, &variants(&[("x", "one\n---\ntwo")])).unwrap();
        assert_eq!(
            p.posts,
            vec!["one", "two"],
            "a receiver gets the posts split out"
        );
    }

    #[test]
    fn mastodon_counts_as_the_instance_does() {
        let small = ChannelSettings::Mastodon(MastodonSettings {
            instance: "https://example.social".into(),
            account: "ada".into(),
            max_characters: 20,
            characters_reserved_per_url: 23,
        });
        let card = variants(&[("mastodon", "twenty-one characters")]);
        let why = preview(&small, &card).unwrap_err();
        assert!(why.contains("it allows 20"), "{why}");
    }
}
