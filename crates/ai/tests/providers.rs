//! Each provider's documented protocol against a local server that speaks it: request
//! shape and authentication, answers, error bodies, rate limits; then the fallback chain
//! and what leaves the machine under each privacy setting.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use covalynce_ai::prompt::PostRequest;
use covalynce_ai::*;
use covalynce_drafting::Channel;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the fake answers, in order (the last one repeats).
#[derive(Clone)]
enum Reply {
    Ok(Value),
    /// A `text/event-stream` body.
    Sse(String),
    Status(u16, Value, Option<&'static str>),
    Hang,
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, HeaderMap, Value)>>>);

#[derive(Clone)]
struct Fake {
    replies: Arc<Mutex<Vec<Reply>>>,
    seen: Seen,
}

async fn handle(State(f): State<Fake>, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    f.seen
        .0
        .lock()
        .unwrap()
        .push((uri.path().to_owned(), headers, value));
    let reply = {
        let mut r = f.replies.lock().unwrap();
        if r.len() > 1 {
            r.remove(0)
        } else {
            r[0].clone()
        }
    };
    match reply {
        Reply::Ok(v) => axum::Json(v).into_response(),
        Reply::Sse(body) => ([("content-type", "text/event-stream")], body).into_response(),
        Reply::Status(code, v, retry) => {
            let mut r = (StatusCode::from_u16(code).unwrap(), axum::Json(v)).into_response();
            if let Some(s) = retry {
                r.headers_mut().insert("retry-after", s.parse().unwrap());
            }
            r
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

/// A local server answering `replies`; returns its base URL and what it saw.
async fn fake(replies: Vec<Reply>) -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new().fallback(handle).with_state(Fake {
        replies: Arc::new(Mutex::new(replies)),
        seen: seen.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn provider(kind: ProviderKind, base: &str, timeout_ms: u64, retries: u32) -> Box<dyn Provider> {
    Box::new(HttpProvider::new(
        ProviderConfig {
            kind,
            model: match kind {
                ProviderKind::OpenAiCompatible => "gpt-4o-mini".into(),
                ProviderKind::Anthropic => "claude-haiku-4-5".into(),
                ProviderKind::Gemini => "gemini-2.0-flash".into(),
            },
            base_url: base.into(),
            api_key: "sk-test-key-0123456789".into(),
            timeout: Duration::from_millis(timeout_ms),
            retries,
            max_wait: Duration::from_secs(2),
        },
        reqwest::Client::new(),
    ))
}

fn openai_ok(text: &str) -> Reply {
    Reply::Ok(json!({
        "id": "chatcmpl-123", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160}
    }))
}

fn anthropic_ok(text: &str) -> Reply {
    Reply::Ok(json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 110, "output_tokens": 35}
    }))
}

fn gemini_ok(text: &str) -> Reply {
    Reply::Ok(json!({
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 30, "totalTokenCount": 130},
        "modelVersion": "gemini-2.0-flash"
    }))
}

fn prompt() -> Prompt {
    Prompt {
        system: "system words".into(),
        user: "user words".into(),
        max_tokens: 256,
    }
}

#[tokio::test]
async fn openai_compatible_servers_get_chat_completions_with_a_bearer_key() {
    let (base, seen) = fake(vec![openai_ok("Shipped!")]).await;
    let p = provider(
        ProviderKind::OpenAiCompatible,
        &format!("{base}/v1"),
        5_000,
        0,
    );
    let c = p.complete(&prompt()).await.unwrap();
    assert_eq!(
        c,
        Completion {
            text: "Shipped!".into(),
            tokens_in: 120,
            tokens_out: 40
        }
    );
    let seen = seen.0.lock().unwrap();
    let (path, headers, body) = &seen[0];
    assert_eq!(path, "/v1/chat/completions");
    assert_eq!(headers["authorization"], "Bearer sk-test-key-0123456789");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "system words"})
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": "user words"})
    );
    assert_eq!(body["max_tokens"], 256);
}

