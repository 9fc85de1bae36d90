//! Bluesky (atproto): a post is a record, `app.bsky.feed.post`, created in the account's
//! repository with `POST {service}/xrpc/com.atproto.repo.createRecord`.
//!
//! - Sign-in is `com.atproto.server.createSession` with the handle and an app password:
//!   at most 30 per 5 minutes per account, so a channel keeps its session (access JWT for
//!   2 hours, refresh JWT for 90 days) and renews it with `refreshSession`, which rotates
//!   the refresh JWT. The renewing itself is the server's (a lease, then compare-and-set),
//!   as for X; this module only says when a token was refused ([`Failure::Expired`]).
//! - Refused tokens come back as **400** `ExpiredToken` / `InvalidToken`, not 401.
//! - Text is at most 300 graphemes. Links and hashtags are not recognised from the text by
//!   the network: they are facets, at UTF-8 **byte** offsets.
//! - There is no idempotency key. The record key is chosen here instead, from the
//!   publication (stored before anything is sent), so the same publication always writes
//!   the same key: a second create of it fails, and after an unclear failure the record is
//!   looked up by that key before anything is sent again. A thread's later posts take the
//!   first's key plus one microsecond each, and reply with `reply.root` / `reply.parent`
//!   (URI and CID of the first and of the previous post).

use crate::guard::Http;
use crate::platform::{Look, Opening, Platform, mismatch};
use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelSecrets, ChannelSettings, Post, Recovery};
use crate::{Failure, Sent, SentPost, snippet};
use base64::Engine;
use covalynce_drafting::grapheme_count;
use reqwest::Url;
use serde_json::{Value, json};
use std::time::Duration;

pub const SERVICE: &str = "https://bsky.social";
pub const WEB_BASE: &str = "https://bsky.app";
/// Bluesky's limit for a post, in graphemes.
pub const MAX_GRAPHEMES: usize = 300;
const COLLECTION: &str = "app.bsky.feed.post";

/// A signed-in session: who, and the tokens that act for them.
#[derive(Clone, PartialEq)]
pub struct Session {
    pub did: String,
    pub handle: String,
    pub access_jwt: String,
    pub refresh_jwt: String,
}

impl std::fmt::Debug for Session {
    // The JWTs act for the account: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("did", &self.did)
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// When the access JWT stops working (its `exp`, Unix ms).
    pub fn expires_at(&self) -> Option<i64> {
        jwt_expiry(&self.access_jwt)
    }
}

impl Session {
    /// Whether the session was made with an app password (the access JWT's scope is
    /// `com.atproto.appPass`) rather than the account's own password.
    pub fn by_app_password(&self) -> bool {
        claims(&self.access_jwt).is_some_and(|c| {
            c["scope"]
                .as_str()
                .is_some_and(|s| s.starts_with("com.atproto.appPass"))
        })
    }
}

/// A JWT's claims, unverified: read only to know when to renew and what kind of login it
/// is; the PDS is the one that checks the signature.
fn claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `exp` claim of a JWT, in Unix ms.
pub fn jwt_expiry(jwt: &str) -> Option<i64> {
    claims(jwt)?["exp"].as_i64().map(|s| s * 1000)
}

fn xrpc(service: &Url, method: &str) -> Result<Url, Failure> {
    service
        .join(&format!("/xrpc/{method}"))
        .map_err(|e| Failure::broken(format!("the Bluesky address is invalid: {e}")))
}

/// The PDS's own words from an xrpc error body (`{"error","message"}`): the code, and the
/// message when there is one.
fn said(body: &str) -> (String, String) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = v["error"].as_str().unwrap_or_default().to_owned();
    let message = v["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| snippet(body));
    let words = match (code.is_empty(), message.is_empty()) {
        (false, false) if message != code => format!("{code}: {message}"),
        (false, _) => code.clone(),
        _ => message,
    };
    (code, words)
}

fn is_token_refusal(status: u16, code: &str) -> bool {
    // Bluesky says 400 for expired and invalid tokens; 401 is a missing or wrong login.
    matches!(code, "ExpiredToken" | "InvalidToken") || status == 401
}

