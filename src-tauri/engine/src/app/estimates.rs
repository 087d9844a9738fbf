//! Token counts and what they cost before sending: the compose box's live estimate per column,
//! variants, "where do my tokens go", projections and re-pricing, and the hard-budget check that
//! uses the same counts.
//!
//! Counting runs on the blocking pool with the session's kept counts ([`TokenCounts`]): a thread
//! is counted once per encoding, the text being typed once per version. Estimates come in lanes
//! (the compose box, the variants panel): a newer request in a lane supersedes the older ones,
//! which stop before counting any further instead of piling up on the cores.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Serialize;
use ts_rs::TS;

use super::{blocking, AppCode, AppError, Engine, Result};
use crate::store::conversations::{self, ColumnParams};
use crate::store::messages::{self, PlannedColumn};
use crate::store::token_history::{self, EstimateAccuracy};
use crate::target::Target;
use crate::tokens::breakdown::{breakdown, Breakdown, BreakdownRequest};
use crate::tokens::counts::{Part, TokenCounts};
use crate::estimates::compose::{estimate_counted, price_and_fee, ColumnEstimate, Counted};
use crate::estimates::projection::{project, projection_targets, Period, Projection};
use crate::estimates::reprice::{reprice_with, Reprice};
use crate::tokens::tokenizer_for;
use crate::ledger::alerts::{self, LimitBreach};
use crate::ledger::budgets;

/// How many recent answers a column's output average is taken over.
const RECENT_ANSWERS: u32 = 10;

/// One column's estimate for the text in the compose box.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct ColumnEstimateView {
    #[ts(as = "crate::brands::ts::ColumnId")]
    pub column_id: i64,
    pub estimate: ColumnEstimate,
}

/// The compose box's estimate of a turn: each column's, and the whole turn's range summed here
/// (money is added in Rust only).
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct TurnEstimate {
    pub columns: Vec<ColumnEstimateView>,
    /// The sum of the priced columns' low ends.
    #[ts(as = "crate::brands::ts::Money")]
    pub total_low: Decimal,
    /// The sum of the priced columns' high ends.
    #[ts(as = "crate::brands::ts::Money")]
    pub total_high: Decimal,
    /// Columns with no known price, left out of the sums.
    #[ts(type = "number")]
    pub unpriced: u32,
    /// Every column counted with its model's own tokenizer.
    pub exact: bool,
}

impl TurnEstimate {
    /// The turn's total over `columns`. An amount beyond what a decimal holds is an error in words.
    pub fn of(columns: Vec<ColumnEstimateView>) -> Result<TurnEstimate> {
        let (mut low, mut high, mut unpriced) = (Decimal::ZERO, Decimal::ZERO, 0u32);
        for c in &columns {
            match (c.estimate.total_low, c.estimate.total_high) {
                (Some(l), Some(h)) => {
                    let too_large = || AppError::invalid("This turn's estimate is larger than Tally can add up.");
                    low = low.checked_add(l).ok_or_else(too_large)?;
                    high = high.checked_add(h).ok_or_else(too_large)?;
                }
                _ => unpriced += 1,
            }
        }
        let exact = columns.iter().all(|c| c.estimate.exact);
        Ok(TurnEstimate { columns, total_low: low, total_high: high, unpriced, exact })
    }
}

