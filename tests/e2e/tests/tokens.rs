//! What a prompt costs, through the window: the compose box's live estimate (exact count for an
//! OpenAI model), where the tokens go, the cost outlook after a turn (projection, re-price,
//! estimate accuracy), and prompt variants sent side by side.

use tally_e2e::*;
use tally_engine::tokens::{count_chat, ChatItem};
use tally_fake_provider::Flavour;

const PROMPT: &str = "Summarise the plot of Hamlet in two sentences.\n\nThen name the three main characters.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estimate_while_typing_breakdown_outlook_and_variants() {
    let FakeSetup { fake, c, driver: _driver, home: _home } = FakeSetup::start(&[
        ("openai", "test-key-tokens-direct-00000", Flavour::OpenAi),
        ("openrouter", "test-key-tokens-routed-00000", Flavour::OpenRouter),
    ])
    .await;
    click(&c, "[data-testid=new-conversation]").await; // gpt-4o-mini direct and via OpenRouter

    // The estimate appears while typing, counted exactly as the API will (chat overhead included).
    // Two paragraphs, typed as a person does (Shift+Enter makes a new line; Enter would send).
    type_into(&c, "[data-testid=prompt-input]", "Summarise the plot of Hamlet in two sentences.").await;
    find(&c, "[data-testid=prompt-input]").await.send_keys("\u{E008}\u{E007}\u{E007}").await.unwrap();
    find(&c, "[data-testid=prompt-input]").await.send_keys("Then name the three main characters.").await.unwrap();
    assert_eq!(props(&c, "[data-testid=prompt-input]", "value").await, [PROMPT]);
    let expected = count_chat("openai:gpt-4o-mini", &[ChatItem::new("user", PROMPT)]);
    assert!(expected.exact);
    let want = format!("{} tok in", expected.tokens);
    until("the estimate", || async { (props(&c, "[data-testid=estimate-input]", "textContent").await == [want.clone(), want.clone()]).then_some(()) }).await;
    let costs = props(&c, "[data-testid=estimate-cost]", "textContent").await;
    assert!(costs.iter().all(|c| c.starts_with('$')), "priced, exactly (no ≈) for gpt-4o-mini: {costs:?}");
    let total = props(&c, "[data-testid=estimate-total]", "textContent").await;
    assert!(total[0].contains("this turn"), "{total:?}");

    // Where the tokens go: the new text and its two paragraphs, summing to the request.
    click(&c, "[data-testid=open-breakdown]").await;
    let want_total = format!("{} input tokens", expected.tokens);
    until("the breakdown", || async { (props(&c, "[data-testid=breakdown-total]", "textContent").await == [want_total.clone()]).then_some(()) }).await;
    assert_eq!(texts(&c, "[data-testid=breakdown-part]").await.len(), 1, "only the new text on a fresh conversation");
    assert_eq!(texts(&c, "[data-testid=breakdown-paragraph]").await.len(), 2);
    let shot = page_screenshot(&c).await.unwrap();
    std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/tokens-breakdown.png"), shot).ok();
    click(&c, "[data-testid=drawer-close]").await;

    // Send; then the cost outlook works from what was measured.
    click(&c, "[data-testid=send]").await;
    until("answers", || async { (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "done"]).then_some(()) }).await;
    let paid = props(&c, "[data-testid=conversation-total-cost]", "textContent").await[0].clone();
    click(&c, "[data-testid=open-outlook]").await;
    type_into(&c, "[data-testid=projection-requests]", "40000").await;
    until("a projection for both routes with its conclusion", || async {
        let rows = texts(&c, "[data-testid=projection-row]").await.len();
        let conclusion = props(&c, "[data-testid=projection-conclusion]", "textContent").await;
        (rows == 2 && conclusion.iter().any(|s| s.contains("At 40,000 requests a month"))).then_some(())
    })
    .await;
    until("re-priced", || async { (texts(&c, "[data-testid=reprice-row]").await.len() > 10).then_some(()) }).await;
    // What was paid includes OpenRouter's credit fee, so it is at least the header's list total.
    let paid_with_fees = props(&c, "[data-testid=reprice-paid]", "textContent").await[0].clone();
    let num = |s: &str| s.trim_start_matches('$').parse::<f64>().unwrap();
    assert!(num(&paid_with_fees) >= num(&paid) && num(&paid) > 0.0, "{paid_with_fees} vs {paid}");
    until("estimate accuracy", || async { (!texts(&c, "[data-testid=accuracy-row]").await.is_empty()).then_some(()) }).await;
    let shot = page_screenshot(&c).await.unwrap();
    std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/tokens-outlook.png"), shot).ok();
    click(&c, "[data-testid=drawer-close]").await;

    // Variants: counted per column with a diff, then sent side by side, each column its own.
    type_into(&c, "[data-testid=prompt-input]", "Explain recursion to a child.").await;
    click(&c, "[data-testid=open-variants]").await;
    let boxes = c.find_all(fantoccini::Locator::Css("[data-testid=variant-text]")).await.unwrap();
    boxes[1].send_keys(" Use one short example.").await.unwrap();
    until("variants compared", || async {
        let rows = texts(&c, "[data-testid=variant-row]").await;
        (rows.len() == 2 && rows[1].contains("(+")).then_some(())
    })
    .await;
    find(&c, "[data-testid=variant-diff] ins").await;
    let shot = page_screenshot(&c).await.unwrap();
    std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/tokens-variants.png"), shot).ok();
    let before = answer_requests(&fake).len();
    click(&c, "[data-testid=variants-send]").await;
    until("four answers in a new comparison", || async {
        (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "done", "done", "done"]).then_some(())
    })
    .await;
    assert_eq!(texts(&c, "[data-testid=column-header]").await.len(), 4);
    let sent: Vec<String> = answer_requests(&fake)[before..].iter().map(|r| r.body["messages"][0]["content"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(sent.iter().filter(|s| s.as_str() == "Explain recursion to a child.").count(), 2, "{sent:?}");
    assert_eq!(sent.iter().filter(|s| s.as_str() == "Explain recursion to a child. Use one short example.").count(), 2, "{sent:?}");
    assert_eq!(texts(&c, "[data-testid=own-prompt]").await.len(), 4);
    c.close().await.unwrap();
}
