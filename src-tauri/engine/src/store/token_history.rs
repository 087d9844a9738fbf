//! What the token views need from history: how far the stored input estimates were from the
//! providers' real counts ([`estimate_accuracy`]), a conversation's measured profile
//! ([`profile`]), a column's recent answer length ([`recent_output_average`]) and a
//! conversation's answers with the texts that were sent ([`measured`], for re-pricing).

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use rust_decimal::Decimal;
use serde::Serialize;
use ts_rs::TS;

use super::conversations::ColumnParams;
use super::{decimal, StoreError};
use crate::pricing::Cost;
use crate::stream::Usage;
use crate::target::Target;
use crate::estimates::projection::Profile;
use crate::estimates::reprice::{Measured, MeasuredAnswer};

/// How far the input estimate was from the real count for one model and route, over the user's
/// history. A difference is (estimate − real) / real × 100, in percent, to two decimal places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct EstimateAccuracy {
    pub target: String,
    pub route: String,
    pub model: String,
    /// Whether Tally counts this model exactly (then differences should be near zero).
    pub exact: bool,
    #[ts(type = "number")]
    pub answers: u64,
    /// Positive when the estimate ran high on average.
    #[ts(type = "string")]
    pub mean_percent: Decimal,
    #[ts(type = "string")]
    pub mean_abs_percent: Decimal,
    /// The largest difference seen, with its sign.
    #[ts(type = "string")]
    pub worst_percent: Decimal,
}

/// Per model and route, answers whose input was estimated when sent and whose real usage came
/// from the provider (rows whose usage is itself estimated are skipped).
pub fn estimate_accuracy(conn: &Connection) -> Result<Vec<EstimateAccuracy>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT u.route, u.model, m.input_estimate, u.input_tokens FROM usage u JOIN messages m ON m.id = u.message_id
         WHERE m.input_estimate IS NOT NULL AND u.estimated = 0 AND u.input_tokens > 0",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?)))?;
    let mut by_target: BTreeMap<(String, String), Vec<Decimal>> = BTreeMap::new();
    for row in rows {
        let (route, model, estimate, real) = row?;
        let diff = Decimal::from(estimate - real) * Decimal::ONE_HUNDRED / Decimal::from(real);
        by_target.entry((route, model)).or_default().push(diff);
    }
    Ok(by_target
        .into_iter()
        .map(|((route, model), diffs)| {
            let n = Decimal::from(diffs.len() as u64);
            let pct = |d: Decimal| d.round_dp(2).normalize();
            let target = format!("{route}:{model}");
            EstimateAccuracy {
                exact: crate::tokens::tokenizer_for(&target).exact,
                answers: diffs.len() as u64,
                mean_percent: pct(diffs.iter().sum::<Decimal>() / n),
                mean_abs_percent: pct(diffs.iter().map(|d| d.abs()).sum::<Decimal>() / n),
                worst_percent: pct(diffs.iter().copied().max_by_key(|d| d.abs()).unwrap_or_default()),
                target,
                route,
                model,
            }
        })
        .collect())
}

/// Average tokens per request over a conversation's answers (one column's, if given) that the
/// provider accepted; `None` when there are none. Averages are rounded half up to whole tokens.
pub fn profile(conn: &Connection, conversation_id: i64, column_id: Option<i64>) -> Result<Option<Profile>, StoreError> {
    let (n, sums): (i64, [i64; 5]) = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(u.input_tokens), 0), COALESCE(SUM(u.cached_input_tokens), 0), COALESCE(SUM(u.cache_write_tokens), 0),
                COALESCE(SUM(u.output_tokens), 0), COALESCE(SUM(u.reasoning_tokens), 0)
         FROM usage u JOIN messages m ON m.id = u.message_id
         WHERE u.conversation_id = ?1 AND (?2 IS NULL OR m.column_id = ?2) AND u.input_tokens > 0",
        params![conversation_id, column_id],
        |r| Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?])),
    )?;
    if n == 0 {
        return Ok(None);
    }
    let avg = |sum: i64| ((sum + n / 2) / n) as u64;
    Ok(Some(Profile {
        requests: n as u64,
        avg_input_tokens: avg(sums[0]),
        avg_cached_input_tokens: avg(sums[1]),
        avg_cache_write_tokens: avg(sums[2]),
        avg_output_tokens: avg(sums[3]),
        avg_reasoning_tokens: avg(sums[4]),
    }))
}

