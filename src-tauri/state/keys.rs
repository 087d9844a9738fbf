//! Providers and their keys (the keyring only; the UI learns whether a key is set), base URLs
//! and the user's own OpenAI-compatible endpoints.

use serde::Serialize;
use tally_engine::providers::{check_key, Endpoint, KeyCheck, ProviderInfo, PROVIDERS};
use tally_engine::secrets::{self, ApiKey, EnvFallback, KeySource};
use tally_engine::settings::{self, Settings};
use tally_engine::target::custom_key_account;
use ts_rs::TS;

use super::{known, AppState};
use crate::error::AppError;

/// A provider as the UI sees it: whether a key is set — never the key, nor any part of it.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct ProviderStatus {
    #[ts(as = "ProviderInfo")]
    pub info: &'static ProviderInfo,
    pub key_source: KeySource,
    pub base_url: String,
    pub base_url_is_default: bool,
}

/// A user-named OpenAI-compatible endpoint (`custom:NAME:model`). Never its key.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct CustomEndpoint {
    pub name: String,
    pub base_url: String,
    pub key_set: bool,
}

/// A key found in an environment variable, offered for import. Never the value.
#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct EnvKey {
    pub provider: String,
    pub provider_name: String,
    pub env_var: String,
}

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct ProvidersView {
    pub providers: Vec<ProviderStatus>,
    /// Set when the keyring cannot be reached, in words, with how to fix it.
    pub keyring_error: Option<String>,
}

impl AppState {
    /// Every provider with its key status (asked of the keyring, off the UI thread).
    pub async fn providers(&self) -> Result<ProvidersView, AppError> {
        let keyring = self.keyring.clone();
        let settings = self.endpoints.settings();
        Ok(tokio::task::spawn_blocking(move || {
            let mut keyring_error = None;
            let providers = PROVIDERS
                .iter()
                .filter(|p| p.id != tally_engine::target::CUSTOM)
                .map(|p| {
                    let key_source = match keyring.get(p.id) {
                        Ok(Some(_)) => KeySource::Keyring,
                        Ok(None) => KeySource::None,
                        Err(e) => {
                            keyring_error.get_or_insert_with(|| e.to_string());
                            // The environment stands in, read-only, while the keyring is away.
                            if secrets::env_key(p).is_some() { KeySource::Env } else { KeySource::None }
                        }
                    };
                    status(p, key_source, &settings)
                })
                .collect();
            let keyring_error = keyring_error.map(|e| {
                format!("{e} Until it is available, keys are read from environment variables (OPENAI_API_KEY and the like) for this session only, and cannot be saved.")
            });
            ProvidersView { providers, keyring_error }
        })
        .await?)
    }

    /// Tests a provider's key with a free authenticated call, and says what happened in words.
    pub async fn test_key(&self, provider_id: String) -> Result<KeyCheck, AppError> {
        let p = known(&provider_id)?;
        let keyring = self.keyring.clone();
        let (key, _) = tokio::task::spawn_blocking(move || secrets::resolve(&keyring, p, EnvFallback::WhenKeyringUnavailable)).await??;
        if key.is_none() && p.needs_key {
            return Err(AppError::new("no_key", format!("There is no {} key to test yet. Paste one and save it first.", p.name)));
        }
        let endpoint = Endpoint { provider: p, base_url: self.endpoints.settings().base_url(p), api_key: key };
        Ok(check_key(&self.http, &endpoint).await)
    }

    /// The usual environment variables that hold a key right now (names only, never values).
    pub fn env_keys(&self) -> Vec<EnvKey> {
        PROVIDERS
            .iter()
            .filter(|p| secrets::env_key(p).is_some())
            .map(|p| EnvKey { provider: p.id.to_string(), provider_name: p.name.to_string(), env_var: p.env_var.to_string() })
            .collect()
    }

    /// Copies the chosen providers' keys from their environment variables into the keyring.
    pub async fn import_env_keys(&self, provider_ids: Vec<String>) -> Result<ProvidersView, AppError> {
        let chosen = provider_ids.iter().map(|id| known(id)).collect::<Result<Vec<_>, _>>()?;
        let keyring = self.keyring.clone();
        tokio::task::spawn_blocking(move || -> Result<(), AppError> {
            for p in chosen {
                let key = secrets::env_key(p).ok_or_else(|| AppError::new("invalid", format!("{} is not set any more.", p.env_var)))?;
                keyring.set(p.id, &key)?;
            }
            Ok(())
        })
        .await??;
        self.providers().await
    }

