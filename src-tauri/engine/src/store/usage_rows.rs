//! Usage rows as a whole: one [`UsageRecord`] per answer (every stored field, the price and cost
//! snapshot included), written with their daily roll-ups in the caller's transaction, and read
//! back one at a time (for the CSV export and for rebuilding roll-ups).
//!
//! Each row has a stable unique `uid`; writing a row whose `uid` is already stored does nothing,
//! which is what makes a CSV import safe to repeat. Must not: sum money in SQL (see [`super::rollups`]).

use rusqlite::{params, Connection, OptionalExtension, Row};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{decimal, StoreError};

/// One usage row, flat, in the order of the CSV export's columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// Stable and unique across databases: the dedupe key of an import.
    pub uid: String,
    /// RFC 3339 UTC, milliseconds, `Z` (`2026-11-25T10:00:00.000Z`).
    pub created_at: String,
    /// The conversation in the database the row was written in (empty for rows imported there).
    pub conversation_id: Option<i64>,
    pub conversation_title: Option<String>,
    pub message_id: Option<i64>,
    pub route: String,
    pub provider: String,
    pub model: String,
    pub served_model: Option<String>,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub cache_write_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    pub estimated: bool,
    /// List cost in USD; empty when the answer could not be priced.
    pub cost: Option<Decimal>,
    /// List cost plus the route's fee (OpenRouter's credit fee): what the answer effectively cost.
    pub effective_cost: Option<Decimal>,
    pub reported_cost: Option<Decimal>,
    pub ttfb_ms: Option<u64>,
    pub ttft_ms: Option<u64>,
    pub total_ms: u64,
    /// `app` or `cli`.
    pub origin: String,
    /// The price charged, as it was then (JSON of [`crate::pricing::Price`]).
    pub price_json: Option<String>,
    /// The itemised cost (JSON of [`crate::pricing::Cost`]).
    pub cost_json: Option<String>,
    /// The catalog's computation, beside `cost` (which is the route's reported charge where
    /// there is one); empty when the catalog had no price.
    #[serde(default)]
    pub computed_cost: Option<Decimal>,
    /// Requests sent for the answer (1 without retries).
    #[serde(default = "one")]
    pub attempts: u32,
    /// Milliseconds from the first request to the last (refused attempts and back-off).
    #[serde(default)]
    pub waited_ms: u64,
}

fn one() -> u32 {
    1
}

impl UsageRecord {
    /// The UTC day the row counts towards (`YYYY-MM-DD`).
    pub fn day(&self) -> &str {
        self.created_at.get(..10).unwrap_or(&self.created_at)
    }
}

/// A fresh unique id from SQLite's random source (128 bits, hex).
pub fn new_uid(conn: &Connection) -> Result<String, StoreError> {
    Ok(conn.query_row("SELECT lower(hex(randomblob(16)))", [], |r| r.get(0))?)
}

/// The current time as stored: RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    timestamp(chrono::Utc::now())
}

pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Where a record is going: a row of this database (`Local`: message and conversation exist
/// here) or one imported from elsewhere (both left empty; the title is kept for grouping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Local,
    Imported,
}

/// Inserts a record inside the caller's transaction, unless its `uid` is already stored. Returns
/// the row as stored when it was new. Only [`super::rollups::Deltas::insert`] calls it, so that
/// every row written is counted in the roll-ups.
pub(super) fn insert(tx: &Connection, record: &UsageRecord, origin: Origin) -> Result<Option<UsageRecord>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO usage (uid, message_id, conversation_id, conversation_title, route, provider, model, served_model,
            input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, estimated,
            price_json, cost_json, cost, effective_cost, reported_cost, ttfb_ms, ttft_ms, total_ms, origin, imported, created_at,
            computed_cost, attempts, waited_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)
         ON CONFLICT (uid) DO NOTHING",
    )?;
    let r = record;
    let imported = origin == Origin::Imported;
    let (message_id, conversation_id, title) = match origin {
        Origin::Local => (r.message_id, r.conversation_id, None),
        Origin::Imported => (None, None, r.conversation_title.as_deref()),
    };
    let text = |d: Option<Decimal>| d.map(|d| d.normalize().to_string());
    let added = stmt.execute(params![
        r.uid,
        message_id,
        conversation_id,
        title,
        r.route,
        r.provider,
        r.model,
        r.served_model,
        r.input_tokens as i64,
        r.cached_input_tokens as i64,
        r.cache_write_tokens as i64,
        r.output_tokens as i64,
        r.reasoning_tokens as i64,
        r.estimated,
        r.price_json,
        r.cost_json,
        text(r.cost),
        text(r.effective_cost),
        text(r.reported_cost),
        r.ttfb_ms.map(|v| v as i64),
        r.ttft_ms.map(|v| v as i64),
        r.total_ms as i64,
        r.origin,
        imported,
        r.created_at,
        text(r.computed_cost),
        r.attempts.max(1),
        i64::try_from(r.waited_ms).unwrap_or(i64::MAX),
    ])? == 1;
    if !added {
        return Ok(None);
    }
    let mut stored = record.clone();
    (stored.message_id, stored.conversation_id) = (message_id, conversation_id);
    stored.conversation_title = title.map(str::to_string);
    Ok(Some(stored))
}

