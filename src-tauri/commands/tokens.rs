//! Token counts and costs before sending, and what a conversation would cost elsewhere.

use tally_engine::brands::{ColumnId, ConversationId};
use tally_engine::app::{ColumnEstimateView, Engine, TurnEstimate};
use tally_engine::store::token_history::EstimateAccuracy;
use tally_engine::tokens::breakdown::Breakdown;
use tally_engine::estimates::projection::{Period, Projection};
use tally_engine::estimates::reprice::Reprice;
use tauri::State;

use super::Result;

/// What sending `text` would cost on each column that takes part (tokens in, an output range,
/// cost) and on all of them. A newer call supersedes an older one still counting (`superseded`).
#[tauri::command]
pub async fn estimate_turn(engine: State<'_, Engine>, conversation_id: ConversationId, text: String) -> Result<TurnEstimate> {
    engine.estimate_turn(conversation_id, text).await
}

#[tauri::command]
pub async fn token_breakdown(engine: State<'_, Engine>, conversation_id: ConversationId, column_id: ColumnId, text: String) -> Result<Breakdown> {
    engine.token_breakdown(conversation_id, column_id, text).await
}

#[tauri::command]
pub async fn compare_variants(engine: State<'_, Engine>, conversation_id: ConversationId, variants: Vec<String>) -> Result<Vec<Vec<ColumnEstimateView>>> {
    engine.compare_variants(conversation_id, variants).await
}

#[tauri::command]
pub async fn project_conversation(engine: State<'_, Engine>, conversation_id: ConversationId, requests: u64, period: Period) -> Result<Option<Projection>> {
    engine.project_conversation(conversation_id, requests, period).await
}

#[tauri::command]
pub async fn reprice_conversation(engine: State<'_, Engine>, conversation_id: ConversationId) -> Result<Reprice> {
    engine.reprice_conversation(conversation_id).await
}

#[tauri::command]
pub async fn estimate_accuracy(engine: State<'_, Engine>) -> Result<Vec<EstimateAccuracy>> {
    engine.estimate_accuracy().await
}
