//! Budgets: a daily or monthly limit in USD, on everything or on one provider's bill (the
//! route's provider: OpenRouter is its own bill, so `openai` counts `openai:…` answers only),
//! optionally hard (Tally asks before sending a turn that would cross it; see
//! [`super::alerts::would_exceed`]). Spend counts the effective cost (route fees included) of
//! the current UTC day or month, from the daily roll-ups. Must not fire alerts (see [`super::alerts`]).

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::period;
use crate::store::rollups::{Measures, MEASURES};
use crate::store::{decimal, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Period {
    Day,
    Month,
}

impl Period {
    fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Month => "month",
        }
    }

    fn adjective(self) -> &'static str {
        match self {
            Period::Day => "daily",
            Period::Month => "monthly",
        }
    }

    /// The current period at `now`: its key (`YYYY-MM-DD` or `YYYY-MM`) and its days `[start, end)`.
    pub fn current(self, now: DateTime<Utc>) -> (String, NaiveDate, NaiveDate) {
        let today = now.date_naive();
        match self {
            Period::Day => (today.to_string(), today, period::next_bucket(today, period::Bucket::Day)),
            Period::Month => (today.format("%Y-%m").to_string(), period::month_start(today), period::next_month(today)),
        }
    }
}

/// What the user sets. `provider` is a provider id (`openai`, `openrouter`, …); `None` covers all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct BudgetInput {
    pub period: Period,
    pub provider: Option<String>,
    #[ts(type = "string")]
    pub limit_usd: Decimal,
    pub hard: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Budget {
    #[ts(type = "number")]
    pub id: i64,
    pub period: Period,
    pub provider: Option<String>,
    #[ts(as = "crate::brands::ts::Money")]
    pub limit_usd: Decimal,
    pub hard: bool,
}

impl Budget {
    /// "monthly budget for OpenAI" / "daily budget".
    pub fn describe(&self) -> String {
        let scope = self.provider.as_deref().map(|id| format!(" for {}", crate::providers::provider(id).map_or(id, |p| p.name)));
        format!("{} budget{}", self.period.adjective(), scope.unwrap_or_default())
    }
}

/// A budget in its current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct BudgetStatus {
    pub budget: Budget,
    /// `YYYY-MM-DD` for a daily budget, `YYYY-MM` for a monthly one.
    pub period_key: String,
    #[ts(as = "crate::brands::ts::Money")]
    pub spent: Decimal,
    /// spent / limit × 100, exact (not rounded).
    #[ts(type = "string")]
    pub percent: Decimal,
    /// Never below zero.
    #[ts(as = "crate::brands::ts::Money")]
    pub remaining: Decimal,
    /// Answers in the period that had no price: not in `spent`, so the UI should say so.
    #[ts(type = "number")]
    pub unpriced_answers: u64,
}

/// USD for a sentence: cents, or every digit of an amount under a cent.
pub fn usd(amount: Decimal) -> String {
    if !amount.is_zero() && amount.abs() < Decimal::new(1, 2) {
        return format!("${}", amount.normalize());
    }
    format!("${:.2}", amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

fn check(input: &BudgetInput) -> Result<(), StoreError> {
    if input.limit_usd <= Decimal::ZERO {
        return Err(StoreError::Invalid("A budget's limit must be more than $0.".into()));
    }
    if let Some(id) = &input.provider {
        if crate::providers::provider(id).is_none() {
            return Err(StoreError::Invalid(format!("Tally does not know the provider \"{id}\".")));
        }
    }
    Ok(())
}

const SELECT: &str = "SELECT id, period, provider, limit_usd, hard FROM budgets";

fn read(r: &Row<'_>) -> rusqlite::Result<Budget> {
    let period: String = r.get(1)?;
    Ok(Budget {
        id: r.get(0)?,
        period: if period == "day" { Period::Day } else { Period::Month },
        provider: r.get(2)?,
        limit_usd: decimal(&r.get::<_, String>(3)?),
        hard: r.get(4)?,
    })
}

pub fn create(conn: &Connection, input: &BudgetInput) -> Result<Budget, StoreError> {
    check(input)?;
    conn.execute(
        "INSERT INTO budgets (period, provider, limit_usd, hard) VALUES (?1, ?2, ?3, ?4)",
        params![input.period.as_str(), input.provider, input.limit_usd.normalize().to_string(), input.hard],
    )?;
    get(conn, conn.last_insert_rowid())
}

/// Changes a budget. Thresholds already announced in this period stay announced.
pub fn update(conn: &Connection, id: i64, input: &BudgetInput) -> Result<Budget, StoreError> {
    check(input)?;
    let n = conn.execute(
        "UPDATE budgets SET period = ?1, provider = ?2, limit_usd = ?3, hard = ?4 WHERE id = ?5",
        params![input.period.as_str(), input.provider, input.limit_usd.normalize().to_string(), input.hard, id],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("Budget {id}")));
    }
    get(conn, id)
}

/// Deletes a budget and the record of its alerts, together.
pub fn delete(conn: &mut Connection, id: i64) -> Result<(), StoreError> {
    let tx = crate::store::write_tx(conn)?;
    if tx.execute("DELETE FROM budgets WHERE id = ?1", [id])? == 0 {
        return Err(StoreError::NotFound(format!("Budget {id}")));
    }
    tx.execute("DELETE FROM usage_alerts WHERE kind = 'budget' AND budget_id = ?1", [id])?;
    tx.commit()?;
    Ok(())
}

pub fn get(conn: &Connection, id: i64) -> Result<Budget, StoreError> {
    conn.query_row(&format!("{SELECT} WHERE id = ?1"), [id], read).optional()?.ok_or_else(|| StoreError::NotFound(format!("Budget {id}")))
}

pub fn list(conn: &Connection) -> Result<Vec<Budget>, StoreError> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY period, provider IS NOT NULL, provider, id"))?;
    let rows = stmt.query_map([], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Effective spend and unpriced answers on days `[start, end)`, for one provider's bill or all.
pub(crate) fn spent(conn: &Connection, start: NaiveDate, end: NaiveDate, provider: Option<&str>) -> Result<Measures, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MEASURES} FROM usage_daily WHERE day >= ?1 AND day < ?2 AND (?3 IS NULL OR provider = ?3)"
    ))?;
    let mut rows = stmt.query(params![start.to_string(), end.to_string(), provider])?;
    let mut total = Measures::default();
    while let Some(r) = rows.next()? {
        total.add(&Measures::read(r, 0)?, 1)?;
    }
    Ok(total)
}

pub fn status_of(conn: &Connection, budget: Budget, now: DateTime<Utc>) -> Result<BudgetStatus, StoreError> {
    let (period_key, start, end) = budget.period.current(now);
    let m = spent(conn, start, end, budget.provider.as_deref())?;
    let spent = m.effective_cost.normalize();
    Ok(BudgetStatus {
        percent: (spent * Decimal::ONE_HUNDRED).checked_div(budget.limit_usd).unwrap_or_default().normalize(),
        remaining: (budget.limit_usd - spent).max(Decimal::ZERO).normalize(),
        unpriced_answers: m.unpriced_answers.max(0) as u64,
        period_key,
        spent,
        budget,
    })
}

/// Every budget in its current period at `now`.
pub fn status(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<BudgetStatus>, StoreError> {
    list(conn)?.into_iter().map(|b| status_of(conn, b, now)).collect()
}
