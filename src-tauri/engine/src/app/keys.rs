//! Providers and their keys (the keyring only; the UI learns whether a key is set), base URLs
//! and the user's own OpenAI-compatible endpoints. Keys go through the session's key cache, so a
//! key set or deleted here is what the next turn uses.

use std::future::Future;

use serde::Serialize;
use ts_rs::TS;

use super::{blocking, known, AppCode, AppError, Engine, Result};
use crate::destination::{self, Confirmation, KeyState, Question};
use crate::providers::{check_key, Endpoint, KeyCheck, ProviderInfo, PROVIDERS};
use crate::secrets::{self, ApiKey, KeySource};
use crate::settings::{self, Settings};
use crate::target::{custom_key_account, CUSTOM};

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

/// The longest name a custom endpoint may have.
const CUSTOM_NAME_MAX: usize = 40;

impl Engine {
    /// Every provider with its key status (asked of the keyring, off the async workers).
    pub async fn providers(&self) -> Result<ProvidersView> {
        let endpoints = self.endpoints.clone();
        let settings = self.settings();
        blocking(move || {
            let mut keyring_error = None;
            let providers = PROVIDERS
                .iter()
                .filter(|p| p.id != CUSTOM)
                .map(|p| {
                    let key_source = match endpoints.keys.get(p.id) {
                        Ok(Some(_)) => KeySource::Keyring,
                        Ok(None) => KeySource::None,
                        Err(e) => {
                            keyring_error.get_or_insert_with(|| e.to_string());
                            // The environment stands in, read-only, while the keyring is away.
                            if secrets::env_key(p.env_var).is_some() { KeySource::Env } else { KeySource::None }
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
        .await
    }

    /// Where each provider's key would come from now (the CLI's `keys status`); the first
    /// keyring error, if any, in words.
    pub async fn key_sources(&self) -> Result<(Vec<(&'static str, KeySource)>, Option<String>)> {
        let endpoints = self.endpoints.clone();
        blocking(move || {
            let mut warning = None;
            let sources = PROVIDERS
                .iter()
                .map(|p| {
                    let source = endpoints.keys.resolve(p.id, p, endpoints.env).map(|(_, s)| s).unwrap_or_else(|e| {
                        warning.get_or_insert_with(|| e.to_string());
                        KeySource::None
                    });
                    (p.id, source)
                })
                .collect();
            (sources, warning)
        })
        .await
    }

    /// The key a provider's calls would use now, or an error in words when there is none.
    pub(super) async fn key_for(&self, p: &'static ProviderInfo, missing: String) -> Result<Endpoint> {
        let endpoints = self.endpoints.clone();
        let (key, _) = blocking(move || endpoints.keys.resolve(p.id, p, endpoints.env)).await??;
        if key.is_none() && p.needs_key {
            return Err(AppError::new(AppCode::NoKey, missing));
        }
        Ok(Endpoint { provider: p, base_url: self.settings().base_url(p), api_key: key })
    }

    /// Tests a provider's key with a free authenticated call, and says what happened in words.
    pub async fn test_key(&self, provider_id: &str) -> Result<KeyCheck> {
        let p = known(provider_id)?;
        let endpoint = self.key_for(p, format!("There is no {} key to test yet. Paste one and save it first.", p.name)).await?;
        Ok(check_key(&self.http, &endpoint).await)
    }

    /// The usual environment variables that hold a key right now (names only, never values).
    pub fn env_keys(&self) -> Vec<EnvKey> {
        PROVIDERS
            .iter()
            .filter(|p| secrets::env_key(p.env_var).is_some())
            .map(|p| EnvKey { provider: p.id.to_string(), provider_name: p.name.to_string(), env_var: p.env_var.to_string() })
            .collect()
    }

    /// Copies the chosen providers' keys from their environment variables into the keyring.
    pub async fn import_env_keys(&self, provider_ids: &[String]) -> Result<ProvidersView> {
        let chosen = provider_ids.iter().map(|id| known(id)).collect::<Result<Vec<_>>>()?;
        let endpoints = self.endpoints.clone();
        blocking(move || -> Result<()> {
            for p in chosen {
                let key = secrets::env_key(p.env_var).ok_or_else(|| AppError::invalid(format!("{} is not set any more.", p.env_var)))?;
                endpoints.keys.set(p.id, &key)?;
            }
            Ok(())
        })
        .await??;
        self.providers().await
    }

    /// Stores a key in the keyring. The key arrives here and goes nowhere but the keyring.
    pub async fn set_key(&self, provider_id: &str, key: String) -> Result<ProviderStatus> {
        let p = known(provider_id)?;
        let key = ApiKey::new(key)?;
        let endpoints = self.endpoints.clone();
        blocking(move || endpoints.keys.set(p.id, &key)).await??;
        Ok(status(p, KeySource::Keyring, &self.settings()))
    }

    /// Removes a key from the keyring; `true` when there was one.
    pub async fn delete_key(&self, provider_id: &str) -> Result<(ProviderStatus, bool)> {
        let p = known(provider_id)?;
        let endpoints = self.endpoints.clone();
        let removed = blocking(move || endpoints.keys.delete(p.id)).await??;
        Ok((status(p, KeySource::None, &self.settings()), removed))
    }

    /// Sets (or with `None`, resets) a provider's base URL, and saves it — once `confirm` said
    /// yes, when the change would send a stored key to another host or go over plain http to a
    /// host that is not this machine or a private network ([`destination::confirmation`]). A
    /// no leaves everything as it was: [`AppCode::NotConfirmed`], in words.
    pub async fn set_base_url<F, Fut>(&self, provider_id: &str, url: Option<String>, confirm: F) -> Result<ProviderStatus>
    where
        F: FnOnce(Question) -> Fut,
        Fut: Future<Output = bool>,
    {
        let p = known(provider_id)?;
        let new = match url.filter(|u| !u.trim().is_empty()) {
            Some(u) => settings::normalise_base_url(p.id, &u)?,
            None => p.default_base_url.to_string(),
        };
        let old = self.settings().base_url(p);
        let key = self.key_state(p.id.to_string(), p).await?;
        agreed(destination::confirmation(Some(&old), &new, key), p.name, confirm).await?;
        // Read again: other settings may have changed while the question was open.
        let mut settings = self.settings();
        if new == p.default_base_url {
            settings.base_urls.remove(p.id);
        } else {
            settings.base_urls.insert(p.id.to_string(), new);
        }
        self.save_settings(settings.clone())?;
        let endpoints = self.endpoints.clone();
        let key_source = blocking(move || endpoints.keys.get(p.id).ok().flatten().map_or(KeySource::None, |_| KeySource::Keyring)).await?;
        Ok(status(p, key_source, &settings))
    }

    /// Whether a key would go with requests of this keyring account: one in the keyring, one the
    /// provider's environment variable holds (a click imports it), or — the keyring unreachable —
    /// maybe one, so a change is asked about rather than let through.
    async fn key_state(&self, account: String, p: &'static ProviderInfo) -> Result<KeyState> {
        let endpoints = self.endpoints.clone();
        blocking(move || {
            let stored = match endpoints.keys.resolve(&account, p, endpoints.env) {
                Ok((key, _)) => key.is_some() || secrets::env_key(p.env_var).is_some(),
                Err(_) => true,
            };
            if stored { KeyState::Stored } else { KeyState::None }
        })
        .await
    }

    pub async fn custom_endpoints(&self) -> Result<Vec<CustomEndpoint>> {
        let settings = self.settings();
        let endpoints = self.endpoints.clone();
        blocking(move || {
            settings
                .custom_endpoints
                .iter()
                .map(|(name, url)| CustomEndpoint {
                    key_set: endpoints.keys.get(&custom_key_account(name)).ok().flatten().is_some(),
                    name: name.clone(),
                    base_url: url.clone(),
                })
                .collect()
        })
        .await
    }

    /// Adds or updates a custom endpoint; a key, when given, goes to the keyring. Asks `confirm`
    /// first, as [`Engine::set_base_url`] does, when the key stored for this endpoint would go to
    /// another host or requests would go over plain http to a public host.
    pub async fn set_custom_endpoint<F, Fut>(&self, name: &str, base_url: &str, key: Option<String>, confirm: F) -> Result<Vec<CustomEndpoint>>
    where
        F: FnOnce(Question) -> Fut,
        Fut: Future<Output = bool>,
    {
        let name = name.trim().to_string();
        if name.is_empty() || name.len() > CUSTOM_NAME_MAX || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(AppError::invalid(format!("A name is 1 to {CUSTOM_NAME_MAX} letters, digits, - or _ (it becomes part of targets like custom:NAME:model).")));
        }
        let url = settings::normalise_base_url(CUSTOM, base_url)?;
        let key = key.filter(|k| !k.trim().is_empty()).map(ApiKey::new).transpose()?;
        let account = custom_key_account(&name);
        let key_state = match key {
            Some(_) => KeyState::New,
            None => self.key_state(account.clone(), known(CUSTOM)?).await?,
        };
        let old = self.settings().custom_endpoints.get(&name).cloned();
        agreed(destination::confirmation(old.as_deref(), &url, key_state), &name, confirm).await?;
        if let Some(key) = key {
            let endpoints = self.endpoints.clone();
            blocking(move || endpoints.keys.set(&account, &key)).await??;
        }
        let mut s = self.settings();
        s.custom_endpoints.insert(name, url);
        self.save_settings(s)?;
        self.custom_endpoints().await
    }

    pub async fn delete_custom_endpoint(&self, name: &str) -> Result<Vec<CustomEndpoint>> {
        let endpoints = self.endpoints.clone();
        let account = custom_key_account(name);
        blocking(move || endpoints.keys.delete(&account)).await??;
        let mut s = self.settings();
        s.custom_endpoints.remove(name);
        self.save_settings(s)?;
        self.custom_endpoints().await
    }
}

/// Goes on when nothing needs confirming or `confirm` said yes; otherwise the refusal in words.
async fn agreed<F, Fut>(needed: Option<Confirmation>, whose: &str, confirm: F) -> Result<()>
where
    F: FnOnce(Question) -> Fut,
    Fut: Future<Output = bool>,
{
    match needed {
        Some(c) if !confirm(c.question(whose)).await => Err(AppError::new(AppCode::NotConfirmed, c.refusal(whose))),
        _ => Ok(()),
    }
}

fn status(p: &'static ProviderInfo, key_source: KeySource, settings: &Settings) -> ProviderStatus {
    let base_url = settings.base_url(p);
    ProviderStatus { info: p, key_source, base_url_is_default: base_url == p.default_base_url, base_url }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::provider;

    #[test]
    fn provider_status_never_carries_the_key() {
        let s = status(provider("openai").unwrap(), KeySource::Keyring, &Settings::default());
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"key_source\":\"keyring\""));
        assert!(!json.contains("key\":\"test-"));
    }
}
