//! Mastodon: `POST {instance}/api/v1/statuses` with a user access token (scope
//! `write:statuses`) and an `Idempotency-Key` the server keeps for an hour, so a request
//! that may have arrived can be sent again safely (see [`crate::Recovery`]).
//!
//! Limits come from the instance (`GET /api/v2/instance`: `max_characters`, 500 by
//! default; `characters_reserved_per_url`, 23). Errors are `{"error": "…"}`: 401 the token
//! is invalid or revoked, 422 validation (too long, blank), 429 with `X-RateLimit-Reset`
//! (an ISO 8601 time).

use crate::guard::{Http, SendError};
use crate::platform::{Look, Opening, Platform, mismatch};
use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelSecrets, ChannelSettings, Post, Recovery};
use crate::{Failure, Sent, SentPost, snippet};
use reqwest::Url;
use serde_json::Value;
use std::time::Duration;

/// What connecting learns about an account and its instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// `user@instance.example`.
    pub acct: String,
    pub max_characters: usize,
    pub characters_reserved_per_url: usize,
}

fn endpoint(instance: &Url, path: &str) -> Result<Url, Failure> {
    instance
        .join(path)
        .map_err(|e| Failure::broken(format!("the Mastodon instance URL is invalid: {e}")))
}

fn send_failure(e: reqwest::Error, idempotent: bool) -> Failure {
    match SendError::from_reqwest(e, "Mastodon") {
        SendError::Refused(m) => Failure::broken(m),
        SendError::NotSent(m) => Failure::retry(m, None),
        // The Idempotency-Key makes sending again harmless: Mastodon answers a repeat
        // with the status it already made.
        SendError::MaybeSent(m) if idempotent => Failure::retry(m, None),
        SendError::MaybeSent(m) => Failure::Unknown { message: m },
    }
}

/// The error Mastodon gave, in its words.
fn error_of(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| snippet(body))
}

/// `X-RateLimit-Reset` as Unix ms, when the budget is spent.
fn reset_at(headers: &reqwest::header::HeaderMap) -> Option<i64> {
    let remaining: i64 = headers
        .get("x-ratelimit-remaining")?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    if remaining > 0 {
        return None;
    }
    let reset = headers.get("x-ratelimit-reset")?.to_str().ok()?;
    covalynce_domain::time::parse_rfc3339_millis(reset.trim())
}

/// Who the token belongs to and what the instance allows: checked when a channel is
/// connected and by "send test".
pub async fn account(http: &Http, instance: &Url, token: &str) -> Result<Account, Failure> {
    let get = |path: &str| -> Result<reqwest::RequestBuilder, Failure> {
        let url = endpoint(instance, path)?;
        http.get(&url).map_err(|r| Failure::broken(r.0))
    };
    let me = get("/api/v1/accounts/verify_credentials")?
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| send_failure(e, true))?;
    let status = me.status().as_u16();
    let body = me.text().await.unwrap_or_default();
    match status {
        200 => {}
        401 | 403 => {
            return Err(Failure::broken(format!(
                "Mastodon refused the access token ({}); create a new one with the write:statuses scope",
                error_of(&body)
            )));
        }
        _ => {
            return Err(Failure::retry(
                format!("Mastodon answered {status}: {}", error_of(&body)),
                None,
            ));
        }
    }
    let me: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let host = instance.host_str().unwrap_or_default();
    let acct = match me["acct"].as_str() {
        Some(a) if a.contains('@') => a.to_owned(),
        Some(a) => format!("{a}@{host}"),
        None => return Err(Failure::permanent("Mastodon's answer names no account")),
    };
    // Older servers have no v2 instance: the documented defaults apply.
    let limits: Value = match get("/api/v2/instance")?.send().await {
        Ok(r) if r.status().is_success() => r.json().await.unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let statuses = &limits["configuration"]["statuses"];
    Ok(Account {
        acct,
        max_characters: statuses["max_characters"].as_u64().unwrap_or(500) as usize,
        characters_reserved_per_url: statuses["characters_reserved_per_url"]
            .as_u64()
            .unwrap_or(23) as usize,
    })
}

/// Length as this instance counts it: code points, every URL as `per_url`.
pub fn length(text: &str, per_url: usize) -> usize {
    let mut total = 0;
    for word in text.split_inclusive(char::is_whitespace) {
        let trimmed = word.trim_end();
        if trimmed.starts_with("https://") || trimmed.starts_with("http://") {
            total += per_url + (word.chars().count() - trimmed.chars().count());
        } else {
            total += word.chars().count();
        }
    }
    total
}

