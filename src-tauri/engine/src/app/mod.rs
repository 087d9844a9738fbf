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
mod ledger;
mod pacing;
mod pricing;
mod reconcile;
pub mod usage;

pub use chats::DEFAULT_TARGETS;
pub use error::{AppCode, AppError, ErrorCode};
pub use estimates::{ColumnEstimateView, TurnEstimate};
pub use keys::{CustomEndpoint, EnvKey, ProviderStatus, ProvidersView};
pub use ledger::{PriceMapUrl, StreamSettings};
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
use crate::store::{Store, StoreError};
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
    /// Turns a conversation opens with, and loaded each time the reader asks for earlier ones.
    pub turns_per_page: u32,
}

pub const LIMITS: Limits = Limits { max_columns: crate::store::conversations::MAX_COLUMNS as u32, min_variants: 2, max_variants: 6, turns_per_page: 30 };

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
    /// The app owns the database: a file that fails SQLite's integrity check is copied aside
    /// (and the user told where) so a new one can start. The CLI may run beside a running app,
    /// so it refuses such a file in words instead.
    pub owns_database: bool,
    /// Load the token table the estimate needs first in the background, once the user starts
    /// typing a prompt ([`Engine::warm_tokenizer`]; the app), rather than at first count.
    pub warm_tokenizer: bool,
    /// Where settings changes go; `None`: the JSON file in the data dir.
    pub settings_file: Option<Box<dyn SettingsFile>>,
    /// The keyring service (tests pick their own).
    pub keyring: Keyring,
    /// Told each time the database is busy (another process writing) while it is waited for;
    /// `None`: it goes to the log.
    pub on_busy: Option<fn(&crate::store::StoreError)>,
    /// How long each of the [`BUSY_TRIES`] waits for a busy database lasts.
    pub busy_wait: std::time::Duration,
    /// Follow each OpenRouter answer's generation record up in the background (the app). A
    /// process that exits right after its answers (the CLI) only records the ids; the app's next
    /// start, or a reconciliation on request, checks them.
    pub follow_generations: bool,
}

impl Options {
    pub fn app(settings_file: Box<dyn SettingsFile>) -> Self {
        Options { origin: "app", env: EnvFallback::WhenKeyringUnavailable, owns_database: true, warm_tokenizer: true, settings_file: Some(settings_file), keyring: Keyring::default(), on_busy: None, busy_wait: crate::store::BUSY_TIMEOUT, follow_generations: true }
    }

    pub fn cli() -> Self {
        Options { origin: "cli", env: EnvFallback::Always, owns_database: false, warm_tokenizer: false, settings_file: None, keyring: Keyring::default(), on_busy: None, busy_wait: crate::store::BUSY_TIMEOUT, follow_generations: false }
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
    /// Whether [`Engine::warm_tokenizer`] is to load a token table (the app), and whether it has.
    warm_tokenizer: bool,
    warmed: std::sync::atomic::AtomicBool,
    /// Whether [`Engine::warm_keys`] has read the keys.
    keys_warmed: std::sync::atomic::AtomicBool,
}

impl Engine {
    /// Opens the engine on `data_dir`: settings, database, price catalog, keyring endpoints.
    pub fn open(data_dir: &Path, options: Options) -> Result<Engine> {
        std::fs::create_dir_all(data_dir).map_err(|e| AppError::new(AppCode::Database, format!("The data folder {} could not be created.", data_dir.display())).with_detail(e.to_string()))?;
        let mut notices = Vec::new();
        let settings_path = crate::paths::settings(data_dir);
        let (settings, warning) = settings::load_or_quarantine(&settings_path);
        notices.extend(warning);
        let database = crate::paths::database(data_dir);
        let on_busy = options.on_busy.unwrap_or(|e| tracing::warn!("{e} Waiting for it…"));
        let store = open_history(&database, options.owns_database, options.busy_wait, on_busy, &mut notices)?;
        // The embedded catalog, the last sound refresh on top (or a notice that it was damaged
        // and the embedded prices are used instead), then the user's overrides.
        let (catalog, warning) = crate::pricing::catalog_store::load(data_dir);
        let catalog = store.blocking(|c| crate::store::overrides::apply(c, catalog.clone())).unwrap_or(catalog);
        let pricing = Pricing::new(catalog, settings.fees());
        notices.extend(warning);
        // Answers left streaming by a process that is gone (killed, crashed, terminal closed) are
        // billed, keeping their text: nothing unbilled. Those of a process still running (the app
        // beside a CLI, or the reverse) are left to it.
        let billed = store.blocking(|c| crate::store::recovery::bill_interrupted(c, &pricing, options.origin))?;
        // A `tally-cli ask` killed between creating its conversation and recording the turn.
        store.blocking(crate::store::recovery::remove_abandoned)?;
        if !billed.is_empty() {
            notices.push(format!("{} answer(s) left streaming by a Tally process that ended were recorded with their usage; their text is kept.", billed.len()));
        }
        let pricing = Arc::new(pricing);
        let limits = settings.stream_limits();
        let endpoints = Arc::new(KeyringEndpoints::new(options.keyring, settings, options.env));
        let http = crate::http::client();
        let counts = Arc::new(TokenCounts::default());
        let reconciler = if options.follow_generations {
            Reconciler::new(store.clone(), http.clone(), endpoints.clone())
        } else {
            Reconciler::recording_only(store.clone(), http.clone(), endpoints.clone())
        };
        let turns = Turns::new(TurnDeps { store, http: http.clone(), endpoints: endpoints.clone(), pricing: pricing.clone(), origin: options.origin, reconciler: Some(reconciler.clone()), counts: counts.clone() });
        turns.set_limits(limits);
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
            warm_tokenizer: options.warm_tokenizer,
            warmed: Default::default(),
            keys_warmed: Default::default(),
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
        self.turns.set_limits(settings.stream_limits());
        self.endpoints.set_settings(settings);
        Ok(())
    }

