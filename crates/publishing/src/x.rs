//! X: `POST {api}/2/tweets` with an OAuth 2.0 user token (authorization code with PKCE;
//! scopes `tweet.read tweet.write users.read offline.access`). Success is 201
//! `{"data": {"id", "text"}}`; errors are problem bodies (`title`, `detail`, `type`).
//!
//! - Length is weighted (twitter-text: most scripts 1, CJK and emoji 2, every URL 23). A
//!   drafted thread (posts between `---` lines) goes out as written, each post a reply
//!   (`reply.in_reply_to_tweet_id`) to the one before; one text over 280 becomes a thread
//!   when the channel allows threads, and is refused otherwise.
//! - Links cost far more on the pay-per-use API ($0.200 a post with a URL against $0.015):
//!   a channel may post the links in a reply instead (`link_in_reply`).
//! - Access tokens last 2 hours; refresh tokens are single-use and rotate. Refreshing is
//!   the server's job ([`refresh`] here; the lease and the atomic swap in the server), so
//!   this module only says when a token was refused ([`Failure::Expired`]).
//! - There is no idempotency key. X refuses an identical text with 403 ("duplicate
//!   content"): that is a permanent error, explained. A request that may have arrived is
//!   left for a person ([`crate::Recovery::AskAPerson`]).

use crate::guard::Http;
use crate::platform::{Look, Opening, Platform, mismatch};
use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelSecrets, ChannelSettings, Post, Recovery};
use crate::{Failure, Sent, SentPost, snippet};
use covalynce_drafting::x_weighted_length;
use reqwest::Url;
use serde_json::{Value, json};

pub const API_BASE: &str = "https://api.x.com";
pub const WEB_BASE: &str = "https://x.com";
/// X's limit for a post, in weighted characters.
pub const MAX_WEIGHT: usize = 280;
pub const SCOPES: &str = "tweet.read tweet.write users.read offline.access media.write";
/// At most this many posts in one thread: a draft that needs more is not a post.
pub const MAX_THREAD: usize = 10;

/// How a channel posts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// A text over 280 becomes a thread instead of being refused.
    pub thread: bool,
    /// Links go in a reply to the post, not in it.
    pub link_in_reply: bool,
}

/// The OAuth client that granted the tokens (needed to refresh them).
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    /// Confidential clients authenticate with Basic auth; public ones send `client_id`.
    pub secret: Option<String>,
}