/// A lane of estimates where only the newest request matters.
#[derive(Default)]
pub(super) struct Lane {
    newest: Arc<AtomicU64>,
    /// One estimate counts at a time; a superseded one waiting here gives up.
    running: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Ticket {
    newest: Arc<AtomicU64>,
    mine: u64,
}

impl Lane {
    fn ticket(&self) -> Ticket {
        Ticket { newest: self.newest.clone(), mine: self.newest.fetch_add(1, Ordering::SeqCst) + 1 }
    }
}

impl Ticket {
    fn current(&self) -> Result<()> {
        if self.newest.load(Ordering::SeqCst) == self.mine {
            Ok(())
        } else {
            Err(AppError::new(AppCode::Superseded, "A newer estimate was asked for."))
        }
    }
}

#[derive(Default)]
pub(super) struct Lanes {
    compose: Lane,
    variants: Lane,
}

/// A column's request, counted, with what pricing it needs.
pub(super) struct Sized {
    column_id: i64,
    target: Target,
    max_tokens: Option<u64>,
    input_tokens: u64,
}

impl Sized {
    pub(super) fn new(column_id: i64, target: &Target, params: &ColumnParams, input_tokens: u64) -> Self {
        Sized { column_id, target: target.clone(), max_tokens: params.max_tokens.map(u64::from), input_tokens }
    }
}

/// Counts a planned column's request with its text `prompt` (the planned one when `None`).
fn count_column(counts: &TokenCounts, col: &PlannedColumn, prompt: Option<&str>) -> Sized {
    let parts = col.thread.iter().map(|(id, m)| Part::stored(*id, m)).chain(std::iter::once(Part::text("user", prompt.unwrap_or(&col.prompt))));
    let (n, _) = counts.request(&col.target.to_string(), col.params.system.as_deref(), parts);
    Sized::new(col.column_id, &col.target, &col.params, n)
}

/// Each column's highest estimate (effective USD, route fee included) with the provider whose
/// bill it goes on — the route's: OpenRouter is its own bill. Unpriced columns cannot be checked
/// against a budget and are left out.
fn turn_estimates(columns: &[ColumnEstimateView]) -> Vec<(String, Decimal)> {
    columns
        .iter()
        .filter_map(|c| {
            let cost = c.estimate.total_high.or(c.estimate.total_low)?;
            let target = Target::parse(&c.estimate.target).ok()?;
            Some((target.provider().id.to_string(), cost))
        })
        .collect()
}

impl Engine {
    /// Prices counted requests, with each column's recent answer length for the output range.
    async fn price_sized(&self, sized: Vec<Sized>) -> Result<Vec<ColumnEstimateView>> {
        let ids: Vec<i64> = sized.iter().map(|s| s.column_id).collect();
        let averages: Vec<Option<u64>> =
            self.store().run(move |c| ids.iter().map(|id| token_history::recent_output_average(c, *id, RECENT_ANSWERS)).collect()).await?;
        Ok(sized
            .into_iter()
            .zip(averages)
            .map(|(s, recent_output_avg)| {
                let target = s.target.to_string();
                let t = tokenizer_for(&target);
                let (price, fee) = price_and_fee(&self.pricing, &target);
                let counted = Counted { target: &target, encoding: t.encoding, exact: t.exact, input_tokens: s.input_tokens, max_tokens: s.max_tokens, recent_output_avg };
                ColumnEstimateView { column_id: s.column_id, estimate: estimate_counted(&counted, price.as_ref(), fee) }
            })
            .collect())
    }

    /// Counts each planned column in a lane (once per prompt in `prompts`, `None` meaning the
    /// planned one), giving up between columns as soon as a newer request came.
    async fn count_in_lane(&self, lane: &Lane, plan: Vec<PlannedColumn>, prompts: Vec<Option<String>>) -> Result<Vec<Vec<Sized>>> {
        let ticket = lane.ticket();
        let _one_at_a_time = lane.running.lock().await;
        ticket.current()?;
        let counts = self.counts.clone();
        blocking(move || -> Result<Vec<Vec<Sized>>> {
            let mut out = Vec::with_capacity(prompts.len());
            for prompt in &prompts {
                let mut row = Vec::with_capacity(plan.len());
                for c in &plan {
                    ticket.current()?;
                    row.push(count_column(&counts, c, prompt.as_deref()));
                }
                out.push(row);
            }
            Ok(out)
        })
        .await?
    }

    /// What sending `text` now would cost on each column that takes part (paused ones sit out):
    /// input tokens of system prompt + the column's thread + the text, and an output range.
    pub async fn estimate_turn(&self, conversation_id: i64, text: String) -> Result<TurnEstimate> {
        let texts = self.store().texts();
        let plan = self.store().run(move |c| messages::compose_plan(c, &texts, conversation_id, &text, &HashMap::new())).await?;
        let mut sized = self.count_in_lane(&self.estimates.compose, plan, vec![None]).await?;
        TurnEstimate::of(self.price_sized(sized.remove(0)).await?)
    }

