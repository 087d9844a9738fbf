//! Prices and what an answer cost.
//!
//! Owns: the price catalog ([`catalog`]), route fees ([`Fees`]), and [`cost`], an itemised,
//! exact computation from normalised [`Usage`]. Must not: round (formatting is the UI's job),
//! touch `f64`, or recompute history (the price used is stored with each usage row).

pub mod age;
mod billed;
pub mod catalog;
pub mod catalog_store;
pub mod litellm;

use std::collections::BTreeMap;
use std::sync::RwLock;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use billed::{uses_web_search, AnswerFacts};
pub use catalog::{Catalog, CatalogError, CatalogInfo};

use crate::stream::Usage;
use crate::target::Target;

/// A higher rate for long prompts: applies when the input exceeds `above_input_tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Tier {
    #[ts(type = "number")]
    pub above_input_tokens: u64,
    #[ts(as = "crate::brands::ts::UsdPerToken")]
    pub input: Decimal,
    #[ts(as = "crate::brands::ts::UsdPerToken")]
    pub output: Decimal,
    #[ts(as = "Option<crate::brands::ts::UsdPerToken>")]
    pub cached_input: Option<Decimal>,
    #[ts(as = "Option<crate::brands::ts::UsdPerToken>")]
    pub cache_write: Option<Decimal>,
}

/// A model's price on one route, in USD per token (per request for `request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Price {
    #[ts(as = "crate::brands::ts::UsdPerToken")]
    pub input: Decimal,
    #[ts(as = "crate::brands::ts::UsdPerToken")]
    pub output: Decimal,
    /// Cached input read; `None` means cached tokens cost the plain input price.
    #[ts(as = "Option<crate::brands::ts::UsdPerToken>")]
    pub cached_input: Option<Decimal>,
    /// Cache write; `None` means the plain input price.
    #[ts(as = "Option<crate::brands::ts::UsdPerToken>")]
    pub cache_write: Option<Decimal>,
    /// Reasoning tokens priced apart; `None` means they cost the output price.
    #[ts(as = "Option<crate::brands::ts::UsdPerToken>")]
    pub reasoning: Option<Decimal>,
    /// A fixed fee per request.
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub request: Option<Decimal>,
    /// Long-context rates, lowest threshold first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<Tier>,
    /// Where the figures come from and their date.
    pub source: String,
}

impl Price {
    /// The rates that apply to a request with this many input tokens (a long-context tier's,
    /// where one applies).
    pub fn for_input(&self, input_tokens: u64) -> Price {
        match self.tiers.iter().rev().find(|t| input_tokens > t.above_input_tokens) {
            None => self.clone(),
            Some(t) => Price {
                input: t.input,
                output: t.output,
                cached_input: t.cached_input.or(self.cached_input),
                cache_write: t.cache_write.or(self.cache_write),
                tiers: Vec::new(),
                source: format!("{} (rate above {} input tokens)", self.source, t.above_input_tokens),
                ..self.clone()
            },
        }
    }
}

/// Fees a route adds on top of list prices, in percent (OpenRouter's fee on buying credits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Fees {
    #[ts(type = "Record<string, string>")]
    pub percent_by_route: BTreeMap<String, Decimal>,
}

impl Default for Fees {
    /// OpenRouter charges 5.5 % when credits are bought by card (its FAQ, 2025); direct routes
    /// bill list prices. The user can change both in the settings.
    fn default() -> Self {
        Fees { percent_by_route: BTreeMap::from([("openrouter".to_string(), Decimal::new(55, 1))]) }
    }
}

impl Fees {
    pub fn none() -> Self {
        Fees { percent_by_route: BTreeMap::new() }
    }

    pub fn percent(&self, route: &str) -> Decimal {
        self.percent_by_route.get(route).copied().unwrap_or_default()
    }
}

/// Which rate a line of the itemised cost is charged at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum LineKind {
    Input,
    CachedInput,
    CacheWrite,
    Output,
    Reasoning,
    Request,
}

/// One line of the itemised cost: `tokens` × `unit_price` = `amount`, at the rate actually
/// applied (a long-context tier's, where one applied). A request fee has no tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CostLine {
    pub kind: LineKind,
    #[ts(type = "number | null")]
    pub tokens: Option<u64>,
    #[ts(as = "crate::brands::ts::UsdPerToken")]
    pub unit_price: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub amount: Decimal,
}

