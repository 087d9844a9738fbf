//! The `reconciliations` table: an answer's generation id, and what OpenRouter's record of it
//! said, compared with the ledger. Queries live here, next to [`Reconciliation`].

use rusqlite::{params, Connection, OptionalExtension, Row};
use rust_decimal::Decimal;
use serde::Serialize;
use ts_rs::TS;

use crate::providers::Generation;
use crate::store::{decimal, StoreError};
use crate::ledger::DayRange;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum ReconcileState {
    /// Waiting for OpenRouter's record (it lags the answer).
    Pending,
    /// OpenRouter's record was read and compared with the ledger.
    Reconciled,
    /// The record could not be had; `error` says why. A reconciliation on request tries again.
    Unavailable,
}

impl ReconcileState {
    fn parse(s: &str) -> ReconcileState {
        match s {
            "reconciled" => ReconcileState::Reconciled,
            "pending" => ReconcileState::Pending,
            _ => ReconcileState::Unavailable,
        }
    }
}

/// One answer checked against OpenRouter's record of it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Reconciliation {
    #[ts(as = "crate::brands::ts::MessageId")]
    pub message_id: i64,
    pub generation_id: String,
    pub state: ReconcileState,
    #[ts(type = "number")]
    pub attempts: u64,
    /// Why the record is not (yet) there, in words.
    pub error: Option<String>,
    /// The provider that served the answer.
    pub provider_name: Option<String>,
    #[ts(type = "number | null")]
    pub native_input_tokens: Option<u64>,
    #[ts(type = "number | null")]
    pub native_output_tokens: Option<u64>,
    #[ts(type = "number | null")]
    pub native_cached_tokens: Option<u64>,
    #[ts(type = "number | null")]
    pub native_reasoning_tokens: Option<u64>,
    /// The answer's tokens as the ledger has them, to set beside the native counts.
    #[ts(type = "number")]
    pub recorded_input_tokens: u64,
    #[ts(type = "number")]
    pub recorded_output_tokens: u64,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub total_cost: Option<Decimal>,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub upstream_inference_cost: Option<Decimal>,
    pub is_byok: Option<bool>,
    /// What the user paid, by OpenRouter's record.
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub billed_cost: Option<Decimal>,
    /// What the ledger had for the answer when it was checked (the charge the stream reported;
    /// Tally's own figure when the stream reported none). `None`: the ledger had no cost.
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub recorded_cost: Option<Decimal>,
    /// `billed_cost − recorded_cost` (the whole bill when the ledger had none).
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub difference: Option<Decimal>,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub cache_discount: Option<Decimal>,
    #[ts(type = "number | null")]
    pub generation_time_ms: Option<u64>,
    #[ts(type = "number | null")]
    pub latency_ms: Option<u64>,
    /// Reconciled, and the bill is exactly what the ledger says.
    pub matches: bool,
    pub checked_at: Option<String>,
}

/// Which answers a reconciliation on request covers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum Scope {
    Conversation {
        #[ts(as = "crate::brands::ts::ConversationId")]
        conversation_id: i64,
    },
    /// Answers whose usage was recorded in these UTC days.
    Days { range: DayRange },
}

/// Remembers that `message_id` was generation `generation_id`, to be checked. An answer written
/// again (a new generation) starts over.
pub fn enqueue(conn: &Connection, message_id: i64, generation_id: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO reconciliations (message_id, generation_id) VALUES (?1, ?2)
         ON CONFLICT (message_id) DO UPDATE SET generation_id = excluded.generation_id, state = 'pending', attempts = 0,
             last_error = NULL, checked_at = NULL
         WHERE reconciliations.generation_id != excluded.generation_id",
        params![message_id, generation_id],
    )?;
    Ok(())
}

/// Counts one look-up that found no record yet, with what was said.
pub fn note_attempt(conn: &Connection, message_id: i64, why: &str) -> Result<(), StoreError> {
    conn.execute("UPDATE reconciliations SET attempts = attempts + 1, last_error = ?2 WHERE message_id = ?1", params![message_id, why])?;
    Ok(())
}

/// Gives up on the record for now, saying why.
pub fn mark_unavailable(conn: &Connection, message_id: i64, why: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE reconciliations SET state = 'unavailable', last_error = ?2, checked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE message_id = ?1",
        params![message_id, why],
    )?;
    Ok(())
}

/// Back to pending, for a reconciliation on request.
pub fn restart(conn: &Connection, message_id: i64) -> Result<(), StoreError> {
    conn.execute("UPDATE reconciliations SET state = 'pending', attempts = 0, last_error = NULL WHERE message_id = ?1", [message_id])?;
    Ok(())
}