#[tokio::test]
async fn anthropic_gets_messages_with_its_key_and_version_headers() {
    let (base, seen) = fake(vec![anthropic_ok("Shipped!")]).await;
    let p = provider(ProviderKind::Anthropic, &base, 5_000, 0);
    let c = p.complete(&prompt()).await.unwrap();
    assert_eq!(
        c,
        Completion {
            text: "Shipped!".into(),
            tokens_in: 110,
            tokens_out: 35
        }
    );
    let seen = seen.0.lock().unwrap();
    let (path, headers, body) = &seen[0];
    assert_eq!(path, "/v1/messages");
    assert_eq!(headers["x-api-key"], "sk-test-key-0123456789");
    assert_eq!(headers["anthropic-version"], "2023-06-01");
    assert!(headers.get("authorization").is_none());
    assert_eq!(body["system"], "system words");
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "user words"}])
    );
    assert_eq!(body["max_tokens"], 256);
}

#[tokio::test]
async fn gemini_gets_generate_content_with_its_key_header() {
    let (base, seen) = fake(vec![gemini_ok("Shipped!")]).await;
    let p = provider(ProviderKind::Gemini, &base, 5_000, 0);
    let c = p.complete(&prompt()).await.unwrap();
    assert_eq!(
        c,
        Completion {
            text: "Shipped!".into(),
            tokens_in: 100,
            tokens_out: 30
        }
    );
    let seen = seen.0.lock().unwrap();
    let (path, headers, body) = &seen[0];
    assert_eq!(path, "/v1beta/models/gemini-2.0-flash:generateContent");
    assert_eq!(headers["x-goog-api-key"], "sk-test-key-0123456789");
    assert_eq!(
        body["systemInstruction"]["parts"][0]["text"],
        "system words"
    );
    assert_eq!(body["contents"][0]["parts"][0]["text"], "user words");
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 256);
}

#[tokio::test]
async fn errors_come_back_in_each_providers_own_words_without_the_key() {
    let (base, _) = fake(vec![Reply::Status(
        401,
        json!({"error": {"message": "Incorrect API key provided: sk-te***789.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}),
        None,
    )])
    .await;
    let e = provider(ProviderKind::OpenAiCompatible, &base, 5_000, 2)
        .complete(&prompt())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        AiError::Refused {
            provider: "openai",
            status: 401,
            message: "Incorrect API key provided: sk-te***789.".into()
        },
        "401 is not retried"
    );
    let (base, seen) = fake(vec![Reply::Status(
        529,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        None,
    )])
    .await;
    let e = provider(ProviderKind::Anthropic, &base, 5_000, 1)
        .complete(&prompt())
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "anthropic answered 529: Overloaded");
    assert_eq!(
        seen.0.lock().unwrap().len(),
        2,
        "overloaded is retried once"
    );
    let (base, _) = fake(vec![Reply::Status(400, json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}}), None)]).await;
    let e = provider(ProviderKind::Gemini, &base, 5_000, 0)
        .complete(&prompt())
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("API key not valid") && !e.to_string().contains("sk-test-key"),
        "{e}"
    );
    assert!(
        !format!(
            "{:?}",
            ProviderConfig {
                kind: ProviderKind::Gemini,
                model: "m".into(),
                base_url: base,
                api_key: "sk-test-key-0123456789".into(),
                timeout: Duration::from_secs(1),
                retries: 0,
                max_wait: Duration::from_secs(1),
            }
        )
        .contains("sk-test-key"),
        "Debug never shows the key"
    );
}

#[tokio::test]
async fn a_rate_limited_call_waits_as_told_and_tries_again() {
    let (base, seen) = fake(vec![
        Reply::Status(429, json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}), Some("0.3")),
        openai_ok("Shipped!"),
    ])
    .await;
    let started = Instant::now();
    let c = provider(ProviderKind::OpenAiCompatible, &base, 5_000, 2)
        .complete(&prompt())
        .await
        .unwrap();
    assert_eq!(c.text, "Shipped!");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "Retry-After was honoured"
    );
    assert_eq!(seen.0.lock().unwrap().len(), 2);
}

