//! What the chat view shows under each answer about its bill: the reconciliation with
//! OpenRouter (when there is one) and a warning when the price it was charged at was over
//! [`STALE_AFTER_DAYS`](crate::pricing::age::STALE_AFTER_DAYS) old on the day of the answer.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use ts_rs::TS;

use super::records::{self, Reconciliation};
use crate::pricing::{age, Price};
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct AnswerCheck {
    #[ts(as = "crate::brands::ts::MessageId")]
    pub message_id: i64,
    pub reconciliation: Option<Reconciliation>,
    /// The date of the price the answer was charged at (`YYYY-MM-DD`), when it names one.
    pub price_as_of: Option<String>,
    /// Set when that price was over 60 days old on the day of the answer.
    pub price_warning: Option<String>,
}

fn check(message_id: i64, price_json: Option<String>, created_at: Option<String>, reconciliation: Option<Reconciliation>) -> AnswerCheck {
    let source = price_json.and_then(|j| serde_json::from_str::<Price>(&j).ok()).map(|p| p.source);
    let day = created_at.as_deref().and_then(age::day_of);
    AnswerCheck {
        message_id,
        reconciliation,
        price_as_of: source.as_deref().and_then(age::price_date).map(|d| d.to_string()),
        price_warning: source.as_deref().zip(day).and_then(|(s, d)| age::stale_warning(s, d)),
    }
}

/// The checks of every answer of a conversation that has something to show.
pub fn for_conversation(conn: &Connection, conversation_id: i64) -> Result<Vec<AnswerCheck>, StoreError> {
    let mut reconciled: HashMap<i64, Reconciliation> = records::for_conversation(conn, conversation_id)?.into_iter().map(|r| (r.message_id, r)).collect();
    let mut stmt = conn.prepare(
        "SELECT m.id, u.price_json, u.created_at FROM messages m JOIN columns c ON c.id = m.column_id
         LEFT JOIN usage u ON u.message_id = m.id
         WHERE c.conversation_id = ?1 AND m.role = 'assistant' ORDER BY m.id",
    )?;
    let rows = stmt.query_map([conversation_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Option<String>>(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, price_json, created_at) = row?;
        let c = check(id, price_json, created_at, reconciled.remove(&id));
        if c.reconciliation.is_some() || c.price_warning.is_some() || c.price_as_of.is_some() {
            out.push(c);
        }
    }
    Ok(out)
}

/// One answer's checks (after its reconciliation changed, say).
pub fn for_message(conn: &Connection, message_id: i64) -> Result<AnswerCheck, StoreError> {
    let (price_json, created_at): (Option<String>, Option<String>) = conn
        .query_row("SELECT price_json, created_at FROM usage WHERE message_id = ?1", [message_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((None, None));
    Ok(check(message_id, price_json, created_at, records::get(conn, message_id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_charged_at_an_old_price_is_warned_about() {
        let price = r#"{"input":"0.00000015","output":"0.0000006","cached_input":null,"cache_write":null,"reasoning":null,"request":null,"source":"OpenRouter models list, embedded snapshot (2026-08-19)"}"#;
        let c = check(7, Some(price.into()), Some("2026-11-20T10:00:00.000Z".into()), None);
        assert_eq!(c.price_as_of.as_deref(), Some("2026-08-19"));
        assert!(c.price_warning.unwrap().contains("93 days old")); // 12 (Aug) + 30 (Sep) + 31 (Oct) + 20 (Nov)
        let fresh = check(7, Some(price.into()), Some("2026-09-01T10:00:00.000Z".into()), None);
        assert_eq!(fresh.price_warning, None);
        let unpriced = check(7, None, Some("2026-11-20T10:00:00.000Z".into()), None);
        assert_eq!((unpriced.price_as_of, unpriced.price_warning), (None, None));
    }
}
