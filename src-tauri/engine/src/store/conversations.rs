//! Conversations and their columns: create, list, search, rename, delete; columns added,
//! removed, paused, moved and their parameters; the running totals. Loading one with its turns
//! and answers is [`super::view`].

use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{decimal, StoreError};
use crate::target::Target;

/// Running totals of a conversation or a column. `unpriced_answers` counts answers whose model
/// had no known price: the cost total leaves them out and the UI says so. `revision` is the
/// conversation's totals revision they were read at: of two snapshots, the higher is the newer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Totals {
    #[ts(type = "number")]
    pub revision: i64,
    #[ts(as = "crate::brands::ts::Money")]
    pub cost: Decimal,
    #[ts(type = "number")]
    pub input_tokens: u64,
    #[ts(type = "number")]
    pub output_tokens: u64,
    #[ts(type = "number")]
    pub unpriced_answers: u64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ConversationSummary {
    #[ts(as = "crate::brands::ts::ConversationId")]
    pub id: i64,
    pub title: String,
    pub updated_at: String,
    pub totals: Totals,
}

/// A column's own settings, sent with each of its requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Passed into the request body as is (OpenRouter's `provider` routing options, say).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The title of a conversation until its first prompt names it.
pub const NEW_TITLE: &str = "New conversation";

/// The first line of a prompt, cut at a word boundary near 60 characters.
pub fn title_from_prompt(prompt: &str) -> String {
    let line = prompt.trim().lines().next().unwrap_or_default().trim();
    if line.chars().count() <= 60 {
        return line.to_string();
    }
    let cut: String = line.chars().take(60).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head).trim_end();
    format!("{cut}…")
}

pub(crate) fn totals(cost: String, input: i64, output: i64, unpriced: i64) -> Totals {
    Totals { revision: 0, cost: decimal(&cost), input_tokens: input as u64, output_tokens: output as u64, unpriced_answers: unpriced as u64 }
}

impl Totals {
    pub(crate) fn at(self, revision: i64) -> Totals {
        Totals { revision, ..self }
    }
}

/// A conversation's totals and its columns' (removed ones too), read together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllTotals {
    pub conversation: Totals,
    pub columns: Vec<(i64, Totals)>,
}

