//! Where each provider's requests go and with which key: the settings' base URL plus the key
//! from the keyring (or, for the CLI, the provider's environment variable).

use std::sync::RwLock;

use crate::providers::{Endpoint, ErrorKind, ProviderError, ProviderInfo};
use crate::secrets::{self, Keyring};
use crate::settings::Settings;

/// Resolves an endpoint for a provider. Blocking (it may ask the keyring over D-Bus).
pub trait Endpoints: Send + Sync {
    fn endpoint(&self, provider: &'static ProviderInfo) -> Result<Endpoint, ProviderError>;
}

/// The app's and the CLI's resolver: base URLs from [`Settings`], keys from the keyring.
pub struct KeyringEndpoints {
    pub keyring: Keyring,
    pub settings: RwLock<Settings>,
    /// Read `OPENAI_API_KEY` and friends when the keyring has no key (the CLI does).
    pub allow_env: bool,
}

impl KeyringEndpoints {
    pub fn new(keyring: Keyring, settings: Settings, allow_env: bool) -> Self {
        KeyringEndpoints { keyring, settings: RwLock::new(settings), allow_env }
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_settings(&self, settings: Settings) {
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
    }
}

impl Endpoints for KeyringEndpoints {
    fn endpoint(&self, provider: &'static ProviderInfo) -> Result<Endpoint, ProviderError> {
        let base_url = self.settings().base_url(provider);
        let (api_key, _) = secrets::resolve(&self.keyring, provider, self.allow_env)
            .map_err(|e| ProviderError::new(ErrorKind::Auth, format!("Tally could not read the {} key. {e}", provider.name)))?;
        if api_key.is_none() && provider.needs_key {
            let hint = if self.allow_env && !provider.env_var.is_empty() {
                format!(" (or set {})", provider.env_var)
            } else {
                String::new()
            };
            return Err(ProviderError::new(
                ErrorKind::Auth,
                format!("There is no {} API key yet. Add one in Settings{hint}.", provider.name),
            ));
        }
        Ok(Endpoint { provider, base_url, api_key })
    }
}
