//! Usage as CSV: every stored field of every usage row (the price and the itemised cost as
//! JSON, the row's unique `uid`, the conversation's title), one row at a time in both
//! directions, never the whole history in memory.
//!
//! Import adds rows whose `uid` is not stored yet and skips the others, so importing a file twice
//! (or a database's own export) adds nothing. Imported rows keep their conversation's title but
//! not its id or message (those live in the other database). Every row is read and checked
//! first ([`check`]: well-formed, and possible — no negative money, no count above 10^9, no more
//! cached tokens than input, …), into a staging table of the importing connection that locks
//! nothing: a file with one bad row imports nothing and says which line and why. Only then are
//! the rows written, in short IMMEDIATE transactions of [`CHUNK`] rows, so an import on a
//! connection of its own ([`crate::store::Store::job`]) never holds a running turn's saves for
//! long. An import cut short (a crash) can be run again: rows already stored are skipped.
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return.
//! Export writes such a cell (and one starting with `'`) with a leading `'`, which a spreadsheet
//! shows as text; import takes that `'` off again ([`neutralise`], [`restore`]). A `-` followed
//! by a digit is a number and is written as it is.

use std::io::{Read, Write};

use rusqlite::{params, Connection};
use serde::Serialize;
use ts_rs::TS;

use super::DayRange;
use crate::store::rollups::Deltas;
use crate::store::usage_rows::{self, Origin, UsageRecord};
use crate::store::{write_tx, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("Line {line} of the CSV file could not be imported: {message}")]
    Row { line: u64, message: String },
    #[error("The CSV file could not be read or written: {0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ImportSummary {
    #[ts(type = "number")]
    pub read: u64,
    #[ts(type = "number")]
    pub added: u64,
    /// Rows already in this database (same `uid`), left as they were.
    #[ts(type = "number")]
    pub duplicates: u64,
}

/// Writes the usage rows of `range` (UTC days) as CSV with a header line, oldest first.
/// Returns how many rows were written.
pub fn export(conn: &Connection, range: &DayRange, out: impl Write) -> Result<u64, CsvError> {
    let (since, until) = range.bounds()?;
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(header()).map_err(|e| CsvError::Io(e.to_string()))?;
    let mut n = 0u64;
    usage_rows::for_each(conn, &since, &until, |record| {
        writer.write_record(cells(&record).iter().map(|c| neutralise(c).into_owned())).map_err(|e| CsvError::Io(e.to_string()))?;
        n += 1;
        Ok::<(), CsvError>(())
    })?;
    writer.flush().map_err(|e| CsvError::Io(e.to_string()))?;
    Ok(n)
}