/// An xrpc answer, read.
struct Answer {
    status: u16,
    /// Until the PDS's rate limit resets (`ratelimit-reset`).
    wait: Option<Duration>,
    /// `ratelimit-remaining`.
    remaining: Option<i64>,
    body: String,
    /// The xrpc error code (`ExpiredToken`…), and the code with the message.
    code: String,
    words: String,
}

async fn read(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let wait = crate::reset_wait(r.headers(), "ratelimit-reset");
    let remaining = r
        .headers()
        .get("ratelimit-remaining")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let body = r.text().await.unwrap_or_default();
    let (code, words) = said(&body);
    Answer {
        status,
        wait,
        remaining,
        body,
        code,
        words,
    }
}

/// Sends a request that is safe to repeat (a read, a sign-in) and reads the answer.
async fn call(
    request: Result<reqwest::RequestBuilder, crate::guard::Refused>,
) -> Result<Answer, Failure> {
    Ok(read(crate::fetch(request, "Bluesky").await?).await)
}

fn session_of(body: &str) -> Option<Session> {
    let v: Value = serde_json::from_str(body).ok()?;
    Some(Session {
        did: v["did"].as_str()?.to_owned(),
        handle: v["handle"].as_str()?.to_owned(),
        access_jwt: v["accessJwt"].as_str()?.to_owned(),
        refresh_jwt: v["refreshJwt"].as_str()?.to_owned(),
    })
}

/// Signs in with a handle (or DID, or email) and an app password. Spend sparingly: the
/// PDS allows 30 a 5 minutes.
pub async fn create_session(
    http: &Http,
    service: &Url,
    identifier: &str,
    password: &str,
) -> Result<Session, Failure> {
    let url = xrpc(service, "com.atproto.server.createSession")?;
    let Answer {
        status,
        wait,
        body,
        code,
        words,
        ..
    } = call(
        http.post(&url)
            .map(|r| r.json(&json!({ "identifier": identifier, "password": password }))),
    )
    .await?;
    match status {
        200 => session_of(&body)
            .ok_or_else(|| Failure::retry("Bluesky answered the sign-in without a session", None)),
        401 => Err(Failure::broken(format!(
            "Bluesky refused the handle and app password ({words}); create a new app password (Settings → Privacy and security → App passwords) and connect again"
        ))),
        429 => Err(Failure::retry(
            format!("Bluesky limits sign-ins to 30 in 5 minutes (429: {words})"),
            wait,
        )),
        400 if code == "AccountTakedown" || code == "AccountDeactivated" => Err(Failure::broken(
            format!("Bluesky does not let this account sign in ({words})"),
        )),
        _ => Err(Failure::retry(
            format!("Bluesky answered {status} to the sign-in: {words}"),
            None,
        )),
    }
}

/// Renews a session with its refresh JWT; the answer carries the next refresh JWT.
pub async fn refresh_session(
    http: &Http,
    service: &Url,
    refresh_jwt: &str,
) -> Result<Session, Failure> {
    let url = xrpc(service, "com.atproto.server.refreshSession")?;
    let Answer {
        status,
        wait,
        body,
        code,
        words,
        ..
    } = call(http.post(&url).map(|r| r.bearer_auth(refresh_jwt))).await?;
    match status {
        200 => session_of(&body)
            .ok_or_else(|| Failure::retry("Bluesky answered the renewal without a session", None)),
        _ if is_token_refusal(status, &code) => Err(Failure::Expired {
            message: format!("Bluesky refused to renew the session ({words})"),
        }),
        429 => Err(Failure::retry(
            format!("Bluesky's rate limit is spent (429: {words})"),
            wait,
        )),
        _ => Err(Failure::retry(
            format!("Bluesky answered {status} to the renewal: {words}"),
            None,
        )),
    }
}

/// Who the access JWT acts for (`getSession`): the test of a channel, which posts nothing.
pub async fn whoami(http: &Http, service: &Url, access_jwt: &str) -> Result<String, Failure> {
    let url = xrpc(service, "com.atproto.server.getSession")?;
    let Answer {
        status,
        body,
        code,
        words,
        ..
    } = call(http.get(&url).map(|r| r.bearer_auth(access_jwt))).await?;
    match status {
        200 => {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            Ok(v["handle"].as_str().unwrap_or_default().to_owned())
        }
        _ if is_token_refusal(status, &code) => Err(Failure::Expired {
            message: format!("Bluesky refused the session ({words})"),
        }),
        _ => Err(Failure::retry(
            format!("Bluesky answered {status}: {words}"),
            None,
        )),
    }
}

