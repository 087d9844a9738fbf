//! The app's state and the work behind each command, free of IPC types so it reads (and tests)
//! like plain Rust. Typed managers: the turn runner (with the store and HTTP client), the
//! endpoint resolver (settings + keyring), and the settings file written through
//! tauri-plugin-store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use tally_engine::endpoints::KeyringEndpoints;
use tally_engine::pricing::{catalog_store, CatalogInfo, Fees, KnownTarget, Price, Pricing};
use tally_engine::store::overrides;
use tally_engine::providers::{check_key, provider, Endpoint, KeyCheck, ProviderInfo, PROVIDERS};
use tally_engine::secrets::{self, ApiKey, EnvFallback, KeySource, Keyring};
use tally_engine::settings::{self, Settings};
use tally_engine::store::{conversations, messages, Store};
use tally_engine::target::{custom_key_account, Target};
use tally_engine::turn::{Sink, TurnDeps, Turns};
use tauri::{AppHandle, Manager};
use tauri_plugin_store::StoreExt;
use ts_rs::TS;

use crate::error::AppError;

/// The columns a new conversation starts with: the same model direct and via OpenRouter.
pub const DEFAULT_TARGETS: &[&str] = &["openai:gpt-4o-mini", "openrouter:openai/gpt-4o-mini"];

pub struct AppState {
    pub turns: Arc<Turns>,
    pub endpoints: Arc<KeyringEndpoints>,
    pub keyring: Keyring,
    http: tally_engine::http::Client,
    pub pricing: Arc<Pricing>,
    pub data_dir: PathBuf,
    settings_path: PathBuf,
    app: AppHandle,
    /// Things the user should know about start-up (a damaged file set aside, …).
    pub notices: Vec<String>,
}

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct AppInfo {
    #[ts(type = "string")]
    pub version: &'static str,
    pub data_dir: String,
    pub notices: Vec<String>,
}

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

/// Opens the database, setting a damaged file aside rather than refusing to start.
fn open_store(path: &Path, notices: &mut Vec<String>) -> Result<Store, AppError> {
    match Store::open(path) {
        Ok(store) => Ok(store),
        Err(first) => {
            let aside = path.with_extension(format!("sqlite3.damaged-{}", std::process::id()));
            std::fs::rename(path, &aside).map_err(|_| AppError::from(first))?;
            for ext in ["sqlite3-wal", "sqlite3-shm"] {
                let _ = std::fs::remove_file(path.with_extension(ext));
            }
            notices.push(format!("The conversation database could not be read, so Tally started a new one. The old file was kept as {}.", aside.display()));
            Ok(Store::open(path)?)
        }
    }
}

impl AppState {
    pub fn init(app: &AppHandle) -> Result<Self, Box<dyn std::error::Error>> {
        let data_dir = tally_engine::paths::data_dir().map_or_else(|| app.path().app_data_dir(), Ok)?;
        std::fs::create_dir_all(&data_dir)?;
        let mut notices = Vec::new();
        let settings_path = tally_engine::paths::settings(&data_dir);
        let (settings, warning) = settings::load_or_quarantine(&settings_path);
        notices.extend(warning);
        let store = open_store(&tally_engine::paths::database(&data_dir), &mut notices)?;
        store.blocking(|c| messages::recover_interrupted(c))?;
        let keyring = Keyring::default();
        // Keys come from the keyring; only if it cannot be reached do environment variables stand in,
        // read-only, for this session.
        let settings_fees = settings.fees();
        let endpoints = Arc::new(KeyringEndpoints::new(keyring.clone(), settings, EnvFallback::WhenKeyringUnavailable));
        let http = tally_engine::http::client();
        let (pricing, warning) = tally_engine::pricing::load(&data_dir, settings_fees, &store);
        notices.extend(warning);
        let pricing = Arc::new(pricing);
        let turns = Turns::new(TurnDeps { store, http: http.clone(), endpoints: endpoints.clone(), pricing: pricing.clone(), origin: "app" });
        Ok(AppState { turns, endpoints, keyring, http, pricing, data_dir, settings_path, app: app.clone(), notices })
    }

    pub fn store(&self) -> &Store {
        self.turns.store()
    }

    pub fn info(&self) -> AppInfo {
        AppInfo { version: env!("CARGO_PKG_VERSION"), data_dir: self.data_dir.display().to_string(), notices: self.notices.clone() }
    }

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

