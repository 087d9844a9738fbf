//! Counting tokens before (and after) sending: how many input tokens a prompt is on a model and
//! where they go. What those tokens would cost (the compose estimate, variants, projections,
//! re-pricing) is [`crate::estimates`], built on this.
//!
//! Owns: the model → encoding mapping ([`tokenizer_for`]), counting text and chat requests
//! ([`count_text`], [`count_chat`]), the "where do my tokens go" view ([`breakdown`]) and each
//! stored message's count per encoding for the session ([`counts`]). Must not: touch the network
//! or the database (the queries that feed it live in `store::token_history`), or price anything.
//!
//! # Encodings
//! Exact for OpenAI families, with the encoding OpenAI's own `tiktoken` assigns each model:
//! `o200k_base` for gpt-4o (and chatgpt-4o), gpt-4.1, gpt-4.5, gpt-5 and the o-series (o1, o3,
//! o4); `cl100k_base` for gpt-4 (incl. gpt-4-turbo) and gpt-3.5. Direct ids (`gpt-4o-mini`),
//! OpenRouter ids (`openai/gpt-4o`) and targets (`openai:gpt-4o`, `openrouter:openai/gpt-4o`) are
//! all understood. The encoders are `bpe-openai`'s (why: README, "Choices"); their tables are built
//! from the rank files once per user and cached (`tables`), load lazily once per process, and
//! are shared by every thread.
//!
//! # Estimates for other families
//! Anthropic, Gemini, Mistral, DeepSeek, Qwen, Grok, gpt-oss and anything unknown are counted
//! with `o200k_base`; Meta's Llama with `cl100k_base` (Llama 3's 128k vocabulary starts with
//! cl100k_base's 100k tokens, so that count is the closer one). Their results say `exact: false`
//! and the UI shows them with "≈". No per-family factor is applied: we have no measurement we
//! could cite, and a factor would break the rule that parts add up to the whole. Instead, the
//! estimate of every answer is stored when it is sent and compared with the provider's real
//! count afterwards (`store::token_history::estimate_accuracy`), so the user sees how far off the
//! estimate runs for each model over their own history.
//!
//! # Chat formatting overhead
//! As OpenAI's cookbook counts it ("How to count tokens with tiktoken", `num_tokens_from_messages`,
//! openai-cookbook `examples/How_to_count_tokens_with_tiktoken.ipynb`): every message costs
//! [`TOKENS_PER_MESSAGE`] = 3 tokens plus its role and content, a `name` adds its own tokens and
//! [`TOKENS_PER_NAME`] = 1, and the reply is primed with [`REPLY_PRIMING`] = 3 tokens
//! (`<|start|>assistant<|message|>`). (gpt-3.5-turbo-0301 used 4 per message and −1 per name.)
//! The same overhead is applied to the estimate families, whose real formats are unknown.
//!
//! # Blocking
//! Counting is plain CPU work on the calling thread (a 100k-token prompt takes milliseconds, the
//! first call also loads the encoder). Async callers — the app's commands — must run it through
//! `tokio::task::spawn_blocking`, never on the runtime's workers or the UI thread; the app loads
//! the o200k_base table ahead of time, after its window's first paint
//! ([`crate::app::Engine::warm_tokenizer`]).

pub mod breakdown;
mod count;
pub mod counts;
mod models;
mod tables;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use count::{count_chat, count_content, count_text, paragraphs, Memo};
pub use models::{tokenizer_for, Tokenizer};

/// Tokens every chat message costs besides its role and content (OpenAI cookbook).
pub const TOKENS_PER_MESSAGE: u64 = 3;
/// Tokens a message's `name` costs besides the name itself (OpenAI cookbook).
pub const TOKENS_PER_NAME: u64 = 1;
/// Tokens that prime the reply, once per request (OpenAI cookbook).
pub const REPLY_PRIMING: u64 = 3;

/// A byte-pair encoding Tally can count with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
}

impl Encoding {
    pub const ALL: [Encoding; 2] = [Encoding::O200kBase, Encoding::Cl100kBase];

    pub fn name(self) -> &'static str {
        match self {
            Encoding::O200kBase => "o200k_base",
            Encoding::Cl100kBase => "cl100k_base",
        }
    }
}

/// How many tokens something is on a model: exact when the model's own encoding was used,
/// otherwise an estimate (shown with "≈").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct TokenCount {
    pub model: String,
    pub encoding: Encoding,
    #[ts(type = "number")]
    pub tokens: u64,
    pub exact: bool,
}

/// One chat message as the API takes it: `role` is `system`, `user`, `assistant` (or any other
/// role string), `name` is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ChatItem {
    pub role: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ChatItem {
    pub fn new(role: &str, content: &str) -> Self {
        ChatItem { role: role.to_string(), content: content.to_string(), name: None }
    }

    /// The request a column sends: its system prompt (if any) first, then its thread.
    pub fn request(system: Option<&str>, thread: &[crate::providers::ChatMessage]) -> Vec<ChatItem> {
        let role = |r: crate::providers::Role| match r {
            crate::providers::Role::User => "user",
            crate::providers::Role::Assistant => "assistant",
        };
        system
            .filter(|s| !s.trim().is_empty())
            .map(|s| ChatItem::new("system", s))
            .into_iter()
            .chain(thread.iter().map(|m| ChatItem::new(role(m.role), &m.content)))
            .collect()
    }
}
