//! The frame probe: how the window keeps up with many fast streams, measured in the page.
//!
//! Starts the app (`TALLY_APP`, the release build in `scripts/bench/frame_probe.sh`) through
//! tauri-driver against the fake provider, and for each scenario opens a new comparison with N
//! columns and sends one prompt whose answers stream `tokens` tokens at `rate` tokens/s each
//! (in one scenario, after an earlier turn streamed the same way). Recorded in the page: the gaps between animation frames while the answers stream (p50, p95,
//! max, how many over 50 ms); the time from the provider's last byte (noted by the fake) to the
//! frame after the last answer's final render; then, on a second prompt, the time from the
//! press on Stop to the fake seeing every request cancelled, and to the frame after every answer
//! shows it stopped (on stderr, each hop: the page's handler, the engine's "Stop asked" and each
//! answer's dropped request, from the app's log). Last, 6 turns of ~117k-token prompts into 8
//! columns, from the Send click to the requests arriving at the fake ("send" alone runs only it).
//!
//! Prints one Markdown table row per scenario. Run through `scripts/bench/frame_probe.sh`.
//! `PROBE_VERBOSE=1` also prints each wait on the page and each long gap; with `PROBE_SCHED=1`,
//! what the scheduler saw in it (see [`Sched`]); `PROBE_GAP_MS` sets how long a gap must be.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fantoccini::Client;
use tally_e2e::*;
use tally_fake_provider::Flavour;

const TARGETS: [&str; 3] = ["openai:gpt-4o-mini", "openrouter:openai/gpt-4o-mini", "anthropic:claude-sonnet-4-5"];

/// Installed in the page before a prompt is sent: records every animation frame, and the frame
/// after the moment the `expect`-th answer on the page and all before it stopped streaming.
const PROBE: &str = r#"
const expect = arguments[0];
const p = window.__probe = { frames: [], running: true, endedAt: null, startedAt: Date.now() };
const cost = window.__tallyStreamCost;
if (cost) for (const k of Object.keys(cost)) cost[k] = Array.isArray(cost[k]) ? [] : 0;
const loop = (t) => { if (!p.running) return; p.frames.push(t); requestAnimationFrame(loop); };
p.perfStart = performance.now();
// When the Stop button was pressed, by the input event's own time (before any wait for the page;
// Tally acts on the press, lib/press.ts), and when the page got to handle it (its main thread
// may be busy rendering).
document.addEventListener('pointerdown', (e) => { if (e.target.closest?.('[data-testid=stop]')) { p.stopEvent = Math.round(performance.timeOrigin + e.timeStamp); p.stopHandled = Date.now(); } }, true);
requestAnimationFrame(loop);
const check = () => {
  if (p.endedAt !== null) return;
  const answers = document.querySelectorAll('[data-testid=answer]');
  if (answers.length < expect) return;
  for (const a of answers) if (a.dataset.status === 'streaming') return;
  p.pending = true;
  requestAnimationFrame(() => { if (p.endedAt === null) p.endedAt = Date.now(); });
};
p.observer = new MutationObserver(check);
p.observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
"#;

const COLLECT: &str = r#"
const p = window.__probe;
p.running = false;
p.observer.disconnect();
const gaps = [];
for (let i = 1; i < p.frames.length; i++) gaps.push(p.frames[i] - p.frames[i - 1]);
// The long gaps, each with when it began (ms after the probe started) and the streaming work
// over 16 ms that began inside it: what held the frame.
const cost = window.__tallyStreamCost ?? null;
const long = [];
for (let i = 1; i < p.frames.length; i++) {
  if (p.frames[i] - p.frames[i - 1] <= 50) continue;
  const inside = (cost?.long ?? []).filter((t) => t.at >= p.frames[i - 1] && t.at < p.frames[i]).map((t) => `${t.kind} ${t.ms}`);
  long.push(`${Math.round(p.frames[i - 1] - p.perfStart)}+${Math.round(p.frames[i] - p.frames[i - 1])}: ${inside.join(', ')}`);
}
// The same gaps by the clock (Unix ms), to line up with what the probe sampled outside the page.
const longAt = [];
for (let i = 1; i < p.frames.length; i++) if (p.frames[i] - p.frames[i - 1] > (arguments[0] ?? 50)) longAt.push([performance.timeOrigin + p.frames[i - 1], p.frames[i] - p.frames[i - 1]]);
return { gaps, long, longAt, endedAt: p.endedAt, startedAt: p.startedAt, stopEvent: p.stopEvent ?? null, stopHandled: p.stopHandled ?? null, cost };
"#;

