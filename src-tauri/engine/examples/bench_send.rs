//! How long `send()` keeps the requests waiting: from the call to the first request reaching a
//! local server, at 8 columns, with a ~117,000-token prompt each turn for 6 turns of one
//! conversation (so the 6th turn's threads hold ~700,000 tokens per column), then 3 turns of a
//! one-line prompt on those long threads (the usual follow-up).
//!
//! `cargo run --release -p tally-engine --example bench_send`
//!
//! Two cases, each on a fresh database through the application layer (`Engine::send_turn`):
//! - **no hard budget**: nothing needs the count before sending; it is stored after;
//! - **hard budget**: the turn is checked against it first, as the window does after the compose
//!   box estimated the text (`estimate_turn` before `send_turn`, which shares its counts).
//!
//! Keys come from environment variables this program sets (fake keys for a local server); run it
//! under `scripts/with-desktop.sh` so the keyring answers quickly ("no key") instead of failing.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tally_engine::app::chats::OverBudget;
use tally_engine::app::{Engine, Options};
use tally_engine::secrets::{EnvFallback, Keyring};
use tally_engine::ledger::budgets::BudgetInput;
use tokio::io::AsyncWriteExt;

mod common;

const TARGETS: [&str; 8] = [
    "openai:gpt-4o-mini",
    "openai:gpt-4o",
    "openrouter:openai/gpt-4o-mini",
    "openrouter:anthropic/claude-sonnet-4.5",
    "deepseek:deepseek-chat",
    "mistral:mistral-large-latest",
    "groq:llama-3.3-70b-versatile",
    "xai:grok-3",
];
const TURNS: usize = 6;
/// The follow-ups sent after the long turns.
const SHORT: [&str; 3] = ["Summarise the above in one line.", "Which of these words came most often?", "Thanks, that is all."];

const ANSWER: &str = "data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Noted.\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"model\":\"bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":111821,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n";

/// A local server that notes when each request's first byte arrives and answers in a line.
async fn serve(arrivals: Arc<Mutex<Vec<Instant>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let arrivals = arrivals.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    if !common::read_request(&mut sock, &mut buf, || arrivals.lock().unwrap().push(Instant::now())).await {
                        return;
                    }
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n", ANSWER.len());
                    if sock.write_all(head.as_bytes()).await.is_err() || sock.write_all(ANSWER.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// About 111,800 tokens of varied English-like words (o200k_base), different for each `seed`.
fn prompt(seed: u64) -> String {
    const WORDS: [&str; 32] = [
        "budget", "answer", "column", "stream", "token", "price", "model", "route", "latency", "prompt", "compare", "several", "between",
        "through", "measure", "quickly", "honest", "exact", "decimal", "window", "render", "history", "thread", "message", "provider",
        "request", "estimate", "counted", "session", "keyring", "catalog", "usage",
    ];
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut out = format!("Turn {seed}. ");
    for i in 0..111_000 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out.push_str(WORDS[(x >> 59) as usize]);
        out.push(if i % 17 == 16 { '.' } else { ' ' });
    }
    out
}

struct Row {
    turn: usize,
    prompt_tokens: u64,
    to_first_request_ms: f64,
    send_returned_ms: f64,
}

async fn run(hard_budget: bool, prompts: &[String]) -> Vec<Row> {
    let dir = tempfile::tempdir().unwrap();
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let base = serve(arrivals.clone()).await;
    let urls: serde_json::Map<String, serde_json::Value> =
        ["openai", "openrouter", "deepseek", "mistral", "groq", "xai"].iter().map(|p| (p.to_string(), format!("{base}/v1").into())).collect();
    std::fs::write(dir.path().join("settings.json"), serde_json::json!({ "base_urls": urls }).to_string()).unwrap();
    let options = Options {
        origin: "app",
        env: EnvFallback::Always,
        owns_database: true,
        warm_tokenizer: true,
        settings_file: None,
        keyring: Keyring::with_service("dev.tally.bench-send"),
        on_busy: None,
        busy_wait: tally_engine::store::BUSY_TIMEOUT,
        follow_generations: false,
    };
    let engine = Engine::open(dir.path(), options).unwrap();
    if hard_budget {
        let input: BudgetInput = serde_json::from_value(serde_json::json!({"period": "month", "limit_usd": "100000", "hard": true, "provider": null})).unwrap();
        engine.add_budget(input).await.unwrap();
    }
    let conversation = engine.new_conversation(Some(TARGETS.iter().map(|t| t.to_string()).collect())).await.unwrap().id;
    // What the app does when the user starts typing the first prompt (`prompt_started`), and the
    // few seconds the typing takes.
    engine.warm_tokenizer();
    engine.warm_keys();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sink: tally_engine::turn::Sink = Arc::new(|_| {});
    let mut rows = Vec::new();
    for (turn, text) in prompts.iter().enumerate() {
        if hard_budget {
            // The compose box asked for the estimate while the text was typed.
            engine.estimate_turn(conversation, text.clone()).await.unwrap();
        }
        arrivals.lock().unwrap().clear();
        let t0 = Instant::now();
        let (_, handle) = engine.send_turn(conversation, text.clone(), Default::default(), OverBudget::Refuse, sink.clone()).await.unwrap();
        let returned = t0.elapsed();
        handle.await.unwrap();
        let first = *arrivals.lock().unwrap().iter().min().expect("a request arrived");
        let prompt_tokens = tally_engine::tokens::count_text("gpt-4o", text).tokens;
        rows.push(Row { turn: turn + 1, prompt_tokens, to_first_request_ms: ms(first - t0), send_returned_ms: ms(returned) });
        // Let the counts stored after the requests settle before the next turn is timed.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    rows
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    for (var, key) in [("OPENAI_API_KEY", "sk-bench"), ("OPENROUTER_API_KEY", "sk-or-bench"), ("DEEPSEEK_API_KEY", "sk-ds"), ("MISTRAL_API_KEY", "m-bench"), ("GROQ_API_KEY", "gsk-bench"), ("XAI_API_KEY", "xai-bench")] {
        std::env::set_var(var, key);
    }
    let mut prompts: Vec<String> = (1..=TURNS as u64).map(prompt).collect();
    let tokens = tally_engine::tokens::count_text("gpt-4o", &prompts[0]).tokens;
    println!("8 columns, {TURNS} turns, each prompt {tokens} tokens (o200k_base), {} KiB, then {} one-line follow-ups\n", prompts[0].len() / 1024, SHORT.len());
    prompts.extend(SHORT.iter().map(|s| s.to_string()));
    for hard in [false, true] {
        println!("## {}\n", if hard { "with a hard budget (checked before sending; the compose estimate ran first)" } else { "no hard budget" });
        println!("| turn | prompt tokens | send() → first request ms | send() returned ms |\n|---:|---:|---:|---:|");
        for r in run(hard, &prompts).await {
            println!("| {} | {} | {:.2} | {:.2} |", r.turn, r.prompt_tokens, r.to_first_request_ms, r.send_returned_ms);
        }
        println!();
    }
}
