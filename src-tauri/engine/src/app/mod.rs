//! The application layer: one [`Engine`], opened on a data directory, that owns every use case
//! of the product — send a turn, stop, regenerate, estimate, check a budget, price, refresh,
//! usage, keys, presets, export — with the product's rules in it (limits, validation, the hard
//! budget). The app's IPC commands and the CLI's subcommands only parse, call and return.
//!
//! Must not: import `tauri`, open dialogs or post notifications (the shell does those around
//! the calls here), or hold business state anywhere but in its typed managers (the turn runner
//! with the store, the endpoint resolver with the key cache, the pricing, the token counts).

pub mod chats;
mod error;
mod estimates;
mod keys;
mod pacing;
mod pricing;
mod reconcile;
pub mod usage;

pub use chats::DEFAULT_TARGETS;
pub use error::{AppCode, AppError, ErrorCode};
pub use estimates::ColumnEstimateView;
pub use keys::{CustomEndpoint, EnvKey, ProviderStatus, ProvidersView};
pub use pricing::PriceInput;
pub use usage::{AlertSink, UsageOverview};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use ts_rs::TS;

use crate::endpoints::KeyringEndpoints;
use crate::pricing::Pricing;
use crate::providers::{provider, ProviderInfo};
use crate::reconcile::Reconciler;
use crate::secrets::{EnvFallback, Keyring};
use crate::settings::{self, Settings};
use crate::store::{messages, Store};
use crate::tokens::counts::TokenCounts;
use crate::turn::{TurnDeps, Turns};

pub type Result<T> = std::result::Result<T, AppError>;

/// The product's limits, in one place; the UI reads them from [`AppInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Limits {
    /// Columns side by side in one conversation.
    pub max_columns: u32,
    /// Prompt variants compared at once.
    pub min_variants: u32,
    pub max_variants: u32,
}

pub const LIMITS: Limits = Limits { max_columns: crate::store::conversations::MAX_COLUMNS as u32, min_variants: 2, max_variants: 6 };

#[derive(Debug, Serialize, TS)]
#[ts(export)]
pub struct AppInfo {
    #[ts(type = "string")]
    pub version: &'static str,
    pub data_dir: String,
    pub notices: Vec<String>,
    pub limits: Limits,
}

/// Where changed settings are written. The app writes through tauri-plugin-store (which keeps
/// its own copy of the file); the CLI and tests write the JSON file whole.
pub trait SettingsFile: Send + Sync {
    fn save(&self, settings: &Settings) -> Result<()>;
}

/// Writes the settings JSON file whole (a temporary file renamed into place).
pub struct JsonSettingsFile(pub PathBuf);

impl SettingsFile for JsonSettingsFile {
    fn save(&self, settings: &Settings) -> Result<()> {
        let fail = |e: String| AppError::new(AppCode::Settings, "The settings could not be saved.").with_detail(e);
        let text = serde_json::to_string_pretty(settings).map_err(|e| fail(e.to_string()))?;
        write_whole(&self.0, |f| std::io::Write::write_all(f, text.as_bytes())).map_err(|e| fail(e.message))
    }
}

/// Who opens the engine, and so how it starts.
pub struct Options {
    /// Recorded with each usage row: "app" or "cli".
    pub origin: &'static str,
    /// When environment variables may stand in for keys.
    pub env: EnvFallback,
    /// The app owns the database: it sets a damaged file aside and marks answers a crash left
    /// streaming as stopped. The CLI may run beside a running app, so it does neither.
    pub owns_database: bool,
    /// Load the token encoders in the background now (the app), rather than at first use.
    pub warm_tokenizer: bool,
    /// Where settings changes go; `None`: the JSON file in the data dir.
    pub settings_file: Option<Box<dyn SettingsFile>>,
    /// The keyring service (tests pick their own).
    pub keyring: Keyring,
    /// Told each time the database is busy (another process writing) while it is waited for.
    pub on_busy: Option<fn(&crate::store::StoreError)>,
    /// Follow each OpenRouter answer's generation record up in the background (the app). A
    /// process that exits right after its answers (the CLI) only records the ids; the app's next
    /// start, or a reconciliation on request, checks them.
    pub follow_generations: bool,
}

impl Options {
    pub fn app(settings_file: Box<dyn SettingsFile>) -> Self {
        Options { origin: "app", env: EnvFallback::WhenKeyringUnavailable, owns_database: true, warm_tokenizer: true, settings_file: Some(settings_file), keyring: Keyring::default(), on_busy: None, follow_generations: false }
    }

    pub fn cli() -> Self {
        Options { origin: "cli", env: EnvFallback::Always, owns_database: false, warm_tokenizer: false, settings_file: None, keyring: Keyring::default(), on_busy: None, follow_generations: false }
    }
}

/// Everything the product does, for one data directory.
pub struct Engine {
    turns: Arc<Turns>,
    endpoints: Arc<KeyringEndpoints>,
    http: crate::http::Client,
    pricing: Arc<Pricing>,
    counts: Arc<TokenCounts>,
    data_dir: PathBuf,
    settings_file: Box<dyn SettingsFile>,
    /// Things the user should know about start-up (a damaged file set aside, …).
    notices: Vec<String>,
    alerts: usage::AlertWatch,
    estimates: estimates::Lanes,
    reconciler: Arc<Reconciler>,
    follows_generations: bool,
    pacers: pacing::Pacers,
}

