//! The engine's one streaming vocabulary: every provider adapter maps its wire format onto
//! [`StreamEvent`] and [`Usage`]; nothing above the adapters knows a provider's JSON.
//! Why an answer failed is part of that vocabulary: [`ProviderError`] and its [`ErrorKind`]
//! (`error.rs`, re-exported by `providers`, which fill them in). Depends on no other module of
//! the engine: the adapters, pricing, storage and the turn runner all build on it.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod error;
pub use error::{redact, ErrorKind, ProviderError};

/// Token counts of one answer, normalised so that every provider means the same thing.
///
/// Providers disagree on whether their input count includes cached tokens (OpenAI: yes,
/// Anthropic: no) and whether output includes reasoning. Here, always:
/// - `input_tokens` counts **every** input token, cached reads and cache writes included;
///   `cached_input_tokens` and `cache_write_tokens` are parts of it, never added to it.
/// - `output_tokens` counts every billed output token, reasoning included;
///   `reasoning_tokens` is a part of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Usage {
    #[ts(type = "number")]
    pub input_tokens: u64,
    #[ts(type = "number")]
    pub cached_input_tokens: u64,
    #[ts(type = "number")]
    pub cache_write_tokens: u64,
    #[ts(type = "number")]
    pub output_tokens: u64,
    #[ts(type = "number")]
    pub reasoning_tokens: u64,
    /// The charge the route itself reported (OpenRouter's `usage.cost`), in USD.
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub reported_cost: Option<Decimal>,
    /// True when the provider sent no usage (dropped or stopped stream) and these counts are ours.
    pub estimated: bool,
}

/// More tokens than this in one answer is not a real answer (the longest contexts are a few
/// million tokens): such usage is refused as impossible rather than billed.
pub const MAX_TOKENS_PER_ANSWER: u64 = 1_000_000_000;

impl Usage {
    /// `Ok` when one answer can really have used this; else what is impossible, in words.
    pub fn check(&self) -> Result<(), String> {
        for (name, n) in [
            ("input", self.input_tokens),
            ("cached input", self.cached_input_tokens),
            ("cache write", self.cache_write_tokens),
            ("output", self.output_tokens),
            ("reasoning", self.reasoning_tokens),
        ] {
            if n > MAX_TOKENS_PER_ANSWER {
                return Err(format!("{n} {name} tokens in one answer (more than {MAX_TOKENS_PER_ANSWER})"));
            }
        }
        // Each part is at most 10^9 here, so the sum cannot overflow.
        if self.cached_input_tokens + self.cache_write_tokens > self.input_tokens {
            return Err(format!(
                "{} cached and {} cache-write tokens, more than the {} input tokens they are part of",
                self.cached_input_tokens, self.cache_write_tokens, self.input_tokens
            ));
        }
        if self.reasoning_tokens > self.output_tokens {
            return Err(format!("{} reasoning tokens, more than the {} output tokens they are part of", self.reasoning_tokens, self.output_tokens));
        }
        if let Some(cost) = self.reported_cost.filter(|c| c.is_sign_negative() && !c.is_zero()) {
            return Err(format!("a negative charge ({cost} USD)"));
        }
        Ok(())
    }

    /// Input tokens billed at the plain input rate: neither read from nor written to a cache.
    pub fn uncached_input_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_sub(self.cached_input_tokens)
            .saturating_sub(self.cache_write_tokens)
    }
}

/// What an adapter reports while an answer streams in.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The provider accepted the request; `served_model` is the model that actually answers
    /// (OpenRouter may fall back to another one, which is then the one to price).
    Started {
        request_id: Option<String>,
        served_model: Option<String>,
        /// The upstream provider that serves it, where the route says (OpenRouter's `provider`).
        served_by: Option<String>,
    },
    TextDelta(String),
    ReasoningDelta(String),
    /// The latest usage; a later `Usage` event replaces an earlier one (it is a total, not an increment).
    Usage(Usage),
    Finished { reason: String },
    Failed(ProviderError),
}

/// Monotonic timings of one answer, in milliseconds. `ttfb_ms`, `ttft_ms` and `total_ms` are the
/// last attempt's, from its request (the clean figures latency statistics use); `waited_ms` is
/// the time from the first attempt's request to the last one's (refused attempts and back-off),
/// so the answer took `waited_ms + total_ms` in all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Timing {
    #[ts(type = "number | null")]
    pub ttfb_ms: Option<u64>,
    #[ts(type = "number | null")]
    pub ttft_ms: Option<u64>,
    #[ts(type = "number")]
    pub total_ms: u64,
    /// How many requests were sent for this answer (1 without retries; 0 in rows older than
    /// this field, which counted one).
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    #[ts(type = "number")]
    pub waited_ms: u64,
}

impl Timing {
    /// Output tokens per second, counted from the first token to the end (the generation rate,
    /// not diluted by queueing before the first token). `None` when it cannot be measured.
    pub fn output_tokens_per_s(&self, output_tokens: u64) -> Option<f64> {
        let start = self.ttft_ms?;
        let span_ms = self.total_ms.saturating_sub(start);
        if output_tokens < 2 || span_ms == 0 {
            return None;
        }
        Some(output_tokens as f64 * 1000.0 / span_ms as f64)
    }
}
