//! Prices and what an answer cost.
//!
//! Owns: the price of a target (USD per token, exact decimals), and [`cost`], an itemised,
//! exact computation from normalised [`Usage`]. Must not: round (formatting is the UI's job),
//! touch `f64`, or recompute history (the price used is stored with each usage row).

mod builtin;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::stream::Usage;
use crate::target::Target;

/// A model's price on one route, in USD per token (per request for `request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Price {
    #[ts(type = "string")]
    pub input: Decimal,
    #[ts(type = "string")]
    pub output: Decimal,
    /// Cached input read; `None` means cached tokens cost the plain input price.
    #[ts(type = "string | null")]
    pub cached_input: Option<Decimal>,
    /// Cache write; `None` means the plain input price.
    #[ts(type = "string | null")]
    pub cache_write: Option<Decimal>,
    /// Reasoning tokens priced apart; `None` means they cost the output price.
    #[ts(type = "string | null")]
    pub reasoning: Option<Decimal>,
    /// A fixed fee per request.
    #[ts(type = "string | null")]
    pub request: Option<Decimal>,
    /// Where the figures come from and their date.
    pub source: String,
}

/// What one answer cost, line by line; `total` is their exact sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Cost {
    #[ts(type = "string")]
    pub input: Decimal,
    #[ts(type = "string")]
    pub cached_input: Decimal,
    #[ts(type = "string")]
    pub cache_write: Decimal,
    #[ts(type = "string")]
    pub output: Decimal,
    #[ts(type = "string")]
    pub reasoning: Decimal,
    #[ts(type = "string")]
    pub request: Decimal,
    #[ts(type = "string")]
    pub total: Decimal,
}

/// Prices `usage` at `price`. Cached reads and cache writes are charged at their own rates and
/// are not charged again as plain input; reasoning is charged apart only where it is priced apart.
pub fn cost(usage: &Usage, price: &Price) -> Cost {
    let n = |tokens: u64| Decimal::from(tokens);
    let uncached = usage.uncached_input_tokens();
    let (reasoning_tokens, plain_output) = match price.reasoning {
        Some(_) => (usage.reasoning_tokens.min(usage.output_tokens), usage.output_tokens.saturating_sub(usage.reasoning_tokens)),
        None => (0, usage.output_tokens),
    };
    let mut c = Cost {
        input: n(uncached) * price.input,
        cached_input: n(usage.cached_input_tokens) * price.cached_input.unwrap_or(price.input),
        cache_write: n(usage.cache_write_tokens) * price.cache_write.unwrap_or(price.input),
        output: n(plain_output) * price.output,
        reasoning: n(reasoning_tokens) * price.reasoning.unwrap_or(price.output),
        request: price.request.unwrap_or_default(),
        total: Decimal::ZERO,
    };
    c.total = c.input + c.cached_input + c.cache_write + c.output + c.reasoning + c.request;
    c.normalize()
}

impl Cost {
    /// Drops trailing zeros (`0.000090000` → `0.00009`) without changing any value.
    fn normalize(mut self) -> Self {
        for d in [&mut self.input, &mut self.cached_input, &mut self.cache_write, &mut self.output, &mut self.reasoning, &mut self.request, &mut self.total] {
            *d = d.normalize();
        }
        self
    }
}

/// The price of a target, if Tally knows it. A served model (an OpenRouter fallback) is looked
/// up first, since usage is priced by the model that actually answered.
pub fn price_for(target: &Target, served_model: Option<&str>) -> Option<Price> {
    served_model
        .and_then(|served| builtin::lookup(&target.route, served))
        .or_else(|| builtin::lookup(&target.route, &target.model))
}

/// A target Tally can price, for pickers: `route:model` and its price.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct KnownTarget {
    pub target: String,
    pub path_label: String,
    pub price: Price,
}

/// Every target with a known price.
pub fn known_targets() -> Vec<KnownTarget> {
    builtin::targets()
        .filter_map(|t| {
            let target = Target::parse(&t).ok()?;
            Some(KnownTarget { path_label: target.path_label(), price: price_for(&target, None)?, target: t })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn sonnet() -> Price {
        price_for(&Target::parse("anthropic:claude-sonnet-4-5").unwrap(), None).unwrap()
    }

    #[test]
    fn cached_tokens_are_charged_once_at_the_cached_rate() {
        // 1000 input, of which 600 cache reads and 100 cache writes: 300 plain.
        let usage = Usage { input_tokens: 1000, cached_input_tokens: 600, cache_write_tokens: 100, output_tokens: 50, ..Default::default() };
        let c = cost(&usage, &sonnet());
        assert_eq!(c.input, d("0.0009")); // 300 × 0.000003
        assert_eq!(c.cached_input, d("0.00018")); // 600 × 0.0000003
        assert_eq!(c.cache_write, d("0.000375")); // 100 × 0.00000375
        assert_eq!(c.output, d("0.00075")); // 50 × 0.000015
        assert_eq!(c.total, d("0.002205"));
    }

    #[test]
    fn a_five_token_prompt_to_a_cheap_model_costs_less_than_a_micro_dollar_and_is_not_zero() {
        let price = price_for(&Target::parse("openai:gpt-4o-mini").unwrap(), None).unwrap();
        let usage = Usage { input_tokens: 5, output_tokens: 0, ..Default::default() };
        let c = cost(&usage, &price);
        assert_eq!(c.total, d("0.00000075")); // 5 × 0.00000015
        assert!(c.total < d("0.000001") && c.total > Decimal::ZERO);
    }

    #[test]
    fn reasoning_is_charged_at_output_price_unless_priced_apart() {
        let mut price = sonnet();
        let usage = Usage { input_tokens: 0, output_tokens: 100, reasoning_tokens: 40, ..Default::default() };
        assert_eq!(cost(&usage, &price).output, d("0.0015"));
        assert_eq!(cost(&usage, &price).reasoning, Decimal::ZERO);
        price.reasoning = Some(d("0.00001"));
        let c = cost(&usage, &price);
        assert_eq!(c.output, d("0.0009")); // 60 plain output tokens
        assert_eq!(c.reasoning, d("0.0004")); // 40 reasoning tokens
        assert_eq!(c.total, d("0.0013"));
    }

    #[test]
    fn openrouter_twin_has_its_own_price_and_unknown_models_have_none() {
        let or = price_for(&Target::parse("openrouter:openai/gpt-4o-mini").unwrap(), None).unwrap();
        assert_eq!(or.input, d("0.00000015"));
        assert!(or.source.contains("OpenRouter"));
        assert!(price_for(&Target::parse("openai:no-such-model").unwrap(), None).is_none());
    }

    #[test]
    fn the_served_model_is_priced_not_the_requested_one() {
        let t = Target::parse("openrouter:openai/gpt-4o-mini").unwrap();
        let p = price_for(&t, Some("anthropic/claude-sonnet-4.5")).unwrap();
        assert_eq!(p.input, d("0.000003"));
    }
}
