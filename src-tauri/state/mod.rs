//! The app's state and the work behind each command, free of IPC types so it reads (and tests)
//! like plain Rust. Typed managers: the turn runner (with the store and HTTP client), the
//! endpoint resolver (settings + keyring), and the settings file written through
//! tauri-plugin-store. The work behind the commands is split by concern: `keys` (providers,
//! keys, base URLs, custom endpoints), `pricing` (catalog, overrides, fees), `chats`
//! (conversations, columns, turns), `tokens` (estimates before sending) and `usage` (the usage
//! screen, budgets, alerts, CSV).

mod chats;
mod keys;
mod pricing;
mod tokens;
mod usage;

pub use keys::{CustomEndpoint, EnvKey, ProviderStatus, ProvidersView};
pub use pricing::PriceInput;
pub use tokens::ColumnEstimateView;
pub use usage::{CsvExport, UsageOverview};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use tally_engine::endpoints::KeyringEndpoints;
use tally_engine::pricing::Pricing;
use tally_engine::providers::{provider, ProviderInfo};
use tally_engine::secrets::{EnvFallback, Keyring};
use tally_engine::settings::{self, Settings};
use tally_engine::store::{messages, Store};
use tally_engine::turn::{TurnDeps, Turns};
use tauri::{AppHandle, Manager};
use tauri_plugin_store::StoreExt;
use ts_rs::TS;

use crate::error::AppError;

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
    alert_watch: usage::AlertWatch,
}

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct AppInfo {
    #[ts(type = "string")]
    pub version: &'static str,
    pub data_dir: String,
    pub notices: Vec<String>,
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
        let turns = Turns::new(TurnDeps { store, http: http.clone(), endpoints: endpoints.clone(), pricing: pricing.clone(), origin: "app", reconciler: None });
        Ok(AppState { turns, endpoints, keyring, http, pricing, data_dir, settings_path, app: app.clone(), notices, alert_watch: Default::default() })
    }

    pub fn store(&self) -> &Store {
        self.turns.store()
    }

    pub fn info(&self) -> AppInfo {
        AppInfo { version: env!("CARGO_PKG_VERSION"), data_dir: self.data_dir.display().to_string(), notices: self.notices.clone() }
    }


    fn save_settings(&self, settings: &Settings) -> Result<(), AppError> {
        let fail = |e: tauri_plugin_store::Error| AppError::new("settings", format!("The settings could not be saved: {e}"));
        let store = self.app.store(&self.settings_path).map_err(fail)?;
        store.set(settings::BASE_URLS_KEY, serde_json::to_value(&settings.base_urls).unwrap_or_default());
        store.set(settings::CUSTOM_ENDPOINTS_KEY, serde_json::to_value(&settings.custom_endpoints).unwrap_or_default());
        if let Some(fees) = &settings.fees {
            store.set(settings::FEES_KEY, serde_json::to_value(fees).unwrap_or_default());
        }
        if let Some(m) = &settings.spike_multiplier {
            store.set(settings::SPIKE_MULTIPLIER_KEY, serde_json::to_value(m).unwrap_or_default());
        }
        store.save().map_err(fail)
    }

    /// A save or open dialog that starts where people keep documents, not wherever the app
    /// happened to be started from.
    fn file_dialog(&self, title: &str) -> tauri_plugin_dialog::FileDialogBuilder<tauri::Wry> {
        use tauri_plugin_dialog::DialogExt;
        let dialog = self.app.dialog().file().set_title(title);
        match self.app.path().document_dir().ok().filter(|d| d.is_dir()).or_else(|| self.app.path().home_dir().ok()) {
            Some(dir) => dialog.set_directory(dir),
            None => dialog,
        }
    }
}

/// Writes a file next to its final name first and renames it into place, so a failed write
/// never leaves half a file.
fn write_whole<T>(path: &Path, write: impl FnOnce(&mut std::fs::File) -> std::io::Result<T>) -> Result<T, AppError> {
    let fail = |e: std::io::Error| AppError::new("export", format!("The file could not be written to {}: {e}", path.display()));
    let partial = path.with_extension("tally-partial");
    let written = std::fs::File::create(&partial).and_then(|mut file| {
        let out = write(&mut file)?;
        file.sync_all()?;
        Ok(out)
    });
    match written {
        Ok(out) => std::fs::rename(&partial, path).map(|_| out).map_err(fail),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(fail(e))
        }
    }
}

fn known(provider_id: &str) -> Result<&'static ProviderInfo, AppError> {
    provider(provider_id).ok_or_else(|| AppError::new("invalid", format!("Unknown provider \"{provider_id}\".")))
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
}
