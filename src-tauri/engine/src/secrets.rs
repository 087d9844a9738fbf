//! API keys in the OS keyring (Secret Service, Keychain, Credential Manager), one entry per
//! provider under one service name. Only this module reads or writes them.
//!
//! Must not: write a key anywhere else, return one across IPC, or let one reach a log line,
//! an error or a `Debug` output. [`ApiKey`] prints as `***` and is wiped from memory on drop.
//! All calls block (D-Bus round trips): call them from `spawn_blocking` or a plain thread.

use zeroize::Zeroizing;

use crate::paths::APP_ID;

/// A secret that prints as `***` and is zeroed when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Zeroizing<String>);

impl ApiKey {
    /// Trims surrounding white space (keys are pasted); refuses an empty key or one with
    /// white space or control characters inside (a paste of two lines, say).
    pub fn new(raw: impl Into<String>) -> Result<Self, SecretsError> {
        let raw = Zeroizing::new(raw.into());
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(SecretsError::Empty);
        }
        if trimmed.contains(['\n', '\r']) {
            return Err(SecretsError::MultiLine);
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(SecretsError::Invalid);
        }
        // Providers issue keys of printable ASCII; anything else is a paste gone wrong (and
        // would be echoed back in other encodings that redaction cannot all foresee).
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SecretsError::NotAscii);
        }
        if trimmed.len() > 16 * 1024 {
            return Err(SecretsError::TooLong);
        }
        Ok(ApiKey(Zeroizing::new(trimmed.to_string())))
    }

    /// The key itself, for the one place that needs it: a request header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("The key is empty. Paste the whole key.")]
    Empty,
    #[error("The key contains spaces or line breaks. Paste the key alone, on one line.")]
    Invalid,
    #[error("What was pasted is several lines, not one key. Nothing was saved: copy the key alone and paste it again.")]
    MultiLine,
    #[error("The key contains characters no provider uses in a key (keys are printable ASCII letters, digits and symbols). Nothing was saved: copy the key again.")]
    NotAscii,
    #[error("The key is longer than 16 KB, which no provider issues. Check what was pasted.")]
    TooLong,
    #[error("No system keyring is available, so keys cannot be stored. {hint}")]
    Unavailable { hint: String },
    #[error("The system keyring is locked. Unlock it (log in to the desktop session, or open your keyring app) and try again.")]
    Locked,
    #[error("The system keyring refused the request: {0}")]
    Platform(String),
}

impl SecretsError {
    pub fn kind(&self) -> &'static str {
        match self {
            SecretsError::Empty | SecretsError::Invalid | SecretsError::MultiLine | SecretsError::NotAscii | SecretsError::TooLong => "invalid_key",
            SecretsError::Unavailable { .. } => "keyring_unavailable",
            SecretsError::Locked => "keyring_locked",
            SecretsError::Platform(_) => "keyring_error",
        }
    }
}

fn unavailable_hint() -> String {
    if cfg!(target_os = "linux") {
        "On Linux, Tally needs a Secret Service: install and start gnome-keyring or KeePassXC (with Secret Service enabled) in your desktop session.".into()
    } else if cfg!(target_os = "macos") {
        "On macOS, the login Keychain must be available to your user.".into()
    } else {
        "On Windows, Credential Manager must be available to your user.".into()
    }
}

fn map_err(err: keyring::Error) -> SecretsError {
    match err {
        keyring::Error::NoStorageAccess(e) => {
            let text = e.to_string();
            if text.to_ascii_lowercase().contains("lock") || text.contains("Prompt") {
                SecretsError::Locked
            } else {
                SecretsError::Unavailable { hint: format!("{} ({text})", unavailable_hint()) }
            }
        }
        keyring::Error::PlatformFailure(e) => {
            let text = e.to_string();
            let lower = text.to_ascii_lowercase();
            if lower.contains("locked") {
                SecretsError::Locked
            } else if lower.contains("dbus") || lower.contains("d-bus") || lower.contains("secret service") || lower.contains("org.freedesktop") {
                SecretsError::Unavailable { hint: unavailable_hint() }
            } else {
                SecretsError::Platform(text)
            }
        }
        // Never format BadEncoding's payload: it is the stored secret's bytes.
        keyring::Error::BadEncoding(_) => SecretsError::Platform("the stored key is not valid text; remove it and set it again".into()),
        other => SecretsError::Platform(other.to_string()),
    }
}

