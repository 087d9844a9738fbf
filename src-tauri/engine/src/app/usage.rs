//! The usage history: spend over time and its breakdowns, budgets, alerts (checked after each
//! turn and on request), the spike setting, the OpenRouter account, and usage as CSV. The
//! figures come from the engine's `ledger` module; nothing here adds money up. Desktop
//! notifications and file dialogs are the shell's: it calls these around them.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use tokio::task::JoinHandle;

use super::{known, AppCode, AppError, Engine, Result};
use crate::providers::{openrouter_key_info, KeyInfo};
use crate::ledger::alerts::{self, Alert, FiredAlert};
use crate::ledger::budgets::{self, BudgetInput, BudgetStatus};
use crate::ledger::csv::{self, ImportSummary};
use crate::ledger::latency::{self, LatencyRow};
use crate::ledger::period::Bucket;
use crate::ledger::stats::{self, Dimension};
use crate::ledger::{DayRange, UsageTotals};

/// Receives alerts that fired after a turn (the app sends them over a `tauri::ipc::Channel`
/// and as desktop notifications).
pub type AlertSink = Arc<dyn Fn(Vec<Alert>) + Send + Sync>;

/// Where alerts that fire in the background go; empty until someone watches.
#[derive(Default)]
pub(super) struct AlertWatch(Arc<Mutex<Option<AlertSink>>>);

/// How many past alerts the screen lists.
const RECENT_ALERTS: usize = 30;

pub use crate::ledger::stats::UsageOverview;

/// How usage is grouped in a listing (the CLI's `usage --group-by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    By(Dimension),
    Over(Bucket),
}

/// One line of a usage listing: the group's key and label (both empty for the whole range).
#[derive(Debug, Clone)]
pub struct UsageLine {
    pub group: Option<String>,
    pub key: String,
    pub label: String,
    pub totals: UsageTotals,
}

/// A spike multiplier as the user typed it: a decimal above 1 (1 would make every day above
/// average a spike), at most 100.
fn parse_multiplier(text: &str) -> Result<Decimal> {
    let invalid = || AppError::invalid(format!("The spike multiplier is a number above 1 and at most 100, such as 3 or 2.5; got \"{}\".", text.trim()));
    let m: Decimal = text.trim().parse().map_err(|_| invalid())?;
    if m <= Decimal::ONE || m > Decimal::ONE_HUNDRED {
        return Err(invalid());
    }
    Ok(m.normalize())
}

impl Engine {
    pub async fn usage_overview(&self, range: DayRange, bucket: Bucket) -> Result<UsageOverview> {
        Ok(self.store().run(move |c| stats::overview(c, &range, bucket)).await?)
    }

    /// Spend of a range, whole or per group (largest spend first; buckets oldest first).
    pub async fn usage_lines(&self, range: DayRange, grouping: Option<Grouping>) -> Result<Vec<UsageLine>> {
        Ok(self
            .store()
            .run(move |c| {
                Ok(match grouping {
                    None => vec![UsageLine { group: None, key: String::new(), label: String::new(), totals: stats::totals(c, &range)? }],
                    Some(Grouping::By(d)) => {
                        let name = format!("{d:?}").to_lowercase();
                        stats::breakdown(c, &range, d, None)?
                            .into_iter()
                            .map(|r| UsageLine { group: Some(name.clone()), key: r.key, label: r.label, totals: r.totals })
                            .collect()
                    }
                    Some(Grouping::Over(b)) => {
                        let name = format!("{b:?}").to_lowercase();
                        stats::over_time(c, &range, b)?
                            .into_iter()
                            .map(|r| UsageLine { group: Some(name.clone()), key: r.start.clone(), label: r.start, totals: r.totals })
                            .collect()
                    }
                })
            })
            .await?)
    }

    pub async fn usage_latency(&self, range: DayRange) -> Result<Vec<LatencyRow>> {
        Ok(self.store().run(move |c| latency::by_model_and_route(c, &range)).await?)
    }

    pub async fn budgets(&self) -> Result<Vec<BudgetStatus>> {
        Ok(self.store().run(|c| budgets::status(c, chrono::Utc::now())).await?)
    }

    pub async fn add_budget(&self, input: BudgetInput) -> Result<Vec<BudgetStatus>> {
        self.store().run(move |c| budgets::create(c, &input)).await?;
        self.budgets().await
    }

