//! Opening the history safely, on real files: nothing is moved or deleted because opening
//! failed. A newer schema, a failed migration and a busy file are typed errors in words with the
//! file (and its WAL) untouched; only a failed integrity check lets a verified copy be set aside.
//! Many openers of a new file at once migrate it exactly once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use tally_engine::store::{integrity_check, set_aside_damaged, Store, StoreError, SCHEMA_VERSION};

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn new_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.sqlite3");
    (dir, path)
}

#[test]
fn a_newer_schema_is_refused_in_words_and_neither_the_file_nor_its_wal_is_touched() {
    let (dir, path) = new_db();
    drop(Store::open(&path).unwrap());
    // Another process (a newer Tally) has the file open, with a write still only in its WAL.
    let newer = Connection::open(&path).unwrap();
    newer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    newer.execute_batch("PRAGMA user_version = 42; INSERT INTO conversations (title) VALUES ('kept in the WAL');").unwrap();
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let (db_before, wal_before) = (std::fs::read(&path).unwrap(), std::fs::read(&wal).unwrap());
    assert!(!wal_before.is_empty());

    let err = Store::open(&path).err().expect("a newer schema must not open");
    assert!(matches!(err, StoreError::NewerSchema { found: 42, known, .. } if known == SCHEMA_VERSION), "{err:?}");
    assert!(err.to_string().starts_with("This history was written by a newer Tally (schema 42"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), db_before);
    assert_eq!(std::fs::read(&wal).unwrap(), wal_before);
    assert!(files(dir.path()).iter().all(|f| !f.contains("damaged")), "{:?}", files(dir.path()));
    let kept: String = newer.query_row("SELECT title FROM conversations", [], |r| r.get(0)).unwrap();
    assert_eq!(kept, "kept in the WAL");
}

#[test]
fn a_failed_migration_stops_with_the_error_in_words_and_leaves_the_file_as_it_was() {
    let (dir, path) = new_db();
    // Version 0 with a table the first migration creates: the migration cannot run.
    let c = Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE conversations (id INTEGER PRIMARY KEY, note TEXT); INSERT INTO conversations (note) VALUES ('mine');").unwrap();
    drop(c);
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).err().expect("the migration must fail");
    assert!(matches!(err, StoreError::Migrate { from: 0, to: 1, .. }), "{err:?}");
    let words = err.to_string();
    assert!(words.contains("could not be updated from schema 0 to 1") && words.contains("already exists") && words.contains("left as it was"), "{words}");
    let c = Connection::open(&path).unwrap();
    let (version, note): (i64, String) = (
        c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap(),
        c.query_row("SELECT note FROM conversations", [], |r| r.get(0)).unwrap(),
    );
    assert_eq!((version, note.as_str()), (0, "mine"), "rolled back as a whole");
    drop(c);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(files(dir.path()).iter().all(|f| !f.contains("damaged")));
}

#[test]
fn a_busy_file_is_an_error_in_words_and_opening_again_once_it_is_free_works() {
    let (_dir, path) = new_db();
    // Another process created the file and holds the write lock while this one needs to migrate it.
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("PRAGMA journal_mode = WAL; BEGIN EXCLUSIVE;").unwrap();
    let err = Store::open_with_timeout(&path, Duration::from_millis(50)).err().expect("busy");
    assert!(matches!(err, StoreError::Busy { .. }), "{err:?}");
    assert!(err.to_string().contains("is busy: another Tally process kept it locked"), "{err}");

    // Waiting: the caller hears it was busy (to say so), the lock goes, the next try opens.
    let mut holder = Some(holder);
    let mut heard = Vec::new();
    let store = Store::open_waiting_with_timeout(&path, 3, Duration::from_millis(50), |e| {
        heard.push(e.to_string());
        if let Some(h) = holder.take() {
            h.execute_batch("ROLLBACK").unwrap();
        }
    })
    .unwrap();
    assert_eq!(heard.len(), 1, "{heard:?}");
    let v: i64 = store.blocking(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?)).unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}

#[test]
fn only_a_file_that_fails_the_integrity_check_is_set_aside_and_only_after_a_verified_copy() {
    let (dir, path) = new_db();
    let garbage = b"not a database at all, but long enough to look like a header of one".repeat(64);
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).err().expect("garbage does not open");
    assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
    assert!(err.to_string().contains("is damaged"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "opening alone moves nothing");

    let aside = set_aside_damaged(&path).unwrap();
    assert!(aside.to_string_lossy().contains("tally.sqlite3.damaged-"), "{}", aside.display());
    assert_eq!(std::fs::read(&aside).unwrap(), garbage, "the copy is the file, byte for byte");
    assert!(!path.exists());
    let store = Store::open(&path).unwrap();
    assert_eq!(integrity_check(&path).unwrap(), None);
    drop(store);

    // A sound file is never set aside.
    let err = set_aside_damaged(&path).expect_err("a sound file stays");
    assert!(err.to_string().contains("passed the integrity check"), "{err}");
    assert!(path.exists());
    assert_eq!(files(dir.path()).iter().filter(|f| f.contains("damaged")).count(), 1);
}

#[test]
fn a_page_corrupted_inside_a_real_history_fails_the_integrity_check() {
    let (_dir, path) = new_db();
    let store = Store::open(&path).unwrap();
    store
        .blocking(|c| {
            for i in 0..300 {
                c.execute("INSERT INTO conversations (title) VALUES (?1)", [format!("conversation {i} {}", "x".repeat(200))])?;
            }
            c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
            Ok(())
        })
        .unwrap();
    drop(store);
    assert_eq!(integrity_check(&path).unwrap(), None);
    let mut bytes = std::fs::read(&path).unwrap();
    // Scribble over the header of every b-tree page but the first (the schema).
    let page = 4096;
    for start in (page..bytes.len()).step_by(page) {
        for b in &mut bytes[start..start + 12] {
            *b = 0xA5;
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    assert!(integrity_check(&path).unwrap().is_some());
}

#[test]
fn eight_openers_of_a_new_file_at_once_migrate_it_exactly_once() {
    let (_dir, path) = new_db();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (path, barrier) = (path.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                Store::open(&path).map(|_| ()).map_err(|e| e.to_string())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let c = Connection::open(&path).unwrap();
    let v: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}
