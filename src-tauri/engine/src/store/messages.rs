//! Messages and usage: starting a turn (each column gets the prompt on its own thread), saving a
//! partial answer while it streams, and finishing it with its usage, cost and the running totals
//! in one transaction.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;
use serde::Serialize;
use ts_rs::TS;

use super::conversations::{self, ColumnParams, Totals};
use super::rollups::Deltas;
use super::usage_rows::{self, Origin, UsageRecord};
use super::texts::Texts;
use super::{decimal, StoreError};
use crate::pricing::{Cost, Price};
use crate::providers::{ChatMessage, ProviderError, Role};
use crate::stream::{Timing, Usage};
use crate::target::Target;
use crate::tokens::counts::{Part, TokenCounts};

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
    /// A provider error kind, as stored with the answer.
    #[ts(as = "crate::providers::ErrorKind")]
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
    #[ts(as = "crate::brands::ts::MessageId")]
    pub id: i64,
    #[ts(as = "crate::brands::ts::ColumnId")]
    pub column_id: i64,
    #[ts(as = "crate::brands::ts::TurnId")]
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
    /// The id of each message of `history`, in the same order.
    pub history_ids: Vec<i64>,
    pub message_id: i64,
    /// The request's input tokens as Tally counted them, when counted before it was recorded.
    pub input_estimate: Option<u64>,
}

impl ColumnTurn {
    /// The request's messages for counting, each under its id (kept counts are reused).
    pub fn parts(&self) -> impl Iterator<Item = Part<'_>> {
        self.history_ids.iter().zip(&self.history).map(|(id, m)| Part::stored(*id, m))
    }
}

#[derive(Debug, Clone)]
pub struct TurnStart {
    pub turn_id: i64,
    pub columns: Vec<ColumnTurn>,
}

/// One column's part of a turn, read before anything is written.
#[derive(Debug, Clone)]
pub struct PlannedColumn {
    pub column_id: i64,
    pub target: Target,
    pub params: ColumnParams,
    /// The column's thread so far, each message with its id, oldest first.
    pub thread: Vec<(i64, ChatMessage)>,
    /// What this column sends: the turn's prompt (shared by the columns), or its own (a prompt variant).
    pub prompt: Arc<str>,
    /// The column's newest message when planned; a different one makes the plan stale.
    last_message: i64,
}

impl PlannedColumn {
    /// The request's messages for counting: the thread under its ids, then the new prompt.
    pub fn parts(&self) -> impl Iterator<Item = Part<'_>> {
        self.thread.iter().map(|(id, m)| Part::stored(*id, m)).chain(std::iter::once(Part::text("user", &self.prompt)))
    }
}

/// A turn as it will be recorded, read (and checked) before anything is written, so that the
/// requests can be counted with no transaction open.
#[derive(Debug, Clone)]
pub struct TurnPlan {
    pub conversation_id: i64,
    /// What the turn shows and is named after.
    pub prompt: String,
    pub columns: Vec<PlannedColumn>,
}

/// Records a turn: the prompt goes onto every column's thread, and an empty streaming answer is
/// created per column. Returns what each column must send.
pub fn start_turn(conn: &mut Connection, conversation_id: i64, prompt: &str) -> Result<TurnStart, StoreError> {
    start_turn_with(conn, conversation_id, prompt, &HashMap::new())
}

/// Like [`start_turn`], but the columns in `own` get their own prompt instead of `prompt` (prompt
/// variants compared side by side); `prompt` is what the turn shows and is named after. Counts
/// each request (with no transaction open) and stores the count with its answer.
pub fn start_turn_with(conn: &mut Connection, conversation_id: i64, prompt: &str, own: &HashMap<i64, String>) -> Result<TurnStart, StoreError> {
    let plan = plan_turn(conn, &Texts::default(), conversation_id, prompt, own)?;
    let counts = TokenCounts::default();
    let estimates: Vec<u64> = plan.columns.iter().map(|c| counts.request(&c.target.to_string(), c.params.system.as_deref(), c.parts()).0).collect();
    let recorded = record_planned(conn, &Texts::default(), &plan, Some(&estimates))?.ok_or_else(changed_while_sending)?;
    Ok(recorded.start(plan, Some(&estimates)))
}

