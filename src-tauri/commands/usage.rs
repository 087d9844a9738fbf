//! IPC commands of the usage screen: spend and its breakdowns, budgets, alerts, the spike
//! setting, the OpenRouter account and usage as CSV. Each calls the engine; alerts also become
//! desktop notifications, and CSV files are chosen in the system's dialogs.

use std::collections::HashMap;

use serde::Serialize;
use tally_engine::brands::{ColumnId, ConversationId, MessageId};
use tally_engine::app::{Engine, UsageOverview};
use tally_engine::providers::KeyInfo;
use tally_engine::ledger::alerts::{Alert, FiredAlert, LimitBreach};
use tally_engine::ledger::budgets::{BudgetInput, BudgetStatus};
use tally_engine::ledger::csv::ImportSummary;
use tally_engine::ledger::latency::LatencyRow;
use tally_engine::ledger::period::Bucket;
use tally_engine::ledger::DayRange;
use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use ts_rs::TS;

use super::Result;
use crate::host;

/// Where an export went and how many usage rows it holds.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct CsvExport {
    pub path: String,
    #[ts(type = "number")]
    pub rows: u64,
}

/// Spend and tokens over time (per day, week or month, OpenRouter and direct apart) and broken
/// down by route, provider, model and conversation, for a range of UTC days.
#[tauri::command]
pub async fn usage_overview(engine: State<'_, Engine>, range: DayRange, bucket: Bucket) -> Result<UsageOverview> {
    engine.usage_overview(range, bucket).await
}

/// p50 / p95 time to first token and tokens/s per model × route.
#[tauri::command]
pub async fn usage_latency(engine: State<'_, Engine>, range: DayRange) -> Result<Vec<LatencyRow>> {
    engine.usage_latency(range).await
}

/// Every budget with what was spent against it in its current day or month.
#[tauri::command]
pub async fn budgets(engine: State<'_, Engine>) -> Result<Vec<BudgetStatus>> {
    engine.budgets().await
}

#[tauri::command]
pub async fn add_budget(engine: State<'_, Engine>, input: BudgetInput) -> Result<Vec<BudgetStatus>> {
    engine.add_budget(input).await
}

#[tauri::command]
pub async fn delete_budget(engine: State<'_, Engine>, id: i64) -> Result<Vec<BudgetStatus>> {
    engine.delete_budget(id).await
}

/// Alerts that fired before, newest first.
#[tauri::command]
pub async fn recent_alerts(engine: State<'_, Engine>) -> Result<Vec<FiredAlert>> {
    engine.recent_alerts().await
}

/// New alerts now due (each fires once; also shown as desktop notifications).
#[tauri::command]
pub async fn check_alerts(app: AppHandle, engine: State<'_, Engine>) -> Result<Vec<Alert>> {
    let fired = engine.check_alerts().await?;
    host::notify(&app, &fired);
    Ok(fired)
}

/// Alerts that fire after a turn arrive over `on_alert` (and as desktop notifications); returns
/// those due at start-up.
#[tauri::command]
pub async fn watch_alerts(app: AppHandle, engine: State<'_, Engine>, on_alert: Channel<Vec<Alert>>) -> Result<Vec<Alert>> {
    let notifier = app.clone();
    engine.watch_alerts(std::sync::Arc::new(move |alerts: Vec<Alert>| {
        host::notify(&notifier, &alerts);
        let _ = on_alert.send(alerts);
    }));
    check_alerts(app, engine).await
}

/// The hard budgets that sending `text` in the conversation would cross (columns in `own` with
/// their own text), by each column's estimate.
#[tauri::command]
pub async fn check_turn_budget(engine: State<'_, Engine>, conversation_id: ConversationId, text: String, own: Option<HashMap<ColumnId, String>>) -> Result<Vec<LimitBreach>> {
    engine.check_turn_budget(conversation_id, text, own.unwrap_or_default()).await
}

/// The hard budgets that running answer `message_id` again would cross.
#[tauri::command]
pub async fn check_regenerate_budget(engine: State<'_, Engine>, message_id: MessageId) -> Result<Vec<LimitBreach>> {
    engine.check_regenerate_budget(message_id).await
}

#[tauri::command]
pub fn spike_multiplier(engine: State<'_, Engine>) -> String {
    engine.spike_multiplier()
}

#[tauri::command]
pub fn set_spike_multiplier(engine: State<'_, Engine>, value: String) -> Result<String> {
    engine.set_spike_multiplier(&value)
}

/// Asks OpenRouter about the saved key: limit, remaining credits, usage. Only on request.
#[tauri::command]
pub async fn openrouter_key_info(engine: State<'_, Engine>) -> Result<KeyInfo> {
    engine.openrouter_key_info().await
}

/// Saves the usage rows of a range as CSV through the system's save dialog; null if cancelled.
#[tauri::command]
pub async fn export_usage_csv(app: AppHandle, engine: State<'_, Engine>, range: DayRange) -> Result<Option<CsvExport>> {
    let Some(path) = host::save_path(&app, "Export usage as CSV", "tally-usage.csv", ("CSV", "csv")).await? else { return Ok(None) };
    let rows = engine.export_usage_csv(range, &path).await?;
    Ok(Some(CsvExport { path: path.display().to_string(), rows }))
}

/// Adds the usage rows of a CSV file picked in the system's open dialog; null if cancelled.
#[tauri::command]
pub async fn import_usage_csv(app: AppHandle, engine: State<'_, Engine>) -> Result<Option<ImportSummary>> {
    let Some(path) = host::open_path(&app, "Import usage from CSV", ("CSV", "csv")).await? else { return Ok(None) };
    Ok(Some(engine.import_usage_csv(&path).await?))
}
