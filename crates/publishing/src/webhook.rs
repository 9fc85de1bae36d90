//! Outgoing webhooks: an approved card POSTed as JSON to any URL (Zapier, n8n, your own
//! code), signed so the receiver can tell it came from this server and is fresh.
//!
//! Headers:
//! - `X-Covalynce-Event`: `card.published`, or `ping` for a channel test;
//! - `X-Covalynce-Delivery` and `Idempotency-Key`: the publication's key — the same on
//!   every retry, so a receiver keeps one copy by remembering keys it has seen;
//! - `X-Covalynce-Timestamp`: Unix seconds when it was signed;
//! - `X-Covalynce-Signature`: `sha256=` + hex HMAC-SHA256 with the channel's secret over
//!   `"{timestamp}.{body}"`. Receivers recompute it, compare in constant time and reject
//!   timestamps more than five minutes old (a replayed request).
//!
//! Any 2xx is success (a JSON answer with a `url` is recorded as the post's address);
//! 408, 429 and 5xx are retried (honouring `Retry-After`); other 4xx are final.

use crate::guard::Http;
use crate::platform::{Opening, Platform, mismatch};
use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelSecrets, ChannelSettings, Recovery};
use crate::{Failure, Post, Sent, retry_after, snippet};
use hmac::{KeyInit, Mac};
use reqwest::Url;
use serde_json::{Value, json};
use sha2::Sha256;

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes keys of any size");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The JSON a receiver gets for `post`'s `variant` (also what the review shows).
pub fn body(post: &Post<'_>, variant: &str, sent_at: i64) -> serde_json::Value {
    // The variant's posts, in order: one, or a thread's (X, Bluesky and Mastodon variants
    // separate a thread's posts with `---` lines), so a receiver need not split the text.
    // The variant actually sent (the one asked for, else the fallback), split as itself.
    let (variant, text) =
        crate::preview::pick(post.variants, variant).unwrap_or((variant, post.title));
    let posts: Vec<String> = match covalynce_drafting::Channel::parse(variant) {
        Some(c) if c.threads() => covalynce_drafting::thread::posts(text),
        _ => vec![text.to_owned()],
    };
    json!({
        "event": "card.published",
        "idempotency_key": post.idempotency_key,
        "channel_id": post.channel_id,
        "card": {
            "id": post.card_id,
            "title": post.title,
            "category": post.category,
            "text": text,
            "posts": posts,
            "variants": post.variants,
            "release_notes": post.release_notes,
            "source_id": post.source,
        },
        "sent_at": covalynce_domain::time::format_rfc3339(sent_at),
    })
}

pub async fn publish(
    http: &Http,
    url: &Url,
    secret: &[u8],
    variant: &str,
    post: &Post<'_>,
) -> Result<Sent, Failure> {
    let body = body(post, variant, covalynce_domain::now_millis());
    let answer = send(
        http,
        url,
        secret,
        "card.published",
        post.idempotency_key,
        &body,
    )
    .await?;
    Ok(Sent {
        url: answer["url"]
            .as_str()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .map(str::to_owned),
        pause_until: None,
        note: None,
    })
}

/// The channel test: a signed `ping` the receiver can answer with any 2xx.
pub async fn ping(
    http: &Http,
    url: &Url,
    secret: &[u8],
    channel_id: &str,
) -> Result<String, Failure> {
    let key = format!("ping-{}", covalynce_domain::now_millis());
    let body = json!({"event": "ping", "channel_id": channel_id, "idempotency_key": key});
    send(http, url, secret, "ping", &key, &body).await?;
    Ok(format!("sent a signed ping to {}", host(url)))
}

async fn send(
    http: &Http,
    url: &Url,
    secret: &[u8],
    event: &str,
    key: &str,
    body: &Value,
) -> Result<Value, Failure> {
    let bytes = serde_json::to_vec(body).expect("JSON values serialise");
    let timestamp = covalynce_domain::now_millis() / 1000;
    let where_ = host(url);
    let request = http
        .post(url)
        .map_err(|r| Failure::broken(r.0))?
        .header("content-type", "application/json")
        .header("x-covalynce-event", event)
        .header("x-covalynce-delivery", key)
        .header("idempotency-key", key)
        .header("x-covalynce-timestamp", timestamp.to_string())
        .header("x-covalynce-signature", sign(secret, timestamp, &bytes))
        .body(bytes);
    let response = match request.send().await {
        Ok(r) => r,
        // The receiver deduplicates by key, so even a request that may have arrived is
        // safe to send again.
        Err(e) => {
            return Err(Failure::unanswered(e, &where_));
        }
    };
    let status = response.status().as_u16();
    let wait = retry_after(response.headers());
    let text = response.text().await.unwrap_or_default();
    match status {
        200..=299 => Ok(serde_json::from_str(&text).unwrap_or_default()),
        408 | 429 | 500..=599 => Err(Failure::retry(
            format!("{where_} answered {status} {}", snippet(&text))
                .trim_end()
                .to_owned(),
            wait,
        )),
        404 | 410 => Err(Failure::broken(format!(
            "{where_} answered {status} {}: is the webhook URL still right?",
            snippet(&text)
        ))),
        _ => Err(Failure::permanent(
            format!("{where_} refused the request ({status} {})", snippet(&text))
                .replace(" )", ")"),
        )),
    }
}

/// The host, for messages: the path of a webhook URL can be a credential.
fn host(url: &Url) -> String {
    url.host_str().unwrap_or("the webhook").to_owned()
}

/// A webhook channel, opened.
#[derive(Clone)]
pub struct Webhook {
    url: Url,
    secret: Vec<u8>,
    variant: String,
}

impl Platform for Webhook {
    // Receivers are told to deduplicate by the key (`Idempotency-Key`, `X-Covalynce-Delivery`).
    const RECOVERY: Recovery = Recovery::Replay;
    const REPLAY_NOTE: &'static str = "sent again after Covalynce stopped mid-send, with the same Idempotency-Key: the receiver may have seen it twice and should drop the repeat";

    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        _: &Opening<'_>,
    ) -> Result<Self, String> {
        let (ChannelSettings::Webhook(w), ChannelSecrets::Webhook(s)) = (&config.settings, secrets)
        else {
            return Err(mismatch(config, secrets));
        };
        Ok(Webhook {
            url: crate::platform::url(config.kind(), &w.url, "url")?,
            secret: s.secret.clone().into_bytes(),
            variant: w.variant.clone(),
        })
    }

    async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        publish(http, &self.url, &self.secret, &self.variant, post).await
    }

    async fn test(&self, http: &Http, channel_id: &str) -> Result<String, Failure> {
        ping(http, &self.url, &self.secret, channel_id).await
    }

    /// A receiver gets a threading variant's posts split out, as `posts`.
    fn preview(settings: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String> {
        let (variant, text) = crate::preview::text(settings, card)?;
        let posts = match covalynce_drafting::Channel::parse(variant) {
            Some(c) if c.threads() => covalynce_drafting::thread::posts(text),
            _ => vec![text.to_owned()],
        };
        Ok(Preview::posts(variant, posts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        let a = sign(b"secret", 1_700_000_000, b"{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(a, sign(b"secret", 1_700_000_001, b"{}"));
        assert_ne!(a, sign(b"other", 1_700_000_000, b"{}"));
        assert_ne!(a, sign(b"secret", 1_700_000_000, b"{ }"));
    }
}
