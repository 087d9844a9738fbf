//! The main screen through the window, continued: stopping mid-stream keeps the partial text and
//! what it cost; a follow-up turn sends each column its own thread (checked on what the fake
//! provider received); a restart restores everything, partial answers included; code is
//! highlighted and its Copy button really copies; the columns save as a preset that starts a new
//! conversation. A long conversation opens on its latest turns and loads earlier ones on request.

use tally_e2e::*;
use tally_fake_provider::{Flavour, Script};

const CODE_REPLY: &str = "Here you go:\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_keeps_partial_and_cost_follow_up_sends_own_history_restart_restores_and_presets_start_conversations() {
    let FakeSetup { fake, c, driver, home: _home } = FakeSetup::start(&[
        ("openai", "test-key-history-direct-0000", Flavour::OpenAi),
        ("openrouter", "test-key-history-routed-0000", Flavour::OpenRouter),
    ])
    .await;
    click(&c, "[data-testid=new-conversation]").await; // gpt-4o-mini direct and via OpenRouter

    // Turn 1: the direct column answers with code; the other streams slowly and is stopped.
    fake.push(Script { model: Some("gpt-4o-mini".into()), reply: Some(CODE_REPLY.into()), ..Default::default() });
    fake.push(Script { model: Some("openai/gpt-4o-mini".into()), tokens: Some(400), pace_ms: Some(40), ..Default::default() });
    type_into(&c, "[data-testid=prompt-input]", "Show me code").await;
    click(&c, "[data-testid=send]").await;
    until("the first answer done and the second streaming", || async {
        let status = attrs(&c, "[data-testid=answer]", "data-status").await;
        let second = props(&c, "[data-testid=answer-text]", "textContent").await.get(1).cloned().unwrap_or_default();
        (status == ["done", "streaming"] && second.contains("word3")).then_some(())
    })
    .await;
    click(&c, "[data-testid=stop]").await;
    until("stopped", || async { (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "stopped"]).then_some(()) }).await;
    let partial = props(&c, "[data-testid=answer-text]", "textContent").await[1].trim().to_string();
    assert!(partial.contains("word3") && !partial.contains("word399"), "partial text kept: {partial}");
    // The stopped answer still says what it used and cost (estimated: no usage arrived).
    let stopped_meta = text(&c, "[data-testid=answer][data-status=stopped] [data-testid=answer-meta]").await;
    assert!(stopped_meta.contains('≈') && stopped_meta.contains("out"), "{stopped_meta}");
    let stopped_cost = text(&c, "[data-testid=answer][data-status=stopped] [data-testid=answer-cost]").await;
    assert!(stopped_cost.starts_with('$') || stopped_cost.starts_with("≈$"), "{stopped_cost}");

    // Code is highlighted, and Copy puts exactly the code on the clipboard.
    find(&c, "[data-testid=answer-text] pre code.language-rust .hljs-keyword").await;
    click(&c, "[data-testid=copy-code]").await;
    until("copied", || async { (text(&c, "[data-testid=copy-code]").await == "Copied").then_some(()) }).await;
    find(&c, "[data-testid=prompt-input]").await.send_keys("\u{E009}v\u{E000}").await.unwrap(); // Ctrl+V
    let pasted = find(&c, "[data-testid=prompt-input]").await.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(pasted, "fn main() {\n    println!(\"hi\");\n}");

    // Turn 2: each column gets its own thread: its own earlier answer, partial one included.
    let answers = props(&c, "[data-testid=answer-text]", "textContent").await;
    let before = answer_requests(&fake).len();
    type_into(&c, "[data-testid=prompt-input]", "And now?").await;
    click(&c, "[data-testid=send]").await;
    until("turn 2 done", || async { (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "stopped", "done", "done"]).then_some(()) }).await;
    let sent: Vec<_> = answer_requests(&fake).into_iter().skip(before).collect();
    assert_eq!(sent.len(), 2);
    for r in &sent {
        let messages = r.body["messages"].as_array().unwrap();
        let roles: Vec<_> = messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["user", "assistant", "user"], "{}", r.body);
        assert_eq!(messages[0]["content"], "Show me code");
        assert_eq!(messages[2]["content"], "And now?");
        let own = messages[1]["content"].as_str().unwrap();
        if r.body["model"] == "gpt-4o-mini" {
            assert_eq!(own, CODE_REPLY, "the direct column's own answer");
        } else {
            assert!(own.contains("word3") && !own.contains("fn main"), "the routed column's own partial answer: {own}");
            // (the page shows it rendered; the thread carries the markdown: compare where it stopped)
            assert_eq!(own.split_whitespace().last(), answers[1].split_whitespace().last(), "sent up to where it stopped");
        }
    }
    let total_before = props(&c, "[data-testid=conversation-total-cost]", "textContent").await;

    // The columns become a preset, which starts a new conversation with the same columns.
    click(&c, "[data-testid=save-preset]").await;
    type_into(&c, "[data-testid=preset-name]", "Both routes").await;
    click(&c, "[data-testid=preset-save]").await;
    until("preset listed", || async { props(&c, "[data-testid=preset-start] .preset-name", "textContent").await.contains(&"Both routes".to_string()).then_some(()) }).await;
    click(&c, "[data-testid=preset-start]").await;
    until("a new conversation from the preset", || async {
        let items = texts(&c, "[data-testid=conversation-item]").await.len();
        let columns = props(&c, "[data-testid=column-header] .column-model", "textContent").await;
        (items == 2 && columns == ["gpt-4o-mini", "openai/gpt-4o-mini"] && texts(&c, "[data-testid=answer]").await.is_empty()).then_some(())
    })
    .await;
    let shot = page_screenshot(&c).await.unwrap();
    std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/chat-preset.png"), shot).ok();
    c.close().await.unwrap();

    // Restart: the first conversation comes back whole, the stopped answer with its partial text.
    let c = driver.session().await;
    until("two conversations", || async { (texts(&c, "[data-testid=conversation-item]").await.len() == 2).then_some(()) }).await;
    let items = c.find_all(fantoccini::Locator::Css("[data-testid=conversation-item]")).await.unwrap();
    items[1].click().await.unwrap(); // most recent first: the preset's conversation, then ours
    until("restored answers", || async { (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "stopped", "done", "done"]).then_some(()) }).await;
    let restored = props(&c, "[data-testid=answer-text]", "textContent").await;
    assert_eq!(restored[1].trim(), partial);
    assert!(restored[0].contains("println!"));
    assert_eq!(props(&c, "[data-testid=conversation-total-cost]", "textContent").await, total_before);
    find(&c, "[data-testid=answer-text] pre code .hljs-keyword").await;
    let shot = page_screenshot(&c).await.unwrap();
    std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/chat-restored.png"), shot).ok();
    c.close().await.unwrap();
}

