//! Messages and usage: starting a turn (each column gets the prompt on its own thread), saving a
//! partial answer while it streams, and finishing it with its usage, cost and the running totals
//! in one transaction.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;
use serde::Serialize;
use ts_rs::TS;

use super::conversations::{self, ColumnParams, Totals};
use super::rollups::Deltas;
use super::usage_rows::{self, Origin, UsageRecord};
use super::{decimal, StoreError};
use crate::pricing::{Cost, Price};
use crate::providers::{ChatMessage, ProviderError, Role};
use crate::stream::{Timing, Usage};
use crate::target::Target;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Status {
    Streaming,
    Done,
    Stopped,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Streaming => "streaming",
            Status::Done => "done",
            Status::Stopped => "stopped",
            Status::Failed => "failed",
        }
    }
    fn parse(s: &str) -> Status {
        match s {
            "streaming" => Status::Streaming,
            "done" => Status::Done,
            "stopped" => Status::Stopped,
            _ => Status::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ErrorView {
    pub kind: String,
    pub message: String,
    pub detail: Option<String>,
}

/// An answer's usage as stored: counts, the price used then, the itemised cost and timings.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct UsageView {
    pub tokens: Usage,
    pub served_model: Option<String>,
    pub price: Option<Price>,
    pub cost: Option<Cost>,
    pub timing: Timing,
    pub output_tokens_per_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct MessageView {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub column_id: i64,
    #[ts(type = "number")]
    pub turn_id: i64,
    pub content: String,
    pub reasoning: String,
    pub status: Status,
    pub finish_reason: Option<String>,
    pub error: Option<ErrorView>,
    pub usage: Option<UsageView>,
    /// The column's own prompt for this turn, when it differs from the turn's (a prompt variant).
    pub own_prompt: Option<String>,
}

/// What one column needs to send its part of a turn.
#[derive(Debug, Clone)]
pub struct ColumnTurn {
    pub column_id: i64,
    pub target: Target,
    pub params: ColumnParams,
    /// The column's own thread so far, ending with the new prompt.
    pub history: Vec<ChatMessage>,
    pub message_id: i64,
}

#[derive(Debug, Clone)]
pub struct TurnStart {
    pub turn_id: i64,
    pub columns: Vec<ColumnTurn>,
}

/// Records a turn: the prompt goes onto every column's thread, and an empty streaming answer is
/// created per column. Returns what each column must send.
pub fn start_turn(conn: &mut Connection, conversation_id: i64, prompt: &str) -> Result<TurnStart, StoreError> {
    start_turn_with(conn, conversation_id, prompt, &HashMap::new())
}

/// Like [`start_turn`], but the columns in `own` get their own prompt instead of `prompt` (prompt
/// variants compared side by side); `prompt` is what the turn shows and is named after.
pub fn start_turn_with(conn: &mut Connection, conversation_id: i64, prompt: &str, own: &HashMap<i64, String>) -> Result<TurnStart, StoreError> {
    if prompt.trim().is_empty() || own.values().any(|p| p.trim().is_empty()) {
        return Err(StoreError::Invalid("The prompt is empty.".into()));
    }
    let tx = super::write_tx(conn)?;
    let cols = conversations::taking_part(&tx, conversation_id)?;
    if cols.is_empty() {
        if conversations::columns(&tx, conversation_id)?.is_empty() {
            return Err(StoreError::NotFound(format!("Conversation {conversation_id}")));
        }
        return Err(StoreError::Invalid("Every column is paused: resume one to send.".into()));
    }
    if conversations::is_sensitive(&tx, conversation_id)? {
        if let Some(why) = cols.iter().find_map(|(_, t, _)| conversations::sensitive_refusal(t)) {
            return Err(StoreError::Refused(format!("{why} Nothing was sent. Remove that column, or unmark the conversation as sensitive.")));
        }
    }
    tx.execute("INSERT INTO turns (conversation_id, prompt) VALUES (?1, ?2)", params![conversation_id, prompt])?;
    let turn_id = tx.last_insert_rowid();
    let mut columns = Vec::with_capacity(cols.len());
    for (column_id, target, params) in cols {
        let mut history = thread(&tx, column_id, i64::MAX)?;
        let text = own.get(&column_id).map_or(prompt, String::as_str);
        tx.execute(
            "INSERT INTO messages (column_id, turn_id, role, content, status) VALUES (?1, ?2, 'user', ?3, 'done')",
            params![column_id, turn_id, text],
        )?;
        history.push(ChatMessage { role: Role::User, content: text.to_string() });
        tx.execute(
            "INSERT INTO messages (column_id, turn_id, role, status, input_estimate, owner) VALUES (?1, ?2, 'assistant', 'streaming', ?3, ?4)",
            params![column_id, turn_id, input_estimate(&target, &params, &history), super::recovery::this_process()],
        )?;
        columns.push(ColumnTurn { column_id, target, params, history, message_id: tx.last_insert_rowid() });
    }
    tx.execute("UPDATE conversations SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1", [conversation_id])?;
    // A new conversation is named after its first prompt, locally: no model call, no spending.
    tx.execute(
        "UPDATE conversations SET title = ?1 WHERE id = ?2 AND title = ?3",
        params![conversations::title_from_prompt(prompt), conversation_id, conversations::NEW_TITLE],
    )?;
    tx.commit()?;
    Ok(TurnStart { turn_id, columns })
}

/// The input tokens of the request a column is about to send, as Tally counts them (stored with
/// the answer to be compared with the provider's count; see `token_history::estimate_accuracy`).
fn input_estimate(target: &Target, params: &ColumnParams, history: &[ChatMessage]) -> i64 {
    let request = crate::tokens::ChatItem::request(params.system.as_deref(), history);
    crate::tokens::count_chat(&target.to_string(), &request).tokens as i64
}

/// A column's thread before message `before`: its user prompts and the non-empty answers it
/// got (regenerated ones replaced), oldest first.
pub(crate) fn thread(conn: &Connection, column_id: i64, before: i64) -> Result<Vec<ChatMessage>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT role, content FROM messages
         WHERE column_id = ?1 AND superseded = 0 AND id < ?2 AND (role = 'user' OR content != '') ORDER BY id",
    )?;
    let rows = stmt.query_map([column_id, before], |r| {
        let role: String = r.get(0)?;
        Ok(ChatMessage { role: if role == "user" { Role::User } else { Role::Assistant }, content: r.get(1)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Starts a new answer in place of `message_id` (a failed, stopped or unwanted one) for the same
/// turn and column, with the thread as it stood then. The old answer is superseded, not deleted:
/// it stays in history with its usage. Returns the conversation and what the column must send.
pub fn regenerate(conn: &mut Connection, message_id: i64) -> Result<(i64, i64, ColumnTurn), StoreError> {
    let tx = crate::store::write_tx(conn)?;
    let (column_id, turn_id, status, conversation_id): (i64, i64, String, i64) = tx
        .query_row(
            "SELECT m.column_id, m.turn_id, m.status, c.conversation_id FROM messages m JOIN columns c ON c.id = m.column_id
             WHERE m.id = ?1 AND m.role = 'assistant' AND m.superseded = 0 AND c.removed = 0",
            [message_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Answer {message_id}")))?;
    if status == "streaming" {
        return Err(StoreError::Invalid("This answer is still streaming: stop it first.".into()));
    }
    let (_, target, params) = conversations::columns(&tx, conversation_id)?
        .into_iter()
        .find(|(id, ..)| *id == column_id)
        .ok_or_else(|| StoreError::NotFound(format!("Column {column_id}")))?;
    if conversations::is_sensitive(&tx, conversation_id)? {
        if let Some(why) = conversations::sensitive_refusal(&target) {
            return Err(StoreError::Refused(format!("{why} Nothing was sent.")));
        }
    }
    let history = thread(&tx, column_id, message_id)?;
    tx.execute("UPDATE messages SET superseded = 1 WHERE id = ?1", [message_id])?;
    tx.execute(
        "INSERT INTO messages (column_id, turn_id, role, status, input_estimate, owner) VALUES (?1, ?2, 'assistant', 'streaming', ?3, ?4)",
        params![column_id, turn_id, input_estimate(&target, &params, &history), super::recovery::this_process()],
    )?;
    let new_id = tx.last_insert_rowid();
    tx.commit()?;
    Ok((conversation_id, turn_id, ColumnTurn { column_id, target, params, history, message_id: new_id }))
}

/// Saves what has streamed so far, so a crash loses at most the last few hundred milliseconds.
pub fn save_partial(conn: &Connection, message_id: i64, content: &str, reasoning: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE messages SET content = ?1, reasoning = ?2 WHERE id = ?3 AND status = 'streaming'",
        params![content, reasoning, message_id],
    )?;
    Ok(())
}

/// Keeps the provider's usage as soon as it arrives, so that an answer whose process dies
/// before it is finished is billed with the provider's figures ([`super::recovery`]).
pub fn save_usage(conn: &Connection, message_id: i64, usage: &Usage, served_model: Option<&str>) -> Result<(), StoreError> {
    let pending = serde_json::json!({ "usage": usage, "served_model": served_model }).to_string();
    conn.execute("UPDATE messages SET pending_usage = ?1 WHERE id = ?2 AND status = 'streaming'", params![pending, message_id])?;
    Ok(())
}

/// Everything known about an answer when it ends, however it ended.
#[derive(Debug, Clone)]
pub struct Finished {
    pub conversation_id: i64,
    pub column_id: i64,
    pub message_id: i64,
    pub target: Target,
    pub content: String,
    pub reasoning: String,
    pub status: Status,
    pub finish_reason: Option<String>,
    pub error: Option<ProviderError>,
    pub usage: Usage,
    pub served_model: Option<String>,
    pub price: Option<Price>,
    pub cost: Option<Cost>,
    pub timing: Timing,
    pub origin: &'static str,
}

/// Writes the final answer, its usage row (with the price used), the day's usage roll-ups and
/// the running totals of its column and conversation, all in one transaction. Returns the stored answer and the totals.
pub fn finish(conn: &mut Connection, f: &Finished) -> Result<(MessageView, Totals, Totals), StoreError> {
    let tx = super::write_tx(conn)?;
    let out = finish_in(&tx, f)?;
    tx.commit()?;
    Ok(out)
}

/// [`finish`] inside the caller's transaction.
pub(crate) fn finish_in(tx: &Connection, f: &Finished) -> Result<(MessageView, Totals, Totals), StoreError> {
    let (error_kind, error_message, error_detail) = match &f.error {
        Some(e) => (Some(e.kind.as_str()), Some(e.message.as_str()), e.detail.as_deref()),
        None => (None, None, None),
    };
    tx.execute(
        "UPDATE messages SET content = ?1, reasoning = ?2, status = ?3, finish_reason = ?4,
                error_kind = ?5, error_message = ?6, error_detail = ?7 WHERE id = ?8",
        params![f.content, f.reasoning, f.status.as_str(), f.finish_reason, error_kind, error_message, error_detail, f.message_id],
    )?;
    let u = &f.usage;
    let json = |v: &dyn erased::Json| v.to_json();
    let record = UsageRecord {
        uid: usage_rows::new_uid(tx)?,
        created_at: usage_rows::now(),
        conversation_id: Some(f.conversation_id),
        conversation_title: None,
        message_id: Some(f.message_id),
        route: f.target.route.clone(),
        provider: f.target.provider().id.to_string(),
        model: f.target.model.clone(),
        served_model: f.served_model.clone(),
        input_tokens: u.input_tokens,
        cached_input_tokens: u.cached_input_tokens,
        cache_write_tokens: u.cache_write_tokens,
        output_tokens: u.output_tokens,
        reasoning_tokens: u.reasoning_tokens,
        estimated: u.estimated,
        cost: f.cost.as_ref().map(|c| c.total),
        effective_cost: f.cost.as_ref().map(|c| c.effective_total),
        reported_cost: u.reported_cost,
        ttfb_ms: f.timing.ttfb_ms,
        ttft_ms: f.timing.ttft_ms,
        total_ms: f.timing.total_ms,
        origin: f.origin.to_string(),
        price_json: f.price.as_ref().map(|p| json(p)),
        cost_json: f.cost.as_ref().map(|c| json(c)),
        computed_cost: f.cost.as_ref().and_then(|c| c.computed_total),
        attempts: f.timing.attempts.max(1),
        waited_ms: f.timing.waited_ms,
    };
    // The usage row and the day's roll-ups change together; an answer written again replaces
    // its earlier row rather than counting twice.
    let mut deltas = Deltas::default();
    usage_rows::forget_message(tx, f.message_id, &mut deltas)?;
    usage_rows::insert(tx, &record, Origin::Local, &mut deltas)?;
    deltas.apply(tx)?;
    let answer_cost = f.cost.as_ref().map_or(Decimal::ZERO, |c| c.total);
    let add_cost = |current: String, what: &str| {
        decimal(&current).checked_add(answer_cost).map(|d| d.normalize().to_string()).ok_or_else(|| StoreError::Overflow(what.to_string()))
    };
    let add_tokens = |current: i64, more: u64, what: &str| {
        i64::try_from(more).ok().and_then(|m| current.checked_add(m)).ok_or_else(|| StoreError::Overflow(what.to_string()))
    };
    let unpriced = i64::from(f.cost.is_none());
    let (col_cost, col_in, col_out): (String, i64, i64) =
        tx.query_row("SELECT total_cost, input_tokens, output_tokens FROM columns WHERE id = ?1", [f.column_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let col = conversations::totals(
        add_cost(col_cost, "the column's total cost")?,
        add_tokens(col_in, u.input_tokens, "the column's input tokens")?,
        add_tokens(col_out, u.output_tokens, "the column's output tokens")?,
        0,
    );
    tx.execute(
        "UPDATE columns SET total_cost = ?1, input_tokens = ?2, output_tokens = ?3 WHERE id = ?4",
        params![col.cost.to_string(), col.input_tokens as i64, col.output_tokens as i64, f.column_id],
    )?;
    let (conv_cost, conv_in, conv_out, conv_unpriced, revision): (String, i64, i64, i64, i64) = tx.query_row(
        "SELECT total_cost, input_tokens, output_tokens, unpriced_answers, totals_revision FROM conversations WHERE id = ?1",
        [f.conversation_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    // The totals' new revision, written with them: whoever holds two snapshots keeps the higher.
    let revision = revision + 1;
    let col = col.at(revision);
    let conv = conversations::totals(
        add_cost(conv_cost, "the conversation's total cost")?,
        add_tokens(conv_in, u.input_tokens, "the conversation's input tokens")?,
        add_tokens(conv_out, u.output_tokens, "the conversation's output tokens")?,
        conv_unpriced + unpriced,
    )
    .at(revision);
    tx.execute(
        "UPDATE conversations SET total_cost = ?1, input_tokens = ?2, output_tokens = ?3, unpriced_answers = ?4, totals_revision = ?5,
                updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?6",
        params![conv.cost.to_string(), conv.input_tokens as i64, conv.output_tokens as i64, conv.unpriced_answers as i64, revision, f.conversation_id],
    )?;
    let view = message(tx, f.message_id)?;
    Ok((view, col, conv))
}

/// Answers left `streaming` by a crash or a forced quit become `stopped`, keeping their text.
/// Superseded by [`super::recovery::bill_interrupted`], which bills them and leaves the answers of
/// live processes alone; kept until the shell calls that instead.
pub fn recover_interrupted(conn: &Connection) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE messages SET status = 'stopped', error_kind = 'cancelled',
                error_message = 'Tally closed while this answer was streaming. The partial answer is kept.'
         WHERE status = 'streaming'",
        [],
    )?)
}

const MESSAGE_SELECT: &str = "SELECT m.id, m.column_id, m.turn_id, m.content, m.reasoning, m.status, m.finish_reason,
        m.error_kind, m.error_message, m.error_detail,
        u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, u.output_tokens, u.reasoning_tokens, u.estimated,
        u.reported_cost, u.served_model, u.price_json, u.cost_json, u.ttfb_ms, u.ttft_ms, u.total_ms, u.attempts, u.waited_ms,
        (SELECT p.content FROM messages p JOIN turns t ON t.id = p.turn_id
          WHERE p.turn_id = m.turn_id AND p.column_id = m.column_id AND p.role = 'user' AND p.content != t.prompt LIMIT 1)
    FROM messages m LEFT JOIN usage u ON u.message_id = m.id";

/// A usage row's counts from seven columns starting at `i`: input, cached input, cache write,
/// output, reasoning, estimated, reported cost (`input` is column `i`, already read).
pub(crate) fn usage_at(r: &rusqlite::Row<'_>, i: usize, input: i64) -> rusqlite::Result<Usage> {
    Ok(Usage {
        input_tokens: input as u64,
        cached_input_tokens: r.get::<_, i64>(i + 1)? as u64,
        cache_write_tokens: r.get::<_, i64>(i + 2)? as u64,
        output_tokens: r.get::<_, i64>(i + 3)? as u64,
        reasoning_tokens: r.get::<_, i64>(i + 4)? as u64,
        estimated: r.get(i + 5)?,
        reported_cost: r.get::<_, Option<String>>(i + 6)?.map(|s| decimal(&s)),
    })
}

fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageView> {
    let error = r.get::<_, Option<String>>(7)?.map(|kind| ErrorView { kind, message: r.get::<_, Option<String>>(8).ok().flatten().unwrap_or_default(), detail: r.get(9).ok().flatten() });
    let usage = match r.get::<_, Option<i64>>(10)? {
        None => None,
        Some(input) => {
            let tokens = usage_at(r, 10, input)?;
            let timing = Timing {
                ttfb_ms: r.get::<_, Option<i64>>(20)?.map(|v| v as u64),
                ttft_ms: r.get::<_, Option<i64>>(21)?.map(|v| v as u64),
                total_ms: r.get::<_, i64>(22)? as u64,
                attempts: u32::try_from(r.get::<_, i64>(23)?.max(1)).unwrap_or(u32::MAX),
                waited_ms: r.get::<_, i64>(24)?.max(0) as u64,
            };
            let price: Option<Price> = r.get::<_, Option<String>>(18)?.and_then(|j| serde_json::from_str(&j).ok());
            let cost = r.get::<_, Option<String>>(19)?.and_then(|j| serde_json::from_str::<Cost>(&j).ok()).map(|c| c.with_stored_lines(&tokens, price.as_ref()));
            Some(UsageView {
                output_tokens_per_s: timing.output_tokens_per_s(tokens.output_tokens),
                served_model: r.get(17)?,
                price,
                cost,
                tokens,
                timing,
            })
        }
    };
    Ok(MessageView {
        id: r.get(0)?,
        column_id: r.get(1)?,
        turn_id: r.get(2)?,
        content: r.get(3)?,
        reasoning: r.get(4)?,
        status: Status::parse(&r.get::<_, String>(5)?),
        finish_reason: r.get(6)?,
        error,
        usage,
        own_prompt: r.get(25)?,
    })
}

pub fn message(conn: &Connection, id: i64) -> Result<MessageView, StoreError> {
    conn.query_row(&format!("{MESSAGE_SELECT} WHERE m.id = ?1"), [id], message_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Message {id}")))
}

pub(crate) fn assistant_messages_of_conversation(conn: &Connection, conversation_id: i64) -> Result<Vec<MessageView>, StoreError> {
    let sql = format!(
        "{MESSAGE_SELECT} JOIN columns c ON c.id = m.column_id
         WHERE c.conversation_id = ?1 AND m.role = 'assistant' AND m.superseded = 0 ORDER BY m.turn_id, c.position, m.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([conversation_id], message_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Serialising our own plain types to JSON cannot fail; this keeps that in one place.
mod erased {
    pub trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| "null".into())
        }
    }
}
