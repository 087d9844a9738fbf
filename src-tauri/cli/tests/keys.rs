//! `tally-cli keys` against the real keyring (the test command's throwaway gnome-keyring).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn cli(args: &[&str], stdin: &str) -> (bool, String, String) {
    assert!(std::env::var_os("TALLY_E2E_ISOLATED").is_some(), "run through scripts/test.sh: this test writes to the OS keyring, which must be a throwaway one");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tally-cli"))
        .args(args)
        .env_remove("OPENAI_API_KEY")
        .env_remove("MISTRAL_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn keys_are_set_from_stdin_reported_and_deleted() {
    let (ok, _, err) = cli(&["keys", "set", "mistral"], "test-key-mistral-cli-Zx81\n");
    assert!(ok, "{err}");
    assert!(err.contains("Saved the Mistral key"));
    let (ok, out, _) = cli(&["keys", "status"], "");
    assert!(ok);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["mistral"], "keyring");
    assert_eq!(v["openai"], "none");
    assert!(!out.contains("test-key-mistral"), "status never prints a key");
    let (ok, _, err) = cli(&["keys", "delete", "mistral"], "");
    assert!(ok && err.contains("Removed"), "{err}");
    let (_, out, _) = cli(&["keys", "status"], "");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["mistral"], "none");
}

#[test]
fn an_empty_key_on_stdin_is_refused_in_words() {
    let (ok, _, err) = cli(&["keys", "set", "openai"], "   \n");
    assert!(!ok);
    assert!(err.contains("The key is empty"), "{err}");
    let (ok, _, err) = cli(&["keys", "set", "nope"], "x");
    assert!(!ok && err.contains("unknown provider"), "{err}");
}
