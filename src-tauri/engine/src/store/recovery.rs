//! Nothing unbilled: answers whose process is gone.
//!
//! Every streaming answer records the process writing it ([`super::owner::this_process`]: boot
//! id, pid and the process's start time, so a reused pid is not mistaken for the writer). When the app or any
//! `tally-cli` command opens the database it calls [`bill_interrupted`]: each answer still
//! `streaming` whose process no longer runs (killed, crashed, terminal closed) is finished as
//! stopped, keeping its text, and billed — with the provider's usage if it arrived before the
//! process died ([`super::messages::save_usage`]), else with an estimate marked ≈ (`estimated`):
//! the request's input as counted when it was sent, and the text that arrived. Its usage row,
//! the roll-ups and the running totals are written together, in one transaction that re-reads
//! the answer under the write lock, so two processes opening at once never bill it twice.
//! Answers of a process that still runs are left alone.

use rusqlite::Connection;

use super::messages::{self, Finished, Status};
use super::owner::is_alive;
use super::{conversations, StoreError};
use crate::pricing::Pricing;
use crate::providers::{ErrorKind, ProviderError};
use crate::stream::{Timing, Usage};
use crate::target::Target;

struct Orphan {
    message_id: i64,
    column_id: i64,
    conversation_id: i64,
    content: String,
    reasoning: String,
    input_estimate: Option<i64>,
    pending_usage: Option<String>,
    owner: Option<String>,
}

/// Bills every answer left streaming by a process that is gone (see the module docs). Returns
/// the ids of the answers billed.
pub fn bill_interrupted(conn: &mut Connection, pricing: &Pricing, origin: &'static str) -> Result<Vec<i64>, StoreError> {
    // A quick look without the write lock: most opens find nothing to do.
    let any: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM messages WHERE status = 'streaming')", [], |r| r.get(0))?;
    if !any {
        return Ok(Vec::new());
    }
    let tx = super::write_tx(conn)?;
    let orphans: Vec<Orphan> = {
        let mut stmt = tx.prepare(
            "SELECT m.id, m.column_id, c.conversation_id, m.content, m.reasoning, m.input_estimate, m.pending_usage, m.owner
             FROM messages m JOIN columns c ON c.id = m.column_id WHERE m.status = 'streaming' ORDER BY m.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Orphan {
                message_id: r.get(0)?,
                column_id: r.get(1)?,
                conversation_id: r.get(2)?,
                content: r.get(3)?,
                reasoning: r.get(4)?,
                input_estimate: r.get(5)?,
                pending_usage: r.get(6)?,
                owner: r.get(7)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?.into_iter().filter(|o| !is_alive(o.owner.as_deref())).collect()
    };
    let mut billed = Vec::with_capacity(orphans.len());
    for o in orphans {
        let target = conversations::columns(&tx, o.conversation_id)?
            .into_iter()
            .find(|(id, ..)| *id == o.column_id)
            .map(|(_, t, _)| t)
            .ok_or_else(|| StoreError::NotFound(format!("Column {}", o.column_id)))?;
        let (usage, served_model) = settle(&tx, &o, &target)?;
        // An impossible price leaves the answer unpriced (its usage is still recorded), as in a turn.
        let facts = crate::pricing::AnswerFacts::served(served_model.as_deref());
        let (price, cost) = pricing.charge(&target, &facts, &usage).unwrap_or((None, None));
        let pid = o.owner.as_deref().and_then(|w| w.split('/').nth(1)).unwrap_or("?");
        let how = if usage.estimated { "estimated (≈) from the request and the text that arrived" } else { "as the provider reported it" };
        let error = ProviderError::new(
            ErrorKind::Cancelled,
            format!("The process streaming this answer (pid {pid}) ended before it finished. The partial answer is kept, and its usage is recorded {how}."),
        );
        let finished = Finished {
            conversation_id: o.conversation_id,
            column_id: o.column_id,
            message_id: o.message_id,
            target,
            content: o.content,
            reasoning: o.reasoning,
            status: Status::Stopped,
            finish_reason: None,
            error: Some(error),
            usage,
            served_model,
            price,
            cost,
            timing: Timing::default(),
            origin,
        };
        messages::finish_in(&tx, &finished)?;
        billed.push(o.message_id);
    }
    tx.commit()?;
    Ok(billed)
}

/// Removes the conversations that a process created for a turn it sends at once (`tally-cli
/// ask`, [`conversations::create_for_turn`]) and left without any turn because it died first.
/// Those of a process still running, and every conversation with a turn, are kept. Returns how
/// many were removed.
pub fn remove_abandoned(conn: &mut Connection) -> Result<usize, StoreError> {
    const EMPTY_OWNED: &str = "SELECT id, owner FROM conversations c WHERE owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM turns t WHERE t.conversation_id = c.id)";
    let dead = |conn: &Connection| -> Result<Vec<i64>, StoreError> {
        let mut stmt = conn.prepare(EMPTY_OWNED)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?.into_iter().filter(|(_, owner)| !is_alive(Some(owner))).map(|(id, _)| id).collect())
    };
    // A look without the write lock first: most opens find nothing to do.
    if dead(conn)?.is_empty() {
        return Ok(0);
    }
    let tx = super::write_tx(conn)?;
    let mut removed = 0;
    for id in dead(&tx)? {
        removed += usize::from(conversations::discard_if_unused(&tx, id)?);
    }
    tx.commit()?;
    Ok(removed)
}

/// The provider's usage if it arrived, else the estimate: the input counted when the request
/// was sent (or, for answers from before that was stored, the thread's text at about four
/// characters a token) and the tokens of the text that arrived, never zero input.
fn settle(conn: &Connection, o: &Orphan, target: &Target) -> Result<(Usage, Option<String>), StoreError> {
    if let Some(pending) = o.pending_usage.as_deref().and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok()) {
        if let Ok(usage) = serde_json::from_value::<Usage>(pending["usage"].clone()) {
            let served = pending["served_model"].as_str().map(str::to_string);
            return Ok((usage, served));
        }
    }
    let input = match o.input_estimate {
        Some(n) if n > 0 => n as u64,
        _ => {
            let chars: usize = messages::thread(conn, o.column_id, o.message_id)?.iter().map(|m| m.content.len()).sum();
            (chars as u64).div_ceil(4).max(1)
        }
    };
    let model = target.to_string();
    let reasoning = if o.reasoning.is_empty() { 0 } else { crate::tokens::count_text(&model, &o.reasoning).tokens };
    let output = crate::tokens::count_text(&model, &o.content).tokens + reasoning;
    Ok((Usage { input_tokens: input, output_tokens: output, reasoning_tokens: reasoning, estimated: true, ..Usage::default() }, None))
}
