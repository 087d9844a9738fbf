//! The usage screen's work: spend over time and its breakdowns, budgets, alerts (in the app and
//! as desktop notifications), the hard-limit check before a turn, the spike setting, the
//! OpenRouter account, and usage as CSV through the system's dialogs. The figures come from the
//! engine's `usage` module; nothing here adds money up.

use std::sync::{Arc, Mutex};

use tally_engine::Decimal;
use serde::Serialize;
use tally_engine::providers::{openrouter_key_info, provider, Endpoint, KeyInfo};
use tally_engine::secrets::{self, EnvFallback};
use tally_engine::target::Target;
use tally_engine::usage::alerts::{self, Alert, FiredAlert, LimitBreach};
use tally_engine::usage::budgets::{self, BudgetInput, BudgetStatus};
use tally_engine::usage::csv::{self, CsvError, ImportSummary};
use tally_engine::usage::latency::{self, LatencyRow};
use tally_engine::usage::period::Bucket;
use tally_engine::usage::stats::{self, BreakdownRow, Dimension, RouteBucket, RouteShare};
use tally_engine::usage::{DayRange, UsageTotals};
use tauri::Manager;
use tauri_plugin_notification::NotificationExt;
use ts_rs::TS;

use super::{AppState, ColumnEstimateView};
use crate::error::AppError;

/// Receives alerts that fired after a turn (the app sends them over a `tauri::ipc::Channel`).
pub type AlertSink = Arc<dyn Fn(Vec<Alert>) + Send + Sync>;

/// Where alerts that fire in the background go; empty until the web view asks for them.
#[derive(Default)]
pub struct AlertWatch(Mutex<Option<AlertSink>>);

/// How many conversations the breakdown lists at most.
const CONVERSATIONS: usize = 100;
/// How many past alerts the screen lists.
const RECENT_ALERTS: usize = 30;

/// What the usage screen shows for a range, except latency (asked for apart: it reads the usage
/// rows, the rest only the daily roll-ups). Conversations are largest first: the top ones lead.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct UsageOverview {
    pub totals: UsageTotals,
    pub over_time: Vec<RouteBucket>,
    pub by_route: Vec<BreakdownRow>,
    pub by_provider: Vec<BreakdownRow>,
    pub by_model: Vec<BreakdownRow>,
    pub by_conversation: Vec<BreakdownRow>,
    pub share: RouteShare,
}

/// Where an export went and how many usage rows it holds.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct CsvExport {
    pub path: String,
    #[ts(type = "number")]
    pub rows: u64,
}

impl From<CsvError> for AppError {
    fn from(e: CsvError) -> Self {
        match e {
            CsvError::Store(e) => e.into(),
            other => AppError::new("csv", other.to_string()),
        }
    }
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

/// A spike multiplier as the user typed it: a decimal above 1 (1 would make every day above
/// average a spike), at most 100.
fn parse_multiplier(text: &str) -> Result<Decimal, AppError> {
    let invalid = || AppError::new("invalid", format!("The spike multiplier is a number above 1 and at most 100, such as 3 or 2.5; got \"{}\".", text.trim()));
    let m: Decimal = text.trim().parse().map_err(|_| invalid())?;
    if m <= Decimal::ONE || m > Decimal::ONE_HUNDRED {
        return Err(invalid());
    }
    Ok(m.normalize())
}

impl AppState {
    pub async fn usage_overview(&self, range: DayRange, bucket: Bucket) -> Result<UsageOverview, AppError> {
        Ok(self
            .store()
            .run(move |c| {
                Ok(UsageOverview {
                    totals: stats::totals(c, &range)?,
                    over_time: stats::over_time_by_route(c, &range, bucket)?,
                    by_route: stats::breakdown(c, &range, Dimension::Route, None)?,
                    by_provider: stats::breakdown(c, &range, Dimension::Provider, None)?,
                    by_model: stats::breakdown(c, &range, Dimension::Model, None)?,
                    by_conversation: stats::breakdown(c, &range, Dimension::Conversation, Some(CONVERSATIONS))?,
                    share: stats::share(c, &range)?,
                })
            })
            .await?)
    }

    pub async fn usage_latency(&self, range: DayRange) -> Result<Vec<LatencyRow>, AppError> {
        Ok(self.store().run(move |c| latency::by_model_and_route(c, &range)).await?)
    }

    pub async fn budgets(&self) -> Result<Vec<BudgetStatus>, AppError> {
        Ok(self.store().run(|c| budgets::status(c, chrono::Utc::now())).await?)
    }

    pub async fn add_budget(&self, input: BudgetInput) -> Result<Vec<BudgetStatus>, AppError> {
        self.store().run(move |c| budgets::create(c, &input)).await?;
        self.budgets().await
    }

    pub async fn delete_budget(&self, id: i64) -> Result<Vec<BudgetStatus>, AppError> {
        self.store().run(move |c| budgets::delete(c, id)).await?;
        self.budgets().await
    }

    pub async fn recent_alerts(&self) -> Result<Vec<FiredAlert>, AppError> {
        Ok(self.store().run(|c| alerts::recent(c, RECENT_ALERTS)).await?)
    }

    /// Alerts that became due and had not fired yet (the engine records them, so each fires
    /// once), each also shown as a desktop notification.
    pub async fn check_alerts(&self) -> Result<Vec<Alert>, AppError> {
        let multiplier = self.endpoints.settings().spike_multiplier();
        let fired = self.store().run(move |c| alerts::check_alerts(c, chrono::Utc::now(), multiplier)).await?;
        self.notify(&fired);
        Ok(fired)
    }

