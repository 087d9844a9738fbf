//! Billed first: what an answer is recorded as costing.
//!
//! Where the route reports what it charged (OpenRouter's `usage.cost`, with BYOK plus the
//! provider's `upstream_inference_cost`; xAI's `cost_in_usd_ticks`), that is the recorded cost.
//! The catalog's computation is kept beside it, line by line, and when the two differ by more
//! than [`DIFFERENCE_THRESHOLD_PERCENT`] the cost says so, and why where that can be known.
//! Must not: guess a price the catalog does not have, or hide a difference.

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::{cost, percent_of, Cost, CostDifference, CostError, Price, DIFFERENCE_THRESHOLD_PERCENT};
use crate::stream::Usage;
use crate::target::Target;

/// What is known about how an answer was served, beyond its token counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerFacts {
    /// The model that actually answered (OpenRouter may fall back to another one).
    pub served_model: Option<String>,
    /// The upstream provider that served it, where the route says (OpenRouter's `provider`).
    pub served_by: Option<String>,
    /// The request asked for web search (a plugin, `web_search_options`, an `:online` model).
    pub web_search: bool,
}

impl AnswerFacts {
    pub fn served(model: Option<&str>) -> Self {
        AnswerFacts { served_model: model.map(str::to_string), ..Default::default() }
    }
}

/// Whether a request for `model` with these extra body fields asks for web search, whose fee
/// token prices do not show.
pub fn uses_web_search(model: &str, extra: &Map<String, Value>) -> bool {
    let web_plugin = extra
        .get("plugins")
        .and_then(Value::as_array)
        .is_some_and(|plugins| plugins.iter().any(|p| p.get("id").and_then(Value::as_str) == Some("web")));
    model.ends_with(":online") || web_plugin || extra.contains_key("web_search_options")
}

/// The price applied (a long-context tier's, where one applied) and the recorded cost: the
/// route's reported charge where there is one, else the catalog's computation; `None` for
/// both when there is neither.
pub(super) fn charge(target: &Target, facts: &AnswerFacts, usage: &Usage, price: Option<&Price>, fee: Decimal) -> Result<(Option<Price>, Option<Cost>), CostError> {
    let applied = price.map(|p| p.for_input(usage.input_tokens));
    let computed = match price {
        Some(p) => Some(cost(usage, p, fee)?),
        None => None,
    };
    let Some(reported) = usage.reported_cost else { return Ok((applied, computed)) };
    let mut c = computed.clone().unwrap_or_default();
    c.total = reported.normalize();
    c.as_reported = true;
    c.reported_total = Some(c.total);
    c.platform_fee = percent_of(c.total, fee)?.normalize();
    c.effective_total = c.total.checked_add(c.platform_fee).ok_or(CostError::Overflow("the cost with the route's fee"))?.normalize();
    c.difference = match (&computed, price) {
        (Some(computed), Some(price)) => difference(target, facts, usage, price, computed.total, reported),
        _ => None,
    };
    Ok((applied, Some(c)))
}

/// The difference between the route's charge and the computation, when over the threshold.
fn difference(target: &Target, facts: &AnswerFacts, usage: &Usage, price: &Price, computed: Decimal, reported: Decimal) -> Option<CostDifference> {
    let amount = reported.checked_sub(computed)?;
    let percent = (!computed.is_zero()).then(|| amount.checked_mul(Decimal::ONE_HUNDRED)?.checked_div(computed)).flatten();
    let over = match percent {
        Some(p) => p.abs() > DIFFERENCE_THRESHOLD_PERCENT,
        None => !amount.is_zero(),
    };
    if !over {
        return None;
    }
    Some(CostDifference {
        amount: amount.normalize(),
        percent: percent.map(|p| p.round_dp(2).normalize()),
        reasons: reasons(target, facts, usage, price, amount),
    })
}

/// Why the route's charge may differ from the catalog's computation, in words, most likely first.
fn reasons(target: &Target, facts: &AnswerFacts, usage: &Usage, price: &Price, amount: Decimal) -> Vec<String> {
    let mut out = Vec::new();
    let more = amount.is_sign_positive();
    if facts.web_search && more {
        out.push("The request used web search (a plugin or an :online model): its fee is in the charge, not in token prices.".to_string());
    }
    if let Some(fee) = price.request {
        out.push(format!("The catalog adds a per-request fee of ${}.", fee.normalize()));
    }
    if let Some(tier) = price.tiers.iter().rev().find(|t| usage.input_tokens > t.above_input_tokens) {
        out.push(format!(
            "The long-context rate applied ({} input tokens, above {}); the route may draw that line elsewhere.",
            usage.input_tokens, tier.above_input_tokens
        ));
    }
    if usage.cached_input_tokens > 0 || usage.cache_write_tokens > 0 {
        out.push(format!(
            "{} input tokens were read from a cache and {} written to one: the route's cache rates may differ from the catalog's.",
            usage.cached_input_tokens, usage.cache_write_tokens
        ));
    }
    if let Some(served) = facts.served_model.as_deref().filter(|s| !same_model(&target.model, s)) {
        out.push(format!("Another model served the answer: {served}, not {}.", target.model));
    }
    if let Some(by) = facts.served_by.as_deref().filter(|_| target.route == "openrouter") {
        out.push(format!("{by} served it through OpenRouter; that provider's price may differ from the list price."));
    }
    if usage.estimated {
        out.push("The token counts are Tally's estimate (the provider sent none).".to_string());
    }
    if more && !facts.web_search && price.request.is_none() {
        out.push("The route may charge a per-request fee, a tool or a plugin that token prices don't show.".to_string());
    }
    out.push(format!("Prices: {}. The route's prices may have changed since.", price.source));
    out
}