pub fn all_totals(conn: &Connection, id: i64) -> Result<AllTotals, StoreError> {
    let conversation = conn
        .query_row(
            "SELECT total_cost, input_tokens, output_tokens, unpriced_answers, totals_revision FROM conversations WHERE id = ?1",
            [id],
            |r| Ok(totals(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?).at(r.get(4)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Conversation {id}")))?;
    let mut stmt = conn.prepare("SELECT id, total_cost, input_tokens, output_tokens FROM columns WHERE conversation_id = ?1")?;
    let columns = stmt
        .query_map([id], |r| Ok((r.get(0)?, totals(r.get(1)?, r.get(2)?, r.get(3)?, 0).at(conversation.revision))))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AllTotals { conversation, columns })
}

/// Creates a conversation with one column per target, in order.
pub fn create(conn: &mut Connection, title: &str, targets: &[Target]) -> Result<i64, StoreError> {
    create_with_params(conn, title, targets, &ColumnParams::default())
}

/// Like [`create`], every column with the same parameters.
pub fn create_with_params(conn: &mut Connection, title: &str, targets: &[Target], params: &ColumnParams) -> Result<i64, StoreError> {
    let columns: Vec<_> = targets.iter().map(|t| (t.clone(), params.clone())).collect();
    create_with_columns(conn, title, &columns)
}

/// Creates a conversation with one column per target, each with its own parameters, in order.
pub fn create_with_columns(conn: &mut Connection, title: &str, columns: &[(Target, ColumnParams)]) -> Result<i64, StoreError> {
    create_owned(conn, title, columns, None)
}

/// Like [`create_with_params`], for a turn this process sends at once (`tally-cli ask`): the
/// conversation records this process, so that if it dies before recording the turn, the next
/// opening of the history removes the empty conversation ([`super::recovery::remove_abandoned`]).
pub fn create_for_turn(conn: &mut Connection, title: &str, targets: &[Target], params: &ColumnParams) -> Result<i64, StoreError> {
    let columns: Vec<_> = targets.iter().map(|t| (t.clone(), params.clone())).collect();
    create_owned(conn, title, &columns, Some(super::owner::this_process()))
}

fn create_owned(conn: &mut Connection, title: &str, columns: &[(Target, ColumnParams)], owner: Option<&str>) -> Result<i64, StoreError> {
    if columns.is_empty() {
        return Err(StoreError::Invalid("A conversation needs at least one column.".into()));
    }
    let tx = crate::store::write_tx(conn)?;
    tx.execute("INSERT INTO conversations (title, owner) VALUES (?1, ?2)", params![title.trim(), owner])?;
    let id = tx.last_insert_rowid();
    for (position, (t, params)) in columns.iter().enumerate() {
        let params_json = serde_json::to_string(params).unwrap_or_else(|_| "{}".into());
        tx.execute(
            "INSERT INTO columns (conversation_id, position, route, model, params_json) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, position as i64, t.route, t.model, params_json],
        )?;
    }
    tx.commit()?;
    Ok(id)
}

/// Removes a conversation that never got a turn (one created for a turn that could not start),
/// so a failed send leaves no empty conversation behind. `false` when it has turns (kept).
pub fn discard_if_unused(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    Ok(conn.execute("DELETE FROM conversations WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM turns WHERE conversation_id = ?1)", [id])? == 1)
}

/// All conversations, most recently active first; with a query, those whose title or any
/// prompt or answer contains it (case-insensitive for ASCII). A conversation nothing was sent in
/// yet is listed only while it is the newest: started and left, it does not pile up in the list.
pub fn list(conn: &Connection) -> Result<Vec<ConversationSummary>, StoreError> {
    search(conn, "")
}

pub fn search(conn: &Connection, query: &str) -> Result<Vec<ConversationSummary>, StoreError> {
    let pattern = format!("%{}%", query.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    let mut stmt = conn.prepare(
        "SELECT id, title, updated_at, total_cost, input_tokens, output_tokens, unpriced_answers, totals_revision
         FROM conversations c
         WHERE deleted = 0
           AND (EXISTS (SELECT 1 FROM turns t WHERE t.conversation_id = c.id) OR c.id = (SELECT max(id) FROM conversations WHERE deleted = 0))
           AND (?1 = '%%' OR title LIKE ?1 ESCAPE '\\' OR EXISTS (
             SELECT 1 FROM messages m JOIN columns col ON col.id = m.column_id
             WHERE col.conversation_id = c.id AND m.superseded = 0 AND m.content LIKE ?1 ESCAPE '\\'))
         ORDER BY updated_at DESC, id DESC",
    )?;
    let rows = stmt.query_map([pattern], |r| {
        Ok(ConversationSummary { id: r.get(0)?, title: r.get(1)?, updated_at: r.get(2)?, totals: totals(r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?).at(r.get(7)?) })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Hides a conversation (`deleted = true`) or brings it back. Its usage stays in history.
pub fn set_deleted(conn: &Connection, id: i64, deleted: bool) -> Result<(), StoreError> {
    if conn.execute("UPDATE conversations SET deleted = ?1 WHERE id = ?2", params![deleted, id])? == 0 {
        return Err(StoreError::NotFound(format!("Conversation {id}")));
    }
    Ok(())
}

pub fn rename(conn: &Connection, id: i64, title: &str) -> Result<(), StoreError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(StoreError::Invalid("A title cannot be empty.".into()));
    }
    let n = conn.execute("UPDATE conversations SET title = ?1 WHERE id = ?2", params![title, id])?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("Conversation {id}")));
    }
    Ok(())
}

/// At most this many columns side by side.
pub const MAX_COLUMNS: usize = 8;

/// Why a sensitive conversation refuses a target, or `None` when it may be used.
pub fn sensitive_refusal(target: &Target) -> Option<String> {
    (target.route == "openrouter").then(|| {
        format!("This conversation is marked sensitive, so it only uses direct routes; {target} goes via OpenRouter.")
    })
}

pub(crate) fn is_sensitive(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    conn.query_row("SELECT sensitive FROM conversations WHERE id = ?1", [id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Conversation {id}")))
}

pub fn set_sensitive(conn: &Connection, id: i64, sensitive: bool) -> Result<(), StoreError> {
    if conn.execute("UPDATE conversations SET sensitive = ?1 WHERE id = ?2", params![sensitive, id])? == 0 {
        return Err(StoreError::NotFound(format!("Conversation {id}")));
    }
    Ok(())
}

/// Adds a column at the end. A sensitive conversation refuses a route via OpenRouter.
pub fn add_column(conn: &mut Connection, id: i64, target: &Target) -> Result<i64, StoreError> {
    let tx = crate::store::write_tx(conn)?;
    if is_sensitive(&tx, id)? {
        if let Some(why) = sensitive_refusal(target) {
            return Err(StoreError::Refused(why));
        }
    }
    let (count, next): (i64, i64) = tx.query_row(
        "SELECT count(*), coalesce(max(position) + 1, 0) FROM columns WHERE conversation_id = ?1 AND removed = 0",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if count as usize >= MAX_COLUMNS {
        return Err(StoreError::Invalid(format!("A conversation has at most {MAX_COLUMNS} columns side by side.")));
    }
    tx.execute("INSERT INTO columns (conversation_id, position, route, model) VALUES (?1, ?2, ?3, ?4)", params![id, next, target.route, target.model])?;
    let column_id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(column_id)
}

/// Removes a column from view. Its answers and their cost stay in history and in the totals:
/// money spent is not un-spent.
pub fn remove_column(conn: &Connection, column_id: i64) -> Result<i64, StoreError> {
    let (conversation_id, visible): (i64, i64) = conn
        .query_row(
            "SELECT conversation_id, (SELECT count(*) FROM columns c2 WHERE c2.conversation_id = c.conversation_id AND c2.removed = 0)
             FROM columns c WHERE id = ?1 AND removed = 0",
            [column_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Column {column_id}")))?;
    if visible <= 1 {
        return Err(StoreError::Invalid("A conversation needs at least one column.".into()));
    }
    conn.execute("UPDATE columns SET removed = 1 WHERE id = ?1", [column_id])?;
    Ok(conversation_id)
}

/// The conversation a column shown belongs to; `None` when there is no such column.
pub fn of_column(conn: &Connection, column_id: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn.query_row("SELECT conversation_id FROM columns WHERE id = ?1 AND removed = 0", [column_id], |r| r.get(0)).optional()?)
}

/// Pauses or resumes a column. Returns its conversation.
pub fn set_paused(conn: &Connection, column_id: i64, paused: bool) -> Result<i64, StoreError> {
    conn.query_row("UPDATE columns SET paused = ?1 WHERE id = ?2 AND removed = 0 RETURNING conversation_id", params![paused, column_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Column {column_id}")))
}

/// Sets a column's system prompt, temperature and maximum output tokens (keeping any routing
/// options it has). Returns its conversation.
pub fn set_params(conn: &Connection, column_id: i64, system: Option<String>, temperature: Option<f64>, max_tokens: Option<u32>) -> Result<i64, StoreError> {
    if let Some(t) = temperature {
        if !(0.0..=2.0).contains(&t) {
            return Err(StoreError::Invalid("Temperature goes from 0 to 2.".into()));
        }
    }
    if max_tokens == Some(0) {
        return Err(StoreError::Invalid("Max tokens must be at least 1.".into()));
    }
    let (conversation_id, json): (i64, String) = conn
        .query_row("SELECT conversation_id, params_json FROM columns WHERE id = ?1 AND removed = 0", [column_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Column {column_id}")))?;
    let mut params: ColumnParams = serde_json::from_str(&json).unwrap_or_default();
    params.system = system.filter(|s| !s.trim().is_empty());
    params.temperature = temperature;
    params.max_tokens = max_tokens;
    let json = serde_json::to_string(&params).map_err(|e| StoreError::Invalid(e.to_string()))?;
    conn.execute("UPDATE columns SET params_json = ?1 WHERE id = ?2", params![json, column_id])?;
    Ok(conversation_id)
}

/// Moves a column one place left (`-1`) or right (`1`). Returns its conversation.
pub fn move_column(conn: &mut Connection, column_id: i64, step: i64) -> Result<i64, StoreError> {
    let tx = crate::store::write_tx(conn)?;
    let conversation_id: i64 = tx
        .query_row("SELECT conversation_id FROM columns WHERE id = ?1 AND removed = 0", [column_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Column {column_id}")))?;
    let mut ids: Vec<i64> = {
        let mut stmt = tx.prepare("SELECT id FROM columns WHERE conversation_id = ?1 AND removed = 0 ORDER BY position, id")?;
        let rows = stmt.query_map([conversation_id], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let from = ids.iter().position(|id| *id == column_id).unwrap_or(0);
    let to = (from as i64 + step).clamp(0, ids.len() as i64 - 1) as usize;
    ids.swap(from, to);
    for (position, id) in ids.iter().enumerate() {
        tx.execute("UPDATE columns SET position = ?1 WHERE id = ?2", params![position as i64, id])?;
    }
    tx.commit()?;
    Ok(conversation_id)
}

/// The columns of a conversation with what a request needs: target and parameters.
pub fn columns(conn: &Connection, conversation_id: i64) -> Result<Vec<(i64, Target, ColumnParams)>, StoreError> {
    columns_where(conn, conversation_id, "")
}

/// The columns that take part in the next turn: [`columns`] without the paused ones.
pub fn taking_part(conn: &Connection, conversation_id: i64) -> Result<Vec<(i64, Target, ColumnParams)>, StoreError> {
    columns_where(conn, conversation_id, "AND paused = 0")
}

fn columns_where(conn: &Connection, conversation_id: i64, filter: &str) -> Result<Vec<(i64, Target, ColumnParams)>, StoreError> {
    let sql = format!("SELECT id, route, model, params_json FROM columns WHERE conversation_id = ?1 AND removed = 0 {filter} ORDER BY position, id");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([conversation_id], |r| {
        let params: String = r.get(3)?;
        Ok((r.get::<_, i64>(0)?, Target { route: r.get(1)?, model: r.get(2)? }, serde_json::from_str(&params).unwrap_or_default()))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
