//! The OpenAI-compatible chat completions adapter (`POST {base}/chat/completions`, streaming).
//!
//! Covers OpenAI, OpenRouter (usage accounting with `usage.cost`, attribution headers, mid-stream
//! `error` objects), DeepSeek (`prompt_cache_hit_tokens`, `reasoning_content`), Groq, Mistral,
//! xAI, Gemini's OpenAI endpoint, Ollama and custom base URLs.

use serde::Deserialize;
use serde_json::{json, value::RawValue, Value};
use tokio_util::sync::CancellationToken;

use super::sse::{self, exact_decimal};
use super::{ChatRequest, Endpoint, ErrorKind, Meter, ProviderError};
use crate::stream::{StreamEvent, Usage};

pub(crate) fn request_body(endpoint: &Endpoint, req: &ChatRequest) -> Value {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if let Some(system) = req.system.as_deref().filter(|s| !s.trim().is_empty()) {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.extend(req.messages.iter().map(|m| json!({"role": m.role, "content": m.content})));
    let mut body = json!({
        "model": req.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    let obj = body.as_object_mut().expect("literal object");
    if let Some(max) = req.max_tokens {
        // OpenAI's own API wants the newer name (reasoning models refuse `max_tokens`).
        let field = if endpoint.provider.id == "openai" { "max_completion_tokens" } else { "max_tokens" };
        obj.insert(field.into(), json!(max));
    }
    if let Some(t) = req.temperature {
        obj.insert("temperature".into(), json!(t));
    }
    if endpoint.provider.id == "openrouter" {
        obj.insert("usage".into(), json!({"include": true}));
    }
    for (k, v) in &req.extra {
        obj.insert(k.clone(), v.clone());
    }
    body
}

#[derive(Deserialize)]
struct Chunk {
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
    /// OpenRouter
    reasoning: Option<String>,
    /// DeepSeek
    reasoning_content: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek: the cached part of `prompt_tokens`.
    prompt_cache_hit_tokens: Option<u64>,
    /// OpenRouter: what was charged, in USD credits.
    cost: Option<Box<RawValue>>,
    /// OpenRouter: the request used the user's own provider key (BYOK).
    is_byok: Option<bool>,
    cost_details: Option<CostDetails>,
}

#[derive(Deserialize)]
struct CostDetails {
    /// With BYOK, what the provider bills the user's own key.
    upstream_inference_cost: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
    cache_write_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WireError {
    code: Option<Value>,
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl WireUsage {
    /// OpenAI's convention already matches ours: `prompt_tokens` includes cached tokens and
    /// `completion_tokens` includes reasoning tokens.
    fn normalise(&self) -> Usage {
        let prompt = self.prompt_tokens.unwrap_or(0);
        let details = self.prompt_tokens_details.as_ref();
        Usage {
            input_tokens: prompt,
            cached_input_tokens: details
                .and_then(|d| d.cached_tokens)
                .or(self.prompt_cache_hit_tokens)
                .unwrap_or(0)
                .min(prompt),
            cache_write_tokens: details.and_then(|d| d.cache_write_tokens).unwrap_or(0),
            output_tokens: self.completion_tokens.unwrap_or(0),
            reasoning_tokens: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
            reported_cost: self.reported_cost(),
            estimated: false,
        }
    }

    /// What the request cost the user. With BYOK, OpenRouter's `cost` is only its own fee and
    /// the provider bills `upstream_inference_cost` to the user's key, so the charge is the sum.
    fn reported_cost(&self) -> Option<rust_decimal::Decimal> {
        let cost = self.cost.as_deref().and_then(exact_decimal);
        let upstream = self.cost_details.as_ref().and_then(|d| d.upstream_inference_cost.as_deref()).and_then(exact_decimal);
        match (self.is_byok, cost, upstream) {
            (Some(true), cost, Some(up)) => Some((cost.unwrap_or_default() + up).normalize()),
            (_, cost, _) => cost,
        }
    }
}

pub(crate) async fn stream(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    req: &ChatRequest,
    cancel: &CancellationToken,
    meter: &mut Meter,
    on_event: &mut (dyn FnMut(StreamEvent) + Send),
) -> Result<(), ProviderError> {
    let name = endpoint.provider.name;
    let mut builder = http.post(endpoint.url("chat/completions")).json(&request_body(endpoint, req));
    if let Some(key) = &endpoint.api_key {
        builder = builder.bearer_auth(key.expose());
    }
    if endpoint.provider.id == "openrouter" {
        builder = builder.header("HTTP-Referer", "https://github.com/tally-app/tally").header("X-Title", "Tally");
    }
    let mut events = sse::connect(builder, name, cancel, meter).await?;
    let mut started = false;
    let mut finish: Option<String> = None;
    let mut done = false;
    while let Some(event) = events.next(cancel).await {
        let event = event?;
        let data = event.data.trim();
        if data.is_empty() {
            continue;
        }
        if data == "[DONE]" {
            done = true;
            break;
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| ProviderError::malformed(name, &format!("{e} in: {data}")))?;
        if !started {
            started = true;
            on_event(StreamEvent::Started { request_id: chunk.id.clone(), served_model: chunk.model.clone() });
        }
        for choice in &chunk.choices {
            if let Some(r) = choice.delta.reasoning.as_ref().or(choice.delta.reasoning_content.as_ref()).filter(|r| !r.is_empty()) {
                meter.token();
                on_event(StreamEvent::ReasoningDelta(r.clone()));
            }
            if let Some(text) = choice.delta.content.as_ref().filter(|t| !t.is_empty()) {
                meter.token();
                on_event(StreamEvent::TextDelta(text.clone()));
            }
            if let Some(reason) = &choice.finish_reason {
                finish = Some(reason.clone());
            }
        }
        if let Some(usage) = &chunk.usage {
            on_event(StreamEvent::Usage(usage.normalise()));
        }
        if let Some(err) = &chunk.error {
            let code = err.code.as_ref().and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok())).map(|c| c as u16);
            return Err(ProviderError::from_stream_error(name, code, err.kind.as_deref(), err.message.as_deref().unwrap_or("error")));
        }
        if finish.as_deref() == Some("error") {
            return Err(ProviderError::from_stream_error(name, None, None, "the provider ended the answer with an error"));
        }
    }
    match finish {
        Some(reason) => {
            on_event(StreamEvent::Finished { reason });
            Ok(())
        }
        // Some compatible servers end with [DONE] and no finish_reason; that is still complete.
        None if done => {
            on_event(StreamEvent::Finished { reason: "stop".into() });
            Ok(())
        }
        None => Err(ProviderError::new(ErrorKind::Network, format!("The connection to {name} closed before the answer finished. What arrived is kept."))),
    }
}