/// A turn planned from a conversation that changed before it could be recorded.
pub fn changed_while_sending() -> StoreError {
    StoreError::Invalid("The comparison changed while this turn was being sent (another window or tally-cli wrote to it), so its requests were stopped at once. Send it again.".into())
}

/// Reads and checks what a turn will send on each column that takes part; writes nothing.
pub fn plan_turn(conn: &Connection, texts: &Texts, conversation_id: i64, prompt: &str, own: &HashMap<i64, String>) -> Result<TurnPlan, StoreError> {
    if prompt.trim().is_empty() || own.values().any(|p| p.trim().is_empty()) {
        return Err(StoreError::Invalid("The prompt is empty.".into()));
    }
    let cols = conversations::taking_part(conn, conversation_id)?;
    if cols.is_empty() {
        if conversations::columns(conn, conversation_id)?.is_empty() {
            return Err(StoreError::NotFound(format!("Conversation {conversation_id}")));
        }
        return Err(StoreError::Invalid("Every column is paused: resume one to send.".into()));
    }
    if conversations::is_sensitive(conn, conversation_id)? {
        if let Some(why) = cols.iter().find_map(|(_, t, _)| conversations::sensitive_refusal(t)) {
            return Err(StoreError::Refused(format!("{why} Nothing was sent. Remove that column, or unmark the conversation as sensitive.")));
        }
    }
    Ok(TurnPlan { conversation_id, prompt: prompt.to_string(), columns: plan_columns(conn, texts, cols, prompt, own)? })
}

/// What each column that takes part would send with `prompt` (or its own text in `own`), with
/// no checks: the compose box's estimate of a text not sent yet.
pub fn compose_plan(conn: &Connection, texts: &Texts, conversation_id: i64, prompt: &str, own: &HashMap<i64, String>) -> Result<Vec<PlannedColumn>, StoreError> {
    plan_columns(conn, texts, conversations::taking_part(conn, conversation_id)?, prompt, own)
}

fn plan_columns(conn: &Connection, texts: &Texts, cols: Vec<(i64, Target, ColumnParams)>, prompt: &str, own: &HashMap<i64, String>) -> Result<Vec<PlannedColumn>, StoreError> {
    let shared: Arc<str> = prompt.into();
    let mut columns = Vec::with_capacity(cols.len());
    for (column_id, target, params) in cols {
        let prompt = own.get(&column_id).map_or_else(|| Arc::clone(&shared), |p| p.as_str().into());
        let thread = thread_with_ids(conn, texts, column_id, i64::MAX)?;
        columns.push(PlannedColumn { last_message: last_message(conn, column_id)?, thread, column_id, target, params, prompt });
    }
    Ok(columns)
}

fn last_message(conn: &Connection, column_id: i64) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT COALESCE(MAX(id), 0) FROM messages WHERE column_id = ?1", [column_id], |r| r.get(0))?)
}

/// Whether a plan still describes the conversation: the same columns take part, none got a
/// message since, and the conversation is not sensitive now with a column it refuses.
fn still_current(conn: &Connection, plan: &TurnPlan) -> Result<bool, StoreError> {
    let now = conversations::taking_part(conn, plan.conversation_id)?;
    if now.len() != plan.columns.len() || now.iter().zip(&plan.columns).any(|((id, ..), p)| *id != p.column_id) {
        return Ok(false);
    }
    for p in &plan.columns {
        if last_message(conn, p.column_id)? != p.last_message {
            return Ok(false);
        }
    }
    Ok(!(conversations::is_sensitive(conn, plan.conversation_id)? && plan.columns.iter().any(|c| conversations::sensitive_refusal(&c.target).is_some())))
}

/// A turn as recorded: its id, and each column's prompt and (empty, streaming) answer ids, in
/// the plan's order.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub turn_id: i64,
    /// `(prompt message id, answer message id)` per planned column.
    pub ids: Vec<(i64, i64)>,
}

