//! Nothing unbilled: answers whose process is gone.
//!
//! Every streaming answer records the process writing it ([`this_process`]: boot id, pid and the
//! process's start time, so a reused pid is not mistaken for the writer). When the app or any
//! `tally-cli` command opens the database it calls [`bill_interrupted`]: each answer still
//! `streaming` whose process no longer runs (killed, crashed, terminal closed) is finished as
//! stopped, keeping its text, and billed — with the provider's usage if it arrived before the
//! process died ([`super::messages::save_usage`]), else with an estimate marked ≈ (`estimated`):
//! the request's input as counted when it was sent, and the text that arrived. Its usage row,
//! the roll-ups and the running totals are written together, in one transaction that re-reads
//! the answer under the write lock, so two processes opening at once never bill it twice.
//! Answers of a process that still runs are left alone.

use std::sync::OnceLock;

use rusqlite::Connection;

use super::messages::{self, Finished, Status};
use super::{conversations, StoreError};
use crate::pricing::Pricing;
use crate::providers::{ErrorKind, ProviderError};
use crate::stream::{Timing, Usage};
use crate::target::Target;

/// This process, as recorded with the answers it streams: `boot id/pid/start time`.
pub fn this_process() -> &'static str {
    static ME: OnceLock<String> = OnceLock::new();
    ME.get_or_init(|| identity(std::process::id()).unwrap_or_else(|| format!("?/{}/?", std::process::id())))
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|s| s.trim().to_string())
}

/// `(state, start time in clock ticks since boot)` of a running process, from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(char, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some((fields.first()?.chars().next()?, fields.get(19)?.to_string()))
}

fn identity(pid: u32) -> Option<String> {
    Some(format!("{}/{pid}/{}", boot_id()?, stat(pid)?.1))
}

/// Whether the process that recorded `owner` still runs. An owner this platform cannot check
/// is presumed alive (its answers are left for a process that can tell); no owner (an answer
/// from before owners were recorded) is presumed gone.
pub fn is_alive(owner: Option<&str>) -> bool {
    let Some(owner) = owner else { return false };
    let mut parts = owner.splitn(3, '/');
    let (Some(boot), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next()) else { return false };
    let Ok(pid) = pid.parse::<u32>() else { return false };
    if boot == "?" || start == "?" {
        return true;
    }
    match (boot_id(), stat(pid)) {
        (None, _) => true,
        (Some(now), _) if now != boot => false,
        // A zombie (killed, not yet reaped) writes nothing more.
        (Some(_), Some((state, started))) => started == start && state != 'Z' && state != 'X',
        (Some(_), None) => false,
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reused_pid_or_other_boot_is_not() {
        let me = this_process();
        assert!(is_alive(Some(me)), "{me}");
        let parts: Vec<&str> = me.split('/').collect();
        assert!(!is_alive(Some(&format!("{}/{}/1", parts[0], parts[1]))), "another start time is another process");
        assert!(!is_alive(Some(&format!("00000000-0000-0000-0000-000000000000/{}/{}", parts[1], parts[2]))), "another boot");
        assert!(!is_alive(None));
        assert!(!is_alive(Some("garbage")));
    }
}
