//! What opening a long conversation costs: reading it from SQLite and the JSON the window gets.
//!
//! `cargo run -p tally-engine --example bench_open [TURNS] [COLUMNS] [KEEP_DIR]` (default 500 × 8)
//!
//! Writes one conversation of TURNS turns on COLUMNS columns into a temp database the way the
//! turn runner does (`start_turn`, then `finish` with usage and cost for every answer; answers of
//! ~1,600 characters of markdown, prompts of ~300), then times, 7 runs each after a warm-up:
//! the whole conversation (`view::load`: what opening it read and sent before paging) and its
//! latest page (`view::load_latest`: what the window opens now), each read and serialised to
//! JSON as the IPC layer does, and the JSON's size. Prints a markdown table. With KEEP_DIR, the
//! database is written there as `tally.sqlite3` and kept (to open it in the app:
//! `TALLY_DATA_DIR=KEEP_DIR`).

use std::time::{Duration, Instant};

use tally_engine::pricing::Price;
use tally_engine::store::messages;
use tally_engine::store::view;
use tally_engine::store::{conversations, Store};
use tally_engine::stream::{Timing, Usage};
use tally_engine::target::Target;
use tally_engine::Decimal;

const TARGETS: [&str; 8] = [
    "openai:gpt-4o-mini",
    "openrouter:openai/gpt-4o-mini",
    "openai:gpt-4o",
    "openrouter:openai/gpt-4o",
    "anthropic:claude-haiku-4-5",
    "openrouter:anthropic/claude-haiku-4-5",
    "deepseek:deepseek-chat",
    "openrouter:deepseek/deepseek-chat",
];

fn answer(turn: usize, column: usize) -> String {
    let para = format!(
        "Turn {turn}, column {column}: the **ledger** balances when every line is counted once. `code` and a [link](https://example.com), then a list:\n\n- one\n- two\n\n"
    );
    para.repeat(9)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = f(); // warm-up
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        out = f();
        times.push(start.elapsed());
    }
    (median(times), out)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let turns: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let columns: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8).clamp(1, TARGETS.len());
    let dir = tempfile::tempdir().expect("temp dir");
    let keep = args.next().map(std::path::PathBuf::from);
    let file = match &keep {
        Some(keep) => {
            std::fs::create_dir_all(keep).expect("KEEP_DIR");
            tally_engine::paths::database(keep)
        }
        None => dir.path().join("bench.sqlite3"),
    };
    let store = Store::open(&file).expect("store");
    let price = Price {
        input: Decimal::new(15, 8),
        output: Decimal::new(6, 7),
        cached_input: None,
        cache_write: None,
        reasoning: None,
        request: None,
        tiers: Vec::new(),
        source: "bench".into(),
    };
    let written = Instant::now();
    let id = store
        .blocking(|c| {
            let targets: Vec<Target> = TARGETS[..columns].iter().map(|t| Target::parse(t).expect("target")).collect();
            let id = conversations::create(c, "A long one", &targets)?;
            for t in 0..turns {
                let prompt = format!("Question {t}: how do the routes compare on price and latency for this kind of prompt? ").repeat(3);
                let turn = messages::start_turn(c, id, &prompt)?;
                for (i, col) in turn.columns.iter().enumerate() {
                    let usage = Usage { input_tokens: 1_000 + 40 * t as u64, output_tokens: 400, ..Usage::default() };
                    let timing = Timing { ttfb_ms: Some(90), ttft_ms: Some(120 + i as u64), total_ms: 4_000, ..Default::default() };
                    messages::finish(c, &messages::Finished::done(id, col, answer(t, i), usage, &price, timing))?;
                }
            }
            Ok(id)
        })
        .expect("write the conversation");
    eprintln!("wrote {turns} turns × {columns} columns in {:.1} s", written.elapsed().as_secs_f64());

    let runs = 7;
    let page = tally_engine::app::LIMITS.turns_per_page as usize;
    let (whole, whole_json) = time(runs, || {
        let v = store.read(|c| view::load(c, id)).expect("load");
        serde_json::to_string(&v).expect("json")
    });
    let (latest, latest_json) = time(runs, || {
        let v = store.read(|c| view::load_latest(c, id, page)).expect("load");
        serde_json::to_string(&v).expect("json")
    });
    let first = store.read(|c| view::load_latest(c, id, page)).expect("load").earlier_cursor;
    let (earlier, earlier_json) = time(runs, || {
        let p = store.read(|c| view::load_turns(c, id, first, Some(page))).expect("page");
        serde_json::to_string(&p).expect("json")
    });
    println!("| {turns} turns × {columns} columns | read + JSON, median of {runs} | JSON sent |");
    println!("|---|---|---|");
    println!("| whole conversation (`view::load`, opening before paging) | {:.1} ms | {:.1} MiB |", whole.as_secs_f64() * 1e3, whole_json.len() as f64 / 1_048_576.0);
    println!("| latest {page} turns (`view::load_latest`, opening now) | {:.1} ms | {:.0} KiB |", latest.as_secs_f64() * 1e3, latest_json.len() as f64 / 1024.0);
    println!("| the {page} turns before them (`view::load_turns`, \"Show earlier turns\") | {:.1} ms | {:.0} KiB |", earlier.as_secs_f64() * 1e3, earlier_json.len() as f64 / 1024.0);
}