    /// From now on, alerts that fire after a turn go to `sink`; returns the alerts due now (the
    /// start-up check).
    pub async fn watch_alerts(&self, sink: AlertSink) -> Result<Vec<Alert>, AppError> {
        *self.alert_watch.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink);
        self.check_alerts().await
    }

    /// Once `running` (a turn) has ended, checks the alerts and sends new ones to the web view.
    pub fn check_alerts_after(&self, running: tokio::task::JoinHandle<()>) {
        let app = self.app.clone();
        tauri::async_runtime::spawn(async move {
            let _ = running.await;
            let Some(state) = app.try_state::<AppState>() else { return };
            match state.check_alerts().await {
                Ok(fired) if !fired.is_empty() => {
                    let sink = state.alert_watch.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    if let Some(sink) = sink {
                        sink(fired);
                    }
                }
                Ok(_) => {}
                Err(e) => eprintln!("Tally could not check the usage alerts: {e}"),
            }
        });
    }

    /// Desktop notifications, one per alert. A desktop without a notification service is fine:
    /// the alerts are in the app too.
    fn notify(&self, fired: &[Alert]) {
        if fired.is_empty() {
            return;
        }
        let app = self.app.clone();
        let fired = fired.to_vec();
        tauri::async_runtime::spawn_blocking(move || {
            for alert in fired {
                let title = match alert.kind {
                    alerts::AlertKind::Budget => format!("Tally: {} % of a budget", alert.threshold_percent),
                    alerts::AlertKind::Spike => "Tally: spending spike".to_string(),
                };
                let _ = app.notification().builder().title(title).body(&alert.message).show();
            }
        });
    }

    /// The hard budgets that sending `text` would take over their limit, by the turn's highest
    /// estimate per column. Empty: go ahead.
    pub async fn check_turn_budget(&self, conversation_id: i64, text: String) -> Result<Vec<LimitBreach>, AppError> {
        let estimates = turn_estimates(&self.estimate_turn(conversation_id, text).await?);
        Ok(self.store().run(move |c| alerts::would_exceed_turn(c, &estimates, chrono::Utc::now())).await?)
    }

    /// The spike multiplier in force, as decimal text.
    pub fn spike_multiplier(&self) -> String {
        self.endpoints.settings().spike_multiplier().to_string()
    }

    pub fn set_spike_multiplier(&self, value: String) -> Result<String, AppError> {
        let mut settings = self.endpoints.settings();
        settings.spike_multiplier = Some(parse_multiplier(&value)?);
        self.save_settings(&settings)?;
        self.endpoints.set_settings(settings);
        Ok(self.spike_multiplier())
    }

    /// Asks OpenRouter about the saved key's credits and usage (only when the user asks).
    pub async fn openrouter_key_info(&self) -> Result<KeyInfo, AppError> {
        let p = provider("openrouter").ok_or_else(|| AppError::new("internal", "OpenRouter is missing from the providers list."))?;
        let keyring = self.keyring.clone();
        let (key, _) = tokio::task::spawn_blocking(move || secrets::resolve(&keyring, p, EnvFallback::WhenKeyringUnavailable)).await??;
        if key.is_none() {
            return Err(AppError::new("no_key", "There is no OpenRouter key yet. Save one in Settings · providers & keys first."));
        }
        let endpoint = Endpoint { provider: p, base_url: self.endpoints.settings().base_url(p), api_key: key };
        openrouter_key_info(&self.http, &endpoint)
            .await
            .map_err(|e| AppError { kind: e.kind.as_str(), message: e.message, detail: e.detail })
    }

    /// Writes the usage rows of `range` as CSV where the user chooses (the system's save
    /// dialog). `None` when cancelled.
    pub async fn export_usage_csv(&self, range: DayRange) -> Result<Option<CsvExport>, AppError> {
        let dialog = self.file_dialog("Export usage as CSV").set_file_name("tally-usage.csv").add_filter("CSV", &["csv"]);
        let chosen = tokio::task::spawn_blocking(move || dialog.blocking_save_file()).await?;
        let Some(path) = chosen.and_then(|p| p.into_path().ok()) else { return Ok(None) };
        let target = path.clone();
        let rows = self
            .store()
            .run(move |c| {
                Ok(super::write_whole(&target, |file| {
                    csv::export(c, &range, std::io::BufWriter::new(file)).map_err(|e| std::io::Error::other(e.to_string()))
                }))
            })
            .await??;
        Ok(Some(CsvExport { path: path.display().to_string(), rows }))
    }

    /// Adds the usage rows of a CSV file the user picks (the system's open dialog), skipping
    /// those already here. `None` when cancelled.
    pub async fn import_usage_csv(&self) -> Result<Option<ImportSummary>, AppError> {
        let dialog = self.file_dialog("Import usage from CSV").add_filter("CSV", &["csv"]);
        let chosen = tokio::task::spawn_blocking(move || dialog.blocking_pick_file()).await?;
        let Some(path) = chosen.and_then(|p| p.into_path().ok()) else { return Ok(None) };
        let file = std::fs::File::open(&path).map_err(|e| AppError::new("csv", format!("{} could not be read: {e}", path.display())))?;
        let summary = self.store().run(move |c| Ok(csv::import(c, std::io::BufReader::new(file)))).await??;
        Ok(Some(summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_engine::tokens::estimate::{ColumnEstimate, OutputBasis};
    use tally_engine::tokens::Encoding;

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
    fn a_spike_multiplier_is_above_one_and_said_in_words_otherwise() {
        assert_eq!(parse_multiplier(" 2.50 ").unwrap().to_string(), "2.5");
        for bad in ["1", "0.5", "abc", "", "1000"] {
            let e = parse_multiplier(bad).unwrap_err();
            assert_eq!(e.kind, "invalid");
            assert!(e.message.contains("above 1"), "{}", e.message);
        }
    }
}
