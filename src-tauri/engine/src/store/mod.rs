//! SQLite storage: conversations, columns, turns, messages (partial ones too) and usage rows
//! with the price they were charged at.
//!
//! The app and every `tally-cli` process share one file, so the rules are those of many
//! writers: WAL, `synchronous=NORMAL`, a busy timeout, foreign keys on, and **every transaction
//! that writes begins IMMEDIATE** ([`write_tx`]): a deferred one that reads first cannot wait
//! for the write lock and fails at once with "database is locked". Migrations are numbered
//! `.sql` files applied by [`migrate`] in one exclusive transaction that reads the version again
//! once it holds the lock, so two processes opening a new file never both create the tables.
//!
//! Opening never moves or deletes anything ([`Store::open`]): a newer schema, a busy file or a
//! failed migration is a typed error in words, the file untouched. Only a file that fails
//! `PRAGMA integrity_check` is [`StoreError::Damaged`], and only then may the shell call
//! [`set_aside_damaged`], which copies it (and its WAL) aside, verifies the copy, and only then
//! makes room for a new file.
//!
//! One writer connection behind a lock serves the turns ([`Store::blocking`], [`Store::run`]);
//! reads and long jobs (dashboard, CSV export, import) get their own connections
//! ([`Store::read`], [`Store::job`]), WAL readers beside the writer, so a turn's saves never wait
//! behind them. Queries live next to the types they load ([`conversations`], [`messages`],
//! [`usage_rows`]); daily roll-ups of usage are kept as it is written ([`rollups`]). Every call
//! blocks: async callers go through [`Store::run`] / [`Store::run_read`] (`spawn_blocking`).

pub mod conversations;
pub mod messages;
pub mod overrides;
pub mod owner;
pub mod presets;
pub mod recovery;
pub mod rollups;
pub mod texts;
pub mod usage_rows;
pub mod token_history;
pub mod view;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};
use rust_decimal::Decimal;

/// How long a statement waits for another process's write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("The history at {path} could not be opened: {source}")]
    Open { path: String, source: rusqlite::Error },
    /// `PRAGMA user_version` above what this build knows: nothing is written.
    #[error("This history was written by a newer Tally (schema {found}; this version knows up to {known}). Nothing was changed: open it with the newer Tally, or update this one.")]
    NewerSchema { path: String, found: i64, known: i64 },
    /// Another process held the write lock longer than the busy timeout.
    #[error("The history at {path} is busy: another Tally process kept it locked for more than {waited}. Nothing was changed.")]
    Busy { path: String, waited: String },
    /// A migration failed; its transaction was rolled back, so the file is as it was.
    #[error("The history at {path} could not be updated from schema {from} to {to}: {message}. The file was left as it was.")]
    Migrate { path: String, from: i64, to: i64, message: String },
    /// The file failed SQLite's integrity check (or is not a database at all).
    #[error("The history at {path} is damaged: {detail}")]
    Damaged { path: String, detail: String },
    #[error("Database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// Refused by a rule the user set (a sensitive conversation, say).
    #[error("{0}")]
    Refused(String),
    /// A sum of money or tokens went beyond what can be stored.
    #[error("Adding up {0} went beyond what can be stored; the totals were left as they were.")]
    Overflow(String),
    #[error("The database worker stopped unexpectedly.")]
    Worker,
}

const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_init.sql"),
    include_str!("migrations/002_sensitive_and_column_removal.sql"),
    include_str!("migrations/003_price_overrides.sql"),
    include_str!("migrations/004_regenerate_and_delete.sql"),
    include_str!("migrations/005_paused_columns.sql"),
    include_str!("migrations/006_usage_dashboard.sql"),
    include_str!("migrations/007_input_estimates.sql"),
    include_str!("migrations/008_presets.sql"),
    include_str!("migrations/009_billed_first_and_attempts.sql"),
    include_str!("migrations/010_answer_owner.sql"),
    include_str!("migrations/011_reconciliations.sql"),
    include_str!("migrations/012_totals_revision.sql"),
    include_str!("migrations/013_conversation_owner.sql"),
    include_str!("migrations/014_thread_index.sql"),
];

