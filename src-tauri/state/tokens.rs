//! Token counts and what they cost before sending: the compose box's live estimate per column.
//! Counting a long prompt is CPU work, so it runs on the blocking pool, never the UI thread.

use serde::Serialize;
use tally_engine::store::token_history;
use tally_engine::tokens::estimate::{estimate_columns, ColumnEstimate};
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
}