/// A record's cells in [`header`]'s order, as serde writes them (empty for `None`).
fn cells(r: &UsageRecord) -> Vec<String> {
    let value = serde_json::to_value(r).unwrap_or_default();
    header()
        .into_iter()
        .map(|name| match &value[name] {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// Whether a spreadsheet would run a cell starting this way (or it starts with our own `'`).
fn needs_quote(cell: &str) -> bool {
    let mut chars = cell.chars();
    match chars.next() {
        Some('=' | '+' | '@' | '\t' | '\r' | '\'') => true,
        Some('-') => !chars.next().is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// The cell as exported: with a leading `'` when a spreadsheet would otherwise run it.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_quote(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The cell as it was before [`neutralise`].
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

/// The column names, in the order [`UsageRecord`] serialises them.
fn header() -> Vec<&'static str> {
    vec![
        "uid", "created_at", "conversation_id", "conversation_title", "message_id", "route", "provider", "model", "served_model",
        "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens", "estimated", "cost",
        "effective_cost", "reported_cost", "ttfb_ms", "ttft_ms", "total_ms", "origin", "price_json", "cost_json",
        "computed_cost", "attempts", "waited_ms",
    ]
}

/// Rows written per transaction by [`import`]: a turn's save waits at most one of them.
pub const CHUNK: usize = 2_000;

/// The most tokens of one kind a single answer can have.
pub const MAX_TOKENS: u64 = 1_000_000_000;

/// The most one answer can cost, in USD.
const MAX_COST: u64 = 1_000_000;

/// Reads a CSV written by [`export`] and adds the rows not already stored. Nothing is written
/// unless every row is well-formed and possible. Run it on a connection of its own
/// ([`crate::store::Store::job`]).
pub fn import(conn: &mut Connection, input: impl Read) -> Result<ImportSummary, CsvError> {
    conn.execute_batch("DROP TABLE IF EXISTS temp.import_rows; CREATE TEMP TABLE import_rows (id INTEGER PRIMARY KEY, record TEXT NOT NULL);")
        .map_err(StoreError::from)?;
    let result = stage(conn, input).and_then(|read| write_staged(conn, read));
    let _ = conn.execute_batch("DROP TABLE IF EXISTS temp.import_rows");
    result
}

/// Reads and checks every row into the connection's temporary staging table (which locks
/// nothing in the database). Returns how many rows were read.
fn stage(conn: &mut Connection, input: impl Read) -> Result<u64, CsvError> {
    let mut reader = ::csv::Reader::from_reader(input);
    let bad = |line: u64, e: &dyn std::fmt::Display| CsvError::Row { line, message: e.to_string() };
    let header = reader.headers().map_err(|e| bad(1, &e))?.clone();
    // Only the temp schema is written: a deferred transaction takes no lock on the database.
    let tx = conn.transaction().map_err(StoreError::from)?;
    let mut read = 0u64;
    {
        let mut put = tx.prepare("INSERT INTO temp.import_rows (record) VALUES (?1)").map_err(StoreError::from)?;
        let mut row = ::csv::StringRecord::new();
        // One record at a time: the file is never held in memory.
        while reader.read_record(&mut row).map_err(|e| bad(e.position().map_or(0, |p| p.line()), &e))? {
            let line = row.position().map_or(0, |p| p.line());
            let plain: ::csv::StringRecord = row.iter().map(restore).collect();
            let mut record: UsageRecord = plain.deserialize(Some(&header)).map_err(|e| bad(line, &e))?;
            check(&mut record).map_err(|message| CsvError::Row { line, message })?;
            let json = serde_json::to_string(&record).map_err(|e| bad(line, &e))?;
            put.execute([json]).map_err(StoreError::from)?;
            read += 1;
        }
    }
    tx.commit().map_err(StoreError::from)?;
    Ok(read)
}

/// Writes the staged rows in chunks of [`CHUNK`], each with its roll-ups.
fn write_staged(conn: &mut Connection, read: u64) -> Result<ImportSummary, CsvError> {
    let mut summary = ImportSummary { read, ..Default::default() };
    let mut after = 0i64;
    loop {
        let tx = write_tx(conn)?;
        let chunk: Vec<(i64, String)> = {
            let mut stmt = tx.prepare_cached("SELECT id, record FROM temp.import_rows WHERE id > ?1 ORDER BY id LIMIT ?2").map_err(StoreError::from)?;
            let rows = stmt.query_map(params![after, CHUNK as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(StoreError::from)?;
            rows.collect::<Result<_, _>>().map_err(StoreError::from)?
        };
        let Some(&(last, _)) = chunk.last() else { break };
        let mut deltas = Deltas::default();
        for (_, json) in &chunk {
            let record: UsageRecord = serde_json::from_str(json).map_err(|e| CsvError::Io(e.to_string()))?;
            if deltas.insert(&tx, &record, Origin::Imported)? {
                summary.added += 1;
            } else {
                summary.duplicates += 1;
            }
        }
        deltas.apply(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        after = last;
    }
    Ok(summary)
}

/// Refuses what the database would not hold as written, and what no answer can be: money below
/// zero or above a million dollars, a count above [`MAX_TOKENS`], more cached or cache-write
/// tokens than input, more reasoning than output. Stores times in one form.
pub fn check(r: &mut UsageRecord) -> Result<(), String> {
    if r.uid.trim().is_empty() {
        return Err("uid is empty.".into());
    }
    let t = chrono::DateTime::parse_from_rfc3339(r.created_at.trim())
        .map_err(|_| format!("created_at is not an RFC 3339 time: \"{}\".", r.created_at))?;
    r.created_at = usage_rows::timestamp(t.with_timezone(&chrono::Utc));
    if r.route.is_empty() || r.provider.is_empty() || r.model.is_empty() {
        return Err("route, provider and model are required.".into());
    }
    if !matches!(r.origin.as_str(), "app" | "cli") {
        return Err(format!("origin is \"app\" or \"cli\", not \"{}\".", r.origin));
    }
    for (name, v) in [
        ("input_tokens", r.input_tokens),
        ("cached_input_tokens", r.cached_input_tokens),
        ("cache_write_tokens", r.cache_write_tokens),
        ("output_tokens", r.output_tokens),
        ("reasoning_tokens", r.reasoning_tokens),
    ] {
        if v > MAX_TOKENS {
            return Err(format!("{name} is {v}, more than one answer can have (at most {MAX_TOKENS})."));
        }
    }
    if r.cached_input_tokens + r.cache_write_tokens > r.input_tokens {
        return Err(format!(
            "cached_input_tokens ({}) and cache_write_tokens ({}) are part of input_tokens ({}) and cannot add up to more.",
            r.cached_input_tokens, r.cache_write_tokens, r.input_tokens
        ));
    }
    if r.reasoning_tokens > r.output_tokens {
        return Err(format!("reasoning_tokens ({}) are part of output_tokens ({}) and cannot be more.", r.reasoning_tokens, r.output_tokens));
    }
    for (name, v) in [("cost", r.cost), ("effective_cost", r.effective_cost), ("reported_cost", r.reported_cost), ("computed_cost", r.computed_cost)] {
        match v {
            Some(v) if v.is_sign_negative() && !v.is_zero() => return Err(format!("{name} is {v}: a cost cannot be negative.")),
            Some(v) if v > rust_decimal::Decimal::from(MAX_COST) => return Err(format!("{name} is {v} USD, more than one answer can cost (at most {MAX_COST}).")),
            _ => {}
        }
    }
    for (name, v) in [("ttfb_ms", r.ttfb_ms), ("ttft_ms", r.ttft_ms), ("total_ms", Some(r.total_ms))] {
        if v.is_some_and(|v| v > i64::MAX as u64) {
            return Err(format!("{name} is too large."));
        }
    }
    for (name, json) in [("price_json", &r.price_json), ("cost_json", &r.cost_json)] {
        if let Some(j) = json.as_deref().filter(|j| !j.is_empty()) {
            serde_json::from_str::<serde_json::Value>(j).map_err(|e| format!("{name} is not JSON: {e}."))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_every_field_of_a_usage_row_once() {
        let value = serde_json::to_value(UsageRecord::default()).unwrap();
        let mut fields: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        let mut names = header();
        fields.sort_unstable();
        names.sort_unstable();
        assert_eq!(fields, names);
    }

    #[test]
    fn neutralising_is_undone_exactly() {
        for cell in ["=1+1", "+x", "-x", "-5", "@a", "\tt", "\rr", "'q", "''q", "'=x", "plain", "", "-"] {
            assert_eq!(restore(&neutralise(cell)), cell, "{cell:?}");
        }
        assert_eq!(neutralise("-5"), "-5");
        assert_eq!(neutralise("-"), "'-");
    }
}