fn facts() -> Facts {
    Facts {
        lines: vec![
            "repository acme/rocket, release v1.4.0".into(),
            "link https://github.com/acme/rocket/releases/tag/v1.4.0".into(),
            "feat: CSV export (src/export.rs: fn export)".into(),
            "config: AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        ],
        diffs: vec!["+pub fn export(rows: &[Row]) -> String".into()],
    }
}

const OFFLINE: &str =
    "acme/rocket v1.4.0 is out: CSV export. https://github.com/acme/rocket/releases/tag/v1.4.0";

/// The founding fallback story: the first provider fails (500), the second times out, the
/// third invents a version — the offline draft stands, and every turn is on record.
#[tokio::test]
async fn when_every_provider_fails_or_invents_the_offline_draft_stands() {
    let (a, _) = fake(vec![Reply::Status(
        500,
        json!({"error": {"message": "The server had an error while processing your request."}}),
        None,
    )])
    .await;
    let (b, _) = fake(vec![Reply::Hang]).await;
    let (c, _) = fake(vec![gemini_ok(
        "Rocket v2.0.0 is out with CSV export and a new dashboard!",
    )])
    .await;
    let chain = [
        provider(ProviderKind::OpenAiCompatible, &a, 2_000, 0),
        provider(ProviderKind::Anthropic, &b, 300, 0),
        provider(ProviderKind::Gemini, &c, 2_000, 0),
    ];
    let f = facts();
    let started = Instant::now();
    let chain: Vec<&dyn Provider> = chain.iter().map(|p| p.as_ref()).collect();
    let out = run_chain(&chain, &prompt(), |t| verify(t, Channel::X, &f, OFFLINE)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "an outage never blocks for long"
    );
    assert_eq!(out.text, None, "the offline draft stands");
    let outcomes: Vec<&Outcome> = out.attempts.iter().map(|a| &a.outcome).collect();
    assert!(
        matches!(outcomes[0], Outcome::Failed(m) if m.contains("500") && m.contains("server had an error")),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[1], Outcome::Failed(m) if m.contains("did not answer in time")),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[2], Outcome::Rejected(m) if m.contains("2.0.0")),
        "{outcomes:?}"
    );
    assert_eq!(
        (out.attempts[2].tokens_in, out.attempts[2].tokens_out),
        (100, 30),
        "a rejected answer still cost tokens"
    );
}

#[tokio::test]
async fn the_first_faithful_answer_wins_and_later_providers_are_not_asked() {
    let (a, _) = fake(vec![Reply::Status(
        503,
        json!({"error": {"message": "unavailable"}}),
        None,
    )])
    .await;
    let good = "CSV export is here in acme/rocket v1.4.0 https://github.com/acme/rocket/releases/tag/v1.4.0";
    let (b, _) = fake(vec![anthropic_ok(good)]).await;
    let (c, seen_c) = fake(vec![gemini_ok("unused")]).await;
    let chain = [
        provider(ProviderKind::OpenAiCompatible, &a, 2_000, 0),
        provider(ProviderKind::Anthropic, &b, 2_000, 0),
        provider(ProviderKind::Gemini, &c, 2_000, 0),
    ];
    let f = facts();
    let chain: Vec<&dyn Provider> = chain.iter().map(|p| p.as_ref()).collect();
    let out = run_chain(&chain, &prompt(), |t| verify(t, Channel::X, &f, OFFLINE)).await;
    assert_eq!(out.text.as_deref(), Some(good));
    assert_eq!(out.attempts.len(), 2);
    assert_eq!(out.attempts[1].outcome, Outcome::Used);
    assert!(seen_c.0.lock().unwrap().is_empty());
}

/// What leaves the machine: nothing when offline; messages and analysis without diffs;
/// diffs only when allowed; secrets never — checked on what the provider received.
#[tokio::test]
async fn privacy_decides_what_leaves_and_secrets_never_do() {
    let f = facts();
    let req = |instruction| PostRequest {
        channel: Channel::X,
        voice: "plain",
        facts: &f,
        offline: OFFLINE,
        instruction,
    };
    assert_eq!(
        Prompt::for_post(&req(None), Privacy::Offline),
        None,
        "offline is the default"
    );
    assert_eq!(Privacy::default(), Privacy::Offline);
    for (privacy, diffs_sent) in [(Privacy::Messages, false), (Privacy::Diffs, true)] {
        let (base, seen) = fake(vec![openai_ok("fine")]).await;
        let p = Prompt::for_post(&req(Some("make it shorter")), privacy).unwrap();
        provider(ProviderKind::OpenAiCompatible, &base, 2_000, 0)
            .complete(&p)
            .await
            .unwrap();
        let sent = seen.0.lock().unwrap()[0].2.to_string();
        assert!(
            sent.contains("feat: CSV export") && sent.contains("make it shorter"),
            "{sent}"
        );
        assert_eq!(
            sent.contains("pub fn export(rows"),
            diffs_sent,
            "{privacy:?}: {sent}"
        );
        assert!(
            !sent.contains("wJalrXUtnFEMI"),
            "the secret was redacted before sending: {sent}"
        );
    }
}