    /// Stores a key in the keyring. The key arrives here and goes nowhere but the keyring.
    pub async fn set_key(&self, provider_id: String, key: String) -> Result<ProviderStatus, AppError> {
        let p = known(&provider_id)?;
        let key = ApiKey::new(key)?;
        let keyring = self.keyring.clone();
        tokio::task::spawn_blocking(move || keyring.set(p.id, &key)).await??;
        Ok(status(p, KeySource::Keyring, &self.endpoints.settings()))
    }

    pub async fn delete_key(&self, provider_id: String) -> Result<ProviderStatus, AppError> {
        let p = known(&provider_id)?;
        let keyring = self.keyring.clone();
        tokio::task::spawn_blocking(move || keyring.delete(p.id)).await??;
        Ok(status(p, KeySource::None, &self.endpoints.settings()))
    }

    /// Sets (or with `None`, resets) a provider's base URL, and saves it with tauri-plugin-store.
    pub async fn set_base_url(&self, provider_id: String, url: Option<String>) -> Result<ProviderStatus, AppError> {
        let p = known(&provider_id)?;
        let mut settings = self.endpoints.settings();
        match url.filter(|u| !u.trim().is_empty()) {
            Some(u) => {
                let u = settings::normalise_base_url(p.id, &u)?;
                if u == p.default_base_url {
                    settings.base_urls.remove(p.id);
                } else {
                    settings.base_urls.insert(p.id.to_string(), u);
                }
            }
            None => {
                settings.base_urls.remove(p.id);
            }
        }
        self.save_settings(&settings)?;
        self.endpoints.set_settings(settings.clone());
        let key_source = {
            let keyring = self.keyring.clone();
            tokio::task::spawn_blocking(move || keyring.get(p.id).ok().flatten().map_or(KeySource::None, |_| KeySource::Keyring)).await?
        };
        Ok(status(p, key_source, &settings))
    }

    pub async fn custom_endpoints(&self) -> Result<Vec<CustomEndpoint>, AppError> {
        let settings = self.endpoints.settings();
        let keyring = self.keyring.clone();
        Ok(tokio::task::spawn_blocking(move || {
            settings
                .custom_endpoints
                .iter()
                .map(|(name, url)| CustomEndpoint {
                    key_set: keyring.get(&custom_key_account(name)).ok().flatten().is_some(),
                    name: name.clone(),
                    base_url: url.clone(),
                })
                .collect()
        })
        .await?)
    }

    /// Adds or updates a custom endpoint; a key, when given, goes to the keyring.
    pub async fn set_custom_endpoint(&self, name: String, base_url: String, key: Option<String>) -> Result<Vec<CustomEndpoint>, AppError> {
        let name = name.trim().to_string();
        if name.is_empty() || name.len() > 40 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(AppError::new("invalid", "A name is 1 to 40 letters, digits, - or _ (it becomes part of targets like custom:NAME:model)."));
        }
        let url = settings::normalise_base_url(tally_engine::target::CUSTOM, &base_url)?;
        if let Some(key) = key.filter(|k| !k.trim().is_empty()) {
            let key = ApiKey::new(key)?;
            let keyring = self.keyring.clone();
            let account = custom_key_account(&name);
            tokio::task::spawn_blocking(move || keyring.set(&account, &key)).await??;
        }
        let mut s = self.endpoints.settings();
        s.custom_endpoints.insert(name, url);
        self.save_settings(&s)?;
        self.endpoints.set_settings(s);
        self.custom_endpoints().await
    }

    pub async fn delete_custom_endpoint(&self, name: String) -> Result<Vec<CustomEndpoint>, AppError> {
        let keyring = self.keyring.clone();
        let account = custom_key_account(&name);
        tokio::task::spawn_blocking(move || keyring.delete(&account)).await??;
        let mut s = self.endpoints.settings();
        s.custom_endpoints.remove(&name);
        self.save_settings(&s)?;
        self.endpoints.set_settings(s);
        self.custom_endpoints().await
    }
}

fn status(p: &'static ProviderInfo, key_source: KeySource, settings: &Settings) -> ProviderStatus {
    let base_url = settings.base_url(p);
    ProviderStatus { info: p, key_source, base_url_is_default: base_url == p.default_base_url, base_url }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_engine::providers::provider;

    #[test]
    fn provider_status_never_carries_the_key() {
        let s = status(provider("openai").unwrap(), KeySource::Keyring, &Settings::default());
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"key_source\":\"keyring\""));
        assert!(!json.contains("key\":\"test-"));
    }
}
