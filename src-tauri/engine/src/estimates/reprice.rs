//! "What would this have cost?": a finished conversation's answers re-priced under other catalog
//! targets, cheapest first, with the saving against what was actually paid.
//!
//! For a target whose tokenizer Tally has exactly, each request is re-counted from the texts
//! that were sent (system prompt + thread + prompt, with the chat overhead) and the answer that
//! came back (plus the measured reasoning tokens, which are not in the text); for the others the
//! measured counts are used and the row is marked inexact ("≈"). Cache reads and writes are kept
//! as measured (capped at the new input), i.e. the same cache hits are assumed. Every text is
//! counted once per encoding, not once per target, so a few hundred answers over ~400 targets
//! cost two counting passes and then only arithmetic.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::Serialize;
use ts_rs::TS;

use crate::tokens::{count_content, tokenizer_for, Encoding, Memo, Tokenizer, REPLY_PRIMING, TOKENS_PER_MESSAGE};
use crate::pricing::{cost, Price, Pricing};
use crate::stream::Usage;
use crate::target::Target;

/// One answer as it was requested and measured.
#[derive(Debug, Clone)]
pub struct MeasuredAnswer {
    pub message_id: i64,
    pub column_id: i64,
    pub target: Target,
    /// Ids (into [`Measured::texts`]) of the request's messages after the system prompt, oldest
    /// first, ending with the prompt.
    pub input: Vec<i64>,
    pub usage: Usage,
    /// What was paid, fees included; `None` when the answer was not priced.
    pub paid: Option<Decimal>,
}

