//! Usage as CSV: every stored field of every usage row (the price and the itemised cost as
//! JSON, the row's unique `uid`, the conversation's title), one row at a time in both
//! directions, never the whole history in memory.
//!
//! Import adds rows whose `uid` is not stored yet and skips the others, so importing a file twice
//! (or a database's own export) adds nothing. Imported rows keep their conversation's title but
//! not its id or message (those live in the other database). The whole import is one transaction:
//! a bad line leaves the database as it was and says which line.

use std::io::{Read, Write};

use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

use super::DayRange;
use crate::store::rollups::Deltas;
use crate::store::usage_rows::{self, Origin, UsageRecord};
use crate::store::StoreError;

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
    let mut n = 0u64;
    usage_rows::for_each(conn, &since, &until, |record| {
        writer.serialize(&record).map_err(|e| CsvError::Io(e.to_string()))?;
        n += 1;
        Ok::<(), CsvError>(())
    })?;
    if n == 0 {
        // The header still goes out, so an empty export is a valid file to import.
        writer.write_record(header()).map_err(|e| CsvError::Io(e.to_string()))?;
    }
    writer.flush().map_err(|e| CsvError::Io(e.to_string()))?;
    Ok(n)
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

/// Reads a CSV written by [`export`] and adds the rows not already stored, in one transaction.
pub fn import(conn: &mut Connection, input: impl Read) -> Result<ImportSummary, CsvError> {
    let mut reader = ::csv::Reader::from_reader(input);
    let bad = |line: u64, e: &dyn std::fmt::Display| CsvError::Row { line, message: e.to_string() };
    let header = reader.headers().map_err(|e| bad(1, &e))?.clone();
    let tx = conn.transaction().map_err(StoreError::from)?;
    let mut deltas = Deltas::default();
    let mut summary = ImportSummary::default();
    let mut row = ::csv::StringRecord::new();
    // One record at a time: the file is never held in memory.
    while reader.read_record(&mut row).map_err(|e| bad(e.position().map_or(0, |p| p.line()), &e))? {
        let line = row.position().map_or(0, |p| p.line());
        let mut record: UsageRecord = row.deserialize(Some(&header)).map_err(|e| bad(line, &e))?;
        checked(&mut record).map_err(|message| CsvError::Row { line, message })?;
        summary.read += 1;
        if usage_rows::insert(&tx, &record, Origin::Imported, &mut deltas)? {
            summary.added += 1;
        } else {
            summary.duplicates += 1;
        }
    }
    deltas.apply(&tx)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(summary)
}

/// Refuses what the database would not hold as written, and stores times in one form.
fn checked(r: &mut UsageRecord) -> Result<(), String> {
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
    for (name, json) in [("price_json", &r.price_json), ("cost_json", &r.cost_json)] {
        if let Some(j) = json.as_deref().filter(|j| !j.is_empty()) {
            serde_json::from_str::<serde_json::Value>(j).map_err(|e| format!("{name} is not JSON: {e}."))?;
        }
    }
    Ok(())
}
