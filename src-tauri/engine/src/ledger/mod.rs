//! The ledger read back (every answer's usage row, kept by `store::usage_rows`): what was
//! spent, on what, how fast it answered, against which budgets; the OpenRouter account; CSV out
//! and in. (One answer's token counts, `Usage`, are the streaming vocabulary's: [`crate::stream`].)
//!
//! - [`stats`]: spend and tokens per day / week / month, breakdowns by route, provider, model and
//!   conversation, the OpenRouter-vs-direct share, top conversations.
//! - [`latency`]: p50/p95 time to first token and tokens/s per model × route.
//! - [`budgets`]: daily and monthly limits (overall or per provider) and their status;
//!   [`alerts`]: threshold and spike alerts (each fired once) and the hard-limit check.
//! - [`csv`]: export of every usage field and an import that never adds a row twice.
//! - The OpenRouter key's credits and usage, on request, are
//!   [`crate::providers::openrouter_key_info`] (its JSON stays with the providers).
//!
//! Reads the daily roll-ups kept by [`crate::store::rollups`] (never sums the usage table in
//! SQL: money is exact `Decimal`, added in Rust). Days are UTC. Every function here blocks:
//! async callers go through [`crate::store::Store::run`]. Must not import `tauri`.

pub mod alerts;
pub mod budgets;
pub mod csv;
pub mod latency;
pub mod period;
pub mod stats;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::store::rollups::Measures;
use crate::store::StoreError;

/// A range of UTC days: `since` included, `until` excluded, both `YYYY-MM-DD`; either may be
/// left open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DayRange {
    pub since: Option<String>,
    pub until: Option<String>,
}

impl DayRange {
    pub fn new(since: Option<&str>, until: Option<&str>) -> DayRange {
        DayRange { since: since.map(str::to_string), until: until.map(str::to_string) }
    }

    pub fn all() -> DayRange {
        DayRange::default()
    }

    /// The bounds as comparable day text, checked: an open end becomes a day before or after any.
    pub(crate) fn bounds(&self) -> Result<(String, String), StoreError> {
        let since = match &self.since {
            Some(d) => period::parse_day(d)?.to_string(),
            None => "0000-01-01".to_string(),
        };
        let until = match &self.until {
            Some(d) => period::parse_day(d)?.to_string(),
            None => "9999-12-31".to_string(),
        };
        Ok((since, until))
    }
}

/// Spend and tokens of a set of answers. `cost` is the list cost and `effective_cost` adds the
/// route's fee (OpenRouter's credit fee); answers without a price add nothing to either and are
/// counted in `unpriced_answers`, so "$0" never hides them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct UsageTotals {
    #[ts(as = "crate::brands::ts::Money")]
    pub cost: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub effective_cost: Decimal,
    #[ts(type = "number")]
    pub answers: u64,
    #[ts(type = "number")]
    pub unpriced_answers: u64,
    /// Answers whose token counts are Tally's estimate (the provider sent none).
    #[ts(type = "number")]
    pub estimated_answers: u64,
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
}

impl UsageTotals {
    /// Adds a roll-up's measures, checked: a sum beyond what can be stored is a typed error.
    pub(crate) fn add(&mut self, m: &Measures) -> Result<(), StoreError> {
        let over = |what: &str| StoreError::Overflow(what.into());
        let n = |a: u64, v: i64, what: &str| a.checked_add(v.max(0) as u64).ok_or_else(|| over(what));
        self.cost = self.cost.checked_add(m.cost).ok_or_else(|| over("the cost"))?.normalize();
        self.effective_cost = self.effective_cost.checked_add(m.effective_cost).ok_or_else(|| over("the effective cost"))?.normalize();
        self.answers = n(self.answers, m.answers, "the number of answers")?;
        self.unpriced_answers = n(self.unpriced_answers, m.unpriced_answers, "the number of unpriced answers")?;
        self.estimated_answers = n(self.estimated_answers, m.estimated_answers, "the number of estimated answers")?;
        self.input_tokens = n(self.input_tokens, m.input_tokens, "the input tokens")?;
        self.cached_input_tokens = n(self.cached_input_tokens, m.cached_input_tokens, "the cached input tokens")?;
        self.cache_write_tokens = n(self.cache_write_tokens, m.cache_write_tokens, "the cache write tokens")?;
        self.output_tokens = n(self.output_tokens, m.output_tokens, "the output tokens")?;
        self.reasoning_tokens = n(self.reasoning_tokens, m.reasoning_tokens, "the reasoning tokens")?;
        Ok(())
    }
}
