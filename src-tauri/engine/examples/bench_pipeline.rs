//! What Tally's pipeline adds on top of the network, measured against a local SSE server.
//!
//! `cargo run --release -p tally-engine --example bench_pipeline`
//!
//! 1. Time to first token through the engine (adapter, SSE parser, typed events) vs a bare
//!    reqwest read of the same stream, alternating, same client and server.
//! 2. 8 concurrent streams at 2,000 tokens/s each through the whole turn runner (SQLite writes,
//!    per-frame batching): how long each token waits between leaving the server and reaching
//!    the UI sink. Each token carries its send time, so the lag is measured per token.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tally_engine::endpoints::Endpoints;
use tally_engine::providers::{self, ChatMessage, ChatRequest, Endpoint, ProviderError, Role};
use tally_engine::secrets::ApiKey;
use tally_engine::store::{conversations, Store};
use tally_engine::stream::StreamEvent;
use tally_engine::target::Target;
use tally_engine::turn::{TurnDeps, TurnEvent, Turns};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

mod common;

static BASE: OnceLock<Instant> = OnceLock::new();
fn now_us() -> u64 {
    BASE.get_or_init(Instant::now).elapsed().as_micros() as u64
}

fn chunk(content: &str) -> String {
    format!("data: {{\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"model\":\"bench\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"finish_reason\":null}}]}}\n\n")
}

const TAIL: &str = "data: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: {\"id\":\"b\",\"object\":\"chat.completion.chunk\",\"model\":\"bench\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n";

