//! The token views on a real SQLite file: the estimate stored with each answer against the
//! provider's count, a conversation's profile, and re-pricing it under other targets.

use std::str::FromStr;

use tally_engine::pricing::{cost, Price};
use tally_engine::store::conversations::{self, ColumnParams};
use tally_engine::store::messages::{self, Finished, Status};
use tally_engine::store::{token_history, view, Store};
use tally_engine::stream::{Timing, Usage};
use tally_engine::target::Target;
use tally_engine::estimates::reprice::reprice;
use tally_engine::tokens::{count_chat, count_content, ChatItem, Encoding};
use tally_engine::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn t(s: &str) -> Target {
    Target::parse(s).unwrap()
}

fn price(input: &str, output: &str) -> Price {
    Price { input: d(input), output: d(output), cached_input: None, cache_write: None, reasoning: None, request: None, tiers: Vec::new(), source: "test".into() }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.sqlite3")).unwrap();
    (dir, store)
}

/// Sends `prompt` to every column and finishes each answer with `answer`, `usage` and a cost at
/// `price`.
fn turn(c: &mut rusqlite::Connection, conv: i64, prompt: &str, answer: &str, usage: Usage, price: &Price) {
    let start = messages::start_turn(c, conv, prompt).unwrap();
    for col in start.columns {
        let cost = cost(&usage, price, Decimal::ZERO).unwrap();
        let f = Finished {
            conversation_id: conv,
            column_id: col.column_id,
            message_id: col.message_id,
            target: col.target,
            content: answer.into(),
            reasoning: String::new(),
            status: Status::Done,
            finish_reason: Some("stop".into()),
            error: None,
            usage: usage.clone(),
            served_model: None,
            price: Some(price.clone()),
            cost: Some(cost),
            timing: Timing::default(),
            origin: "cli",
        };
        messages::finish(c, &f).unwrap();
    }
}

const SYSTEM: &str = "You are a helpful assistant.";

