//! Where each provider's requests go and with which key: the settings' base URL plus the key
//! from the keyring (or, for the CLI, the provider's environment variable).
//!
//! Keys are read from the keyring once per session: each read goes over D-Bus (about 4 ms a
//! key), so a turn on 8 columns would otherwise wait 30-odd ms before any request leaves. The
//! cache lives in this process's memory only, holds [`ApiKey`]s (wiped on drop, `Debug` prints
//! `***`, not serialisable), and forgets an account whenever its key is set or deleted here.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use crate::providers::{Endpoint, ErrorKind, ProviderError, ProviderInfo};
use crate::secrets::{self, ApiKey, EnvFallback, KeySource, Keyring, SecretsError};
use crate::settings::Settings;
use crate::target::Target;

/// Resolves where a target's requests go. Blocking (it may ask the keyring over D-Bus).
pub trait Endpoints: Send + Sync {
    fn endpoint(&self, target: &Target) -> Result<Endpoint, ProviderError>;
}

/// The keyring with what it answered this session: keyring account → its key, or `None` when
/// the keyring said it has none. Errors are not kept (the keyring may come back).
pub struct CachedKeyring {
    keyring: Keyring,
    known: Mutex<HashMap<String, Option<ApiKey>>>,
}

impl CachedKeyring {
    pub fn new(keyring: Keyring) -> Self {
        CachedKeyring { keyring, known: Mutex::new(HashMap::new()) }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<ApiKey>>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The key of a keyring account, read from the keyring once per session. Blocking.
    pub fn get(&self, account: &str) -> Result<Option<ApiKey>, SecretsError> {
        if let Some(known) = self.known().get(account) {
            return Ok(known.clone());
        }
        let key = self.keyring.get(account)?;
        self.known().insert(account.to_string(), key.clone());
        Ok(key)
    }

    /// Stores a key in the keyring and forgets what was read before. Blocking.
    pub fn set(&self, account: &str, key: &ApiKey) -> Result<(), SecretsError> {
        self.known().remove(account);
        self.keyring.set(account, key)
    }

    /// Removes a key from the keyring and forgets what was read before. Blocking.
    pub fn delete(&self, account: &str) -> Result<bool, SecretsError> {
        self.known().remove(account);
        self.keyring.delete(account)
    }

    /// The key for a keyring account: the keyring first, then, as `env` allows, the provider's
    /// usual environment variable (read each time, never stored).
    pub fn resolve(&self, account: &str, provider: &ProviderInfo, env: EnvFallback) -> Result<(Option<ApiKey>, KeySource), SecretsError> {
        let from_env = |allowed: bool| allowed.then(|| secrets::env_key(provider.env_var)).flatten();
        match self.get(account) {
            Ok(Some(key)) => Ok((Some(key), KeySource::Keyring)),
            Ok(None) => Ok(from_env(env == EnvFallback::Always).map_or((None, KeySource::None), |k| (Some(k), KeySource::Env))),
            Err(e) => match from_env(env != EnvFallback::Never) {
                Some(k) => Ok((Some(k), KeySource::Env)),
                None => Err(e),
            },
        }
    }

    /// How many accounts were read (for tests: a second read must not ask again).
    pub fn cached_accounts(&self) -> usize {
        self.known().len()
    }
}

/// The app's and the CLI's resolver: base URLs from [`Settings`], keys from the keyring.
pub struct KeyringEndpoints {
    pub keys: CachedKeyring,
    settings: RwLock<Settings>,
    /// When `OPENAI_API_KEY` and friends may supply a key.
    pub env: EnvFallback,
}

impl KeyringEndpoints {
    pub fn new(keyring: Keyring, settings: Settings, env: EnvFallback) -> Self {
        KeyringEndpoints { keys: CachedKeyring::new(keyring), settings: RwLock::new(settings), env }
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
        let (api_key, _) = self
            .keys
            .resolve(&target.key_account(), provider, self.env)
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
