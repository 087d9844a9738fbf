//! How fast the Usage screen's queries are over 1,000,000 usage rows.
//!
//! `cargo run --release -p tally-engine --example bench_usage [ROWS]`
//!
//! Generates a year of history in a temp database, the way an import writes it (rows and their
//! daily roll-ups in one transaction): 20,000 conversations of 2–4 columns each over ~30 models
//! on 3 routes (OpenAI, Anthropic direct, OpenRouter), each conversation active for 1–3 days,
//! ~5 % of answers unpriced and ~2 % estimated. Then times every dashboard query, 7 runs each
//! after a warm-up, for the last 30 days and for the whole year, and prints a markdown table.

use std::time::{Duration, Instant};

use chrono::{Duration as Span, TimeZone, Utc};
use tally_engine::store::rollups::Deltas;
use tally_engine::store::usage_rows::{self, Origin, UsageRecord};
use tally_engine::store::{Store, StoreError};
use tally_engine::ledger::period::Bucket;
use tally_engine::ledger::stats::{self, Dimension};
use tally_engine::ledger::{alerts, budgets, latency, DayRange};
use tally_engine::Decimal;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn targets() -> Vec<(String, String, String)> {
    let mut t = Vec::new();
    for m in ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano"] {
        t.push(("openai".into(), "openai".into(), m.to_string()));
        t.push(("openrouter".into(), "openrouter".into(), format!("openai/{m}")));
    }
    for m in ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "claude-3-5-haiku"] {
        t.push(("anthropic".into(), "anthropic".into(), m.to_string()));
        t.push(("openrouter".into(), "openrouter".into(), format!("anthropic/{m}")));
    }
    for m in ["google/gemini-2.5-pro", "google/gemini-2.5-flash"] {
        t.push(("openrouter".into(), "openrouter".into(), m.to_string()));
    }
    t
}