/// A conversation longer than a page opens on its latest turns, with the whole conversation's
/// total; "Show earlier turns" loads the turns before them from the engine, in order, until the
/// first one is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_conversation_opens_on_its_latest_turns_and_loads_earlier_ones_on_request() {
    use tally_engine::pricing::Price;
    use tally_engine::store::{conversations, messages, Store};
    use tally_engine::stream::{Timing, Usage};
    use tally_engine::target::Target;
    use tally_engine::Decimal;

    assert!(std::env::var_os("TALLY_E2E_ISOLATED").is_some(), "run end-to-end tests through scripts/test.sh");
    // 65 turns on one column, written the way the turn runner writes them, before the app starts.
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("share").join(tally_engine::paths::APP_ID);
    std::fs::create_dir_all(&data).unwrap();
    let store = Store::open(&tally_engine::paths::database(&data)).unwrap();
    let price = Price { input: Decimal::new(15, 8), output: Decimal::new(6, 7), cached_input: None, cache_write: None, reasoning: None, request: None, tiers: Vec::new(), source: "test".into() };
    let total: Decimal = store
        .blocking(|c| {
            let id = conversations::create(c, "A long one", &[Target::parse("openai:gpt-4o-mini").unwrap()])?;
            for t in 0..65u64 {
                let turn = messages::start_turn(c, id, &format!("Prompt number {t}"))?;
                let col = &turn.columns[0];
                let usage = Usage { input_tokens: 100 + t, output_tokens: 20, ..Usage::default() };
                let timing = Timing { ttfb_ms: Some(90), ttft_ms: Some(120), total_ms: 400, ..Default::default() };
                messages::finish(c, &messages::Finished::done(id, col, format!("Answer number {t}"), usage, &price, timing))?;
            }
            Ok(c.query_row("SELECT total_cost FROM conversations WHERE id = ?1", [id], |r| r.get::<_, String>(0))?.parse().unwrap())
        })
        .unwrap();
    drop(store);

    let driver = Driver::start(home.path()).await;
    let c = driver.session().await;
    let prompts = || async { props(&c, "[data-testid=prompt-text]", "textContent").await.into_iter().map(|p| p.trim().to_string()).collect::<Vec<_>>() };
    let numbered = |from: u64, to: u64| (from..to).map(|t| format!("Prompt number {t}")).collect::<Vec<_>>();

    // The latest 30 turns, in order, and the total of all 65 answers (the stored total).
    until("the latest page", || async { (prompts().await == numbered(35, 65)).then_some(()) }).await;
    let answers = props(&c, "[data-testid=answer-text]", "textContent").await;
    assert_eq!(answers.first().map(|a| a.trim()), Some("Answer number 35"));
    assert_eq!(find(&c, "[data-testid=conversation-total]").await.attr("title").await.unwrap().as_deref(), Some(format!("${total} (exact)").as_str()));
    assert_eq!(text(&c, "[data-testid=show-earlier-turns]").await, "Show 30 earlier turns (35 not loaded)");

    // The reader scrolls up to the top of the conversation, where the button is.
    let to_top = || async { c.execute("document.querySelector('.columns-scroll').scrollTop = 0", vec![]).await.unwrap() };
    to_top().await;
    click(&c, "[data-testid=show-earlier-turns]").await;
    until("the page before", || async { (prompts().await == numbered(5, 65)).then_some(()) }).await;
    until("the button counts what is left", || async { (text(&c, "[data-testid=show-earlier-turns]").await == "Show 5 earlier turns (5 not loaded)").then_some(()) }).await;

    to_top().await;
    click(&c, "[data-testid=show-earlier-turns]").await;
    until("every turn", || async { (prompts().await == numbered(0, 65)).then_some(()) }).await;
    assert!(c.find_all(fantoccini::Locator::Css("[data-testid=show-earlier-turns]")).await.unwrap().is_empty(), "nothing earlier to load");
    let answers = props(&c, "[data-testid=answer-text]", "textContent").await;
    assert_eq!(answers.iter().map(|a| a.trim().to_string()).collect::<Vec<_>>(), (0..65).map(|t| format!("Answer number {t}")).collect::<Vec<_>>());
    c.close().await.unwrap();
}
