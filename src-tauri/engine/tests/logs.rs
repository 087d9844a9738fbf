//! The log file a user can send: written where the docs say, one file per day, and a key that
//! reaches a log line (in a provider's error text, say) is redacted before it is written.

use tally_engine::logs;

fn log_text(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("tally-test.") && name.ends_with(".log"), "unexpected file {name}");
        text.push_str(&std::fs::read_to_string(&path).unwrap());
    }
    text
}

#[test]
fn keys_in_log_lines_are_redacted_in_the_file() {
    let data = tempfile::tempdir().unwrap();
    let dir = logs::dir(data.path());
    assert_eq!(dir, data.path().join("logs"));
    let subscriber = logs::subscriber(&dir, "tally-test").unwrap();
    // Fake keys: a provider's prefix and a body that says it is a test key, put together here so
    // that no literal in the source looks like a real key. The last has no prefix (Mistral-like:
    // 32 letters and digits).
    let keys = [("sk-", "openai"), ("sk-", "anthropic"), ("sk-", "openrouter"), ("AIza", "gemini")]
        .map(|(prefix, provider)| format!("{prefix}test-key-{provider}-not-real"))
        .into_iter()
        .chain(["FakeTestKeyForMistralNotReal1234".to_string()])
        .collect::<Vec<_>>();
    tracing::subscriber::with_default(subscriber, || {
        // Our crates log at info by default (the test's own target would only log warnings).
        let _span = tracing::info_span!(target: "tally_engine::store", "startup.open_store").entered();
        tracing::info!(target: "tally_engine::turn", route = "openai", model = "gpt-4o-mini", "answer finished");
        tracing::warn!("provider said: Incorrect API key provided: {}. You can find your key at …", keys[0]);
        tracing::error!(detail = %format!("401 {{\"error\":\"invalid x-api-key {}\"}}", keys[1]), "request refused");
        tracing::warn!("Authorization: Bearer {}", keys[2]);
        tracing::warn!(url = %format!("https://generativelanguage.googleapis.com/v1beta/models?key={}", keys[3]), "list failed");
        tracing::warn!("custom endpoint refused key {}", keys[4]);
        tracing::debug!(target: "tally_engine::turn", "debug lines are not written by default");
        tracing::info!("other crates' info lines are not written by default");
    });
    let text = log_text(&dir);
    for key in &keys {
        assert!(!text.contains(key.as_str()), "{key} reached the log:\n{text}");
        assert!(!text.contains(&key[key.len() - 12..]), "part of {key} reached the log:\n{text}");
    }
    assert!(text.contains("answer finished") && text.contains("model=\"gpt-4o-mini\""), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert!(text.contains("startup.open_store") && text.contains("time.busy"), "spans log their duration when they close:\n{text}");
    assert!(!text.contains("debug lines") && !text.contains("other crates"), "{text}");
    assert!(!text.contains('\u{1b}'), "no terminal colour codes in the file");
}

/// "Open logs folder" (Settings): the folder is created if no line was written yet and handed
/// to the system's opener; with no opener on the PATH the error says which folder it was, so the
/// user can still find it. The opener here is a script that writes the path it was given into a
/// FIFO, which this test reads (the read waits for it: no sleep). Both cases in one test: they
/// change PATH, which the process shares.
#[cfg(target_os = "linux")]
#[test]
fn open_folder_hands_the_log_folder_to_the_opener_or_names_it_in_the_error() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let fifo = bin.path().join("opened");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let opener = bin.path().join("xdg-open");
    std::fs::write(&opener, format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", fifo.display())).unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let old_path = std::env::var_os("PATH").unwrap_or_default();

    std::env::set_var("PATH", bin.path());
    let opened = logs::open_folder(data.path());
    let handed = opened.as_ref().ok().map(|_| std::fs::read_to_string(&fifo).unwrap());

    let empty = tempfile::tempdir().unwrap();
    std::env::set_var("PATH", empty.path());
    let missing = logs::open_folder(data.path());
    std::env::set_var("PATH", old_path);

    let dir = opened.unwrap();
    assert_eq!(dir, data.path().join("logs"));
    assert!(dir.is_dir(), "the folder is made before it is opened");
    assert_eq!(handed.as_deref(), Some(dir.to_str().unwrap()));
    let message = missing.unwrap_err().to_string();
    assert!(message.contains(dir.to_str().unwrap()) && message.contains("xdg-open"), "{message}");
}