/// The record key of a publication: a TID (13 characters of base32-sortable, 53 bits of
/// microseconds and 10 of clock id) made from the publication's UUIDv7 — its millisecond
/// timestamp, and 20 bits of a hash of the whole id for the microseconds and the clock id
/// (a UUIDv7's own low bits may be a counter). The same publication always gives the same
/// key; two made in the same millisecond collide once in a million.
pub fn record_key(publication_id: &str) -> Option<String> {
    use sha2::Digest;
    let hex: String = publication_id.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) || &hex[12..13] != "7" {
        return None;
    }
    let millis = u64::from_str_radix(&hex[0..12], 16).ok()?;
    let digest = sha2::Sha256::digest(hex.to_ascii_lowercase().as_bytes());
    let mixed = u32::from_be_bytes([0, digest[0], digest[1], digest[2]]) as u64;
    let micros = millis * 1000 + (mixed >> 10) % 1000;
    let clock = mixed & 0x3ff;
    let tid = ((micros & ((1 << 53) - 1)) << 10) | clock;
    const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    Some(
        (0..13)
            .rev()
            .map(|i| ALPHABET[((tid >> (i * 5)) & 31) as usize] as char)
            .collect(),
    )
}

/// The record key of post `n` (from 0) of a publication's thread: the first post's key
/// `n` microseconds later, so a thread's keys are as fixed as its first and sort in order.
pub fn thread_key(first: &str, n: usize) -> Option<String> {
    const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    if first.len() != 13 {
        return None;
    }
    let mut tid: u64 = 0;
    for c in first.bytes() {
        let digit = ALPHABET.iter().position(|a| *a == c)? as u64;
        tid = (tid << 5) | digit;
    }
    let tid = tid.checked_add((n as u64) << 10)?;
    if tid >> 63 != 0 {
        return None;
    }
    Some(
        (0..13)
            .rev()
            .map(|i| ALPHABET[((tid >> (i * 5)) & 31) as usize] as char)
            .collect(),
    )
}

/// Links (`http://`, `https://`) and hashtags as facets, at UTF-8 byte offsets (start
/// inclusive, end exclusive), as Bluesky's own apps write them.
pub fn facets(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut offset = 0;
    for word in text.split_inclusive(char::is_whitespace) {
        let start = offset;
        offset += word.len();
        let token = word.trim_end();
        let core = token.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '"', '\'']);
        let lead = core.len() - core.trim_start_matches(['(', '[', '"', '\'']).len();
        let core = &core[lead..];
        let begin = start + lead;
        if (core.starts_with("https://") || core.starts_with("http://"))
            && Url::parse(core).is_ok_and(|u| u.host_str().is_some_and(|h| h.contains('.')))
        {
            out.push(json!({
                "index": { "byteStart": begin, "byteEnd": begin + core.len() },
                "features": [{ "$type": "app.bsky.richtext.facet#link", "uri": core }],
            }));
        } else if let Some(tag) = core.strip_prefix('#') {
            let valid = !tag.is_empty()
                && !tag.chars().all(|c| c.is_ascii_digit())
                && grapheme_count(tag) <= 64
                && !tag.contains(['#', '/']);
            if valid {
                out.push(json!({
                    "index": { "byteStart": begin, "byteEnd": begin + core.len() },
                    "features": [{ "$type": "app.bsky.richtext.facet#tag", "tag": tag }],
                }));
            }
        }
    }
    out
}

/// Where a post can be seen.
pub fn post_url(web: &str, handle: &str, rkey: &str) -> String {
    format!("{}/profile/{handle}/post/{rkey}", web.trim_end_matches('/'))
}

/// Who posts, and with what.
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    pub service: &'a Url,
    pub did: &'a str,
    pub handle: &'a str,
    pub access_jwt: &'a str,
    /// Where posts are seen (`https://bsky.app`).
    pub web: &'a str,
}