    fn save_settings(&self, settings: &Settings) -> Result<(), AppError> {
        let fail = |e: tauri_plugin_store::Error| AppError::new("settings", format!("The settings could not be saved: {e}"));
        let store = self.app.store(&self.settings_path).map_err(fail)?;
        store.set(settings::BASE_URLS_KEY, serde_json::to_value(&settings.base_urls).unwrap_or_default());
        store.set(settings::CUSTOM_ENDPOINTS_KEY, serde_json::to_value(&settings.custom_endpoints).unwrap_or_default());
        if let Some(fees) = &settings.fees {
            store.set(settings::FEES_KEY, serde_json::to_value(fees).unwrap_or_default());
        }
        store.save().map_err(fail)
    }

    pub async fn new_conversation(&self, targets: Option<Vec<String>>) -> Result<conversations::ConversationView, AppError> {
        let targets = targets.unwrap_or_else(|| DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect());
        let targets = targets.iter().map(|t| Target::parse(t)).collect::<Result<Vec<_>, _>>()?;
        Ok(self
            .store()
            .run(move |c| {
                let id = conversations::create(c, conversations::NEW_TITLE, &targets)?;
                conversations::load(c, id)
            })
            .await?)
    }

    /// Sets a route's fee in percent (OpenRouter's fee on buying credits, say) and keeps it.
    pub fn set_fee(&self, route: String, percent: String) -> Result<Fees, AppError> {
        let p = known(&route)?;
        let value: tally_engine::Decimal = percent.trim().trim_end_matches('%').trim().parse().map_err(|_| AppError::new("invalid", format!("A fee is a percentage like 5.5; got \"{percent}\".")))?;
        if value.is_sign_negative() || value > tally_engine::Decimal::ONE_HUNDRED {
            return Err(AppError::new("invalid", "A fee is between 0 and 100 %."));
        }
        let mut settings = self.endpoints.settings();
        let mut fees = settings.fees();
        fees.percent_by_route.insert(p.id.to_string(), value.normalize());
        settings.fees = Some(fees.clone());
        self.save_settings(&settings)?;
        self.endpoints.set_settings(settings);
        self.pricing.set_fees(fees.clone());
        Ok(fees)
    }

