//! The Anthropic Messages adapter (`POST {base}/v1/messages`, streaming events).
//!
//! Anthropic's `input_tokens` excludes cache reads and cache writes, so they are added back to
//! reach [`Usage::input_tokens`]'s "every input token" meaning. `message_delta` usage is
//! cumulative, and its fields may be absent (then the earlier value stands).

use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::sse;
use super::{ChatRequest, Endpoint, ErrorKind, Meter, ProviderError};
use crate::stream::{StreamEvent, Usage};

pub const API_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; this is used when the column sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

pub(crate) fn request_body(req: &ChatRequest) -> Value {
    let messages: Vec<Value> = req.messages.iter().map(|m| json!({"role": m.role, "content": m.content})).collect();
    let mut body = json!({
        "model": req.model,
        "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages,
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
    body
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

#[derive(Deserialize)]
struct WireUsage {
    input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    output_tokens: Option<u64>,
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
    fn merge(&mut self, u: &WireUsage) {
        self.input = u.input_tokens.unwrap_or(self.input);
        self.cache_write = u.cache_creation_input_tokens.unwrap_or(self.cache_write);
        self.cache_read = u.cache_read_input_tokens.unwrap_or(self.cache_read);
        self.output = u.output_tokens.unwrap_or(self.output);
    }
    fn usage(&self) -> Usage {
        Usage {
            input_tokens: self.input + self.cache_read + self.cache_write,
            cached_input_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            output_tokens: self.output,
            // Anthropic bills thinking as output and does not report it apart.
            reasoning_tokens: 0,
            reported_cost: None,
            estimated: false,
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
    let mut builder = http
        .post(endpoint.url("v1/messages"))
        .header("anthropic-version", API_VERSION)
        .json(&request_body(req));
    if let Some(key) = &endpoint.api_key {
        builder = builder.header("x-api-key", key.expose());
    }
    let mut events = sse::connect(builder, name, cancel, meter).await?;
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
                on_event(StreamEvent::Started { request_id: message.id, served_model: message.model });
                if let Some(u) = &message.usage {
                    counts.merge(u);
                    on_event(StreamEvent::Usage(counts.usage()));
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
                    counts.merge(u);
                    on_event(StreamEvent::Usage(counts.usage()));
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
