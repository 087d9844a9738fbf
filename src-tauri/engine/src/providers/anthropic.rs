//! The Anthropic Messages adapter (`POST {base}/v1/messages`, streaming events).
//!
//! Anthropic's `input_tokens` excludes cache reads and cache writes, so they are added back to
//! reach [`Usage::input_tokens`]'s "every input token" meaning. `message_delta` usage is
//! cumulative, and its fields may be absent (then the earlier value stands).

use serde::Deserialize;
use serde_json::{json, Number, Value};
use tokio_util::sync::CancellationToken;

use super::sse;
use super::{count, Body, ChatRequest, Endpoint, ErrorKind, Meter, ProviderError};
use crate::stream::{StreamEvent, Usage};

pub const API_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; this is used when the column sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

pub(crate) fn request_body(req: &ChatRequest) -> Body<'_> {
    let mut body = json!({
        "model": req.model,
        "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "stream": true,
    });
    let obj = body.as_object_mut().expect("literal object");
    if let Some(system) = req.system.as_deref().filter(|s| !s.trim().is_empty()) {
        obj.insert("system".into(), json!(system));
    }
    if let Some(t) = req.temperature {
        obj.insert("temperature".into(), json!(t));
    }
    for (k, v) in &req.extra {
        obj.insert(k.clone(), v.clone());
    }
    let Value::Object(fields) = body else { unreachable!("literal object") };
    // Anthropic takes the system prompt as a field of its own, not as a message.
    Body { system: None, messages: &req.messages, fields }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    MessageStart { message: Message },
    ContentBlockDelta { delta: BlockDelta },
    MessageDelta {
        #[serde(default)]
        delta: MessageDeltaBody,
        usage: Option<WireUsage>,
    },
    MessageStop,
    Error { error: WireError },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Message {
    id: Option<String>,
    model: Option<String>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta { text: String },
    ThinkingDelta { thinking: String },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct MessageDeltaBody {
    stop_reason: Option<String>,
}

/// Counts as any JSON number, so that a negative or fractional one is reported as impossible usage.
#[derive(Deserialize)]
struct WireUsage {
    input_tokens: Option<Number>,
    cache_creation_input_tokens: Option<Number>,
    cache_read_input_tokens: Option<Number>,
    output_tokens: Option<Number>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
}

/// Anthropic's counts, kept in Anthropic's convention until [`Counts::usage`].
#[derive(Default)]
struct Counts {
    input: u64,
    cache_write: u64,
    cache_read: u64,
    output: u64,
}

impl Counts {
    /// Takes the fields present in `u` (absent ones keep their earlier value) and returns the
    /// usage so far, or what makes it impossible.
    fn merge(&mut self, u: &WireUsage) -> Result<Usage, String> {
        self.input = count("input_tokens", u.input_tokens.as_ref())?.unwrap_or(self.input);
        self.cache_write = count("cache_creation_input_tokens", u.cache_creation_input_tokens.as_ref())?.unwrap_or(self.cache_write);
        self.cache_read = count("cache_read_input_tokens", u.cache_read_input_tokens.as_ref())?.unwrap_or(self.cache_read);
        self.output = count("output_tokens", u.output_tokens.as_ref())?.unwrap_or(self.output);
        let input = self
            .input
            .checked_add(self.cache_read)
            .and_then(|n| n.checked_add(self.cache_write))
            .ok_or("the input token counts add up to more than can be counted")?;
        let usage = Usage {
            input_tokens: input,
            cached_input_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            output_tokens: self.output,
            // Anthropic bills thinking as output and does not report it apart.
            reasoning_tokens: 0,
            reported_cost: None,
            estimated: false,
        };
        usage.check()?;
        Ok(usage)
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
    let mut builder = http
        .post(endpoint.url("v1/messages"))
        .header("anthropic-version", API_VERSION)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(key) = &endpoint.api_key {
        builder = builder.header("x-api-key", key.expose());
    }
    let mut events = sse::connect(builder, name, limits, cancel, meter).await?;
    let mut counts = Counts::default();
    let mut stop_reason: Option<String> = None;
    while let Some(event) = events.next(cancel).await {
        let event = event?;
        let data = event.data.trim();
        if data.is_empty() {
            continue;
        }
        let parsed: Event = serde_json::from_str(data).map_err(|e| ProviderError::malformed(name, &format!("{e} in: {data}")))?;
        match parsed {
            Event::MessageStart { message } => {
                on_event(StreamEvent::Started { request_id: message.id, served_model: message.model, served_by: None });
                if let Some(u) = &message.usage {
                    let usage = counts.merge(u).map_err(|what| ProviderError::impossible_usage(name, &what, data))?;
                    on_event(StreamEvent::Usage(usage));
                }
            }
            Event::ContentBlockDelta { delta: BlockDelta::TextDelta { text } } if !text.is_empty() => {
                meter.token();
                on_event(StreamEvent::TextDelta(text));
            }
            Event::ContentBlockDelta { delta: BlockDelta::ThinkingDelta { thinking } } if !thinking.is_empty() => {
                meter.token();
                on_event(StreamEvent::ReasoningDelta(thinking));
            }
            Event::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    stop_reason = delta.stop_reason;
                }
                if let Some(u) = &usage {
                    let usage = counts.merge(u).map_err(|what| ProviderError::impossible_usage(name, &what, data))?;
                    on_event(StreamEvent::Usage(usage));
                }
            }
            Event::MessageStop => {
                on_event(StreamEvent::Finished { reason: stop_reason.take().unwrap_or_else(|| "end_turn".into()) });
                return Ok(());
            }
            Event::Error { error } => {
                return Err(ProviderError::from_stream_error(name, None, error.kind.as_deref(), error.message.as_deref().unwrap_or("error")));
            }
            _ => {}
        }
    }
    Err(ProviderError::new(ErrorKind::Network, format!("The connection to {name} closed before the answer finished. What arrived is kept.")))
}
