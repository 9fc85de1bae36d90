//! The three wire protocols, behind one trait.

use crate::prompt::Prompt;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// `POST {base}/chat/completions`, `Authorization: Bearer`.
    OpenAiCompatible,
    /// `POST {base}/v1/messages`, `x-api-key`, `anthropic-version: 2023-06-01`.
    Anthropic,
    /// `POST {base}/v1beta/models/{model}:generateContent`, `x-goog-api-key`.
    Gemini,
}

impl ProviderKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "openai" | "openai_compatible" => Some(Self::OpenAiCompatible),
            "anthropic" => Some(Self::Anthropic),
            "gemini" => Some(Self::Gemini),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAiCompatible => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
        }
    }

    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::OpenAiCompatible => "https://api.openai.com/v1",
            Self::Anthropic => "https://api.anthropic.com",
            Self::Gemini => "https://generativelanguage.googleapis.com",
        }
    }
}

/// One link of the chain. The key is kept out of `Debug`.
#[derive(Clone)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    pub model: String,
    pub base_url: String,
    pub api_key: String,
    /// The whole call, retries included.
    pub timeout: Duration,
    /// Retries after 429 / 5xx (honouring `Retry-After` up to `max_wait`).
    pub retries: u32,
    pub max_wait: Duration,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("kind", &self.kind)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .field("api_key", &"***")
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
}

/// Why a provider gave no usable text. Messages carry the provider's own words, never
/// the key or the request.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AiError {
    #[error("{provider} answered {status}: {message}")]
    Refused {
        provider: &'static str,
        status: u16,
        message: String,
    },
    #[error("{0} did not answer in time")]
    Timeout(&'static str),
    #[error("could not reach {provider}: {message}")]
    Unreachable {
        provider: &'static str,
        message: String,
    },
    #[error("{provider} answered something unusable: {message}")]
    Malformed {
        provider: &'static str,
        message: String,
    },
}

#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;
    fn model(&self) -> &str;
    async fn complete(&self, prompt: &Prompt) -> Result<Completion, AiError>;

    /// Like `complete`, handing each piece of text to `on_text` as it arrives. Providers
    /// that cannot stream hand over the whole text once.
    async fn stream(
        &self,
        prompt: &Prompt,
        on_text: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<Completion, AiError> {
        let c = self.complete(prompt).await?;
        on_text(&c.text);
        Ok(c)
    }
}

/// A provider reached over HTTP with its documented protocol.
pub struct HttpProvider {
    config: ProviderConfig,
    http: reqwest::Client,
}

impl HttpProvider {
    pub fn new(config: ProviderConfig, http: reqwest::Client) -> Self {
        Self { config, http }
    }

    fn request(&self, prompt: &Prompt) -> reqwest::RequestBuilder {
        self.request_with(prompt, false)
    }

    /// The protocol's request; `stream` asks for server-sent events.
    fn request_with(&self, prompt: &Prompt, stream: bool) -> reqwest::RequestBuilder {
        let c = &self.config;
        let base = c.base_url.trim_end_matches('/');
        match c.kind {
            ProviderKind::OpenAiCompatible => {
                let mut body = json!({
                    "model": c.model,
                    "messages": [
                        {"role": "system", "content": prompt.system},
                        {"role": "user", "content": prompt.user},
                    ],
                    "max_tokens": prompt.max_tokens,
                    "temperature": 0.4,
                    "stream": stream,
                });
                if stream {
                    // The usage arrives in a last chunk only when asked for.
                    body["stream_options"] = json!({"include_usage": true});
                }
                self.http
                    .post(format!("{base}/chat/completions"))
                    .bearer_auth(&c.api_key)
                    .json(&body)
            }
            ProviderKind::Anthropic => self
                .http
                .post(format!("{base}/v1/messages"))
                .header("x-api-key", &c.api_key)
                .header("anthropic-version", "2023-06-01")
                .json(&json!({
                    "model": c.model,
                    "max_tokens": prompt.max_tokens,
                    "system": prompt.system,
                    "messages": [{"role": "user", "content": prompt.user}],
                    "temperature": 0.4,
                    "stream": stream,
                })),
            ProviderKind::Gemini => self
                .http
                .post(if stream {
                    format!(
                        "{base}/v1beta/models/{}:streamGenerateContent?alt=sse",
                        c.model
                    )
                } else {
                    format!("{base}/v1beta/models/{}:generateContent", c.model)
                })
                .header("x-goog-api-key", &c.api_key)
                .json(&json!({
                    "systemInstruction": {"parts": [{"text": prompt.system}]},
                    "contents": [{"role": "user", "parts": [{"text": prompt.user}]}],
                    "generationConfig": {"maxOutputTokens": prompt.max_tokens, "temperature": 0.4},
                })),
        }
    }

