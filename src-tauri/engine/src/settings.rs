//! Non-secret settings: each provider's base URL. Kept as a JSON object in the data dir
//! (tauri-plugin-store writes it in the app; the CLI reads the same file).
//!
//! A corrupt file never stops the app: it is moved aside and the defaults are used.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::pricing::Fees;
use crate::providers::{provider, ProviderInfo, StreamLimits};
use crate::target::Target;

/// The store key under which base URLs live.
pub const BASE_URLS_KEY: &str = "base_urls";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// provider id → base URL, only where the user changed it.
    #[serde(default)]
    pub base_urls: BTreeMap<String, String>,
    /// NAME → base URL of the user's own OpenAI-compatible endpoints (`custom:NAME:model`).
    #[serde(default)]
    pub custom_endpoints: BTreeMap<String, String>,
    /// Route fees in percent; `None` until the user changes the defaults.
    #[serde(default)]
    pub fees: Option<Fees>,
    /// A day's spend above this many times the trailing daily average is a spike alert;
    /// `None` until the user changes the default (3).
    #[serde(default)]
    pub spike_multiplier: Option<rust_decimal::Decimal>,
    /// Seconds a streaming answer may send nothing before it ends as stalled; `None`: 60.
    #[serde(default)]
    pub idle_timeout_s: Option<u64>,
    /// Seconds one answer may take in all; `None`: 600 (10 minutes).
    #[serde(default)]
    pub answer_deadline_s: Option<u64>,
    /// Where direct list prices are refreshed from (LiteLLM's price map); `None` until the user
    /// changes the default ([`crate::pricing::catalog_store::LITELLM_URL`]).
    #[serde(default)]
    pub price_map_url: Option<String>,
}

/// The store key of the idle timeout between streamed bytes, in seconds.
pub const IDLE_TIMEOUT_KEY: &str = "idle_timeout_s";
/// The store key of the deadline per answer, in seconds.
pub const ANSWER_DEADLINE_KEY: &str = "answer_deadline_s";

/// The store key under which custom endpoints live.
pub const CUSTOM_ENDPOINTS_KEY: &str = "custom_endpoints";
/// The store key under which route fees live.
pub const FEES_KEY: &str = "fees";
/// The store key under which the spike alert's multiplier lives.
pub const SPIKE_MULTIPLIER_KEY: &str = "spike_multiplier";
/// The store key under which the direct price map's address lives.
pub const PRICE_MAP_URL_KEY: &str = "price_map_url";

impl Settings {
    /// The route fees in force: the user's, else the defaults.
    pub fn fees(&self) -> Fees {
        self.fees.clone().unwrap_or_default()
    }

    /// The spike alert's multiplier in force: the user's (when above 1), else the default.
    pub fn spike_multiplier(&self) -> rust_decimal::Decimal {
        self.spike_multiplier.filter(|m| *m > rust_decimal::Decimal::ONE).unwrap_or(crate::ledger::alerts::DEFAULT_SPIKE_MULTIPLIER)
    }

    /// The limits of a streaming answer: the user's idle timeout and deadline (each at least a
    /// second), else the defaults.
    pub fn stream_limits(&self) -> StreamLimits {
        let secs = |s: Option<u64>| s.filter(|s| *s > 0).map(std::time::Duration::from_secs);
        let defaults = StreamLimits::default();
        StreamLimits {
            idle: secs(self.idle_timeout_s).unwrap_or(defaults.idle),
            answer_deadline: secs(self.answer_deadline_s).unwrap_or(defaults.answer_deadline),
            ..defaults
        }
    }

    /// Where direct list prices are refreshed from: the user's address, else LiteLLM's.
    pub fn price_map_url(&self) -> String {
        self.price_map_url.clone().unwrap_or_else(|| crate::pricing::catalog_store::LITELLM_URL.to_string())
    }

    pub fn base_url(&self, p: &ProviderInfo) -> String {
        self.base_urls.get(p.id).cloned().unwrap_or_else(|| p.default_base_url.to_string())
    }

    /// Where a target's requests go; `None` for a custom endpoint the user has not added.
    pub fn base_url_for(&self, target: &Target) -> Option<String> {
        match target.custom_name() {
            Some(name) => self.custom_endpoints.get(name).cloned(),
            None => Some(self.base_url(target.provider())),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("Unknown provider \"{0}\".")]
    UnknownProvider(String),
    #[error("A base URL starts with http:// or https://, like https://api.openai.com/v1. Got \"{0}\".")]
    BadUrl(String),
}

/// Checks and normalises a base URL the user typed (trailing slashes dropped).
pub fn normalise_base_url(provider_id: &str, url: &str) -> Result<String, SettingsError> {
    provider(provider_id).ok_or_else(|| SettingsError::UnknownProvider(provider_id.to_string()))?;
    let url = url.trim().trim_end_matches('/');
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(url.to_string()),
        _ => Err(SettingsError::BadUrl(url.to_string())),
    }
}

