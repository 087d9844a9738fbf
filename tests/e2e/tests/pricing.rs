//! The Pricing screen through the window: the dated catalog, a model on both routes with the
//! difference, an override that survives a restart and resets, and refreshes that work or fail
//! in words without losing the prices in use.

use tally_e2e::*;
use tally_fake_provider::{FakeProvider, Flavour, Script};

async fn row_text(c: &fantoccini::Client, target: &str) -> String {
    text(c, &format!("[data-testid=price-row][data-target=\"{target}\"]")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_are_dated_compared_across_routes_overridden_and_refreshed() {
    assert!(std::env::var_os("TALLY_E2E_ISOLATED").is_some(), "run end-to-end tests through scripts/test.sh");
    clear_keyring();
    let home = tempfile::tempdir().unwrap();
    let fake = FakeProvider::start().await.unwrap();
    let driver = Driver::start(home.path()).await;
    let c = driver.session().await;

    click(&c, "[data-testid=nav-pricing]").await;
    assert_eq!(text(&c, "[data-testid=catalog-date]").await, "2026-08-19");
    type_into(&c, "[data-testid=price-search]", "gpt-4o-mini").await;
    until("the gpt-4o-mini row", || async { row_text(&c, "openai:gpt-4o-mini").await.contains("openrouter:openai/gpt-4o-mini").then_some(()) }).await;
    let row = row_text(&c, "openai:gpt-4o-mini").await;
    assert!(row.contains("$0.15/M") && row.contains("$0.6/M") && row.contains("same list price"), "{row}");

    // My own price: per million tokens, exact; the comparison follows.
    click(&c, "[data-testid=price-row][data-target=\"openai:gpt-4o-mini\"] [data-testid=override-edit]").await;
    type_into(&c, "[data-testid=override-input]", "0.10").await;
    type_into(&c, "[data-testid=override-output]", "0.40").await;
    click(&c, "[data-testid=override-save]").await;
    until("the override", || async { row_text(&c, "openai:gpt-4o-mini").await.contains("your price").then_some(()) }).await;
    let row = row_text(&c, "openai:gpt-4o-mini").await;
    assert!(row.contains("$0.1/M") && row.contains("-33.3%"), "{row}");
    let shot = page_screenshot(&c).await.unwrap();
    std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/pricing.png"), shot).ok();
    c.close().await.unwrap();

    // It survives a restart, and resets to the catalog's price.
    let c = driver.session().await;
    click(&c, "[data-testid=nav-pricing]").await;
    type_into(&c, "[data-testid=price-search]", "gpt-4o-mini").await;
    until("the override after a restart", || async { row_text(&c, "openai:gpt-4o-mini").await.contains("your price").then_some(()) }).await;
    click(&c, "[data-testid=price-row][data-target=\"openai:gpt-4o-mini\"] [data-testid=override-reset]").await;
    until("the catalog price again", || async {
        let r = row_text(&c, "openai:gpt-4o-mini").await;
        (r.contains("$0.15/M") && !r.contains("your price")).then_some(())
    })
    .await;

    // The OpenRouter fee is a setting, checked and kept.
    type_into(&c, "[data-testid=fee-openrouter]", "abc").await;
    find(&c, "[data-testid=fee-openrouter]").await.send_keys("\u{E007}").await.unwrap();
    until("the fee refused in words", || async { text(&c, ".fee-setting").await.contains("A fee is a percentage").then_some(()) }).await;
    type_into(&c, "[data-testid=fee-openrouter]", "5").await;
    find(&c, "[data-testid=fee-openrouter]").await.send_keys("\u{E007}").await.unwrap();
    until("the fee saved", || async { text(&c, ".fee-setting").await.contains("Saved").then_some(()) }).await;
    let settings: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(home.path().join("share/dev.tally.desktop/settings.json")).unwrap()).unwrap();
    assert_eq!(settings["fees"]["percent_by_route"]["openrouter"], "5", "{settings}");

    // Refresh from OpenRouter (the fake's recorded list): a broken answer first, then a good one.
    click(&c, "[data-testid=nav-settings]").await;
    type_into(&c, "[data-testid=base-url-openrouter]", &fake.base_url(Flavour::OpenRouter)).await;
    click(&c, "[data-testid=save-base-url-openrouter]").await;
    until("base URL saved", || async { (text(&c, "[data-testid=provider-message-openrouter]").await == "Base URL saved.").then_some(()) }).await;
    click(&c, "[data-testid=nav-pricing]").await;
    fake.push(Script { body: Some("{\"data\": [".into()), ..Default::default() });
    click(&c, "[data-testid=refresh-catalog]").await;
    let msg = until("the refusal", || async { c.find(fantoccini::Locator::Css("[data-testid=catalog-message]")).await.ok() }).await;
    let words = msg.text().await.unwrap();
    assert!(words.contains("previous prices are kept"), "{words}");
    assert_eq!(text(&c, "[data-testid=catalog-date]").await, "2026-08-19");
    click(&c, "[data-testid=refresh-catalog]").await;
    until("refreshed", || async { text(&c, "[data-testid=catalog-message]").await.contains("OpenRouter prices updated").then_some(()) }).await;
    assert_ne!(text(&c, "[data-testid=catalog-date]").await, "2026-08-19", "dated the day of the refresh");
    assert!(text(&c, "[data-testid=catalog-info]").await.contains("refreshed"));
    c.close().await.unwrap();
}