#[test]
fn the_estimate_sent_with_each_answer_is_compared_with_the_real_count_per_model() {
    let (_dir, store) = store();
    store
        .blocking(|c| {
            let params = ColumnParams { system: Some(SYSTEM.into()), ..Default::default() };
            let conv = conversations::create_with_params(c, "x", &[t("openai:gpt-4o"), t("anthropic:claude-sonnet-4-5")], &params)?;
            let p = price("0.0000025", "0.00001");
            // The reference count of this request on o200k_base is 24 tokens; the provider says 24 and 30.
            turn(c, conv, "What is the capital of France?", "Paris.", Usage { input_tokens: 24, output_tokens: 2, ..Default::default() }, &p);
            let stored: Vec<i64> = c.prepare("SELECT input_estimate FROM messages WHERE role = 'assistant' ORDER BY id")?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            assert_eq!(stored, vec![24, 24]);
            // A second turn whose usage is our own estimate is left out of the comparison.
            turn(c, conv, "And Spain?", "Madrid.", Usage { input_tokens: 99, output_tokens: 2, estimated: true, ..Default::default() }, &p);
            c.execute("UPDATE usage SET input_tokens = 30 WHERE route = 'anthropic' AND estimated = 0", [])?;

            let rows = token_history::estimate_accuracy(c)?;
            assert_eq!(rows.len(), 2);
            let claude = &rows[0];
            assert_eq!((claude.target.as_str(), claude.answers, claude.exact), ("anthropic:claude-sonnet-4-5", 1, false));
            assert_eq!(claude.mean_percent, d("-20")); // (24 − 30) / 30
            assert_eq!(claude.worst_percent, d("-20"));
            assert_eq!(claude.mean_abs_percent, d("20"));
            let gpt = &rows[1];
            assert_eq!((gpt.target.as_str(), gpt.answers, gpt.exact, gpt.worst_percent), ("openai:gpt-4o", 1, true, Decimal::ZERO));
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_conversations_profile_averages_its_accepted_requests_rounding_half_up() {
    let (_dir, store) = store();
    store
        .blocking(|c| {
            let conv = conversations::create(c, "x", &[t("openai:gpt-4o")])?;
            let p = price("0.0000025", "0.00001");
            turn(c, conv, "one", "a", Usage { input_tokens: 100, output_tokens: 10, ..Default::default() }, &p);
            turn(c, conv, "two", "b", Usage { input_tokens: 201, output_tokens: 11, cached_input_tokens: 50, ..Default::default() }, &p);
            turn(c, conv, "three", "", Usage::default(), &p); // refused: not a request
            let profile = token_history::profile(c, conv, None)?.unwrap();
            assert_eq!((profile.requests, profile.avg_input_tokens, profile.avg_output_tokens, profile.avg_cached_input_tokens), (2, 151, 11, 25));
            assert!(token_history::profile(c, conv + 1, None)?.is_none());
            let column = view::load(c, conv)?.columns[0].id;
            assert_eq!(token_history::recent_output_average(c, column, 10)?, Some(11)); // (10 + 11) / 2, half up
            assert_eq!(token_history::recent_output_average(c, column, 1)?, Some(11));
            Ok(())
        })
        .unwrap();
}

#[test]
fn repricing_recounts_with_each_encoding_sorts_cheapest_first_and_states_the_saving() {
    let (_dir, store) = store();
    store
        .blocking(|c| {
            let params = ColumnParams { system: Some(SYSTEM.into()), ..Default::default() };
            let conv = conversations::create_with_params(c, "x", &[t("openai:gpt-4o")], &params)?;
            let paid_price = price("0.0000025", "0.00001");
            turn(c, conv, "What is the capital of France?", "Paris.", Usage { input_tokens: 24, output_tokens: 2, ..Default::default() }, &paid_price);
            turn(c, conv, "And Spain?", "Madrid.", Usage { input_tokens: 40, output_tokens: 3, ..Default::default() }, &paid_price);
            let measured = token_history::measured(c, conv, None)?;
            assert_eq!(measured.answers.len(), 2);
            // What was paid: (24 + 40) × 0.0000025 + (2 + 3) × 0.00001 = 0.00021.
            let targets = vec![
                (t("openai:gpt-4o"), paid_price.clone(), Decimal::ZERO),
                (t("openai:gpt-4-turbo"), price("0.00001", "0.00003"), Decimal::ZERO),
                (t("anthropic:claude-haiku-4-5"), price("0.000001", "0.000005"), Decimal::ZERO),
            ];
            let r = reprice(&measured, &targets);
            assert_eq!(r.paid, d("0.00021"));
            assert_eq!(r.rows.iter().map(|x| x.target.as_str()).collect::<Vec<_>>(), ["anthropic:claude-haiku-4-5", "openai:gpt-4o", "openai:gpt-4-turbo"]);

            // Claude is priced on the measured counts, marked inexact: 64 × 0.000001 + 5 × 0.000005.
            let claude = &r.rows[0];
            assert!(!claude.exact);
            assert_eq!((claude.input_tokens, claude.output_tokens, claude.effective_total), (64, 5, d("0.000089")));
            assert_eq!(claude.saving, d("0.000121"));

            // gpt-4-turbo is re-counted on cl100k_base from the texts that were sent.
            let chat = |msgs: &[(&str, &str)]| count_chat("gpt-4-turbo", &msgs.iter().map(|(r, c)| ChatItem::new(r, c)).collect::<Vec<_>>()).tokens;
            let first = chat(&[("system", SYSTEM), ("user", "What is the capital of France?")]);
            let second = chat(&[("system", SYSTEM), ("user", "What is the capital of France?"), ("assistant", "Paris."), ("user", "And Spain?")]);
            let out = count_content(Encoding::Cl100kBase, "Paris.") + count_content(Encoding::Cl100kBase, "Madrid.");
            let turbo = &r.rows[2];
            assert!(turbo.exact);
            assert_eq!((turbo.input_tokens, turbo.output_tokens), (first + second, out));
            let expected = Decimal::from(first + second) * d("0.00001") + Decimal::from(out) * d("0.00003");
            assert_eq!(turbo.effective_total, expected.normalize());
            assert_eq!(turbo.saving, (d("0.00021") - expected).normalize());
            assert!(turbo.saving < Decimal::ZERO, "dearer than what was paid");
            assert!(r.rows[1].used && !turbo.used);
            Ok(())
        })
        .unwrap();
}
