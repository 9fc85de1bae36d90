//! Slack incoming webhooks: `POST {"text": …}` to the webhook URL (the URL is the secret).
//! Success is 200 with the body `ok`; errors are plain-text codes (`invalid_payload`,
//! `channel_not_found`, `no_service`, `channel_is_archived`, …) and 429 with `Retry-After`.
//! Incoming webhooks take no idempotency key and cannot be read back, so a request that may
//! have arrived is never sent again without a person (see [`crate::Recovery`]).

use crate::guard::Http;
use crate::platform::{Look, Opening, Platform, mismatch};
use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelSecrets, ChannelSettings, Post, Recovery};
use crate::{Failure, Sent, retry_after, snippet};
use reqwest::Url;

/// Slack shows at most about 40,000 characters of `text`; longer is refused before sending.
pub const MAX_TEXT: usize = 40_000;

/// Whether Slack takes `text`; why not, otherwise.
pub fn check(text: &str) -> Result<(), String> {
    let n = text.chars().count();
    if n > MAX_TEXT {
        return Err(format!(
            "the Slack text is {n} characters; Slack takes at most {MAX_TEXT}"
        ));
    }
    Ok(())
}

/// Sends `text`; with an image that has a public address, the message is the text in a
/// section block and the image in an image block (incoming webhooks take no files, so
/// without an address the message goes as text).
pub async fn publish(
    http: &Http,
    url: &Url,
    text: &str,
    image: Option<crate::PostImage<'_>>,
) -> Result<Sent, Failure> {
    check(text).map_err(Failure::permanent)?;
    let mut body = serde_json::json!({ "text": escape(text) });
    if let Some((address, alt)) = image.and_then(|i| i.url.map(|u| (u, i.alt))) {
        // A section's text takes 3,000 characters; a longer message stays text only.
        if text.chars().count() <= 3000 {
            body["blocks"] = serde_json::json!([
                { "type": "section", "text": { "type": "mrkdwn", "text": escape(text) } },
                { "type": "image", "image_url": address, "alt_text": alt.chars().take(2000).collect::<String>() },
            ]);
        }
    }
    let request = http
        .post(url)
        .map_err(|r| Failure::broken(r.0))?
        .json(&body);
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            return Err(Failure::unanswered_post(
                e,
                "Slack",
                "the message may or may not be in the Slack channel: check it",
            ));
        }
    };
    let status = response.status().as_u16();
    let wait = retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    let code = snippet(&body);
    match status {
        200..=299 => Ok(Sent::default()),
        429 => Err(Failure::retry(
            "Slack is rate limiting this webhook (429)",
            wait,
        )),
        500..=599 => Err(Failure::retry(
            format!("Slack had an internal error ({status} {code})"),
            wait,
        )),
        _ => Err(refusal(status, &code)),
    }
}

/// What Slack's error codes mean for the person fixing them.
fn refusal(status: u16, code: &str) -> Failure {
    match code {
        "no_service" => Failure::broken(
            "Slack says this incoming webhook no longer exists (no_service): it was removed or its app uninstalled; create a new incoming webhook and update the channel",
        ),
        "channel_not_found" => Failure::broken(
            "Slack cannot find the webhook's channel (channel_not_found): it was deleted or the app lost access; create a new incoming webhook",
        ),
        "channel_is_archived" => Failure::broken(
            "the Slack channel is archived (channel_is_archived): unarchive it or create a webhook for another channel",
        ),
        "invalid_token" | "action_prohibited" => Failure::broken(format!(
            "Slack refused the webhook ({code}): an admin may have restricted it; create a new incoming webhook"
        )),
        "invalid_payload" | "no_text" | "invalid_blocks" | "too_many_attachments" => {
            Failure::permanent(format!("Slack rejected the message ({code})"))
        }
        "" => Failure::permanent(format!("Slack refused the message ({status})")),
        other => Failure::permanent(format!("Slack refused the message ({status} {other})")),
    }
}

/// Slack reads `&`, `<` and `>` as markup (links, mentions): escaped, they show as typed,
/// so a draft cannot ping `<!channel>` by accident.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Slack channel, opened: its incoming webhook's URL (a credential).
#[derive(Clone)]
pub struct Slack {
    url: Url,
}

impl Platform for Slack {
    // Incoming webhooks take no key and cannot be read back.
    const RECOVERY: Recovery = Recovery::AskAPerson;
    const TAKES_MEDIA: bool = true;
    const LOOK: Look = Look::SlackMrkdwn;

    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        _: &Opening<'_>,
    ) -> Result<Self, String> {
        let (ChannelSettings::Slack(_), ChannelSecrets::Slack(s)) = (&config.settings, secrets)
        else {
            return Err(mismatch(config, secrets));
        };
        Ok(Slack {
            url: crate::platform::url(config.kind(), &s.url, "url")?,
        })
    }

    async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        publish(http, &self.url, post.text_for("slack"), post.image).await
    }

    async fn test(&self, http: &Http, _: &str) -> Result<String, Failure> {
        publish(http, &self.url, crate::platform::TEST_MESSAGE, None)
            .await
            .map(|_| "sent a test message to Slack".to_owned())
    }

    fn preview(settings: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String> {
        let (variant, text) = crate::preview::text(settings, card)?;
        check(text)?;
        Ok(Preview::one(variant, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped_so_posts_show_as_written() {
        assert_eq!(
            escape("a <!channel> & b > c"),
            "a &lt;!channel&gt; &amp; b &gt; c"
        );
    }

    #[test]
    fn slack_error_codes_become_messages_a_person_can_act_on() {
        let broken = |f: Failure| {
            matches!(
                f,
                Failure::Permanent {
                    channel_broken: true,
                    ..
                }
            )
        };
        assert!(broken(refusal(404, "no_service")));
        assert!(broken(refusal(404, "channel_not_found")));
        assert!(broken(refusal(410, "channel_is_archived")));
        assert!(broken(refusal(403, "action_prohibited")));
        let invalid = refusal(400, "invalid_payload");
        assert!(!broken(invalid.clone()));
        assert!(invalid.to_string().contains("invalid_payload"));
    }
}