impl Engine {
    /// Opens the engine on `data_dir`: settings, database, price catalog, keyring endpoints.
    pub fn open(data_dir: &Path, options: Options) -> Result<Engine> {
        std::fs::create_dir_all(data_dir).map_err(|e| AppError::new(AppCode::Database, format!("The data folder {} could not be created.", data_dir.display())).with_detail(e.to_string()))?;
        if options.warm_tokenizer {
            std::thread::spawn(crate::tokens::warm_up);
        }
        let mut notices = Vec::new();
        let settings_path = crate::paths::settings(data_dir);
        let (settings, warning) = settings::load_or_quarantine(&settings_path);
        notices.extend(warning);
        let database = crate::paths::database(data_dir);
        let store = match (options.owns_database, options.on_busy) {
            (true, _) => open_or_set_aside(&database, &mut notices)?,
            (false, Some(on_busy)) => Store::open_waiting(&database, 6, on_busy)?,
            (false, None) => Store::open(&database)?,
        };
        if options.owns_database {
            store.blocking(|c| messages::recover_interrupted(c))?;
        }
        let (pricing, warning) = crate::pricing::load(data_dir, settings.fees(), &store);
        notices.extend(warning);
        if !options.owns_database {
            // Answers left streaming by a process that is gone (killed, crashed, terminal closed)
            // are billed: nothing unbilled.
            let billed = store.blocking(|c| crate::store::recovery::bill_interrupted(c, &pricing, options.origin))?;
            if !billed.is_empty() {
                notices.push(format!("{} answer(s) left streaming by a Tally process that ended were recorded with their usage; their text is kept.", billed.len()));
            }
        }
        let pricing = Arc::new(pricing);
        let endpoints = Arc::new(KeyringEndpoints::new(options.keyring, settings, options.env));
        let http = crate::http::client();
        let counts = Arc::new(TokenCounts::default());
        let reconciler = if options.follow_generations {
            Reconciler::new(store.clone(), http.clone(), endpoints.clone())
        } else {
            Reconciler::recording_only(store.clone(), http.clone(), endpoints.clone())
        };
        let turns = Turns::new(TurnDeps { store, http: http.clone(), endpoints: endpoints.clone(), pricing: pricing.clone(), origin: options.origin, reconciler: Some(reconciler.clone()), counts: counts.clone() });
        let settings_file = options.settings_file.unwrap_or_else(|| Box::new(JsonSettingsFile(settings_path)));
        Ok(Engine {
            turns,
            endpoints,
            http,
            pricing,
            counts,
            data_dir: data_dir.to_path_buf(),
            settings_file,
            notices,
            alerts: Default::default(),
            estimates: Default::default(),
            reconciler,
            follows_generations: options.follow_generations,
            pacers: Default::default(),
        })
    }

    /// Opens the engine on the data dir of this machine (`$TALLY_DATA_DIR`, else the platform's).
    pub fn open_default(options: Options) -> Result<Engine> {
        let dir = crate::paths::data_dir().ok_or_else(|| AppError::invalid("There is no data directory: set TALLY_DATA_DIR."))?;
        Engine::open(&dir, options)
    }

    pub fn info(&self) -> AppInfo {
        AppInfo { version: env!("CARGO_PKG_VERSION"), data_dir: self.data_dir.display().to_string(), notices: self.notices.clone(), limits: LIMITS }
    }

    /// Start-up notices, for a caller that prints them (the CLI).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    pub fn store(&self) -> &Store {
        self.turns.store()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn pricing(&self) -> &Pricing {
        &self.pricing
    }

    pub fn settings(&self) -> Settings {
        self.endpoints.settings()
    }

    /// Changes the settings for this session only (the CLI's `--base-url`), without saving.
    pub fn set_session_settings(&self, settings: Settings) {
        self.endpoints.set_settings(settings);
    }

    /// Saves changed settings, then uses them.
    fn save_settings(&self, settings: Settings) -> Result<()> {
        self.settings_file.save(&settings)?;
        self.endpoints.set_settings(settings);
        Ok(())
    }

    /// How long a stream may stay silent, and the other stream limits, from now on.
    pub fn set_stream_limits(&self, limits: crate::providers::StreamLimits) {
        self.turns.set_limits(limits);
    }

    /// Stops everything (the app is closing): stopped answers keep their text and usage.
    pub fn stop_all(&self) {
        self.turns.stop_all();
    }
}

/// Opens the database, setting a damaged file aside rather than refusing to start.
fn open_or_set_aside(path: &Path, notices: &mut Vec<String>) -> Result<Store> {
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

/// Writes a file next to its final name first and renames it into place, so a failed write
/// never leaves half a file.
pub fn write_whole<T>(path: &Path, write: impl FnOnce(&mut std::fs::File) -> std::io::Result<T>) -> Result<T> {
    let fail = |e: std::io::Error| AppError::new(AppCode::Export, format!("The file could not be written to {}.", path.display())).with_detail(e.to_string());
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

fn known(provider_id: &str) -> Result<&'static ProviderInfo> {
    provider(provider_id).ok_or_else(|| {
        let ids: Vec<&str> = crate::providers::PROVIDERS.iter().map(|p| p.id).collect();
        AppError::invalid(format!("\"{provider_id}\" is an unknown provider; known: {}.", ids.join(", ")))
    })
}

/// Runs blocking work (the keyring, counting) off the async runtime's workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    Ok(tokio::task::spawn_blocking(f).await?)
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
        let store = open_or_set_aside(&path, &mut notices).unwrap();
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].contains("started a new one"));
        let n: i64 = store.blocking(|c| Ok(c.query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))?)).unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn an_export_is_written_whole_and_replaces_an_older_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.md");
        std::fs::write(&path, "old").unwrap();
        write_whole(&path, |f| std::io::Write::write_all(f, b"# New")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# New");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no partial file left behind");
        let err = write_whole(&dir.path().join("missing/dir/chat.md"), |f| std::io::Write::write_all(f, b"x")).unwrap_err();
        assert!(err.message.contains("could not be written"), "{}", err.message);
        assert!(err.is(AppCode::Export));
    }
}
