//! Eight long answers at once through the window: they fit at 1280×800 without sideways
//! scrolling, the running figures show "≈" while they stream, and Stop — all of them, one
//! answer, and Esc — ends the streams at once: every answer keeps what arrived and is billed for
//! far fewer tokens than were asked for.

use tally_e2e::*;
use tally_fake_provider::Flavour;

/// Tokens each answer would stream if nobody stopped it: 400 s at 250 tokens/s, so that the
/// checks below see them streaming however slow the machine is (each WebDriver call waits for
/// the page, and on a loaded 2-core machine the first turn's checks took over 80 s), and Stop
/// ends them long before half of it.
const ASKED: u64 = 100_000;

const TARGETS: [&str; 3] = ["openai:gpt-4o-mini", "openrouter:openai/gpt-4o-mini", "anthropic:claude-sonnet-4-5"];

async fn shot(c: &fantoccini::Client, name: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../target/e2e/{name}.png"));
    if let Ok(png) = page_screenshot(c).await {
        let _ = std::fs::create_dir_all(path.parent().unwrap());
        std::fs::write(path, png).ok();
    }
}

/// The output tokens each answer's footer shows ("≈123 tok out" → 123).
async fn output_tokens(c: &fantoccini::Client) -> Vec<u64> {
    let shown = props(c, "[data-testid=answer-meta] [data-testid=output-tokens]", "textContent").await;
    shown.iter().map(|s| s.chars().filter(char::is_ascii_digit).collect::<String>().parse().unwrap_or(u64::MAX)).collect()
}

/// Whether every answer box that overflows (rows layout) shows the end of its text, and at
/// least one overflows.
async fn boxes_at_end(c: &fantoccini::Client) -> bool {
    let gaps = c
        .execute(
            "return [...document.querySelectorAll('.answer-scroll')].filter(b => b.scrollHeight > b.clientHeight + 10).map(b => Math.round(b.firstElementChild.getBoundingClientRect().bottom - b.getBoundingClientRect().bottom))",
            vec![],
        )
        .await
        .unwrap();
    let gaps: Vec<i64> = gaps.as_array().unwrap().iter().filter_map(|g| g.as_i64()).collect();
    !gaps.is_empty() && gaps.iter().all(|g| g.abs() <= 2)
}