    /// Each variant of a prompt on each column that takes part: `result[variant][column]`.
    pub async fn compare_variants(&self, conversation_id: i64, variants: Vec<String>) -> Result<Vec<Vec<ColumnEstimateView>>> {
        let texts = self.store().texts();
        let plan = self.store().run(move |c| messages::compose_plan(c, &texts, conversation_id, "", &HashMap::new())).await?;
        let sized = self.count_in_lane(&self.estimates.variants, plan, variants.into_iter().map(Some).collect()).await?;
        let mut out = Vec::with_capacity(sized.len());
        for row in sized {
            out.push(self.price_sized(row).await?);
        }
        Ok(out)
    }

    /// Where the tokens of sending `text` on one column go: system prompt, each history message,
    /// the new text and its paragraphs, with what removing each saves.
    pub async fn token_breakdown(&self, conversation_id: i64, column_id: i64, text: String) -> Result<Breakdown> {
        let columns = self.store().run(move |c| token_history::compose_columns(c, conversation_id, &text)).await?;
        let (_, col) = columns
            .into_iter()
            .find(|(id, _)| *id == column_id)
            .ok_or_else(|| AppError::invalid("That column does not take part in the next turn (is it paused?)."))?;
        let (price, _) = price_and_fee(&self.pricing, &col.target);
        let req = BreakdownRequest { model: col.target, system: col.system, history: col.thread, new_text: col.new_text, input_price: price.map(|p| p.input).unwrap_or_default() };
        blocking(move || breakdown(&req)).await
    }

    /// The conversation's measured profile projected to `requests` per day or month on its
    /// columns' targets and their twins on the other route. `None` before any measured answer.
    pub async fn project_conversation(&self, conversation_id: i64, requests: u64, period: Period) -> Result<Option<Projection>> {
        let (profile, targets) = self
            .store()
            .run(move |c| Ok((token_history::profile(c, conversation_id, None)?, conversations::columns(c, conversation_id)?)))
            .await?;
        let Some(profile) = profile else { return Ok(None) };
        let known = self.pricing.catalog().known_targets();
        let mut wanted: Vec<Target> = Vec::new();
        for (_, t, _) in targets {
            let twin = known.iter().find(|k| k.target == t.to_string()).and_then(|k| k.twin.as_deref()).and_then(|tw| Target::parse(tw).ok());
            for t in std::iter::once(t).chain(twin) {
                if !wanted.contains(&t) {
                    wanted.push(t);
                }
            }
        }
        Ok(Some(project(&profile, requests, period, &projection_targets(&self.pricing, &wanted))))
    }

    /// What this conversation would have cost on every priced target, cheapest first.
    pub async fn reprice_conversation(&self, conversation_id: i64) -> Result<Reprice> {
        let measured = self.store().run(move |c| token_history::measured(c, conversation_id, None)).await?;
        let pricing = self.pricing.clone();
        blocking(move || reprice_with(&pricing, &measured, None)).await
    }

    /// How close the input estimates were to the providers' counts, per model and route.
    pub async fn estimate_accuracy(&self) -> Result<Vec<EstimateAccuracy>> {
        Ok(self.store().run(|c| token_history::estimate_accuracy(c)).await?)
    }

    pub(super) async fn has_hard_budget(&self) -> Result<bool> {
        Ok(self.store().run(|c| Ok(budgets::list(c)?.iter().any(|b| b.hard))).await?)
    }

    /// The hard budgets these counted requests would take over their limit (each column at its
    /// highest estimate, on its route's bill). Empty: go ahead.
    async fn breaches(&self, sized: Vec<Sized>) -> Result<Vec<LimitBreach>> {
        let estimates = turn_estimates(&self.price_sized(sized).await?);
        Ok(self.store().run(move |c| alerts::would_exceed_turn(c, &estimates, chrono::Utc::now())).await?)
    }

    /// Refuses, in words, requests that would cross a hard budget.
    pub(super) async fn refuse_over_budget(&self, sized: Vec<Sized>) -> Result<()> {
        let breaches = self.breaches(sized).await?;
        if breaches.is_empty() {
            return Ok(());
        }
        let words: Vec<&str> = breaches.iter().map(|b| b.message.as_str()).collect();
        Err(AppError::new(AppCode::OverBudget, "Sending this would cross a hard budget, so nothing was sent.").with_detail(words.join("\n")))
    }