/// Is the record there? `Ok(None)` when the PDS says it is not; its URI and CID when it is.
pub async fn get_record(
    http: &Http,
    account: &Account<'_>,
    rkey: &str,
) -> Result<Option<SentPost>, Failure> {
    let mut url = xrpc(account.service, "com.atproto.repo.getRecord")?;
    url.query_pairs_mut()
        .append_pair("repo", account.did)
        .append_pair("collection", COLLECTION)
        .append_pair("rkey", rkey);
    let Answer {
        status,
        body,
        code,
        words,
        ..
    } = call(http.get(&url)).await?;
    match status {
        200 => {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            Ok(Some(SentPost {
                id: v["uri"].as_str().unwrap_or_default().to_owned(),
                cid: v["cid"].as_str().map(str::to_owned),
                url: Some(post_url(account.web, account.handle, rkey)),
            }))
        }
        400 if code == "RecordNotFound" => Ok(None),
        _ => Err(Failure::retry(
            format!("Bluesky answered {status} when asked for the post: {words}"),
            None,
        )),
    }
}

/// Posts `text`: one post, or a thread (posts between `---` lines) whose every post replies
/// to the one before and names the first as its root. Each post's record key is fixed by the
/// publication ([`record_key`], [`thread_key`]), so no post can be made twice, and each is
/// recorded before the next is sent.
/// The posts `text` becomes (one, or a thread's posts between `---` lines), each within
/// Bluesky's limit; why not, otherwise. What is sent and what the review shows.
pub fn posts(text: &str) -> Result<Vec<String>, String> {
    let posts = covalynce_drafting::thread::posts(text);
    let total = posts.len();
    if total == 0 {
        return Err("the Bluesky post is empty".into());
    }
    for (n, p) in posts.iter().enumerate() {
        let graphemes = grapheme_count(p);
        if graphemes > MAX_GRAPHEMES {
            let which = if total > 1 {
                format!("post {} of the thread", n + 1)
            } else {
                "the post".to_owned()
            };
            return Err(format!(
                "{which} is {graphemes} characters and Bluesky allows {MAX_GRAPHEMES}: shorten the Bluesky text"
            ));
        }
    }
    Ok(posts)
}

pub async fn publish(
    http: &Http,
    account: &Account<'_>,
    text: &str,
    rkey: &str,
    post: &crate::Post<'_>,
) -> Result<Sent, Failure> {
    let posts = posts(text).map_err(Failure::permanent)?;
    let account = *account;
    let image = post.image;
    crate::send_thread(
        "Bluesky",
        &posts,
        post,
        move |n: usize, text: String, root: Option<SentPost>, parent: Option<SentPost>| async move {
            let key = thread_key(rkey, n).ok_or_else(|| {
                Failure::permanent(format!(
                    "no record key can follow {rkey} for post {}",
                    n + 1
                ))
            })?;
            let reply = match (root, parent) {
                (Some(root), Some(parent)) => Some((root, parent)),
                _ => None,
            };
            // The release image rides on the first post. Blobs are stored by their
            // content, so an upload sent again is the same blob.
            let embed = match image.filter(|_| n == 0) {
                Some(image) => Some(images_embed(
                    upload_blob(http, &account, image.png).await?,
                    image.alt,
                )),
                None => None,
            };
            create_post(http, &account, &text, &key, reply, embed).await
        },
    )
    .await
}

/// Uploads an image (`com.atproto.repo.uploadBlob`); its blob reference.
async fn upload_blob(http: &Http, account: &Account<'_>, png: &[u8]) -> Result<Value, Failure> {
    let url = xrpc(account.service, "com.atproto.repo.uploadBlob")?;
    let request = http
        .post(&url)
        .map_err(|r| Failure::broken(r.0))?
        .bearer_auth(account.access_jwt)
        .header(reqwest::header::CONTENT_TYPE, "image/png")
        .body(png.to_vec());
    // Safe to send again whatever happened: the same bytes are the same blob.
    let Answer {
        status,
        wait,
        code,
        words,
        body,
        ..
    } = call(Ok(request)).await?;
    match status {
        200 => serde_json::from_str::<Value>(&body)
            .ok()
            .map(|v| v["blob"].clone())
            .filter(|b| b.is_object())
            .ok_or_else(|| Failure::retry("Bluesky took the image but sent no blob", None)),
        _ if is_token_refusal(status, &code) => Err(Failure::Expired {
            message: format!("Bluesky refused the session ({words})"),
        }),
        429 => Err(Failure::retry(
            format!("Bluesky's rate limit for this account is spent (429: {words})"),
            wait,
        )),
        500..=599 => Err(Failure::retry(
            format!("Bluesky could not take the image ({status}: {words})"),
            None,
        )),
        _ => Err(Failure::permanent(format!(
            "Bluesky refused the image ({status}): {words}"
        ))),
    }
}