/// A minimal SSE server: reads one request, streams `tokens` tokens, `per_ms` per millisecond
/// (all at once when `per_ms` is 0), each carrying its send time, then closes.
async fn serve(tokens: usize, per_ms: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                if !common::read_request(&mut sock, &mut buf, || ()).await {
                    return;
                }
                let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n").await;
                let mut tick = tokio::time::interval(Duration::from_millis(1));
                let mut sent = 0;
                while sent < tokens {
                    if per_ms > 0 {
                        tick.tick().await;
                    }
                    let mut out = String::new();
                    for _ in 0..per_ms.max(1) {
                        if sent < tokens {
                            out.push_str(&chunk(&format!(" t{}", now_us())));
                            sent += 1;
                        }
                    }
                    if sock.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                }
                let _ = sock.write_all(TAIL.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/v1")
}

/// CPU time this process has used (user + system), from /proc; `None` off Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Fixed(String);
impl Endpoints for Fixed {
    fn endpoint(&self, target: &Target) -> Result<Endpoint, ProviderError> {
        Ok(Endpoint { provider: target.provider(), base_url: self.0.clone(), api_key: Some(ApiKey::new("bench-key").unwrap()) })
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    now_us();
    let http = tally_engine::http::client();

    // 1. Time to first token: engine vs bare reqwest.
    let url = serve(1, 0).await;
    let endpoint = Endpoint { provider: providers::provider("openai").unwrap(), base_url: url.clone(), api_key: Some(ApiKey::new("bench-key").unwrap()) };
    let request = ChatRequest { model: "bench".into(), messages: vec![ChatMessage { role: Role::User, content: "hi".into() }], ..Default::default() };
    let body = serde_json::json!({"model": "bench", "messages": [{"role": "user", "content": "hi"}], "stream": true, "stream_options": {"include_usage": true}});
    let (mut bare, mut engine) = (Vec::new(), Vec::new());
    const N: usize = 400;
    for i in 0..N + 20 {
        let t0 = Instant::now();
        let resp = http.post(format!("{url}/chat/completions")).bearer_auth("bench-key").json(&body).send().await.unwrap();
        let mut s = resp.bytes_stream();
        let mut first = None;
        while let Some(Ok(b)) = s.next().await {
            if first.is_none() && b.windows(9).any(|w| w == b"\"content\"") {
                first = Some(t0.elapsed());
            }
        }
        let bare_ms = first.unwrap().as_secs_f64() * 1000.0;

        let t0 = Instant::now();
        let mut first = None;
        let mut on = |e: StreamEvent| {
            if matches!(e, StreamEvent::TextDelta(_)) && first.is_none() {
                first = Some(t0.elapsed());
            }
        };
        providers::stream_chat(&http, &endpoint, &request, providers::StreamLimits::default(), &CancellationToken::new(), &mut on).await;
        let engine_ms = first.unwrap().as_secs_f64() * 1000.0;
        if i >= 20 {
            bare.push(bare_ms);
            engine.push(engine_ms);
        }
    }
    bare.sort_by(f64::total_cmp);
    engine.sort_by(f64::total_cmp);
    println!("## Time to first token, {N} requests each, local server, alternating\n");
    println!("| path | p50 ms | p95 ms |\n|---|---|---|");
    println!("| bare reqwest read | {:.3} | {:.3} |", pct(&bare, 0.5), pct(&bare, 0.95));
    println!("| Tally engine | {:.3} | {:.3} |", pct(&engine, 0.5), pct(&engine, 0.95));
    println!(
        "\nadded at p50: {:.3} ms (ratio {:.2}); at p95: {:.3} ms\n",
        pct(&engine, 0.5) - pct(&bare, 0.5),
        pct(&engine, 0.5) / pct(&bare, 0.5),
        pct(&engine, 0.95) - pct(&bare, 0.95)
    );

    // 2. 8 concurrent streams at 2,000 tokens/s through the turn runner.
    const STREAMS: usize = 8;
    const TOKENS: usize = 2000;
    let url = serve(TOKENS, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.sqlite3")).unwrap();
    let targets: Vec<Target> = (0..STREAMS).map(|_| Target::parse("openai:gpt-4o-mini").unwrap()).collect();
    let conv = store.blocking(|c| conversations::create(c, "bench", &targets)).unwrap();
    let pricing = Arc::new(tally_engine::pricing::Pricing::new(tally_engine::pricing::Catalog::embedded(), Default::default()));
    let turns = Turns::new(TurnDeps { store, http: http.clone(), endpoints: Arc::new(Fixed(url)), pricing, origin: "app", reconciler: None, counts: Default::default() });
    let lags: Arc<Mutex<Vec<f64>>> = Arc::default();
    let batches = Arc::new(Mutex::new(0usize));
    let sink = {
        let (lags, batches) = (Arc::clone(&lags), Arc::clone(&batches));
        Arc::new(move |batch: Vec<TurnEvent>| {
            let now = now_us();
            *batches.lock().unwrap() += 1;
            let mut l = lags.lock().unwrap();
            for e in batch {
                if let TurnEvent::Delta { text, .. } = e {
                    for tok in text.split(" t").filter_map(|t| t.trim().parse::<u64>().ok()) {
                        l.push((now - tok) as f64 / 1000.0);
                    }
                }
            }
        })
    };
    let t0 = Instant::now();
    let cpu0 = cpu_seconds();
    let (_, handle) = turns.send(conv, "bench".into(), sink).await.unwrap();
    handle.await.unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
    let mut lags = lags.lock().unwrap().clone();
    lags.sort_by(f64::total_cmp);
    let over_frame = lags.iter().filter(|l| **l > 1000.0 / 60.0).count();
    println!("## {STREAMS} concurrent streams × {TOKENS} tokens at 2,000 tokens/s each, through the turn runner\n");
    println!("| tokens delivered | batches to the UI sink | wall time s | CPU µs per token (server included) | token lag p50 ms | p99 ms | max ms | tokens held > 16.7 ms |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {:.2} | {} | {:.2} | {:.2} | {:.2} | {} |",
        lags.len(),
        batches.lock().unwrap(),
        wall,
        cpu.map_or("n/a".to_string(), |c| format!("{:.1}", c * 1e6 / lags.len() as f64)),
        pct(&lags, 0.5),
        pct(&lags, 0.99),
        lags.last().copied().unwrap_or(0.0),
        over_frame
    );
}