/// Prints what the page spent on streaming and, with PROBE_VERBOSE, each long gap between frames
/// (with PROBE_SCHED, also what the scheduler says the main threads did meanwhile).
fn report_work(scenario: &str, when: &str, probe: &serde_json::Value, sched: Option<&Sched>) {
    let mut cost = probe["cost"].clone();
    if let Some(c) = cost.as_object_mut() {
        c.remove("long");
    }
    eprintln!("{scenario}: page work {when}: {cost}");
    if std::env::var_os("PROBE_VERBOSE").is_some() {
        for gap in probe["long"].as_array().into_iter().flatten() {
            eprintln!("  long gap at {}", gap.as_str().unwrap_or_default());
        }
        for gap in probe["longAt"].as_array().into_iter().flatten() {
            let (at, ms) = (gap[0].as_f64().unwrap_or(0.0), gap[1].as_f64().unwrap_or(0.0));
            if let Some(s) = sched {
                eprintln!("  gap of {ms:.0} ms at {at:.0}: {}", s.during(at, at + ms));
            }
        }
    }
}

/// PROBE_SCHED=1: samples, every 2 ms, how long the main threads of the app, its web process
/// and Xvfb have run and waited for a core (`/proc/.../schedstat`), and how many threads were
/// runnable on the machine, and every 50 ms how long every thread on the machine has run, so
/// that a long gap between frames can be told apart: the page's thread busy (WebKit's own work),
/// a main thread waiting for a core (and who had it), or idle (waiting on another process).
struct Sched {
    samples: Shared<Sample>,
    names: Vec<&'static str>,
    threads: Shared<(f64, ThreadTimes)>,
}

type Shared<T> = std::sync::Arc<std::sync::Mutex<Vec<T>>>;
/// (process, thread) → ("process name/thread name", ns run so far).
type ThreadTimes = std::collections::HashMap<(u32, u32), (String, u64)>;

struct Sample {
    /// Unix ms.
    at: f64,
    /// Of each main thread watched: (ns run, ns waited for a core) so far.
    main_threads: Vec<(u64, u64)>,
    runnable: u32,
    /// The machine's idle and stolen time (a virtual machine's cores taken by its host), in ticks.
    idle: u64,
    stolen: u64,
}

fn unix_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn proc_text(path: String) -> String {
    std::fs::read_to_string(path).unwrap_or_default().trim().to_string()
}

fn all_threads() -> ThreadTimes {
    let mut out = ThreadTimes::new();
    for p in proc_ids("/proc") {
        let pname = proc_text(format!("/proc/{p}/comm"));
        for t in proc_ids(&format!("/proc/{p}/task")) {
            let run = proc_text(format!("/proc/{p}/task/{t}/schedstat")).split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0);
            out.insert((p, t), (format!("{pname}/{}", proc_text(format!("/proc/{p}/task/{t}/comm"))), run));
        }
    }
    out
}

fn sample(pids: &[u32]) -> Sample {
    let main_threads = pids
        .iter()
        .map(|p| {
            let s = proc_text(format!("/proc/{p}/task/{p}/schedstat"));
            let mut f = s.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
            (f.next().unwrap_or(0), f.next().unwrap_or(0))
        })
        .collect();
    let stat = proc_text("/proc/stat".into());
    let runnable = stat.lines().find_map(|l| l.strip_prefix("procs_running ")?.trim().parse().ok()).unwrap_or(0);
    let cpu: Vec<u64> = stat.lines().next().unwrap_or_default().split_whitespace().skip(1).map(|v| v.parse().unwrap_or(0)).collect();
    let field = |i: usize| cpu.get(i).copied().unwrap_or(0);
    Sample { at: unix_ms(), main_threads, runnable, idle: field(3), stolen: field(7) }
}

/// Pushes `take()` into a new shared list every `every`, from a thread of its own.
fn sampled<T: Send + 'static>(every: Duration, take: impl Fn() -> T + Send + 'static) -> Shared<T> {
    let list: Shared<T> = Default::default();
    let into = list.clone();
    std::thread::spawn(move || loop {
        let v = take();
        into.lock().unwrap().push(v);
        std::thread::sleep(every);
    });
    list
}

