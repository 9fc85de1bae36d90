//! Discord webhooks: `POST {webhook}?wait=true` with `content` (at most 2000 characters)
//! and `allowed_mentions: {"parse": []}`, so a draft never pings @everyone or a role.
//! `wait=true` makes Discord answer with the message (200) instead of 204, so a message
//! Discord did not save is an error, not a silent success. Rate limits come as
//! `X-RateLimit-Remaining` / `X-RateLimit-Reset-After` on every answer and as 429 with
//! `retry_after` in the body; a 404 (unknown webhook) is never retried — Discord bans IPs
//! that keep sending invalid requests.

use crate::guard::Http;
use crate::platform::{Look, Opening, Platform, mismatch};
use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelSecrets, ChannelSettings, Post, Recovery};
use crate::{Failure, Sent, retry_after, snippet};
use reqwest::Url;
use std::time::Duration;

pub const MAX_CONTENT: usize = 2000;

/// Whether Discord takes `text` as one message; why not, otherwise.
pub fn check(text: &str) -> Result<(), String> {
    let length = text.chars().count();
    if length > MAX_CONTENT {
        return Err(format!(
            "the Discord text is {length} characters; Discord takes at most {MAX_CONTENT}: edit the card's discord variant"
        ));
    }
    Ok(())
}

/// Sends `text` as one message; with `image`, the image goes as the message's attachment
/// (`files[0]`, its description the alt text), in the same request.
pub async fn publish(
    http: &Http,
    url: &Url,
    text: &str,
    image: Option<crate::PostImage<'_>>,
) -> Result<Sent, Failure> {
    check(text).map_err(Failure::permanent)?;
    let mut url = url.clone();
    url.query_pairs_mut().append_pair("wait", "true");
    let mut payload = serde_json::json!({
        "content": text,
        "allowed_mentions": { "parse": [] },
    });
    let request = http.post(&url).map_err(|r| Failure::broken(r.0))?;
    let request = match image {
        None => request.json(&payload),
        Some(image) => {
            // Discord takes up to 1,024 characters of an attachment's description.
            let alt: String = image.alt.chars().take(1024).collect();
            payload["attachments"] =
                serde_json::json!([{ "id": 0, "filename": "release.png", "description": alt }]);
            let json = payload.to_string();
            let (content_type, body) = crate::multipart(&[
                crate::Part {
                    name: "payload_json",
                    filename: None,
                    content_type: "application/json",
                    bytes: json.as_bytes(),
                },
                crate::Part {
                    name: "files[0]",
                    filename: Some("release.png"),
                    content_type: "image/png",
                    bytes: image.png,
                },
            ]);
            request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body)
        }
    };
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            return Err(Failure::unanswered_post(
                e,
                "Discord",
                "the message may or may not be in the Discord channel: check it",
            ));
        }
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    match status {
        200..=299 => Ok(Sent {
            url: message_url(&json),
            pause_until: spent_until(&headers),
            note: None,
        }),
        429 => {
            let wait = json["retry_after"]
                .as_f64()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| Duration::from_secs_f64(s.min(86_400.0)))
                .or_else(|| retry_after(&headers));
            let scope = if json["global"].as_bool() == Some(true) {
                "globally"
            } else {
                "this webhook"
            };
            Err(Failure::retry(
                format!("Discord is rate limiting {scope} (429)"),
                wait,
            ))
        }
        500..=599 => Err(Failure::retry(
            format!("Discord had an internal error ({status})"),
            retry_after(&headers),
        )),
        _ => Err(refusal(status, &json, &body)),
    }
}

fn refusal(status: u16, json: &serde_json::Value, body: &str) -> Failure {
    let said = match (json["message"].as_str(), json["code"].as_i64()) {
        (Some(m), Some(c)) => format!("{m} (code {c})"),
        (Some(m), None) => m.to_owned(),
        _ => snippet(body),
    };
    match status {
        404 => Failure::broken(format!(
            "Discord says the webhook does not exist ({said}): it was deleted; create a new webhook and update the channel"
        )),
        401 | 403 => Failure::broken(format!(
            "Discord refused the webhook ({status}: {said}); create a new webhook"
        )),
        _ => Failure::permanent(format!("Discord rejected the message ({status}: {said})")),
    }
}

