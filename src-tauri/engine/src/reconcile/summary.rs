//! How much of the spend is checked against the bill, per route, and the largest differences,
//! for the Usage screen. Money is added in Rust as exact decimals, never by SQL's `SUM`.

use std::collections::BTreeMap;

use rusqlite::Connection;
use rust_decimal::Decimal;
use serde::Serialize;
use ts_rs::TS;

use crate::store::{decimal, StoreError};
use crate::ledger::DayRange;

/// One route's spend in a range and the part of it checked against OpenRouter's records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RouteReconciliation {
    pub route: String,
    /// The ledger's cost of every priced answer of the route.
    #[ts(as = "crate::brands::ts::Money")]
    pub spend: Decimal,
    #[ts(type = "number")]
    pub answers: u64,
    /// The ledger's cost of the answers whose bill was read.
    #[ts(as = "crate::brands::ts::Money")]
    pub reconciled_spend: Decimal,
    #[ts(type = "number")]
    pub reconciled_answers: u64,
    /// `reconciled_spend / spend × 100`, to one decimal place; `None` when nothing was spent.
    pub reconciled_percent: Option<String>,
    /// What those answers were billed, by OpenRouter's records, and the sum of the differences.
    #[ts(as = "crate::brands::ts::Money")]
    pub billed: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub difference: Decimal,
    /// Reconciled answers whose bill differs from the ledger.
    #[ts(type = "number")]
    pub differing_answers: u64,
    #[ts(type = "number")]
    pub pending_answers: u64,
    #[ts(type = "number")]
    pub unavailable_answers: u64,
    /// Answers with nothing to check against (direct routes have no generation records; older
    /// answers have no generation id).
    #[ts(type = "number")]
    pub unreconcilable_answers: u64,
}

/// One answer whose bill differs from the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ReconcileDifference {
    #[ts(as = "crate::brands::ts::MessageId")]
    pub message_id: i64,
    #[ts(as = "Option<crate::brands::ts::ConversationId>")]
    pub conversation_id: Option<i64>,
    pub conversation_title: Option<String>,
    pub route: String,
    pub model: String,
    pub provider_name: Option<String>,
    pub created_at: String,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub recorded_cost: Option<Decimal>,
    #[ts(as = "crate::brands::ts::Money")]
    pub billed_cost: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub difference: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ReconcileSummary {
    /// Routes with any answer in the range, the largest spend first.
    pub routes: Vec<RouteReconciliation>,
    /// The largest differences (by size, either sign), at most [`LARGEST`].
    pub largest_differences: Vec<ReconcileDifference>,
}

/// How many differences the summary lists.
pub const LARGEST: usize = 5;

/// The summary over the usage recorded in `range` (UTC days).
pub fn summary(conn: &Connection, range: &DayRange) -> Result<ReconcileSummary, StoreError> {
    let (since, until) = range.bounds()?;
    let mut stmt = conn.prepare(
        "SELECT u.route, u.cost, r.state, r.billed_cost, r.recorded_cost, r.difference, u.message_id, u.conversation_id,
                coalesce(c.title, u.conversation_title), u.model, r.provider_name, u.created_at
         FROM usage u LEFT JOIN reconciliations r ON r.message_id = u.message_id
              LEFT JOIN conversations c ON c.id = u.conversation_id
         WHERE substr(u.created_at, 1, 10) >= ?1 AND substr(u.created_at, 1, 10) < ?2",
    )?;
    let mut rows = stmt.query([&since, &until])?;
    let mut routes: BTreeMap<String, RouteReconciliation> = BTreeMap::new();
    let mut differences: Vec<ReconcileDifference> = Vec::new();
    while let Some(r) = rows.next()? {
        let route: String = r.get(0)?;
        let cost = r.get::<_, Option<String>>(1)?.map(|s| decimal(&s)).unwrap_or_default();
        let state: Option<String> = r.get(2)?;
        let line = routes.entry(route.clone()).or_insert_with(|| RouteReconciliation { route: route.clone(), ..Default::default() });
        line.answers += 1;
        line.spend += cost;
        match state.as_deref() {
            Some("reconciled") => {
                let billed = r.get::<_, Option<String>>(3)?.map(|s| decimal(&s)).unwrap_or_default();
                let difference = r.get::<_, Option<String>>(5)?.map(|s| decimal(&s)).unwrap_or_default();
                line.reconciled_answers += 1;
                line.reconciled_spend += cost;
                line.billed += billed;
                line.difference += difference;
                if !difference.is_zero() {
                    line.differing_answers += 1;
                    differences.push(ReconcileDifference {
                        message_id: r.get::<_, Option<i64>>(6)?.unwrap_or_default(),
                        conversation_id: r.get(7)?,
                        conversation_title: r.get(8)?,
                        route,
                        model: r.get(9)?,
                        provider_name: r.get(10)?,
                        created_at: r.get(11)?,
                        recorded_cost: r.get::<_, Option<String>>(4)?.map(|s| decimal(&s)),
                        billed_cost: billed.normalize(),
                        difference: difference.normalize(),
                    });
                }
            }
            Some("pending") => line.pending_answers += 1,
            Some(_) => line.unavailable_answers += 1,
            None => line.unreconcilable_answers += 1,
        }
    }
    let mut routes: Vec<RouteReconciliation> = routes
        .into_values()
        .map(|mut l| {
            l.spend = l.spend.normalize();
            l.reconciled_spend = l.reconciled_spend.normalize();
            l.billed = l.billed.normalize();
            l.difference = l.difference.normalize();
            l.reconciled_percent =
                (!l.spend.is_zero()).then(|| (l.reconciled_spend / l.spend * Decimal::ONE_HUNDRED).round_dp(1).normalize().to_string());
            l
        })
        .collect();
    routes.sort_by(|a, b| b.spend.cmp(&a.spend).then_with(|| a.route.cmp(&b.route)));
    differences.sort_by(|a, b| b.difference.abs().cmp(&a.difference.abs()).then_with(|| b.created_at.cmp(&a.created_at)));
    differences.truncate(LARGEST);
    Ok(ReconcileSummary { routes, largest_differences: differences })
}