fn generate(store: &Store, rows: u64) -> Result<(), StoreError> {
    let targets = targets();
    let conversations = 20_000u64;
    let start = Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).single().ok_or(StoreError::Worker)?;
    store.blocking(|c| {
        let tx = c.transaction()?;
        {
            let mut ins = tx.prepare("INSERT INTO conversations (id, title) VALUES (?1, ?2)")?;
            for id in 1..=conversations {
                ins.execute(rusqlite::params![id as i64, format!("Conversation {id}")])?;
            }
        }
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut deltas = Deltas::default();
        let per = rows / conversations;
        let mut n = 0u64;
        for conv in 1..=conversations {
            let began = start + Span::minutes(rng.below(365 * 24 * 60) as i64);
            let columns: Vec<usize> = (0..2 + rng.below(3)).map(|_| rng.below(targets.len() as u64) as usize).collect();
            let answers = if conv == conversations { rows - n } else { per };
            for i in 0..answers {
                let (route, provider, model) = &targets[columns[i as usize % columns.len()]];
                let at = began + Span::seconds((i * 3 * 24 * 3600 / per.max(1)) as i64 + rng.below(60) as i64);
                let input = 200 + rng.below(20_000);
                let output = 20 + rng.below(2_000);
                let priced = rng.below(100) >= 5;
                let cost = Decimal::new((input * 3 + output * 15) as i64, 7);
                let fee = if route == "openrouter" { cost * Decimal::new(55, 3) } else { Decimal::ZERO };
                let ttft = 150 + rng.below(2_500);
                let record = UsageRecord {
                    uid: format!("bench-{n}"),
                    created_at: usage_rows::timestamp(at),
                    conversation_id: Some(conv as i64),
                    route: route.clone(),
                    provider: provider.clone(),
                    model: model.clone(),
                    input_tokens: input,
                    cached_input_tokens: input / 4,
                    output_tokens: output,
                    reasoning_tokens: output / 10,
                    estimated: rng.below(100) < 2,
                    cost: priced.then_some(cost),
                    effective_cost: priced.then_some(cost + fee),
                    ttfb_ms: Some(ttft - 50),
                    ttft_ms: Some(ttft),
                    total_ms: ttft + output * (5 + rng.below(30)),
                    origin: "app".into(),
                    price_json: priced.then(|| r#"{"input":"0.0000003","output":"0.0000015","source":"bench"}"#.to_string()),
                    cost_json: priced.then(|| format!(r#"{{"total":"{cost}"}}"#)),
                    ..Default::default()
                };
                deltas.insert(&tx, &record, Origin::Local)?;
                n += 1;
            }
        }
        deltas.apply(&tx)?;
        tx.commit()?;
        Ok(())
    })
}

fn time(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    f(); // warm-up
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed()
        })
        .collect();
    t.sort();
    (t[runs / 2], t[runs - 1])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile_dir()?;
    let path = dir.join("bench.sqlite3");
    let store = Store::open(&path)?;
    let t = Instant::now();
    generate(&store, rows)?;
    let gen = t.elapsed();
    let (daily, conv_daily): (i64, i64) = store.blocking(|c| {
        Ok((c.query_row("SELECT count(*) FROM usage_daily", [], |r| r.get(0))?, c.query_row("SELECT count(*) FROM usage_conversation_daily", [], |r| r.get(0))?))
    })?;
    println!("{rows} usage rows generated in {:.1} s; roll-ups: {daily} usage_daily rows, {conv_daily} usage_conversation_daily rows\n", gen.as_secs_f64());
    store.blocking(|c| {
        for period in [budgets::Period::Month, budgets::Period::Day] {
            budgets::create(c, &budgets::BudgetInput { period, provider: None, limit_usd: Decimal::new(100_000, 0), hard: true })?;
            budgets::create(c, &budgets::BudgetInput { period, provider: Some("openai".into()), limit_usd: Decimal::new(50_000, 0), hard: true })?;
        }
        Ok(())
    })?;
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).single().ok_or("bad date")?;
    let ranges = [("last 30 days", DayRange::new(Some("2026-10-31"), Some("2026-11-30"))), ("whole year", DayRange::all())];
    println!("| query | range | p50 ms | max ms (7 runs) |\n|---|---|---|---|");
    for (name, range) in &ranges {
        let row = |q: &str, f: &mut dyn FnMut(&rusqlite::Connection) -> Result<(), StoreError>| {
            let (p50, max) = time(7, || store.blocking(|c| f(c)).unwrap_or_else(|e| panic!("{q}: {e}")));
            println!("| {q} | {name} | {:.1} | {:.1} |", p50.as_secs_f64() * 1e3, max.as_secs_f64() * 1e3);
        };
        row("totals", &mut |c| stats::totals(c, range).map(drop));
        for b in [Bucket::Day, Bucket::Week, Bucket::Month] {
            row(&format!("over_time {b:?}"), &mut |c| stats::over_time(c, range, b).map(drop));
        }
        for d in [Dimension::Route, Dimension::Provider, Dimension::Model, Dimension::Conversation] {
            row(&format!("breakdown {d:?}"), &mut |c| stats::breakdown(c, range, d, None).map(drop));
        }
        row("breakdown Conversation, top 10", &mut |c| stats::breakdown(c, range, Dimension::Conversation, Some(10)).map(drop));
        row("share", &mut |c| stats::share(c, range).map(drop));
        row("latency", &mut |c| latency::by_model_and_route(c, range).map(drop));
        row("overview Day (the usage screen's call: all of the above but latency)", &mut |c| stats::overview(c, range, Bucket::Day).map(drop));
    }
    let row = |q: &str, f: &mut dyn FnMut(&mut rusqlite::Connection) -> Result<(), StoreError>| {
        let (p50, max) = time(7, || store.blocking(|c| f(c)).unwrap_or_else(|e| panic!("{q}: {e}")));
        println!("| {q} | current period | {:.1} | {:.1} |", p50.as_secs_f64() * 1e3, max.as_secs_f64() * 1e3);
    };
    row("budgets::status (4 budgets)", &mut |c| budgets::status(c, now).map(drop));
    row("alerts::check_alerts", &mut |c| alerts::check_alerts(c, now, alerts::DEFAULT_SPIKE_MULTIPLIER).map(drop));
    row("alerts::would_exceed", &mut |c| alerts::would_exceed(c, "openai", Decimal::ONE, now).map(drop));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("tally-bench-usage-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
