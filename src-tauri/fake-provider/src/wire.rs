//! The three wire formats the fake speaks, and the scripted stream that carries them.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, value::RawValue, Value};

use crate::{Script, State};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    OpenAi,
    OpenRouter,
    Anthropic,
}

/// One piece of the response body, sent after a pause, or at `due_us` after the stream's start.
struct Step {
    delay_ms: u64,
    due_us: Option<u64>,
    what: Emit,
}

enum Emit {
    Bytes(Vec<u8>),
    /// Cut the connection.
    Drop,
    /// Send nothing more, and keep the connection open until the client goes.
    Stall,
}

impl Step {
    fn bytes(delay_ms: u64, s: String) -> Self {
        Step { delay_ms, due_us: None, what: Emit::Bytes(s.into_bytes()) }
    }
}

/// The same response, one byte at a time, `ms` apart.
fn drip(steps: Vec<Step>, ms: u64) -> Vec<Step> {
    let mut out = Vec::new();
    for step in steps {
        match step.what {
            Emit::Bytes(bytes) => out.extend(bytes.into_iter().map(|b| Step { delay_ms: ms, due_us: None, what: Emit::Bytes(vec![b]) })),
            other => out.push(Step { delay_ms: step.delay_ms, due_us: None, what: other }),
        }
    }
    out
}

const LOGIN_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Sign in - Corporate Proxy</title></head>\n<body><h1>Please sign in</h1><form method=\"post\"><input name=\"user\"></form></body></html>\n";

