//! Spend and tokens over time and broken down by route, provider, model and conversation, from
//! the daily roll-ups (a year of heavy use is a few thousand roll-up rows, not a million usage rows).
//!
//! Orderings are by effective cost (what was paid, route fees included), largest first.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::period::{self, Bucket};
use super::{DayRange, UsageTotals};
use crate::store::rollups::{Measures, MEASURES};
use crate::store::StoreError;

/// One bucket of the spend-over-time chart, named by its first day (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct BucketTotals {
    pub start: String,
    pub totals: UsageTotals,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Dimension {
    /// `openrouter` or a direct route (`openai`, `anthropic`, …, `custom`).
    Route,
    /// Who made the model, whichever route served it: `openai` for both `openai:gpt-4o` and
    /// `openrouter:openai/gpt-4o` (OpenRouter's `google`, `x-ai`, `mistralai` are Tally's
    /// `gemini`, `xai`, `mistral`).
    Provider,
    /// The model as the route names it (`gpt-4o`, `openai/gpt-4o`).
    Model,
    Conversation,
}

/// One line of a breakdown. `conversation_id` is set for conversations of this database;
/// imported usage whose conversation is elsewhere is grouped by its title, without an id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct BreakdownRow {
    pub key: String,
    pub label: String,
    #[ts(as = "Option<crate::brands::ts::ConversationId>")]
    pub conversation_id: Option<i64>,
    pub totals: UsageTotals,
}

/// OpenRouter against direct routes; `openrouter_percent` is OpenRouter's share of the
/// effective cost (exact, `None` when nothing was spent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RouteShare {
    pub openrouter: UsageTotals,
    pub direct: UsageTotals,
    #[ts(type = "string | null")]
    pub openrouter_percent: Option<Decimal>,
}

/// How many conversations the usage screen's breakdown lists at most.
pub const CONVERSATIONS_LISTED: usize = 100;

/// What the usage screen shows for a range, except latency (asked for apart: it reads the usage
/// rows, the rest only the daily roll-ups). Conversations are largest first: the top ones lead.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
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

/// Everything the usage screen shows for a range but latency, in one call.
pub fn overview(conn: &Connection, range: &DayRange, bucket: Bucket) -> Result<UsageOverview, StoreError> {
    Ok(UsageOverview {
        totals: totals(conn, range)?,
        over_time: over_time_by_route(conn, range, bucket)?,
        by_route: breakdown(conn, range, Dimension::Route, None)?,
        by_provider: breakdown(conn, range, Dimension::Provider, None)?,
        by_model: breakdown(conn, range, Dimension::Model, None)?,
        by_conversation: breakdown(conn, range, Dimension::Conversation, Some(CONVERSATIONS_LISTED))?,
        share: share(conn, range)?,
    })
}

/// Calls `f(day, route, provider, model, measures)` for each `usage_daily` row in the range.
fn each_model_day(conn: &Connection, range: &DayRange, mut f: impl FnMut(&str, &str, &str, &str, Measures) -> Result<(), StoreError>) -> Result<(), StoreError> {
    let (since, until) = range.bounds()?;
    let mut stmt = conn.prepare_cached(&format!("SELECT day, route, provider, model, {MEASURES} FROM usage_daily WHERE day >= ?1 AND day < ?2"))?;
    let mut rows = stmt.query([since, until])?;
    while let Some(r) = rows.next()? {
        let (day, route, provider, model): (String, String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        f(&day, &route, &provider, &model, Measures::read(r, 4)?)?;
    }
    Ok(())
}

/// Everything in the range.
pub fn totals(conn: &Connection, range: &DayRange) -> Result<UsageTotals, StoreError> {
    let mut t = UsageTotals::default();
    each_model_day(conn, range, |_, _, _, _, m| t.add(&m))?;
    Ok(t)
}

/// Spend and tokens per day, week (from Monday) or month, oldest first; the buckets between the
/// first and the last with usage are all there, empty ones with zeros.
pub fn over_time(conn: &Connection, range: &DayRange, bucket: Bucket) -> Result<Vec<BucketTotals>, StoreError> {
    Ok(bucketed(conn, range, bucket, |_| ())?.into_iter().map(|(start, mut totals)| BucketTotals { start, totals: totals.remove(&()).unwrap_or_default() }).collect())
}

/// One bucket of the spend-over-time chart split by route: OpenRouter against every direct route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RouteBucket {
    pub start: String,
    pub openrouter: UsageTotals,
    pub direct: UsageTotals,
}

/// [`over_time`] with each bucket split into OpenRouter and direct routes (a stacked chart).
pub fn over_time_by_route(conn: &Connection, range: &DayRange, bucket: Bucket) -> Result<Vec<RouteBucket>, StoreError> {
    let rows = bucketed(conn, range, bucket, |route| route == "openrouter")?;
    Ok(rows
        .into_iter()
        .map(|(start, mut by)| RouteBucket { start, openrouter: by.remove(&true).unwrap_or_default(), direct: by.remove(&false).unwrap_or_default() })
        .collect())
}

/// Buckets by their first day, each with totals per group.
type Grouped<K> = Vec<(String, HashMap<K, UsageTotals>)>;

