//! The main screen through the window, continued: stopping mid-stream keeps the partial text and
//! what it cost; a follow-up turn sends each column its own thread (checked on what the fake
//! provider received); a restart restores everything, partial answers included; code is
//! highlighted and its Copy button really copies; the columns save as a preset that starts a new
//! conversation.

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
