//! The compose box's live estimate, per column: input tokens of system prompt + thread + new
//! text and what they cost, and a range for the output; and prompt variants compared on every
//! selected column. Costs come from [`crate::pricing::cost`], so tiers, per-request fees and the
//! route's fee apply exactly as they will on the bill.
//!
//! Output range: the low end is the column's recent average answer length (when it has history),
//! the high end its `max_tokens` (the most the request can be billed for). With only one of the
//! two, the range is that one value on both ends (average) or 0 to it (`max_tokens`); with
//! neither, the output is unknown and only the input is priced.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::tokens::{tokenizer_for, ChatItem, Encoding, Memo, REPLY_PRIMING};
use crate::pricing::{cost, Price, Pricing};
use crate::stream::Usage;
use crate::target::Target;

/// One column of the compose box.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export)]
pub struct ComposeColumn {
    /// `route:model`
    pub target: String,
    pub system: Option<String>,
    /// The column's thread so far, oldest first.
    pub thread: Vec<ChatItem>,
    pub new_text: String,
    #[ts(type = "number | null")]
    pub max_tokens: Option<u64>,
    /// The column's recent average output tokens per answer, from its history.
    #[ts(type = "number | null")]
    pub recent_output_avg: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum OutputBasis {
    /// From the recent average up to `max_tokens`.
    AverageToMax,
    /// The recent average on both ends.
    Average,
    /// 0 up to `max_tokens`.
    MaxTokens,
    /// Nothing to go on: output is not estimated.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ColumnEstimate {
    pub target: String,
    pub encoding: Encoding,
    /// False for estimate families: show the numbers with "≈".
    pub exact: bool,
    #[ts(type = "number")]
    pub input_tokens: u64,
    pub output_basis: OutputBasis,
    #[ts(type = "number | null")]
    pub output_tokens_low: Option<u64>,
    #[ts(type = "number | null")]
    pub output_tokens_high: Option<u64>,
    /// The rest is `null` when the target has no known price.
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub input_cost: Option<Decimal>,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub output_cost_low: Option<Decimal>,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub output_cost_high: Option<Decimal>,
    /// Effective totals: every line of the bill plus the route's fee.
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub total_low: Option<Decimal>,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub total_high: Option<Decimal>,
}

fn output_range(max_tokens: Option<u64>, avg: Option<u64>) -> (OutputBasis, Option<(u64, u64)>) {
    match (avg, max_tokens) {
        (Some(a), Some(m)) => (OutputBasis::AverageToMax, Some((a.min(m), m))),
        (Some(a), None) => (OutputBasis::Average, Some((a, a))),
        (None, Some(m)) => (OutputBasis::MaxTokens, Some((0, m))),
        (None, None) => (OutputBasis::Unknown, None),
    }
}

/// Input tokens of a column's request, counted through `memo`.
fn input_tokens<'a>(col: &'a ComposeColumn, system: &'a Option<ChatItem>, new_text: &'a ChatItem, memo: &mut Memo<'a>) -> (u64, bool, Encoding) {
    let t = tokenizer_for(&col.target);
    let tokens = system.iter().chain(col.thread.iter()).chain(std::iter::once(new_text)).map(|m| memo.message(&t, m)).sum::<u64>() + REPLY_PRIMING;
    (tokens, t.exact, t.encoding)
}

fn priced(target: &str, encoding: Encoding, exact: bool, input_tokens: u64, col: &ComposeColumn, price: Option<&Price>, fee_percent: Decimal) -> ColumnEstimate {
    let counted = Counted { target, encoding, exact, input_tokens, max_tokens: col.max_tokens, recent_output_avg: col.recent_output_avg };
    estimate_counted(&counted, price, fee_percent)
}

/// A column's request, already counted, with what its output range needs.
pub struct Counted<'a> {
    /// `route:model`
    pub target: &'a str,
    pub encoding: Encoding,
    pub exact: bool,
    pub input_tokens: u64,
    pub max_tokens: Option<u64>,
    /// The column's recent average output tokens per answer, from its history.
    pub recent_output_avg: Option<u64>,
}

