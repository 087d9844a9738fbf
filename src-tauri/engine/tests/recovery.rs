//! Nothing unbilled: an answer left streaming by a process that is gone is billed when the
//! database is next opened — with the provider's usage if it arrived, else an estimate marked ≈
//! — together with its roll-ups and running totals; an answer of a live process is left alone,
//! and two processes billing at once bill each answer once. Real SQLite files.

#[path = "common/harness.rs"]
mod harness;

use std::sync::Arc;

use tally_engine::pricing::{Catalog, Fees, Pricing};
use tally_engine::store::messages::{self, Status};
use tally_engine::store::owner::this_process;
use tally_engine::store::recovery::{bill_interrupted, remove_abandoned};
use tally_engine::store::{conversations, Store};
use tally_engine::stream::Usage;
use tally_engine::target::Target;
use tally_engine::Decimal;

const DEAD: &str = "00000000-0000-0000-0000-000000000000/4242/1";

fn pricing() -> Pricing {
    Pricing::new(Catalog::embedded(), Fees::default())
}

/// A conversation on `openai:gpt-4o-mini` with one turn whose answer is streaming, `text` saved.
fn streaming(store: &Store, text: &str) -> (i64, i64) {
    store
        .blocking(|c| {
            let conv = conversations::create(c, "New conversation", &[Target::parse("openai:gpt-4o-mini").unwrap()])?;
            let start = messages::start_turn(c, conv, "Write a haiku about ledgers.")?;
            let id = start.columns[0].message_id;
            messages::save_partial(c, id, text, "")?;
            Ok((conv, id))
        })
        .unwrap()
}

fn set_owner(store: &Store, id: i64, owner: &str) {
    store.blocking(|c| Ok(c.execute("UPDATE messages SET owner = ?1 WHERE id = ?2", rusqlite::params![owner, id])?)).unwrap();
}

#[test]
fn an_answer_whose_process_is_gone_is_billed_with_an_estimate_once_and_its_totals_follow() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("tally.sqlite3")).unwrap();
    let (conv, id) = streaming(&store, "Columns of numbers, quiet in the evening light");
    let p = pricing();

    // Its own process is alive: nothing to do.
    assert_eq!(store.blocking(|c| bill_interrupted(c, &p, "cli")).unwrap(), Vec::<i64>::new());
    assert_eq!(store.blocking(|c| messages::message(c, id)).unwrap().status, Status::Streaming);

    set_owner(&store, id, DEAD);
    assert_eq!(store.blocking(|c| bill_interrupted(c, &p, "cli")).unwrap(), vec![id]);
    let m = store.blocking(|c| messages::message(c, id)).unwrap();
    assert_eq!(m.status, Status::Stopped);
    assert_eq!(m.content, "Columns of numbers, quiet in the evening light", "the text is kept");
    let e = m.error.unwrap();
    assert!(e.message.contains("pid 4242") && e.message.contains("estimated (≈)"), "{}", e.message);
    let u = m.usage.expect("billed");
    let input_estimate: i64 = store.blocking(|c| Ok(c.query_row("SELECT input_estimate FROM messages WHERE id = ?1", [id], |r| r.get(0))?)).unwrap();
    let output = tally_engine::tokens::count_text("openai:gpt-4o-mini", &m.content).tokens;
    assert!(u.tokens.estimated);
    assert_eq!((u.tokens.input_tokens, u.tokens.output_tokens), (input_estimate as u64, output));
    assert!(input_estimate > 0 && output > 0);
    let price = u.price.expect("gpt-4o-mini is priced");
    let cost = u.cost.expect("priced").total;
    assert_eq!(cost, Decimal::from(input_estimate) * price.input + Decimal::from(output) * price.output);

    // The roll-ups and the running totals moved with it, in the same transaction.
    let (answers, estimated, day_cost, conv_cost): (i64, i64, String, String) = store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT (SELECT sum(answers) FROM usage_daily), (SELECT sum(estimated_answers) FROM usage_daily),
                        (SELECT cost FROM usage_daily), (SELECT total_cost FROM conversations WHERE id = ?1)",
                [conv],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .unwrap();
    assert_eq!((answers, estimated), (1, 1));
    assert_eq!(day_cost.parse::<Decimal>().unwrap(), cost);
    assert_eq!(conv_cost.parse::<Decimal>().unwrap(), cost);
    harness::assert_totals_agree(&store, conv, "recovery");

    // Opened again: billed once, not twice.
    assert_eq!(store.blocking(|c| bill_interrupted(c, &p, "app")).unwrap(), Vec::<i64>::new());
    let rows: i64 = store.blocking(|c| Ok(c.query_row("SELECT count(*) FROM usage", [], |r| r.get(0))?)).unwrap();
    assert_eq!(rows, 1);
}

