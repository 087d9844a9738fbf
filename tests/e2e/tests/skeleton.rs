//! The walking skeleton, through the real window: enter keys and base URLs in Settings, send one
//! prompt to two columns (direct OpenAI and via OpenRouter, both the fake provider), see both
//! answers stream in with a non-zero total, restart and find the conversation again; the keys are
//! in the OS keyring and in no file the app wrote, nor in any IPC answer.

use std::path::Path;

use tally_e2e::*;
use tally_engine::secrets::Keyring;
use tally_fake_provider::{FakeProvider, Flavour};

// Test keys name no provider: a 12-character slice such as "y-openrouter" would also match the
// page's own test ids and labels, and the leak checks below would cry wolf.
const OPENAI_KEY: &str = "test-key-e2e-first-Q7wLx3Rk9Zp2Vn6T";
const OPENROUTER_KEY: &str = "test-key-e2e-second-M4dHs8Jc1Yb5Gf0K";

/// Calls a command through the page's own IPC bridge and returns its JSON, to check what the
/// web view can read back.
async fn ipc(c: &fantoccini::Client, command: &str, args: serde_json::Value) -> String {
    let script = "const [cmd, args, done] = arguments; window.__TAURI_INTERNALS__.invoke(cmd, args).then(r => done(JSON.stringify(r)), e => done('ERR ' + JSON.stringify(e)));";
    let v = c.execute_async(script, vec![command.into(), args]).await.expect("execute_async");
    v.as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_columns_stream_cost_and_survive_a_restart_with_keys_only_in_the_keyring() {
    assert!(
        std::env::var_os("TALLY_E2E_ISOLATED").is_some(),
        "run end-to-end tests through scripts/test.sh: they write to the OS keyring, which must be a throwaway one"
    );
    clear_keyring();
    let home = tempfile::tempdir().unwrap();
    let fake = FakeProvider::start().await.unwrap();
    let driver = Driver::start(home.path()).await;

    // First run: keys and base URLs, then a prompt.
    let c = driver.session().await;
    click(&c, "[data-testid=nav-settings]").await;
    set_provider(&c, "openai", OPENAI_KEY, &fake.base_url(Flavour::OpenAi)).await;
    set_provider(&c, "openrouter", OPENROUTER_KEY, &fake.base_url(Flavour::OpenRouter)).await;

    click(&c, "[data-testid=new-conversation]").await;
    until("two columns, one per route", || async {
        (texts(&c, "[data-testid=column-header] .column-path").await == ["direct to OpenAI", "via OpenRouter → OpenAI"]).then_some(())
    })
    .await;
    type_into(&c, "[data-testid=prompt-input]", "Compare these routes [[fake tokens=60 pace_ms=15]]").await;
    find(&c, "[data-testid=prompt-input]").await.send_keys("\u{E007}").await.unwrap(); // Enter sends

    // Both answers stream at once: wait for both to be streaming with text, then both done.
    until("both answers streaming", || async {
        let statuses = attrs(&c, "[data-testid=answer]", "data-status").await;
        let texts = texts(&c, "[data-testid=answer-text]").await;
        (statuses.len() == 2 && texts.iter().all(|t| !t.is_empty())).then_some(())
    })
    .await;
    until("both answers done", || async {
        (attrs(&c, "[data-testid=answer]", "data-status").await == ["done", "done"]).then_some(())
    })
    .await;
    // The page's JavaScript engine makes every collection a full one and collects before its
    // heap grows far past what is live (src-tauri/rendering.rs), so what a turn leaves behind is
    // collected, not kept for turns, and the page's high-water mark stays low.
    for (name, want) in [("JSC_useGenerationalGC", "0"), ("JSC_heapGrowthMaxIncrease", "0.5"), ("JSC_largeHeapSize", "16777216")] {
        let got = web_process_env(name);
        assert!(!got.is_empty() && got.iter().all(|v| v.as_deref() == Some(want)), "the web process's {name}: {got:?}");
    }
    // No thread of the app or of its WebKit processes stays real-time (src-tauri/webkit_threads.rs):
    // WebKit makes some so where it may (here, as root, it may), and one of them spinning on a
    // lock the window's main thread holds kept that thread off its core for 100+ ms.
    until("WebKit's real-time threads made ordinary", || async { realtime_threads().is_empty().then_some(()) }).await;
    let answers = texts(&c, "[data-testid=answer-text]").await;
    assert!(answers[0].contains("gpt-4o-mini (fake)"), "{answers:?}");
    assert!(answers[1].contains("openai/gpt-4o-mini (fake)"), "{answers:?}");
    let costs = texts(&c, "[data-testid=answer-cost]").await;
    assert_eq!(costs.len(), 2);
    assert!(costs.iter().all(|t| t.starts_with('$') && t != "$0.00"), "{costs:?}");
    let total = text(&c, "[data-testid=conversation-total-cost]").await;
    assert!(total.starts_with('$') && total != "$0.00", "total {total}");
    let metas = texts(&c, "[data-testid=answer-meta]").await;
    assert!(metas.iter().all(|m| m.contains("60 tok out") && m.contains("TTFT")), "{metas:?}");

    let shot = page_screenshot(&c).await.unwrap();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/e2e");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("skeleton.png"), shot).unwrap();

    // The keys travelled only as request headers to the provider they belong to.
    let reqs = answer_requests(&fake);
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        let expected = if r.path.starts_with("/api/") { OPENROUTER_KEY } else { OPENAI_KEY };
        assert_eq!(r.key.as_deref(), Some(expected));
    }

    // Nothing the web view can ask for carries a key.
    let conv_id: i64 = {
        let list = ipc(&c, "list_conversations", serde_json::json!({})).await;
        let v: serde_json::Value = serde_json::from_str(&list).unwrap();
        v[0]["id"].as_i64().unwrap()
    };
    let mut seen = String::new();
    for (cmd, args) in [
        ("list_providers", serde_json::json!({})),
        ("app_info", serde_json::json!({})),
        ("list_conversations", serde_json::json!({})),
        ("load_conversation", serde_json::json!({"id": conv_id})),
    ] {
        let answer = ipc(&c, cmd, args).await;
        assert!(!answer.starts_with("ERR"), "{cmd}: {answer}");
        seen.push_str(&answer);
    }
    assert!(seen.contains("\"key_source\":\"keyring\""));
    c.close().await.unwrap();

    // The keys are in the OS keyring.
    let keyring = Keyring::default();
    assert_eq!(keyring.get("openai").unwrap().unwrap().expose(), OPENAI_KEY);
    assert_eq!(keyring.get("openrouter").unwrap().unwrap().expose(), OPENROUTER_KEY);

    // Second run: the conversation is still there, with its answers and total.
    let c = driver.session().await;
    find(&c, "[data-testid=conversation-item]").await;
    until("the conversation reopened", || async {
        (texts(&c, "[data-testid=answer-text]").await == answers).then_some(())
    })
    .await;
    assert_eq!(text(&c, "[data-testid=conversation-total-cost]").await, total);
    // Base URLs were kept (tauri-plugin-store), keys are still set, and neither page shows a key.
    click(&c, "[data-testid=nav-settings]").await;
    let base = find(&c, "[data-testid=base-url-openai]").await;
    until("the saved base URL", || async {
        (base.prop("value").await.ok().flatten().as_deref() == Some(fake.base_url(Flavour::OpenAi).as_str())).then_some(())
    })
    .await;
    assert_eq!(text(&c, "[data-testid=key-status-openrouter]").await, "Key set");
    let page = c.source().await.unwrap();
    for key in [OPENAI_KEY, OPENROUTER_KEY] {
        assert!(!leaks(page.as_bytes(), key), "the page shows no key");
    }
    c.close().await.unwrap();
    drop(driver);

    // No file under the app's data, config and cache dirs holds a key or a 12-character slice of one.
    let files = files_under(home.path());
    assert!(files.iter().any(|f| f.ends_with("tally.sqlite3")), "the database is where expected: {files:?}");
    assert!(files.iter().any(|f| f.ends_with("settings.json")), "settings were stored: {files:?}");
    assert_no_file_leaks(home.path(), &[OPENAI_KEY, OPENROUTER_KEY]);
    for key in [OPENAI_KEY, OPENROUTER_KEY] {
        assert!(!leaks(seen.as_bytes(), key), "a key reached the web view");
    }
    keyring.delete("openai").unwrap();
    keyring.delete("openrouter").unwrap();
}
