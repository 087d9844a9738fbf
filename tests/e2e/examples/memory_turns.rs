//! Memory of the app and its WebKit processes over 10 turns (or `MEMORY_TURNS`) of 8 columns ×
//! 2,000 tokens, driven through the real window (issue 12, "Memory"). Prints the memory after
//! 10 s idle, then after each turn (once its 8 answers are done and the page had 3 s to settle),
//! then 10 s after the last turn; then, in the same app, with another conversation open and with
//! the streamed one opened again from the history; last, the same turns opened in a new app
//! process. A benchmark, not a test: it asserts nothing about the figures.
//!
//! ```sh
//! scripts/package.sh      # or: cargo build --release (the app to measure)
//! TALLY_E2E_ISOLATED=1 TALLY_APP=$PWD/target/release/tally \
//!   scripts/with-desktop.sh cargo run -q -p tally-e2e --example memory_turns
//! ```
//!
//! The fake provider sends each answer at about 1,000 tokens/s per column
//! (`[[fake tokens=2000 pace_ms=1]]`). Memory is RSS and PSS (shared pages split between the
//! processes) of the app process and every process it started, read from /proc.
//!
//! Variants, for finding where memory goes: `MEMORY_FRESH=1` sends each turn in a new
//! comparison of its own (the page never shows more than one turn, so what still grows is kept
//! whatever is shown); `MEMORY_PROBES=1` also measures the streamed view after making its
//! answer boxes plain and after rebuilding each answer's DOM from its HTML; `MEMORY_PAGE=1`
//! prints what the page holds after every turn (elements, characters of answers, IPC callbacks
//! still registered: a channel never closed would stay there); `FRAME_STARTS=1`
//! prints, for each turn, the longest gap between frames in the 1.5 s from its Send;
//! `MEMORY_FAKE="tokens=1000 pace_ms=16"` changes what each answer is (the fake's directive;
//! the default is `tokens=2000 pace_ms=1`, ~1,000 tokens/s); `MEMORY_SMAPS=DIR` copies every
//! process's `/proc/PID/smaps` into DIR at each moment reported (`scripts/bench/smaps_sum.py`
//! sums them by kind of mapping).

use std::time::Duration;

use tally_e2e::*;
use tally_fake_provider::Flavour;

const MORE_COLUMNS: [&str; 6] = ["openai:gpt-4o", "openai:gpt-4.1-mini", "openai:gpt-4.1", "openai:gpt-4.1-nano", "openrouter:openai/gpt-4o", "openrouter:openai/gpt-4.1-mini"];

/// (pid, comm, rss KiB, pss KiB) of `pid` and its descendants.
fn tree(pid: u32) -> Vec<(u32, String, u64, u64)> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let rollup = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).unwrap_or_default();
        let field = |name: &str| rollup.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()).unwrap_or(0);
        let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default().trim().to_string();
        out.push((p, comm, field("Rss:"), field("Pss:")));
        todo.extend(child_pids(p));
    }
    out
}

/// The app process started by WebKitWebDriver: the one running our binary.
fn app_pid() -> u32 {
    app_pids().into_iter().next().expect("the app process")
}