impl Recorded {
    /// What each column sends, as [`ColumnTurn`]s (the turn recorded before its requests left).
    pub fn start(&self, plan: TurnPlan, estimates: Option<&[u64]>) -> TurnStart {
        let columns = plan
            .columns
            .into_iter()
            .zip(&self.ids)
            .enumerate()
            .map(|(i, (col, &(prompt_id, message_id)))| {
                let PlannedColumn { column_id, target, params, thread, prompt, .. } = col;
                let (mut history_ids, mut history): (Vec<i64>, Vec<ChatMessage>) = thread.into_iter().unzip();
                history_ids.push(prompt_id);
                history.push(ChatMessage { role: Role::User, content: prompt });
                ColumnTurn { column_id, target, params, history, history_ids, message_id, input_estimate: estimates.and_then(|e| e.get(i).copied()) }
            })
            .collect();
        TurnStart { turn_id: self.turn_id, columns }
    }
}

/// Records a planned turn, with each column's counted input tokens when given (`estimates[i]`
/// for `plan.columns[i]`): the turn, each column's prompt and an empty streaming answer per
/// column. `None`, with nothing written, when the conversation changed since it was planned
/// (what was planned is then not what the columns' threads say).
/// The prompts' texts are kept in `texts` (the next turn's plan needs them).
pub fn record_planned(conn: &mut Connection, texts: &Texts, plan: &TurnPlan, estimates: Option<&[u64]>) -> Result<Option<Recorded>, StoreError> {
    let tx = super::write_tx(conn)?;
    if !still_current(&tx, plan)? {
        return Ok(None);
    }
    tx.execute("INSERT INTO turns (conversation_id, prompt) VALUES (?1, ?2)", params![plan.conversation_id, plan.prompt])?;
    let turn_id = tx.last_insert_rowid();
    let mut ids = Vec::with_capacity(plan.columns.len());
    let mut kept = Vec::with_capacity(plan.columns.len());
    for (i, col) in plan.columns.iter().enumerate() {
        let (prompt_id, created_at): (i64, String) = tx.query_row(
            "INSERT INTO messages (column_id, turn_id, role, content, status) VALUES (?1, ?2, 'user', ?3, 'done') RETURNING id, created_at",
            params![col.column_id, turn_id, &*col.prompt],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        kept.push((prompt_id, created_at, Arc::clone(&col.prompt)));
        let input_estimate = estimates.and_then(|e| e.get(i).copied());
        tx.execute(
            "INSERT INTO messages (column_id, turn_id, role, status, input_estimate, owner) VALUES (?1, ?2, 'assistant', 'streaming', ?3, ?4)",
            params![col.column_id, turn_id, input_estimate.map(|n| n as i64), super::owner::this_process()],
        )?;
        ids.push((prompt_id, tx.last_insert_rowid()));
    }
    tx.execute("UPDATE conversations SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1", [plan.conversation_id])?;
    // A new conversation is named after its first prompt, locally: no model call, no spending.
    tx.execute(
        "UPDATE conversations SET title = ?1 WHERE id = ?2 AND title = ?3",
        params![conversations::title_from_prompt(&plan.prompt), plan.conversation_id, conversations::NEW_TITLE],
    )?;
    tx.commit()?;
    for (id, created_at, text) in kept {
        texts.keep(id, &created_at, text);
    }
    Ok(Some(Recorded { turn_id, ids }))
}

/// Stores input estimates counted after their answers were recorded: `(message id, tokens)`.
pub fn set_input_estimates(conn: &Connection, estimates: &[(i64, u64)]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("UPDATE messages SET input_estimate = ?1 WHERE id = ?2")?;
    for (id, n) in estimates {
        stmt.execute(params![*n as i64, id])?;
    }
    Ok(())
}

/// A column's thread before message `before`: its user prompts and the non-empty answers it
/// got (regenerated ones replaced), oldest first.
pub(crate) fn thread(conn: &Connection, column_id: i64, before: i64) -> Result<Vec<ChatMessage>, StoreError> {
    Ok(thread_with_ids(conn, &Texts::default(), column_id, before)?.into_iter().map(|(_, m)| m).collect())
}

/// [`thread`] with each message's id. Which messages it holds is read from the index
/// `messages_thread` alone; their texts come from `texts` when kept there, else from the table
/// (and are kept, once they can no longer change: prompts, and answers that have ended).
pub(crate) fn thread_with_ids(conn: &Connection, texts: &Texts, column_id: i64, before: i64) -> Result<Vec<(i64, ChatMessage)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, role, status, created_at FROM messages INDEXED BY messages_thread
         WHERE column_id = ?1 AND superseded = 0 AND id < ?2 ORDER BY id",
    )?;
    let mut content = conn.prepare_cached("SELECT content FROM messages WHERE id = ?1")?;
    let mut thread = Vec::new();
    let mut rows = stmt.query([column_id, before])?;
    while let Some(r) = rows.next()? {
        let (id, role, status, created_at): (i64, String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        let text = match texts.get(id, &created_at) {
            Some(text) => text,
            None => {
                let text: Arc<str> = content.query_row([id], |r| r.get::<_, String>(0))?.into();
                if role == "user" || status != "streaming" {
                    texts.keep(id, &created_at, Arc::clone(&text));
                }
                text
            }
        };
        let role = if role == "user" { Role::User } else { Role::Assistant };
        if role == Role::User || !text.is_empty() {
            thread.push((id, ChatMessage { role, content: text }));
        }
    }
    Ok(thread)
}