/// `gpt-4o` is served as `gpt-4o-2024-08-06`: a dated snapshot of the same model.
fn same_model(requested: &str, served: &str) -> bool {
    let base = |m: &str| m.rsplit('/').next().unwrap_or(m).to_ascii_lowercase();
    let (r, s) = (base(requested), base(served));
    s.starts_with(&r) || r.starts_with(&s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn price() -> Price {
        Price {
            input: d("0.000001"),
            output: d("0.000002"),
            cached_input: None,
            cache_write: None,
            reasoning: None,
            request: None,
            tiers: vec![],
            source: "test list price".into(),
        }
    }

    #[test]
    fn a_reported_charge_is_the_cost_and_the_computation_stays_beside_it() {
        // 1000 × 0.000001 + 100 × 0.000002 = 0.0012; the route reported 0.0112 (web search $0.01).
        let usage = Usage { input_tokens: 1000, output_tokens: 100, reported_cost: Some(d("0.0112")), ..Default::default() };
        let target = Target::parse("openrouter:openai/gpt-4o-mini:online").unwrap();
        let facts = AnswerFacts { web_search: true, ..Default::default() };
        let (_, c) = charge(&target, &facts, &usage, Some(&price()), d("5.5")).unwrap();
        let c = c.unwrap();
        assert_eq!(c.total, d("0.0112"));
        assert!(c.as_reported);
        assert_eq!(c.computed_total, Some(d("0.0012")));
        assert_eq!(c.platform_fee, d("0.000616")); // 5.5 % of 0.0112
        assert_eq!(c.effective_total, d("0.011816"));
        let diff = c.difference.unwrap();
        assert_eq!(diff.amount, d("0.01"));
        assert_eq!(diff.percent, Some(d("833.33"))); // 0.01 / 0.0012 × 100
        assert!(diff.reasons[0].contains("web search"), "{:?}", diff.reasons);
    }

    #[test]
    fn a_difference_of_half_a_percent_or_less_is_not_one() {
        // computed 0.0012; 0.5 % of it is 0.000006.
        let target = Target::parse("openrouter:openai/gpt-4o-mini").unwrap();
        let at = |reported: &str| {
            let usage = Usage { input_tokens: 1000, output_tokens: 100, reported_cost: Some(d(reported)), ..Default::default() };
            charge(&target, &AnswerFacts::default(), &usage, Some(&price()), Decimal::ZERO).unwrap().1.unwrap().difference
        };
        assert_eq!(at("0.001206"), None);
        assert_eq!(at("0.001194"), None);
        let below = at("0.0011939").unwrap();
        assert_eq!(below.amount, d("-0.0000061"));
        assert_eq!(below.percent, Some(d("-0.51"))); // −0.508333…
    }

    #[test]
    fn without_a_price_the_reported_charge_stands_and_nothing_is_computed() {
        let usage = Usage { input_tokens: 10, output_tokens: 1, reported_cost: Some(d("0.00013305")), ..Default::default() };
        let (p, c) = charge(&Target::parse("xai:grok-3-mini").unwrap(), &AnswerFacts::default(), &usage, None, Decimal::ZERO).unwrap();
        let c = c.unwrap();
        assert!(p.is_none());
        assert_eq!((c.total, c.computed_total, c.difference), (d("0.00013305"), None, None));
        assert!(c.lines.is_empty());
    }

    #[test]
    fn a_price_beyond_what_a_decimal_holds_is_an_error_not_a_panic() {
        let mut p = price();
        p.output = Decimal::MAX;
        let usage = Usage { input_tokens: 1, output_tokens: 1_000_000_000, ..Default::default() };
        let err = charge(&Target::parse("openai:gpt-4o").unwrap(), &AnswerFacts::default(), &usage, Some(&p), Decimal::ZERO).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
    }

    #[test]
    fn web_search_is_seen_in_the_plugins_the_options_and_the_model_name() {
        let plugins: Map<String, Value> = serde_json::from_str(r#"{"plugins":[{"id":"web","max_results":5}]}"#).unwrap();
        assert!(uses_web_search("openai/gpt-4o", &plugins));
        assert!(uses_web_search("openai/gpt-4o:online", &Map::new()));
        assert!(!uses_web_search("openai/gpt-4o", &Map::new()));
    }
}