/// Whether the Secret Service can be reached without starting anything. With no session bus
/// address, libdbus falls back to "autolaunch", which on a machine with `DISPLAY` set starts a
/// D-Bus daemon (2 s) that outlives the process — one per `tally-cli` call. So the keyring is
/// used only when there is a session bus: the address in the environment, or the user bus
/// socket (`$XDG_RUNTIME_DIR/bus`) that libdbus finds by itself. Otherwise it is unreachable,
/// said in words.
#[cfg(all(unix, not(target_os = "macos")))]
fn session_bus() -> Result<(), SecretsError> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()).map(std::path::PathBuf::from);
    session_bus_in(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").as_deref(), runtime.as_deref())
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn session_bus() -> Result<(), SecretsError> {
    Ok(())
}

#[cfg_attr(not(all(unix, not(target_os = "macos"))), allow(dead_code))]
fn session_bus_in(address: Option<&std::ffi::OsStr>, runtime_dir: Option<&std::path::Path>) -> Result<(), SecretsError> {
    if address.is_some_and(|a| !a.is_empty()) {
        return Ok(());
    }
    if runtime_dir.is_some_and(|d| d.join("bus").exists()) {
        return Ok(());
    }
    Err(SecretsError::Unavailable {
        hint: "There is no D-Bus session bus here (DBUS_SESSION_BUS_ADDRESS is not set and there is no user bus), so the system keyring cannot be reached; Tally does not start one. Run Tally in your desktop session, or use the providers' environment variables (OPENAI_API_KEY, …) with tally-cli.".into(),
    })
}

/// The keyring, under one service name (the app's identifier unless a test picks its own).
#[derive(Debug, Clone)]
pub struct Keyring {
    service: String,
}

impl Default for Keyring {
    fn default() -> Self {
        Keyring { service: APP_ID.to_string() }
    }
}

impl Keyring {
    pub fn with_service(service: impl Into<String>) -> Self {
        Keyring { service: service.into() }
    }

    fn entry(&self, provider: &str) -> Result<keyring::Entry, SecretsError> {
        session_bus()?;
        keyring::Entry::new(&self.service, provider).map_err(map_err)
    }

    pub fn set(&self, provider: &str, key: &ApiKey) -> Result<(), SecretsError> {
        self.entry(provider)?.set_password(key.expose()).map_err(map_err)
    }

    pub fn get(&self, provider: &str) -> Result<Option<ApiKey>, SecretsError> {
        match self.entry(provider)?.get_password() {
            Ok(secret) => Ok(ApiKey::new(secret).ok()),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    /// Removes the key; `false` when there was none.
    pub fn delete(&self, provider: &str) -> Result<bool, SecretsError> {
        match self.entry(provider)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(map_err(e)),
        }
    }
}

/// Where a provider's key would come from right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum KeySource {
    Keyring,
    Env,
    None,
}

/// A provider's key from its usual environment variable (`OPENAI_API_KEY`, …), if one is set
/// and looks like a key. Read, never stored.
pub fn env_key(env_var: &str) -> Option<ApiKey> {
    (!env_var.is_empty()).then(|| std::env::var(env_var).ok()).flatten().and_then(|v| ApiKey::new(v).ok())
}

/// When environment variables may supply a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvFallback {
    /// Never (the app with a working keyring: keys are imported on the user's click).
    Never,
    /// Only when the keyring cannot be reached (the app on a machine without one).
    WhenKeyringUnavailable,
    /// Whenever the keyring has no key (the CLI).
    Always,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyring_is_used_only_when_there_is_a_session_bus() {
        let dir = tempfile::tempdir().unwrap();
        assert!(session_bus_in(Some(std::ffi::OsStr::new("unix:path=/run/user/1000/bus")), None).is_ok());
        let err = session_bus_in(None, Some(dir.path())).unwrap_err();
        assert!(matches!(&err, SecretsError::Unavailable { hint } if hint.contains("no D-Bus session bus")), "{err}");
        assert!(session_bus_in(Some(std::ffi::OsStr::new("")), None).is_err());
        std::fs::write(dir.path().join("bus"), b"").unwrap();
        assert!(session_bus_in(None, Some(dir.path())).is_ok(), "the user bus is found without starting anything");
    }

    #[test]
    fn api_key_debug_never_shows_the_key() {
        let key = ApiKey::new("  test-key-very-secret-123  ").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_eq!(key.expose(), "test-key-very-secret-123");
    }

    #[test]
    fn empty_whitespace_and_multiline_keys_are_refused_in_words() {
        assert_eq!(ApiKey::new("").unwrap_err(), SecretsError::Empty);
        assert_eq!(ApiKey::new(" \n\t ").unwrap_err(), SecretsError::Empty);
        assert_eq!(ApiKey::new("abc def").unwrap_err(), SecretsError::Invalid);
        assert_eq!(ApiKey::new("sk-first-line\nsk-second-line\n").unwrap_err(), SecretsError::MultiLine);
        assert_eq!(ApiKey::new("sk-one\r\nsk-two").unwrap_err(), SecretsError::MultiLine);
        assert_eq!(ApiKey::new("sk-clé-secrète").unwrap_err(), SecretsError::NotAscii);
        assert_eq!(ApiKey::new("sk-\u{200b}abc").unwrap_err(), SecretsError::NotAscii, "a zero-width space is not a key character");
        assert!(ApiKey::new("sk-proj-AbC_123-xyz.456~+/=").is_ok());
        assert!(ApiKey::new("  sk-trimmed\n").is_ok(), "a trailing newline from a file is not a second line");
        assert!(ApiKey::new("x".repeat(17 * 1024)).is_err());
        assert!(ApiKey::new("x".repeat(4096)).is_ok());
    }
}