/// `app.bsky.embed.images` with one image, its alt text and shape.
fn images_embed(blob: Value, alt: &str) -> Value {
    json!({
        "$type": "app.bsky.embed.images",
        "images": [{
            "alt": alt,
            "image": blob,
            "aspectRatio": { "width": crate::image::WIDTH, "height": crate::image::HEIGHT },
        }],
    })
}

/// A reply's reference to a post: its URI and CID.
fn strong_ref(post: &SentPost) -> Value {
    json!({ "uri": post.id, "cid": post.cid.as_deref().unwrap_or_default() })
}

/// Posts `text` as the record `rkey` (a reply to `reply`'s parent in its root's thread).
/// After an answer that leaves it unclear whether the record was made (no answer, a 5xx —
/// including the 500 a second create of the same key gets), the record is looked up:
/// there → sent; not there → safe to try again, since the key is fixed.
async fn create_post(
    http: &Http,
    account: &Account<'_>,
    text: &str,
    rkey: &str,
    reply: Option<(SentPost, SentPost)>,
    embed: Option<Value>,
) -> Result<(SentPost, Option<i64>), Failure> {
    let url = xrpc(account.service, "com.atproto.repo.createRecord")?;
    let mut record = json!({
        "$type": COLLECTION,
        "text": text,
        "createdAt": covalynce_domain::time::format_rfc3339(covalynce_domain::now_millis()),
    });
    let facets = facets(text);
    if !facets.is_empty() {
        record["facets"] = Value::Array(facets);
    }
    if let Some((root, parent)) = &reply {
        record["reply"] = json!({ "root": strong_ref(root), "parent": strong_ref(parent) });
    }
    if let Some(embed) = embed {
        record["embed"] = embed;
    }
    let body = json!({
        "repo": account.did,
        "collection": COLLECTION,
        "rkey": rkey,
        "record": record,
    });
    let answer = http
        .post(&url)
        .map_err(|r| Failure::broken(r.0))?
        .bearer_auth(account.access_jwt)
        .json(&body)
        .send()
        .await;
    let where_ = post_url(account.web, account.handle, rkey);
    let look = || async {
        match get_record(http, account, rkey).await {
            Ok(Some(found)) => Ok((found, None)),
            Ok(None) => Err(Failure::retry(
                "Bluesky did not make the post (looked it up by its key)",
                None,
            )),
            Err(e) => Err(Failure::Unknown {
                message: format!(
                    "Bluesky did not say whether the post was made, and asking failed ({e}); look for {where_}, then retry or confirm the publication"
                ),
            }),
        }
    };
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            return match crate::guard::SendError::from_reqwest(e, "Bluesky") {
                crate::guard::SendError::Refused(m) => Err(Failure::broken(m)),
                crate::guard::SendError::NotSent(m) => Err(Failure::retry(m, None)),
                crate::guard::SendError::MaybeSent(_) => look().await,
            };
        }
    };
    let Answer {
        status,
        wait,
        remaining,
        code,
        words,
        body,
    } = read(response).await;
    match status {
        200 => {
            let pause = (remaining == Some(0))
                .then(|| wait.map(|w| covalynce_domain::now_millis() + w.as_millis() as i64))
                .flatten();
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let made = SentPost {
                id: v["uri"].as_str().unwrap_or_default().to_owned(),
                cid: v["cid"].as_str().map(str::to_owned),
                url: Some(where_.clone()),
            };
            Ok((made, pause))
        }
        _ if is_token_refusal(status, &code) => Err(Failure::Expired {
            message: format!("Bluesky refused the session ({words})"),
        }),
        429 => Err(Failure::retry(
            format!("Bluesky's rate limit for this account is spent (429: {words})"),
            wait,
        )),
        400 if code == "AccountTakedown"
            || code == "RepoTakendown"
            || code == "RepoDeactivated" =>
        {
            Err(Failure::broken(format!(
                "Bluesky does not let this account post ({words})"
            )))
        }
        500..=599 => look().await,
        _ => Err(Failure::permanent(format!(
            "Bluesky rejected the post ({status}): {words}"
        ))),
    }
}

