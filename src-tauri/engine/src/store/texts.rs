//! The texts of messages that no longer change (prompts, and answers that have ended), kept in
//! memory so that planning a turn reads each thread's ids from an index and its texts from here:
//! a long thread (megabytes a column) is not read from SQLite again at every turn.
//!
//! An entry is keyed by the message's id and its creation time: SQLite may give a deleted
//! message's id to a new one (another process can delete), and the new one is created later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Past this many bytes the kept texts are dropped and read again as they are needed.
const KEEP_BYTES: usize = 64 << 20;

#[derive(Default)]
pub struct Texts {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Message id → (its creation time, its text).
    by_id: HashMap<i64, (String, Arc<str>)>,
    bytes: usize,
}

impl Texts {
    pub fn get(&self, id: i64, created_at: &str) -> Option<Arc<str>> {
        self.lock().by_id.get(&id).filter(|(at, _)| at == created_at).map(|(_, text)| Arc::clone(text))
    }

    pub fn keep(&self, id: i64, created_at: &str, text: Arc<str>) {
        let mut inner = self.lock();
        if inner.bytes + text.len() > KEEP_BYTES {
            inner.by_id.clear();
            inner.bytes = 0;
        }
        inner.bytes += text.len();
        if let Some((_, old)) = inner.by_id.insert(id, (created_at.to_string(), text)) {
            inner.bytes -= old.len();
        }
    }

    /// How many texts are kept (tests).
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