/// A column's average output tokens over its last `last` answers that the provider completed
/// (rounded half up), for the compose box's output range; `None` without any.
pub fn recent_output_average(conn: &Connection, column_id: i64, last: u32) -> Result<Option<u64>, StoreError> {
    let (n, sum): (i64, i64) = conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(output_tokens), 0) FROM (
            SELECT u.output_tokens FROM usage u JOIN messages m ON m.id = u.message_id
            WHERE m.column_id = ?1 AND m.status = 'done' AND u.output_tokens > 0 ORDER BY m.id DESC LIMIT ?2)",
        params![column_id, last],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((n > 0).then(|| ((sum + n / 2) / n) as u64))
}

/// What the compose box estimates for each column that would take part in the next turn (not
/// paused): its target, system prompt, own thread, max tokens and recent answer length, with
/// `new_text` as the prompt. Pairs each with its column id.
pub fn compose_columns(conn: &Connection, conversation_id: i64, new_text: &str) -> Result<Vec<(i64, crate::estimates::compose::ComposeColumn)>, StoreError> {
    let mut out = Vec::new();
    for (column_id, target, params) in super::conversations::taking_part(conn, conversation_id)? {
        let thread = super::messages::thread(conn, column_id, i64::MAX)?;
        out.push((
            column_id,
            crate::estimates::compose::ComposeColumn {
                target: target.to_string(),
                system: params.system.clone(),
                thread: crate::tokens::ChatItem::request(None, &thread),
                new_text: new_text.to_string(),
                max_tokens: params.max_tokens.map(u64::from),
                recent_output_avg: recent_output_average(conn, column_id, 10)?,
            },
        ));
    }
    Ok(out)
}

/// Every answer of a conversation (one column's, if given) that the provider accepted, with its
/// request: the column's system prompt as it is now, the thread of earlier turns (regenerated
/// answers replaced, as when it was sent) and the prompt.
pub fn measured(conn: &Connection, conversation_id: i64, column_id: Option<i64>) -> Result<Measured, StoreError> {
    let mut out = Measured::default();
    {
        // Removed columns too: their answers were paid for.
        let mut stmt = conn.prepare("SELECT id, params_json FROM columns WHERE conversation_id = ?1 AND (?2 IS NULL OR id = ?2)")?;
        let rows = stmt.query_map(params![conversation_id, column_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, json) = row?;
            let params: ColumnParams = serde_json::from_str(&json).unwrap_or_default();
            out.systems.insert(id, params.system.filter(|s| !s.trim().is_empty()));
        }
    }
    let mut stmt = conn.prepare(
        "SELECT m.id, m.column_id, m.turn_id, m.role, m.content, m.superseded,
                u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, u.output_tokens, u.reasoning_tokens, u.estimated,
                u.reported_cost, u.cost_json, u.cost, u.route, u.model
         FROM messages m JOIN columns c ON c.id = m.column_id LEFT JOIN usage u ON u.message_id = m.id
         WHERE c.conversation_id = ?1 AND (?2 IS NULL OR m.column_id = ?2) ORDER BY m.column_id, m.turn_id, m.id",
    )?;
    type Row = (i64, i64, i64, String, String, bool, Option<(Usage, Option<Decimal>, Target)>);
    let rows: Vec<Row> = stmt
        .query_map(params![conversation_id, column_id], |r| {
            let usage = match super::messages::usage_of(r)? {
                None => None,
                Some(u) => {
                    let cost: Option<Cost> = r.get::<_, Option<String>>("cost_json")?.and_then(|j| serde_json::from_str(&j).ok());
                    let paid = cost.map(|c| c.effective_total).or(r.get::<_, Option<String>>("cost")?.map(|s| decimal(&s)));
                    Some((u, paid, Target { route: r.get("route")?, model: r.get("model")? }))
                }
            };
            Ok((r.get("id")?, r.get("column_id")?, r.get("turn_id")?, r.get("role")?, r.get("content")?, r.get("superseded")?, usage))
        })?
        .collect::<Result<_, _>>()?;
    // The thread of a turn: the column's messages of earlier turns that are still current.
    let mut thread: Vec<i64> = Vec::new();
    let (mut column, mut turn) = (None, None);
    let mut pending: Vec<i64> = Vec::new();
    for (id, col, turn_id, role, content, superseded, usage) in rows {
        if column != Some(col) {
            (column, turn) = (Some(col), None);
            thread.clear();
            pending.clear();
        }
        if turn != Some(turn_id) {
            thread.append(&mut pending);
            turn = Some(turn_id);
        }
        if role == "user" {
            thread.push(id);
        } else if !superseded && !content.is_empty() {
            pending.push(id);
        }
        out.texts.insert(id, (role, content));
        if let Some((usage, paid, target)) = usage.filter(|(u, ..)| u.input_tokens > 0) {
            out.answers.push(MeasuredAnswer { message_id: id, column_id: col, target, input: thread.clone(), usage, paid });
        }
    }
    Ok(out)
}