pub(crate) fn last_user_text(body: &Value) -> Option<String> {
    body.get("messages")?
        .as_array()?
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .and_then(|m| m.get("content"))
        .map(|c| match c {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
}

fn prompt_tokens(body: &Value) -> u64 {
    let mut chars = body.get("system").map_or(0, |s| s.to_string().len());
    if let Some(msgs) = body.get("messages").and_then(Value::as_array) {
        chars += msgs.iter().filter_map(|m| m.get("content")).map(|c| c.as_str().map_or_else(|| c.to_string().len(), str::len)).sum::<usize>();
    }
    (chars as u64).div_ceil(4).max(1)
}

/// The default answer: a little markdown that names the model and echoes the prompt, padded
/// with numbered words to the requested token count.
fn default_reply(model: &str, prompt: &str, tokens: usize) -> Vec<String> {
    let excerpt: String = prompt.chars().take(60).collect();
    let head = format!("**{model}** (fake) answering: \"{}\".\n\nHere is a list:\n\n- one\n- two\n\nAnd some filler:", excerpt.replace('\n', " "));
    let mut out: Vec<String> = split_tokens(&head);
    let mut i = 1;
    while out.len() < tokens {
        out.push(format!(" word{i}"));
        i += 1;
    }
    out.truncate(tokens.max(1));
    out
}

/// Like [`default_reply`], but the filler reads like a model's long answer: paragraphs of about
/// 60 numbered words with some **bold** and `code`, and every few paragraphs a short list or a
/// code block, so that markdown blocks close as they do in real answers.
fn prose_reply(model: &str, tokens: usize) -> Vec<String> {
    let mut out = split_tokens(&format!("**{model}** (fake) answering at length."));
    let (mut word, mut block) = (1usize, 0usize);
    while out.len() < tokens {
        block += 1;
        out.push("\n\n".into());
        match block % 7 {
            3 => {
                for item in 0..4 {
                    out.push(format!("{}- item", if item == 0 { "" } else { "\n" }));
                    for _ in 0..6 {
                        out.push(format!(" word{word}"));
                        word += 1;
                    }
                }
            }
            6 => {
                out.push("```rust".into());
                for line in 0..6 {
                    out.push(format!("\nlet word{word} = {line} * 2; // line {line}"));
                    word += 1;
                }
                out.push("\n```".into());
            }
            _ => {
                for i in 0..60 {
                    let w = match i % 17 {
                        5 => format!(" **word{word}**"),
                        11 => format!(" `word{word}`"),
                        16 => format!(" word{word}."),
                        _ => format!(" word{word}"),
                    };
                    out.push(if i == 0 { w.trim_start().to_string() } else { w });
                    word += 1;
                }
            }
        }
    }
    out.truncate(tokens.max(1));
    out
}

/// Splits text into tokens at word boundaries, keeping the spaces.
fn split_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars() {
        if (ch == ' ' || ch == '\n') && !cur.trim().is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(ch);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn sse(data: &Value) -> String {
    format!("data: {data}\n\n")
}

fn event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// `n × 0.00000015 + m × 0.0000006`, exact, written as a JSON number the way OpenRouter does.
fn openrouter_cost(prompt: u64, completion: u64) -> Box<RawValue> {
    let units = prompt * 15 + completion * 60; // in 1e-8 USD
    let text = format!("{}.{:08}", units / 100_000_000, units % 100_000_000);
    let text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    RawValue::from_string(if text.is_empty() { "0".into() } else { text }).unwrap_or_else(|_| RawValue::from_string("0".into()).expect("0 is JSON"))
}

fn error_body(flavour: Flavour, status: u16) -> Value {
    let (kind, message) = match status {
        401 => ("authentication_error", "Incorrect API key provided."),
        402 => ("insufficient_credits", "Insufficient credits. Add more using https://openrouter.ai/credits"),
        404 => ("not_found_error", "The model does not exist or you do not have access to it."),
        429 => ("rate_limit_error", "Rate limit reached for requests. Please try again later."),
        529 => ("overloaded_error", "Overloaded"),
        400 => ("invalid_request_error", "Invalid request."),
        _ => ("api_error", "The server had an error while processing your request."),
    };
    match flavour {
        Flavour::Anthropic => json!({"type": "error", "error": {"type": kind, "message": message}}),
        Flavour::OpenRouter => json!({"error": {"code": status, "message": message}}),
        Flavour::OpenAi => json!({"error": {"message": message, "type": kind, "code": Value::Null}}),
    }
}

pub(crate) async fn respond(state: Arc<State>, flavour: Flavour, path: &str, headers: HeaderMap, body: Value) -> Response {
    let (index, rec) = state.record_at(path, &headers, &body);
    let script = state.script_for(&rec);
    if let Some(ms) = script.first_byte_delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let status = match (&rec.key, script.status) {
        (_, Some(s)) => s,
        (None, _) => 401,
        (Some(_), None) => 200,
    };
    if status == 200 && script.html {
        return ([("content-type", "text/html; charset=utf-8")], LOGIN_PAGE).into_response();
    }
    if status != 200 {
        let mut resp = (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(error_body(flavour, status))).into_response();
        if let Some(secs) = script.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert("retry-after", v);
            }
        }
        return resp;
    }
    let steps = match &script.fixture {
        Some(name) => match fixture_steps(&state, flavour, &script, name, script.pace_ms.unwrap_or(state.defaults.pace_ms)) {
            Ok(steps) => steps,
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("fake provider: no fixture {name}: {e}")).into_response(),
        },
        None => scripted_steps(&state, flavour, &body, &script),
    };
    let steps = match script.drip_ms {
        Some(ms) => drip(steps, ms),
        None => steps,
    };
    stream_response(steps, move |completed| state.stream_ended(index, completed))
}

/// Streams `steps`; `done` runs once the last one was handed to the connection.
/// `ended(true)` once the last byte is handed over; `ended(false)` if the client left first.
fn stream_response(steps: Vec<Step>, ended: impl FnOnce(bool) + Send + 'static) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(16);
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        for step in steps {
            let due = match step.due_us {
                Some(us) => Some(start + Duration::from_micros(us)),
                None => (step.delay_ms > 0).then(|| tokio::time::Instant::now() + Duration::from_millis(step.delay_ms)),
            };
            if let Some(due) = due {
                // A client that hangs up is noted when the server drops the response, not at the
                // next token: benchmarks time Stop by it.
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => {}
                    _ = tx.closed() => {
                        ended(false);
                        return;
                    }
                }
            }
            let item = match step.what {
                Emit::Bytes(b) => Ok(b),
                Emit::Drop => Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "scripted drop")),
                Emit::Stall => {
                    tx.closed().await;
                    return;
                }
            };
            let abort = item.is_err();
            if tx.send(item).await.is_err() {
                ended(false);
                return;
            }
            if abort {
                return;
            }
        }
        ended(true);
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn fixture_steps(state: &State, flavour: Flavour, script: &Script, name: &str, pace_ms: u64) -> std::io::Result<Vec<Step>> {
    if name.contains('/') || name.contains("..") {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "fixture names are plain file names"));
    }
    let text = std::fs::read_to_string(state.defaults.fixtures_dir.join(format!("{name}.sse")))?;
    let text = text.replace("\r\n", "\n");
    if flavour == Flavour::OpenRouter {
        crate::generation::remember_fixture(state, &text, script.generation_lag.unwrap_or(0), script.generation.clone().unwrap_or_default());
    }
    Ok(text
        .split_inclusive("\n\n")
        .map(|chunk| Step::bytes(pace_ms, chunk.to_string()))
        .collect())
}