/// How far the route's reported charge is from the catalog's computation, and why where that
/// can be known. Present only when they differ by more than [`DIFFERENCE_THRESHOLD_PERCENT`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CostDifference {
    /// reported − computed, in USD (negative when the route charged less).
    #[ts(as = "crate::brands::ts::Money")]
    pub amount: Decimal,
    /// `amount` as a percentage of the computed cost, to two decimal places; `None` when the
    /// computed cost is zero.
    #[ts(type = "string | null")]
    pub percent: Option<Decimal>,
    /// Why, in words, where it can be known; the most likely first.
    pub reasons: Vec<String>,
}

/// A reported charge this far (in percent) from the catalog's computation is worth saying.
pub const DIFFERENCE_THRESHOLD_PERCENT: Decimal = Decimal::from_parts(5, 0, 0, false, 1);

/// What one answer cost. `total` is the recorded list cost: what the route reported charging
/// where it reports one (OpenRouter's `usage.cost`, xAI's ticks), else the catalog's
/// computation. The lines are always the catalog's computation, at the rates applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Cost {
    #[ts(as = "crate::brands::ts::Money")]
    pub input: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub cached_input: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub cache_write: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub output: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub reasoning: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub request: Decimal,
    /// The recorded list cost: the route's reported charge, else the sum of the lines.
    #[ts(as = "crate::brands::ts::Money")]
    pub total: Decimal,
    /// What the route adds on top (OpenRouter's credit fee), as a share of `total`.
    #[serde(default)]
    #[ts(as = "crate::brands::ts::Money")]
    pub platform_fee: Decimal,
    /// `total` + `platform_fee`: what the answer effectively cost.
    #[serde(default)]
    #[ts(as = "crate::brands::ts::Money")]
    pub effective_total: Decimal,
    /// True when `total` is what the route reported charging rather than Tally's computation.
    #[serde(default)]
    pub as_reported: bool,
    /// The catalog's computation line by line (empty when the catalog has no price).
    #[serde(default)]
    pub lines: Vec<CostLine>,
    /// The sum of `lines`; `None` when the catalog has no price for the model.
    #[serde(default)]
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub computed_total: Option<Decimal>,
    /// What the route reported charging, when it reports it.
    #[serde(default)]
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub reported_total: Option<Decimal>,
    /// Set when the reported charge and the computation differ by more than 0.5 %.
    #[serde(default)]
    pub difference: Option<CostDifference>,
}

/// Money arithmetic that would not fit: the usage or the price cannot be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    #[error("The cost of this answer is too large to compute ({0}); the usage or the price cannot be right.")]
    Overflow(&'static str),
}

fn mul(tokens: u64, unit: Decimal, what: &'static str) -> Result<Decimal, CostError> {
    Decimal::from(tokens).checked_mul(unit).ok_or(CostError::Overflow(what))
}

