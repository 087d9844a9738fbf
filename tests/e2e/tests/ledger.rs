//! The bill beside the ledger, through the window (issue 13): an OpenRouter answer reconciled ✓
//! with the provider that served it, one whose bill differs shown with the difference and why,
//! an old price warned about, a conversation reconciled again on request, the Usage screen's
//! reconciled share per route and largest differences, retries shown in the speed, the Pricing
//! screen's price ages and a refresh of direct prices from the fake's LiteLLM snapshot (a bad
//! address refused in words), and the stream limits on the Settings screen (issue 14).

use tally_e2e::*;
use tally_fake_provider::{Flavour, Script, LITELLM_PATH};

fn shot_path(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&dir).ok();
    dir.join(name)
}

async fn screenshot(c: &fantoccini::Client, name: &str) {
    let shot = page_screenshot(c).await.unwrap();
    std::fs::write(shot_path(name), shot).ok();
}

/// The texts of the OpenRouter column's answers' bill marks (in the conversation's order).
async fn marks(c: &fantoccini::Client) -> Vec<String> {
    texts(c, "[data-testid=reconciled-mark]").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_reconciled_with_the_bill_and_prices_show_their_age() {
    let FakeSetup { fake, c, driver: _driver, home } = FakeSetup::start(&[
        ("openai", "test-key-ledger-openai-00000", Flavour::OpenAi),
        ("openrouter", "test-key-ledger-openrouter-0", Flavour::OpenRouter),
    ])
    .await;

    // Stream limits (issue 14): checked, saved in the settings, back to the defaults.
    find(&c, "[data-testid=stream-limits]").await;
    type_into(&c, "[data-testid=idle-timeout]", "2").await;
    click(&c, "[data-testid=save-stream-limits]").await;
    let refused = until("the idle timeout refused", || async { c.find(fantoccini::Locator::Css("[data-testid=stream-limits-message]")).await.ok() }).await;
    let words = refused.text().await.unwrap();
    assert!(words.contains("between 5 and 3600 seconds; got 2"), "{words}");
    type_into(&c, "[data-testid=idle-timeout]", "45").await;
    type_into(&c, "[data-testid=answer-deadline]", "5").await;
    click(&c, "[data-testid=save-stream-limits]").await;
    until("the limits saved", || async { text(&c, "[data-testid=stream-limits-message]").await.contains("Saved").then_some(()) }).await;
    let settings: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(home.path().join("share/dev.tally.desktop/settings.json")).unwrap()).unwrap();
    assert_eq!((settings["idle_timeout_s"].as_u64(), settings["answer_deadline_s"].as_u64()), (Some(45), Some(300)), "{settings}");
    screenshot(&c, "ledger-settings.png").await;

    // Two columns (the defaults): gpt-4o-mini direct and through OpenRouter. The direct one is
    // refused once (429, Retry-After 1 s) and answers on the second attempt. OpenRouter's record
    // of the first answer lags two look-ups, then matches what the stream reported.
    click(&c, "[data-testid=new-conversation]").await;
    until("two columns", || async { (texts(&c, "[data-testid=column-header]").await.len() == 2).then_some(()) }).await;
    fake.push(Script { model: Some("gpt-4o-mini".into()), status: Some(429), retry_after: Some(1), ..Default::default() });
    fake.push(Script { model: Some("gpt-4o-mini".into()), tokens: Some(12), ..Default::default() });
    fake.push(Script { model: Some("openai/gpt-4o-mini".into()), tokens: Some(12), generation_lag: Some(2), ..Default::default() });
    type_into(&c, "[data-testid=prompt-input]", "What is a ledger?").await;
    click(&c, "[data-testid=send]").await;
    until("both answers done", || async { (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "done"]).then_some(()) }).await;

    // Speed that shows retries: the attempts and the wait, and the first token of the last.
    let attempts = text(&c, "[data-testid=attempts]").await;
    assert!(attempts.starts_with("2 attempts · ") && attempts.ends_with(" waiting"), "{attempts}");
    let meta = texts(&c, "[data-testid=answer-meta]").await;
    assert!(meta[0].contains("on the last"), "{meta:?}");
    assert!(!meta[1].contains("attempts"), "the OpenRouter answer had one attempt: {meta:?}");

    let reconciled = until("the OpenRouter answer reconciled", || async {
        marks(&c).await.into_iter().find(|m| m.starts_with("reconciled ✓"))
    })
    .await;
    assert_eq!(reconciled, "reconciled ✓ · Fake", "the provider that served it is named");
    assert_eq!(attrs(&c, "[data-testid=reconciled-mark]", "data-matches").await, ["true"], "only the OpenRouter answer has a bill to check");
    // The embedded OpenRouter prices are from 2026-08-19: over 60 days old for an answer today.
    let warned = attrs(&c, "[data-testid=answer] [data-testid=price-age-warning]", "title").await;
    assert!(warned.iter().any(|w| w.contains("days old (from 2026-08-19)")), "{warned:?}");

    // The breakdown says who served it and that the bill is as recorded.
    click(&c, "[data-testid=reconciled-mark]").await;
    let check = text(&c, "[data-testid=reconciliation]").await;
    assert!(check.contains("served by Fake") && check.contains("Exactly as recorded"), "{check}");
    screenshot(&c, "ledger-reconciled.png").await;
    click(&c, "[data-testid=reconciled-mark]").await;

    // A second turn whose bill differs from what the stream reported (OpenRouter's record says
    // $0.5): the difference is shown, with the recorded cost kept.
    fake.push(Script { model: Some("gpt-4o-mini".into()), tokens: Some(8), ..Default::default() });
    let mut bill = serde_json::Map::new();
    bill.insert("total_cost".into(), serde_json::json!(0.5));
    fake.push(Script { model: Some("openai/gpt-4o-mini".into()), tokens: Some(8), generation: Some(bill), ..Default::default() });
    type_into(&c, "[data-testid=prompt-input]", "And a bill?").await;
    click(&c, "[data-testid=send]").await;
    until("four answers done", || async { (attrs(&c, "[data-testid=answer]", "data-status").await.iter().filter(|s| *s == "done").count() == 4).then_some(()) }).await;
    let differs = until("the differing bill", || async { marks(&c).await.into_iter().find(|m| m.starts_with("bill differs")) }).await;
    assert!(differs.starts_with("bill differs +$0.") && differs.ends_with("· Fake"), "{differs}");
    let buttons = c.find_all(fantoccini::Locator::Css("[data-testid=reconciled-mark][data-matches=false]")).await.unwrap();
    assert_eq!(buttons.len(), 1);
    buttons[0].click().await.unwrap();
    let diff = text(&c, "[data-testid=reconciled-difference]").await;
    assert!(diff.contains("The recorded cost stays"), "{diff}");
    let bill_line = text(&c, "[data-testid=reconciliation]").await;
    assert!(bill_line.contains("OpenRouter's bill: $0.5"), "{bill_line}");
    screenshot(&c, "ledger-difference.png").await;
    buttons[0].click().await.unwrap();

    // Reconcile the whole conversation again, on request: one look-up per OpenRouter answer.
    let lookups = fake.requests().iter().filter(|r| r.path.ends_with("/generation")).count();
    click(&c, "[data-testid=reconcile-again]").await;
    let done = until("reconciled again", || async {
        let t = text(&c, "[data-testid=reconcile-message]").await;
        t.starts_with("Checked 2 of 2").then_some(t)
    })
    .await;
    assert_eq!(done, "Checked 2 of 2 against OpenRouter's records: 1 as recorded, 1 differ.");
    assert_eq!(fake.requests().iter().filter(|r| r.path.ends_with("/generation")).count(), lookups + 2);

    // The Usage screen: the OpenRouter spend fully reconciled, the direct one not checkable, and
    // the one difference listed.
    click(&c, "[data-testid=nav-usage]").await;
    let route = until("the reconciled share", || async {
        let rows = texts(&c, "[data-testid=reconcile-route][data-route=openrouter]").await;
        rows.into_iter().next().filter(|r| r.contains("2 of 2"))
    })
    .await;
    assert!(route.contains("· 100 % · 2 of 2") && route.contains("(1 answer)"), "{route}");
    let direct = text(&c, "[data-testid=reconcile-route][data-route=openai]").await;
    assert!(direct.contains("none of 2") && direct.contains("direct APIs publish no per-answer bill"), "{direct}");
    let rows = texts(&c, "[data-testid=difference-row]").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("Fake") && rows[0].contains("$0.50"), "{rows:?}");
    // The range reconciled again, from here: the same two answers, one look-up each.
    let lookups = fake.requests().iter().filter(|r| r.path.ends_with("/generation")).count();
    click(&c, "[data-testid=reconcile-panel] [data-testid=reconcile-again]").await;
    until("the range reconciled again", || async {
        (text(&c, "[data-testid=reconcile-panel] [data-testid=reconcile-message]").await == "Checked 2 of 2 against OpenRouter's records: 1 as recorded, 1 differ.").then_some(())
    })
    .await;
    assert_eq!(fake.requests().iter().filter(|r| r.path.ends_with("/generation")).count(), lookups + 2);
    c.execute("document.querySelector('[data-testid=reconcile-panel]').scrollIntoView()", vec![]).await.unwrap();
    screenshot(&c, "ledger-usage.png").await;

    // The Pricing screen: every price dated, old ones marked; nothing to restore yet.
    click(&c, "[data-testid=nav-pricing]").await;
    click(&c, "[data-testid=price-route] option[value=all]").await;
    type_into(&c, "[data-testid=price-search]", "gpt-4o-mini").await;
    let age = until("the OpenRouter price's age", || async {
        texts(&c, "[data-testid=price-row][data-target=\"openrouter:openai/gpt-4o-mini\"] [data-testid=price-age]").await.into_iter().next()
    })
    .await;
    assert!(age.starts_with("2026-08-19 · ") && age.ends_with(" d · old"), "{age}");
    click(&c, "[data-testid=restore-catalog]").await;
    until("nothing to restore, in words", || async {
        text(&c, "[data-testid=catalog-message]").await.contains("There is no previous price list to go back to").then_some(())
    })
    .await;

    // Direct prices refreshed from the fake's LiteLLM snapshot: a bad address is refused in
    // words and not saved; the right one is saved and the direct prices are dated today.
    let before = text(&c, "[data-testid=direct-date]").await;
    type_into(&c, "[data-testid=price-map-url]", "ftp://127.0.0.1/prices.json").await;
    click(&c, "[data-testid=refresh-direct]").await;
    let refused = until("the address refused", || async {
        let t = text(&c, "[data-testid=catalog-message]").await;
        (!t.contains("There is no previous")).then_some(t)
    })
    .await;
    assert!(refused.contains("ftp://127.0.0.1/prices.json"), "{refused}");
    assert_eq!(text(&c, "[data-testid=direct-date]").await, before, "the prices in use stay");
    let url = format!("{}{LITELLM_PATH}", fake.url());
    type_into(&c, "[data-testid=price-map-url]", &url).await;
    click(&c, "[data-testid=refresh-direct]").await;
    let updated = until("direct prices refreshed", || async {
        let t = text(&c, "[data-testid=catalog-message]").await;
        t.starts_with("Direct list prices updated").then_some(t)
    })
    .await;
    let today = tally_engine::pricing::catalog_store::today();
    assert!(updated.ends_with(&format!("as of {today}.")), "{updated}");
    assert_eq!(text(&c, "[data-testid=direct-date]").await, today);
    assert!(fake.requests().iter().any(|r| r.path == LITELLM_PATH), "the price map came from the fake");
    let direct_age = until("the direct price dated today", || async {
        let t = texts(&c, "[data-testid=price-row][data-target=\"openai:gpt-4o-mini\"] [data-testid=price-age]").await.into_iter().next()?;
        t.starts_with(&today).then_some(t)
    })
    .await;
    assert!(direct_age.ends_with("today"), "{direct_age}");
    let settings: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(home.path().join("share/dev.tally.desktop/settings.json")).unwrap()).unwrap();
    assert_eq!(settings["price_map_url"].as_str(), Some(url.as_str()), "{settings}");
    screenshot(&c, "ledger-pricing.png").await;

    // Issue 14: a refresh that would drop most models is refused in words, a good one is kept,
    // and the previous OpenRouter list can be restored from here.
    fake.push(Script { body: Some(r#"{"data": [{"id": "openai/gpt-4o-mini", "pricing": {"prompt": "0.00000015", "completion": "0.0000006"}}]}"#.into()), ..Default::default() });
    click(&c, "[data-testid=refresh-catalog]").await;
    let refused = until("the shrinking refresh refused", || async {
        let t = text(&c, "[data-testid=catalog-message]").await;
        t.contains("would be dropped").then_some(t)
    })
    .await;
    assert!(refused.contains("prices 1 models") && refused.contains("The previous prices are kept"), "{refused}");
    assert_eq!(text(&c, "[data-testid=catalog-date]").await, "2026-08-19");
    click(&c, "[data-testid=refresh-catalog]").await;
    until("refreshed", || async { text(&c, "[data-testid=catalog-message]").await.contains("OpenRouter prices updated").then_some(()) }).await;
    assert_eq!(text(&c, "[data-testid=catalog-date]").await, today);
    click(&c, "[data-testid=restore-catalog]").await;
    let restored = until("restored", || async {
        let t = text(&c, "[data-testid=catalog-message]").await;
        t.starts_with("Back to the previous OpenRouter prices").then_some(t)
    })
    .await;
    assert!(restored.contains("as of 2026-08-19 (built into Tally)"), "{restored}");
    assert_eq!(text(&c, "[data-testid=catalog-date]").await, "2026-08-19");

    // Issue 14, keys: a two-line paste is refused whole (an <input> would join the lines), and
    // a key with a character no provider uses is refused with the engine's words.
    click(&c, "[data-testid=nav-settings]").await;
    find(&c, "[data-testid=key-input-xai]").await; // the providers are listed once the keyring answered
    let pasted = c
        .execute(
            "const el = document.querySelector('[data-testid=key-input-xai]'); const dt = new DataTransfer(); \
             dt.setData('text/plain', 'xai-first-line\\nxai-second-line'); \
             const ok = el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true })); \
             return String(ok) + '|' + el.value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(pasted.as_str(), Some("false|"), "the paste was stopped and the field left empty");
    let words = text(&c, "[data-testid=provider-message-xai]").await;
    assert!(words.contains("has 2 lines; a key is one line"), "{words}");
    type_into(&c, "[data-testid=key-input-xai]", "xai-k\u{e9}y-000000000000").await;
    click(&c, "[data-testid=save-key-xai]").await;
    let words = until("the key refused", || async {
        let t = text(&c, "[data-testid=provider-message-xai]").await;
        t.contains("characters no provider uses").then_some(t)
    })
    .await;
    assert!(words.contains("Nothing was saved"), "{words}");
    assert_eq!(text(&c, "[data-testid=key-status-xai]").await, "No key");
    c.execute("document.querySelector('[data-testid=provider-xai]').scrollIntoView({ block: 'start' })", vec![]).await.unwrap();
    screenshot(&c, "ledger-settings-keys.png").await;
    c.close().await.unwrap();
}
