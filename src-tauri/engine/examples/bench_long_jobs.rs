//! Do long jobs hold up a turn's saves? A turn's writes (record the turn, a partial save, the
//! answer with its usage, roll-ups and totals) timed while a CSV export, a CSV import or the
//! dashboard runs beside them, on the same file.
//!
//! `cargo run --release -p tally-engine --example bench_long_jobs [ROWS]` (default 200,000)
//!
//! "shared writer" runs the job the way it ran before issue 12 (on the one connection, behind the
//! same lock as the turns: `Store::blocking`); "own connection" runs it on `Store::read` (export,
//! dashboard) or `Store::job` (import). Prints a markdown table of the turn's save time.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use tally_engine::store::rollups::Deltas;
use tally_engine::store::usage_rows::{Origin, UsageRecord};
use tally_engine::store::{conversations, Store, StoreError};
use tally_engine::target::Target;
use tally_engine::ledger::csv;
use tally_engine::ledger::period::Bucket;
use tally_engine::ledger::stats;
use tally_engine::ledger::DayRange;
use tally_engine::Decimal;

fn seed(store: &Store, rows: u64) -> Result<(), StoreError> {
    store.blocking(|c| {
        let tx = tally_engine::store::write_tx(c)?;
        let mut deltas = Deltas::default();
        for i in 0..rows {
            let r = UsageRecord {
                uid: format!("seed-{i}"),
                created_at: format!("2026-{:02}-{:02}T10:00:00.000Z", 1 + (i / 28) % 12, 1 + i % 28),
                conversation_title: Some(format!("Conversation {}", i % 5000)),
                route: "openai".into(),
                provider: "openai".into(),
                model: ["gpt-4o", "gpt-4o-mini", "gpt-4.1"][(i % 3) as usize].into(),
                input_tokens: 1000 + i % 500,
                output_tokens: 200 + i % 300,
                cost: Some(Decimal::new(123 + (i % 1000) as i64, 6)),
                total_ms: 900,
                origin: "cli".into(),
                ..Default::default()
            };
            deltas.insert(&tx, &r, Origin::Imported)?;
        }
        deltas.apply(&tx)?;
        tx.commit()?;
        Ok(())
    })
}

fn turn(store: &Store, conversation_id: i64) -> Duration {
    let t = Instant::now();
    common::a_turn(store, conversation_id);
    t.elapsed()
}

/// Runs `job` in a thread and records turns (one every 5 ms) until it ends.
fn during(store: &Store, conversation_id: i64, job: impl FnOnce() + Send + 'static) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let handle = std::thread::spawn(job);
    let mut saves = Vec::new();
    // Let the job take hold first.
    std::thread::sleep(Duration::from_millis(20));
    while !handle.is_finished() {
        saves.push(turn(store, conversation_id));
        std::thread::sleep(Duration::from_millis(5));
    }
    handle.join().unwrap();
    (saves, started.elapsed())
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn row(label: &str, mut saves: Vec<Duration>, job: Duration) {
    saves.sort();
    let p = |q: f64| saves.get(((saves.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    println!("| {label} | {} | {} | {} | {} | {} |", ms(job), saves.len(), ms(p(0.5)), ms(p(0.95)), ms(saves.last().copied().unwrap_or_default()));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.sqlite3"))?;
    seed(&store, rows)?;
    let conv = store.blocking(|c| conversations::create(c, "Bench", &[Target::parse("openai:gpt-4o-mini").unwrap()]))?;
    let mut csv_bytes = Vec::new();
    store.read(|c| csv::export(c, &DayRange::all(), &mut csv_bytes).map_err(|e| StoreError::Invalid(e.to_string())))?;
    let csv_bytes = std::sync::Arc::new(csv_bytes);
    // The import goes into a second database file of the same size, so it adds every row.
    let other = Store::open(&dir.path().join("other.sqlite3"))?;
    let other_conv = other.blocking(|c| conversations::create(c, "Bench", &[Target::parse("openai:gpt-4o-mini").unwrap()]))?;

    println!("{rows} usage rows; a turn's writes (start + partial save + finish) every 5 ms while the job runs.\n");
    println!("| job | job ms | turns saved | save p50 ms | save p95 ms | save max ms |");
    println!("|---|---|---|---|---|---|");
    let alone: Vec<Duration> = (0..200).map(|_| turn(&store, conv)).collect();
    row("nothing else running", alone, Duration::ZERO);

    for (label, own) in [("shared writer", false), ("own connection", true)] {
        let s = store.clone();
        let (saves, took) = during(&store, conv, move || {
            let export = |c: &rusqlite::Connection| csv::export(c, &DayRange::all(), std::io::sink()).map(|_| ()).map_err(|e| StoreError::Invalid(e.to_string()));
            if own { s.read(export) } else { s.blocking(|c| export(c)) }.unwrap();
        });
        row(&format!("CSV export, {label}"), saves, took);

        let s = store.clone();
        let (saves, took) = during(&store, conv, move || {
            let overview = |c: &rusqlite::Connection| stats::overview(c, &DayRange::all(), Bucket::Month);
            for _ in 0..20 {
                if own { s.read(overview) } else { s.blocking(|c| overview(c)) }.unwrap();
            }
        });
        row(&format!("usage overview × 20, {label}"), saves, took);

        let (s, bytes) = (other.clone(), csv_bytes.clone());
        // A fresh target each time: drop what an earlier run imported.
        other.blocking(|c| Ok(c.execute_batch("DELETE FROM usage WHERE imported = 1; DELETE FROM usage_daily; DELETE FROM usage_conversation_daily;")?))?;
        let (saves, took) = during(&other, other_conv, move || {
            let import = |c: &mut rusqlite::Connection| csv::import(c, bytes.as_slice()).map(|_| ()).map_err(|e| StoreError::Invalid(e.to_string()));
            if own { s.job(import) } else { s.blocking(import) }.unwrap();
        });
        row(&format!("CSV import, {label}"), saves, took);
    }
    Ok(())
}