    fn parse(&self, body: &Value) -> Result<Completion, String> {
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        match self.config.kind {
            ProviderKind::OpenAiCompatible => Ok(Completion {
                text: body["choices"][0]["message"]["content"]
                    .as_str()
                    .ok_or("no choices[0].message.content")?
                    .to_owned(),
                tokens_in: n(&body["usage"]["prompt_tokens"]),
                tokens_out: n(&body["usage"]["completion_tokens"]),
            }),
            ProviderKind::Anthropic => {
                let text: String = body["content"]
                    .as_array()
                    .ok_or("no content blocks")?
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .collect();
                Ok(Completion {
                    text,
                    tokens_in: n(&body["usage"]["input_tokens"]),
                    tokens_out: n(&body["usage"]["output_tokens"]),
                })
            }
            ProviderKind::Gemini => {
                let candidate = &body["candidates"][0];
                if candidate.is_null() {
                    let why = body["promptFeedback"]["blockReason"]
                        .as_str()
                        .unwrap_or("no candidates");
                    return Err(format!("no answer ({why})"));
                }
                let text: String = candidate["content"]["parts"]
                    .as_array()
                    .ok_or("no content parts")?
                    .iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect();
                Ok(Completion {
                    text,
                    tokens_in: n(&body["usageMetadata"]["promptTokenCount"]),
                    tokens_out: n(&body["usageMetadata"]["candidatesTokenCount"]),
                })
            }
        }
    }

    /// The provider's own error message from its documented error body.
    fn error_message(body: &str) -> String {
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let found = parsed.as_ref().and_then(|v| {
            // OpenAI and Gemini: {"error": {"message"}}; Anthropic: {"type": "error",
            // "error": {"type", "message"}}.
            v["error"]["message"]
                .as_str()
                .or_else(|| v["error"].as_str())
                .or_else(|| v["message"].as_str())
                .map(str::to_owned)
        });
        let text = found.unwrap_or_else(|| body.trim().to_owned());
        text.chars().take(300).collect()
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?;
    v.trim().parse::<f64>().ok().map(Duration::from_secs_f64)
}

#[async_trait::async_trait]
impl Provider for HttpProvider {
    fn kind(&self) -> ProviderKind {
        self.config.kind
    }

    fn model(&self) -> &str {
        &self.config.model
    }