/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Begins a transaction that takes the write lock at once (waiting up to the busy timeout for
/// it), so it can never fail half-way for want of the lock. Every transaction that writes uses it.
pub fn write_tx(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}

fn is_code(e: &rusqlite::Error, codes: &[ErrorCode]) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if codes.contains(&f.code))
}

/// A fresh connection on `path` with Tally's settings (WAL, busy timeout, foreign keys).
fn connect(path: &Path, flags: OpenFlags, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Brings the schema up to [`SCHEMA_VERSION`] in one exclusive transaction. The version is read
/// again under the lock: another process may have migrated while this one waited. A newer
/// schema is refused before anything is written.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    migrate_to(conn, path, MIGRATIONS)
}

fn migrate_to(conn: &mut Connection, path: &Path, migrations: &[&str]) -> Result<(), StoreError> {
    let known = migrations.len() as i64;
    let version = |c: &Connection| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
    let newer = |found| StoreError::NewerSchema { path: path.display().to_string(), found, known };
    let found = version(conn)?;
    if found > known {
        return Err(newer(found));
    }
    if found == known {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    let from = version(&tx)?;
    if from > known {
        return Err(newer(from));
    }
    for (i, sql) in migrations.iter().enumerate().skip(from as usize) {
        tx.execute_batch(sql).map_err(|e| StoreError::Migrate {
            path: path.display().to_string(),
            from,
            to: i as i64 + 1,
            message: e.to_string(),
        })?;
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}

/// Runs `PRAGMA integrity_check` on a read-only connection. `Ok(None)`: the file is sound;
/// `Ok(Some(why))`: it is damaged (or not a database at all).
pub fn integrity_check(path: &Path) -> Result<Option<String>, StoreError> {
    let run = || -> rusqlite::Result<Vec<String>> {
        let conn = connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX, BUSY_TIMEOUT)?;
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    match run() {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(None),
        Ok(lines) => Ok(Some(lines.into_iter().take(5).collect::<Vec<_>>().join("; "))),
        Err(e) if is_code(&e, &[ErrorCode::NotADatabase, ErrorCode::DatabaseCorrupt]) => Ok(Some(e.to_string())),
        Err(e) => Err(StoreError::Open { path: path.display().to_string(), source: e }),
    }
}

/// Sets a damaged history aside so a new one can be started: only when `PRAGMA integrity_check`
/// fails (checked again here), and only after the file and its WAL have been copied to
/// `<name>.damaged-<UTC time>` (and `…-wal`) and each copy read back equal. Returns where the
/// copy is, for the user. Anything short of that leaves the original where it was.
pub fn set_aside_damaged(path: &Path) -> Result<PathBuf, StoreError> {
    let shown = path.display().to_string();
    if integrity_check(path)?.is_none() {
        return Err(StoreError::Invalid(format!("The history at {shown} passed the integrity check; it is not set aside.")));
    }
    let io = |what: &str, e: std::io::Error| StoreError::Invalid(format!("The damaged history at {shown} could not be {what}: {e}. It was left where it is."));
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "tally.sqlite3".into());
    let aside = path.with_file_name(format!("{name}.damaged-{stamp}"));
    let sidecar = |p: &Path, ext: &str| PathBuf::from(format!("{}{ext}", p.display()));
    let mut moved = Vec::new();
    for ext in ["", "-wal"] {
        let (from, to) = (sidecar(path, ext), sidecar(&aside, ext));
        if !from.exists() {
            continue;
        }
        std::fs::copy(&from, &to).map_err(|e| io("copied", e))?;
        std::fs::File::open(&to).and_then(|f| f.sync_all()).map_err(|e| io("copied", e))?;
        let same = std::fs::read(&from).and_then(|a| std::fs::read(&to).map(|b| a == b)).map_err(|e| io("verified", e))?;
        if !same {
            return Err(StoreError::Invalid(format!("The copy of the damaged history at {} does not match the original; the original was left where it is.", to.display())));
        }
        moved.push(from);
    }
    // The copies are verified: the originals (and the shared-memory index, which is rebuilt
    // from the WAL) can go.
    moved.push(sidecar(path, "-shm"));
    for p in moved {
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| io("moved", e))?;
        }
    }
    Ok(aside)
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Idle read connections, reused.
    readers: Mutex<Vec<Connection>>,
    /// Texts of ended messages, for planning turns without reading whole threads again.
    texts: Arc<texts::Texts>,
}

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// A new, migrated database in a temporary folder, for unit tests; the folder lives as long
    /// as the returned guard.
    #[cfg(test)]
    pub(crate) fn throwaway() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.sqlite3")).unwrap();
        (dir, store)
    }

    /// Opens (creating if needed) the database file and brings its schema up to date. Never
    /// moves, deletes or rewrites the file because something failed: see [`StoreError`] for
    /// what each failure says.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_timeout(path, BUSY_TIMEOUT)
    }

    /// [`Store::open`] with another busy timeout (tests; a caller that waits in its own loop).
    pub fn open_with_timeout(path: &Path, busy_timeout: Duration) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let shown = path.display().to_string();
        let classify = |e: StoreError| -> StoreError {
            let sql = match &e {
                StoreError::Sql(s) | StoreError::Open { source: s, .. } => s,
                _ => return e,
            };
            if is_code(sql, &[ErrorCode::DatabaseBusy, ErrorCode::DatabaseLocked]) {
                return StoreError::Busy { path: shown.clone(), waited: format!("{} s", busy_timeout.as_secs_f64()) };
            }
            if is_code(sql, &[ErrorCode::NotADatabase, ErrorCode::DatabaseCorrupt]) {
                if let Ok(Some(detail)) = integrity_check(path) {
                    return StoreError::Damaged { path: shown.clone(), detail };
                }
            }
            e
        };
        let open_err = |source| StoreError::Open { path: shown.clone(), source };
        let mut conn = connect(path, OpenFlags::default(), busy_timeout).map_err(open_err).map_err(classify)?;
        let setup = |conn: &mut Connection| -> Result<(), StoreError> {
            // Already WAL on every file but a new one; changing it waits for the lock like a write.
            let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                conn.pragma_update(None, "journal_mode", "WAL")?;
            }
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            migrate(conn, path)?;
            rollups::rebuild_if_pending(conn)?;
            Ok(())
        };
        // SQLite answers some lock conflicts at once instead of calling the busy handler (two
        // connections that both read the schema and then both want to write it: a new file's
        // first openers). Every step of `setup` is idempotent, so it is tried again until the
        // busy timeout has passed, as a write would wait.
        let started = std::time::Instant::now();
        loop {
            match setup(&mut conn).map_err(classify) {
                Err(StoreError::Busy { .. }) if started.elapsed() < busy_timeout => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => break other?,
            }
        }
        Ok(Store { inner: Arc::new(Inner { path: path.to_path_buf(), writer: Mutex::new(conn), readers: Mutex::new(Vec::new()), texts: Arc::default() }) })
    }

    /// Like [`Store::open`], but a busy file is waited for: `on_wait` hears each time it was
    /// busy (to say so), and the open is tried again, up to `tries` times in all.
    pub fn open_waiting(path: &Path, tries: u32, on_wait: impl FnMut(&StoreError)) -> Result<Store, StoreError> {
        Store::open_waiting_with_timeout(path, tries, BUSY_TIMEOUT, on_wait)
    }

    /// [`Store::open_waiting`] with another busy timeout per try.
    pub fn open_waiting_with_timeout(path: &Path, tries: u32, busy_timeout: Duration, mut on_wait: impl FnMut(&StoreError)) -> Result<Store, StoreError> {
        let mut left = tries.max(1);
        loop {
            left -= 1;
            match Store::open_with_timeout(path, busy_timeout) {
                Err(e @ StoreError::Busy { .. }) if left > 0 => on_wait(&e),
                other => return other,
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The texts of ended messages kept for this database ([`texts::Texts`]).
    pub fn texts(&self) -> Arc<texts::Texts> {
        Arc::clone(&self.inner.texts)
    }

    /// Runs `f` on the writer connection, on the calling thread. For turns, the CLI, tests and
    /// blocking code. Keep it short: everything that writes for a turn waits behind it.
    pub fn blocking<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        // A panic while holding the lock leaves a usable connection (SQLite rolls back an open
        // transaction when it is dropped), so a poisoned lock is recovered, not propagated.
        let mut conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }

    /// Runs `f` on the writer connection off the async runtime's workers.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.blocking(f)).await.map_err(|_| StoreError::Worker)?
    }

    /// Runs a read on a connection of its own (a WAL reader beside the writer, `query_only`):
    /// however long it takes, the writer is not held. Sees the database as of its first read.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let pooled = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = connect(&self.inner.path, OpenFlags::default(), BUSY_TIMEOUT)
                    .map_err(|source| StoreError::Open { path: self.inner.path.display().to_string(), source })?;
                c.pragma_update(None, "query_only", "ON")?;
                c
            }
        };
        let out = f(&conn);
        if conn.is_autocommit() {
            let mut idle = self.inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < 4 {
                idle.push(conn);
            }
        }
        out
    }

    /// [`Store::read`] off the async runtime's workers.
    pub async fn run_read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read(f)).await.map_err(|_| StoreError::Worker)?
    }

    /// Runs a long job that writes (an import) on a connection of its own. The job must write in
    /// short IMMEDIATE transactions ([`write_tx`]) so that a turn's saves wait at most one of them.
    pub fn job<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = connect(&self.inner.path, OpenFlags::default(), BUSY_TIMEOUT)
            .map_err(|source| StoreError::Open { path: self.inner.path.display().to_string(), source })?;
        f(&mut conn)
    }
}