/// Every bucket from the first to the last with usage (empty ones included), each with its
/// totals grouped by `group(route)`.
fn bucketed<K: std::hash::Hash + Eq>(
    conn: &Connection,
    range: &DayRange,
    bucket: Bucket,
    group: impl Fn(&str) -> K,
) -> Result<Grouped<K>, StoreError> {
    let mut by_day: HashMap<(String, K), Measures> = HashMap::new();
    each_model_day(conn, range, |day, route, _, _, m| by_day.entry((day.to_string(), group(route))).or_default().add(&m, 1))?;
    let mut buckets: BTreeMap<chrono::NaiveDate, HashMap<K, UsageTotals>> = BTreeMap::new();
    for ((day, key), m) in by_day {
        let Ok(day) = period::parse_day(&day) else { continue };
        buckets.entry(period::bucket_start(day, bucket)).or_default().entry(key).or_default().add(&m)?;
    }
    let (Some(first), Some(last)) = (buckets.keys().next().copied(), buckets.keys().next_back().copied()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut start = first;
    while start <= last {
        out.push((start.to_string(), buckets.remove(&start).unwrap_or_default()));
        start = period::next_bucket(start, bucket);
    }
    Ok(out)
}

/// Tally's provider id for an OpenRouter model's maker prefix.
fn maker(route: &str, provider: &str, model: &str) -> String {
    if route != "openrouter" {
        return provider.to_string();
    }
    match model.split('/').next().unwrap_or_default() {
        "google" => "gemini".into(),
        "x-ai" => "xai".into(),
        "mistralai" => "mistral".into(),
        other => other.to_string(),
    }
}

fn provider_label(id: &str) -> String {
    crate::providers::provider(id).map_or_else(|| id.to_string(), |p| p.name.to_string())
}

/// Spend per route, provider, model or conversation, largest first; at most `limit` lines.
pub fn breakdown(conn: &Connection, range: &DayRange, dim: Dimension, limit: Option<usize>) -> Result<Vec<BreakdownRow>, StoreError> {
    if dim == Dimension::Conversation {
        return conversations(conn, range, limit);
    }
    let mut groups: HashMap<String, UsageTotals> = HashMap::new();
    each_model_day(conn, range, |_, route, provider, model, m| {
        let key = match dim {
            Dimension::Route => route.to_string(),
            Dimension::Provider => maker(route, provider, model),
            _ => model.to_string(),
        };
        groups.entry(key).or_default().add(&m)
    })?;
    let rows = groups.into_iter().map(|(key, totals)| {
        let label = match dim {
            Dimension::Model => key.clone(),
            _ => provider_label(&key),
        };
        BreakdownRow { key, label, conversation_id: None, totals }
    });
    Ok(largest_first(rows.collect(), limit))
}

fn largest_first(mut rows: Vec<BreakdownRow>, limit: Option<usize>) -> Vec<BreakdownRow> {
    rows.sort_by(|a, b| {
        b.totals.effective_cost.cmp(&a.totals.effective_cost).then(b.totals.answers.cmp(&a.totals.answers)).then(a.key.cmp(&b.key))
    });
    rows.truncate(limit.unwrap_or(usize::MAX));
    rows
}

fn conversations(conn: &Connection, range: &DayRange, limit: Option<usize>) -> Result<Vec<BreakdownRow>, StoreError> {
    let (since, until) = range.bounds()?;
    let mut groups: HashMap<(i64, String), UsageTotals> = HashMap::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT conversation_id, conversation_title, {MEASURES} FROM usage_conversation_daily WHERE day >= ?1 AND day < ?2"
    ))?;
    let mut rows = stmt.query([since, until])?;
    while let Some(r) = rows.next()? {
        groups.entry((r.get(0)?, r.get(1)?)).or_default().add(&Measures::read(r, 2)?)?;
    }
    let rows: Vec<BreakdownRow> = groups
        .into_iter()
        .map(|((id, title), totals)| {
            let key = if id > 0 { id.to_string() } else { format!("imported:{title}") };
            BreakdownRow { key, label: title, conversation_id: (id > 0).then_some(id), totals }
        })
        .collect();
    let mut rows = largest_first(rows, limit);
    let mut title = conn.prepare_cached("SELECT title FROM conversations WHERE id = ?1")?;
    for row in &mut rows {
        if let Some(id) = row.conversation_id {
            row.label = title.query_row([id], |r| r.get(0)).optional()?.unwrap_or_else(|| format!("Conversation {id}"));
        }
    }
    Ok(rows)
}

/// OpenRouter (route `openrouter`) against every direct route.
pub fn share(conn: &Connection, range: &DayRange) -> Result<RouteShare, StoreError> {
    let (mut openrouter, mut direct) = (UsageTotals::default(), UsageTotals::default());
    each_model_day(conn, range, |_, route, _, _, m| if route == "openrouter" { openrouter.add(&m) } else { direct.add(&m) })?;
    let all = openrouter.effective_cost.checked_add(direct.effective_cost).ok_or_else(|| StoreError::Overflow("the effective cost".into()))?;
    let openrouter_percent = if all.is_zero() {
        None
    } else {
        Some(openrouter.effective_cost.checked_mul(Decimal::ONE_HUNDRED).and_then(|p| p.checked_div(all)).ok_or_else(|| StoreError::Overflow("OpenRouter's share of the spend".into()))?.normalize())
    };
    Ok(RouteShare { openrouter, direct, openrouter_percent })
}
