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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
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
    let mut meter = Meter::start();
    let outcome = match endpoint.provider.wire {
        Wire::OpenAiChat => openai::stream(http, endpoint, request, limits, cancel, &mut meter, on_event).await,
        Wire::AnthropicMessages => anthropic::stream(http, endpoint, request, limits, cancel, &mut meter, on_event).await,
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
