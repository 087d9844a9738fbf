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

use super::usage_rows::{self, Origin, UsageRecord};
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
    pub fn of(r: &UsageRecord) -> Result<Measures, StoreError> {
        let count = |v: u64, what: &str| i64::try_from(v).map_err(|_| StoreError::Overflow(what.into()));
        Ok(Measures {
            cost: r.cost.unwrap_or_default(),
            effective_cost: r.effective_cost.or(r.cost).unwrap_or_default(),
            answers: 1,
            unpriced_answers: i64::from(r.cost.is_none()),
            estimated_answers: i64::from(r.estimated),
            input_tokens: count(r.input_tokens, "the input tokens")?,
            cached_input_tokens: count(r.cached_input_tokens, "the cached input tokens")?,
            cache_write_tokens: count(r.cache_write_tokens, "the cache write tokens")?,
            output_tokens: count(r.output_tokens, "the output tokens")?,
            reasoning_tokens: count(r.reasoning_tokens, "the reasoning tokens")?,
        })
    }

    /// `self += sign × other`, checked: a sum beyond what can be stored is an error, never a
    /// panic or a wrapped number.
    pub fn add(&mut self, o: &Measures, sign: i64) -> Result<(), StoreError> {
        let money = |a: Decimal, b: Decimal, what: &str| {
            Decimal::from(sign).checked_mul(b).and_then(|b| a.checked_add(b)).ok_or_else(|| StoreError::Overflow(what.into()))
        };
        let count = |a: i64, b: i64, what: &str| sign.checked_mul(b).and_then(|b| a.checked_add(b)).ok_or_else(|| StoreError::Overflow(what.into()));
        self.cost = money(self.cost, o.cost, "the cost")?;
        self.effective_cost = money(self.effective_cost, o.effective_cost, "the effective cost")?;
        self.answers = count(self.answers, o.answers, "the number of answers")?;
        self.unpriced_answers = count(self.unpriced_answers, o.unpriced_answers, "the number of unpriced answers")?;
        self.estimated_answers = count(self.estimated_answers, o.estimated_answers, "the number of estimated answers")?;
        self.input_tokens = count(self.input_tokens, o.input_tokens, "the input tokens")?;
        self.cached_input_tokens = count(self.cached_input_tokens, o.cached_input_tokens, "the cached input tokens")?;
        self.cache_write_tokens = count(self.cache_write_tokens, o.cache_write_tokens, "the cache write tokens")?;
        self.output_tokens = count(self.output_tokens, o.output_tokens, "the output tokens")?;
        self.reasoning_tokens = count(self.reasoning_tokens, o.reasoning_tokens, "the reasoning tokens")?;
        Ok(())
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
    pub fn add(&mut self, r: &UsageRecord, sign: i64) -> Result<(), StoreError> {
        let m = Measures::of(r)?;
        let day = r.day().to_string();
        let model_key = (day.clone(), r.route.clone(), r.provider.clone(), r.model.clone());
        self.models.entry(model_key).or_default().add(&m, sign)?;
        // A row whose conversation is not in this database is grouped by its imported title.
        let conversation_key = match r.conversation_id {
            Some(id) => (day, id, String::new()),
            None => (day, 0, r.conversation_title.clone().unwrap_or_default()),
        };
        self.conversations.entry(conversation_key).or_default().add(&m, sign)
    }

    /// Inserts a usage row inside the caller's transaction, unless its `uid` is already stored,
    /// and counts it in. Returns whether it was new.
    pub fn insert(&mut self, tx: &Connection, record: &UsageRecord, origin: Origin) -> Result<bool, StoreError> {
        let Some(stored) = usage_rows::insert(tx, record, origin)? else { return Ok(false) };
        self.add(&stored, 1)?;
        Ok(true)
    }

    /// Removes the usage row of an answer, if it has one, and counts it out (an answer written
    /// again replaces its earlier row instead of counting twice).
    pub fn forget_message(&mut self, tx: &Connection, message_id: i64) -> Result<(), StoreError> {
        if let Some(old) = usage_rows::forget_message(tx, message_id)? {
            self.add(&old, -1)?;
        }
        Ok(())
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
    total.add(delta, 1)?;
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
    let tx = crate::store::write_tx(conn)?;
    tx.execute("DELETE FROM usage_daily", [])?;
    tx.execute("DELETE FROM usage_conversation_daily", [])?;
    let mut deltas = Deltas::default();
    usage_rows::for_each::<StoreError>(&tx, "", "\u{10FFFF}", |r| {
        deltas.add(&r, 1)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_beyond_what_can_be_stored_are_an_error_in_words_not_a_panic() {
        let mut m = Measures { output_tokens: i64::MAX - 1, ..Default::default() };
        let err = m.add(&Measures { output_tokens: 5, ..Default::default() }, 1).unwrap_err();
        assert!(matches!(err, StoreError::Overflow(_)));
        assert_eq!(err.to_string(), "Adding up the output tokens went beyond what can be stored; the totals were left as they were.");
        let mut money = Measures { cost: Decimal::MAX, ..Default::default() };
        assert!(matches!(money.add(&Measures { cost: Decimal::ONE, ..Default::default() }, 1), Err(StoreError::Overflow(_))));
        // A count that does not fit SQLite's integers is refused before it is summed.
        let r = UsageRecord { output_tokens: u64::MAX, created_at: "2026-01-01T00:00:00.000Z".into(), ..Default::default() };
        assert!(matches!(Measures::of(&r), Err(StoreError::Overflow(_))));
        let mut deltas = Deltas::default();
        assert!(deltas.add(&r, 1).is_err());
        // Ordinary sums still add, and take away.
        let mut ok = Measures::default();
        ok.add(&Measures { cost: Decimal::new(15, 1), answers: 2, ..Default::default() }, 1).unwrap();
        ok.add(&Measures { cost: Decimal::new(5, 1), answers: 1, ..Default::default() }, -1).unwrap();
        assert_eq!((ok.cost, ok.answers), (Decimal::ONE, 1));
    }
}
