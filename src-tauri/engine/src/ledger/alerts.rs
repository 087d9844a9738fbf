//! Alerts, each fired once: a budget crossing 50 / 80 / 100 % in its period, and a spike (a
//! day's spend above N × the trailing average). Also the hard-limit check before a turn is sent.
//!
//! Fired alerts are recorded in `usage_alerts`, unique per budget × period × threshold (spikes:
//! per day), so calling [`check_alerts`] again returns nothing new until something changes; a new
//! day or month is a new period and fires again. When spend jumps past several thresholds at
//! once, only the highest is returned; the lower ones are recorded as fired with it (one
//! notification, not three).

use chrono::{DateTime, Days, Utc};
use rusqlite::{params, Connection};
use rust_decimal::Decimal;
use serde::Serialize;
use ts_rs::TS;

use super::budgets::{self, usd, Budget};
use crate::store::StoreError;

/// The thresholds announced, in percent of a budget.
pub const THRESHOLDS: [u32; 3] = [50, 80, 100];

/// The spike multiplier when the user has not set one.
pub const DEFAULT_SPIKE_MULTIPLIER: Decimal = Decimal::from_parts(3, 0, 0, false, 0);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum AlertKind {
    Budget,
    Spike,
}

/// A new alert, for the in-app banner and the desktop notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Alert {
    pub kind: AlertKind,
    #[ts(type = "number | null")]
    pub budget_id: Option<i64>,
    /// `YYYY-MM-DD` or `YYYY-MM`.
    pub period: String,
    /// 50, 80 or 100 for a budget; 0 for a spike.
    pub threshold_percent: u32,
    #[ts(as = "crate::brands::ts::Money")]
    pub spent: Decimal,
    /// The budget's limit, or for a spike the trailing daily average it is compared with.
    #[ts(as = "crate::brands::ts::Money")]
    pub reference: Decimal,
    pub message: String,
}

/// A hard budget that a turn would cross.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LimitBreach {
    pub budget: Budget,
    #[ts(as = "crate::brands::ts::Money")]
    pub spent: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub estimate: Decimal,
    /// spent + estimate − limit.
    #[ts(as = "crate::brands::ts::Money")]
    pub over_by: Decimal,
    pub message: String,
}

/// An alert as recorded when it fired, for the list of past alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FiredAlert {
    #[ts(type = "number")]
    pub id: i64,
    pub kind: AlertKind,
    /// `YYYY-MM-DD` or `YYYY-MM`.
    pub period: String,
    pub threshold_percent: u32,
    pub message: String,
    /// RFC 3339, UTC.
    pub fired_at: String,
}