/// A conversation's answers with every text that was sent or received, each stored once.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Message id → (role, content).
    pub texts: HashMap<i64, (String, String)>,
    /// Column id → its system prompt.
    pub systems: HashMap<i64, Option<String>>,
    pub answers: Vec<MeasuredAnswer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RepriceRow {
    pub target: String,
    pub route: String,
    pub model: String,
    /// "direct to OpenAI", "via OpenRouter → OpenAI"
    pub path_label: String,
    /// False when the measured counts were used: show "≈".
    pub exact: bool,
    /// A target some answer of the conversation actually used.
    pub used: bool,
    #[ts(type = "number")]
    pub input_tokens: u64,
    #[ts(type = "number")]
    pub output_tokens: u64,
    /// List cost of every answer.
    #[ts(as = "crate::brands::ts::Money")]
    pub total: Decimal,
    /// With the route's fee: what is compared.
    #[ts(as = "crate::brands::ts::Money")]
    pub effective_total: Decimal,
    /// `paid` − `effective_total`: positive means this target would have been cheaper.
    #[ts(as = "crate::brands::ts::Money")]
    pub saving: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Reprice {
    #[ts(type = "number")]
    pub answers: u64,
    /// What the answers actually cost, fees included (priced answers only).
    #[ts(as = "crate::brands::ts::Money")]
    pub paid: Decimal,
    /// Answers that had no price when they were made (left out of `paid`).
    #[ts(type = "number")]
    pub unpriced_answers: u64,
    /// Cheapest first.
    pub rows: Vec<RepriceRow>,
}

/// Every answer's usage re-counted in one encoding.
fn recount(m: &Measured, encoding: Encoding) -> Vec<Usage> {
    let t = Tokenizer { encoding, exact: true, family: String::new(), legacy_0301: false };
    let mut memo = Memo::default();
    let per_message: HashMap<i64, u64> =
        m.texts.iter().map(|(id, (role, content))| (*id, TOKENS_PER_MESSAGE + memo.count(t.encoding, role) + memo.count(t.encoding, content))).collect();
    let systems: HashMap<i64, u64> = m
        .systems
        .iter()
        .map(|(col, s)| (*col, s.as_deref().map_or(0, |s| TOKENS_PER_MESSAGE + count_content(encoding, "system") + count_content(encoding, s))))
        .collect();
    m.answers
        .iter()
        .map(|a| {
            let input = systems.get(&a.column_id).copied().unwrap_or(0) + a.input.iter().filter_map(|id| per_message.get(id)).sum::<u64>() + REPLY_PRIMING;
            let text = m.texts.get(&a.message_id).map_or(0, |(_, c)| count_content(encoding, c));
            resized(&a.usage, input, text + a.usage.reasoning_tokens)
        })
        .collect()
}

fn resized(measured: &Usage, input_tokens: u64, output_tokens: u64) -> Usage {
    let cached = measured.cached_input_tokens.min(input_tokens);
    Usage {
        input_tokens,
        cached_input_tokens: cached,
        cache_write_tokens: measured.cache_write_tokens.min(input_tokens - cached),
        output_tokens,
        reasoning_tokens: measured.reasoning_tokens.min(output_tokens),
        reported_cost: None,
        estimated: false,
    }
}

/// Re-prices `measured` under each of `targets` (with its price and its route's fee).
pub fn reprice(measured: &Measured, targets: &[(Target, Price, Decimal)]) -> Reprice {
    let tokenizers: Vec<Tokenizer> = targets.iter().map(|(t, ..)| tokenizer_for(&t.to_string())).collect();
    let mut counted: HashMap<Encoding, Vec<Usage>> = HashMap::new();
    for t in tokenizers.iter().filter(|t| t.exact) {
        counted.entry(t.encoding).or_insert_with(|| recount(measured, t.encoding));
    }
    let as_measured: Vec<Usage> = measured.answers.iter().map(|a| resized(&a.usage, a.usage.input_tokens, a.usage.output_tokens)).collect();
    let mut rows: Vec<RepriceRow> = targets
        .iter()
        .zip(&tokenizers)
        .map(|((target, price, fee), tok)| {
            let usages = if tok.exact { counted.get(&tok.encoding).unwrap_or(&as_measured) } else { &as_measured };
            let (mut total, mut effective) = (Decimal::ZERO, Decimal::ZERO);
            for u in usages {
                // A figure too large to compute is left out of the sum rather than panicking.
                let Ok(c) = cost(u, price, *fee) else { continue };
                total += c.total;
                effective += c.effective_total;
            }
            RepriceRow {
                target: target.to_string(),
                route: target.route.clone(),
                model: target.model.clone(),
                path_label: target.path_label(),
                exact: tok.exact,
                used: measured.answers.iter().any(|a: &MeasuredAnswer| &a.target == target),
                input_tokens: usages.iter().map(|u| u.input_tokens).sum(),
                output_tokens: usages.iter().map(|u| u.output_tokens).sum(),
                total: total.normalize(),
                effective_total: effective.normalize(),
                saving: Decimal::ZERO,
            }
        })
        .collect();
    let paid: Decimal = measured.answers.iter().filter_map(|a| a.paid).sum::<Decimal>().normalize();
    for r in &mut rows {
        r.saving = (paid - r.effective_total).normalize();
    }
    rows.sort_by(|a, b| a.effective_total.cmp(&b.effective_total).then_with(|| a.target.cmp(&b.target)));
    Reprice {
        answers: measured.answers.len() as u64,
        paid,
        unpriced_answers: measured.answers.iter().filter(|a| a.paid.is_none()).count() as u64,
        rows,
    }
}

/// Re-prices under every priced catalog target (or only `only`), with the app's fees.
pub fn reprice_with(pricing: &Pricing, measured: &Measured, only: Option<&[Target]>) -> Reprice {
    let fees = pricing.fees();
    let catalog = pricing.catalog();
    let targets: Vec<(Target, Price, Decimal)> = match only {
        Some(list) => list.iter().filter_map(|t| Some((t.clone(), catalog.price(t, None)?, fees.percent(&t.route)))).collect(),
        None => catalog.targets().into_iter().map(|(t, p)| { let fee = fees.percent(&t.route); (t, p, fee) }).collect(),
    };
    drop(catalog);
    reprice(measured, &targets)
}
