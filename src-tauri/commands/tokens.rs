//! Token counts and costs before sending, and what a conversation would cost elsewhere.

use tally_engine::store::token_history::EstimateAccuracy;
use tally_engine::tokens::breakdown::Breakdown;
use tally_engine::tokens::projection::{Period, Projection};
use tally_engine::tokens::reprice::Reprice;
use tauri::State;

use super::Result;
use crate::state::{AppState, ColumnEstimateView};

/// What sending `text` would cost on each column that takes part: tokens in, an output range, cost.
#[tauri::command]
pub async fn estimate_turn(state: State<'_, AppState>, conversation_id: i64, text: String) -> Result<Vec<ColumnEstimateView>> {
    state.estimate_turn(conversation_id, text).await
}

#[tauri::command]
pub async fn token_breakdown(state: State<'_, AppState>, conversation_id: i64, column_id: i64, text: String) -> Result<Breakdown> {
    state.token_breakdown(conversation_id, column_id, text).await
}

#[tauri::command]
pub async fn compare_variants(state: State<'_, AppState>, conversation_id: i64, variants: Vec<String>) -> Result<Vec<Vec<ColumnEstimateView>>> {
    state.compare_variants(conversation_id, variants).await
}

#[tauri::command]
pub async fn project_conversation(state: State<'_, AppState>, conversation_id: i64, requests: u64, period: Period) -> Result<Option<Projection>> {
    state.project_conversation(conversation_id, requests, period).await
}

#[tauri::command]
pub async fn reprice_conversation(state: State<'_, AppState>, conversation_id: i64) -> Result<Reprice> {
    state.reprice_conversation(conversation_id).await
}

#[tauri::command]
pub async fn estimate_accuracy(state: State<'_, AppState>) -> Result<Vec<EstimateAccuracy>> {
    state.estimate_accuracy().await
}