    pub async fn delete_budget(&self, id: i64) -> Result<Vec<BudgetStatus>> {
        self.store().run(move |c| budgets::delete(c, id)).await?;
        self.budgets().await
    }

    pub async fn recent_alerts(&self) -> Result<Vec<FiredAlert>> {
        Ok(self.store().run(|c| alerts::recent(c, RECENT_ALERTS)).await?)
    }

    /// Alerts that became due and had not fired yet (recorded, so each fires once).
    pub async fn check_alerts(&self) -> Result<Vec<Alert>> {
        let multiplier = self.settings().spike_multiplier();
        Ok(self.store().run(move |c| alerts::check_alerts(c, chrono::Utc::now(), multiplier)).await?)
    }

    /// From now on, alerts that fire after a turn go to `sink`.
    pub fn watch_alerts(&self, sink: AlertSink) {
        *self.alerts.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink);
    }

    /// A handle that completes after `running` (a turn) and the alert check that follows it;
    /// alerts that fired go to the watcher, if any.
    pub(super) fn alerts_after(&self, running: JoinHandle<()>) -> JoinHandle<()> {
        let watch = self.alerts.0.clone();
        if watch.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
            return running;
        }
        let store = self.store().clone();
        let endpoints = self.endpoints.clone();
        tokio::spawn(async move {
            let _ = running.await;
            let multiplier = endpoints.settings().spike_multiplier();
            match store.run(move |c| alerts::check_alerts(c, chrono::Utc::now(), multiplier)).await {
                Ok(fired) if !fired.is_empty() => {
                    let sink = watch.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    if let Some(sink) = sink {
                        sink(fired);
                    }
                }
                Ok(_) => {}
                Err(e) => eprintln!("Tally could not check the usage alerts: {e}"),
            }
        })
    }

    /// The spike multiplier in force, as decimal text.
    pub fn spike_multiplier(&self) -> String {
        self.settings().spike_multiplier().to_string()
    }

    pub fn set_spike_multiplier(&self, value: &str) -> Result<String> {
        let mut settings = self.settings();
        settings.spike_multiplier = Some(parse_multiplier(value)?);
        self.save_settings(settings)?;
        Ok(self.spike_multiplier())
    }

    /// Asks OpenRouter about the saved key's credits and usage (only when asked).
    pub async fn openrouter_key_info(&self) -> Result<KeyInfo> {
        let p = known("openrouter")?;
        let endpoint = self.key_for(p, "There is no OpenRouter key yet. Save one in Settings · providers & keys first.".into()).await?;
        Ok(openrouter_key_info(&self.http, &endpoint).await?)
    }

    /// Writes the usage rows of `range` as CSV to `path`, whole or not at all; how many rows.
    pub async fn export_usage_csv(&self, range: DayRange, path: &Path) -> Result<u64> {
        let target = path.to_path_buf();
        self.store()
            .run(move |c| Ok(super::write_whole(&target, |file| csv::export(c, &range, std::io::BufWriter::new(file)).map_err(|e| std::io::Error::other(e.to_string())))))
            .await?
    }

    /// Writes the usage rows of `range` as CSV to `out` (the CLI's standard output).
    pub fn write_usage_csv(&self, range: &DayRange, out: impl std::io::Write) -> Result<u64> {
        Ok(self.store().read(|c| Ok(csv::export(c, range, out)))??)
    }

    /// Adds the usage rows of a CSV file, skipping those already here.
    pub async fn import_usage_csv(&self, path: &Path) -> Result<ImportSummary> {
        let file = std::fs::File::open(path).map_err(|e| AppError::new(AppCode::Csv, format!("Tally cannot read {}.", path.display())).with_detail(e.to_string()))?;
        // On a connection of its own, in short transactions: a running turn is not held.
        let store = self.store().clone();
        Ok(super::blocking(move || store.job(|c| Ok(csv::import(c, std::io::BufReader::new(file))))).await???)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_multiplier_is_above_one_and_said_in_words_otherwise() {
        assert_eq!(parse_multiplier(" 2.50 ").unwrap().to_string(), "2.5");
        for bad in ["1", "0.5", "abc", "", "1000"] {
            let e = parse_multiplier(bad).unwrap_err();
            assert!(e.is(AppCode::Invalid));
            assert!(e.message.contains("above 1"), "{}", e.message);
        }
    }
}
