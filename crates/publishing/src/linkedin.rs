//! LinkedIn: `POST {api}/rest/posts` with a member token (`w_member_social`; pages need
//! `w_organization_social`), `LinkedIn-Version` and `X-Restli-Protocol-Version: 2.0.0`.
//! Success is 201 with the post's URN in `x-restli-id` and no body.
//!
//! The commentary is "little text": `\ | { } @ [ ] ( ) < > # * _ ~` must be escaped with a
//! backslash, or LinkedIn silently cuts the post at the first one while still answering
//! 201. There is no idempotency key and no cheap way to ask whether a post was made, so a
//! request that may have arrived is left for a person (see [`crate::Recovery`]).

use crate::guard::Http;
use crate::platform::{Look, Opening, Platform, mismatch};
use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelSecrets, ChannelSettings, Post, Recovery};
use crate::{Failure, Sent, snippet};
use reqwest::Url;
use serde_json::{Value, json};

/// The API version this client speaks (YYYYMM; LinkedIn retires versions after a year).
pub const VERSION: &str = "202610";
/// LinkedIn's limit for a post's commentary.
pub const MAX_CHARS: usize = 3000;
/// The API's public base; channels may name another (a test server).
pub const API_BASE: &str = "https://api.linkedin.com";
/// Where members authorize apps and tokens are granted.
pub const WEB_BASE: &str = "https://www.linkedin.com";
/// A member posting as themself.
pub const MEMBER_SCOPES: &str = "openid profile w_member_social";
/// Also posting as a page they administer: `w_organization_social` to post, and
/// `r_organization_admin` to list the pages (`organizationAcls`) and read their names.
pub const PAGE_SCOPES: &str =
    "openid profile w_member_social w_organization_social r_organization_admin";
/// The page roles that may post as the page.
const POSTING_ROLES: [&str; 3] = [
    "ADMINISTRATOR",
    "CONTENT_ADMIN",
    "DIRECT_SPONSORED_CONTENT_POSTER",
];

/// Whether LinkedIn takes `text` as one post; why not, otherwise.
pub fn check(text: &str) -> Result<(), String> {
    let n = text.chars().count();
    if n > MAX_CHARS {
        return Err(format!(
            "the LinkedIn post is {n} characters; LinkedIn takes at most {MAX_CHARS}"
        ));
    }
    Ok(())
}

/// Escapes the characters "little text" treats as markup, so a post shows as written.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '|'
                | '{'
                | '}'
                | '@'
                | '['
                | ']'
                | '('
                | ')'
                | '<'
                | '>'
                | '#'
                | '*'
                | '_'
                | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn endpoint(api: &Url, path: &str) -> Result<Url, Failure> {
    api.join(path)
        .map_err(|e| Failure::broken(format!("the LinkedIn API address is invalid: {e}")))
}

/// LinkedIn's own message from its error body.
fn message_of(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| snippet(body))
}

/// What LinkedIn grants for an authorization code or a refresh token.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    pub access_token: String,
    /// Seconds (60 days for member tokens).
    pub expires_in: Option<i64>,
    /// Only for apps LinkedIn approved for programmatic refresh; it does not rotate and
    /// lasts 365 days from the first authorization.
    pub refresh_token: Option<String>,
    /// Seconds left on the refresh token.
    pub refresh_token_expires_in: Option<i64>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("expires_in", &self.expires_in)
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .finish_non_exhaustive()
    }
}