/// One answer to run again, read (and checked) before anything is written.
#[derive(Debug, Clone)]
pub struct RegeneratePlan {
    pub conversation_id: i64,
    pub turn_id: i64,
    /// The answer it replaces.
    pub message_id: i64,
    pub column_id: i64,
    pub target: Target,
    pub params: ColumnParams,
    /// The thread as it stood when the answer was asked for, ending with its prompt.
    pub thread: Vec<(i64, ChatMessage)>,
}

impl RegeneratePlan {
    pub fn parts(&self) -> impl Iterator<Item = Part<'_>> {
        self.thread.iter().map(|(id, m)| Part::stored(*id, m))
    }
}

/// Starts a new answer in place of `message_id` (a failed, stopped or unwanted one) for the same
/// turn and column, with the thread as it stood then. The old answer is superseded, not deleted:
/// it stays in history with its usage. Returns the conversation and what the column must send.
pub fn regenerate(conn: &mut Connection, message_id: i64) -> Result<(i64, i64, ColumnTurn), StoreError> {
    let texts = Texts::default();
    let plan = plan_regenerate(conn, &texts, message_id)?;
    let estimate = TokenCounts::default().request(&plan.target.to_string(), plan.params.system.as_deref(), plan.parts()).0;
    start_regenerate(conn, &texts, plan, Some(estimate))
}

