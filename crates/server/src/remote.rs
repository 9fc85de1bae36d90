//! A Covalynce server's API seen from outside: what `covalynce cards` (and any other
//! client in this binary) uses to review cards on a local or remote server with a token.
//! Problems come back in the server's own words.

use serde_json::{Value, json};
use std::time::Duration;

pub struct Remote {
    base: String,
    token: String,
    http: reqwest::Client,
    /// Sent as `X-Covalynce-Client` (cli, mcp): the audit log says how an action came.
    client: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The server answered with a problem (`detail`, HTTP status).
    #[error("{detail} (HTTP {status})")]
    Problem { status: u16, detail: String },
    #[error("the server at {0} could not be reached: {1}")]
    Unreachable(String, String),
    #[error("the server's answer is not what the API documents: {0}")]
    Unexpected(String),
}

impl Remote {
    pub fn new(base: &str, token: &str, client: &'static str) -> Result<Self, RemoteError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RemoteError::Unexpected(format!(
                "the server address must start with http:// or https://, not {base:?}"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("covalynce-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RemoteError::Unexpected(e.to_string()))?;
        Ok(Self {
            base,
            token: token.to_owned(),
            http,
            client,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, RemoteError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("X-Covalynce-Client", self.client);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            RemoteError::Unreachable(self.base.clone(), e.without_url().to_string())
        })?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| RemoteError::Unexpected(e.without_url().to_string()))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status >= 400 {
            let detail = value["detail"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| text.chars().take(200).collect());
            return Err(RemoteError::Problem { status, detail });
        }
        Ok(value)
    }

    /// Cards with `status` (pending, held, approved, …), oldest first, at most `limit`.
    pub async fn cards(&self, status: &str, limit: usize) -> Result<Vec<Value>, RemoteError> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!(
                    "/api/v1/cards?status={status}&limit={}",
                    limit.clamp(1, 100)
                ),
                None,
            )
            .await?;
        let mut cards = v["data"]
            .as_array()
            .cloned()
            .ok_or_else(|| RemoteError::Unexpected("the card list has no data".into()))?;
        cards.reverse();
        Ok(cards)
    }

    pub async fn card(&self, id: &str) -> Result<Value, RemoteError> {
        let v = self
            .call(reqwest::Method::GET, &format!("/api/v1/cards/{id}"), None)
            .await?;
        Ok(v["data"].clone())
    }

    /// Replaces one channel's text (a new revision).
    pub async fn edit(&self, id: &str, channel: &str, text: &str) -> Result<Value, RemoteError> {
        let v = self
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/cards/{id}"),
                Some(&json!({ "variants": { channel: text } })),
            )
            .await?;
        Ok(v["data"].clone())
    }

    /// Asks the workspace's AI to rewrite the card (or some channels) as instructed.
    pub async fn refine(
        &self,
        id: &str,
        instruction: &str,
        channels: Option<&[String]>,
    ) -> Result<Value, RemoteError> {
        let mut body = json!({ "instruction": instruction });
        if let Some(c) = channels {
            body["channels"] = json!(c);
        }
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/cards/{id}/refine"),
                Some(&body),
            )
            .await?;
        Ok(v["data"].clone())
    }

    /// The workspace's channels.
    pub async fn channels(&self) -> Result<Vec<Value>, RemoteError> {
        let v = self
            .call(reqwest::Method::GET, "/api/v1/channels", None)
            .await?;
        Ok(v["data"].as_array().cloned().unwrap_or_default())
    }

    /// Channel ids for names or ids (case does not matter); every active channel when
    /// none are named.
    pub async fn channel_ids(&self, named: &[String]) -> Result<Vec<String>, RemoteError> {
        let channels = self.channels().await?;
        if named.is_empty() {
            let active: Vec<String> = channels
                .iter()
                .filter(|c| c["status"] == "active")
                .filter_map(|c| c["id"].as_str().map(str::to_owned))
                .collect();
            if active.is_empty() {
                return Err(RemoteError::Problem {
                    status: 409,
                    detail: "the workspace has no active channel to approve to".into(),
                });
            }
            return Ok(active);
        }
        named
            .iter()
            .map(|n| {
                channels
                    .iter()
                    .find(|c| {
                        c["id"].as_str() == Some(n.as_str())
                            || c["name"]
                                .as_str()
                                .is_some_and(|name| name.eq_ignore_ascii_case(n))
                    })
                    .and_then(|c| c["id"].as_str().map(str::to_owned))
                    .ok_or_else(|| RemoteError::Problem {
                        status: 404,
                        detail: format!(
                            "there is no channel {n:?} (known: {})",
                            channels
                                .iter()
                                .filter_map(|c| c["name"].as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
            })
            .collect()
    }

    /// `as_thread`: yes to a text a channel cuts into a thread (a person's answer only).
    pub async fn approve(
        &self,
        id: &str,
        channels: &[String],
        as_thread: bool,
    ) -> Result<Value, RemoteError> {
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/cards/{id}/approve"),
                Some(&json!({ "channels": channels, "as_thread": as_thread })),
            )
            .await?;
        Ok(v["data"].clone())
    }

    pub async fn dismiss(&self, id: &str) -> Result<Value, RemoteError> {
        let v = self
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/cards/{id}/dismiss"),
                Some(&json!({})),
            )
            .await?;
        Ok(v["data"].clone())
    }
}

/// One card as a person reads it in a terminal.
pub fn describe(card: &Value) -> String {
    let s = |k: &str| card[k].as_str().unwrap_or_default();
    let mut out = format!(
        "{}  [{}]  risk {}\n{}\n",
        s("id"),
        s("status"),
        card["risk"].as_str().unwrap_or("unknown"),
        s("title")
    );
    for r in card["risk_reasons"].as_array().into_iter().flatten() {
        out.push_str(&format!("  ! {}\n", r.as_str().unwrap_or_default()));
    }
    for (channel, text) in card["variants"].as_object().into_iter().flatten() {
        out.push_str(&format!(
            "\n--- {channel}\n{}\n",
            text.as_str().unwrap_or_default()
        ));
    }
    out
}

/// One line per card: id, status, risk, title.
pub fn line(card: &Value) -> String {
    format!(
        "{}  {:<9} {:<7} {}",
        card["id"].as_str().unwrap_or_default(),
        card["status"].as_str().unwrap_or_default(),
        card["risk"].as_str().unwrap_or("-"),
        card["title"].as_str().unwrap_or_default()
    )
}