    async fn complete(&self, prompt: &Prompt) -> Result<Completion, AiError> {
        let name = self.config.kind.as_str();
        let deadline = Instant::now() + self.config.timeout;
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(AiError::Timeout(name));
            }
            let sent = tokio::time::timeout(left, self.request(prompt).send()).await;
            let response = match sent {
                Err(_) => return Err(AiError::Timeout(name)),
                Ok(Err(e)) if e.is_timeout() => return Err(AiError::Timeout(name)),
                Ok(Err(e)) => {
                    return Err(AiError::Unreachable {
                        provider: name,
                        // Without the URL: a base URL may carry a key (some proxies do).
                        message: e.without_url().to_string(),
                    });
                }
                Ok(Ok(r)) => r,
            };
            let status = response.status();
            let wait = retry_after(response.headers());
            let left = deadline.saturating_duration_since(Instant::now());
            let body = match tokio::time::timeout(left, response.text()).await {
                Err(_) => return Err(AiError::Timeout(name)),
                Ok(Err(e)) => {
                    return Err(AiError::Unreachable {
                        provider: name,
                        message: e.without_url().to_string(),
                    });
                }
                Ok(Ok(b)) => b,
            };
            if status.is_success() {
                let value: Value = serde_json::from_str(&body).map_err(|e| AiError::Malformed {
                    provider: name,
                    message: format!("not JSON: {e}"),
                })?;
                return self.parse(&value).map_err(|message| AiError::Malformed {
                    provider: name,
                    message,
                });
            }
            // 429 and 5xx (Anthropic's 529 "overloaded" included) are worth another try.
            let transient = status.as_u16() == 429 || status.is_server_error();
            if transient && attempt < self.config.retries {
                let backoff = Duration::from_millis(250 << attempt);
                let pause = wait.unwrap_or(backoff).min(self.config.max_wait);
                if Instant::now() + pause < deadline {
                    attempt += 1;
                    tokio::time::sleep(pause).await;
                    continue;
                }
            }
            return Err(AiError::Refused {
                provider: name,
                status: status.as_u16(),
                message: Self::error_message(&body),
            });
        }
    }

    /// Server-sent events as each protocol documents them: OpenAI `data: {choices[0].delta
    /// .content}` … `data: [DONE]` (usage in the last chunk with `stream_options`),
    /// Anthropic `content_block_delta` / `message_delta` / `error` events, Gemini
    /// `streamGenerateContent?alt=sse` chunks of `GenerateContentResponse`.
    async fn stream(
        &self,
        prompt: &Prompt,
        on_text: &mut (dyn for<'t> FnMut(&'t str) + Send),
    ) -> Result<Completion, AiError> {
        let name = self.config.kind.as_str();
        let deadline = Instant::now() + self.config.timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let request = self.request_with(prompt, true);
        let mut response = match tokio::time::timeout(left(), request.send()).await {
            Err(_) => return Err(AiError::Timeout(name)),
            Ok(Err(e)) if e.is_timeout() => return Err(AiError::Timeout(name)),
            Ok(Err(e)) => {
                return Err(AiError::Unreachable {
                    provider: name,
                    message: e.without_url().to_string(),
                });
            }
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if !status.is_success() {
            let body = tokio::time::timeout(left(), response.text())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            return Err(AiError::Refused {
                provider: name,
                status: status.as_u16(),
                message: Self::error_message(&body),
            });
        }
        let mut buffer = String::new();
        let mut out = Completion {
            text: String::new(),
            tokens_in: 0,
            tokens_out: 0,
        };
        loop {
            let chunk = match tokio::time::timeout(left(), response.chunk()).await {
                Err(_) => return Err(AiError::Timeout(name)),
                Ok(Err(e)) => {
                    return Err(AiError::Unreachable {
                        provider: name,
                        message: e.without_url().to_string(),
                    });
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => c,
            };
            buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let data: String = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect::<Vec<_>>()
                    .join("\n");
                if data.is_empty() || data == "[DONE]" {
                    continue;
                }
                let v: Value = serde_json::from_str(&data).map_err(|e| AiError::Malformed {
                    provider: name,
                    message: format!("a stream event is not JSON: {e}"),
                })?;
                let n = |v: &Value| v.as_u64().unwrap_or(0);
                let piece: Option<String> = match self.config.kind {
                    ProviderKind::OpenAiCompatible => {
                        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
                            out.tokens_in = n(&u["prompt_tokens"]);
                            out.tokens_out = n(&u["completion_tokens"]);
                        }
                        v["choices"][0]["delta"]["content"]
                            .as_str()
                            .map(str::to_owned)
                    }
                    ProviderKind::Anthropic => match v["type"].as_str() {
                        Some("message_start") => {
                            out.tokens_in = n(&v["message"]["usage"]["input_tokens"]);
                            None
                        }
                        Some("content_block_delta") => {
                            v["delta"]["text"].as_str().map(str::to_owned)
                        }
                        Some("message_delta") => {
                            out.tokens_out = n(&v["usage"]["output_tokens"]);
                            None
                        }
                        Some("error") => {
                            return Err(AiError::Unreachable {
                                provider: name,
                                message: format!(
                                    "the stream ended with an error: {}",
                                    v["error"]["message"].as_str().unwrap_or("unknown")
                                ),
                            });
                        }
                        _ => None,
                    },
                    ProviderKind::Gemini => {
                        if let Some(u) = v.get("usageMetadata") {
                            out.tokens_in = n(&u["promptTokenCount"]);
                            out.tokens_out = n(&u["candidatesTokenCount"]);
                        }
                        v["candidates"][0]["content"]["parts"]
                            .as_array()
                            .map(|parts| parts.iter().filter_map(|p| p["text"].as_str()).collect())
                    }
                };
                if let Some(text) = piece.filter(|t| !t.is_empty()) {
                    on_text(&text);
                    out.text.push_str(&text);
                }
            }
        }
        Ok(out)
    }
}
