//! Providers and keys through the window: test a rejected and a working key, remove a key,
//! import one from an environment variable, and a sensitive conversation that keeps prompts off
//! OpenRouter unless the user says otherwise.

use tally_e2e::*;
use tally_engine::secrets::Keyring;
use tally_fake_provider::{FakeProvider, Flavour, REJECTED_KEY};

const OPENAI_KEY: &str = "test-key-prov-first-Hq2Vb7Nz4Kc9Wd1X";
const ENV_OPENROUTER_KEY: &str = "test-key-prov-env-Lp5Rt8Ys3Fg6Jm0A";
const CUSTOM_KEY: &str = "test-key-prov-third-Ue3Wq6Zr9Tb2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_can_be_tested_removed_and_imported_and_sensitive_conversations_stay_direct() {
    assert!(std::env::var_os("TALLY_E2E_ISOLATED").is_some(), "run end-to-end tests through scripts/test.sh (they use a throwaway keyring)");
    clear_keyring();
    let home = tempfile::tempdir().unwrap();
    let fake = FakeProvider::start().await.unwrap();
    let driver = Driver::start_with_env(home.path(), &[("OPENROUTER_API_KEY", ENV_OPENROUTER_KEY)]).await;
    let c = driver.session().await;
    click(&c, "[data-testid=nav-settings]").await;

    // A rejected key is reported as such; a good one as working.
    type_into(&c, "[data-testid=base-url-openai]", &fake.base_url(Flavour::OpenAi)).await;
    click(&c, "[data-testid=save-base-url-openai]").await;
    until("base URL saved", || async { (text(&c, "[data-testid=provider-message-openai]").await == "Base URL saved.").then_some(()) }).await;
    for (key, expect) in [(REJECTED_KEY, "OpenAI rejected this key"), (OPENAI_KEY, "The key works")] {
        type_into(&c, "[data-testid=key-input-openai]", key).await;
        click(&c, "[data-testid=save-key-openai]").await;
        until("key saved", || async { text(&c, "[data-testid=provider-message-openai]").await.contains("Key saved").then_some(()) }).await;
        click(&c, "[data-testid=test-key-openai]").await;
        until(expect, || async { text(&c, "[data-testid=provider-message-openai]").await.contains(expect).then_some(()) }).await;
    }

    // Import from the environment: listed by name, saved only when chosen.
    click(&c, "[data-testid=env-look]").await;
    find(&c, "[data-testid=env-choose-openrouter]").await;
    assert_eq!(text(&c, "[data-testid=key-status-openrouter]").await, "No key", "nothing saved before the user chooses");
    click(&c, "[data-testid=env-import]").await;
    until("openrouter key imported", || async { texts(&c, ".import-env [role=status]").await.iter().any(|t| t.contains("Saved 1 key")).then_some(()) }).await;
    assert_eq!(text(&c, "[data-testid=key-status-openrouter]").await, "Key set");
    assert_eq!(Keyring::default().get("openrouter").unwrap().unwrap().expose(), ENV_OPENROUTER_KEY);
    // The imported key now goes to another host: Tally asks in a native dialog first; yes.
    type_into(&c, "[data-testid=base-url-openrouter]", &fake.base_url(Flavour::OpenRouter)).await;
    click(&c, "[data-testid=save-base-url-openrouter]").await;
    native_dialog("Send your OpenRouter key to 127.0.0.1:").await.press("Return").await;
    until("base URL saved", || async { (text(&c, "[data-testid=provider-message-openrouter]").await == "Base URL saved.").then_some(()) }).await;

    // A sensitive conversation sends nothing while it has a column via OpenRouter.
    click(&c, "[data-testid=new-conversation]").await;
    click(&c, "[data-testid=sensitive-toggle]").await;
    until("marked sensitive", || async { find(&c, "[data-testid=sensitive-toggle]").await.prop("checked").await.ok().flatten().filter(|v| v == "true") }).await;
    let before = answer_requests(&fake).len();
    type_into(&c, "[data-testid=prompt-input]", "private [[fake tokens=5 pace_ms=1]]").await;
    click(&c, "[data-testid=send]").await;
    let error = until("the refusal", || async { c.find(fantoccini::Locator::Css("[data-testid=app-error]")).await.ok() }).await;
    let words = error.text().await.unwrap();
    assert!(words.contains("marked sensitive") && words.contains("Nothing was sent"), "{words}");
    assert_eq!(answer_requests(&fake).len(), before, "nothing reached any provider");

    // Remove the OpenRouter column; now the prompt goes out, directly.
    let removes = c.find_all(fantoccini::Locator::Css("[data-testid=remove-column]")).await.unwrap();
    removes[1].click().await.unwrap();
    until("one column left", || async { (texts(&c, "[data-testid=column-header] .column-path").await == ["direct to OpenAI"]).then_some(()) }).await;
    click(&c, "[data-testid=send]").await;
    until("the direct answer", || async { (attrs(&c, "[data-testid=answer]", "data-status").await == ["done"]).then_some(()) }).await;
    assert!(answer_requests(&fake).iter().skip(before).all(|r| !r.path.starts_with("/api/")), "no request went to OpenRouter");

    // Adding an OpenRouter column asks first; confirming unmarks the conversation.
    add_column(&c, "openrouter:openai/gpt-4o-mini").await;
    find(&c, "[data-testid=sensitive-confirm]").await;
    assert_eq!(texts(&c, "[data-testid=column-header]").await.len(), 1, "not added before the user confirms");
    click(&c, "[data-testid=sensitive-confirm-yes]").await;
    until("two columns", || async { (texts(&c, "[data-testid=column-header] .column-path").await == ["direct to OpenAI", "via OpenRouter → OpenAI"]).then_some(()) }).await;
    assert_eq!(find(&c, "[data-testid=sensitive-toggle]").await.prop("checked").await.unwrap().as_deref(), Some("false"));
    let shot = page_screenshot(&c).await.unwrap();
    std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/providers.png"), shot).ok();

    // A custom OpenAI-compatible endpoint, named by the user, answers in its own column.
    click(&c, "[data-testid=nav-settings]").await;
    type_into(&c, "[data-testid=custom-name]", "lab").await;
    type_into(&c, "[data-testid=custom-base-url]", &fake.base_url(Flavour::OpenAi)).await;
    type_into(&c, "[data-testid=custom-key]", CUSTOM_KEY).await;
    click(&c, "[data-testid=custom-add]").await;
    until("custom endpoint saved", || async { text(&c, "[data-testid=custom-message]").await.contains("custom:lab:MODEL").then_some(()) }).await;
    assert!(text(&c, "[data-testid=custom-endpoint-lab]").await.contains("Key set"));
    let shot = page_screenshot(&c).await.unwrap();
    std::fs::write(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/settings.png"), shot).ok();
    click(&c, "[data-testid=new-conversation]").await;
    add_column(&c, "custom:lab:llama-3.1-8b").await;
    until("the custom column", || async { texts(&c, "[data-testid=column-header] .column-path").await.last().filter(|p| p.contains("lab (custom endpoint)")).map(|_| ()) }).await;
    let removes = c.find_all(fantoccini::Locator::Css("[data-testid=remove-column]")).await.unwrap();
    removes[1].click().await.unwrap(); // keep OpenAI direct and the custom endpoint
    until("two columns", || async { (texts(&c, "[data-testid=column-header]").await.len() == 2).then_some(()) }).await;
    type_into(&c, "[data-testid=prompt-input]", "hello lab [[fake tokens=4 pace_ms=1]]").await;
    click(&c, "[data-testid=send]").await;
    until("both answered", || async { (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "done"]).then_some(()) }).await;
    let custom = answer_requests(&fake).into_iter().rev().find(|r| r.model.as_deref() == Some("llama-3.1-8b")).unwrap();
    assert_eq!(custom.key.as_deref(), Some(CUSTOM_KEY));
    assert_eq!(texts(&c, "[data-testid=answer-cost]").await[1], "no price", "no price is invented for a custom model");

    // Removing a key takes it out of the keyring.
    click(&c, "[data-testid=nav-settings]").await;
    click(&c, "[data-testid=remove-key-openai]").await;
    until("openai key removed", || async { (text(&c, "[data-testid=key-status-openai]").await == "No key").then_some(()) }).await;
    assert_eq!(Keyring::default().get("openai").unwrap(), None);
    c.close().await.unwrap();
    drop(driver);

    assert_no_file_leaks(home.path(), &[OPENAI_KEY, ENV_OPENROUTER_KEY, REJECTED_KEY, CUSTOM_KEY]);
    Keyring::default().delete("openrouter").unwrap();
    Keyring::default().delete("custom:lab").unwrap();
}