/// A Bluesky channel, opened.
#[derive(Clone)]
pub struct Bluesky {
    service: Url,
    did: String,
    handle: String,
    access_jwt: String,
    /// Where posts are seen (`https://bsky.app`).
    web: String,
}

impl Platform for Bluesky {
    // Bluesky takes no key, but the record key is the publication's own: a repeat cannot
    // make a second post, and finds the first by its key.
    const RECOVERY: Recovery = Recovery::Replay;
    const REPLAY_NOTE: &'static str = "sent again after Covalynce stopped mid-send: the post's record key is the publication's own, so there is one post";
    const TAKES_MEDIA: bool = true;
    const LOOK: Look = Look::LinkCard;

    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        _: &Opening<'_>,
    ) -> Result<Self, String> {
        let (ChannelSettings::Bluesky(b), ChannelSecrets::Bluesky(s)) = (&config.settings, secrets)
        else {
            return Err(mismatch(config, secrets));
        };
        Ok(Bluesky {
            service: crate::platform::url(config.kind(), &b.service, "service")?,
            did: b.did.clone(),
            handle: b.account.clone(),
            access_jwt: s.access_jwt.clone(),
            web: b.web_base.clone().unwrap_or_else(|| WEB_BASE.to_owned()),
        })
    }

    async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        let rkey = record_key(post.publication_id).ok_or_else(|| {
            Failure::permanent(format!(
                "the publication id {} is not a UUIDv7, so no record key can be made from it",
                post.publication_id
            ))
        })?;
        let account = Account {
            service: &self.service,
            did: &self.did,
            handle: &self.handle,
            access_jwt: &self.access_jwt,
            web: &self.web,
        };
        publish(http, &account, post.text_for("bluesky"), &rkey, post).await
    }

    // A post would be public: checking the session is the test.
    async fn test(&self, http: &Http, _: &str) -> Result<String, Failure> {
        whoami(http, &self.service, &self.access_jwt)
            .await
            .map(|handle| format!("connected as @{handle} on Bluesky"))
    }

    /// `refreshSession` with the refresh JWT; when that is refused (90 days passed, or the
    /// session was revoked), one sign-in with the stored app password.
    async fn renew(
        http: &Http,
        settings: &ChannelSettings,
        secrets: ChannelSecrets,
    ) -> Result<(ChannelSecrets, ChannelSettings), Failure> {
        use crate::platform::broken;
        let (ChannelSettings::Bluesky(settings), ChannelSecrets::Bluesky(mut session)) =
            (settings, secrets)
        else {
            return Err(broken("the Bluesky channel's tokens cannot be renewed"));
        };
        let service = Url::parse(&settings.service)
            .map_err(|_| broken("the Bluesky channel's service address is invalid"))?;
        let refreshed = match &session.refresh_jwt {
            Some(refresh) => refresh_session(http, &service, refresh).await,
            None => Err(Failure::Expired {
                message: "no session to renew".into(),
            }),
        };
        let renewed = match refreshed {
            Err(Failure::Expired { message }) => {
                let Some(identifier) = settings.identifier.as_deref() else {
                    return Err(broken(format!(
                        "{message}, and no account is stored to sign in again; connect Bluesky again"
                    )));
                };
                tracing::info!(did = %settings.did, "Bluesky session refused: signing in again");
                create_session(http, &service, identifier, &session.app_password).await?
            }
            other => other?,
        };
        if renewed.did != settings.did {
            return Err(broken(format!(
                "the Bluesky session now belongs to another account ({}); connect Bluesky again",
                renewed.handle
            )));
        }
        session.access_jwt = renewed.access_jwt.clone();
        session.refresh_jwt = Some(renewed.refresh_jwt.clone());
        let settings = covalynce_domain::channel::BlueskySettings {
            expires_at: renewed.expires_at(),
            account: renewed.handle.clone(),
            ..settings.clone()
        };
        Ok((
            ChannelSecrets::Bluesky(session),
            ChannelSettings::Bluesky(settings),
        ))
    }

    fn preview(settings: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String> {
        let (variant, text) = crate::preview::text(settings, card)?;
        posts(text).map(|p| Preview::posts(variant, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facets_sit_at_utf8_byte_offsets() {
        let text = "Ship 🚀 today: https://example.com/changelog. #rustlang #42 (see https://a.io)";
        let f = facets(text);
        assert_eq!(f.len(), 3, "{f:?}");
        let span = |i: usize| {
            let s = f[i]["index"]["byteStart"].as_u64().unwrap() as usize;
            let e = f[i]["index"]["byteEnd"].as_u64().unwrap() as usize;
            &text.as_bytes()[s..e]
        };
        assert_eq!(span(0), b"https://example.com/changelog");
        // The emoji is 4 bytes: counting characters would say 14.
        assert_eq!(f[0]["index"]["byteStart"], 17);
        assert_eq!(span(1), b"#rustlang");
        assert_eq!(f[1]["features"][0]["tag"], "rustlang");
        assert_eq!(span(2), b"https://a.io");
        assert_eq!(f[2]["features"][0]["uri"], "https://a.io");
    }

    #[test]
    fn a_publication_always_writes_the_same_valid_record_key() {
        let id = "019a8f3e-5b2c-7d41-9a3b-0c1d2e3f4a5b";
        let key = record_key(id).unwrap();
        assert_eq!(key, record_key(id).unwrap());
        assert_eq!(key.len(), 13);
        // atproto's TID syntax: the first character keeps the top bit zero.
        assert!("234567abcdefghij".contains(&key[..1]), "{key}");
        assert!(
            key.chars()
                .all(|c| "234567abcdefghijklmnopqrstuvwxyz".contains(c))
        );
        let other = record_key("019a8f3e-5b2c-7d42-9a3b-0c1d2e3f4a5b").unwrap();
        assert_ne!(key, other);
        // Later publications sort after earlier ones, as TIDs do.
        let later = record_key("019a8f3f-0000-7000-8000-000000000000").unwrap();
        assert!(later > key);
        assert_eq!(record_key("not-a-uuid"), None);
        assert_eq!(record_key("019a8f3e-5b2c-4d41-9a3b-0c1d2e3f4a5b"), None);
    }

    #[test]
    fn the_posts_of_a_thread_have_fixed_keys_in_order() {
        let first = record_key("019a8f3e-5b2c-7d41-9a3b-0c1d2e3f4a5b").unwrap();
        assert_eq!(thread_key(&first, 0).as_deref(), Some(first.as_str()));
        let second = thread_key(&first, 1).unwrap();
        let third = thread_key(&first, 2).unwrap();
        assert!(first < second && second < third, "{first} {second} {third}");
        assert_eq!(
            second,
            thread_key(&first, 1).unwrap(),
            "the same every time"
        );
        assert!("234567abcdefghij".contains(&third[..1]), "{third}");
        assert_eq!(thread_key("short", 1), None);
    }

    #[test]
    fn the_renewal_time_is_read_from_the_access_token() {
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"scope":"com.atproto.appPass","exp":1767225600}"#);
        let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{claims}.sig");
        assert_eq!(jwt_expiry(&jwt), Some(1_767_225_600_000));
        let session = |jwt: String| Session {
            did: "did:plc:x".into(),
            handle: "ada.test".into(),
            access_jwt: jwt,
            refresh_jwt: String::new(),
        };
        assert!(session(jwt.clone()).by_app_password());
        let main = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"scope":"com.atproto.access","exp":1767225600}"#);
        assert!(!session(format!("h.{main}.s")).by_app_password());
        assert_eq!(jwt_expiry("garbage"), None);
    }

    #[test]
    fn xrpc_errors_keep_the_platforms_code_and_words() {
        let (code, words) = said(r#"{"error":"ExpiredToken","message":"Token has expired"}"#);
        assert_eq!(code, "ExpiredToken");
        assert_eq!(words, "ExpiredToken: Token has expired");
        assert!(is_token_refusal(400, &code));
        assert!(!is_token_refusal(400, "InvalidRequest"));
        assert_eq!(said("bad gateway").1, "bad gateway");
    }
}
