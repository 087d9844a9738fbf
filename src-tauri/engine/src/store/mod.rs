//! SQLite storage: conversations, columns, turns, messages (partial ones too) and usage rows
//! with the price they were charged at.
//!
//! One connection, WAL, `synchronous=NORMAL`, a busy timeout and foreign keys on; migrations are
//! numbered `.sql` files applied in order by `rusqlite_migration`, each in its own transaction.
//! Queries live next to the types they load ([`conversations`], [`messages`], [`usage_rows`]);
//! daily roll-ups of usage are kept as it is written ([`rollups`]). Every call
//! blocks: async callers go through [`Store::run`], which uses `spawn_blocking`.

pub mod conversations;
pub mod messages;
pub mod overrides;
pub mod presets;
pub mod rollups;
pub mod usage_rows;
pub mod token_history;

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};
use rust_decimal::Decimal;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("The database could not be opened at {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("The database could not be updated to this version of Tally: {0}")]
    Migrate(#[from] rusqlite_migration::Error),
    #[error("Database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// Refused by a rule the user set (a sensitive conversation, say).
    #[error("{0}")]
    Refused(String),
    #[error("The database worker stopped unexpectedly.")]
    Worker,
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/001_init.sql")),
        M::up(include_str!("migrations/002_sensitive_and_column_removal.sql")),
        M::up(include_str!("migrations/003_price_overrides.sql")),
        M::up(include_str!("migrations/004_regenerate_and_delete.sql")),
        M::up(include_str!("migrations/005_paused_columns.sql")),
        M::up(include_str!("migrations/006_usage_dashboard.sql")),
        M::up(include_str!("migrations/007_input_estimates.sql")),
        M::up(include_str!("migrations/008_presets.sql")),
        M::up(include_str!("migrations/009_billed_first_and_attempts.sql")),
    ])
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        migrations().to_latest(&mut conn)?;
        rollups::rebuild_if_pending(&mut conn)?;
        Ok(Store { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` on the connection, on the calling thread. For the CLI, tests and blocking code.
    pub fn blocking<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        // A panic while holding the lock leaves a usable connection (SQLite rolls back an open
        // transaction when it is dropped), so a poisoned lock is recovered, not propagated.
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }

    /// Runs `f` on the connection off the async runtime's workers.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.blocking(f)).await.map_err(|_| StoreError::Worker)?
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
        migrations().to_version(&mut conn, 5).unwrap();
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
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }
}
