//! Providers: who Tally can talk to, and the two wire adapters that cover them all.
//!
//! - [`openai`]: OpenAI-compatible chat completions (OpenAI, OpenRouter, DeepSeek, Groq, Mistral,
//!   xAI, Gemini's OpenAI endpoint, Ollama, custom base URLs).
//! - [`anthropic`]: Anthropic Messages.
//!
//! Each adapter turns its wire format into [`StreamEvent`]s and nothing else; provider JSON does
//! not leave this module. Keys arrive as [`ApiKey`] and only ever go into a request header.

pub mod anthropic;
mod check;
mod generation;
mod key_info;
pub mod openai;
mod sse;

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

pub use check::{check_key, KeyCheck, KeyVerdict};
pub use crate::stream::{redact, ErrorKind, ProviderError};
pub use generation::{openrouter_generation, parse_generation, Generation, GenerationLookup};
pub use key_info::{openrouter_key_info, parse_key_info, KeyInfo};
pub use sse::{Event as SseEvent, FrameError, Framer, StreamLimits, DEFAULT_ANSWER_DEADLINE, DEFAULT_IDLE, DEFAULT_MAX_EVENT_BYTES};

use crate::secrets::ApiKey;
use crate::stream::{StreamEvent, Timing};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Wire {
    OpenAiChat,
    AnthropicMessages,
}

/// A provider Tally knows: its wire family, where it lives, where its users get a key.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ProviderInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub wire: Wire,
    /// Written as the provider's own SDK takes it; the adapter appends the endpoint path.
    pub default_base_url: &'static str,
    pub env_var: &'static str,
    pub key_url: &'static str,
    pub needs_key: bool,
}

const fn p(
    id: &'static str,
    name: &'static str,
    wire: Wire,
    default_base_url: &'static str,
    env_var: &'static str,
    key_url: &'static str,
    needs_key: bool,
) -> ProviderInfo {
    ProviderInfo { id, name, wire, default_base_url, env_var, key_url, needs_key }
}

use Wire::{AnthropicMessages as Anth, OpenAiChat as Oai};

pub const PROVIDERS: &[ProviderInfo] = &[
    p("openrouter", "OpenRouter", Oai, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "https://openrouter.ai/settings/keys", true),
    p("openai", "OpenAI", Oai, "https://api.openai.com/v1", "OPENAI_API_KEY", "https://platform.openai.com/api-keys", true),
    p("anthropic", "Anthropic", Anth, "https://api.anthropic.com", "ANTHROPIC_API_KEY", "https://console.anthropic.com/settings/keys", true),
    p("deepseek", "DeepSeek", Oai, "https://api.deepseek.com", "DEEPSEEK_API_KEY", "https://platform.deepseek.com/api_keys", true),
    p("gemini", "Google Gemini", Oai, "https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY", "https://aistudio.google.com/apikey", true),
    p("mistral", "Mistral", Oai, "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "https://console.mistral.ai/api-keys", true),
    p("groq", "Groq", Oai, "https://api.groq.com/openai/v1", "GROQ_API_KEY", "https://console.groq.com/keys", true),
    p("xai", "xAI", Oai, "https://api.x.ai/v1", "XAI_API_KEY", "https://console.x.ai", true),
    p("ollama", "Ollama (local)", Oai, "http://127.0.0.1:11434/v1", "", "https://ollama.com/download", false),
    p("custom", "Custom (OpenAI-compatible)", Oai, "http://127.0.0.1:8080/v1", "TALLY_CUSTOM_API_KEY", "", false),
];

/// Index of the generic OpenAI-compatible entry in [`PROVIDERS`].
pub const CUSTOM_INDEX: usize = 9;

pub fn provider(id: &str) -> Option<&'static ProviderInfo> {
    PROVIDERS.iter().find(|p| p.id == id)
}

/// Where and how to reach one provider for one request.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub provider: &'static ProviderInfo,
    pub base_url: String,
    pub api_key: Option<ApiKey>,
}

impl Endpoint {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url.trim_end_matches('/'), path.trim_start_matches('/'))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One message of a thread. Its text is shared, not copied: a column's request, the counts and
/// the kept thread all hold the same text (a long thread is megabytes per column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: Arc<str>,
}

/// A request body: the adapter's fields and the request's `extra` (which win), with the thread's
/// messages written from their kept JSON ([`escaped`]) instead of being copied into a JSON value.
pub(crate) struct Body<'a> {
    pub(crate) system: Option<&'a str>,
    pub(crate) messages: &'a [ChatMessage],
    pub(crate) fields: serde_json::Map<String, serde_json::Value>,
}