/// Collects a stream's pieces.
async fn streamed(p: &dyn Provider) -> (Result<Completion, AiError>, Vec<String>) {
    let mut pieces = Vec::new();
    let r = p
        .stream(&prompt(), &mut |t| pieces.push(t.to_owned()))
        .await;
    (r, pieces)
}

#[tokio::test]
async fn each_protocol_streams_its_text_as_server_sent_events() {
    let sse = |events: &[Value]| {
        events
            .iter()
            .map(|e| format!("data: {e}\n\n"))
            .collect::<String>()
    };
    // OpenAI: deltas, then the usage chunk (stream_options.include_usage), then [DONE].
    let body = sse(&[
        json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
        json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Ship"}}]}),
        json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "ped!"}, "finish_reason": "stop"}]}),
        json!({"id": "c1", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}}),
    ]) + "data: [DONE]\n\n";
    let (base, seen) = fake(vec![Reply::Sse(body)]).await;
    let p = provider(ProviderKind::OpenAiCompatible, &base, 5_000, 0);
    let (r, pieces) = streamed(p.as_ref()).await;
    assert_eq!(
        r.unwrap(),
        Completion {
            text: "Shipped!".into(),
            tokens_in: 12,
            tokens_out: 3
        }
    );
    assert_eq!(pieces, ["Ship", "ped!"]);
    let sent = seen.0.lock().unwrap()[0].2.clone();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);

    // Anthropic: named events; the text comes in content_block_delta.
    let anthropic = [
        ("message_start", json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "usage": {"input_tokens": 25, "output_tokens": 1}}})),
        ("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        ("ping", json!({"type": "ping"})),
        ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}})),
        ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " world"}})),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        ("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}})),
        ("message_stop", json!({"type": "message_stop"})),
    ]
    .iter()
    .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
    .collect::<String>();
    let (base, seen) = fake(vec![Reply::Sse(anthropic)]).await;
    let p = provider(ProviderKind::Anthropic, &base, 5_000, 0);
    let (r, pieces) = streamed(p.as_ref()).await;
    assert_eq!(
        r.unwrap(),
        Completion {
            text: "Hello world".into(),
            tokens_in: 25,
            tokens_out: 7
        }
    );
    assert_eq!(pieces, ["Hello", " world"]);
    assert_eq!(seen.0.lock().unwrap()[0].2["stream"], true);

    // An error event mid-stream (Anthropic documents overloaded_error there).
    let broken = "event: message_start\ndata: {\"type\": \"message_start\", \"message\": {\"usage\": {\"input_tokens\": 3}}}\n\nevent: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
    let (base, _) = fake(vec![Reply::Sse(broken.into())]).await;
    let p = provider(ProviderKind::Anthropic, &base, 5_000, 0);
    let (r, _) = streamed(p.as_ref()).await;
    assert!(r.unwrap_err().to_string().contains("Overloaded"));

    // Gemini: streamGenerateContent?alt=sse, chunks of GenerateContentResponse.
    let body = sse(&[
        json!({"candidates": [{"content": {"parts": [{"text": "Rock"}], "role": "model"}, "index": 0}]}),
        json!({"candidates": [{"content": {"parts": [{"text": "et"}], "role": "model"}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 2, "totalTokenCount": 11}}),
    ]);
    let (base, seen) = fake(vec![Reply::Sse(body)]).await;
    let p = provider(ProviderKind::Gemini, &base, 5_000, 0);
    let (r, pieces) = streamed(p.as_ref()).await;
    assert_eq!(
        r.unwrap(),
        Completion {
            text: "Rocket".into(),
            tokens_in: 9,
            tokens_out: 2
        }
    );
    assert_eq!(pieces, ["Rock", "et"]);
    assert_eq!(
        seen.0.lock().unwrap()[0].0,
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
    );

    // Refused before any text: the provider's own words, as with `complete`.
    let (base, _) = fake(vec![Reply::Status(
        401,
        json!({"error": {"message": "Incorrect API key provided"}}),
        None,
    )])
    .await;
    let p = provider(ProviderKind::OpenAiCompatible, &base, 5_000, 0);
    let (r, pieces) = streamed(p.as_ref()).await;
    assert!(
        r.unwrap_err()
            .to_string()
            .contains("Incorrect API key provided")
    );
    assert!(pieces.is_empty());
}
