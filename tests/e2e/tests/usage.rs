//! The usage screen through the window: a turn on two columns (direct and via OpenRouter) shows
//! up on the dashboard with the conversation's exact total and its models; a daily budget the
//! turn already crossed raises one in-app alert (checking again adds none); as a hard budget it
//! holds the next turn back until the user decides.

use tally_e2e::*;
use tally_fake_provider::{Flavour, Script};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_a_conversations_spend_and_a_crossed_budget_alerts_once_and_holds_the_next_turn() {
    let FakeSetup { fake, c, driver: _driver, home: _home } = FakeSetup::start(&[
        ("openai", "test-key-usage-openai-0000000", Flavour::OpenAi),
        ("openrouter", "test-key-usage-openrouter-000", Flavour::OpenRouter),
    ])
    .await;

    // One turn on the default columns: gpt-4o-mini direct and via OpenRouter.
    click(&c, "[data-testid=new-conversation]").await;
    fake.push(Script { model: Some("gpt-4o-mini".into()), tokens: Some(40), ..Default::default() });
    fake.push(Script { model: Some("openai/gpt-4o-mini".into()), tokens: Some(60), ..Default::default() });
    type_into(&c, "[data-testid=prompt-input]", "What does a budget cost?").await;
    click(&c, "[data-testid=send]").await;
    until("both answers done", || async { (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "done"]).then_some(()) }).await;
    let total = until("the exact conversation total", || async {
        props(&c, "[data-testid=conversation-total-cost]", "textContent").await.into_iter().next().filter(|t| t.starts_with('$') && t != "$0.00")
    })
    .await;
    let title = props(&c, "[data-testid=chat-title]", "textContent").await.remove(0);

    // The dashboard: the conversation with the same exact amount, and both models.
    click(&c, "[data-testid=nav-usage]").await;
    let row = "[data-testid=breakdown-conversation] [data-testid=breakdown-row]";
    until("the conversation on the dashboard", || async { (props(&c, &format!("{row} .row-label"), "textContent").await == [title.clone()]).then_some(()) }).await;
    assert_eq!(props(&c, &format!("{row} .row-cost"), "textContent").await, std::slice::from_ref(&total), "same amount as the chat header");
    let models = props(&c, "[data-testid=breakdown-model] .row-label", "textContent").await;
    assert!(models.contains(&"gpt-4o-mini".to_string()) && models.contains(&"openai/gpt-4o-mini".to_string()), "{models:?}");
    let routes = props(&c, "[data-testid=breakdown-route] .row-label", "textContent").await;
    assert_eq!(routes.len(), 2, "OpenAI direct and OpenRouter: {routes:?}");
    assert!(texts(&c, "[data-testid=alert-banner]").await.is_empty(), "no budget, no alert yet");

    // A hard daily budget the turn already crossed: one alert, in the banner and the list.
    type_into(&c, "[data-testid=budget-limit]", "0.000001").await;
    click(&c, "[data-testid=budget-hard]").await;
    click(&c, "[data-testid=add-budget]").await;
    until("one alert listed", || async { (props(&c, "[data-testid=alert-item]", "textContent").await.len() == 1).then_some(()) }).await;
    let banners = props(&c, "[data-testid=alert-banner]", "textContent").await;
    assert_eq!(banners.len(), 1, "{banners:?}");
    assert!(banners[0].contains("100 % of your $0.000001 daily budget"), "{}", banners[0]);
    let spent = props(&c, "[data-testid=budget-spent]", "textContent").await.remove(0);
    assert!(spent.contains("of $0.000001 spent today"), "{spent}");

    // Checking again adds nothing.
    click(&c, "[data-testid=check-alerts]").await;
    until("the second check", || async { (text(&c, "[data-testid=alerts-checked]").await == "Checked: nothing new.").then_some(()) }).await;
    assert_eq!(props(&c, "[data-testid=alert-item]", "textContent").await.len(), 1);
    assert_eq!(props(&c, "[data-testid=alert-banner]", "textContent").await.len(), 1);

    // Assertions done: the screen as a person sees it.
    let shot = page_screenshot(&c).await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&dir).ok();
    std::fs::write(dir.join("usage.png"), shot).ok();
    c.execute("document.querySelector('[data-testid=budgets]').scrollIntoView()", vec![]).await.unwrap();
    std::fs::write(dir.join("usage-budgets.png"), page_screenshot(&c).await.unwrap()).ok();

    // The hard budget holds the next turn back until the user decides: "Don't send" sends nothing.
    click(&c, "[data-testid=conversation-item]").await;
    let before = answer_requests(&fake).len();
    type_into(&c, "[data-testid=prompt-input]", "And another one?").await;
    click(&c, "[data-testid=send]").await;
    let message = text(&c, "[data-testid=over-budget-message]").await;
    assert!(message.contains("daily budget") && message.contains("Send anyway?"), "{message}");
    std::fs::write(dir.join("usage-hard-limit.png"), page_screenshot(&c).await.unwrap()).ok();
    click(&c, "[data-testid=over-budget-cancel]").await;
    until("the dialog closed", || async { texts(&c, "[data-testid=over-budget-message]").await.is_empty().then_some(()) }).await;
    assert_eq!(answer_requests(&fake).len(), before, "nothing was sent");
    assert_eq!(find(&c, "[data-testid=prompt-input]").await.prop("value").await.unwrap().as_deref(), Some("And another one?"), "the prompt stays");
    assert_eq!(attrs(&c, "[data-testid=answer]", "data-status").await.len(), 2, "no new turn");

    // Asked again, "Send anyway" sends the turn once, with the user's go-ahead.
    click(&c, "[data-testid=send]").await;
    text(&c, "[data-testid=over-budget-message]").await;
    click(&c, "[data-testid=over-budget-send]").await;
    until("the turn's 2 answers done", || async {
        (attrs(&c, "[data-testid=answer]", "data-status").await.iter().filter(|s| s.as_str() == "done").count() == 4).then_some(())
    })
    .await;
    assert_eq!(answer_requests(&fake).len(), before + 2, "one request per column, sent once");
}