/// The estimate of a counted request at `price` (`None`: unpriced) with the route's fee.
pub fn estimate_counted(counted: &Counted<'_>, price: Option<&Price>, fee_percent: Decimal) -> ColumnEstimate {
    let &Counted { target, encoding, exact, input_tokens, .. } = counted;
    let (output_basis, range) = output_range(counted.max_tokens, counted.recent_output_avg);
    let bill = |output_tokens: u64| price.and_then(|p| cost(&Usage { input_tokens, output_tokens, ..Default::default() }, p, fee_percent).ok());
    let (low, high) = (bill(range.map_or(0, |r| r.0)), bill(range.map_or(0, |r| r.1)));
    let output = |c: &crate::pricing::Cost| (c.output + c.reasoning).normalize();
    ColumnEstimate {
        target: target.to_string(),
        encoding,
        exact,
        input_tokens,
        output_basis,
        output_tokens_low: range.map(|r| r.0),
        output_tokens_high: range.map(|r| r.1),
        input_cost: low.as_ref().map(|c| c.input),
        output_cost_low: range.and(low.as_ref()).map(output),
        output_cost_high: range.and(high.as_ref()).map(output),
        total_low: low.map(|c| c.effective_total),
        total_high: high.map(|c| c.effective_total),
    }
}

fn system_item(col: &ComposeColumn) -> Option<ChatItem> {
    col.system.as_deref().filter(|s| !s.trim().is_empty()).map(|s| ChatItem::new("system", s))
}

/// The estimate of one column at `price` (`None`: unpriced) with the route's `fee_percent`.
/// Blocking (see the module docs of [`crate::tokens`]).
pub fn estimate_column(col: &ComposeColumn, price: Option<&Price>, fee_percent: Decimal) -> ColumnEstimate {
    let (system, new_text) = (system_item(col), ChatItem::new("user", &col.new_text));
    let (tokens, exact, encoding) = input_tokens(col, &system, &new_text, &mut Memo::default());
    priced(&col.target, encoding, exact, tokens, col, price, fee_percent)
}

/// A target's price and its route's fee from the app's pricing.
pub fn price_and_fee(pricing: &Pricing, target: &str) -> (Option<Price>, Decimal) {
    match Target::parse(target) {
        Ok(t) => (pricing.catalog().price(&t, None), pricing.fees().percent(&t.route)),
        Err(_) => (None, Decimal::ZERO),
    }
}

/// Every column's estimate, priced from the app's pricing: what the compose box shows.
pub fn estimate_columns(pricing: &Pricing, cols: &[ComposeColumn]) -> Vec<ColumnEstimate> {
    cols.iter()
        .map(|col| {
            let (price, fee) = price_and_fee(pricing, &col.target);
            estimate_column(col, price.as_ref(), fee)
        })
        .collect()
}

/// Variants of a prompt on every column: `result[v][c]` is variant `v` as the new text of column
/// `c`. Each text is counted once per encoding, however many columns share it.
pub fn compare_variants(pricing: &Pricing, variants: &[String], cols: &[ComposeColumn]) -> Vec<Vec<ColumnEstimate>> {
    let priced_cols: Vec<_> = cols.iter().map(|c| (c, system_item(c), price_and_fee(pricing, &c.target))).collect();
    let items: Vec<ChatItem> = variants.iter().map(|v| ChatItem::new("user", v)).collect();
    let mut memo = Memo::default();
    items
        .iter()
        .map(|new_text| {
            priced_cols
                .iter()
                .map(|(col, system, (price, fee))| {
                    let (tokens, exact, encoding) = input_tokens(col, system, new_text, &mut memo);
                    priced(&col.target, encoding, exact, tokens, col, price.as_ref(), *fee)
                })
                .collect()
        })
        .collect()
}