#[test]
fn the_providers_usage_is_used_when_it_arrived_before_the_process_died() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("tally.sqlite3")).unwrap();
    let (_, id) = streaming(&store, "Almost done");
    let reported = Usage { input_tokens: 1200, cached_input_tokens: 1024, output_tokens: 40, ..Usage::default() };
    store.blocking(|c| messages::save_usage(c, id, &reported, Some("gpt-4o-mini-2024-07-18"))).unwrap();
    set_owner(&store, id, DEAD);
    assert_eq!(store.blocking(|c| bill_interrupted(c, &pricing(), "app")).unwrap(), vec![id]);
    let m = store.blocking(|c| messages::message(c, id)).unwrap();
    let u = m.usage.unwrap();
    assert_eq!(u.tokens, reported, "the provider's figures, not an estimate");
    assert_eq!(u.served_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    let p = u.price.unwrap();
    // 176 uncached input tokens, 1024 cached, 40 output, at the prices stored with the usage.
    let expected = Decimal::from(176) * p.input + Decimal::from(1024) * p.cached_input.unwrap_or(p.input) + Decimal::from(40) * p.output;
    assert_eq!(u.cost.unwrap().total, expected);
    assert!(m.error.unwrap().message.contains("as the provider reported it"));
}

#[test]
fn answers_from_before_owners_were_recorded_are_billed_and_two_openers_at_once_bill_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tally.sqlite3");
    let store = Store::open(&path).unwrap();
    let ids: Vec<i64> = (0..5).map(|i| streaming(&store, &format!("partial answer {i}")).1).collect();
    store.blocking(|c| Ok(c.execute("UPDATE messages SET owner = NULL WHERE status = 'streaming'", [])?)).unwrap();
    let (_, live) = streaming(&store, "still being written by this process");
    assert_eq!(store.blocking(|c| Ok(c.query_row("SELECT owner FROM messages WHERE id = ?1", [live], |r| r.get::<_, String>(0))?)).unwrap(), this_process());

    let p = Arc::new(pricing());
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (path, p) = (path.clone(), p.clone());
            std::thread::spawn(move || {
                let s = Store::open(&path).unwrap();
                s.blocking(|c| bill_interrupted(c, &p, "cli")).unwrap()
            })
        })
        .collect();
    let mut billed: Vec<i64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    billed.sort();
    assert_eq!(billed, ids, "each interrupted answer billed exactly once, the live one left alone");
    let (rows, streaming_left): (i64, i64) = store
        .blocking(|c| Ok(c.query_row("SELECT (SELECT count(*) FROM usage), (SELECT count(*) FROM messages WHERE status = 'streaming')", [], |r| Ok((r.get(0)?, r.get(1)?)))?))
        .unwrap();
    assert_eq!((rows, streaming_left), (5, 1));
}

#[test]
fn an_empty_conversation_left_by_a_process_that_died_before_its_turn_is_removed_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("tally.sqlite3")).unwrap();
    let targets = [Target::parse("openai:gpt-4o-mini").unwrap()];
    let params = conversations::ColumnParams::default();
    let (alive, dead, dead_with_turn, window) = store
        .blocking(|c| {
            let alive = conversations::create_for_turn(c, "New conversation", &targets, &params)?;
            let dead = conversations::create_for_turn(c, "New conversation", &targets, &params)?;
            let dead_with_turn = conversations::create_for_turn(c, "New conversation", &targets, &params)?;
            messages::start_turn(c, dead_with_turn, "Sent before the process died.")?;
            // A new comparison in the window: no owner, kept with its columns until its first send.
            let window = conversations::create(c, "New conversation", &targets)?;
            c.execute("UPDATE conversations SET owner = ?1 WHERE id IN (?2, ?3)", rusqlite::params![DEAD, dead, dead_with_turn])?;
            Ok((alive, dead, dead_with_turn, window))
        })
        .unwrap();
    assert_eq!(store.blocking(remove_abandoned).unwrap(), 1);
    let left: Vec<i64> = store
        .blocking(|c| {
            let mut stmt = c.prepare("SELECT id FROM conversations ORDER BY id")?;
            let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
            Ok(ids)
        })
        .unwrap();
    assert_eq!(left, vec![alive, dead_with_turn, window], "only the dead process's empty one ({dead}) is gone");
    assert_eq!(store.blocking(remove_abandoned).unwrap(), 0, "nothing more to do");
    let columns: i64 = store.blocking(|c| Ok(c.query_row("SELECT count(*) FROM columns WHERE conversation_id = ?1", [dead], |r| r.get(0))?)).unwrap();
    assert_eq!(columns, 0, "its columns went with it");
}