    /// How long a stream may stay silent, and the other stream limits, from now on.
    pub fn set_stream_limits(&self, limits: crate::providers::StreamLimits) {
        self.turns.set_limits(limits);
    }

    /// Loads the o200k_base token table (the one the compose box's estimate needs first: OpenAI's
    /// current models, and the estimate for every other family) on a thread of its own, once.
    /// The app calls it at the first character typed into the compose box: the estimate, which
    /// follows a pause in typing, then rarely waits for it, start-up never does, and an app left
    /// open without typing does not hold the table's ~45 MiB (BENCHMARKS.md, "Footprint").
    /// cl100k_base loads at its first use. Does nothing in the CLI.
    pub fn warm_tokenizer(&self) {
        if self.warm_tokenizer && !self.warmed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::thread::spawn(|| crate::tokens::count_content(crate::tokens::Encoding::O200kBase, "warm up"));
        }
    }

    /// Reads the stored keys (every provider's and every custom endpoint's) into the session's
    /// key cache on a thread of its own, once. The app calls it with [`Engine::warm_tokenizer`],
    /// when the user starts typing a prompt: the first Send would otherwise wait for the keyring
    /// (one D-Bus round trip per provider, ~60 ms for 7 providers here: BENCHMARKS.md). The keys
    /// are read then instead of at Send, so a locked keyring asks to be unlocked while the prompt
    /// is being written. Does nothing in the CLI.
    pub fn warm_keys(&self) {
        if !self.warm_tokenizer || self.keys_warmed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let endpoints = self.endpoints.clone();
        let custom: Vec<String> = self.settings().custom_endpoints.keys().map(|name| crate::target::custom_key_account(name)).collect();
        std::thread::spawn(move || {
            let accounts = crate::providers::PROVIDERS.iter().filter(|p| p.id != crate::target::CUSTOM).map(|p| p.id.to_string());
            for account in accounts.chain(custom) {
                // A failure (no keyring) is met again, and said, when a request needs the key.
                let _ = endpoints.keys.get(&account);
            }
        });
    }

    /// Stops everything (the app is closing): stopped answers keep their text and usage.
    pub fn stop_all(&self) {
        self.turns.stop_all();
    }
}

/// How many times a busy database is waited for (each [`Options::busy_wait`]) before giving up.
pub const BUSY_TRIES: u32 = 6;