/// The statuses `text` becomes (one, or a thread's posts between `---` lines), each within
/// the instance's limit; why not, otherwise. What is sent and what the review shows.
pub fn posts(text: &str, limits: &Limits) -> Result<Vec<String>, String> {
    let posts = covalynce_drafting::thread::posts(text);
    let total = posts.len();
    for (n, p) in posts.iter().enumerate() {
        let len = length(p, limits.per_url);
        if len > limits.max_characters {
            let which = if total > 1 {
                format!("post {} of the thread", n + 1)
            } else {
                "the post".to_owned()
            };
            return Err(format!(
                "{which} is {len} characters as this Mastodon instance counts them; it allows {}",
                limits.max_characters
            ));
        }
    }
    if posts.is_empty() {
        return Err("the Mastodon post is empty".into());
    }
    Ok(posts)
}

#[derive(Clone, Copy)]
pub struct Limits {
    pub max_characters: usize,
    pub per_url: usize,
}

/// Posts `text`: one status, or a thread (posts between `---` lines) whose every status
/// replies to the one before (`in_reply_to_id`). Each status has its own Idempotency-Key
/// (the publication's, then `…-2`, `…-3`), so a repeat of any of them is answered with the
/// status already made, and each is recorded before the next is sent.
pub async fn publish(
    http: &Http,
    instance: &Url,
    token: &str,
    limits: &Limits,
    text: &str,
    post: &crate::Post<'_>,
) -> Result<Sent, Failure> {
    let posts = posts(text, limits).map_err(Failure::permanent)?;
    let key = post.idempotency_key;
    let image = post.image;
    let left_out = std::sync::atomic::AtomicBool::new(false);
    let left_out = &left_out;
    let mut sent = crate::send_thread(
        "Mastodon",
        &posts,
        post,
        move |n: usize, text: String, _root: Option<SentPost>, parent: Option<SentPost>| async move {
            let key = if n == 0 {
                key.to_owned()
            } else {
                format!("{key}-{}", n + 1)
            };
            // The release image rides on the first status. A media upload sent again
            // leaves an unattached copy, which the instance removes; the status itself
            // keeps its Idempotency-Key.
            let media = match image.filter(|_| n == 0) {
                Some(image) => {
                    let id = upload(http, instance, token, image).await?;
                    if id.is_none() {
                        left_out.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    id
                }
                None => None,
            };
            status(http, instance, token, &text, &key, parent.map(|p| p.id), media).await
        },
    )
    .await?;
    if left_out.load(std::sync::atomic::Ordering::Relaxed) {
        sent.note = Some(
            "posted without the release image: the token lacks write:media (make one with write:statuses and write:media and connect again)"
                .into(),
        );
    }
    Ok(sent)
}

/// One status; what the next reply needs.
async fn status(
    http: &Http,
    instance: &Url,
    token: &str,
    text: &str,
    idempotency_key: &str,
    in_reply_to: Option<String>,
    media: Option<String>,
) -> Result<(SentPost, Option<i64>), Failure> {
    let url = endpoint(instance, "/api/v1/statuses")?;
    let mut body = serde_json::json!({ "status": text, "visibility": "public" });
    if let Some(id) = in_reply_to {
        body["in_reply_to_id"] = Value::String(id);
    }
    if let Some(id) = media {
        body["media_ids"] = serde_json::json!([id]);
    }
    let response = http
        .post(&url)
        .map_err(|r| Failure::broken(r.0))?
        .bearer_auth(token)
        .header("Idempotency-Key", idempotency_key)
        .json(&body)
        .send()
        .await
        .map_err(|e| send_failure(e, true))?;
    let status = response.status().as_u16();
    let pause_until = reset_at(response.headers());
    let body = response.text().await.unwrap_or_default();
    match status {
        200..=299 => {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let id = match &v["id"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(Failure::Unknown {
                        message: format!(
                            "Mastodon answered {status} without the status's id; look at the account, then retry or confirm the publication"
                        ),
                    });
                }
            };
            Ok((
                SentPost {
                    id,
                    cid: None,
                    url: v["url"].as_str().map(str::to_owned),
                },
                pause_until,
            ))
        }
        401 | 403 => Err(Failure::broken(format!(
            "Mastodon refused the access token ({}): it was revoked or lacks write:statuses; connect the account again",
            error_of(&body)
        ))),
        422 => Err(Failure::permanent(format!(
            "Mastodon rejected the post: {}",
            error_of(&body)
        ))),
        429 => {
            let after = pause_until
                .map(|at| Duration::from_millis((at - now_ms()).clamp(0, 3_600_000) as u64));
            Err(Failure::retry(
                "Mastodon's rate limit is reached (300 requests per 5 minutes)",
                after,
            ))
        }
        500..=599 => Err(Failure::retry(
            format!(
                "Mastodon had an internal error ({status}: {})",
                error_of(&body)
            ),
            None,
        )),
        _ => Err(Failure::permanent(format!(
            "Mastodon refused the post ({status}: {})",
            error_of(&body)
        ))),
    }
}

