//! A conversation as the window shows it: its header and totals, its columns, and its turns
//! with each column's answer.

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use ts_rs::TS;

use super::conversations::{totals, ColumnParams, Totals};
use super::messages::{self, MessageView};
use super::StoreError;
use crate::target::Target;

#[derive(Debug, Clone, Serialize, TS)]
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

/// A whole conversation: header, columns, and every turn with each column's answer.
pub fn load(conn: &Connection, id: i64) -> Result<ConversationView, StoreError> {
    let head = conn
        .query_row(
            "SELECT title, created_at, total_cost, input_tokens, output_tokens, unpriced_answers, sensitive, totals_revision FROM conversations WHERE id = ?1",
            [id],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, totals(r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?).at(r.get(7)?), r.get::<_, bool>(6)?)),
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Conversation {id}")))?;

    let mut stmt = conn.prepare(
        "SELECT id, position, route, model, total_cost, input_tokens, output_tokens, paused, params_json
         FROM columns WHERE conversation_id = ?1 AND removed = 0 ORDER BY position, id",
    )?;
    let columns = stmt
        .query_map([id], |r| {
            let target = Target { route: r.get(2)?, model: r.get(3)? };
            let priced_totals = totals(r.get(4)?, r.get(5)?, r.get(6)?, 0).at(head.2.revision);
            let params: ColumnParams = serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default();
            Ok(ColumnView {
                paused: r.get(7)?,
                system: params.system,
                temperature: params.temperature,
                max_tokens: params.max_tokens,
                id: r.get(0)?,
                position: r.get(1)?,
                target: target.to_string(),
                provider_name: target.provider().name.to_string(),
                path_label: target.path_label(),
                route: target.route,
                model: target.model,
                totals: priced_totals,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

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
    let (title, created_at, totals, sensitive) = head;
    Ok(ConversationView { id, title, created_at, sensitive, totals, columns, turns })
}
