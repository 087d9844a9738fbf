//! The real OS keyring (Secret Service on Linux: the test command runs these inside a D-Bus
//! session with gnome-keyring unlocked). Each test uses its own service name.

use tally_engine::providers::provider;
use tally_engine::endpoints::CachedKeyring;
use tally_engine::secrets::{ApiKey, EnvFallback, KeySource, Keyring, SecretsError};

fn keyring(test: &str) -> Keyring {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() || !cfg!(target_os = "linux"),
        "keyring tests need a Secret Service: run them through the README's test command (scripts/test.sh)"
    );
    Keyring::with_service(format!("dev.tally.test.{test}.{}", std::process::id()))
}

#[test]
fn set_get_overwrite_and_delete_a_key() {
    let k = keyring("crud");
    assert_eq!(k.get("openai").unwrap(), None);
    k.set("openai", &ApiKey::new("test-key-first-000000000000").unwrap()).unwrap();
    assert_eq!(k.get("openai").unwrap().unwrap().expose(), "test-key-first-000000000000");
    k.set("openai", &ApiKey::new("test-key-second-11111111111").unwrap()).unwrap();
    assert_eq!(k.get("openai").unwrap().unwrap().expose(), "test-key-second-11111111111");
    assert!(k.delete("openai").unwrap());
    assert_eq!(k.get("openai").unwrap(), None);
    assert!(!k.delete("openai").unwrap(), "deleting twice says there was nothing");
}

#[test]
fn symbol_rich_and_4kb_keys_round_trip_and_non_ascii_ones_are_refused() {
    let k = keyring("sizes");
    let symbols = ApiKey::new("test-key_AZaz09.~+/=!#$%&*?@^|").unwrap();
    k.set("anthropic", &symbols).unwrap();
    assert_eq!(k.get("anthropic").unwrap().unwrap(), symbols);
    let big = ApiKey::new("k".repeat(4096)).unwrap();
    k.set("openrouter", &big).unwrap();
    assert_eq!(k.get("openrouter").unwrap().unwrap().expose().len(), 4096);
    k.delete("anthropic").unwrap();
    k.delete("openrouter").unwrap();
    assert_eq!(ApiKey::new("test-key-ünïcødé-鍵-🔑").unwrap_err(), SecretsError::NotAscii);
}

#[test]
fn with_a_display_and_no_session_bus_nothing_is_started_and_the_error_says_so() {
    if std::env::var_os("TALLY_KEYRING_CHILD").is_some_and(|v| v == "nobus") {
        let err = Keyring::with_service("dev.tally.test.nobus").get("openai").unwrap_err();
        println!("KEYRING-ERROR-KIND={} MESSAGE={err}", err.kind());
        return;
    }
    let runtime = tempfile::tempdir().unwrap();
    let mark = format!("tally-nobus-{}", std::process::id());
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "with_a_display_and_no_session_bus_nothing_is_started_and_the_error_says_so", "--nocapture"])
        .env("TALLY_KEYRING_CHILD", "nobus")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("DISPLAY", std::env::var("DISPLAY").unwrap_or_else(|_| ":0".into()))
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env("TALLY_TEST_MARK", &mark)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("KEYRING-ERROR-KIND=keyring_unavailable") && stdout.contains("no D-Bus session bus"), "{stdout}");
    // Nothing the child started is still running (an autolaunched dbus-daemon would carry the mark).
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter(|e| std::fs::read(e.path().join("environ")).is_ok_and(|env| env.windows(mark.len()).any(|w| w == mark.as_bytes())))
        .map(|e| std::fs::read_to_string(e.path().join("cmdline")).unwrap_or_default().replace('\0', " "))
        .collect();
    assert!(left.is_empty(), "left running: {left:?}");
}

#[test]
fn providers_are_separate_entries_and_status_says_where_a_key_comes_from() {
    let k = CachedKeyring::new(keyring("status"));
    k.set("openai", &ApiKey::new("test-key-openai-status").unwrap()).unwrap();
    let (key, source) = k.resolve("openai", provider("openai").unwrap(), EnvFallback::Never).unwrap();
    assert_eq!((key.unwrap().expose(), source), ("test-key-openai-status", KeySource::Keyring));
    let (key, source) = k.resolve("deepseek", provider("deepseek").unwrap(), EnvFallback::Never).unwrap();
    assert_eq!((key, source), (None, KeySource::None));
    k.delete("openai").unwrap();
}

#[test]
fn without_a_session_bus_the_error_says_what_is_missing() {
    // A child process with no D-Bus session: the keyring is unavailable, and says so in words.
    if std::env::var_os("TALLY_KEYRING_CHILD").is_some() {
        let err = Keyring::with_service("dev.tally.test.nobus").get("openai").unwrap_err();
        assert!(matches!(err, SecretsError::Unavailable { .. } | SecretsError::Platform(_)), "{err:?}");
        println!("KEYRING-ERROR-KIND={} MESSAGE={err}", err.kind());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--exact", "without_a_session_bus_the_error_says_what_is_missing", "--nocapture"])
        .env("TALLY_KEYRING_CHILD", "1")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/tally-test-bus")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("KEYRING-ERROR-KIND=keyring_unavailable"), "{stdout}");
    assert!(stdout.contains("Secret Service"), "the message says what to install: {stdout}");
}

#[test]
fn a_locked_keyring_is_reported_as_locked_in_words() {
    if std::env::var_os("TALLY_KEYRING_CHILD").is_some_and(|v| v == "locked") {
        let err = Keyring::with_service("dev.tally.test.locked").set("openai", &ApiKey::new("test-key-locked-0000").unwrap()).unwrap_err();
        println!("KEYRING-ERROR-KIND={} MESSAGE={err}", err.kind());
        return;
    }
    // A login keyring with a password, then a new session in which nobody unlocks it.
    // Its own data and runtime dirs: gnome-keyring finds a running daemon through the control
    // socket in $XDG_RUNTIME_DIR, and must not touch the one the other tests are using.
    let home = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let create = std::process::Command::new("dbus-run-session")
        .args(["--", "bash", "-c", "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && printf v | secret-tool store --label=probe tally probe"])
        .env("XDG_DATA_HOME", home.path())
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let exe = std::env::current_exe().unwrap();
    let script = format!("gnome-keyring-daemon --start --components=secrets >/dev/null && exec {} --exact a_locked_keyring_is_reported_as_locked_in_words --nocapture", exe.display());
    // No display: the keyring cannot show its unlock prompt, as on a server or over SSH.
    let out = std::process::Command::new("dbus-run-session")
        .args(["--", "bash", "-c", &script])
        .env("XDG_DATA_HOME", home.path())
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env("TALLY_KEYRING_CHILD", "locked")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("KEYRING-ERROR-KIND=keyring_locked"), "{stdout}");
    assert!(stdout.contains("Unlock it"), "the message says what to do: {stdout}");
}
