//! Where each provider's requests go and with which key: the settings' base URL plus the key
//! from the keyring (or, for the CLI, the provider's environment variable).

use std::sync::RwLock;

use crate::providers::{Endpoint, ErrorKind, ProviderError};
use crate::secrets::{self, EnvFallback, Keyring};
use crate::settings::Settings;
use crate::target::Target;

/// Resolves where a target's requests go. Blocking (it may ask the keyring over D-Bus).
pub trait Endpoints: Send + Sync {
    fn endpoint(&self, target: &Target) -> Result<Endpoint, ProviderError>;
}

/// The app's and the CLI's resolver: base URLs from [`Settings`], keys from the keyring.
pub struct KeyringEndpoints {
    pub keyring: Keyring,
    pub settings: RwLock<Settings>,
    /// When `OPENAI_API_KEY` and friends may supply a key.
    pub env: EnvFallback,
}

impl KeyringEndpoints {
    pub fn new(keyring: Keyring, settings: Settings, env: EnvFallback) -> Self {
        KeyringEndpoints { keyring, settings: RwLock::new(settings), env }
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_settings(&self, settings: Settings) {
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
    }
}

impl Endpoints for KeyringEndpoints {
    fn endpoint(&self, target: &Target) -> Result<Endpoint, ProviderError> {
        let provider = target.provider();
        let base_url = self.settings().base_url_for(target).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::BadRequest,
                format!("There is no custom endpoint named \"{}\". Add its base URL in Settings.", target.custom_name().unwrap_or_default()),
            )
        })?;
        let (api_key, _) = secrets::resolve_account(&self.keyring, &target.key_account(), provider, self.env)
            .map_err(|e| ProviderError::new(ErrorKind::Auth, format!("Tally could not read the {} key. {e}", provider.name)))?;
        if api_key.is_none() && provider.needs_key {
            let hint = if self.env != EnvFallback::Never && !provider.env_var.is_empty() {
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