impl Sched {
    fn start() -> Option<Sched> {
        std::env::var_os("PROBE_SCHED")?;
        let app = app_pids().into_iter().next()?;
        let web = web_process_pids().into_iter().next()?;
        let xvfb = proc_ids("/proc").into_iter().find(|p| proc_text(format!("/proc/{p}/comm")) == "Xvfb");
        let mut pids = vec![app, web];
        pids.extend(xvfb);
        let names = ["app", "page", "Xvfb"][..pids.len()].to_vec();
        let samples = sampled(Duration::from_millis(2), move || sample(&pids));
        let threads = sampled(Duration::from_millis(50), || (unix_ms(), all_threads()));
        Some(Sched { samples, names, threads })
    }

    /// What the main threads did between two Unix ms times, and the threads that ran most.
    fn during(&self, from: f64, to: f64) -> String {
        let samples = self.samples.lock().unwrap();
        let inside: Vec<&Sample> = samples.iter().filter(|s| s.at >= from && s.at <= to).collect();
        let (Some(first), Some(last)) = (inside.first(), inside.last()) else { return "no samples".into() };
        let ms = |ns: u64| ns as f64 / 1e6;
        let mut out: Vec<String> = first.main_threads.iter().zip(&last.main_threads).zip(&self.names).map(|((a, b), n)| format!("{n} ran {:.0} waited {:.0}", ms(b.0 - a.0), ms(b.1 - a.1))).collect();
        let tick = 1000.0 / 100.0; // ms per USER_HZ tick
        out.push(format!(
            "machine idle {:.0} stolen {:.0} ms, runnable ≤ {} (of {:.0} ms sampled)",
            (last.idle - first.idle) as f64 * tick,
            (last.stolen - first.stolen) as f64 * tick,
            inside.iter().map(|s| s.runnable).max().unwrap_or(0),
            last.at - first.at
        ));
        // From the sample before the gap to the one after it.
        let threads = self.threads.lock().unwrap();
        let before = threads.iter().rev().find(|t| t.0 <= from);
        let after = threads.iter().find(|t| t.0 >= to);
        if let (Some(b), Some(a)) = (before, after) {
            let mut ran: Vec<(u64, &str)> = a.1.iter().map(|(k, (n, r))| (r.saturating_sub(b.1.get(k).map_or(0, |x| x.1)), n.as_str())).filter(|x| x.0 > 1_000_000).collect();
            ran.sort_by_key(|x| std::cmp::Reverse(x.0));
            let top: Vec<String> = ran.iter().take(6).map(|(r, n)| format!("{n} {:.0}", ms(*r))).collect();
            out.push(format!("over {:.0} ms the threads that ran most: {}", a.0 - b.0, top.join(", ")));
        }
        out.join(", ")
    }
}

/// The gaps explained with PROBE_SCHED: those over PROBE_GAP_MS (50 unless set).
fn gap_threshold() -> serde_json::Value {
    serde_json::json!(std::env::var("PROBE_GAP_MS").ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(50.0))
}

fn now_ms() -> u64 {
    unix_ms() as u64
}

struct Scenario {
    name: &'static str,
    columns: usize,
    tokens: u64,
    rate: u64,
    prose: bool,
    /// Turns streamed to the end in the same comparison before the one measured.
    before: usize,
}

async fn open_comparison(c: &Client, columns: usize) {
    click(c, "[data-testid=new-conversation]").await;
    until("two columns", || async { (texts(c, "[data-testid=column-header]").await.len() == 2).then_some(()) }).await;
    if columns == 1 {
        let remove = c.find_all(fantoccini::Locator::Css("[data-testid=remove-column]")).await.unwrap();
        remove[1].click().await.unwrap();
    }
    for i in 2..columns {
        add_column(c, TARGETS[i % 3]).await;
    }
    until("the columns", || async { (texts(c, "[data-testid=column-header]").await.len() == columns).then_some(()) }).await;
}

async fn answers(c: &Client) -> usize {
    c.execute("return document.querySelectorAll('[data-testid=answer]').length", vec![]).await.unwrap().as_u64().unwrap() as usize
}