/// Reads an exact decimal stored as text.
pub(crate) fn decimal(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_twice_keeps_the_schema_and_uses_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        Store::open(&path).unwrap();
        let store = Store::open(&path).unwrap();
        let mode: String = store.blocking(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store.blocking(|c| Ok(c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?)).unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn usage_written_before_the_dashboard_keeps_its_rows_and_gets_uids_and_roll_ups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let mut conn = Connection::open(&path).unwrap();
        migrate_to(&mut conn, &path, &MIGRATIONS[..5]).unwrap();
        conn.execute_batch(
            "INSERT INTO conversations (id, title) VALUES (1, 'Old');
             INSERT INTO columns (id, conversation_id, position, route, model) VALUES (1, 1, 0, 'openrouter', 'openai/gpt-4o-mini');
             INSERT INTO turns (id, conversation_id, prompt) VALUES (1, 1, 'hi');
             INSERT INTO messages (id, column_id, turn_id, role, status) VALUES (1, 1, 1, 'assistant', 'done'), (2, 1, 1, 'assistant', 'done');
             INSERT INTO usage (message_id, conversation_id, route, provider, model, input_tokens, cached_input_tokens, cache_write_tokens,
                 output_tokens, reasoning_tokens, estimated, cost_json, cost, total_ms, created_at)
             VALUES (1, 1, 'openrouter', 'openrouter', 'openai/gpt-4o-mini', 1000, 0, 0, 100, 0, 0,
                     '{\"total\":\"0.00021\",\"effective_total\":\"0.00022155\"}', '0.00021', 500, '2026-02-01T10:00:00.000Z'),
                    (2, 1, 'openrouter', 'openrouter', 'openai/gpt-4o-mini', 10, 0, 0, 1, 0, 1, NULL, NULL, 500, '2026-02-01T11:00:00.000Z');",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        let (uids, daily): (i64, (String, String, i64, i64)) = store
            .blocking(|c| {
                let uids = c.query_row("SELECT count(DISTINCT uid) FROM usage WHERE message_id IS NOT NULL", [], |r| r.get(0))?;
                let daily = c.query_row(
                    "SELECT cost, effective_cost, answers, unpriced_answers FROM usage_daily WHERE day = '2026-02-01'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?;
                Ok((uids, daily))
            })
            .unwrap();
        assert_eq!(uids, 2);
        assert_eq!(daily, ("0.00021".to_string(), "0.00022155".to_string(), 2, 1));
        let pending: i64 = store.blocking(|c| Ok(c.query_row("SELECT count(*) FROM usage_rollups_pending", [], |r| r.get(0))?)).unwrap();
        assert_eq!(pending, 0, "built once, not at every open");
    }

    #[test]
    fn migrations_apply_in_order_on_a_new_file() {
        let (_dir, store) = Store::throwaway();
        let v: i64 = store.blocking(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)).unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }
}