/// What the ledger has for an answer: the charge the stream reported, else Tally's own cost.
fn recorded_cost(conn: &Connection, message_id: i64) -> Result<Option<Decimal>, StoreError> {
    let row: Option<(Option<String>, Option<String>)> =
        conn.query_row("SELECT reported_cost, cost FROM usage WHERE message_id = ?1", [message_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    Ok(row.and_then(|(reported, cost)| reported.or(cost)).map(|s| decimal(&s).normalize()))
}

/// Stores OpenRouter's record and the comparison with the ledger, in one statement.
pub fn save(conn: &mut Connection, message_id: i64, g: &Generation) -> Result<(), StoreError> {
    let tx = crate::store::write_tx(conn)?;
    let recorded = recorded_cost(&tx, message_id)?;
    let billed = g.billed();
    let difference = (billed - recorded.unwrap_or_default()).normalize();
    let text = |d: Option<Decimal>| d.map(|d| d.normalize().to_string());
    let count = |n: Option<u64>| n.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    tx.execute(
        "UPDATE reconciliations SET state = 'reconciled', attempts = attempts + 1, last_error = NULL,
             provider_name = ?2, native_input_tokens = ?3, native_output_tokens = ?4, native_cached_tokens = ?5,
             native_reasoning_tokens = ?6, total_cost = ?7, upstream_inference_cost = ?8, is_byok = ?9, billed_cost = ?10,
             recorded_cost = ?11, difference = ?12, cache_discount = ?13, generation_time_ms = ?14, latency_ms = ?15,
             checked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
         WHERE message_id = ?1",
        params![
            message_id,
            g.provider_name,
            count(g.native_input_tokens),
            count(g.native_output_tokens),
            count(g.native_cached_tokens),
            count(g.native_reasoning_tokens),
            text(Some(g.total_cost)),
            text(g.upstream_inference_cost),
            g.is_byok,
            text(Some(billed)),
            text(recorded),
            text(Some(difference)),
            text(g.cache_discount),
            count(g.generation_time_ms),
            count(g.latency_ms),
        ],
    )?;
    tx.commit()?;
    Ok(())
}

const SELECT: &str = "SELECT r.message_id, r.generation_id, r.state, r.attempts, r.last_error, r.provider_name,
        r.native_input_tokens, r.native_output_tokens, r.native_cached_tokens, r.native_reasoning_tokens,
        coalesce(u.input_tokens, 0), coalesce(u.output_tokens, 0),
        r.total_cost, r.upstream_inference_cost, r.is_byok, r.billed_cost, r.recorded_cost, r.difference,
        r.cache_discount, r.generation_time_ms, r.latency_ms, r.checked_at
    FROM reconciliations r LEFT JOIN usage u ON u.message_id = r.message_id";

fn read(r: &Row<'_>) -> rusqlite::Result<Reconciliation> {
    let dec = |i: usize| -> rusqlite::Result<Option<Decimal>> { Ok(r.get::<_, Option<String>>(i)?.map(|s| decimal(&s))) };
    let count = |i: usize| -> rusqlite::Result<Option<u64>> { Ok(r.get::<_, Option<i64>>(i)?.map(|v| v.max(0) as u64)) };
    let state = ReconcileState::parse(&r.get::<_, String>(2)?);
    let difference = dec(17)?;
    Ok(Reconciliation {
        message_id: r.get(0)?,
        generation_id: r.get(1)?,
        state,
        attempts: r.get::<_, i64>(3)?.max(0) as u64,
        error: r.get(4)?,
        provider_name: r.get(5)?,
        native_input_tokens: count(6)?,
        native_output_tokens: count(7)?,
        native_cached_tokens: count(8)?,
        native_reasoning_tokens: count(9)?,
        recorded_input_tokens: r.get::<_, i64>(10)?.max(0) as u64,
        recorded_output_tokens: r.get::<_, i64>(11)?.max(0) as u64,
        total_cost: dec(12)?,
        upstream_inference_cost: dec(13)?,
        is_byok: r.get(14)?,
        billed_cost: dec(15)?,
        recorded_cost: dec(16)?,
        matches: state == ReconcileState::Reconciled && difference.is_some_and(|d| d.is_zero()),
        difference,
        cache_discount: dec(18)?,
        generation_time_ms: count(19)?,
        latency_ms: count(20)?,
        checked_at: r.get(21)?,
    })
}

/// One answer's reconciliation, if it has one.
pub fn get(conn: &Connection, message_id: i64) -> Result<Option<Reconciliation>, StoreError> {
    Ok(conn.query_row(&format!("{SELECT} WHERE r.message_id = ?1"), [message_id], read).optional()?)
}

/// Every reconciliation of a conversation's answers, for the chat view.
pub fn for_conversation(conn: &Connection, conversation_id: i64) -> Result<Vec<Reconciliation>, StoreError> {
    let sql = format!(
        "{SELECT} JOIN messages m ON m.id = r.message_id JOIN columns c ON c.id = m.column_id
         WHERE c.conversation_id = ?1 ORDER BY r.message_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([conversation_id], read)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The checks left unfinished (the app was closed, the CLI exited): `(message_id, generation_id)`.
pub fn pending(conn: &Connection) -> Result<Vec<(i64, String)>, StoreError> {
    let mut stmt = conn.prepare("SELECT message_id, generation_id FROM reconciliations WHERE state = 'pending' ORDER BY message_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The answers in `scope` that can be reconciled (their generation id is known), oldest first.
pub fn in_scope(conn: &Connection, scope: &Scope) -> Result<Vec<(i64, String)>, StoreError> {
    let collect = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    match scope {
        Scope::Conversation { conversation_id } => collect(
            "SELECT r.message_id, r.generation_id FROM reconciliations r JOIN messages m ON m.id = r.message_id
             JOIN columns c ON c.id = m.column_id WHERE c.conversation_id = ?1 ORDER BY r.message_id",
            rusqlite::params![conversation_id],
        ),
        Scope::Days { range } => {
            let (since, until) = range.bounds()?;
            collect(
                "SELECT r.message_id, r.generation_id FROM reconciliations r JOIN usage u ON u.message_id = r.message_id
                 WHERE substr(u.created_at, 1, 10) >= ?1 AND substr(u.created_at, 1, 10) < ?2 ORDER BY r.message_id",
                rusqlite::params![since, until],
            )
        }
    }
}