/// Reads and checks what running `message_id` again will send; writes nothing.
pub fn plan_regenerate(conn: &Connection, texts: &Texts, message_id: i64) -> Result<RegeneratePlan, StoreError> {
    let (column_id, turn_id, status, conversation_id): (i64, i64, String, i64) = conn
        .query_row(
            "SELECT m.column_id, m.turn_id, m.status, c.conversation_id FROM messages m JOIN columns c ON c.id = m.column_id
             WHERE m.id = ?1 AND m.role = 'assistant' AND m.superseded = 0 AND c.removed = 0",
            [message_id],
            |r| Ok((r.get("column_id")?, r.get("turn_id")?, r.get("status")?, r.get("conversation_id")?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Answer {message_id}")))?;
    if status == "streaming" {
        return Err(StoreError::Invalid("This answer is still streaming: stop it first.".into()));
    }
    let (_, target, params) = conversations::columns(conn, conversation_id)?
        .into_iter()
        .find(|(id, ..)| *id == column_id)
        .ok_or_else(|| StoreError::NotFound(format!("Column {column_id}")))?;
    if conversations::is_sensitive(conn, conversation_id)? {
        if let Some(why) = conversations::sensitive_refusal(&target) {
            return Err(StoreError::Refused(format!("{why} Nothing was sent.")));
        }
    }
    let thread = thread_with_ids(conn, texts, column_id, message_id)?;
    Ok(RegeneratePlan { conversation_id, turn_id, message_id, column_id, target, params, thread })
}

/// Records a planned regeneration (checked again inside the transaction), with its counted
/// input tokens when given.
pub fn start_regenerate(conn: &mut Connection, texts: &Texts, plan: RegeneratePlan, estimate: Option<u64>) -> Result<(i64, i64, ColumnTurn), StoreError> {
    let tx = super::write_tx(conn)?;
    let again = plan_regenerate(&tx, texts, plan.message_id)?;
    let estimate = if again.thread.len() == plan.thread.len() && again.thread.iter().zip(&plan.thread).all(|(a, b)| a.0 == b.0) { estimate } else { None };
    let RegeneratePlan { conversation_id, turn_id, message_id, column_id, target, params, thread } = again;
    tx.execute("UPDATE messages SET superseded = 1 WHERE id = ?1", [message_id])?;
    tx.execute(
        "INSERT INTO messages (column_id, turn_id, role, status, input_estimate, owner) VALUES (?1, ?2, 'assistant', 'streaming', ?3, ?4)",
        params![column_id, turn_id, estimate.map(|n| n as i64), super::owner::this_process()],
    )?;
    let new_id = tx.last_insert_rowid();
    tx.commit()?;
    let (history_ids, history) = thread.into_iter().unzip();
    Ok((conversation_id, turn_id, ColumnTurn { column_id, target, params, history, history_ids, message_id: new_id, input_estimate: estimate }))
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

impl Finished {
    /// An answer of `column` that ended well (`stop`) with `content`, priced at `price` with no
    /// route fee, as the turn runner saves one: what tests, benchmarks and seeded end-to-end runs
    /// write.
    pub fn done(conversation_id: i64, column: &ColumnTurn, content: String, usage: Usage, price: &Price, timing: Timing) -> Finished {
        Finished {
            conversation_id,
            column_id: column.column_id,
            message_id: column.message_id,
            target: column.target.clone(),
            content,
            reasoning: String::new(),
            status: Status::Done,
            finish_reason: Some("stop".into()),
            error: None,
            cost: crate::pricing::cost(&usage, price, rust_decimal::Decimal::ZERO).ok(),
            price: Some(price.clone()),
            usage,
            served_model: None,
            timing,
            origin: "app",
        }
    }
}

/// Writes the final answer, its usage row (with the price used), the day's usage roll-ups and
/// the running totals of its column and conversation, all in one transaction. Returns the stored answer and the totals.
pub fn finish(conn: &mut Connection, f: &Finished) -> Result<(MessageView, Totals, Totals), StoreError> {
    let tx = super::write_tx(conn)?;
    let out = finish_in(&tx, f)?;
    tx.commit()?;
    Ok(out)
}

/// Keeps an ended answer's text in `texts`, for the next turn's plan.
pub fn keep_text(conn: &Connection, texts: &Texts, column_id: i64, message_id: i64, text: &str) -> Result<(), StoreError> {
    let created_at: String = conn.query_row(
        "SELECT created_at FROM messages INDEXED BY messages_thread WHERE column_id = ?1 AND id = ?2",
        params![column_id, message_id],
        |r| r.get(0),
    )?;
    texts.keep(message_id, &created_at, text.into());
    Ok(())
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
    deltas.forget_message(tx, f.message_id)?;
    deltas.insert(tx, &record, Origin::Local)?;
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
        tx.query_row("SELECT total_cost, input_tokens, output_tokens FROM columns WHERE id = ?1", [f.column_id], |r| Ok((r.get("total_cost")?, r.get("input_tokens")?, r.get("output_tokens")?)))?;
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
        |r| Ok((r.get("total_cost")?, r.get("input_tokens")?, r.get("output_tokens")?, r.get("unpriced_answers")?, r.get("totals_revision")?)),
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

const MESSAGE_SELECT: &str = "SELECT m.id AS id, m.column_id AS column_id, m.turn_id AS turn_id, m.content AS content, m.reasoning AS reasoning,
        m.status AS status, m.finish_reason AS finish_reason,
        m.error_kind AS error_kind, m.error_message AS error_message, m.error_detail AS error_detail,
        u.input_tokens AS input_tokens, u.cached_input_tokens AS cached_input_tokens, u.cache_write_tokens AS cache_write_tokens,
        u.output_tokens AS output_tokens, u.reasoning_tokens AS reasoning_tokens, u.estimated AS estimated,
        u.reported_cost AS reported_cost, u.served_model AS served_model, u.price_json AS price_json, u.cost_json AS cost_json,
        u.ttfb_ms AS ttfb_ms, u.ttft_ms AS ttft_ms, u.total_ms AS total_ms, u.attempts AS attempts, u.waited_ms AS waited_ms,
        (SELECT p.content FROM messages p JOIN turns t ON t.id = p.turn_id
          WHERE p.turn_id = m.turn_id AND p.column_id = m.column_id AND p.role = 'user' AND p.content != t.prompt LIMIT 1) AS own_prompt
    FROM messages m LEFT JOIN usage u ON u.message_id = m.id";

/// A usage row's token counts, read by column name: `input_tokens`, `cached_input_tokens`,
/// `cache_write_tokens`, `output_tokens`, `reasoning_tokens`, `estimated`, `reported_cost`.
/// `None` when the row has no usage (a left join found none).
pub(crate) fn usage_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Usage>> {
    let Some(input) = r.get::<_, Option<i64>>("input_tokens")? else { return Ok(None) };
    Ok(Some(Usage {
        input_tokens: input as u64,
        cached_input_tokens: r.get::<_, i64>("cached_input_tokens")? as u64,
        cache_write_tokens: r.get::<_, i64>("cache_write_tokens")? as u64,
        output_tokens: r.get::<_, i64>("output_tokens")? as u64,
        reasoning_tokens: r.get::<_, i64>("reasoning_tokens")? as u64,
        estimated: r.get("estimated")?,
        reported_cost: r.get::<_, Option<String>>("reported_cost")?.map(|s| decimal(&s)),
    }))
}

fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageView> {
    let error = match r.get::<_, Option<String>>("error_kind")? {
        Some(kind) => Some(ErrorView { kind, message: r.get::<_, Option<String>>("error_message")?.unwrap_or_default(), detail: r.get("error_detail")? }),
        None => None,
    };
    let usage = match usage_of(r)? {
        None => None,
        Some(tokens) => {
            let timing = Timing {
                ttfb_ms: r.get::<_, Option<i64>>("ttfb_ms")?.map(|v| v as u64),
                ttft_ms: r.get::<_, Option<i64>>("ttft_ms")?.map(|v| v as u64),
                total_ms: r.get::<_, i64>("total_ms")? as u64,
                attempts: u32::try_from(r.get::<_, i64>("attempts")?.max(1)).unwrap_or(u32::MAX),
                waited_ms: r.get::<_, i64>("waited_ms")?.max(0) as u64,
            };
            let price: Option<Price> = r.get::<_, Option<String>>("price_json")?.and_then(|j| serde_json::from_str(&j).ok());
            let cost = r.get::<_, Option<String>>("cost_json")?.and_then(|j| serde_json::from_str::<Cost>(&j).ok()).map(|c| c.with_stored_lines(&tokens, price.as_ref()));
            Some(UsageView {
                output_tokens_per_s: timing.output_tokens_per_s(tokens.output_tokens),
                served_model: r.get("served_model")?,
                price,
                cost,
                tokens,
                timing,
            })
        }
    };
    Ok(MessageView {
        id: r.get("id")?,
        column_id: r.get("column_id")?,
        turn_id: r.get("turn_id")?,
        content: r.get("content")?,
        reasoning: r.get("reasoning")?,
        status: Status::parse(&r.get::<_, String>("status")?),
        finish_reason: r.get("finish_reason")?,
        error,
        usage,
        own_prompt: r.get("own_prompt")?,
    })
}

pub fn message(conn: &Connection, id: i64) -> Result<MessageView, StoreError> {
    conn.query_row(&format!("{MESSAGE_SELECT} WHERE m.id = ?1"), [id], message_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Message {id}")))
}

/// The answers shown for the turns of `conversation_id` from turn `first` to turn `last`
/// (ids, both included): by turn, then column position.
pub(crate) fn assistant_messages_of_turns(conn: &Connection, conversation_id: i64, first: i64, last: i64) -> Result<Vec<MessageView>, StoreError> {
    let sql = format!(
        "{MESSAGE_SELECT} JOIN columns c ON c.id = m.column_id
         WHERE m.turn_id IN (SELECT id FROM turns WHERE conversation_id = ?1 AND id BETWEEN ?2 AND ?3)
           AND m.role = 'assistant' AND m.superseded = 0 ORDER BY m.turn_id, c.position, m.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params![conversation_id, first, last], message_row)?;
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
