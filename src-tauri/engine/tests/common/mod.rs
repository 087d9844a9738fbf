//! Usage rows for tests, written the way an import writes them (with their daily roll-ups, in one
//! transaction), on a real SQLite file in a temp dir.
#![allow(dead_code)]

use std::str::FromStr;

use tally_engine::store::messages::{self, Finished, Status};
use tally_engine::store::rollups::Deltas;
use tally_engine::store::usage_rows::{Origin, UsageRecord};
use tally_engine::store::{conversations, Store};
use tally_engine::target::Target;
use tally_engine::Decimal;

pub fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub struct Db {
    pub _dir: tempfile::TempDir,
    pub path: std::path::PathBuf,
    pub store: Store,
}

pub fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.sqlite3");
    let store = Store::open(&path).unwrap();
    Db { _dir: dir, path, store }
}

/// A conversation with one column, titled `title`.
pub fn conversation(store: &Store, title: &str) -> i64 {
    store.blocking(|c| conversations::create(c, title, &[Target::parse("openai:gpt-4o-mini").unwrap()])).unwrap()
}

/// One answer at `at` (RFC 3339) on `target`, costing `cost` (list) and `effective` (with fees);
/// `None` cost: unpriced.
pub fn answer(at: &str, target: &str, cost: Option<&str>, effective: Option<&str>, conversation_id: i64) -> UsageRecord {
    let t = Target::parse(target).unwrap();
    UsageRecord {
        uid: format!("test-{at}-{target}"),
        created_at: at.to_string(),
        conversation_id: Some(conversation_id),
        route: t.route.clone(),
        provider: t.provider().id.to_string(),
        model: t.model.clone(),
        input_tokens: 100,
        output_tokens: 10,
        cost: cost.map(d),
        effective_cost: effective.or(cost).map(d),
        ttft_ms: Some(300),
        total_ms: 1300,
        origin: "app".into(),
        price_json: cost.map(|_| r#"{"input":"0.000001","output":"0.000002","cached_input":null,"cache_write":null,"reasoning":null,"request":null,"source":"test"}"#.into()),
        cost_json: cost.map(|c| format!(r#"{{"total":"{c}"}}"#)),
        ..Default::default()
    }
}

pub fn write(store: &Store, records: &[UsageRecord]) {
    store
        .blocking(|c| {
            let tx = c.transaction()?;
            let mut deltas = Deltas::default();
            for r in records {
                deltas.insert(&tx, r, Origin::Local)?;
            }
            deltas.apply(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .unwrap();
}

/// Records a whole turn on the writer (what a turn's saves are): the prompt, a partial save, and
/// the answer with its usage, roll-ups and totals. Returns the answer's id.
pub fn a_turn(store: &Store, conversation_id: i64) -> i64 {
    store
        .blocking(|c| {
            let start = messages::start_turn(c, conversation_id, "What does this cost?")?;
            let col = &start.columns[0];
            messages::save_partial(c, col.message_id, "It costs", "")?;
            let f = Finished {
                conversation_id,
                column_id: col.column_id,
                message_id: col.message_id,
                target: Target::parse("openai:gpt-4o-mini").unwrap(),
                content: "It costs little.".into(),
                reasoning: String::new(),
                status: Status::Done,
                finish_reason: Some("stop".into()),
                error: None,
                usage: tally_engine::stream::Usage { input_tokens: 12, output_tokens: 4, ..Default::default() },
                served_model: None,
                price: None,
                cost: None,
                timing: Default::default(),
                origin: "app",
            };
            messages::finish(c, &f)?;
            Ok(col.message_id)
        })
        .expect("the turn is saved")
}