    pub fn fees(&self) -> Fees {
        self.pricing.fees()
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

    pub fn catalog_info(&self) -> CatalogInfo {
        self.pricing.catalog().info()
    }

    /// Fetches OpenRouter's current models list (only when the user asks). On any failure the
    /// prices in use stay, and the error says why in words.
    pub async fn refresh_catalog(&self) -> Result<CatalogInfo, AppError> {
        let base = self.endpoints.settings().base_url(known("openrouter")?);
        let (prices, as_of) = catalog_store::refresh(&self.http, &base, &self.data_dir).await.map_err(|e| AppError::new("catalog_refresh", e.to_string()))?;
        self.pricing.update_catalog(|c| c.with_openrouter(prices, as_of));
        Ok(self.catalog_info())
    }

    fn row(&self, target: &Target) -> Option<KnownTarget> {
        self.pricing.catalog().known_targets().into_iter().find(|k| k.target == target.to_string())
    }

    /// Sets the user's own price for a target, given per million tokens as the user reads them.
    pub async fn set_price_override(&self, target: String, per_million: PriceInput) -> Result<KnownTarget, AppError> {
        let target = Target::parse(&target)?;
        let base = self.pricing.catalog().price(&target, None);
        let price = per_million.to_price(base.as_ref())?;
        let (t, p) = (target.clone(), price.clone());
        self.store().run(move |c| overrides::set(c, &t, &p)).await?;
        self.pricing.update_catalog(|mut c| {
            c.set_override(&target, Some(price));
            c
        });
        self.row(&target).ok_or_else(|| AppError::new("internal", "The override was saved but the price list did not show it."))
    }

    pub async fn reset_price_override(&self, target: String) -> Result<Option<KnownTarget>, AppError> {
        let target = Target::parse(&target)?;
        let t = target.clone();
        self.store().run(move |c| overrides::delete(c, &t)).await?;
        self.pricing.update_catalog(|mut c| {
            c.set_override(&target, None);
            c
        });
        Ok(self.row(&target))
    }

    pub async fn set_sensitive(&self, id: i64, sensitive: bool) -> Result<conversations::ConversationView, AppError> {
        Ok(self
            .store()
            .run(move |c| {
                conversations::set_sensitive(c, id, sensitive)?;
                conversations::load(c, id)
            })
            .await?)
    }

    /// Adds a column. On a sensitive conversation a route via OpenRouter is refused, unless the
    /// user confirmed that the conversation stops being sensitive (`leave_sensitive`).
    pub async fn add_column(&self, conversation_id: i64, target: String, leave_sensitive: bool) -> Result<conversations::ConversationView, AppError> {
        let target = Target::parse(&target)?;
        Ok(self
            .store()
            .run(move |c| {
                if leave_sensitive && conversations::sensitive_refusal(&target).is_some() {
                    conversations::set_sensitive(c, conversation_id, false)?;
                }
                conversations::add_column(c, conversation_id, &target)?;
                conversations::load(c, conversation_id)
            })
            .await?)
    }

    pub async fn remove_column(&self, column_id: i64) -> Result<conversations::ConversationView, AppError> {
        Ok(self
            .store()
            .run(move |c| {
                let conversation_id = conversations::remove_column(c, column_id)?;
                conversations::load(c, conversation_id)
            })
            .await?)
    }

    pub async fn send_turn(&self, conversation_id: i64, prompt: String, sink: Sink) -> Result<i64, AppError> {
        if prompt.trim().is_empty() {
            return Err(AppError::new("invalid", "Write a prompt first."));
        }
        let (turn_id, _running) = self.turns.send(conversation_id, prompt, sink).await?;
        Ok(turn_id)
    }
}

/// A price as typed in the UI: USD per million tokens, as decimal text.
#[derive(Debug, Clone, serde::Deserialize, TS)]
#[ts(export)]
pub struct PriceInput {
    pub input: String,
    pub output: String,
    pub cached_input: Option<String>,
    pub cache_write: Option<String>,
}

impl PriceInput {
    /// Per-token prices from per-million text: dividing by 10^6 only moves the decimal point.
    fn to_price(&self, base: Option<&Price>) -> Result<Price, AppError> {
        let parse = |label: &str, s: &str| -> Result<tally_engine::Decimal, AppError> {
            let d: tally_engine::Decimal = s.trim().trim_start_matches('$').parse().map_err(|_| AppError::new("invalid", format!("{label} must be a number of dollars per million tokens, like 0.15; got \"{s}\".")))?;
            if d.is_sign_negative() {
                return Err(AppError::new("invalid", format!("{label} cannot be negative.")));
            }
            Ok((d / tally_engine::Decimal::from(1_000_000)).normalize())
        };
        let optional = |label: &str, s: &Option<String>| -> Result<Option<tally_engine::Decimal>, AppError> {
            match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => parse(label, s).map(Some),
            }
        };
        Ok(Price {
            input: parse("The input price", &self.input)?,
            output: parse("The output price", &self.output)?,
            cached_input: optional("The cached input price", &self.cached_input)?,
            cache_write: optional("The cache write price", &self.cache_write)?,
            reasoning: base.and_then(|b| b.reasoning),
            request: base.and_then(|b| b.request),
            tiers: Vec::new(),
            source: "your override".into(),
        })
    }
}

fn known(provider_id: &str) -> Result<&'static ProviderInfo, AppError> {
    provider(provider_id).ok_or_else(|| AppError::new("invalid", format!("Unknown provider \"{provider_id}\".")))
}

fn status(p: &'static ProviderInfo, key_source: KeySource, settings: &Settings) -> ProviderStatus {
    let base_url = settings.base_url(p);
    ProviderStatus { info: p, key_source, base_url_is_default: base_url == p.default_base_url, base_url }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_database_is_set_aside_and_a_new_one_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tally.sqlite3");
        std::fs::write(&path, b"this is not a database, just some bytes that are long enough to have a header").unwrap();
        let mut notices = Vec::new();
        let store = open_store(&path, &mut notices).unwrap();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].contains("started a new one"));
        let n: i64 = store.blocking(|c| Ok(c.query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))?)).unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn provider_status_never_carries_the_key() {
        let s = status(provider("openai").unwrap(), KeySource::Keyring, &Settings::default());
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"key_source\":\"keyring\""));
        assert!(!json.contains("key\":\"test-"));
    }

    #[test]
    fn default_targets_parse() {
        for t in DEFAULT_TARGETS {
            Target::parse(t).unwrap();
        }
    }
}