/// Where the message can be seen in the Discord app (`@me` stands in for the server when
/// the answer does not name it).
fn message_url(message: &serde_json::Value) -> Option<String> {
    let id = message["id"].as_str()?;
    let channel = message["channel_id"].as_str()?;
    let guild = message["guild_id"].as_str().unwrap_or("@me");
    Some(format!(
        "https://discord.com/channels/{guild}/{channel}/{id}"
    ))
}

/// When the bucket is empty (`X-RateLimit-Remaining: 0`), the time it refills.
fn spent_until(headers: &reqwest::header::HeaderMap) -> Option<i64> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("x-ratelimit-remaining")?.trim() != "0" {
        return None;
    }
    let after: f64 = header("x-ratelimit-reset-after")?.trim().parse().ok()?;
    (after.is_finite() && after >= 0.0)
        .then(|| covalynce_domain::now_millis() + (after.min(86_400.0) * 1000.0).ceil() as i64)
}

/// A Discord channel, opened: its incoming webhook's URL (a credential).
#[derive(Clone)]
pub struct Discord {
    url: Url,
}

impl Platform for Discord {
    // Incoming webhooks take no key and cannot be read back.
    const RECOVERY: Recovery = Recovery::AskAPerson;
    const TAKES_MEDIA: bool = true;
    const LOOK: Look = Look::DiscordMarkdown;

    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        _: &Opening<'_>,
    ) -> Result<Self, String> {
        let (ChannelSettings::Discord(_), ChannelSecrets::Discord(s)) = (&config.settings, secrets)
        else {
            return Err(mismatch(config, secrets));
        };
        Ok(Discord {
            url: crate::platform::url(config.kind(), &s.url, "url")?,
        })
    }

    async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        publish(http, &self.url, post.text_for("discord"), post.image).await
    }

    async fn test(&self, http: &Http, _: &str) -> Result<String, Failure> {
        publish(http, &self.url, crate::platform::TEST_MESSAGE, None)
            .await
            .map(|_| "sent a test message to Discord".to_owned())
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
    fn an_empty_rate_limit_bucket_pauses_the_channel_until_it_refills() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-ratelimit-remaining", "1".parse().unwrap());
        h.insert("x-ratelimit-reset-after", "2.5".parse().unwrap());
        assert_eq!(spent_until(&h), None);
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        let until = spent_until(&h).unwrap() - covalynce_domain::now_millis();
        assert!((2400..=2600).contains(&until), "{until}");
    }

    #[test]
    fn a_missing_webhook_breaks_the_channel_and_says_so() {
        let f = refusal(
            404,
            &serde_json::json!({"message": "Unknown Webhook", "code": 10015}),
            "",
        );
        assert!(matches!(
            f,
            Failure::Permanent {
                channel_broken: true,
                ..
            }
        ));
        assert!(f.to_string().contains("Unknown Webhook (code 10015)"));
        let f = refusal(
            400,
            &serde_json::json!({"message": "Invalid Form Body", "code": 50035}),
            "",
        );
        assert!(matches!(
            f,
            Failure::Permanent {
                channel_broken: false,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn text_over_2000_characters_is_refused_before_anything_is_sent() {
        // Nothing listens on port 9 of loopback: a request would fail differently.
        let http = Http::new(true, Duration::from_secs(1));
        let url = Url::parse("http://127.0.0.1:9/api/webhooks/1/t").unwrap();
        let f = publish(&http, &url, &"é".repeat(2001), None)
            .await
            .unwrap_err();
        assert!(matches!(
            f,
            Failure::Permanent {
                channel_broken: false,
                ..
            }
        ));
        assert!(f.to_string().contains("2001 characters"), "{f}");
        let f = publish(&http, &url, &"é".repeat(2000), None)
            .await
            .unwrap_err();
        assert!(matches!(f, Failure::Retry { .. }), "2000 is allowed: {f}");
    }

    #[test]
    fn message_links_name_the_server_when_discord_does() {
        let m = serde_json::json!({"id": "3", "channel_id": "2", "guild_id": "1"});
        assert_eq!(
            message_url(&m).unwrap(),
            "https://discord.com/channels/1/2/3"
        );
    }
}