fn scripted_steps(state: &State, flavour: Flavour, body: &Value, script: &Script) -> Vec<Step> {
    let model = body.get("model").and_then(Value::as_str).unwrap_or("fake-model").to_string();
    let prompt = last_user_text(body).unwrap_or_default();
    let mut tokens = match &script.reply {
        Some(reply) => split_tokens(reply),
        None if script.prose => prose_reply(&model, script.tokens.unwrap_or(state.defaults.tokens)),
        None => default_reply(&model, &prompt, script.tokens.unwrap_or(state.defaults.tokens)),
    };
    if let Some(n) = script.huge_line_bytes {
        tokens.insert(0, "A".repeat(n));
    }
    let pace = script.pace_ms.unwrap_or(state.defaults.pace_ms);
    let prompt_tokens = prompt_tokens(body);
    let cached = script.cached_tokens.unwrap_or(0).min(prompt_tokens);
    let include_usage = body.pointer("/stream_options/include_usage").and_then(Value::as_bool).unwrap_or(false);
    let mut steps = Vec::new();
    let push = |steps: &mut Vec<Step>, delay_ms: u64, s: String| steps.push(Step::bytes(delay_ms, s));
    // With a rate, token i is due (i + 1) / rate seconds after the start.
    let token_step = |i: usize, what: Emit| match script.rate {
        Some(rate) => Step { delay_ms: 0, due_us: Some((i as u64 + 1) * 1_000_000 / rate), what },
        None => Step { delay_ms: pace, due_us: None, what },
    };
    let id = format!("fake-{}", prompt_tokens * 7919 + tokens.len() as u64);
    // OpenRouter names each answer by a unique generation id (its record is looked up by it).
    let generation_id = format!("gen-fake-{}", NEXT_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed));

    match flavour {
        Flavour::Anthropic => push(&mut steps, 0, event("message_start", &json!({"type": "message_start", "message": {
            "id": format!("msg_{id}"), "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "usage": {"input_tokens": prompt_tokens - cached, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached, "output_tokens": 1}}}))),
        Flavour::OpenRouter => {
            push(&mut steps, 0, ": OPENROUTER PROCESSING\n\n".into());
            push(&mut steps, pace, ": OPENROUTER PROCESSING\n\n".into());
        }
        Flavour::OpenAi => {}
    }
    if flavour == Flavour::Anthropic {
        push(&mut steps, 0, event("content_block_start", &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
        push(&mut steps, 0, event("ping", &json!({"type": "ping"})));
    }
    let chunk = |delta: Value, finish: Value| {
        let chunk_id = if flavour == Flavour::OpenRouter { generation_id.clone() } else { format!("chatcmpl-{id}") };
        let mut c = json!({"id": chunk_id, "object": "chat.completion.chunk", "created": 1_760_000_000, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        if flavour == Flavour::OpenRouter {
            c["provider"] = json!("Fake");
            c["choices"][0]["native_finish_reason"] = finish.clone();
        } else if include_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    for (i, tok) in tokens.iter().enumerate() {
        if script.drop_after == Some(i) {
            steps.push(token_step(i, Emit::Drop));
            return steps;
        }
        if script.stall_after == Some(i) {
            steps.push(token_step(i, Emit::Stall));
            return steps;
        }
        if script.malformed_after == Some(i) {
            push(&mut steps, pace, "data: {\"choices\": [{\"delta\": {\"content\": \"unterminated\n\n".into());
            return steps;
        }
        if script.error_after == Some(i) {
            let e = match flavour {
                Flavour::Anthropic => event("error", &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
                _ => sse(&json!({"id": format!("chatcmpl-{id}"), "object": "chat.completion.chunk", "model": model,
                    "error": {"code": 502, "message": "Upstream provider error"},
                    "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]})),
            };
            push(&mut steps, pace, e);
            return steps;
        }
        let data = match flavour {
            Flavour::Anthropic => event("content_block_delta", &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": tok}})),
            _ => {
                let delta = if i == 0 { json!({"role": "assistant", "content": tok}) } else { json!({"content": tok}) };
                sse(&chunk(delta, Value::Null))
            }
        };
        steps.push(token_step(i, Emit::Bytes(data.into_bytes())));
    }
    let completion = tokens.len() as u64;
    match flavour {
        Flavour::Anthropic => {
            push(&mut steps, 0, event("content_block_stop", &json!({"type": "content_block_stop", "index": 0})));
            push(&mut steps, 0, event("message_delta", &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": completion}})));
            push(&mut steps, 0, event("message_stop", &json!({"type": "message_stop"})));
        }
        Flavour::OpenAi => {
            push(&mut steps, 0, sse(&chunk(json!({}), json!("stop"))));
            if include_usage {
                let mut last = chunk(json!({}), Value::Null);
                last["choices"] = json!([]);
                last["usage"] = script.usage_json.clone().unwrap_or_else(|| json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion,
                    "prompt_tokens_details": {"cached_tokens": cached}, "completion_tokens_details": {"reasoning_tokens": 0}}));
                push(&mut steps, 0, sse(&last));
            }
            push(&mut steps, 0, "data: [DONE]\n\n".into());
        }
        Flavour::OpenRouter => {
            push(&mut steps, 0, sse(&chunk(json!({"content": ""}), json!("stop"))));
            let mut last = chunk(json!({"content": ""}), Value::Null);
            last["usage"] = script.usage_json.clone().unwrap_or_else(|| json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion,
                "cost": openrouter_cost(prompt_tokens - cached, completion), "is_byok": false,
                "prompt_tokens_details": {"cached_tokens": cached}, "completion_tokens_details": {"reasoning_tokens": 0}}));
            let line = sse(&last);
            state.remember_generation(
                generation_id.clone(),
                crate::generation::Served {
                    model: Some(model.clone()),
                    provider: Some("Fake".into()),
                    usage: Some(last["usage"].clone()),
                    cost_text: crate::generation::raw_cost(&line),
                    lag: script.generation_lag.unwrap_or(0),
                    overrides: script.generation.clone().unwrap_or_default(),
                },
            );
            push(&mut steps, 0, line);
            push(&mut steps, 0, "data: [DONE]\n\n".into());
        }
    }
    steps
}

static NEXT_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openrouter_cost_is_written_exactly() {
        assert_eq!(openrouter_cost(10, 5).get(), "0.0000045");
        assert_eq!(openrouter_cost(0, 0).get(), "0");
    }

    #[test]
    fn a_rate_puts_each_token_at_its_own_instant_finer_than_a_millisecond() {
        let state = State { scripts: Default::default(), requests: Default::default(), generations: Default::default(), defaults: crate::Defaults::default() };
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        let script = Script { tokens: Some(4), rate: Some(4000), ..Default::default() };
        let due: Vec<_> = scripted_steps(&state, Flavour::OpenAi, &body, &script).iter().filter_map(|s| s.due_us).collect();
        assert_eq!(due, [250, 500, 750, 1000]);
        assert_eq!(crate::directive("[[fake tokens=2000 rate=2000]]").rate, Some(2000));
    }

    #[test]
    fn prose_has_the_requested_token_count_and_closes_its_blocks() {
        let reply: String = prose_reply("m", 2000).concat();
        assert_eq!(prose_reply("m", 2000).len(), 2000);
        assert!(reply.matches("\n\n").count() > 20, "many paragraphs");
        assert!(reply.contains("\n- item word") && reply.contains("```rust\nlet word"), "lists and code blocks");
        assert!(crate::directive("[[fake tokens=9 prose=1]]").prose);
    }

    #[test]
    fn default_reply_has_the_requested_token_count() {
        assert_eq!(default_reply("m", "hi", 40).len(), 40);
        assert_eq!(default_reply("m", "hi", 3).len(), 3);
        assert_eq!(split_tokens("a b\nc").concat(), "a b\nc");
    }
}