/// Opens the history, waiting while another process holds it busy. Only a file that fails
/// SQLite's integrity check is set aside, and only by the process that owns the history (the
/// app): copied, the copy verified, then removed ([`crate::store::set_aside_damaged`]), and the
/// user told where the copy is. A busy, newer or unreadable file is refused in words and left
/// where it is.
fn open_history(path: &Path, set_aside: bool, busy_wait: std::time::Duration, on_busy: fn(&StoreError), notices: &mut Vec<String>) -> Result<Store> {
    match Store::open_waiting_with_timeout(path, BUSY_TRIES, busy_wait, on_busy) {
        Err(StoreError::Damaged { detail, .. }) if set_aside => {
            let aside = crate::store::set_aside_damaged(path)?;
            tracing::warn!("the history failed the integrity check ({detail}); copied to {}", aside.display());
            notices.push(format!(
                "The conversation history could not be read (the file is damaged), so Tally started a new one. The damaged file was copied to {} first; nothing was deleted.",
                aside.display()
            ));
            Ok(Store::open_waiting_with_timeout(path, BUSY_TRIES, busy_wait, on_busy)?)
        }
        other => Ok(other?),
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

/// Options for an engine in a test: the app's or the CLI's, with a test keyring service, the
/// settings file in the data dir, and short waits for a busy database.
#[cfg(test)]
pub(crate) fn test_options(app: bool) -> Options {
    let mut o = if app { Options::app(Box::new(JsonSettingsFile(PathBuf::new()))) } else { Options::cli() };
    o.settings_file = None;
    o.keyring = Keyring::with_service("dev.tally.test-app-open");
    o.busy_wait = std::time::Duration::from_millis(50);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::{conversations, messages};
    use crate::target::Target;

    /// An owner (boot id/pid/start time) no process has.
    const DEAD: &str = "00000000-0000-0000-0000-000000000000/4242/1";
    const NOT_A_DATABASE: &[u8] = b"this is not a database, just some bytes that are long enough to have a header";

    use super::test_options as options;

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        n.sort();
        n
    }

    /// A history at `dir` with one answer left streaming by a process that is gone.
    fn left_streaming(dir: &Path) -> i64 {
        let store = Store::open(&crate::paths::database(dir)).unwrap();
        store
            .blocking(|c| {
                let conv = conversations::create(c, "New conversation", &[Target::parse("openai:gpt-4o-mini").unwrap()])?;
                let id = messages::start_turn(c, conv, "Write a haiku about ledgers.")?.columns[0].message_id;
                messages::save_partial(c, id, "Columns of numbers", "")?;
                c.execute("UPDATE messages SET owner = ?1 WHERE id = ?2", rusqlite::params![DEAD, id])?;
                Ok(id)
            })
            .unwrap()
    }

    #[test]
    fn the_app_copies_a_damaged_history_aside_says_where_and_starts_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::paths::database(dir.path());
        std::fs::write(&path, NOT_A_DATABASE).unwrap();
        let engine = Engine::open(dir.path(), options(true)).unwrap();
        let notice = engine.notices().iter().find(|n| n.contains("damaged")).cloned().expect("the user is told");
        let copy = names(dir.path()).into_iter().find(|n| n.contains(".damaged-")).expect("a copy");
        assert!(notice.contains(&copy), "the notice says where the copy is: {notice}");
        assert_eq!(std::fs::read(dir.path().join(&copy)).unwrap(), NOT_A_DATABASE, "the copy is the damaged file");
        let n: i64 = engine.store().read(|c| Ok(c.query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))?)).unwrap();
        assert_eq!(n, 0, "a new history");
    }

    #[test]
    fn the_cli_refuses_a_damaged_history_in_words_and_leaves_it_where_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::paths::database(dir.path());
        std::fs::write(&path, NOT_A_DATABASE).unwrap();
        let before = names(dir.path());
        let err = Engine::open(dir.path(), options(false)).err().expect("refused");
        assert!(err.is(AppCode::Database), "{err:?}");
        assert_eq!(names(dir.path()).iter().filter(|n| n.contains(".damaged-")).count(), 0, "{:?} -> {:?}", before, names(dir.path()));
        assert_eq!(std::fs::read(&path).unwrap(), NOT_A_DATABASE);
    }

    #[test]
    fn a_busy_history_is_waited_for_refused_in_words_and_never_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::paths::database(dir.path());
        // Another process created the file and holds the write lock while this one must migrate it.
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder.execute_batch("PRAGMA journal_mode = WAL; BEGIN EXCLUSIVE;").unwrap();
        let err = Engine::open(dir.path(), options(true)).err().expect("busy");
        assert!(err.message.contains("busy"), "{err:?}");
        assert!(names(dir.path()).iter().all(|n| !n.contains(".damaged-")), "{:?}", names(dir.path()));
        holder.execute_batch("ROLLBACK").unwrap();
        drop(holder);
        Engine::open(dir.path(), options(true)).expect("opens once it is free");
    }

    #[test]
    fn an_answer_left_streaming_by_a_process_that_is_gone_is_billed_when_the_engine_opens() {
        for app in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let id = left_streaming(dir.path());
            let engine = Engine::open(dir.path(), options(app)).unwrap();
            assert!(engine.notices().iter().any(|n| n.contains("1 answer(s) left streaming")), "{:?}", engine.notices());
            let m = engine.store().read(|c| messages::message(c, id)).unwrap();
            assert_eq!(m.status, messages::Status::Stopped, "app: {app}");
            assert_eq!(m.content, "Columns of numbers", "the text is kept");
            let usage = m.usage.expect("billed");
            assert!(usage.tokens.estimated && usage.cost.is_some(), "{usage:?}");
            let rows: i64 = engine.store().read(|c| Ok(c.query_row("SELECT count(*) FROM usage", [], |r| r.get(0))?)).unwrap();
            assert_eq!(rows, 1);
            drop(engine);
            let again = Engine::open(dir.path(), options(app)).unwrap();
            assert!(again.notices().iter().all(|n| !n.contains("left streaming")), "billed once: {:?}", again.notices());
        }
    }

    #[test]
    fn turns_use_the_stream_limits_in_the_settings_and_follow_a_change() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(crate::paths::settings(dir.path()), r#"{"idle_timeout_s": 7, "answer_deadline_s": 90}"#).unwrap();
        let engine = Engine::open(dir.path(), options(true)).unwrap();
        let limits = engine.turns.limits();
        assert_eq!((limits.idle.as_secs(), limits.answer_deadline.as_secs()), (7, 90));
        let mut settings = engine.settings();
        settings.idle_timeout_s = Some(12);
        engine.save_settings(settings).unwrap();
        assert_eq!(engine.turns.limits().idle.as_secs(), 12);
    }

    #[tokio::test]
    async fn the_app_resumes_pending_openrouter_checks_at_start_and_the_cli_leaves_them() {
        for (app, resumed) in [(false, 0), (true, 1)] {
            let dir = tempfile::tempdir().unwrap();
            // Nothing listens there: the check is resumed, never answered, and nothing leaves this machine.
            std::fs::write(crate::paths::settings(dir.path()), r#"{"base_urls": {"openrouter": "http://127.0.0.1:9/api/v1"}}"#).unwrap();
            let id = left_streaming(dir.path());
            Store::open(&crate::paths::database(dir.path())).unwrap().blocking(|c| crate::reconcile::records::enqueue(c, id, "gen-1")).unwrap();
            let engine = Engine::open(dir.path(), options(app)).unwrap();
            assert_eq!(engine.resume_reconciliation().await.unwrap(), resumed, "app: {app}");
        }
    }

    #[test]
    fn only_the_app_loads_a_token_table_and_only_once_asked() {
        let dir = tempfile::tempdir().unwrap();
        let cli = Engine::open(dir.path(), options(false)).unwrap();
        cli.warm_tokenizer();
        assert!(!cli.warmed.load(std::sync::atomic::Ordering::SeqCst));
        drop(cli);
        let app = Engine::open(dir.path(), options(true)).unwrap();
        assert!(!app.warmed.load(std::sync::atomic::Ordering::SeqCst), "not at open: once the user types");
        app.warm_tokenizer();
        assert!(app.warmed.load(std::sync::atomic::Ordering::SeqCst));
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

    /// Typing a prompt reads every provider's key into the session's cache in the background,
    /// once, so that the first Send does not wait for the keyring; the CLI never does.
    #[test]
    fn typing_a_prompt_reads_the_keys_once_in_the_background() {
        assert!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "this test reads the real keyring: run it through the README's test command (scripts/test.sh)"
        );
        let builtin = crate::providers::PROVIDERS.iter().filter(|p| p.id != crate::target::CUSTOM).count();
        let dir = tempfile::tempdir().unwrap();
        let cli = Engine::open(dir.path(), options(false)).unwrap();
        cli.warm_keys();
        let app_dir = tempfile::tempdir().unwrap();
        let app = Engine::open(app_dir.path(), options(true)).unwrap();
        assert_eq!(app.endpoints.keys.cached_accounts(), 0, "nothing is read at start-up");
        app.warm_keys();
        app.warm_keys();
        let started = std::time::Instant::now();
        while app.endpoints.keys.cached_accounts() < builtin {
            assert!(started.elapsed() < std::time::Duration::from_secs(60), "the keys were never read: {} of {builtin}", app.endpoints.keys.cached_accounts());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(app.endpoints.keys.cached_accounts(), builtin);
        assert_eq!(cli.endpoints.keys.cached_accounts(), 0, "the CLI reads a key only when a request needs it");
    }
}