/// The browser's way to "Connect LinkedIn": where to send it (`state` ties the callback to
/// this browser).
pub fn authorize_url(
    web: &Url,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    scopes: &str,
) -> Result<Url, Failure> {
    let mut url = web
        .join("/oauth/v2/authorization")
        .map_err(|e| Failure::broken(format!("the LinkedIn address is invalid: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("scope", scopes);
    Ok(url)
}

/// Trades the callback's code for a member token (`/oauth/v2/accessToken`).
pub async fn exchange_code(
    http: &Http,
    web: &Url,
    client_id: &str,
    client_secret: &str,
    code: &str,
    redirect_uri: &str,
) -> Result<Grant, Failure> {
    token_request(
        http,
        web,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ],
    )
    .await
    .map_err(|f| match f {
        Failure::Expired { message } => Failure::permanent(message),
        other => other,
    })
}

/// A new access token for a refresh token (programmatic refresh). A refused refresh token
/// (expired after its year, or revoked) is [`Failure::Expired`]: the member must connect
/// again.
pub async fn refresh(
    http: &Http,
    web: &Url,
    client_id: &str,
    client_secret: &str,
    refresh_token: &str,
) -> Result<Grant, Failure> {
    let mut grant = token_request(
        http,
        web,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ],
    )
    .await?;
    // LinkedIn's refresh tokens do not rotate: keep the one in hand if none came back.
    grant
        .refresh_token
        .get_or_insert_with(|| refresh_token.to_owned());
    Ok(grant)
}

async fn token_request(http: &Http, web: &Url, form: &[(&str, &str)]) -> Result<Grant, Failure> {
    let url = web
        .join("/oauth/v2/accessToken")
        .map_err(|e| Failure::broken(format!("the LinkedIn address is invalid: {e}")))?;
    let r = crate::fetch(http.post(&url).map(|r| r.form(form)), "LinkedIn").await?;
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let said = v["error_description"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| message_of(&body));
    match (status, v["access_token"].as_str()) {
        (200, Some(token)) => Ok(Grant {
            access_token: token.to_owned(),
            expires_in: v["expires_in"].as_i64(),
            refresh_token: v["refresh_token"].as_str().map(str::to_owned),
            refresh_token_expires_in: v["refresh_token_expires_in"].as_i64(),
        }),
        (400 | 401, _) => Err(Failure::Expired {
            message: format!("LinkedIn did not grant access ({status}: {said})"),
        }),
        _ => Err(Failure::retry(
            format!("LinkedIn answered {status} to the token request: {said}"),
            None,
        )),
    }
}

/// The LinkedIn pages this member may post as: (`urn:li:organization:ID`, name), from
/// `organizationAcls` (approved posting roles) and each page's `localizedName`.
pub async fn pages(http: &Http, api: &Url, token: &str) -> Result<Vec<(String, String)>, Failure> {
    let get = |url: Url| async move {
        let request = http.get(&url).map(|r| {
            r.bearer_auth(token)
                .header("LinkedIn-Version", VERSION)
                .header("X-Restli-Protocol-Version", "2.0.0")
        });
        let r = crate::fetch(request, "LinkedIn").await?;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        match status {
            200 => Ok(serde_json::from_str::<Value>(&body).unwrap_or(Value::Null)),
            401 => Err(Failure::Expired {
                message: format!("LinkedIn refused the access token ({})", message_of(&body)),
            }),
            403 => Err(Failure::permanent(format!(
                "LinkedIn does not let this app list your pages ({}): it needs r_organization_admin",
                message_of(&body)
            ))),
            _ => Err(Failure::retry(
                format!("LinkedIn answered {status}: {}", message_of(&body)),
                None,
            )),
        }
    };
    let mut acls = endpoint(api, "/rest/organizationAcls")?;
    acls.query_pairs_mut()
        .append_pair("q", "roleAssignee")
        .append_pair("state", "APPROVED")
        .append_pair("count", "100");
    let listed = get(acls).await?;
    let mut urns: Vec<String> = Vec::new();
    for acl in listed["elements"].as_array().into_iter().flatten() {
        let role = acl["role"].as_str().unwrap_or_default();
        if let Some(urn) = acl["organization"].as_str()
            && POSTING_ROLES.contains(&role)
            && urn.starts_with("urn:li:organization:")
            && !urns.iter().any(|u| u == urn)
        {
            urns.push(urn.to_owned());
        }
    }
    let mut out = Vec::with_capacity(urns.len());
    for urn in urns {
        let id = urn.trim_start_matches("urn:li:organization:");
        let org = get(endpoint(api, &format!("/rest/organizations/{id}"))?).await?;
        let name = org["localizedName"].as_str().unwrap_or(id).to_owned();
        out.push((urn, name));
    }
    Ok(out)
}

/// The member the token belongs to (`/v2/userinfo`): (`sub`, name). Used to connect and to
/// test a channel without posting.
pub async fn member(http: &Http, api: &Url, token: &str) -> Result<(String, String), Failure> {
    let url = endpoint(api, "/v2/userinfo")?;
    let r = crate::fetch(http.get(&url).map(|r| r.bearer_auth(token)), "LinkedIn").await?;
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    match status {
        200 => {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let sub = v["sub"].as_str().unwrap_or_default().to_owned();
            let name = v["name"].as_str().unwrap_or("a LinkedIn member").to_owned();
            Ok((sub, name))
        }
        401 => Err(Failure::broken(format!(
            "LinkedIn refused the access token ({}): it expired (they last 60 days) or was revoked; connect LinkedIn again",
            message_of(&body)
        ))),
        _ => Err(Failure::retry(
            format!("LinkedIn answered {status}: {}", message_of(&body)),
            None,
        )),
    }
}

/// The Images API: `initializeUpload` for `author`, then the bytes PUT to the address it
/// gives. The image's URN and the alt text to post it with; `None` when the token may not
/// upload images (the post goes out without it, and says so).
async fn upload(
    http: &Http,
    api: &Url,
    token: &str,
    author: &str,
    image: crate::PostImage<'_>,
) -> Result<Option<(String, String)>, Failure> {
    let mut url = endpoint(api, "/rest/images")?;
    url.set_query(Some("action=initializeUpload"));
    let request = http.post(&url).map(|r| {
        r.bearer_auth(token)
            .header("LinkedIn-Version", VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0")
            .json(&json!({ "initializeUploadRequest": { "owner": author } }))
    });
    let response = crate::fetch(request, "LinkedIn").await?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    if !(200..=299).contains(&status) {
        return Err(match status {
            401 => Failure::Expired {
                message: format!("LinkedIn refused the access token ({})", message_of(&body)),
            },
            403 => return Ok(None),
            429 | 500..=599 => Failure::retry(
                format!("LinkedIn could not start the image upload ({status})"),
                None,
            ),
            _ => Failure::permanent(format!(
                "LinkedIn refused the image ({status}: {})",
                message_of(&body)
            )),
        });
    }
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let (Some(upload_url), Some(urn)) = (
        v["value"]["uploadUrl"].as_str(),
        v["value"]["image"].as_str(),
    ) else {
        return Err(Failure::retry(
            "LinkedIn started the image upload without an address or URN",
            None,
        ));
    };
    let upload_url = Url::parse(upload_url).map_err(|e| {
        Failure::retry(
            format!("LinkedIn gave an upload address that is not a URL: {e}"),
            None,
        )
    })?;
    let request = http.put(&upload_url).map(|r| {
        r.bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(image.png.to_vec())
    });
    let response = crate::fetch(request, "LinkedIn").await?;
    let status = response.status().as_u16();
    if !(200..=299).contains(&status) {
        return Err(Failure::retry(
            format!("LinkedIn did not take the image's bytes ({status})"),
            None,
        ));
    }
    // LinkedIn takes up to 4,086 characters of alt text.
    Ok(Some((
        urn.to_owned(),
        image.alt.chars().take(4086).collect(),
    )))
}

pub async fn publish(
    http: &Http,
    api: &Url,
    token: &str,
    author: &str,
    expires_at: Option<i64>,
    text: &str,
    image: Option<crate::PostImage<'_>>,
) -> Result<Sent, Failure> {
    // An expired token would only earn a 401: say so without the request.
    if let Some(at) = expires_at.filter(|at| *at <= covalynce_domain::now_millis()) {
        return Err(Failure::broken(format!(
            "the LinkedIn access token expired on {} (they last 60 days); connect LinkedIn again",
            &covalynce_domain::time::format_rfc3339(at)[..10]
        )));
    }
    check(text).map_err(Failure::permanent)?;
    // The image goes up first; only the post is made once (an upload that is not used
    // is dropped by LinkedIn).
    let media = match image {
        Some(image) => upload(http, api, token, author, image).await?,
        None => None,
    };
    let left_out = image.is_some() && media.is_none();
    let mut body = json!({
        "author": author,
        "commentary": escape(text),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
    });
    if let Some((urn, alt)) = &media {
        body["content"] = json!({ "media": { "id": urn, "altText": alt } });
    }
    let url = endpoint(api, "/rest/posts")?;
    let response = http
        .post(&url)
        .map_err(|r| Failure::broken(r.0))?
        .bearer_auth(token)
        .header("LinkedIn-Version", VERSION)
        .header("X-Restli-Protocol-Version", "2.0.0")
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            Failure::unanswered_post(
                e,
                "LinkedIn",
                "the post may or may not be on LinkedIn: look at the profile",
            )
        })?;
    let status = response.status().as_u16();
    let urn = response
        .headers()
        .get("x-restli-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let wait = crate::retry_after(response.headers());
    let body = response.text().await.unwrap_or_default();
    match status {
        200..=299 => Ok(Sent {
            url: urn.map(|u| format!("https://www.linkedin.com/feed/update/{u}/")),
            pause_until: None,
            note: left_out.then(|| {
                "posted without the release image: LinkedIn did not let this token upload it".into()
            }),
        }),
        // Renewed where a refresh token is held; otherwise the channel stops.
        401 => Err(Failure::Expired {
            message: format!(
                "LinkedIn refused the access token ({}): it expired or was revoked",
                message_of(&body)
            ),
        }),
        403 => Err(Failure::broken(format!(
            "LinkedIn says this token may not post for {author} ({}): it needs w_member_social (or w_organization_social for a page)",
            message_of(&body)
        ))),
        429 => Err(Failure::retry(
            "LinkedIn's daily limit for this member or app is reached (429); it resets at midnight UTC",
            wait,
        )),
        500..=599 => Err(Failure::retry(
            format!(
                "LinkedIn had an internal error ({status}: {})",
                message_of(&body)
            ),
            wait,
        )),
        _ => Err(Failure::permanent(format!(
            "LinkedIn rejected the post ({status}): {}",
            message_of(&body)
        ))),
    }
}

/// A LinkedIn channel, opened.
#[derive(Clone)]
pub struct Linkedin {
    api: Url,
    token: String,
    /// `urn:li:person:…` or `urn:li:organization:…`.
    author: String,
    /// When the token stops working (Unix ms), if known.
    expires_at: Option<i64>,
}

impl Platform for Linkedin {
    // LinkedIn takes no idempotency key.
    const RECOVERY: Recovery = Recovery::AskAPerson;
    const TAKES_MEDIA: bool = true;
    const LOOK: Look = Look::Folded;

    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        _: &Opening<'_>,
    ) -> Result<Self, String> {
        let (ChannelSettings::Linkedin(l), ChannelSecrets::Linkedin(s)) =
            (&config.settings, secrets)
        else {
            return Err(mismatch(config, secrets));
        };
        Ok(Linkedin {
            api: crate::platform::url(config.kind(), &l.api_base, "api_base")?,
            token: s.access_token.clone(),
            author: l.author.clone(),
            expires_at: l.expires_at,
        })
    }

    async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        publish(
            http,
            &self.api,
            &self.token,
            &self.author,
            self.expires_at,
            post.text_for("linkedin"),
            post.image,
        )
        .await
    }

    // A post would be public: checking the member and the token is the test.
    async fn test(&self, http: &Http, _: &str) -> Result<String, Failure> {
        member(http, &self.api, &self.token)
            .await
            .map(|(_, name)| format!("connected as {name} on LinkedIn"))
    }

    /// The refresh token (365 days from the first authorization; it does not rotate) for a
    /// new 60-day access token.
    async fn renew(
        http: &Http,
        settings: &ChannelSettings,
        secrets: ChannelSecrets,
    ) -> Result<(ChannelSecrets, ChannelSettings), Failure> {
        use crate::platform::broken;
        use covalynce_domain::now_millis;
        let (ChannelSettings::Linkedin(settings), ChannelSecrets::Linkedin(mut tokens)) =
            (settings, secrets)
        else {
            return Err(broken("the LinkedIn channel's tokens cannot be renewed"));
        };
        let (Some(refresh_token), Some(client_id), Some(client_secret)) = (
            tokens.refresh_token.as_deref(),
            settings.client_id.as_deref(),
            tokens.client_secret.as_deref(),
        ) else {
            return Err(broken(
                "the LinkedIn access token expired and this channel has no refresh token to renew it; connect LinkedIn again",
            ));
        };
        let web = settings.web_base.as_deref().unwrap_or(WEB_BASE);
        let web =
            Url::parse(web).map_err(|_| broken("the LinkedIn channel's address is invalid"))?;
        let grant = refresh(http, &web, client_id, client_secret, refresh_token)
            .await
            .map_err(|f| match f {
                Failure::Expired { message } => broken(format!(
                    "{message}; the refresh token ran out (a year after connecting) or was revoked: connect LinkedIn again"
                )),
                other => other,
            })?;
        tokens.access_token = grant.access_token;
        tokens.refresh_token = grant.refresh_token;
        let mut settings = settings.clone();
        settings.expires_at = grant.expires_in.map(|s| now_millis() + s * 1000);
        if let Some(s) = grant.refresh_token_expires_in {
            settings.refresh_expires_at = Some(now_millis() + s * 1000);
        }
        Ok((
            ChannelSecrets::Linkedin(tokens),
            ChannelSettings::Linkedin(settings),
        ))
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
    fn little_text_markup_is_escaped_so_nothing_is_cut() {
        assert_eq!(
            escape(r"v2 (beta) #launch @team [x] {y} <z> a|b ~c *d* _e_ \f"),
            r"v2 \(beta\) \#launch \@team \[x\] \{y\} \<z\> a\|b \~c \*d\* \_e\_ \\f"
        );
        assert_eq!(escape("plain words, 100% ok!"), "plain words, 100% ok!");
    }
}
