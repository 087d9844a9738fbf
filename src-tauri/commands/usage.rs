//! IPC commands of the usage screen: spend and its breakdowns, budgets, alerts, the spike
//! setting, the OpenRouter account and usage as CSV. Each maps onto [`AppState`], nothing more.

use tally_engine::providers::KeyInfo;
use tally_engine::usage::alerts::{Alert, FiredAlert, LimitBreach};
use tally_engine::usage::budgets::{BudgetInput, BudgetStatus};
use tally_engine::usage::csv::ImportSummary;
use tally_engine::usage::latency::LatencyRow;
use tally_engine::usage::period::Bucket;
use tally_engine::usage::DayRange;
use tauri::ipc::Channel;
use tauri::State;

use super::Result;
use crate::state::{AppState, CsvExport, UsageOverview};

/// Spend and tokens over time (per day, week or month, OpenRouter and direct apart) and broken
/// down by route, provider, model and conversation, for a range of UTC days.
#[tauri::command]
pub async fn usage_overview(state: State<'_, AppState>, range: DayRange, bucket: Bucket) -> Result<UsageOverview> {
    state.usage_overview(range, bucket).await
}

/// p50 / p95 time to first token and tokens/s per model × route.
#[tauri::command]
pub async fn usage_latency(state: State<'_, AppState>, range: DayRange) -> Result<Vec<LatencyRow>> {
    state.usage_latency(range).await
}

/// Every budget with what was spent against it in its current day or month.
#[tauri::command]
pub async fn budgets(state: State<'_, AppState>) -> Result<Vec<BudgetStatus>> {
    state.budgets().await
}

#[tauri::command]
pub async fn add_budget(state: State<'_, AppState>, input: BudgetInput) -> Result<Vec<BudgetStatus>> {
    state.add_budget(input).await
}

#[tauri::command]
pub async fn delete_budget(state: State<'_, AppState>, id: i64) -> Result<Vec<BudgetStatus>> {
    state.delete_budget(id).await
}

/// Alerts that fired before, newest first.
#[tauri::command]
pub async fn recent_alerts(state: State<'_, AppState>) -> Result<Vec<FiredAlert>> {
    state.recent_alerts().await
}

/// New alerts now due (each fires once; also shown as desktop notifications).
#[tauri::command]
pub async fn check_alerts(state: State<'_, AppState>) -> Result<Vec<Alert>> {
    state.check_alerts().await
}

/// Alerts that fire after a turn arrive over `on_alert`; returns those due at start-up.
#[tauri::command]
pub async fn watch_alerts(state: State<'_, AppState>, on_alert: Channel<Vec<Alert>>) -> Result<Vec<Alert>> {
    state
        .watch_alerts(std::sync::Arc::new(move |alerts: Vec<Alert>| {
            let _ = on_alert.send(alerts);
        }))
        .await
}

/// The hard budgets that sending `text` in the conversation would cross, by its estimate.
#[tauri::command]
pub async fn check_turn_budget(state: State<'_, AppState>, conversation_id: i64, text: String) -> Result<Vec<LimitBreach>> {
    state.check_turn_budget(conversation_id, text).await
}

#[tauri::command]
pub fn spike_multiplier(state: State<'_, AppState>) -> String {
    state.spike_multiplier()
}

#[tauri::command]
pub fn set_spike_multiplier(state: State<'_, AppState>, value: String) -> Result<String> {
    state.set_spike_multiplier(value)
}

/// Asks OpenRouter about the saved key: limit, remaining credits, usage. Only on request.
#[tauri::command]
pub async fn openrouter_key_info(state: State<'_, AppState>) -> Result<KeyInfo> {
    state.openrouter_key_info().await
}

/// Saves the usage rows of a range as CSV through the system's save dialog; null if cancelled.
#[tauri::command]
pub async fn export_usage_csv(state: State<'_, AppState>, range: DayRange) -> Result<Option<CsvExport>> {
    state.export_usage_csv(range).await
}

/// Adds the usage rows of a CSV file picked in the system's open dialog; null if cancelled.
#[tauri::command]
pub async fn import_usage_csv(state: State<'_, AppState>) -> Result<Option<ImportSummary>> {
    state.import_usage_csv().await
}