/// The `limit` most recently fired alerts, newest first. Thresholds passed over in a jump (one
/// notification for several) are left out: each line here was announced.
pub fn recent(conn: &Connection, limit: usize) -> Result<Vec<FiredAlert>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.kind, a.period, a.threshold, a.message, a.fired_at FROM usage_alerts a
         WHERE NOT EXISTS (SELECT 1 FROM usage_alerts b WHERE b.kind = a.kind AND b.budget_id = a.budget_id
                           AND b.period = a.period AND b.threshold > a.threshold AND b.fired_at = a.fired_at)
         ORDER BY a.fired_at DESC, a.id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        let kind: String = r.get(1)?;
        Ok(FiredAlert {
            id: r.get(0)?,
            kind: if kind == "spike" { AlertKind::Spike } else { AlertKind::Budget },
            period: r.get(2)?,
            threshold_percent: r.get(3)?,
            message: r.get(4)?,
            fired_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records an alert fired at `fired_at`; true when it had not fired before.
fn record(tx: &Connection, fired_at: &str, kind: &str, budget_id: i64, period: &str, threshold: u32, message: &str) -> Result<bool, StoreError> {
    Ok(tx.execute(
        "INSERT INTO usage_alerts (kind, budget_id, period, threshold, message, fired_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (kind, budget_id, period, threshold) DO NOTHING",
        params![kind, budget_id, period, threshold, message, fired_at],
    )? == 1)
}

/// Alerts that became due at `now` and had not fired yet, recorded so they never fire again.
/// `spike_multiplier` is the user's setting ([`DEFAULT_SPIKE_MULTIPLIER`] otherwise).
pub fn check_alerts(conn: &mut Connection, now: DateTime<Utc>, spike_multiplier: Decimal) -> Result<Vec<Alert>, StoreError> {
    let tx = crate::store::write_tx(conn)?;
    // One time for everything this check records: thresholds passed over in a jump are told
    // apart from the one announced by sharing its `fired_at` (see `recent`), and SQLite's 'now'
    // is only stable within one statement, so two inserts could straddle a millisecond.
    let fired_at: String = tx.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |r| r.get(0))?;
    let mut alerts = Vec::new();
    for status in budgets::status(&tx, now)? {
        let mut newest = None;
        for t in THRESHOLDS.into_iter().filter(|t| status.percent >= Decimal::from(*t)) {
            // "Reached", not "used": one turn can jump past several thresholds (or far past
            // 100 %), and each is announced with what was spent by then.
            let message = format!(
                "Spending reached {t} % of your {} {}: {} so far.",
                usd(status.budget.limit_usd),
                status.budget.describe(),
                usd(status.spent)
            );
            if record(&tx, &fired_at, "budget", status.budget.id, &status.period_key, t, &message)? {
                newest = Some((t, message));
            }
        }
        if let Some((t, message)) = newest {
            alerts.push(Alert {
                kind: AlertKind::Budget,
                budget_id: Some(status.budget.id),
                period: status.period_key.clone(),
                threshold_percent: t,
                spent: status.spent,
                reference: status.budget.limit_usd,
                message,
            });
        }
    }
    alerts.extend(spike(&tx, &fired_at, now, spike_multiplier)?);
    tx.commit()?;
    Ok(alerts)
}

/// Today's spend against the average day before it. The average is over the 7 days before
/// today, or fewer when the history is younger (from the first day with usage), days without
/// usage counting as $0. No history before today, or nothing spent in the window: no spike.
fn spike(tx: &Connection, fired_at: &str, now: DateTime<Utc>, multiplier: Decimal) -> Result<Option<Alert>, StoreError> {
    let today = now.date_naive();
    let first: Option<String> = tx.query_row("SELECT min(day) FROM usage_daily", [], |r| r.get(0))?;
    let Some(first) = first.and_then(|d| super::period::parse_day(&d).ok()) else { return Ok(None) };
    let window_start = (today - Days::new(7)).max(first);
    let days = (today - window_start).num_days();
    if days <= 0 {
        return Ok(None);
    }
    let trailing = budgets::spent(tx, window_start, today, None)?.effective_cost;
    let spent = budgets::spent(tx, today, today + Days::new(1), None)?.effective_cost.normalize();
    if trailing.is_zero() {
        return Ok(None);
    }
    let average = (trailing / Decimal::from(days)).normalize();
    if spent <= multiplier * average {
        return Ok(None);
    }
    let times = spent.checked_div(average).unwrap_or_default().round_dp(1).normalize();
    let message = format!(
        "Today's spend ({}) is {times} × your average day over the last {days} day{} ({}).",
        usd(spent),
        if days == 1 { "" } else { "s" },
        usd(average)
    );
    let period = today.to_string();
    if !record(tx, fired_at, "spike", 0, &period, 0, &message)? {
        return Ok(None);
    }
    Ok(Some(Alert { kind: AlertKind::Spike, budget_id: None, period, threshold_percent: 0, spent, reference: average, message }))
}

/// The hard budgets that sending an answer estimated at `estimated_cost` (effective USD) to
/// `provider` would take over their limit, most over first. Empty: go ahead.
pub fn would_exceed(conn: &Connection, provider: &str, estimated_cost: Decimal, now: DateTime<Utc>) -> Result<Vec<LimitBreach>, StoreError> {
    would_exceed_turn(conn, &[(provider.to_string(), estimated_cost)], now)
}

/// [`would_exceed`] for a whole turn: one `(provider, estimate)` per column. Each hard budget is
/// checked against the estimates it covers together (an overall budget, all of them).
pub fn would_exceed_turn(conn: &Connection, estimates: &[(String, Decimal)], now: DateTime<Utc>) -> Result<Vec<LimitBreach>, StoreError> {
    let mut out = Vec::new();
    for budget in budgets::list(conn)?.into_iter().filter(|b| b.hard) {
        let estimate: Decimal = estimates.iter().filter(|(p, _)| budget.provider.is_none() || budget.provider.as_ref() == Some(p)).map(|(_, e)| *e).sum();
        if estimate.is_zero() && budget.provider.is_some() {
            continue;
        }
        let status = budgets::status_of(conn, budget, now)?;
        let after = status.spent + estimate;
        if after <= status.budget.limit_usd {
            continue;
        }
        let over_by = (after - status.budget.limit_usd).normalize();
        let message = format!(
            "Sending this (≈ {}) would take your {} {} to {}, {} over. Send anyway?",
            usd(estimate),
            usd(status.budget.limit_usd),
            status.budget.describe(),
            usd(after),
            usd(over_by)
        );
        out.push(LimitBreach { budget: status.budget, spent: status.spent, estimate: estimate.normalize(), over_by, message });
    }
    out.sort_by_key(|b| std::cmp::Reverse(b.over_by));
    Ok(out)
}
