//! Daily roll-ups of usage, kept as usage is written so the dashboard never sums the big table.
//!
//! Two tables (migration 006): `usage_daily` per UTC day × route × provider × model, and
//! `usage_conversation_daily` per UTC day × conversation. Money is exact decimal text: SQLite's
//! `SUM()` over text goes through floating point, so sums are made here, in `Decimal`, by
//! read-add-write inside the writer's transaction ([`Deltas::apply`]). Readers add the (few
//! thousand) roll-up rows of a range in Rust. Must not: use SQL arithmetic on money.

use std::collections::HashMap;

use rusqlite::types::ToSql;
use rusqlite::{params, Connection, OptionalExtension, Row};
use rust_decimal::Decimal;

use super::usage_rows::{self, UsageRecord};
use super::{decimal, StoreError};

/// What a roll-up row holds: sums of money (exact) and counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Measures {
    pub cost: Decimal,
    pub effective_cost: Decimal,
    pub answers: i64,
    pub unpriced_answers: i64,
    pub estimated_answers: i64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub cache_write_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_tokens: i64,
}

/// The measure columns, in [`Measures::read`]'s order.
pub const MEASURES: &str = "cost, effective_cost, answers, unpriced_answers, estimated_answers, input_tokens, \
    cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens";

impl Measures {
    pub fn of(r: &UsageRecord) -> Measures {
        Measures {
            cost: r.cost.unwrap_or_default(),
            effective_cost: r.effective_cost.or(r.cost).unwrap_or_default(),
            answers: 1,
            unpriced_answers: i64::from(r.cost.is_none()),
            estimated_answers: i64::from(r.estimated),
            input_tokens: r.input_tokens as i64,
            cached_input_tokens: r.cached_input_tokens as i64,
            cache_write_tokens: r.cache_write_tokens as i64,
            output_tokens: r.output_tokens as i64,
            reasoning_tokens: r.reasoning_tokens as i64,
        }
    }

    /// `self += sign × other`.
    pub fn add(&mut self, o: &Measures, sign: i64) {
        let s = Decimal::from(sign);
        self.cost += s * o.cost;
        self.effective_cost += s * o.effective_cost;
        self.answers += sign * o.answers;
        self.unpriced_answers += sign * o.unpriced_answers;
        self.estimated_answers += sign * o.estimated_answers;
        self.input_tokens += sign * o.input_tokens;
        self.cached_input_tokens += sign * o.cached_input_tokens;
        self.cache_write_tokens += sign * o.cache_write_tokens;
        self.output_tokens += sign * o.output_tokens;
        self.reasoning_tokens += sign * o.reasoning_tokens;
    }

    /// Reads the [`MEASURES`] columns starting at column `at`.
    pub fn read(r: &Row<'_>, at: usize) -> rusqlite::Result<Measures> {
        Ok(Measures {
            cost: decimal(&r.get::<_, String>(at)?),
            effective_cost: decimal(&r.get::<_, String>(at + 1)?),
            answers: r.get(at + 2)?,
            unpriced_answers: r.get(at + 3)?,
            estimated_answers: r.get(at + 4)?,
            input_tokens: r.get(at + 5)?,
            cached_input_tokens: r.get(at + 6)?,
            cache_write_tokens: r.get(at + 7)?,
            output_tokens: r.get(at + 8)?,
            reasoning_tokens: r.get(at + 9)?,
        })
    }
}

type ModelKey = (String, String, String, String);
type ConversationKey = (String, i64, String);

/// Changes to the roll-ups gathered while rows are written, applied once per key at the end.
#[derive(Debug, Default)]
pub struct Deltas {
    models: HashMap<ModelKey, Measures>,
    conversations: HashMap<ConversationKey, Measures>,
}

impl Deltas {
    /// Counts `record` in (`sign` 1) or out (`sign` -1).
    pub fn add(&mut self, r: &UsageRecord, sign: i64) {
        let m = Measures::of(r);
        let day = r.day().to_string();
        let model_key = (day.clone(), r.route.clone(), r.provider.clone(), r.model.clone());
        self.models.entry(model_key).or_default().add(&m, sign);
        // A row whose conversation is not in this database is grouped by its imported title.
        let conversation_key = match r.conversation_id {
            Some(id) => (day, id, String::new()),
            None => (day, 0, r.conversation_title.clone().unwrap_or_default()),
        };
        self.conversations.entry(conversation_key).or_default().add(&m, sign);
    }

    /// Writes the changes into the roll-up tables, inside the caller's transaction.
    pub fn apply(self, tx: &Connection) -> Result<(), StoreError> {
        for ((day, route, provider, model), m) in self.models {
            bump(tx, "usage_daily", &["day", "route", "provider", "model"], params![day, route, provider, model], &m)?;
        }
        for ((day, id, title), m) in self.conversations {
            bump(tx, "usage_conversation_daily", &["day", "conversation_id", "conversation_title"], params![day, id, title], &m)?;
        }
        Ok(())
    }
}

/// Read-add-write of one roll-up row (exact decimal addition in Rust).
fn bump(tx: &Connection, table: &str, keys: &[&str], key: &[&dyn ToSql], delta: &Measures) -> Result<(), StoreError> {
    let filter: Vec<String> = keys.iter().enumerate().map(|(i, k)| format!("{k} = ?{}", i + 1)).collect();
    let select = format!("SELECT {MEASURES} FROM {table} WHERE {}", filter.join(" AND "));
    let mut total = tx.prepare_cached(&select)?.query_row(key, |r| Measures::read(r, 0)).optional()?.unwrap_or_default();
    total.add(delta, 1);
    let n = keys.len();
    let placeholders: Vec<String> = (1..=n + 10).map(|i| format!("?{i}")).collect();
    let insert = format!("INSERT OR REPLACE INTO {table} ({}, {MEASURES}) VALUES ({})", keys.join(", "), placeholders.join(", "));
    let mut values: Vec<&dyn ToSql> = key.to_vec();
    let (cost, effective) = (total.cost.normalize().to_string(), total.effective_cost.normalize().to_string());
    let m = &total;
    values.extend_from_slice(&[
        &cost as &dyn ToSql,
        &effective,
        &m.answers,
        &m.unpriced_answers,
        &m.estimated_answers,
        &m.input_tokens,
        &m.cached_input_tokens,
        &m.cache_write_tokens,
        &m.output_tokens,
        &m.reasoning_tokens,
    ]);
    tx.prepare_cached(&insert)?.execute(values.as_slice())?;
    Ok(())
}

/// Rebuilds both roll-ups from the usage rows, in one transaction.
pub fn rebuild(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM usage_daily", [])?;
    tx.execute("DELETE FROM usage_conversation_daily", [])?;
    let mut deltas = Deltas::default();
    usage_rows::for_each::<StoreError>(&tx, "", "\u{10FFFF}", |r| {
        deltas.add(&r, 1);
        Ok(())
    })?;
    deltas.apply(&tx)?;
    tx.execute("DELETE FROM usage_rollups_pending", [])?;
    tx.commit()?;
    Ok(())
}

/// Builds the roll-ups once after migration 006 copied the existing rows.
pub(crate) fn rebuild_if_pending(conn: &mut Connection) -> Result<(), StoreError> {
    let pending: i64 = conn.query_row("SELECT count(*) FROM usage_rollups_pending", [], |r| r.get(0))?;
    if pending > 0 {
        rebuild(conn)?;
    }
    Ok(())
}
