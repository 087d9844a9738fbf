//! Token counts and what they cost before sending: the compose box's live estimate per column.
//! Counting a long prompt is CPU work, so it runs on the blocking pool, never the UI thread.

use serde::Serialize;
use tally_engine::store::token_history::{self, EstimateAccuracy};
use tally_engine::store::conversations;
use tally_engine::target::Target;
use tally_engine::tokens::breakdown::{breakdown, Breakdown, BreakdownRequest};
use tally_engine::tokens::estimate::{compare_variants, estimate_columns, price_and_fee, ColumnEstimate};
use tally_engine::tokens::projection::{project, projection_targets, Period, Projection};
use tally_engine::tokens::reprice::{reprice_with, Reprice};
use ts_rs::TS;

use super::AppState;
use crate::error::AppError;

/// One column's estimate for the text in the compose box.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct ColumnEstimateView {
    #[ts(type = "number")]
    pub column_id: i64,
    pub estimate: ColumnEstimate,
}

impl AppState {
    /// What sending `text` now would cost on each column that takes part (paused ones sit out):
    /// input tokens of system prompt + the column's thread + the text, and an output range.
    pub async fn estimate_turn(&self, conversation_id: i64, text: String) -> Result<Vec<ColumnEstimateView>, AppError> {
        let columns = self.store().run(move |c| token_history::compose_columns(c, conversation_id, &text)).await?;
        let pricing = self.pricing.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let (ids, cols): (Vec<i64>, Vec<_>) = columns.into_iter().unzip();
            ids.into_iter().zip(estimate_columns(&pricing, &cols)).map(|(column_id, estimate)| ColumnEstimateView { column_id, estimate }).collect()
        })
        .await?)
    }

    /// Where the tokens of sending `text` on one column go: system prompt, each history message,
    /// the new text and its paragraphs, with what removing each saves.
    pub async fn token_breakdown(&self, conversation_id: i64, column_id: i64, text: String) -> Result<Breakdown, AppError> {
        let columns = self.store().run(move |c| token_history::compose_columns(c, conversation_id, &text)).await?;
        let (_, col) = columns.into_iter().find(|(id, _)| *id == column_id).ok_or_else(|| AppError::new("invalid", "That column does not take part in the next turn (is it paused?)."))?;
        let (price, _) = price_and_fee(&self.pricing, &col.target);
        let req = BreakdownRequest { model: col.target, system: col.system, history: col.thread, new_text: col.new_text, input_price: price.map(|p| p.input).unwrap_or_default() };
        Ok(tokio::task::spawn_blocking(move || breakdown(&req)).await?)
    }

    /// Each variant of a prompt on each column that takes part: `result[variant][column]`.
    pub async fn compare_variants(&self, conversation_id: i64, variants: Vec<String>) -> Result<Vec<Vec<ColumnEstimateView>>, AppError> {
        let columns = self.store().run(move |c| token_history::compose_columns(c, conversation_id, "")).await?;
        let pricing = self.pricing.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let (ids, cols): (Vec<i64>, Vec<_>) = columns.into_iter().unzip();
            compare_variants(&pricing, &variants, &cols)
                .into_iter()
                .map(|row| ids.iter().zip(row).map(|(&column_id, estimate)| ColumnEstimateView { column_id, estimate }).collect())
                .collect()
        })
        .await?)
    }

    /// The conversation's measured profile projected to `requests` per day or month on its
    /// columns' targets and their twins on the other route. `None` before any measured answer.
    pub async fn project_conversation(&self, conversation_id: i64, requests: u64, period: Period) -> Result<Option<Projection>, AppError> {
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
    pub async fn reprice_conversation(&self, conversation_id: i64) -> Result<Reprice, AppError> {
        let measured = self.store().run(move |c| token_history::measured(c, conversation_id, None)).await?;
        let pricing = self.pricing.clone();
        Ok(tokio::task::spawn_blocking(move || reprice_with(&pricing, &measured, None)).await?)
    }

    /// How close the input estimates were to the providers' counts, per model and route.
    pub async fn estimate_accuracy(&self) -> Result<Vec<EstimateAccuracy>, AppError> {
        Ok(self.store().run(|c| token_history::estimate_accuracy(c)).await?)
    }
}
