//! Projection: what a conversation's measured profile (average tokens per request) would cost at
//! N requests a day or a month, per model and route, with the route's fees, and the conclusion
//! in words for each model offered both direct and via OpenRouter.
//!
//! A month is 30 days. Averages are whole tokens (rounded half up when measured), so every figure
//! here is an exact decimal: cost per request (from [`crate::pricing::cost`]) × requests.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::pricing::{cost, Cost, Price, Pricing};
use crate::stream::Usage;
use crate::target::Target;

pub const DAYS_PER_MONTH: u64 = 30;

/// Average tokens per request, measured from usage rows (`store::token_history::profile`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Profile {
    /// How many requests the averages come from.
    #[ts(type = "number")]
    pub requests: u64,
    #[ts(type = "number")]
    pub avg_input_tokens: u64,
    /// Of the input, read from a cache.
    #[ts(type = "number")]
    pub avg_cached_input_tokens: u64,
    /// Of the input, written to a cache.
    #[ts(type = "number")]
    pub avg_cache_write_tokens: u64,
    #[ts(type = "number")]
    pub avg_output_tokens: u64,
    /// Of the output, reasoning.
    #[ts(type = "number")]
    pub avg_reasoning_tokens: u64,
}

impl Profile {
    fn usage(&self) -> Usage {
        Usage {
            input_tokens: self.avg_input_tokens,
            cached_input_tokens: self.avg_cached_input_tokens.min(self.avg_input_tokens),
            cache_write_tokens: self.avg_cache_write_tokens.min(self.avg_input_tokens.saturating_sub(self.avg_cached_input_tokens)),
            output_tokens: self.avg_output_tokens,
            reasoning_tokens: self.avg_reasoning_tokens.min(self.avg_output_tokens),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum Period {
    Day,
    Month,
}

/// A target to project, with its price, its route's fee and its twin on the other route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectionTarget {
    pub target: Target,
    pub price: Price,
    pub fee_percent: Decimal,
    pub twin: Option<Target>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ProjectionRow {
    pub target: String,
    pub route: String,
    pub model: String,
    /// One request at the profile's averages, itemised, with the route's fee.
    pub per_request: Cost,
    /// Effective (fees included).
    #[ts(as = "crate::brands::ts::Money")]
    pub per_day: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub per_month: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Projection {
    pub profile: Profile,
    #[ts(type = "number")]
    pub requests: u64,
    pub period: Period,
    /// Cheapest first.
    pub rows: Vec<ProjectionRow>,
    /// One sentence per model offered on both routes, e.g. "At 40,000 requests a month, direct
    /// saves $312.40 on gpt-4o."
    pub conclusions: Vec<String>,
}

/// The projection targets for `targets` from the app's pricing (unpriced ones are left out).
pub fn projection_targets(pricing: &Pricing, targets: &[Target]) -> Vec<ProjectionTarget> {
    let catalog = pricing.catalog();
    let fees = pricing.fees();
    targets
        .iter()
        .filter_map(|t| Some(ProjectionTarget { price: catalog.price(t, None)?, fee_percent: fees.percent(&t.route), twin: catalog.twin(t), target: t.clone() }))
        .collect()
}

/// Projects `profile` at `requests` per `period` on every target.
pub fn project(profile: &Profile, requests: u64, period: Period, targets: &[ProjectionTarget]) -> Projection {
    let n = Decimal::from(requests);
    let days = Decimal::from(DAYS_PER_MONTH);
    let usage = profile.usage();
    let mut rows: Vec<ProjectionRow> = targets
        .iter()
        // A target whose figures are too large to compute is left out rather than panicking.
        .filter_map(|t| {
            let per_request = cost(&usage, &t.price, t.fee_percent).ok()?;
            let per_period = per_request.effective_total.checked_mul(n)?;
            let (per_day, per_month) = match period {
                Period::Day => (per_period, per_period.checked_mul(days)?),
                Period::Month => (per_period / days, per_period),
            };
            Some(ProjectionRow { target: t.target.to_string(), route: t.target.route.clone(), model: t.target.model.clone(), per_request, per_day: per_day.normalize(), per_month: per_month.normalize() })
        })
        .collect();
    rows.sort_by(|a, b| a.per_month.cmp(&b.per_month).then_with(|| a.target.cmp(&b.target)));
    let conclusions = targets
        .iter()
        .filter(|t| t.target.route != "openrouter")
        .filter_map(|direct| {
            let via = direct.twin.as_ref().filter(|tw| tw.route == "openrouter")?;
            let d = rows.iter().find(|r| r.target == direct.target.to_string())?;
            let o = rows.iter().find(|r| r.target == via.to_string())?;
            Some(conclusion(requests, period, &direct.target.model, d, o))
        })
        .collect();
    Projection { profile: profile.clone(), requests, period, rows, conclusions }
}

fn conclusion(requests: u64, period: Period, model: &str, direct: &ProjectionRow, via: &ProjectionRow) -> String {
    let (per, a, b) = match period {
        Period::Day => ("day", direct.per_day, via.per_day),
        Period::Month => ("month", direct.per_month, via.per_month),
    };
    let head = format!("At {} requests a {per}", group_thousands(&requests.to_string()));
    let monthly = |d: Decimal| match period {
        Period::Day => format!(" a day ({} a month)", usd(d * Decimal::from(DAYS_PER_MONTH))),
        Period::Month => String::new(),
    };
    if a == b {
        format!("{head}, direct and OpenRouter cost the same on {model}.")
    } else if a < b {
        format!("{head}, direct saves {}{} on {model}.", usd(b - a), monthly(b - a))
    } else {
        format!("{head}, OpenRouter saves {}{} on {model}.", usd(a - b), monthly(a - b))
    }
}

fn group_thousands(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 3 == digits.len() % 3 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Dollars for a sentence: cents from $0.01 up (rounded half away from zero, with thousands
/// separators), otherwise two significant digits so that a tiny amount never reads "$0.00".
pub fn usd(amount: Decimal) -> String {
    let amount = amount.abs();
    if amount >= Decimal::new(1, 2) || amount.is_zero() {
        let cents = amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        let text = format!("{cents:.2}");
        let (whole, frac) = text.split_once('.').unwrap_or((&text, "00"));
        format!("${}.{frac}", group_thousands(whole))
    } else {
        let mut scale = 2;
        while amount.round_dp(scale).is_zero() && scale < 27 {
            scale += 1;
        }
        format!("${}", amount.round_dp(scale + 1).normalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn dollars_read_as_a_person_writes_them() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(usd(d("312.4")), "$312.40");
        assert_eq!(usd(d("1234567.005")), "$1,234,567.01");
        assert_eq!(usd(d("0.000042")), "$0.000042");
        assert_eq!(usd(d("0.0012345")), "$0.0012");
        assert_eq!(usd(d("0")), "$0.00");
        assert_eq!(group_thousands("40000"), "40,000");
        assert_eq!(group_thousands("400"), "400");
    }
}