async fn statuses(c: &fantoccini::Client) -> Vec<String> {
    attrs(c, "[data-testid=answer]", "data-status").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_fast_streams_fit_show_running_costs_and_stop_at_once() {
    let FakeSetup { fake, c, driver: _driver, home: _home } = FakeSetup::start(&[
        ("openai", "test-key-stream-openai-00000", Flavour::OpenAi),
        ("openrouter", "test-key-stream-openrouter-0", Flavour::OpenRouter),
        ("anthropic", "test-key-stream-anthropic-00", Flavour::Anthropic),
    ])
    .await;
    click(&c, "[data-testid=new-conversation]").await; // two columns to start with
    for i in 0..6 {
        add_column(&c, TARGETS[i % 3]).await;
        until("the column added", || async { (texts(&c, "[data-testid=column-header]").await.len() == 3 + i).then_some(()) }).await;
    }

    // Turn 1: 8 answers at 250 tokens/s each; Stop all once every one has text.
    type_into(&c, "[data-testid=prompt-input]", &format!("Write at length [[fake tokens={ASKED} rate=250]]")).await;
    click(&c, "[data-testid=send]").await;
    until("8 answers streaming with text", || async {
        let texts = props(&c, "[data-testid=answer-text]", "textContent").await;
        (statuses(&c).await.iter().filter(|s| s.as_str() == "streaming").count() == 8 && texts.iter().all(|t| t.contains("word2"))).then_some(())
    })
    .await;
    // While they stream: running figures, marked "≈", in the header, the columns and the sidebar.
    until("running figures", || async {
        let total = text(&c, "[data-testid=conversation-total-cost]").await;
        let columns = props(&c, "[data-testid=column-total]", "textContent").await;
        let sidebar = props(&c, "[data-testid=conversation-cost]", "textContent").await;
        (total.starts_with("≈$") && columns.len() == 8 && columns.iter().all(|t| t.starts_with("≈$") && t != "≈$0.00") && sidebar.first().is_some_and(|s| s.starts_with("≈$")))
            .then_some(())
    })
    .await;
    // All eight fit: no sideways scrolling at 1280×800.
    let fits = c
        .execute("const s = document.querySelector('.columns-scroll'); return [s.scrollWidth, s.clientWidth, window.innerWidth]", vec![])
        .await
        .unwrap();
    let [scroll, client, window] = [0, 1, 2].map(|i| fits[i].as_u64().unwrap());
    assert!(scroll <= client, "the columns scroll sideways: {scroll} px in {client} px (window {window} px)");
    // In rows, each answer scrolls in its own box, which shows the streaming end of the text.
    until("every box at its end", || async { boxes_at_end(&c).await.then_some(()) }).await;
    shot(&c, "streaming-8-columns").await;
    // A reader who scrolls up in a streaming box keeps their place while the text grows below.
    let at_top = "const b = document.querySelectorAll('.answer-scroll')[0]; const r = b.getBoundingClientRect(); \
                  const e = document.elementFromPoint(r.left + 20, r.top + 30); \
                  return [b.classList.contains('unpinned'), b.scrollHeight, e ? Math.round(e.getBoundingClientRect().top - r.top) : null, e ? e.textContent.slice(0, 40) : null]";
    c.execute("const b = document.querySelectorAll('.answer-scroll')[0]; b.scrollTop = -b.clientHeight;", vec![]).await.unwrap();
    let before = until("the box unpinned", || async {
        let v = c.execute(at_top, vec![]).await.unwrap();
        (v[0] == serde_json::Value::Bool(true)).then_some(v)
    })
    .await;
    let after = until("more text below", || async {
        let v = c.execute(at_top, vec![]).await.unwrap();
        (v[1].as_u64() > before[1].as_u64().map(|h| h + 200)).then_some(v)
    })
    .await;
    assert_eq!((&after[0], &after[2], &after[3]), (&before[0], &before[2], &before[3]), "the text under the reader did not move");
    // Back at the end, the box follows the text again.
    c.execute("const b = document.querySelectorAll('.answer-scroll')[0]; b.scrollTop = b.scrollHeight;", vec![]).await.unwrap();
    until("the box pinned again", || async { (c.execute(at_top, vec![]).await.unwrap()[0] == serde_json::Value::Bool(false)).then_some(()) }).await;
    until("every box at its end again", || async { boxes_at_end(&c).await.then_some(()) }).await;

    click(&c, "[data-testid=stop]").await;
    until("every answer stopped", || async { statuses(&c).await.iter().all(|s| s == "stopped").then_some(()) }).await;
    let requests = answer_requests(&fake);
    assert_eq!(requests.len(), 8);
    assert!(requests.iter().all(|r| r.client_left_ms.is_some() && r.last_byte_ms.is_none()), "each request was cancelled, none ran to its end");
    let billed = output_tokens(&c).await;
    assert_eq!(billed.len(), 8, "every stopped answer shows its tokens");
    assert!(billed.iter().all(|&n| n > 0 && n < ASKED / 2), "billed for what arrived, far below {ASKED}: {billed:?}");
    assert!(boxes_at_end(&c).await, "a stopped answer's box stays at its end");
    let stopped = texts(&c, "[data-testid=answer-error]").await;
    assert!(stopped.iter().all(|t| t.matches("Stopped").count() == 1), "said once: {stopped:?}");
    assert!(!text(&c, "[data-testid=conversation-total-cost]").await.starts_with('≈'), "exact once nothing streams");
    shot(&c, "streaming-8-stopped").await;

    // Turn 2: one answer stopped on its own, then Esc stops the rest.
    let before = answer_requests(&fake).len();
    type_into(&c, "[data-testid=prompt-input]", &format!("Again [[fake tokens={ASKED} rate=200]]")).await;
    click(&c, "[data-testid=send]").await;
    until("the second turn streaming with text", || async {
        let texts = props(&c, "[data-testid=answer-text]", "textContent").await;
        (statuses(&c).await[8..].iter().all(|s| s == "streaming") && texts[8..].iter().all(|t| t.contains("word2"))).then_some(())
    })
    .await;
    let stop_one = c.find_all(fantoccini::Locator::Css("[data-testid=stop-answer]")).await.unwrap();
    stop_one[0].click().await.unwrap();
    until("one answer stopped", || async { (statuses(&c).await[8] == "stopped").then_some(()) }).await;
    assert!(statuses(&c).await[9..].iter().all(|s| s == "streaming"), "the others go on");
    find(&c, "[data-testid=prompt-input]").await.send_keys("\u{E00C}").await.unwrap(); // Esc
    until("every answer of turn 2 stopped", || async { statuses(&c).await[8..].iter().all(|s| s == "stopped").then_some(()) }).await;
    let billed = output_tokens(&c).await;
    assert!(billed[8..].iter().all(|&n| n > 0 && n < ASKED / 2), "{billed:?}");
    assert_eq!(answer_requests(&fake).len() - before, 8, "one request per column, none repeated");
    c.close().await.unwrap();
}
