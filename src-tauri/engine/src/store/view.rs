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
    /// The latest turns (all of them, unless the conversation is long: see [`load_latest`]).
    pub turns: Vec<TurnView>,
    /// How many turns come before `turns` and were not loaded (0: `turns` starts at the first).
    #[ts(type = "number")]
    pub earlier_turns: u64,
    /// Where the page before `turns` ends, to ask for it ([`load_turns`]); null when
    /// `earlier_turns` is 0.
    #[ts(as = "Option<crate::brands::ts::TurnId>")]
    pub earlier_cursor: Option<i64>,
}

/// A page of a conversation's turns, oldest first, with where the page before it ends.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct TurnPage {
    #[ts(as = "crate::brands::ts::ConversationId")]
    pub conversation_id: i64,
    pub turns: Vec<TurnView>,
    /// How many turns come before these.
    #[ts(type = "number")]
    pub earlier_turns: u64,
    /// To ask for the page before these; null when `earlier_turns` is 0.
    #[ts(as = "Option<crate::brands::ts::TurnId>")]
    pub earlier_cursor: Option<i64>,
}

/// The last `limit` turns of `conversation_id` before turn `before` (every turn when `before`
/// is `None`; all before it when `limit` is `None`), oldest first, each with its answers.
/// Reads only those turns' rows, so opening a long conversation costs one page, not its length.
pub fn load_turns(conn: &Connection, conversation_id: i64, before: Option<i64>, limit: Option<usize>) -> Result<TurnPage, StoreError> {
    let before = before.unwrap_or(i64::MAX);
    let limit = limit.map_or(-1, |n| n as i64);
    let mut stmt = conn.prepare_cached(
        "SELECT id, prompt, created_at FROM turns WHERE conversation_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
    )?;
    let mut turns = stmt
        .query_map(rusqlite::params![conversation_id, before, limit], |r| {
            Ok(TurnView { id: r.get("id")?, prompt: r.get("prompt")?, created_at: r.get("created_at")?, answers: Vec::new() })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    turns.reverse();
    let (Some(first), Some(last)) = (turns.first().map(|t| t.id), turns.last().map(|t| t.id)) else {
        return Ok(TurnPage { conversation_id, turns, earlier_turns: 0, earlier_cursor: None });
    };
    let at: std::collections::HashMap<i64, usize> = turns.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    for answer in messages::assistant_messages_of_turns(conn, conversation_id, first, last)? {
        if let Some(&i) = at.get(&answer.turn_id) {
            turns[i].answers.push(answer);
        }
    }
    let earlier: i64 = conn.query_row("SELECT count(*) FROM turns WHERE conversation_id = ?1 AND id < ?2", [conversation_id, first], |r| r.get(0))?;
    let earlier_turns = earlier.max(0) as u64;
    Ok(TurnPage { conversation_id, turns, earlier_turns, earlier_cursor: (earlier_turns > 0).then_some(first) })
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

/// A whole conversation: header, columns, and every turn with each column's answer (an
/// export, a test). The window opens one with [`load_latest`].
pub fn load(conn: &Connection, id: i64) -> Result<ConversationView, StoreError> {
    with_turns(conn, id, None)
}

/// A conversation with its latest `turns` turns only, and where the earlier ones start: what
/// the window needs to open it. Totals are the stored ones, whatever the page holds.
pub fn load_latest(conn: &Connection, id: i64, turns: usize) -> Result<ConversationView, StoreError> {
    with_turns(conn, id, Some(turns))
}

fn with_turns(conn: &Connection, id: i64, limit: Option<usize>) -> Result<ConversationView, StoreError> {
    let head = head(conn, id)?;
    let columns = columns(conn, id, head.totals.revision)?;
    let page = load_turns(conn, id, None, limit)?;
    let Head { title, created_at, sensitive, totals } = head;
    Ok(ConversationView { id, title, created_at, sensitive, totals, columns, turns: page.turns, earlier_turns: page.earlier_turns, earlier_cursor: page.earlier_cursor })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::Price;
    use crate::store::{conversations, Store};
    use crate::stream::{Timing, Usage};
    use rust_decimal::Decimal;

    /// A conversation on two columns; `turns` turns sent, each answer finished with a cost.
    fn conversation(c: &mut Connection, turns: usize) -> Result<i64, StoreError> {
        let id = conversations::create(c, "Paged", &[Target::parse("openai:gpt-4o-mini").unwrap(), Target::parse("openai:gpt-4o").unwrap()])?;
        for t in 0..turns {
            send(c, id, t)?;
        }
        Ok(id)
    }

    fn send(c: &mut Connection, id: i64, t: usize) -> Result<(), StoreError> {
        let price = Price { input: Decimal::new(15, 8), output: Decimal::new(6, 7), cached_input: None, cache_write: None, reasoning: None, request: None, tiers: Vec::new(), source: "test".into() };
        let turn = messages::start_turn(c, id, &format!("prompt {t}"))?;
        for col in &turn.columns {
            let usage = Usage { input_tokens: 10 + t as u64, output_tokens: 5, ..Usage::default() };
            messages::finish(c, &messages::Finished::done(id, col, format!("answer {t}"), usage, &price, Timing { total_ms: 100, ..Default::default() }))?;
        }
        Ok(())
    }

    fn prompts(turns: &[TurnView]) -> Vec<String> {
        turns.iter().map(|t| t.prompt.clone()).collect()
    }

    fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|t| format!("prompt {t}")).collect()
    }

    #[test]
    fn an_empty_conversation_has_no_page_and_no_cursor() {
        let (_dir, store) = Store::throwaway();
        store
            .blocking(|c| {
                let id = conversation(c, 0)?;
                let v = load_latest(c, id, 30)?;
                assert_eq!((v.turns.len(), v.earlier_turns, v.earlier_cursor), (0, 0, None));
                assert_eq!(v.columns.len(), 2);
                let p = load_turns(c, id, Some(1), Some(30))?;
                assert_eq!((p.turns.len(), p.earlier_turns, p.earlier_cursor), (0, 0, None));
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn exactly_a_page_opens_whole_and_one_more_leaves_one_earlier_turn() {
        let (_dir, store) = Store::throwaway();
        store
            .blocking(|c| {
                let id = conversation(c, 3)?;
                let v = load_latest(c, id, 3)?;
                assert_eq!(prompts(&v.turns), numbered(0..3));
                assert_eq!((v.earlier_turns, v.earlier_cursor), (0, None), "exactly a page: nothing before it");

                send(c, id, 3)?;
                let v = load_latest(c, id, 3)?;
                assert_eq!(prompts(&v.turns), numbered(1..4));
                assert_eq!((v.earlier_turns, v.earlier_cursor), (1, Some(v.turns[0].id)));
                let before = load_turns(c, id, v.earlier_cursor, Some(3))?;
                assert_eq!(prompts(&before.turns), numbered(0..1));
                assert_eq!((before.earlier_turns, before.earlier_cursor), (0, None));
                // Asking before the very first turn gives nothing.
                let none = load_turns(c, id, Some(before.turns[0].id), Some(3))?;
                assert!(none.turns.is_empty() && none.earlier_cursor.is_none());
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn pages_walk_back_over_every_turn_once_in_order_with_their_answers_and_exact_totals() {
        let (_dir, store) = Store::throwaway();
        store
            .blocking(|c| {
                // Two conversations written in turn, so their turn ids interleave.
                let id = conversation(c, 0)?;
                let other = conversation(c, 0)?;
                for t in 0..23 {
                    send(c, id, t)?;
                    send(c, other, 100 + t)?;
                }
                let whole = load(c, id)?;
                assert_eq!(prompts(&whole.turns), numbered(0..23));
                assert_eq!((whole.earlier_turns, whole.earlier_cursor), (0, None));

                let latest = load_latest(c, id, 10)?;
                assert_eq!(prompts(&latest.turns), numbered(13..23));
                assert_eq!(latest.earlier_turns, 13);
                // The totals are the stored ones: the whole conversation's, not the page's.
                assert_eq!(latest.totals, whole.totals);
                assert_eq!(latest.columns, whole.columns);
                let page_cost: Decimal = latest.turns.iter().flat_map(|t| &t.answers).filter_map(|a| a.usage.as_ref()?.cost.as_ref().map(|c| c.total)).sum();
                assert!(page_cost < whole.totals.cost, "{page_cost} < {}", whole.totals.cost);

                let mut seen = latest.turns.clone();
                let mut cursor = latest.earlier_cursor;
                let mut pages = 0;
                while let Some(before) = cursor {
                    let page = load_turns(c, id, Some(before), Some(10))?;
                    assert_eq!(page.conversation_id, id);
                    assert_eq!(page.earlier_turns as usize, 23 - seen.len() - page.turns.len());
                    cursor = page.earlier_cursor;
                    seen.splice(0..0, page.turns);
                    pages += 1;
                }
                assert_eq!(pages, 2, "13 earlier turns: a page of 10, then 3");
                assert_eq!(prompts(&seen), prompts(&whole.turns), "every turn once, in order, none of the other conversation");
                for (paged, all) in seen.iter().zip(&whole.turns) {
                    assert_eq!(paged.answers.iter().map(|a| (a.id, a.content.clone())).collect::<Vec<_>>(), all.answers.iter().map(|a| (a.id, a.content.clone())).collect::<Vec<_>>());
                    assert_eq!(paged.answers.len(), 2);
                }
                Ok(())
            })
            .unwrap();
    }
}