/// Waits with few calls into the page (each one is work on its main thread).
async fn wait_page(c: &Client, what: &str, script: &str) -> serde_json::Value {
    for _ in 0..600 {
        let asked = now_ms();
        let v = c.execute(script, vec![]).await.unwrap();
        if std::env::var_os("PROBE_VERBOSE").is_some() {
            eprintln!("  {what}: {v} (answered in {} ms)", now_ms() - asked);
        }
        if !v.is_null() && v != serde_json::Value::Bool(false) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Types the prompt, waits for its estimate (as a person reads what it would cost before
/// sending), then clicks Send.
async fn send(c: &Client, prompt: &str, expect: usize) {
    c.execute(PROBE, vec![serde_json::json!(expect)]).await.unwrap();
    type_into(c, "[data-testid=prompt-input]", prompt).await;
    until("the estimate", || async { (!texts(c, "[data-testid=estimate-total]").await.is_empty()).then_some(()) }).await;
    click(c, "[data-testid=send]").await;
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let only = std::env::args().nth(1);
    // Prose: answers as models write them (paragraphs, lists, code). One paragraph: the worst
    // case, a single block that never closes and is rendered again as it grows.
    let scenarios = [
        Scenario { name: "8 columns × 2,000 tokens at 62 tok/s, prose", columns: 8, tokens: 2000, rate: 62, prose: true, before: 0 },
        Scenario { name: "8 columns × 2,000 tokens at 1,000 tok/s, prose", columns: 8, tokens: 2000, rate: 1000, prose: true, before: 0 },
        Scenario { name: "1 column × 2,000 tokens at 2,000 tok/s, prose", columns: 1, tokens: 2000, rate: 2000, prose: true, before: 0 },
        Scenario { name: "8 columns × 2,000 tokens at 1,000 tok/s, one paragraph", columns: 8, tokens: 2000, rate: 1000, prose: false, before: 0 },
        // The same as the second, as the next turn of a comparison that already shows one.
        Scenario { name: "8 columns × 2,000 tokens at 1,000 tok/s, prose, second turn", columns: 8, tokens: 2000, rate: 1000, prose: true, before: 1 },
    ];
    let FakeSetup { fake, c, driver: _driver, home } = FakeSetup::start(&[
        ("openai", "test-key-probe-openai-000000", Flavour::OpenAi),
        ("openrouter", "test-key-probe-openrouter-00", Flavour::OpenRouter),
        ("anthropic", "test-key-probe-anthropic-000", Flavour::Anthropic),
    ])
    .await;
    println!("| scenario | frames | gap p50 ms | gap p95 ms | gap max ms | gaps > 50 ms | provider's last byte → UI done ms | Stop press → requests cancelled ms | Stop press → all shown stopped ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let chosen = |s: &&Scenario| match &only {
        Some(o) => s.name.contains(o.as_str()),
        None => true,
    };
    let sched = Sched::start();
    for s in scenarios.iter().filter(chosen) {
        open_comparison(&c, s.columns).await;
        let prose = if s.prose { " prose=1" } else { "" };
        for turn in 0..s.before {
            let expect = answers(&c).await + s.columns;
            send(&c, &format!("Turn {turn} [[fake tokens={} rate={}{prose}]]", s.tokens, s.rate), expect).await;
            wait_page(&c, "the earlier turn to end", "return window.__probe.endedAt !== null").await;
            c.execute(COLLECT, vec![gap_threshold()]).await.unwrap();
        }

        // Streamed to the end.
        let expect = answers(&c).await + s.columns;
        let first_request = fake.requests().len();
        send(&c, &format!("Write at length [[fake tokens={} rate={}{prose}]]", s.tokens, s.rate), expect).await;
        wait_page(&c, "the answers to end", "return window.__probe.endedAt !== null").await;
        let probe = c.execute(COLLECT, vec![gap_threshold()]).await.unwrap();
        let mut gaps: Vec<f64> = probe["gaps"].as_array().unwrap().iter().filter_map(|g| g.as_f64()).collect();
        gaps.sort_by(|a, b| a.total_cmp(b));
        let ended_at = probe["endedAt"].as_u64().unwrap();
        report_work(s.name, "while streaming", &probe, sched.as_ref());
        let last_byte = fake.requests()[first_request..].iter().filter_map(|r| r.last_byte_ms).max().expect("the fake noted its last byte");

        // Stopped midway: the click, then every answer showing it stopped.
        let expect = answers(&c).await + s.columns;
        let stop_request = fake.requests().len();
        // Ten times as long, so that it is stopped midway. (It was 100×: the fake writes the
        // whole answer before streaming it, 8 × 200,000 tokens in this unoptimised binary, and
        // that took the cores from the app as the stop came: gaps of 51–81 ms, PROBE_SCHED.)
        send(&c, &format!("Again [[fake tokens={} rate={}{prose}]]", s.tokens * 10, s.rate), expect).await;
        let sent_at = now_ms();
        let streaming_with_text = format!(
            "const a = [...document.querySelectorAll('[data-testid=answer]')].slice(-{n}); return a.length === {n} && a.every(x => x.dataset.status === 'streaming' && x.textContent.includes('word20'))",
            n = s.columns
        );
        wait_page(&c, "text in every answer", &streaming_with_text).await;
        eprintln!("{}: Stop clicked {} ms after sending", s.name, now_ms() - sent_at);
        let clicked = now_ms();
        click(&c, "[data-testid=stop]").await;
        wait_page(&c, "every answer stopped", "return window.__probe.endedAt !== null").await;
        let after_stop = c.execute(COLLECT, vec![gap_threshold()]).await.unwrap();
        report_work(s.name, "until stopped", &after_stop, sched.as_ref());
        let stopped = after_stop["endedAt"].as_u64().unwrap();
        // When the fake saw each stopped request cancelled by the engine, and the last of them.
        let left: Vec<u64> = fake.requests()[stop_request..].iter().filter_map(|r| r.client_left_ms).collect();
        let cancelled = left.iter().copied().max().expect("the fake saw the requests cancelled");
        // WebDriver's click waits for the page several times before the press is dispatched;
        // a person's press is one input event. Both are printed; the table has the event's.
        let event = after_stop["stopEvent"].as_u64().unwrap_or(clicked);
        let handled = after_stop["stopHandled"].as_u64().unwrap_or(event);
        let each: Vec<i64> = left.iter().map(|&t| t as i64 - event as i64).collect();
        eprintln!("{}: Stop: the fake saw each request cancelled at {each:?} ms after the press", s.name);
        eprintln!("{}: Stop: WebDriver click call → press event {} ms; event → page handler {} ms, → requests cancelled {} ms, → shown stopped {} ms", s.name, event as i64 - clicked as i64, handled as i64 - event as i64, cancelled as i64 - event as i64, stopped as i64 - event as i64);
        let logs = home.path().join("share/dev.tally.desktop/logs");
        let asked = engine_logged(&logs, "Stop asked", event).first().copied();
        let answers_stopped = engine_logged(&logs, "answer stopped", event);
        eprintln!(
            "{}: Stop: event (at {event} ms Unix time) → the engine asked {:?} ms, → every answer's request dropped {:?} ms ({} answers)",
            s.name,
            asked.map(|t| t - event as i64),
            answers_stopped.last().map(|t| t - event as i64),
            answers_stopped.len()
        );

        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |",
            s.name,
            gaps.len() + 1,
            percentile(&gaps, 0.5),
            percentile(&gaps, 0.95),
            gaps.last().copied().unwrap_or(0.0),
            gaps.iter().filter(|g| **g > 50.0).count(),
            ended_at as i64 - last_byte as i64,
            cancelled as i64 - event as i64,
            stopped as i64 - event as i64,
        );
    }
    if only.as_deref().is_none_or(|o| o.contains("send")) {
        send_long_prompts(&c, &fake, home.path()).await;
    }
    c.close().await.unwrap();
}

/// Records when the Send button's click happened (its input event's own time), in the page.
const SEND_CLICK: &str = r#"
window.__sendEvent = null;
document.addEventListener('click', (e) => { if (e.target.closest?.('[data-testid=send]')) window.__sendEvent = Math.round(performance.timeOrigin + e.timeStamp); }, { capture: true, once: true });
const t = document.querySelector('[data-testid=prompt-input]');
t.value = arguments[0];
t.dispatchEvent(new Event('input', { bubbles: true }));
"#;

/// Sending into long threads (issue 12: "sending does not wait for counting"): 6 turns of one
/// 8-column conversation whose prompts are ~117k tokens each, then 3 one-line follow-ups, timed
/// from the Send click's input event to the first and to the last of the 8 requests arriving at
/// the provider (their headers). Answers are short, so the threads grow by the prompts.
async fn send_long_prompts(c: &Client, fake: &tally_fake_provider::FakeProvider, home: &std::path::Path) {
    open_comparison(c, 8).await;
    let sentences: Vec<String> = (0..5_350).map(|i| format!("Sentence {i}: the model weighed option {} against plan {} and wrote {} careful words.", i * 7 % 1000, i % 97, i % 13 + 2)).collect();
    let filler = sentences.join(" ");
    let tokens = tally_engine::tokens::count_content(tally_engine::tokens::Encoding::O200kBase, &filler);
    println!("\n| turn | prompt tokens (o200k) | thread per column, tokens | Send click → first request ms | → all 8 requests ms |");
    println!("|---:|---:|---:|---:|---:|");
    // Then 3 one-line follow-ups on those ~700k-token threads: the usual next message.
    let short = ["Summarise the above in one line.", "Which option came up most often?", "Thanks, that is all."];
    let mut thread = 0;
    for turn in 1..=9u64 {
        let expect = answers(c).await + 8;
        let first = fake.requests().len();
        let (text, tokens) = match turn.checked_sub(7).and_then(|i| short.get(i as usize)) {
            Some(line) => (line.to_string(), tally_engine::tokens::count_content(tally_engine::tokens::Encoding::O200kBase, line)),
            None => (format!("Turn {turn}. {filler}"), tokens),
        };
        thread += tokens;
        c.execute(PROBE, vec![serde_json::json!(expect)]).await.unwrap();
        c.execute(SEND_CLICK, vec![serde_json::json!(format!("{text} [[fake tokens=20 pace_ms=0]]"))]).await.unwrap();
        if turn == 1 {
            // A person takes a few seconds to write the first prompt; what the app starts when
            // typing begins (the token table, the keys) has that long.
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        click(c, "[data-testid=send]").await;
        let sent_at = now_ms();
        while fake.requests().len() < first + 8 {
            if now_ms() - sent_at > 120_000 {
                let said = c.execute("return [...document.querySelectorAll('[role=alert], [role=status], [role=dialog]')].map(e => e.textContent.trim()).join(' | ')", vec![]).await.unwrap();
                std::fs::write("target/frame-probe-send.png", page_screenshot(c).await.unwrap()).unwrap();
                panic!("turn {turn}: {} of 8 requests after 2 minutes; the page says: {said} (target/frame-probe-send.png)", fake.requests().len() - first);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        wait_page(c, "the answers to end", "return window.__probe.endedAt !== null").await;
        let event = c.execute("return window.__sendEvent", vec![]).await.unwrap().as_u64().expect("the Send click was seen");
        let arrived: Vec<u64> = fake.requests()[first..].iter().map(|r| r.received_ms).collect();
        let (earliest, latest) = (arrived.iter().min().copied().unwrap_or(0), arrived.iter().max().copied().unwrap_or(0));
        println!("| {turn} | {tokens} | ≈{thread} | {} | {} |", earliest as i64 - event as i64, latest as i64 - event as i64);
        let logs = home.join("share/dev.tally.desktop/logs");
        let steps: Vec<String> = ["turn.plan", "turn.budget", "turn.start"].iter().map(|s| format!("{s} ended {:?}", engine_logged(&logs, s, event).first().map(|t| t - event as i64))).collect();
        eprintln!("turn {turn}: from the Send click: {}", steps.join(", "));
    }
}

/// When the app's log file has `what` at or after `since` (Unix ms), as Unix ms, oldest first.
/// The log's lines start with an RFC 3339 UTC time (tracing's default); only the time of day is
/// read, against `since`'s day, which is enough for a run that does not cross midnight.
fn engine_logged(dir: &std::path::Path, what: &str, since: u64) -> Vec<i64> {
    let day = since as i64 - since as i64 % 86_400_000;
    let mut times: Vec<i64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .flat_map(|text| text.lines().filter(|l| l.contains(what)).filter_map(|l| l.split_once('T')?.1.get(..12).map(str::to_string)).collect::<Vec<_>>())
        .filter_map(|hms| {
            let (h, m, s) = (hms.get(..2)?.parse::<i64>().ok()?, hms.get(3..5)?.parse::<i64>().ok()?, hms.get(6..12)?.parse::<f64>().ok()?);
            Some(day + (h * 3600 + m * 60) * 1000 + (s * 1000.0) as i64)
        })
        .filter(|t| *t >= since as i64 - 1000)
        .collect();
    times.sort();
    times
}