impl Body<'_> {
    /// The body's JSON, the request's `extra` fields winning over the thread. Each long text is
    /// escaped once and kept ([`escaped`]): at the next turn a long thread is copied into the
    /// body, not escaped again.
    fn to_vec(&self) -> Vec<u8> {
        let fields = serde_json::to_vec(&self.fields).expect("JSON values serialise");
        let texts: Vec<bytes::Bytes> = self.messages.iter().map(|m| escaped(&m.content)).collect();
        let mut out = Vec::with_capacity(fields.len() + texts.iter().map(|t| t.len() + 40).sum::<usize>() + self.system.map_or(0, |s| s.len() * 2 + 40) + 16);
        out.push(b'{');
        if !self.fields.contains_key("messages") {
            out.extend_from_slice(b"\"messages\":[");
            let mut first = true;
            if let Some(system) = self.system {
                serde_json::to_writer(&mut out, &serde_json::json!({"role": "system", "content": system})).expect("JSON values serialise");
                first = false;
            }
            for (m, text) in self.messages.iter().zip(&texts) {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"role\":");
                serde_json::to_writer(&mut out, &m.role).expect("a role serialises");
                out.extend_from_slice(b",\"content\":");
                out.extend_from_slice(text);
                out.push(b'}');
            }
            out.push(b']');
            if !self.fields.is_empty() {
                out.push(b',');
            }
        }
        // `fields` is `{…}`: its members and closing brace follow.
        out.extend_from_slice(&fields[1..]);
        out
    }
}

/// Texts shorter than this are escaped at each request (cheaper than keeping them).
const ESCAPE_KEPT_FROM: usize = 1024;
/// Past this many bytes of escaped texts, all are dropped and escaped again as needed.
const ESCAPED_KEPT_BYTES: usize = 64 << 20;

/// A text as a JSON string (quoted and escaped). Long ones are kept, under the shared text's
/// address with the text itself held (so the address cannot be reused while kept): a thread's
/// texts are the same shared values from turn to turn ([`crate::store::texts`]).
fn escaped(text: &Arc<str>) -> bytes::Bytes {
    type Kept = (std::collections::HashMap<usize, (Arc<str>, bytes::Bytes)>, usize);
    static KEPT: std::sync::LazyLock<std::sync::Mutex<Kept>> = std::sync::LazyLock::new(Default::default);
    let write = || -> bytes::Bytes { serde_json::to_vec(&**text).expect("a string serialises").into() };
    if text.len() < ESCAPE_KEPT_FROM {
        return write();
    }
    let key = Arc::as_ptr(text) as *const u8 as usize;
    let lock = || KEPT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, json)) = lock().0.get(&key) {
        return json.clone();
    }
    let json = write();
    let mut kept = lock();
    if kept.1 + json.len() > ESCAPED_KEPT_BYTES {
        *kept = Kept::default();
    }
    kept.1 += json.len();
    kept.0.insert(key, (Arc::clone(text), json.clone()));
    json
}

/// One request, provider-neutral. `extra` is merged into the body as is (OpenRouter's
/// `provider` routing options, for example), after the fields the adapter sets itself.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub model: String,
    pub system: Option<String>,
    pub messages: Vec<ChatMessage>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A request's body as `provider` takes it, serialised (the thread's texts are written straight
/// into it). Computed apart from sending so that a turn can write its columns' bodies one after
/// another, off the async workers, and each request leaves as soon as its own body is ready.
pub fn request_bytes(provider: &ProviderInfo, request: &ChatRequest) -> bytes::Bytes {
    match provider.wire {
        Wire::OpenAiChat => openai::request_body(provider, request).to_vec(),
        Wire::AnthropicMessages => anthropic::request_body(request).to_vec(),
    }
    .into()
}

/// Sends one request and reports what streams back through `on_event`, ending with exactly one
/// `Finished` or `Failed`. Returns the answer's timings, measured where the bytes arrive.
/// Stops promptly with a `cancelled` failure when `cancel` fires, with a `stalled` one when
/// nothing arrives for `limits.idle`, and a `deadline` one after `limits.answer_deadline`.
pub async fn stream_chat(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    request: &ChatRequest,
    limits: StreamLimits,
    cancel: &CancellationToken,
    on_event: &mut (dyn FnMut(StreamEvent) + Send),
) -> Timing {
    stream_body(http, endpoint, request_bytes(endpoint.provider, request), limits, cancel, on_event).await
}

/// [`stream_chat`] with the body written already ([`request_bytes`] for `endpoint.provider`).
pub async fn stream_body(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    body: bytes::Bytes,
    limits: StreamLimits,
    cancel: &CancellationToken,
    on_event: &mut (dyn FnMut(StreamEvent) + Send),
) -> Timing {
    let mut meter = Meter::start();
    let outcome = match endpoint.provider.wire {
        Wire::OpenAiChat => openai::stream(http, endpoint, body, limits, cancel, &mut meter, on_event).await,
        Wire::AnthropicMessages => anthropic::stream(http, endpoint, body, limits, cancel, &mut meter, on_event).await,
    };
    if let Err(mut error) = outcome {
        if let Some(key) = &endpoint.api_key {
            error = error.redacted(key.expose());
        }
        on_event(StreamEvent::Failed(error));
    }
    meter.finish()
}