fn add(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, CostError> {
    a.checked_add(b).ok_or(CostError::Overflow(what))
}

/// `amount × percent / 100`, checked.
pub fn percent_of(amount: Decimal, percent: Decimal) -> Result<Decimal, CostError> {
    amount.checked_mul(percent).and_then(|x| x.checked_div(Decimal::ONE_HUNDRED)).ok_or(CostError::Overflow("the route's fee"))
}

/// Prices `usage` at `price`, with `fee_percent` on top for the effective cost. Cached reads and
/// cache writes are charged at their own rates and are not charged again as plain input;
/// reasoning is charged apart only where it is priced apart; a long prompt takes its tier's rates.
/// Every multiplication and sum is checked: an impossible figure is an error, never a panic.
pub fn cost(usage: &Usage, price: &Price, fee_percent: Decimal) -> Result<Cost, CostError> {
    let price = &price.for_input(usage.input_tokens);
    let rates = rates(usage, price);
    let mut lines = Vec::with_capacity(rates.len() + 1);
    for (kind, tokens, unit_price) in rates {
        let amount = mul(tokens, unit_price, "tokens × price")?;
        lines.push(CostLine { kind, tokens: Some(tokens), unit_price: unit_price.normalize(), amount: amount.normalize() });
    }
    if let Some(fee) = price.request {
        lines.push(CostLine { kind: LineKind::Request, tokens: None, unit_price: fee.normalize(), amount: fee.normalize() });
    }
    let mut total = Decimal::ZERO;
    for line in &lines {
        total = add(total, line.amount, "the sum of the lines")?;
    }
    let amount = |kind: LineKind| lines.iter().find(|l| l.kind == kind).map_or(Decimal::ZERO, |l| l.amount);
    let mut c = Cost {
        input: amount(LineKind::Input),
        cached_input: amount(LineKind::CachedInput),
        cache_write: amount(LineKind::CacheWrite),
        output: amount(LineKind::Output),
        reasoning: amount(LineKind::Reasoning),
        request: amount(LineKind::Request),
        total,
        computed_total: Some(total.normalize()),
        ..Cost::default()
    };
    // Lines that charge nothing say nothing.
    c.lines = lines.into_iter().filter(|l| !l.amount.is_zero() || l.tokens.is_some_and(|t| t > 0)).collect();
    c.set_fee(fee_percent)?;
    Ok(c.normalize())
}

/// The token lines of `usage` at `price` (already the rates that apply): which tokens, how
/// many, at what unit price.
fn rates(usage: &Usage, price: &Price) -> [(LineKind, u64, Decimal); 5] {
    let (reasoning_tokens, plain_output) = match price.reasoning {
        Some(_) => (usage.reasoning_tokens.min(usage.output_tokens), usage.output_tokens.saturating_sub(usage.reasoning_tokens)),
        None => (0, usage.output_tokens),
    };
    [
        (LineKind::Input, usage.uncached_input_tokens(), price.input),
        (LineKind::CachedInput, usage.cached_input_tokens, price.cached_input.unwrap_or(price.input)),
        (LineKind::CacheWrite, usage.cache_write_tokens, price.cache_write.unwrap_or(price.input)),
        (LineKind::Output, plain_output, price.output),
        (LineKind::Reasoning, reasoning_tokens, price.reasoning.unwrap_or(price.output)),
    ]
}

impl Cost {
    /// A cost stored before its lines were recorded gets them from the stored price and counts,
    /// beside the stored amounts (nothing is recomputed: each line's amount is the one stored).
    pub fn with_stored_lines(mut self, usage: &Usage, price: Option<&Price>) -> Self {
        let Some(price) = price.filter(|_| self.lines.is_empty() && !self.as_reported) else { return self };
        let price = price.for_input(usage.input_tokens);
        let stored = |kind: LineKind| match kind {
            LineKind::Input => self.input,
            LineKind::CachedInput => self.cached_input,
            LineKind::CacheWrite => self.cache_write,
            LineKind::Output => self.output,
            LineKind::Reasoning => self.reasoning,
            LineKind::Request => self.request,
        };
        let mut lines: Vec<CostLine> = rates(usage, &price)
            .into_iter()
            .filter(|(kind, ..)| !stored(*kind).is_zero())
            .map(|(kind, tokens, unit_price)| CostLine { kind, tokens: Some(tokens), unit_price: unit_price.normalize(), amount: stored(kind) })
            .collect();
        if !self.request.is_zero() {
            lines.push(CostLine { kind: LineKind::Request, tokens: None, unit_price: self.request, amount: self.request });
        }
        self.lines = lines;
        self.computed_total.get_or_insert(self.total);
        self
    }

    /// Sets the route's fee and the effective cost from `total`.
    fn set_fee(&mut self, fee_percent: Decimal) -> Result<(), CostError> {
        self.platform_fee = percent_of(self.total, fee_percent)?;
        self.effective_total = add(self.total, self.platform_fee, "the cost with the route's fee")?;
        Ok(())
    }

    /// Drops trailing zeros (`0.000090000` → `0.00009`) without changing any value.
    fn normalize(mut self) -> Self {
        for d in [
            &mut self.input,
            &mut self.cached_input,
            &mut self.cache_write,
            &mut self.output,
            &mut self.reasoning,
            &mut self.request,
            &mut self.total,
            &mut self.platform_fee,
            &mut self.effective_total,
        ] {
            *d = d.normalize();
        }
        self
    }
}

/// The app's pricing: the catalog and the route fees, shared by the turn runner and the UI.
pub struct Pricing {
    catalog: RwLock<Catalog>,
    fees: RwLock<Fees>,
}

impl Pricing {
    pub fn new(catalog: Catalog, fees: Fees) -> Self {
        Pricing { catalog: RwLock::new(catalog), fees: RwLock::new(fees) }
    }

    pub fn catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn update_catalog(&self, f: impl FnOnce(Catalog) -> Catalog) {
        let mut guard = self.catalog.write().unwrap_or_else(|p| p.into_inner());
        *guard = f(guard.clone());
    }

    pub fn fees(&self) -> Fees {
        self.fees.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_fees(&self, fees: Fees) {
        *self.fees.write().unwrap_or_else(|p| p.into_inner()) = fees;
    }

    /// The price applied and the itemised cost of an answer (see [`billed::charge`]).
    pub fn charge(&self, target: &Target, facts: &AnswerFacts, usage: &Usage) -> Result<(Option<Price>, Option<Cost>), CostError> {
        let fee = self.fees().percent(&target.route);
        let price = self.catalog().price(target, facts.served_model.as_deref());
        billed::charge(target, facts, usage, price.as_ref(), fee)
    }
}

/// A target Tally can price, for pickers and the pricing screen: its price, whether the user
/// overrode it, and the same model on the other route with how much dearer this one is.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct KnownTarget {
    pub target: String,
    pub route: String,
    pub model: String,
    pub path_label: String,
    pub price: Price,
    pub overridden: bool,
    /// The same model on the other route, when the catalog knows it.
    pub twin: Option<String>,
    pub twin_price: Option<Price>,
    /// (this − twin) / twin × 100 for input and output, to one decimal place; `None` without a twin.
    pub input_vs_twin_percent: Option<String>,
    pub output_vs_twin_percent: Option<String>,
    /// The date the price is from (`YYYY-MM-DD`; a month-only date is its first day) and its age
    /// in days today; `None` for a price that names no date (your own).
    pub as_of: Option<String>,
    #[ts(type = "number | null")]
    pub age_days: Option<i64>,
    /// Older than [`age::STALE_AFTER_DAYS`]: answers charged at it get a warning.
    pub stale: bool,
}

fn percent_diff(this: Decimal, other: Decimal) -> Option<String> {
    (!other.is_zero()).then(|| ((this - other) / other * Decimal::ONE_HUNDRED).round_dp(1).normalize().to_string())
}

impl Catalog {
    /// Every priced target with its twin, for pickers and the pricing screen.
    pub fn known_targets(&self) -> Vec<KnownTarget> {
        let today = age::today();
        self.targets()
            .into_iter()
            .map(|(t, price)| {
                let date = age::price_date(&price.source);
                let age_days = date.map(|d| (today - d).num_days());
                let twin = self.twin(&t);
                let twin_price = twin.as_ref().and_then(|x| self.price(x, None));
                KnownTarget {
                    path_label: t.path_label(),
                    overridden: self.is_overridden(&t),
                    input_vs_twin_percent: twin_price.as_ref().and_then(|tp| percent_diff(price.input, tp.input)),
                    output_vs_twin_percent: twin_price.as_ref().and_then(|tp| percent_diff(price.output, tp.output)),
                    twin: twin.map(|x| x.to_string()),
                    twin_price,
                    target: t.to_string(),
                    route: t.route,
                    model: t.model,
                    as_of: date.map(|d| d.to_string()),
                    stale: age_days.is_some_and(|a| a > age::STALE_AFTER_DAYS),
                    age_days,
                    price,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn price(target: &str) -> Price {
        Catalog::embedded().price(&Target::parse(target).unwrap(), None).unwrap()
    }

    fn sonnet() -> Price {
        price("anthropic:claude-sonnet-4-5")
    }

    fn cost(usage: &Usage, price: &Price) -> Cost {
        super::cost(usage, price, Decimal::ZERO).unwrap()
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
        let price = price("openai:gpt-4o-mini");
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
        let or = price("openrouter:openai/gpt-4o-mini");
        assert_eq!(or.input, d("0.00000015"));
        assert!(or.source.contains("OpenRouter"));
        let c = Catalog::embedded();
        assert!(c.price(&Target::parse("openai:no-such-model").unwrap(), None).is_none());
        assert_eq!(c.twin(&Target::parse("openai:gpt-4o-mini").unwrap()).unwrap().to_string(), "openrouter:openai/gpt-4o-mini");
        assert_eq!(c.twin(&Target::parse("openrouter:anthropic/claude-sonnet-4.5").unwrap()).unwrap().to_string(), "anthropic:claude-sonnet-4-5");
    }

    #[test]
    fn the_served_model_is_priced_not_the_requested_one() {
        let t = Target::parse("openrouter:openai/gpt-4o-mini").unwrap();
        let p = Catalog::embedded().price(&t, Some("anthropic/claude-sonnet-4.5")).unwrap();
        assert_eq!(p.input, d("0.000003"));
    }

    #[test]
    fn a_long_prompt_takes_the_long_context_rates() {
        // Gemini 2.5 Pro direct: $1.25/M in, $10/M out; above 200k input tokens $2.50/M and $15/M.
        let p = price("gemini:gemini-2.5-pro");
        let short = Usage { input_tokens: 200_000, output_tokens: 1000, ..Default::default() };
        assert_eq!(cost(&short, &p).total, d("0.26")); // 200000 × 0.00000125 + 1000 × 0.00001
        let long = Usage { input_tokens: 200_001, output_tokens: 1000, ..Default::default() };
        assert_eq!(cost(&long, &p).total, d("0.5150025")); // 200001 × 0.0000025 + 1000 × 0.000015
        // OpenRouter's own tier for Claude Sonnet 4.5: min_prompt_tokens 200000 → $6/M in, $22.50/M out.
        let or = price("openrouter:anthropic/claude-sonnet-4.5");
        let at = Usage { input_tokens: 200_000, output_tokens: 10, ..Default::default() };
        assert_eq!(cost(&at, &or).input, d("1.2"));
        assert_eq!(cost(&at, &or).output, d("0.000225"));
    }

    #[test]
    fn each_line_carries_its_tokens_and_the_tier_rate_actually_applied() {
        // Gemini 2.5 Pro above 200k input tokens: $2.50/M in, $15/M out (base $1.25/M, $10/M).
        let long = Usage { input_tokens: 200_001, output_tokens: 1000, ..Default::default() };
        let c = cost(&long, &price("gemini:gemini-2.5-pro"));
        let line = |k: LineKind| c.lines.iter().find(|l| l.kind == k).cloned().unwrap();
        assert_eq!(line(LineKind::Input), CostLine { kind: LineKind::Input, tokens: Some(200_001), unit_price: d("0.0000025"), amount: d("0.5000025") });
        assert_eq!(line(LineKind::Output), CostLine { kind: LineKind::Output, tokens: Some(1000), unit_price: d("0.000015"), amount: d("0.015") });
        assert_eq!(c.lines.len(), 2, "lines with no tokens and no amount are left out: {:?}", c.lines);
        assert_eq!(c.computed_total, Some(d("0.5150025")));
        // The price stored with the answer is the one applied: the tier's.
        let pricing = Pricing::new(Catalog::embedded(), Fees::none());
        let (applied, _) = pricing.charge(&Target::parse("gemini:gemini-2.5-pro").unwrap(), &AnswerFacts::default(), &long).unwrap();
        let applied = applied.unwrap();
        assert_eq!((applied.input, applied.output), (d("0.0000025"), d("0.000015")));
        assert!(applied.source.contains("above 200000 input tokens"), "{}", applied.source);
    }

    #[test]
    fn a_cost_stored_without_lines_gets_them_from_its_stored_price_and_amounts() {
        let usage = Usage { input_tokens: 1000, cached_input_tokens: 600, cache_write_tokens: 100, output_tokens: 50, ..Default::default() };
        let mut stored = cost(&usage, &sonnet());
        stored.lines.clear();
        stored.computed_total = None;
        let back = stored.with_stored_lines(&usage, Some(&sonnet()));
        assert_eq!(back.lines, cost(&usage, &sonnet()).lines);
        assert_eq!(back.computed_total, Some(d("0.002205")));
    }

    #[test]
    fn money_arithmetic_that_would_overflow_is_an_error() {
        let mut p = sonnet();
        p.input = Decimal::MAX;
        let usage = Usage { input_tokens: 2, ..Default::default() };
        assert_eq!(super::cost(&usage, &p, Decimal::ZERO).unwrap_err(), CostError::Overflow("tokens × price"));
    }

    #[test]
    fn an_override_wins_is_listed_and_resets_to_the_catalog_price() {
        let mut c = Catalog::embedded();
        let t = Target::parse("openai:gpt-4o-mini").unwrap();
        let mut mine = c.price(&t, None).unwrap();
        mine.input = d("0.0000001");
        c.set_override(&t, Some(mine));
        assert_eq!(c.price(&t, None).unwrap().input, d("0.0000001"));
        let row = c.known_targets().into_iter().find(|k| k.target == "openai:gpt-4o-mini").unwrap();
        assert!(row.overridden);
        assert_eq!(row.twin.as_deref(), Some("openrouter:openai/gpt-4o-mini"));
        assert_eq!(row.input_vs_twin_percent.as_deref(), Some("-33.3")); // 0.10 vs 0.15 per M
        c.set_override(&t, None);
        assert_eq!(c.price(&t, None).unwrap().input, d("0.00000015"));
        assert_eq!(c.listed_price(&t).unwrap().input, d("0.00000015"));
    }

    #[test]
    fn a_per_request_fee_and_a_platform_fee_are_their_own_lines() {
        let mut p = price("openai:gpt-4o-mini");
        p.request = Some(d("0.005"));
        let usage = Usage { input_tokens: 1000, output_tokens: 100, ..Default::default() };
        let c = super::cost(&usage, &p, d("5.5")).unwrap();
        assert_eq!(c.request, d("0.005"));
        assert_eq!(c.total, d("0.00521")); // 0.00015 + 0.00006 + 0.005
        assert_eq!(c.platform_fee, d("0.00028655")); // 5.5 % of the list total, exact
        assert_eq!(c.effective_total, d("0.00549655"));
    }
}