/// Removes the usage row of an answer, if it has one, and returns it. Only
/// [`super::rollups::Deltas::forget_message`] calls it, which takes the row out of the roll-ups.
pub(super) fn forget_message(tx: &Connection, message_id: i64) -> Result<Option<UsageRecord>, StoreError> {
    let old = tx.query_row(&format!("{SELECT} WHERE u.message_id = ?1"), [message_id], read).optional()?;
    if old.is_some() {
        tx.execute("DELETE FROM usage WHERE message_id = ?1", [message_id])?;
    }
    Ok(old)
}

/// Every column of a usage row; the title is the conversation's current one, or the imported one.
const SELECT: &str = "SELECT u.uid, u.created_at, u.conversation_id, coalesce(c.title, u.conversation_title), u.message_id,
        u.route, u.provider, u.model, u.served_model, u.input_tokens, u.cached_input_tokens, u.cache_write_tokens,
        u.output_tokens, u.reasoning_tokens, u.estimated, u.cost, u.effective_cost, u.reported_cost,
        u.ttfb_ms, u.ttft_ms, u.total_ms, u.origin, u.price_json, u.cost_json, u.computed_cost, u.attempts, u.waited_ms
    FROM usage u LEFT JOIN conversations c ON c.id = u.conversation_id";

fn read(r: &Row<'_>) -> rusqlite::Result<UsageRecord> {
    let dec = |i: usize| -> rusqlite::Result<Option<Decimal>> { Ok(r.get::<_, Option<String>>(i)?.map(|s| decimal(&s))) };
    let count = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
    let ms = |i: usize| -> rusqlite::Result<Option<u64>> { Ok(r.get::<_, Option<i64>>(i)?.map(|v| v.max(0) as u64)) };
    Ok(UsageRecord {
        uid: r.get(0)?,
        created_at: r.get(1)?,
        conversation_id: r.get(2)?,
        conversation_title: r.get(3)?,
        message_id: r.get(4)?,
        route: r.get(5)?,
        provider: r.get(6)?,
        model: r.get(7)?,
        served_model: r.get(8)?,
        input_tokens: count(9)?,
        cached_input_tokens: count(10)?,
        cache_write_tokens: count(11)?,
        output_tokens: count(12)?,
        reasoning_tokens: count(13)?,
        estimated: r.get(14)?,
        cost: dec(15)?,
        effective_cost: dec(16)?,
        reported_cost: dec(17)?,
        ttfb_ms: ms(18)?,
        ttft_ms: ms(19)?,
        total_ms: count(20)?,
        origin: r.get(21)?,
        price_json: r.get(22)?,
        cost_json: r.get(23)?,
        computed_cost: dec(24)?,
        attempts: u32::try_from(r.get::<_, i64>(25)?.max(1)).unwrap_or(u32::MAX),
        waited_ms: count(26)?,
    })
}

/// Calls `f` with every usage row created in `[since, until)` (RFC 3339 or `YYYY-MM-DD` text,
/// compared as stored), oldest first, one row at a time: nothing is collected in memory.
pub fn for_each<E: From<StoreError>>(
    conn: &Connection,
    since: &str,
    until: &str,
    mut f: impl FnMut(UsageRecord) -> Result<(), E>,
) -> Result<(), E> {
    let sql = format!("{SELECT} WHERE u.created_at >= ?1 AND u.created_at < ?2 ORDER BY u.created_at, u.id");
    let mut stmt = conn.prepare(&sql).map_err(StoreError::from)?;
    let mut rows = stmt.query([since, until]).map_err(StoreError::from)?;
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        f(read(row).map_err(StoreError::from)?)?;
    }
    Ok(())
}
