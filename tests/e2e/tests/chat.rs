//! The main screen through the window: three columns streaming at different paces with one
//! failing and then retried, a hostile answer rendered inert, cheapest and fastest marked, Pair
//! adding the same model on the other route, and conversations renamed, deleted, undone, searched.

use tally_e2e::*;
use tally_fake_provider::{Flavour, Script};

const HOSTILE: &str = "Hi <script>window.__pwned = 1</script> <img src=x onerror=\"window.__pwned = 2\"> [click](javascript:window.__pwned=3) <a href=\"javascript:window.__pwned=4\">there</a> **bold**";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_columns_one_failing_then_retried_hostile_text_inert_and_conversations_managed() {
    let FakeSetup { fake, c, driver: _driver, home: _home } = FakeSetup::start(&[
        ("openai", "test-key-chat-openai-000000", Flavour::OpenAi),
        ("openrouter", "test-key-chat-openrouter-0000", Flavour::OpenRouter),
        ("anthropic", "test-key-chat-anthropic-00000", Flavour::Anthropic),
    ])
    .await;

    click(&c, "[data-testid=new-conversation]").await;
    add_column(&c, "anthropic:claude-sonnet-4-5").await;
    until("three columns", || async { (texts(&c, "[data-testid=column-header]").await.len() == 3).then_some(()) }).await;

    // Different paces, one refusal, one hostile answer.
    fake.push(Script { model: Some("gpt-4o-mini".into()), tokens: Some(30), pace_ms: Some(3), ..Default::default() });
    fake.push(Script { model: Some("openai/gpt-4o-mini".into()), status: Some(401), ..Default::default() });
    fake.push(Script { model: Some("claude-sonnet-4-5".into()), reply: Some(HOSTILE.into()), pace_ms: Some(25), ..Default::default() });
    type_into(&c, "[data-testid=prompt-input]", "Compare please").await;
    click(&c, "[data-testid=send]").await;
    until("all three answers ended", || async {
        (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "failed", "done"]).then_some(())
    })
    .await;
    let failed = text(&c, "[data-testid=answer][data-status=failed] [data-testid=answer-error]").await;
    assert!(failed.contains("OpenRouter rejected the API key"), "{failed}");

    // The hostile answer is inert: no script, no handler, no javascript: link, nothing ran.
    let html: String = c
        .execute("return document.querySelectorAll('[data-testid=answer-text]')[2].innerHTML", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    assert!(html.contains("<strong>bold</strong>"), "markdown rendered: {html}");
    assert!(!html.contains("<script") && !html.contains("onerror") && !html.contains("javascript:"), "{html}");
    for link in c.find_all(fantoccini::Locator::Css("[data-testid=answer-text] a")).await.unwrap() {
        link.click().await.unwrap();
    }
    let pwned = c.execute("return window.__pwned === undefined ? 'clean' : String(window.__pwned)", vec![]).await.unwrap();
    assert_eq!(pwned, "clean");

    // Retry the failed column: it streams in place and succeeds.
    click(&c, "[data-testid=retry-answer]").await;
    until("the retried answer", || async {
        (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "done", "done"]).then_some(())
    })
    .await;
    assert_eq!(texts(&c, "[data-testid=answer]").await.len(), 3, "the retry replaced the failed answer");

    // Cheapest and fastest are marked; Pair adds Claude via OpenRouter.
    until("marks", || async { (texts(&c, "[data-testid=mark-cheapest]").await.len() == 1).then_some(()) }).await;
    assert_eq!(texts(&c, "[data-testid=mark-fastest]").await.len(), 1);
    let pair = c.find_all(fantoccini::Locator::Css("[data-testid=pair-column]")).await.unwrap();
    assert_eq!(pair.len(), 1, "only Claude lacks its twin here");
    pair[0].click().await.unwrap();
    until("four columns", || async {
        texts(&c, "[data-testid=column-header] .column-path").await.last().filter(|p| p.as_str() == "via OpenRouter → Anthropic").map(|_| ())
    })
    .await;
    let shot = page_screenshot(&c).await.unwrap();
    std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/chat-4-columns.png"), shot).ok();

    // A column's own system prompt reaches its provider; a paused column sits out; order changes.
    click(&c, "[data-testid=column-settings]").await;
    type_into(&c, "[data-testid=column-system]", "Answer in French.").await;
    type_into(&c, "[data-testid=column-max-tokens]", "0").await;
    click(&c, "[data-testid=column-settings-save]").await;
    find(&c, "[data-testid=column-settings-form] [role=alert]").await;
    type_into(&c, "[data-testid=column-max-tokens]", "64").await;
    click(&c, "[data-testid=column-settings-save]").await;
    until("settings saved", || async { c.find(fantoccini::Locator::Css("[data-testid=column-settings-form]")).await.is_err().then_some(()) }).await;
    let pauses = c.find_all(fantoccini::Locator::Css("[data-testid=pause-column]")).await.unwrap();
    pauses[3].click().await.unwrap(); // Claude via OpenRouter sits out
    until("paused", || async { texts(&c, ".pause-toggle").await.iter().any(|t| t.contains("Paused")).then_some(()) }).await;
    let before = answer_requests(&fake).len();
    click(&c, "[data-testid=edit-last-prompt]").await;
    assert_eq!(find(&c, "[data-testid=prompt-input]").await.prop("value").await.unwrap().as_deref(), Some("Compare please"));
    find(&c, "[data-testid=prompt-input]").await.send_keys(" again\u{E007}").await.unwrap();
    until("the second turn", || async {
        (attrs(&c, "[data-testid=answer]", "data-status").await.iter().filter(|s| s.as_str() == "done").count() == 6).then_some(())
    })
    .await;
    let sent: Vec<_> = answer_requests(&fake).into_iter().skip(before).collect();
    assert_eq!(sent.len(), 3, "the paused column sat out");
    let first = sent.iter().find(|r| r.path == "/v1/chat/completions").unwrap();
    assert_eq!(first.body["messages"][0], serde_json::json!({"role": "system", "content": "Answer in French."}));
    assert_eq!(first.body["max_completion_tokens"], 64);
    assert_eq!(first.body["messages"].as_array().unwrap().last().unwrap()["content"], "Compare please again");
    click(&c, "[data-testid=move-right]").await;
    until("moved", || async {
        props(&c, "[data-testid=column-header] .column-model", "textContent").await.first().filter(|m| m.as_str() == "openai/gpt-4o-mini").map(|_| ())
    })
    .await;

    // Rename, delete with undo, search.
    click(&c, "[data-testid=chat-title]").await;
    // Erase and type over it, as a person does (a WebDriver clear would blur, which saves).
    let erase = "\u{E003}".repeat(40);
    find(&c, "[data-testid=title-input]").await.send_keys(&format!("{erase}Routes compared\u{E007}")).await.unwrap();
    // (textContent: WebKitWebDriver reports no visible text for an ellipsized span.)
    until("renamed in the list", || async { props(&c, ".conversation-title", "textContent").await.contains(&"Routes compared".to_string()).then_some(()) }).await;
    assert_eq!(props(&c, "[data-testid=chat-title]", "textContent").await, ["Routes compared"]);
    click(&c, "[data-testid=delete-conversation]").await;
    until("deleted", || async { texts(&c, "[data-testid=conversation-item]").await.is_empty().then_some(()) }).await;
    click(&c, "[data-testid=undo-delete-button]").await;
    until("restored", || async { (texts(&c, "[data-testid=answer]").await.len() == 6).then_some(()) }).await;
    type_into(&c, "[data-testid=conversation-search]", "no such words anywhere").await;
    until("nothing matches", || async { texts(&c, "[data-testid=conversation-item]").await.is_empty().then_some(()) }).await;
    type_into(&c, "[data-testid=conversation-search]", "word7").await; // only in the streamed answers
    until("found by an answer's text", || async { (texts(&c, "[data-testid=conversation-item]").await.len() == 1).then_some(()) }).await;
    c.close().await.unwrap();
}
