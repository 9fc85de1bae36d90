//! "Sign in with GitHub": the OAuth web flow with `state` and PKCE (S256), which GitHub
//! supports for OAuth apps. Written against GitHub's documented endpoints
//! (`/login/oauth/authorize`, `/login/oauth/access_token`, `GET /user`, `GET /user/emails`)
//! rather than with the `oauth2` crate, which would add a second `reqwest`, `sha2` and
//! `rand` to the build for three requests.

use super::GithubOAuth;
use crate::tokens::random_token;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// What the browser carries between the redirect and the callback, sealed (AES-GCM) in a
/// short-lived cookie: nothing to store server-side, nothing readable or forgeable.
#[derive(Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub verifier: String,
    pub invitation: Option<String>,
    pub issued_at: i64,
}

pub const PENDING_TTL: Duration = Duration::from_secs(600);

impl Pending {
    pub fn new(invitation: Option<String>) -> Self {
        Self {
            state: random_token(),
            verifier: verifier(),
            invitation,
            issued_at: covalynce_domain::now_millis(),
        }
    }

    pub fn challenge(&self) -> String {
        challenge(&self.verifier)
    }

    /// Sealed for the browser's cookie.
    pub fn seal(&self, secrets: &crate::secrets::SecretBox) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(secrets.seal(&json))
    }

    /// The sign-in the browser's cookie carries, if this server sealed it less than
    /// [`PENDING_TTL`] ago and GitHub sent back its `state` (compared in constant time).
    pub fn open(
        cookie: Option<&str>,
        secrets: &crate::secrets::SecretBox,
        state: &str,
    ) -> Result<Pending, crate::AppError> {
        let expired = || {
            crate::AppError::BadRequest(
                "the sign-in took too long or started in another browser; start again".into(),
            )
        };
        let pending: Pending = cookie
            .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
            .and_then(|sealed| secrets.open(&sealed).ok())
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(expired)?;
        if covalynce_domain::now_millis() - pending.issued_at > PENDING_TTL.as_millis() as i64 {
            return Err(expired());
        }
        use subtle::ConstantTimeEq;
        if !bool::from(state.as_bytes().ct_eq(pending.state.as_bytes())) {
            return Err(crate::AppError::BadRequest(
                "the sign-in's state does not match: start again".into(),
            ));
        }
        Ok(pending)
    }
}

/// A fresh PKCE verifier: 43 characters of the unreserved set, as RFC 7636 asks.
pub fn verifier() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The S256 challenge of a PKCE verifier.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn authorize_url(cfg: &GithubOAuth, redirect_uri: &str, pending: &Pending) -> String {
    consent_url(
        cfg,
        redirect_uri,
        SIGN_IN_SCOPES,
        &pending.state,
        &pending.challenge(),
    )
}

/// What signing in asks for: who you are, nothing of your code.
pub const SIGN_IN_SCOPES: &str = "read:user user:email";
/// What "Connect GitHub" asks for, separately from signing in: read repositories (private
/// ones too: their commits and diffs), create and remove repository webhooks.
pub const CONNECT_SCOPES: &str = "repo admin:repo_hook";

/// GitHub's consent page for `scope`, with `state` and the PKCE challenge.
pub fn consent_url(
    cfg: &GithubOAuth,
    redirect_uri: &str,
    scope: &str,
    state: &str,
    challenge: &str,
) -> String {
    let mut url = reqwest::Url::parse(&format!(
        "{}/login/oauth/authorize",
        cfg.web_base.trim_end_matches('/')
    ))
    .unwrap_or_else(|_| {
        reqwest::Url::parse("https://github.com/login/oauth/authorize").expect("valid")
    });
    url.query_pairs_mut()
        .append_pair("client_id", &cfg.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("allow_signup", "true");
    url.to_string()
}

/// The GitHub account that signed in.
#[derive(Debug, Clone)]
pub struct GithubUser {
    pub id: i64,
    pub login: String,
    pub name: Option<String>,
    /// The primary email, only if GitHub has verified it.
    pub verified_email: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("GitHub refused the sign-in: {0}")]
    Refused(String),
    #[error("GitHub could not be reached or answered unexpectedly: {0}")]
    Upstream(String),
}

fn client() -> Result<reqwest::Client, OAuthError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .user_agent("covalynce")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| OAuthError::Upstream(e.to_string()))
}

fn upstream(e: reqwest::Error) -> OAuthError {
    OAuthError::Upstream(e.without_url().to_string())
}

/// Trades the callback's code for a token (with the PKCE verifier), then reads the user
/// and their verified primary email. The token is used for these two reads and dropped.
pub async fn exchange(
    cfg: &GithubOAuth,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<GithubUser, OAuthError> {
    let http = client()?;
    let token = exchange_token(cfg, code, redirect_uri, verifier).await?;
    let api = cfg.api_base.trim_end_matches('/');
    #[derive(Deserialize)]
    struct UserAnswer {
        id: i64,
        login: String,
        name: Option<String>,
    }
    let user: UserAnswer = read(&http, &format!("{api}/user"), &token).await?;
    #[derive(Deserialize)]
    struct EmailAnswer {
        email: String,
        primary: bool,
        verified: bool,
    }
    let emails: Vec<EmailAnswer> = read(&http, &format!("{api}/user/emails"), &token).await?;
    Ok(GithubUser {
        id: user.id,
        login: user.login,
        name: user.name,
        verified_email: emails
            .into_iter()
            .find(|e| e.primary && e.verified)
            .map(|e| e.email),
    })
}

/// A GET of GitHub's REST API with the person's token.
async fn read<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<T, OAuthError> {
    http.get(url)
        .bearer_auth(token)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .send()
        .await
        .map_err(upstream)?
        .error_for_status()
        .map_err(upstream)?
        .json()
        .await
        .map_err(upstream)
}

/// The code-for-token trade of GitHub's web flow (`/login/oauth/access_token`, with the
/// PKCE verifier).
pub async fn exchange_token(
    cfg: &GithubOAuth,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<String, OAuthError> {
    let http = client()?;
    #[derive(Deserialize)]
    struct TokenAnswer {
        access_token: Option<String>,
        error: Option<String>,
        error_description: Option<String>,
    }
    let answer: TokenAnswer = http
        .post(format!(
            "{}/login/oauth/access_token",
            cfg.web_base.trim_end_matches('/')
        ))
        .header("Accept", "application/json")
        .form(&[
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.as_str()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .map_err(upstream)?
        .error_for_status()
        .map_err(upstream)?
        .json()
        .await
        .map_err(upstream)?;
    match answer {
        TokenAnswer {
            access_token: Some(t),
            ..
        } => Ok(t),
        TokenAnswer {
            error,
            error_description,
            ..
        } => Err(OAuthError::Refused(
            error_description
                .or(error)
                .unwrap_or_else(|| "no access token".into()),
        )),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_challenge_is_the_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        let p = super::Pending {
            state: String::new(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            invitation: None,
            issued_at: 0,
        };
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert_eq!(super::Pending::new(None).verifier.len(), 43);
    }
}
