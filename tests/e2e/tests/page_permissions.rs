//! What the page may call, checked in the running app (issue 14): script in the web view calls
//! Tauri's IPC directly, as injected script would, bypassing the UI. Tally's own commands
//! answer; commands that exist in the app but are not granted to the page by
//! `src-tauri/capabilities/default.json` — the dialog, store and notification plugins' commands,
//! Tauri's own window and webview commands, an app command that is not registered — are
//! refused by Tauri's access control before they run.

use serde_json::{json, Value};
use tally_e2e::*;

/// Calls an IPC command from the page, as script in it would, and returns `Ok(value)` or
/// `Err(the rejection's text)`.
async fn invoke(c: &fantoccini::Client, command: &str, args: Value) -> Result<Value, String> {
    let script = "const [cmd, args] = arguments;
        return window.__TAURI_INTERNALS__.invoke(cmd, args).then(
            (value) => ({ ok: true, value: value === undefined ? null : value }),
            (error) => ({ ok: false, error: typeof error === 'string' ? error : JSON.stringify(error) }));";
    let out = tokio::time::timeout(STEP, c.execute(script, vec![json!(command), args]))
        .await
        .unwrap_or_else(|_| panic!("{command}: no answer"))
        .unwrap_or_else(|e| panic!("{command}: the script failed: {e}"));
    match out.get("ok").and_then(Value::as_bool) {
        Some(true) => Ok(out["value"].clone()),
        Some(false) => Err(out["error"].as_str().unwrap_or_default().to_string()),
        None => panic!("{command}: unexpected answer {out}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_can_call_tallys_commands_and_nothing_else() {
    let home = tempfile::tempdir().unwrap();
    let driver = Driver::start(home.path()).await;
    let c = driver.session().await;
    find(&c, "[data-testid=nav-settings]").await;

    // Allowed: Tally's own commands, called the same way.
    let info = invoke(&c, "app_info", json!({})).await.expect("app_info is allowed");
    assert!(info["version"].is_string(), "{info}");
    let providers = invoke(&c, "list_providers", json!({})).await.expect("list_providers is allowed");
    assert!(providers["providers"].as_array().is_some_and(|p| !p.is_empty()), "{providers}");

    // Refused: commands the app has (its plugins and Tauri's core) but the page is not granted.
    let refused = [
        // The page may not open (or fake) a dialog: only Rust does, for a key sent elsewhere.
        ("plugin:dialog|message", json!({ "message": "Send your key?", "title": "Tally", "kind": "warning" })),
        ("plugin:dialog|save", json!({ "options": {} })),
        // Nor read or write the settings file behind the engine's back.
        ("plugin:store|load", json!({ "path": "settings.json" })),
        ("plugin:notification|notify", json!({ "options": { "title": "Tally", "body": "hi" } })),
        // Nor open windows or webviews of its own.
        ("plugin:webview|create_webview_window", json!({ "options": { "label": "other", "url": "https://example.com" } })),
        ("plugin:window|set_title", json!({ "label": "main", "value": "not Tally" })),
        // Nor call an app command that does not exist (no hidden way around a confirmation).
        ("set_base_url_confirmed", json!({ "provider": "openai", "url": "https://evil.example/v1" })),
    ];
    for (command, args) in refused {
        let error = invoke(&c, command, args).await.expect_err(command);
        eprintln!("refused: {command}: {}", error.lines().next().unwrap_or_default());
        assert!(error.contains("not allowed"), "{command} was refused, but not by the access control: {error}");
    }

    // The refusals changed nothing: the window still has its title, and the page still works.
    assert_eq!(c.title().await.unwrap(), "Tally");
    invoke(&c, "app_info", json!({})).await.expect("still answering");
    c.close().await.unwrap();
}
