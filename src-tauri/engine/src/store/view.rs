//! A conversation as the window shows it: its header and totals, its columns, and its turns
//! with each column's answer.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use ts_rs::TS;

use super::conversations::{totals, ColumnParams, Totals};
use super::messages::{self, MessageView};
use super::StoreError;
use crate::target::Target;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ColumnView {
    #[ts(as = "crate::brands::ts::ColumnId")]
    pub id: i64,
    #[ts(type = "number")]
    pub position: i64,
    /// `route:model`
    pub target: String,
    pub route: String,
    pub model: String,
    pub provider_name: String,
    /// "direct to OpenAI" or "via OpenRouter → OpenAI"
    pub path_label: String,
    pub totals: Totals,
    /// Sits out new turns while true.
    pub paused: bool,
    pub system: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct TurnView {
    #[ts(as = "crate::brands::ts::TurnId")]
    pub id: i64,
    pub prompt: String,
    pub created_at: String,
    /// One answer per column that took part, in column order.
    pub answers: Vec<MessageView>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct ConversationView {
    #[ts(as = "crate::brands::ts::ConversationId")]
    pub id: i64,
    pub title: String,
    pub created_at: String,
    /// Direct routes only: no column via OpenRouter may be added or sent to.
    pub sensitive: bool,
    pub totals: Totals,
    pub columns: Vec<ColumnView>,
    pub turns: Vec<TurnView>,
}

/// A conversation's header: title, when it began, whether it is sensitive, its running totals.
#[derive(Debug, Clone, PartialEq)]
struct Head {
    title: String,
    created_at: String,
    sensitive: bool,
    totals: Totals,
}

fn head(conn: &Connection, id: i64) -> Result<Head, StoreError> {
    conn.query_row(
        "SELECT title, created_at, total_cost, input_tokens, output_tokens, unpriced_answers, sensitive, totals_revision FROM conversations WHERE id = ?1",
        [id],
        |r| {
            Ok(Head {
                title: r.get("title")?,
                created_at: r.get("created_at")?,
                sensitive: r.get("sensitive")?,
                totals: totals(r.get("total_cost")?, r.get("input_tokens")?, r.get("output_tokens")?, r.get("unpriced_answers")?).at(r.get("totals_revision")?),
            })
        },
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound(format!("Conversation {id}")))
}

/// The columns shown, in order; their totals read at the conversation's totals `revision`.
fn columns(conn: &Connection, id: i64, revision: i64) -> Result<Vec<ColumnView>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, position, route, model, total_cost, input_tokens, output_tokens, paused, params_json
         FROM columns WHERE conversation_id = ?1 AND removed = 0 ORDER BY position, id",
    )?;
    let columns = stmt
        .query_map([id], |r| {
            let target = Target { route: r.get("route")?, model: r.get("model")? };
            let params: ColumnParams = serde_json::from_str(&r.get::<_, String>("params_json")?).unwrap_or_default();
            Ok(ColumnView {
                paused: r.get("paused")?,
                system: params.system,
                temperature: params.temperature,
                max_tokens: params.max_tokens,
                id: r.get("id")?,
                position: r.get("position")?,
                target: target.to_string(),
                provider_name: target.provider().name.to_string(),
                path_label: target.path_label(),
                route: target.route,
                model: target.model,
                totals: totals(r.get("total_cost")?, r.get("input_tokens")?, r.get("output_tokens")?, 0).at(revision),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(columns)
}

/// A whole conversation: header, columns, and every turn with each column's answer.
pub fn load(conn: &Connection, id: i64) -> Result<ConversationView, StoreError> {
    let head = head(conn, id)?;
    let columns = columns(conn, id, head.totals.revision)?;
    let mut stmt = conn.prepare("SELECT id, prompt, created_at FROM turns WHERE conversation_id = ?1 ORDER BY id")?;
    let mut turns = stmt
        .query_map([id], |r| Ok(TurnView { id: r.get(0)?, prompt: r.get(1)?, created_at: r.get(2)?, answers: Vec::new() }))?
        .collect::<Result<Vec<_>, _>>()?;
    let answers = messages::assistant_messages_of_conversation(conn, id)?;
    for answer in answers {
        if let Some(turn) = turns.iter_mut().find(|t| t.id == answer.turn_id) {
            turn.answers.push(answer);
        }
    }
    let Head { title, created_at, sensitive, totals } = head;
    Ok(ConversationView { id, title, created_at, sensitive, totals, columns, turns })
}

/// What an edit changed in a conversation (its title, its sensitivity, its columns), for the
/// window to apply to the conversation it shows; the turns and answers never change in an edit,
/// so they are not sent again.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ConversationEdit {
    #[ts(as = "crate::brands::ts::ConversationId")]
    pub conversation_id: i64,
    /// The new title, when it changed.
    pub title: Option<String>,
    /// Whether the conversation is sensitive now, when that changed.
    pub sensitive: Option<bool>,
    /// The conversation's totals, when they changed meanwhile.
    pub totals: Option<Totals>,
    /// Columns added or changed, whole.
    pub columns: Vec<ColumnView>,
    /// Columns no longer shown.
    #[ts(as = "Vec<crate::brands::ts::ColumnId>")]
    pub removed_columns: Vec<i64>,
    /// Every column's id in the order shown, when the order changed (a column added, removed or
    /// moved).
    #[ts(as = "Option<Vec<crate::brands::ts::ColumnId>>")]
    pub order: Option<Vec<i64>>,
}

/// A conversation's header and columns: what an edit can change.
pub struct Shape {
    id: i64,
    head: Head,
    columns: Vec<ColumnView>,
}

impl Shape {
    pub fn read(conn: &Connection, id: i64) -> Result<Shape, StoreError> {
        let head = head(conn, id)?;
        let columns = columns(conn, id, head.totals.revision)?;
        Ok(Shape { id, head, columns })
    }

    /// What changed from `self` to `after` (the same conversation, read again after an edit).
    pub fn changes(self, after: Shape) -> ConversationEdit {
        let ids = |s: &Shape| s.columns.iter().map(|c| c.id).collect::<Vec<_>>();
        let (before_ids, after_ids) = (ids(&self), ids(&after));
        let changed = |a: &ColumnView, b: &ColumnView| {
            // A column's totals are read at the conversation's revision: a new revision alone is not a change.
            let mut b = b.clone();
            b.totals.revision = a.totals.revision;
            *a != b
        };
        ConversationEdit {
            conversation_id: after.id,
            title: (after.head.title != self.head.title).then(|| after.head.title.clone()),
            sensitive: (after.head.sensitive != self.head.sensitive).then_some(after.head.sensitive),
            totals: (after.head.totals != self.head.totals).then(|| after.head.totals.clone()),
            removed_columns: before_ids.iter().copied().filter(|id| !after_ids.contains(id)).collect(),
            order: (before_ids != after_ids).then(|| after_ids.clone()),
            columns: after
                .columns
                .into_iter()
                .filter(|c| match self.columns.iter().find(|b| b.id == c.id) {
                    Some(before) => changed(before, c),
                    None => true,
                })
                .collect(),
        }
    }
}
