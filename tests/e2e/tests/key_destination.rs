//! Keys go only where the user said (issue 14), through the real window and the real native
//! dialog: a base URL change that would send a stored key to another host, or go over plain
//! http to a host that is not this machine or a private network, is asked about in a GTK dialog
//! opened by Rust. The test finds that dialog by its title and answers it with the keyboard
//! (xdotool), as a person would: Cancel changes nothing and says so in the page, with the typed
//! address kept in its field; the confirming button makes the change. A change that needs no
//! confirmation (plain http to 127.0.0.1 with no key) opens no dialog.

use std::path::Path;

use tally_e2e::*;
use tally_engine::secrets::Keyring;
use tally_fake_provider::Flavour;

const OPENAI_KEY: &str = "test-key-dest-openai-Qm4Tz8Lw2Rx6";
const LAB_KEY: &str = "test-key-dest-lab-Vn7Kp3Hs9Bd1";

fn settings(home: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(home.join("share/dev.tally.desktop/settings.json")).unwrap_or_else(|_| "{}".into());
    serde_json::from_str(&text).unwrap()
}

async fn message(c: &fantoccini::Client, id: &str) -> String {
    text(c, &format!("[data-testid=provider-message-{id}]")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_moves_to_another_host_or_goes_over_plain_http_only_once_the_user_says_yes_in_a_native_dialog() {
    // The Settings page open, no key stored, no base URL changed yet.
    let FakeSetup { home, fake, driver, c } = FakeSetup::start(&[]).await;
    let local = fake.base_url(Flavour::OpenAi);

    // Plain http to 127.0.0.1 with no key stored: saved at once, no dialog (nobody answers one
    // here, so a dialog would leave the save waiting and the message would never come).
    type_into(&c, "[data-testid=base-url-openai]", &local).await;
    click(&c, "[data-testid=save-base-url-openai]").await;
    until("saved without a question", || async { (message(&c, "openai").await == "Base URL saved.").then_some(()) }).await;
    assert_eq!(settings(home.path())["base_urls"]["openai"], local.as_str());
    type_into(&c, "[data-testid=key-input-openai]", OPENAI_KEY).await;
    click(&c, "[data-testid=save-key-openai]").await;
    until("key set", || async { (text(&c, "[data-testid=key-status-openai]").await == "Key set").then_some(()) }).await;

    // With the key stored, another host: the dialog names it; Cancel changes nothing.
    let elsewhere = "https://api.example.com/v1";
    type_into(&c, "[data-testid=base-url-openai]", elsewhere).await;
    click(&c, "[data-testid=save-base-url-openai]").await;
    let dialog = native_dialog("Send your OpenAI key to api.example.com?").await;
    assert_eq!(dialog.title, "Send your OpenAI key to api.example.com?");
    dialog.screenshot("key-dialog.png");
    dialog.press("Escape").await;
    let refusal = until("the refusal in words", || async { Some(message(&c, "openai").await).filter(|m| m.starts_with("Not saved")) }).await;
    assert!(refusal.contains("api.example.com") && refusal.contains("Nothing was changed"), "{refusal}");
    assert_eq!(find(&c, "[data-testid=base-url-openai]").await.prop("value").await.unwrap().as_deref(), Some(elsewhere), "the typed address stays in its field");
    assert_eq!(settings(home.path())["base_urls"]["openai"], local.as_str(), "the saved address is unchanged");
    let shot = page_screenshot(&c).await.unwrap();
    std::fs::write(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e/key-refused.png"), shot).ok();
    // The key still goes where it went: checking it reaches the fake provider on 127.0.0.1 (the
    // only server that can answer here) and works.
    click(&c, "[data-testid=test-key-openai]").await;
    until("the key tested", || async { message(&c, "openai").await.contains("The key works").then_some(()) }).await;

    // Again, and this time the user says yes: the change is saved.
    click(&c, "[data-testid=save-base-url-openai]").await;
    let dialog = native_dialog("Send your OpenAI key to api.example.com?").await;
    dialog.press("Return").await;
    until("saved once confirmed", || async { (message(&c, "openai").await == "Base URL saved.").then_some(()) }).await;
    assert_eq!(settings(home.path())["base_urls"]["openai"], elsewhere);
    until("the dialog gone", || async { windows_titled("Send your OpenAI key").is_empty().then_some(()) }).await;

    // Plain http to a public host, no key stored (DeepSeek): asked too, since a key saved later
    // would travel unencrypted. Cancel.
    type_into(&c, "[data-testid=base-url-deepseek]", "http://api.example.net/v1").await;
    click(&c, "[data-testid=save-base-url-deepseek]").await;
    let dialog = native_dialog("Use an unencrypted connection to api.example.net?").await;
    dialog.press("Escape").await;
    let refusal = until("the refusal in words", || async { Some(message(&c, "deepseek").await).filter(|m| m.starts_with("Not saved")) }).await;
    assert!(refusal.contains("unencrypted connection to api.example.net"), "{refusal}");
    assert!(settings(home.path())["base_urls"].get("deepseek").is_none(), "DeepSeek keeps its default address");

    // A custom endpoint given a key and a plain http address on a public host: asked, with the
    // key named. Cancel keeps the name and address typed; the key is not kept in the page.
    type_into(&c, "[data-testid=custom-name]", "lab").await;
    type_into(&c, "[data-testid=custom-base-url]", "http://203.0.113.7:8000/v1").await;
    type_into(&c, "[data-testid=custom-key]", LAB_KEY).await;
    click(&c, "[data-testid=custom-add]").await;
    let dialog = native_dialog("Send your lab key unencrypted to 203.0.113.7:8000?").await;
    dialog.screenshot("key-dialog-http.png");
    dialog.press("Escape").await;
    let refusal = until("the refusal in words", || async { Some(text(&c, "[data-testid=custom-message]").await).filter(|m| m.starts_with("Not saved")) }).await;
    assert!(refusal.contains("203.0.113.7:8000"), "{refusal}");
    assert_eq!(find(&c, "[data-testid=custom-base-url]").await.prop("value").await.unwrap().as_deref(), Some("http://203.0.113.7:8000/v1"));
    assert_eq!(find(&c, "[data-testid=custom-name]").await.prop("value").await.unwrap().as_deref(), Some("lab"));
    assert!(settings(home.path())["custom_endpoints"].get("lab").is_none(), "no endpoint added");
    assert_eq!(Keyring::default().get("custom:lab").unwrap(), None, "no key stored for it");

    c.close().await.unwrap();
    drop(driver);
    assert_no_file_leaks(home.path(), &[OPENAI_KEY, LAB_KEY]);
    Keyring::default().delete("openai").unwrap();
}