/// Reads the settings file. A missing file gives the defaults; an unreadable one is renamed to
/// `settings.json.corrupt` and the defaults are used, with a message saying so.
pub fn load_or_quarantine(path: &Path) -> (Settings, Option<String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Settings::default(), None),
        Err(e) => return (Settings::default(), Some(format!("Could not read the settings file ({e}); using defaults."))),
    };
    match serde_json::from_str::<Settings>(&text) {
        Ok(s) => (s, None),
        Err(e) => {
            let aside = path.with_extension("json.corrupt");
            let moved = std::fs::rename(path, &aside).is_ok();
            let note = if moved { format!(" It was moved to {}.", aside.display()) } else { String::new() };
            (Settings::default(), Some(format!("The settings file was damaged ({e}), so Tally started with default settings.{note}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_settings_are_moved_aside_and_defaults_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{ not json").unwrap();
        let (settings, warning) = load_or_quarantine(&path);
        assert_eq!(settings, Settings::default());
        assert!(warning.unwrap().contains("damaged"));
        assert!(!path.exists());
        assert!(dir.path().join("settings.json.corrupt").exists());
    }

    #[test]
    fn base_urls_read_from_a_store_file_with_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, r#"{"base_urls":{"openai":"http://127.0.0.1:9/v1"},"theme":"dark"}"#).unwrap();
        let (settings, warning) = load_or_quarantine(&path);
        assert!(warning.is_none());
        assert_eq!(settings.base_url(provider("openai").unwrap()), "http://127.0.0.1:9/v1");
        assert_eq!(settings.base_url(provider("anthropic").unwrap()), "https://api.anthropic.com");
    }

    #[test]
    fn fees_default_to_openrouters_credit_fee_and_read_back_as_exact_decimals() {
        assert_eq!(Settings::default().fees().percent("openrouter").to_string(), "5.5");
        assert!(Settings::default().fees().percent("openai").is_zero());
        let s: Settings = serde_json::from_str(r#"{"fees": {"percent_by_route": {"openrouter": "0.8"}}}"#).unwrap();
        assert_eq!(s.fees().percent("openrouter").to_string(), "0.8");
    }

    #[test]
    fn the_spike_multiplier_defaults_to_three_and_ignores_one_or_less() {
        assert_eq!(Settings::default().spike_multiplier().to_string(), "3");
        let s: Settings = serde_json::from_str(r#"{"spike_multiplier": "2.5"}"#).unwrap();
        assert_eq!(s.spike_multiplier().to_string(), "2.5");
        let s: Settings = serde_json::from_str(r#"{"spike_multiplier": "1"}"#).unwrap();
        assert_eq!(s.spike_multiplier().to_string(), "3", "every day above its average is no spike");
    }

    #[test]
    fn stream_limits_default_to_a_minute_idle_and_ten_minutes_per_answer() {
        let l = Settings::default().stream_limits();
        assert_eq!((l.idle.as_secs(), l.answer_deadline.as_secs()), (60, 600));
        let s: Settings = serde_json::from_str(r#"{"idle_timeout_s": 5, "answer_deadline_s": 0}"#).unwrap();
        let l = s.stream_limits();
        assert_eq!((l.idle.as_secs(), l.answer_deadline.as_secs()), (5, 600), "0 is no deadline the user meant");
    }

    #[test]
    fn custom_endpoints_are_found_by_name() {
        let mut s = Settings::default();
        s.custom_endpoints.insert("lab".into(), "http://10.0.0.5:8000/v1".into());
        assert_eq!(s.base_url_for(&Target::parse("custom:lab:m").unwrap()).as_deref(), Some("http://10.0.0.5:8000/v1"));
        assert_eq!(s.base_url_for(&Target::parse("custom:other:m").unwrap()), None);
        assert_eq!(s.base_url_for(&Target::parse("openai:m").unwrap()).as_deref(), Some("https://api.openai.com/v1"));
    }

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        assert_eq!(normalise_base_url("openai", " http://127.0.0.1:8080/v1/ ").unwrap(), "http://127.0.0.1:8080/v1");
        assert!(matches!(normalise_base_url("openai", "api.openai.com"), Err(SettingsError::BadUrl(_))));
        assert!(matches!(normalise_base_url("nope", "http://x"), Err(SettingsError::UnknownProvider(_))));
    }
}