/// A token count as a provider sent it: a whole number from 0 up, or what is wrong with it.
pub(crate) fn count(field: &str, n: Option<&serde_json::Number>) -> Result<Option<u64>, String> {
    let Some(n) = n else { return Ok(None) };
    match n.as_u64() {
        Some(v) => Ok(Some(v)),
        None if n.as_i64().is_some() => Err(format!("{field} is negative ({n})")),
        None => Err(format!("{field} is not a whole number of tokens ({n})")),
    }
}

/// Records when the first byte and the first token arrived, on a monotonic clock.
pub(crate) struct Meter {
    start: Instant,
    first_byte: Option<Instant>,
    first_token: Option<Instant>,
}

impl Meter {
    fn start() -> Self {
        Meter { start: Instant::now(), first_byte: None, first_token: None }
    }
    pub(crate) fn byte(&mut self) {
        self.first_byte.get_or_insert_with(Instant::now);
    }
    pub(crate) fn token(&mut self) {
        self.first_token.get_or_insert_with(Instant::now);
    }
    fn finish(self) -> Timing {
        let ms = |t: Instant| t.duration_since(self.start).as_millis() as u64;
        Timing {
            ttfb_ms: self.first_byte.map(ms),
            ttft_ms: self.first_token.map(ms),
            total_ms: ms(Instant::now()),
            attempts: 1,
            waited_ms: 0,
        }
    }
}

#[cfg(test)]
mod body_tests {
    use super::*;
    use serde_json::json;

    fn request() -> ChatRequest {
        let mut extra = serde_json::Map::new();
        extra.insert("temperature".into(), json!(0.2));
        extra.insert("provider".into(), json!({"sort": "price"}));
        ChatRequest {
            model: "m".into(),
            system: Some("Be brief.".into()),
            messages: vec![ChatMessage { role: Role::User, content: "Hi \"there\"\n".into() }, ChatMessage { role: Role::Assistant, content: "Hello.".into() }],
            max_tokens: Some(50),
            temperature: Some(0.9),
            extra,
        }
    }

    /// The bodies are written straight from the shared texts: the same JSON as the wire formats
    /// want, with the request's `extra` winning over the adapter's own fields.
    #[test]
    fn request_bodies_carry_the_thread_the_system_prompt_and_extra_fields() {
        let req = request();
        let openai: serde_json::Value = serde_json::from_slice(&request_bytes(provider("openrouter").unwrap(), &req)).unwrap();
        assert_eq!(
            openai,
            json!({
                "model": "m", "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 50, "temperature": 0.2,
                "usage": {"include": true}, "provider": {"sort": "price"},
                "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi \"there\"\n"}, {"role": "assistant", "content": "Hello."}],
            })
        );
        let anthropic: serde_json::Value = serde_json::from_slice(&request_bytes(provider("anthropic").unwrap(), &req)).unwrap();
        assert_eq!(
            anthropic,
            json!({
                "model": "m", "stream": true, "max_tokens": 50, "temperature": 0.2, "system": "Be brief.", "provider": {"sort": "price"},
                "messages": [{"role": "user", "content": "Hi \"there\"\n"}, {"role": "assistant", "content": "Hello."}],
            })
        );
        let no_extra = ChatRequest { extra: Default::default(), system: None, max_tokens: None, temperature: None, ..req };
        let bare: serde_json::Value = serde_json::from_slice(&request_bytes(provider("openai").unwrap(), &no_extra)).unwrap();
        assert_eq!(bare["messages"].as_array().unwrap().len(), 2, "no system message when there is none");
    }

    /// A long text is escaped once and its JSON reused while the same shared text is sent again;
    /// another text with the same words is escaped on its own.
    #[test]
    fn a_long_text_is_escaped_once_per_shared_value() {
        let long: Arc<str> = "A \"quoted\" line\twith a tab.\n".repeat(200).into();
        let first = escaped(&long);
        assert_eq!(serde_json::from_slice::<String>(&first).unwrap(), &*long);
        assert_eq!(escaped(&long).as_ptr(), first.as_ptr(), "the kept JSON is reused");
        let twin: Arc<str> = long.to_string().into();
        assert_ne!(escaped(&twin).as_ptr(), first.as_ptr());
        let req = ChatRequest { model: "m".into(), messages: vec![ChatMessage { role: Role::User, content: long.clone() }], ..Default::default() };
        let body: serde_json::Value = serde_json::from_slice(&request_bytes(provider("openai").unwrap(), &req)).unwrap();
        assert_eq!(body["messages"][0]["content"].as_str().unwrap(), &*long);
    }
}
