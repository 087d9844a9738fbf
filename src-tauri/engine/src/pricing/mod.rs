//! Prices and what an answer cost.
//!
//! Owns: the price catalog ([`catalog`]), route fees ([`Fees`]), and [`cost`], an itemised,
//! exact computation from normalised [`Usage`]. Must not: round (formatting is the UI's job),
//! touch `f64`, or recompute history (the price used is stored with each usage row).

pub mod catalog;
pub mod catalog_store;

use std::collections::BTreeMap;
use std::sync::RwLock;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use catalog::{Catalog, CatalogError, CatalogInfo};

use crate::stream::Usage;
use crate::target::Target;

/// A higher rate for long prompts: applies when the input exceeds `above_input_tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Tier {
    #[ts(type = "number")]
    pub above_input_tokens: u64,
    #[ts(type = "string")]
    pub input: Decimal,
    #[ts(type = "string")]
    pub output: Decimal,
    #[ts(type = "string | null")]
    pub cached_input: Option<Decimal>,
    #[ts(type = "string | null")]
    pub cache_write: Option<Decimal>,
}

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
    /// The list cost: the sum of the lines above.
    #[ts(type = "string")]
    pub total: Decimal,
    /// What the route adds on top (OpenRouter's credit fee), as a share of `total`.
    #[serde(default)]
    #[ts(type = "string")]
    pub platform_fee: Decimal,
    /// `total` + `platform_fee`: what the answer effectively cost.
    #[serde(default)]
    #[ts(type = "string")]
    pub effective_total: Decimal,
    /// True when Tally has no price for the model and `total` is what the route reported it
    /// charged (OpenRouter's `usage.cost`); the lines above are then zero.
    #[serde(default)]
    pub as_reported: bool,
}

/// Prices `usage` at `price`, with `fee_percent` on top for the effective cost. Cached reads and
/// cache writes are charged at their own rates and are not charged again as plain input;
/// reasoning is charged apart only where it is priced apart; a long prompt takes its tier's rates.
pub fn cost(usage: &Usage, price: &Price, fee_percent: Decimal) -> Cost {
    let price = &price.for_input(usage.input_tokens);
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
        platform_fee: Decimal::ZERO,
        effective_total: Decimal::ZERO,
        as_reported: false,
    };
    c.total = c.input + c.cached_input + c.cache_write + c.output + c.reasoning + c.request;
    c.platform_fee = c.total * fee_percent / Decimal::ONE_HUNDRED;
    c.effective_total = c.total + c.platform_fee;
    c.normalize()
}

impl Cost {
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

/// The pricing the app and the CLI start with: the embedded catalog, the last sound refresh on
/// top, then the user's overrides from the database. Returns a notice when a saved refresh was
/// damaged (the embedded prices are used instead).
pub fn load(data_dir: &std::path::Path, fees: Fees, store: &crate::store::Store) -> (Pricing, Option<String>) {
    let (catalog, warning) = catalog_store::load(data_dir);
    let catalog = store.blocking(|c| crate::store::overrides::apply(c, catalog.clone())).unwrap_or(catalog);
    (Pricing::new(catalog, fees), warning)
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

    /// The price used and the itemised cost of an answer. Without a catalog price, the amount
    /// the route reported charging stands as the cost (marked `as_reported`); with neither, `None`.
    pub fn charge(&self, target: &Target, served_model: Option<&str>, usage: &Usage) -> (Option<Price>, Option<Cost>) {
        let fee = self.fees().percent(&target.route);
        let price = self.catalog().price(target, served_model);
        let cost = match (&price, usage.reported_cost) {
            (Some(p), _) => Some(cost(usage, p, fee)),
            (None, Some(reported)) => {
                let platform_fee = (reported * fee / Decimal::ONE_HUNDRED).normalize();
                Some(Cost { total: reported, platform_fee, effective_total: (reported + platform_fee).normalize(), as_reported: true, ..Cost::default() })
            }
            (None, None) => None,
        };
        (price, cost)
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
}

fn percent_diff(this: Decimal, other: Decimal) -> Option<String> {
    (!other.is_zero()).then(|| ((this - other) / other * Decimal::ONE_HUNDRED).round_dp(1).normalize().to_string())
}

impl Catalog {
    /// Every priced target with its twin, for pickers and the pricing screen.
    pub fn known_targets(&self) -> Vec<KnownTarget> {
        self.targets()
            .into_iter()
            .map(|(t, price)| {
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
        super::cost(usage, price, Decimal::ZERO)
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
        let c = super::cost(&usage, &p, d("5.5"));
        assert_eq!(c.request, d("0.005"));
        assert_eq!(c.total, d("0.00521")); // 0.00015 + 0.00006 + 0.005
        assert_eq!(c.platform_fee, d("0.00028655")); // 5.5 % of the list total, exact
        assert_eq!(c.effective_total, d("0.00549655"));
    }
}