fn report(label: &str, pid: u32) -> u64 {
    let t = tree(pid);
    let rss: u64 = t.iter().map(|p| p.2).sum();
    let pss: u64 = t.iter().map(|p| p.3).sum();
    let parts: Vec<String> = t.iter().map(|(_, n, r, p)| format!("{n} {}/{}", r / 1024, p / 1024)).collect();
    // MEMORY_SMAPS=DIR: each process's whole /proc/PID/smaps at each moment, to see which kind
    // of memory grew (the JavaScript heap, malloc's arenas, WebKit's allocator, files mapped).
    if let Some(dir) = std::env::var_os("MEMORY_SMAPS") {
        let slug: String = label.chars().map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' }).collect();
        for (p, comm, ..) in &t {
            let _ = std::fs::copy(format!("/proc/{p}/smaps"), std::path::Path::new(&dir).join(format!("{slug}.{comm}.smaps")));
        }
    }
    println!("| {label} | {} | {} | {} |", rss / 1024, pss / 1024, parts.join("; "));
    pss
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // MEMORY_TURNS: how many turns (10 unless set), to see whether what the page keeps beyond the
    // text levels off.
    let turns: usize = std::env::var("MEMORY_TURNS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let FakeSetup { c, fake: _fake, driver, home } =
        FakeSetup::start(&[("openai", "test-key-memory-openai-0000000", Flavour::OpenAi), ("openrouter", "test-key-memory-openrouter-00000", Flavour::OpenRouter)]).await;
    open_eight(&c).await;
    let pid = app_pid();
    tokio::time::sleep(Duration::from_secs(10)).await;
    println!("| moment | RSS MiB | PSS MiB | per process RSS/PSS MiB |\n|---|---|---|---|");
    let idle = report("idle, 8 columns open", pid);
    // MEMORY_FAKE: the fake's directive for each answer (how many tokens, how fast).
    let fake_directive = std::env::var("MEMORY_FAKE").unwrap_or_else(|_| "tokens=2000 pace_ms=1".into());
    let mut after_first = 0;
    // MEMORY_FRESH: each turn in a new comparison, so the page never shows more than one turn:
    // what still grows then is kept per turn whatever is shown.
    let fresh = std::env::var_os("MEMORY_FRESH").is_some();
    // FRAME_STARTS: also the frames while each turn starts (does a turn's start cost more as the
    // conversation grows?).
    let starts = std::env::var_os("FRAME_STARTS").is_some();
    let mut done_before = 0;
    for turn in 1..=turns {
        if fresh && turn > 1 {
            open_eight(&c).await;
            done_before = 0;
        }
        type_into(&c, "[data-testid=prompt-input]", &format!("Turn {turn}: write at length [[fake {fake_directive}]]")).await;
        if starts {
            // The frames for 1.5 s from the Send: the longest gap, as the turn is mounted.
            c.execute("const f = [performance.now()]; window.__starts = f; const t = () => { f.push(performance.now()); if (f[f.length - 1] - f[0] < 1500) requestAnimationFrame(t); }; requestAnimationFrame(t); return 0", vec![]).await.unwrap();
        }
        click(&c, "[data-testid=send]").await;
        let want = done_before + 8;
        done_before = want;
        until_long("8 answers done", || async {
            let done = attrs(&c, "[data-testid=answer]", "data-status").await.iter().filter(|s| s.as_str() == "done").count();
            (done >= want).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        if starts {
            let gaps = c.execute("const f = window.__starts; let m = 0, n = 0; for (let i = 1; i < f.length; i++) { const g = f[i] - f[i - 1]; m = Math.max(m, g); if (g > 50) n++; } return `longest gap ${Math.round(m)} ms, ${n} over 50 ms, in the 1.5 s from Send`", vec![]).await.unwrap();
            println!("turn {turn}: {}", gaps.as_str().unwrap_or_default());
        }
        let pss = report(&format!("after turn {turn}"), pid);
        if std::env::var_os("MEMORY_PAGE").is_some() {
            println!("page: {}", page_size(&c).await);
        }
        if turn == 1 {
            after_first = pss;
        }
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let last = report("10 s after the last turn", pid);
    println!("\nPSS growth: first turn {} MiB over idle; turns 2–{turns} {} MiB over the first", (after_first as i64 - idle as i64) / 1024, (last as i64 - after_first as i64) / 1024);
    println!("page: {}", page_size(&c).await);
    if std::env::var_os("MEMORY_PROBES").is_some() {
        // Diagnosis: what does the streamed view hold that the same view opened does not?
        // The answers' boxes no longer reversed (as opened ones are), then every answer's DOM
        // rebuilt from its own HTML (nodes made at once, as when opened).
        c.execute("document.querySelectorAll('.answer-scroll.follow').forEach((b) => b.classList.remove('follow')); return 0", vec![]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        report("probe: boxes no longer reversed, 10 s after", pid);
        c.execute("document.querySelectorAll('[data-testid=answer-text]').forEach((m) => { m.innerHTML = m.innerHTML; }); return 0", vec![]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        report("probe: answers' DOM rebuilt from their HTML, 10 s after", pid);
    }

    // The same app, the view built again: another conversation, then this one opened again from
    // the history. What the page then gives back was held by the streamed view itself (its DOM,
    // its state); what it keeps is the process's, whatever the view.
    click(&c, "[data-testid=new-conversation]").await;
    until("the new comparison", || async { attrs(&c, "[data-testid=answer]", "data-status").await.is_empty().then_some(()) }).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    report("same app, another conversation open, 10 s after", pid);
    if fresh {
        return; // each turn had its own conversation: there is no one streamed view to reopen
    }
    open_streamed(&c).await;
    until_long("every answer shown again", || async { (attrs(&c, "[data-testid=answer]", "data-status").await.iter().filter(|s| s.as_str() == "done").count() >= 8 * turns).then_some(()) }).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    report("same app, the conversation opened again, 10 s after", pid);
    println!("page: {}", page_size(&c).await);

    // What the text kept costs: the same turns opened from the history in a new app process
    // (rendered whole, no streaming behind them), measured the same way.
    c.close().await.unwrap();
    drop(driver);
    let driver = Driver::start(home.path()).await;
    let c = driver.session().await;
    open_streamed(&c).await;
    until_long("every answer shown", || async { (attrs(&c, "[data-testid=answer]", "data-status").await.iter().filter(|s| s.as_str() == "done").count() >= 8 * turns).then_some(()) }).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let reopened = report(&format!("the same {turns} turns opened in a new app, 10 s after"), app_pid());
    println!("page: {}", page_size(&c).await);
    println!("\nStreamed and kept: {} MiB PSS more than the same turns opened from the history", (last as i64 - reopened as i64) / 1024);
    c.close().await.unwrap();
}

/// A new comparison with eight columns.
async fn open_eight(c: &fantoccini::Client) {
    click(c, "[data-testid=new-conversation]").await;
    until("the new comparison", || async { (texts(c, "[data-testid=column-header]").await.len() == 2).then_some(()) }).await;
    for target in MORE_COLUMNS {
        add_column(c, target).await;
    }
    until("eight columns", || async { (texts(c, "[data-testid=column-header]").await.len() == 8).then_some(()) }).await;
}

/// Polls `check` every 500 ms for up to 15 minutes (the page may take long to catch up on a
/// loaded machine; this is a benchmark, not a timed assertion).
async fn until_long<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<()>>,
{
    for _ in 0..1800 {
        if check().await.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Opens the streamed conversation: the listed one with a cost (a new comparison, listed above
/// it while it is the newest, has none).
async fn open_streamed(c: &fantoccini::Client) {
    let items = until("the conversations listed", || async {
        let items = c.find_all(fantoccini::Locator::Css("[data-testid=conversation-item]")).await.ok()?;
        (!items.is_empty()).then_some(items)
    })
    .await;
    let mut streamed = None;
    for item in items {
        if !item.text().await.unwrap_or_default().contains("$0.00") {
            streamed = Some(item);
        }
    }
    streamed.expect("the streamed conversation in the sidebar").click().await.unwrap();
}

/// What the page holds: elements, characters of text in the answers, and the IPC callbacks
/// registered (each open channel has one).
async fn page_size(c: &fantoccini::Client) -> String {
    let v = c
        .execute("return document.getElementsByTagName('*').length + ' elements, ' + [...document.querySelectorAll('[data-testid=answer-text]')].reduce((n, e) => n + e.textContent.length, 0) + ' characters of answers, ' + document.querySelectorAll('[data-testid=answer-text] *').length + ' elements in answers, ' + (window.__TAURI_INTERNALS__.callbacks?.size ?? '?') + ' IPC callbacks registered'", vec![])
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_string()
}