/// What X grants for a code or a refresh token.
#[derive(Clone, PartialEq)]
pub struct Grant {
    pub access_token: String,
    /// Seconds (7200).
    pub expires_in: Option<i64>,
    /// The next refresh token: the one just used no longer works.
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

fn join(base: &Url, path: &str) -> Result<Url, Failure> {
    base.join(path)
        .map_err(|e| Failure::broken(format!("the X address is invalid: {e}")))
}

/// X's own words from an error body (problem details, the older `errors` list, or OAuth's
/// `error_description`).
pub fn message_of(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    v["detail"]
        .as_str()
        .or_else(|| v["errors"][0]["message"].as_str())
        .or_else(|| v["error_description"].as_str())
        .or_else(|| v["title"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| snippet(body))
}

/// The browser's way to "Connect X": where to send it. `challenge` is the S256 PKCE
/// challenge of a verifier kept for the callback; `state` ties the callback to the browser.
pub fn authorize_url(
    web: &Url,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> Result<Url, Failure> {
    let mut url = join(web, "/i/oauth2/authorize")?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPES)
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url)
}

async fn token_request(
    http: &Http,
    api: &Url,
    client: &Client,
    form: &[(&str, &str)],
) -> Result<Grant, Failure> {
    let url = join(api, "/2/oauth2/token")?;
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let mut request = http.post(&url);
    match &client.secret {
        Some(secret) => request = request.map(|r| r.basic_auth(&client.id, Some(secret))),
        None => fields.push(("client_id", &client.id)),
    }
    let r = crate::fetch(request.map(|r| r.form(&fields)), "X").await?;
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    match (status, v["access_token"].as_str()) {
        (200, Some(token)) => Ok(Grant {
            access_token: token.to_owned(),
            expires_in: v["expires_in"].as_i64(),
            refresh_token: v["refresh_token"].as_str().map(str::to_owned),
        }),
        (500..=599, _) | (429, _) => Err(Failure::retry(
            format!("X could not renew the access token now ({status})"),
            None,
        )),
        _ => Err(Failure::broken(format!(
            "X no longer accepts this connection ({}): connect X again",
            message_of(&body)
        ))),
    }
}

/// Trades the callback's code (and the PKCE verifier) for tokens.
pub async fn exchange_code(
    http: &Http,
    api: &Url,
    client: &Client,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Grant, Failure> {
    token_request(
        http,
        api,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// Trades a refresh token for new tokens. The refresh token is spent whatever happens
/// next: store the new one before using the access token.
pub async fn refresh(
    http: &Http,
    api: &Url,
    client: &Client,
    refresh_token: &str,
) -> Result<Grant, Failure> {
    token_request(
        http,
        api,
        client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// The account a token belongs to (`/2/users/me`): (id, username). Connecting and testing
/// a channel use it; nothing is posted.
pub async fn me(http: &Http, api: &Url, token: &str) -> Result<(String, String), Failure> {
    let url = join(api, "/2/users/me")?;
    let r = crate::fetch(http.get(&url).map(|r| r.bearer_auth(token)), "X").await?;
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    match status {
        200 => {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            Ok((
                v["data"]["id"].as_str().unwrap_or_default().to_owned(),
                v["data"]["username"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ))
        }
        401 => Err(Failure::Expired {
            message: format!("X refused the access token ({})", message_of(&body)),
        }),
        _ => Err(Failure::retry(
            format!("X answered {status}: {}", message_of(&body)),
            None,
        )),
    }
}

fn is_url(word: &str) -> bool {
    word.starts_with("https://") || word.starts_with("http://")
}

/// The posts a text becomes on a channel: one, a thread, and the links' reply.
pub fn plan(text: &str, options: Options) -> Result<Vec<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the X post is empty".into());
    }
    // A thread written as one (posts between `---` lines, as drafted or edited) is sent as
    // written, each post checked; with `link_in_reply`, its links leave the posts for one
    // reply at the end.
    let mut written = covalynce_drafting::thread::posts(text);
    if written.len() > 1 && options.link_in_reply {
        let mut links: Vec<String> = Vec::new();
        for post in &mut written {
            let mut kept: Vec<String> = Vec::new();
            for line in post.lines() {
                let words: Vec<&str> = line
                    .split_whitespace()
                    .filter(|w| {
                        let url = is_url(w);
                        if url {
                            let link = w.trim_end_matches(['.', ',', ')', '!', '?', ';']);
                            if !links.iter().any(|l| l == link) {
                                links.push(link.to_owned());
                            }
                        }
                        !url
                    })
                    .collect();
                kept.push(words.join(" "));
            }
            *post = kept.join("\n").trim().to_owned();
        }
        written.retain(|p| !p.is_empty());
        if !links.is_empty() {
            written.push(links.join("\n"));
        }
    }
    if written.len() > 1 {
        if written.len() > MAX_THREAD {
            return Err(format!(
                "the X thread has {} posts; at most {MAX_THREAD} are sent",
                written.len()
            ));
        }
        if let Some((n, weight)) =
            covalynce_drafting::thread::over_limit(covalynce_drafting::Channel::X, text)
        {
            return Err(format!(
                "post {n} of the X thread is {weight} characters as X counts them (links 23, emoji 2); X takes {MAX_WEIGHT}. Shorten it, or split it with a line of three dashes (---)"
            ));
        }
        return Ok(written);
    }
    let (body, links) = if options.link_in_reply {
        let links: Vec<&str> = text
            .split_whitespace()
            .filter(|w| is_url(w))
            .map(|w| w.trim_end_matches(['.', ',', ')', '!', '?', ';']))
            .collect();
        let mut body = String::new();
        for line in text.lines() {
            let kept: Vec<&str> = line.split_whitespace().filter(|w| !is_url(w)).collect();
            if !body.is_empty() {
                body.push('\n');
            }
            body.push_str(&kept.join(" "));
        }
        let body = body.trim().trim_end_matches(':').trim().to_owned();
        (
            if body.is_empty() {
                text.to_owned()
            } else {
                body
            },
            links,
        )
    } else {
        (text.to_owned(), Vec::new())
    };
    let weight = x_weighted_length(&body);
    let mut posts = if weight <= MAX_WEIGHT {
        vec![body]
    } else if options.thread {
        thread(&body)?
    } else {
        return Err(format!(
            "the X post is {weight} characters as X counts them (links 23, emoji 2); X takes {MAX_WEIGHT}. Shorten it, or let this channel post threads"
        ));
    };
    if !links.is_empty() && posts.iter().all(|p| !links.iter().any(|l| p.contains(l))) {
        posts.push(links.join("\n"));
    }
    Ok(posts)
}

/// Splits a long text into posts of at most 280 weighted characters: at paragraph and
/// sentence ends where it can, at spaces where it must. Nothing is dropped.
fn thread(text: &str) -> Result<Vec<String>, String> {
    // Sentences (with their closing punctuation), paragraph breaks kept as their own piece.
    let mut pieces: Vec<String> = Vec::new();
    for (i, paragraph) in text.split("\n\n").enumerate() {
        if i > 0 {
            pieces.push("\n\n".into());
        }
        let mut current = String::new();
        for word in paragraph.split_inclusive(char::is_whitespace) {
            current.push_str(word);
            let w = word.trim_end();
            if w.ends_with(['.', '!', '?']) && !is_url(w) {
                pieces.push(std::mem::take(&mut current));
            }
        }
        if !current.is_empty() {
            pieces.push(current);
        }
    }
    let mut posts: Vec<String> = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, posts: &mut Vec<String>| {
        let t = current.trim();
        if !t.is_empty() {
            posts.push(t.to_owned());
        }
        current.clear();
    };
    for piece in pieces {
        let candidate = format!("{current}{piece}");
        if x_weighted_length(candidate.trim()) <= MAX_WEIGHT {
            current = candidate;
            continue;
        }
        flush(&mut current, &mut posts);
        if x_weighted_length(piece.trim()) <= MAX_WEIGHT {
            current = piece;
            continue;
        }
        // A sentence longer than a post: word by word.
        for word in piece.split_inclusive(char::is_whitespace) {
            let candidate = format!("{current}{word}");
            if x_weighted_length(candidate.trim()) <= MAX_WEIGHT {
                current = candidate;
            } else {
                flush(&mut current, &mut posts);
                if x_weighted_length(word.trim()) > MAX_WEIGHT {
                    return Err("the X post has a word longer than a whole post; shorten it".into());
                }
                current = word.to_owned();
            }
        }
    }
    flush(&mut current, &mut posts);
    if posts.len() > MAX_THREAD {
        return Err(format!(
            "the X post would be a thread of {} posts; at most {MAX_THREAD} are sent",
            posts.len()
        ));
    }
    Ok(posts)
}

/// One post; its id.
async fn create(
    http: &Http,
    api: &Url,
    token: &str,
    text: &str,
    reply_to: Option<&str>,
    media: Option<&str>,
) -> Result<(String, Option<i64>), Failure> {
    let url = join(api, "/2/tweets")?;
    let mut body = json!({ "text": text });
    if let Some(id) = reply_to {
        body["reply"] = json!({ "in_reply_to_tweet_id": id });
    }
    if let Some(id) = media {
        body["media"] = json!({ "media_ids": [id] });
    }
    let response = http
        .post(&url)
        .map_err(|r| Failure::broken(r.0))?
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            Failure::unanswered_post(
                e,
                "X",
                "the post may or may not be on X: look at the account",
            )
        })?;
    let status = response.status().as_u16();
    let remaining: Option<i64> = response
        .headers()
        .get("x-rate-limit-remaining")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let wait = crate::reset_wait(response.headers(), "x-rate-limit-reset");
    let text = response.text().await.unwrap_or_default();
    let said = message_of(&text);
    match status {
        200..=299 => {
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let id = v["data"]["id"].as_str().map(str::to_owned).ok_or_else(|| {
                Failure::Unknown {
                    message: format!(
                        "X answered {status} without the post's id; look at the account, then retry or confirm the publication"
                    ),
                }
            })?;
            // The budget is spent: pause the channel until it resets.
            let pause = (remaining == Some(0))
                .then(|| wait.map(|w| covalynce_domain::now_millis() + w.as_millis() as i64))
                .flatten();
            Ok((id, pause))
        }
        401 => Err(Failure::Expired {
            message: format!("X refused the access token ({said})"),
        }),
        403 if said.to_lowercase().contains("duplicate") => Err(Failure::permanent(format!(
            "X refuses duplicate posts: this account already posted exactly this text (X says: {said}). Edit the post to send it again"
        ))),
        403 => Err(Failure::broken(format!(
            "X does not let this account post ({said}): the app needs tweet.write, or the account is locked or suspended"
        ))),
        429 => Err(Failure::retry(
            format!("X's rate limit for this account is spent (429: {said})"),
            wait,
        )),
        // Over capacity: X did not take the request.
        503 => Err(Failure::retry(
            format!("X is over capacity (503: {said})"),
            wait,
        )),
        500..=599 => Err(Failure::Unknown {
            message: format!(
                "X failed while taking the post ({status}: {said}); it may or may not be on X: look at the account, then retry or confirm the publication"
            ),
        }),
        _ => Err(Failure::permanent(format!(
            "X rejected the post ({status}): {said}"
        ))),
    }
}

/// Uploads an image (`POST /2/media/upload`, base64 in JSON) and sets its alt text
/// (`POST /2/media/metadata`); the media id, or `None` when the app may not upload media
/// (a token granted before `media.write` was asked for: the post goes without it).
async fn upload(
    http: &Http,
    api: &Url,
    token: &str,
    image: crate::PostImage<'_>,
) -> Result<Option<String>, Failure> {
    use base64::Engine as _;
    let body = json!({
        "media": base64::engine::general_purpose::STANDARD.encode(image.png),
        "media_category": "tweet_image",
        "media_type": "image/png",
    });
    let v = match media_call(http, api, token, "/2/media/upload", &body).await {
        Err(Failure::Permanent { message, .. }) if message.starts_with(NO_MEDIA) => {
            return Ok(None);
        }
        other => other?,
    };
    let id = v["data"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Failure::retry("X took the image but sent no media id", None))?;
    // X takes at most 1,000 characters of alt text.
    let alt: String = image.alt.chars().take(1000).collect();
    media_call(
        http,
        api,
        token,
        "/2/media/metadata",
        &json!({ "id": id, "metadata": { "alt_text": { "text": alt } } }),
    )
    .await?;
    Ok(Some(id))
}

/// How a refused media upload's message starts (403: no `media.write`).
const NO_MEDIA: &str = "X does not let this account upload images";

/// A media request: safe to send again (nothing is posted by it).
async fn media_call(
    http: &Http,
    api: &Url,
    token: &str,
    path: &str,
    body: &Value,
) -> Result<Value, Failure> {
    let url = join(api, path)?;
    let request = http.post(&url).map(|r| r.bearer_auth(token).json(body));
    let response = crate::fetch(request, "X").await?;
    let status = response.status().as_u16();
    let wait = crate::reset_wait(response.headers(), "x-rate-limit-reset");
    let text = response.text().await.unwrap_or_default();
    let said = message_of(&text);
    match status {
        200..=299 => Ok(serde_json::from_str(&text).unwrap_or(Value::Null)),
        401 => Err(Failure::Expired {
            message: format!("X refused the access token ({said})"),
        }),
        403 => Err(Failure::permanent(format!(
            "{NO_MEDIA} ({said}): the app needs media.write"
        ))),
        429 => Err(Failure::retry(
            format!("X's media rate limit is spent (429: {said})"),
            wait,
        )),
        500..=599 => Err(Failure::retry(
            format!("X could not take the image ({status}: {said})"),
            wait,
        )),
        _ => Err(Failure::permanent(format!(
            "X refused the image ({status}): {said}"
        ))),
    }
}

/// Posts `text` (as a thread and with a links reply when the options say so), each post a
/// reply to the one before, recorded as it goes: after a failure part-way, sending again
/// resumes at the post that did not go out (X takes no idempotency key, so nothing that
/// went out is sent twice).
pub async fn publish(
    http: &Http,
    api: &Url,
    token: &str,
    username: Option<&str>,
    text: &str,
    options: Options,
    post: &crate::Post<'_>,
) -> Result<Sent, Failure> {
    let posts = plan(text, options).map_err(Failure::permanent)?;
    let username = username.filter(|u| !u.is_empty());
    let image = post.image;
    let left_out = std::sync::atomic::AtomicBool::new(false);
    let left_out = &left_out;
    let mut sent = crate::send_thread(
        "X",
        &posts,
        post,
        move |n: usize, text: String, _root: Option<SentPost>, parent: Option<SentPost>| async move {
            // The release image rides on the first post. An upload sent again only leaves
            // an unused copy behind (X drops it after a day); the post is what counts.
            let media = match image.filter(|_| n == 0) {
                Some(image) => {
                    let id = upload(http, api, token, image).await?;
                    if id.is_none() {
                        left_out.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    id
                }
                None => None,
            };
            let (id, pause) = create(
                http,
                api,
                token,
                &text,
                parent.as_ref().map(|p| p.id.as_str()),
                media.as_deref(),
            )
            .await?;
            let url = match username {
                Some(u) => format!("{WEB_BASE}/{u}/status/{id}"),
                None => format!("{WEB_BASE}/i/web/status/{id}"),
            };
            Ok((
                SentPost {
                    id,
                    cid: None,
                    url: Some(url),
                },
                pause,
            ))
        },
    )
    .await?;
    if left_out.load(std::sync::atomic::Ordering::Relaxed) {
        sent.note = Some(
            "posted without the release image: the token lacks media.write (connect X again)"
                .into(),
        );
    }
    Ok(sent)
}

/// An X channel, opened.
#[derive(Clone)]
pub struct X {
    api: Url,
    token: String,
    /// The account's username, for the post's URL.
    username: Option<String>,
    options: Options,
}

impl Platform for X {
    // X takes no idempotency key.
    const RECOVERY: Recovery = Recovery::AskAPerson;
    const TAKES_MEDIA: bool = true;
    const LOOK: Look = Look::LinkCard;

    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        _: &Opening<'_>,
    ) -> Result<Self, String> {
        let (ChannelSettings::X(x), ChannelSecrets::X(s)) = (&config.settings, secrets) else {
            return Err(mismatch(config, secrets));
        };
        Ok(X {
            api: crate::platform::url(config.kind(), &x.api_base, "api_base")?,
            token: s.access_token.clone(),
            username: x.account.clone(),
            options: Options::of(x),
        })
    }

    async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        publish(
            http,
            &self.api,
            &self.token,
            self.username.as_deref(),
            post.text_for("x"),
            self.options,
            post,
        )
        .await
    }

    // A post would be public: checking the account and the token is the test.
    async fn test(&self, http: &Http, _: &str) -> Result<String, Failure> {
        me(http, &self.api, &self.token)
            .await
            .map(|(_, username)| format!("connected as @{username} on X"))
    }

    /// The single-use refresh token for a new pair (X's refresh tokens rotate).
    async fn renew(
        http: &Http,
        settings: &ChannelSettings,
        secrets: ChannelSecrets,
    ) -> Result<(ChannelSecrets, ChannelSettings), Failure> {
        use crate::platform::broken;
        let (ChannelSettings::X(settings), ChannelSecrets::X(mut tokens)) = (settings, secrets)
        else {
            return Err(broken("the X channel's tokens cannot be renewed"));
        };
        let refresh_token = tokens.refresh_token.as_deref().ok_or_else(|| {
            broken("the X access token expired and this channel has no refresh token (offline.access) to renew it; connect X again")
        })?;
        let client_id = settings.client_id.as_deref().ok_or_else(|| {
            broken("the X access token expired and no X OAuth client is known to renew it (--x-client-id); connect X again")
        })?;
        let client = Client {
            id: client_id.to_owned(),
            secret: tokens.client_secret.clone(),
        };
        let api = Url::parse(&settings.api_base)
            .map_err(|_| broken("the X channel's API address is invalid"))?;
        let grant = refresh(http, &api, &client, refresh_token).await?;
        tokens.access_token = grant.access_token;
        if let Some(r) = grant.refresh_token {
            tokens.refresh_token = Some(r);
        }
        let mut settings = settings.clone();
        settings.expires_at = grant
            .expires_in
            .map(|s| covalynce_domain::now_millis() + s * 1000);
        Ok((ChannelSecrets::X(tokens), ChannelSettings::X(settings)))
    }

    fn preview(settings: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String> {
        let ChannelSettings::X(s) = settings else {
            return Err(crate::platform::not_mine(settings));
        };
        let (variant, text) = crate::preview::text(settings, card)?;
        let options = Options::of(s);
        let posts = plan(text, options)?;
        // Cut by the channel rather than written as a thread: the same text would be
        // refused by a channel that does not post threads.
        let split = covalynce_drafting::thread::posts(text).len() < 2
            && plan(
                text,
                Options {
                    thread: false,
                    ..options
                },
            )
            .is_err();
        Ok(Preview {
            variant: variant.to_owned(),
            posts,
            split,
        })
    }
}

impl Options {
    fn of(settings: &covalynce_domain::channel::XSettings) -> Self {
        Options {
            thread: settings.thread,
            link_in_reply: settings.link_in_reply,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREADS: Options = Options {
        thread: true,
        link_in_reply: false,
    };

    #[test]
    fn a_short_post_is_one_post() {
        assert_eq!(
            plan("Shipped: faster builds.", Options::default()).unwrap(),
            ["Shipped: faster builds."]
        );
    }

    #[test]
    fn a_long_text_is_a_thread_at_sentence_ends_or_refused_without_threads() {
        let sentence = "The cache now survives restarts, so the second build is fast. ";
        let text = sentence.repeat(9);
        let why = plan(&text, Options::default()).unwrap_err();
        assert!(
            why.contains("X takes 280") && why.contains("threads"),
            "{why}"
        );
        let posts = plan(&text, THREADS).unwrap();
        assert!(posts.len() >= 2, "{posts:?}");
        for p in &posts {
            assert!(x_weighted_length(p) <= MAX_WEIGHT, "{p}");
            assert!(p.ends_with('.'), "cut at a sentence end: {p}");
        }
        let joined: String = posts.join(" ");
        assert_eq!(
            joined.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>(),
            "nothing dropped"
        );
    }

    #[test]
    fn a_written_thread_is_sent_as_written_and_each_post_is_checked() {
        let thread = "Rocket 1.4 adds CSV export.\n\n1/2\n\n---\n\n• Faster builds\n\n2/2";
        assert_eq!(
            plan(thread, Options::default()).unwrap(),
            [
                "Rocket 1.4 adds CSV export.\n\n1/2",
                "• Faster builds\n\n2/2"
            ]
        );
        // With links in a reply, a thread's links leave its posts for one reply at the end.
        let linked = "Rocket 1.4 adds CSV export.\n\n1/2\n---\nDocs: https://acme.dev/csv\n\n2/2";
        let options = Options {
            thread: false,
            link_in_reply: true,
        };
        assert_eq!(
            plan(linked, options).unwrap(),
            [
                "Rocket 1.4 adds CSV export.\n\n1/2",
                "Docs:\n\n2/2",
                "https://acme.dev/csv"
            ]
        );
        let too_long = format!("Short.\n---\n{}", "word ".repeat(70));
        let why = plan(&too_long, THREADS).unwrap_err();
        assert!(why.starts_with("post 2 of the X thread is 349"), "{why}");
    }

    #[test]
    fn links_can_go_in_a_reply() {
        let options = Options {
            thread: false,
            link_in_reply: true,
        };
        let posts = plan(
            "Rocket 1.4 is out with CSV export: https://github.com/acme/rocket/releases/tag/v1.4.0",
            options,
        )
        .unwrap();
        assert_eq!(
            posts,
            [
                "Rocket 1.4 is out with CSV export",
                "https://github.com/acme/rocket/releases/tag/v1.4.0"
            ]
        );
        assert_eq!(plan("No link here.", options).unwrap(), ["No link here."]);
    }

    #[test]
    fn x_errors_are_read_in_its_own_words() {
        assert_eq!(
            message_of(
                r#"{"title":"Forbidden","detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","status":403}"#
            ),
            "You are not allowed to create a Tweet with duplicate content."
        );
        assert_eq!(
            message_of(
                r#"{"error":"invalid_request","error_description":"Value passed for the token was invalid."}"#
            ),
            "Value passed for the token was invalid."
        );
    }
}