/// Uploads the image with its description (`POST /api/v2/media`, multipart); the
/// attachment's id, or `None` when the token may not upload media (the post goes out
/// without the image, and says so).
async fn upload(
    http: &Http,
    instance: &Url,
    token: &str,
    image: crate::PostImage<'_>,
) -> Result<Option<String>, Failure> {
    let url = endpoint(instance, "/api/v2/media")?;
    let (content_type, body) = crate::multipart(&[
        crate::Part {
            name: "file",
            filename: Some("release.png"),
            content_type: "image/png",
            bytes: image.png,
        },
        crate::Part {
            name: "description",
            filename: None,
            content_type: "text/plain; charset=utf-8",
            bytes: image.alt.as_bytes(),
        },
    ]);
    let response = http
        .post(&url)
        .map_err(|r| Failure::broken(r.0))?
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        // Sent again, it only leaves an unattached copy behind.
        .map_err(|e| send_failure(e, true))?;
    let status = response.status().as_u16();
    let pause_until = reset_at(response.headers());
    let body = response.text().await.unwrap_or_default();
    match status {
        // 202: still being processed (images rarely are); a status made before it is ready
        // is refused with the instance's words.
        200..=299 => serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| match &v["id"] {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .map(Some)
            .ok_or_else(|| Failure::retry("Mastodon took the image but sent no id", None)),
        // A token made for statuses only: the post still goes out.
        403 => Ok(None),
        401 => Err(Failure::broken(format!(
            "Mastodon refused the access token ({}): it was revoked; connect the account again",
            error_of(&body)
        ))),
        429 => Err(Failure::retry(
            "Mastodon's rate limit is reached (media uploads)",
            pause_until.map(|at| Duration::from_millis((at - now_ms()).clamp(0, 3_600_000) as u64)),
        )),
        500..=599 => Err(Failure::retry(
            format!(
                "Mastodon could not take the image ({status}: {})",
                error_of(&body)
            ),
            None,
        )),
        _ => Err(Failure::permanent(format!(
            "Mastodon refused the image ({status}: {})",
            error_of(&body)
        ))),
    }
}

fn now_ms() -> i64 {
    covalynce_domain::now_millis()
}

/// A Mastodon channel, opened.
#[derive(Clone)]
pub struct Mastodon {
    instance: Url,
    token: String,
    limits: Limits,
}

impl Platform for Mastodon {
    // Mastodon keeps the Idempotency-Key for an hour and answers a repeat with the status
    // it already made.
    const RECOVERY: Recovery = Recovery::Replay;
    const REPLAY_NOTE: &'static str = "sent again after Covalynce stopped mid-send, with the same Idempotency-Key: Mastodon answers a repeat with the status it already made";
    const TAKES_MEDIA: bool = true;
    const LOOK: Look = Look::LinkCard;

    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        _: &Opening<'_>,
    ) -> Result<Self, String> {
        let (ChannelSettings::Mastodon(m), ChannelSecrets::Mastodon(s)) =
            (&config.settings, secrets)
        else {
            return Err(mismatch(config, secrets));
        };
        Ok(Mastodon {
            instance: crate::platform::url(config.kind(), &m.instance, "instance")?,
            token: s.token.clone(),
            limits: Limits::of(m),
        })
    }

    async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        publish(
            http,
            &self.instance,
            &self.token,
            &self.limits,
            post.text_for("mastodon"),
            post,
        )
        .await
    }

    // A status would be public: checking the account and the token is the test.
    async fn test(&self, http: &Http, _: &str) -> Result<String, Failure> {
        account(http, &self.instance, &self.token).await.map(|a| {
            format!(
                "connected as @{} (posts up to {} characters)",
                a.acct, a.max_characters
            )
        })
    }

    fn preview(settings: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String> {
        let ChannelSettings::Mastodon(m) = settings else {
            return Err(crate::platform::not_mine(settings));
        };
        let (variant, text) = crate::preview::text(settings, card)?;
        posts(text, &Limits::of(m)).map(|p| Preview::posts(variant, p))
    }
}

impl Limits {
    fn of(settings: &covalynce_domain::channel::MastodonSettings) -> Self {
        Limits {
            max_characters: settings.max_characters as usize,
            per_url: settings.characters_reserved_per_url as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_count_as_the_instance_says() {
        assert_eq!(length("hello", 23), 5);
        assert_eq!(
            length("see https://example.com/a/very/long/path ok", 23),
            4 + 23 + 3
        );
        assert_eq!(length("é 🚀", 23), 3, "code points");
    }

    #[test]
    fn rate_limit_resets_are_read_as_iso_times() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-ratelimit-remaining", "3".parse().unwrap());
        h.insert(
            "x-ratelimit-reset",
            "2026-11-23T12:00:00.000Z".parse().unwrap(),
        );
        assert_eq!(reset_at(&h), None, "budget left: no pause");
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        assert_eq!(reset_at(&h), Some(1_795_435_200_000));
    }
}