    /// The hard budgets that sending `text` (each column in `own` its own text) would take over
    /// their limit. Empty: go ahead.
    pub async fn check_turn_budget(&self, conversation_id: i64, text: String, own: HashMap<i64, String>) -> Result<Vec<LimitBreach>> {
        if !self.has_hard_budget().await? {
            return Ok(Vec::new());
        }
        let texts = self.store().texts();
        let plan = self.store().run(move |c| messages::compose_plan(c, &texts, conversation_id, &text, &own)).await?;
        let counts = self.counts.clone();
        let sized: Vec<Sized> = blocking(move || plan.iter().map(|c| count_column(&counts, c, None)).collect()).await?;
        self.breaches(sized).await
    }

    /// The hard budgets that running answer `message_id` again would take over their limit.
    pub async fn check_regenerate_budget(&self, message_id: i64) -> Result<Vec<LimitBreach>> {
        if !self.has_hard_budget().await? {
            return Ok(Vec::new());
        }
        let texts = self.store().texts();
        let plan = self.store().run(move |c| messages::plan_regenerate(c, &texts, message_id)).await?;
        let turns = self.turns.clone();
        let sized = blocking(move || {
            let n = turns.count_regenerate(&plan);
            Sized::new(plan.column_id, &plan.target, &plan.params, n)
        })
        .await?;
        self.breaches(vec![sized]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimates::compose::OutputBasis;
    use crate::tokens::Encoding;

    fn column(target: &str, low: Option<&str>, high: Option<&str>) -> ColumnEstimateView {
        let d = |s: Option<&str>| s.map(|s| s.parse::<Decimal>().unwrap());
        ColumnEstimateView {
            column_id: 1,
            estimate: ColumnEstimate {
                target: target.into(),
                encoding: Encoding::O200kBase,
                exact: true,
                input_tokens: 10,
                output_basis: OutputBasis::Unknown,
                output_tokens_low: None,
                output_tokens_high: None,
                input_cost: d(low),
                output_cost_low: None,
                output_cost_high: None,
                total_low: d(low),
                total_high: d(high),
            },
        }
    }

    #[test]
    fn a_turn_is_checked_on_each_route_bill_at_its_highest_estimate_and_unpriced_columns_sit_out() {
        let estimates = turn_estimates(&[
            column("openai:gpt-4o-mini", Some("0.001"), Some("0.004")),
            column("openrouter:openai/gpt-4o-mini", Some("0.0011"), None),
            column("ollama:llama3", None, None),
        ]);
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(estimates, [("openai".to_string(), d("0.004")), ("openrouter".to_string(), d("0.0011"))]);
    }

    #[test]
    fn a_turn_estimate_sums_the_priced_columns_exactly_and_counts_the_unpriced_ones() {
        let mut inexact = column("xai:grok-3", Some("0.0000002"), Some("0.2"));
        inexact.estimate.exact = false;
        let turn = TurnEstimate::of(vec![column("openai:gpt-4o-mini", Some("0.0000001"), Some("0.1")), inexact, column("ollama:llama3", None, None)]).unwrap();
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!((turn.total_low, turn.total_high, turn.unpriced, turn.exact), (d("0.0000003"), d("0.3"), 1, false));
        assert_eq!(turn.columns.len(), 3);
        let all_exact = TurnEstimate::of(vec![column("openai:gpt-4o-mini", Some("0.1"), Some("0.1"))]).unwrap();
        assert!(all_exact.exact);
        let huge = TurnEstimate::of(vec![column("a:b", Some("1"), Some(&Decimal::MAX.to_string())), column("a:c", Some("1"), Some("1"))]);
        assert!(huge.unwrap_err().message.contains("larger than Tally can add up"));
    }

    #[tokio::test]
    async fn a_superseded_estimate_gives_up() {
        let lane = Lane::default();
        let old = lane.ticket();
        let new = lane.ticket();
        assert!(old.current().unwrap_err().is(AppCode::Superseded));
        assert!(new.current().is_ok());
    }
}
