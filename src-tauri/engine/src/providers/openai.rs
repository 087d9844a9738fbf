//! The OpenAI-compatible chat completions adapter (`POST {base}/chat/completions`, streaming).
//!
//! Covers OpenAI, OpenRouter (usage accounting with `usage.cost`, attribution headers, mid-stream
//! `error` objects), DeepSeek (`prompt_cache_hit_tokens`, `reasoning_content`), Groq, Mistral,
//! xAI, Gemini's OpenAI endpoint, Ollama and custom base URLs.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, value::RawValue, Number, Value};
use tokio_util::sync::CancellationToken;

use super::sse::{self, exact_decimal};
use super::{count, Body, ChatRequest, Endpoint, ErrorKind, Meter, ProviderError, ProviderInfo};
use crate::stream::{StreamEvent, Usage};

pub(crate) fn request_body<'a>(provider: &ProviderInfo, req: &'a ChatRequest) -> Body<'a> {
    let mut body = json!({
        "model": req.model,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    let obj = body.as_object_mut().expect("literal object");
    if let Some(max) = req.max_tokens {
        // OpenAI's own API wants the newer name (reasoning models refuse `max_tokens`).
        let field = if provider.id == "openai" { "max_completion_tokens" } else { "max_tokens" };
        obj.insert(field.into(), json!(max));
    }
    if let Some(t) = req.temperature {
        obj.insert("temperature".into(), json!(t));
    }
    if provider.id == "openrouter" {
        obj.insert("usage".into(), json!({"include": true}));
    }
    for (k, v) in &req.extra {
        obj.insert(k.clone(), v.clone());
    }
    let Value::Object(fields) = body else { unreachable!("literal object") };
    Body { system: req.system.as_deref().filter(|s| !s.trim().is_empty()), messages: &req.messages, fields }
}

#[derive(Deserialize)]
struct Chunk {
    id: Option<String>,
    model: Option<String>,
    /// OpenRouter: the upstream provider serving the answer.
    provider: Option<String>,
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

/// Token counts are read as any JSON number so that a negative or fractional count is reported
/// as impossible usage, in words, rather than as unreadable JSON.
#[derive(Deserialize)]
struct WireUsage {
    prompt_tokens: Option<Number>,
    completion_tokens: Option<Number>,
    /// When sent, tells whether `completion_tokens` includes the reasoning tokens.
    total_tokens: Option<Number>,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek: the cached part of `prompt_tokens`.
    prompt_cache_hit_tokens: Option<Number>,
    /// OpenRouter: what was charged, in USD credits.
    cost: Option<Box<RawValue>>,
    /// OpenRouter: the request used the user's own provider key (BYOK).
    is_byok: Option<bool>,
    cost_details: Option<CostDetails>,
    /// xAI: what was charged, in ticks of 1e-10 USD.
    cost_in_usd_ticks: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct CostDetails {
    /// With BYOK, what the provider bills the user's own key.
    upstream_inference_cost: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct PromptDetails {
    cached_tokens: Option<Number>,
    cache_write_tokens: Option<Number>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<Number>,
}

#[derive(Deserialize)]
struct WireError {
    code: Option<Value>,
    message: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// One xAI tick in USD.
fn tick() -> Decimal {
    Decimal::new(1, 10)
}

impl WireUsage {
    /// Maps the wire counts onto [`Usage`]'s convention. `prompt_tokens` includes cached reads
    /// (and OpenRouter's cache writes) everywhere. `completion_tokens` includes the reasoning
    /// tokens for OpenAI, DeepSeek, Groq and OpenRouter but not for xAI (and Gemini): where
    /// `total_tokens` = prompt + completion + reasoning, or the reasoning alone outnumbers the
    /// completion, the reasoning is added to reach "every billed output token".
    fn normalise(&self) -> Result<Usage, String> {
        let details = self.prompt_tokens_details.as_ref();
        let prompt = count("prompt_tokens", self.prompt_tokens.as_ref())?.unwrap_or(0);
        let completion = count("completion_tokens", self.completion_tokens.as_ref())?.unwrap_or(0);
        let total = count("total_tokens", self.total_tokens.as_ref())?;
        let reasoning = count("reasoning_tokens", self.completion_tokens_details.as_ref().and_then(|d| d.reasoning_tokens.as_ref()))?.unwrap_or(0);
        let cached = match count("cached_tokens", details.and_then(|d| d.cached_tokens.as_ref()))? {
            Some(n) => n,
            None => count("prompt_cache_hit_tokens", self.prompt_cache_hit_tokens.as_ref())?.unwrap_or(0),
        };
        let cache_write = count("cache_write_tokens", details.and_then(|d| d.cache_write_tokens.as_ref()))?.unwrap_or(0);
        let too_many = || "the token counts add up to more than can be counted".to_string();
        let with_reasoning = completion.checked_add(reasoning).ok_or_else(too_many)?;
        let (output, reasoning) = match total {
            // The total says the completion already includes the reasoning: the reasoning is a
            // part of it (OpenRouter has been seen to count 11 reasoning tokens in a 10-token answer).
            Some(total) if Some(total) == prompt.checked_add(completion) => (completion, reasoning.min(completion)),
            // The total says the reasoning was left out of the completion (xAI).
            Some(total) if Some(total) == prompt.checked_add(with_reasoning) => (with_reasoning, reasoning),
            // No total, or one that matches neither: reasoning outnumbering the completion can only
            // mean it was left out.
            _ if reasoning > completion => (with_reasoning, reasoning),
            _ => (completion, reasoning),
        };
        let usage = Usage {
            input_tokens: prompt,
            cached_input_tokens: cached,
            cache_write_tokens: cache_write,
            output_tokens: output,
            reasoning_tokens: reasoning,
            reported_cost: self.reported_cost()?,
            estimated: false,
        };
        usage.check()?;
        Ok(usage)
    }

    /// What the request cost the user, as the route reported it. With BYOK, OpenRouter's `cost`
    /// is only its own fee and the provider bills `upstream_inference_cost` to the user's key, so
    /// the charge is the sum. xAI reports its charge in ticks of 1e-10 USD.
    fn reported_cost(&self) -> Result<Option<Decimal>, String> {
        let cost = self.cost.as_deref().and_then(exact_decimal);
        let upstream = self.cost_details.as_ref().and_then(|d| d.upstream_inference_cost.as_deref()).and_then(exact_decimal);
        let ticks = self.cost_in_usd_ticks.as_deref().and_then(exact_decimal);
        let overflow = || "the reported cost is too large to be a charge".to_string();
        Ok(match (self.is_byok, cost, upstream, ticks) {
            (Some(true), cost, Some(up), _) => Some(cost.unwrap_or_default().checked_add(up).ok_or_else(overflow)?.normalize()),
            (_, Some(cost), _, _) => Some(cost),
            (_, None, _, Some(ticks)) => Some(ticks.checked_mul(tick()).ok_or_else(overflow)?.normalize()),
            _ => None,
        })
    }
}

pub(crate) async fn stream(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    body: bytes::Bytes,
    limits: super::StreamLimits,
    cancel: &CancellationToken,
    meter: &mut Meter,
    on_event: &mut (dyn FnMut(StreamEvent) + Send),
) -> Result<(), ProviderError> {
    let name = endpoint.provider.name;
    let mut builder = http.post(endpoint.url("chat/completions")).header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
    if let Some(key) = &endpoint.api_key {
        builder = builder.bearer_auth(key.expose());
    }
    if endpoint.provider.id == "openrouter" {
        builder = builder.header("HTTP-Referer", "https://github.com/tally-app/tally").header("X-Title", "Tally");
    }
    let mut events = sse::connect(builder, name, limits, cancel, meter).await?;
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
            on_event(StreamEvent::Started { request_id: chunk.id.clone(), served_model: chunk.model.clone(), served_by: chunk.provider.clone() });
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
            let usage = usage.normalise().map_err(|what| ProviderError::impossible_usage(name, &what, data))?;
            on_event(StreamEvent::Usage(usage));
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
