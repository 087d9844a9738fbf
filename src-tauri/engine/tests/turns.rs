//! A turn across several columns against the fake provider: streaming, batching, persistence,
//! stop, drop, retry, follow-ups, and a restart that finds everything again.

#[path = "common/harness.rs"]
mod harness;

use harness::harness;
use tally_engine::target::Target;
use tally_engine::store::messages::Status;
use tally_engine::store::{conversations, view, Store};
use tally_engine::turn::TurnEvent;
use tally_engine::Decimal;
use tally_fake_provider::Script;

const TWO: &[&str] = &["openai:gpt-4o-mini", "openrouter:openai/gpt-4o-mini"];

#[tokio::test]
async fn one_prompt_streams_into_two_columns_with_costs_and_a_running_total() {
    let h = harness(None).await;
    let conv = h.conversation(TWO);
    h.send(conv, "Say hello [[fake tokens=30 pace_ms=2]]").await;

    let events = h.all_events();
    assert!(matches!(events.first(), Some(TurnEvent::Started { answers, .. }) if answers.len() == 2));
    assert!(matches!(events.last(), Some(TurnEvent::Done { .. })));
    let finished: Vec<_> = events.iter().filter_map(|e| match e { TurnEvent::Finished { message, conversation_totals, .. } => Some((message, conversation_totals)), _ => None }).collect();
    assert_eq!(finished.len(), 2);
    for (m, _) in &finished {
        assert_eq!(m.status, Status::Done);
        let u = m.usage.as_ref().unwrap();
        assert_eq!(u.tokens.output_tokens, 30);
        assert!(!u.tokens.estimated);
        assert!(u.cost.as_ref().unwrap().total > Decimal::ZERO);
        assert!(u.price.is_some(), "the price used is stored with the usage");
    }
    // The deltas, concatenated, are the stored text.
    for (m, _) in &finished {
        let streamed: String = events.iter().filter_map(|e| match e { TurnEvent::Delta { message_id, text, .. } if *message_id == m.id => Some(text.as_str()), _ => None }).collect();
        assert_eq!(streamed, m.content);
    }
    // Deltas are batched: fewer batches than tokens.
    assert!(h.events.lock().unwrap().len() < 60, "batched per frame, not one event per token");
    // The OpenRouter column records the cost OpenRouter reported.
    let or = finished.iter().find(|(m, _)| m.usage.as_ref().unwrap().tokens.reported_cost.is_some());
    assert!(or.is_some(), "OpenRouter's usage.cost is captured");

    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    let sum: Decimal = view.turns[0].answers.iter().map(|a| a.usage.as_ref().unwrap().cost.as_ref().unwrap().total).sum();
    assert_eq!(view.totals.cost, sum);
    assert_eq!(view.title, "Say hello [[fake tokens=30 pace_ms=2]]");
    assert_eq!(view.columns[1].path_label, "via OpenRouter → OpenAI");
}

#[tokio::test]
async fn everything_is_still_there_after_a_restart() {
    let h = harness(None).await;
    let conv = h.conversation(TWO);
    h.send(conv, "Remember me [[fake tokens=5 pace_ms=0]]").await;
    let before = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    drop(h.turns);

    let reopened = Store::open(&h.db).unwrap();
    let after = reopened.blocking(|c| view::load(c, conv)).unwrap();
    assert_eq!(after.turns.len(), 1);
    assert_eq!(after.turns[0].answers.len(), 2);
    assert_eq!(after.turns[0].answers[0].content, before.turns[0].answers[0].content);
    assert_eq!(after.totals, before.totals);
    assert!(after.totals.cost > Decimal::ZERO);
}

#[tokio::test]
async fn dropped_stream_keeps_partial_text_and_estimated_usage() {
    let h = harness(None).await;
    let conv = h.conversation(&["openai:gpt-4o-mini"]);
    h.send(conv, "Go [[fake tokens=20 drop_after=6 pace_ms=1]]").await;
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    let a = &view.turns[0].answers[0];
    assert_eq!(a.status, Status::Failed);
    assert_eq!(a.error.as_ref().unwrap().kind, "network");
    assert!(!a.content.is_empty(), "partial answer kept");
    let u = a.usage.as_ref().unwrap();
    assert!(u.tokens.estimated && u.tokens.output_tokens > 0 && u.tokens.input_tokens > 0);
    assert!(u.cost.as_ref().unwrap().total > Decimal::ZERO);
}

#[tokio::test]
async fn stopping_a_turn_keeps_the_partial_answer_and_its_cost() {
    let h = harness(None).await;
    let conv = h.conversation(&["anthropic:claude-sonnet-4-5"]);
    let (turn_id, handle) = h.turns.send(conv, "Long one [[fake tokens=400 pace_ms=20]]".into(), h.sink()).await.unwrap();
    // Wait on the event, not on time: stop once some text has streamed.
    loop {
        let got_text = h.all_events().iter().any(|e| matches!(e, TurnEvent::Delta { text, .. } if !text.is_empty()));
        if got_text {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(h.turns.stop_turn(turn_id));
    handle.await.unwrap();
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    let a = &view.turns[0].answers[0];
    assert_eq!(a.status, Status::Stopped);
    assert!(!a.content.is_empty());
    let u = a.usage.as_ref().unwrap();
    assert!(u.tokens.input_tokens > 0, "input known from message_start");
    assert!(u.tokens.output_tokens >= 1);
    assert!(u.cost.as_ref().unwrap().total > Decimal::ZERO);
    assert!(!h.turns.stop_turn(turn_id), "a finished turn is no longer running");
    harness::assert_totals_agree(h.turns.store(), conv, "a stop");
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried_before_the_first_token() {
    let h = harness(None).await;
    h.fake.push(Script { status: Some(429), retry_after: Some(1), ..Default::default() });
    let conv = h.conversation(&["openai:gpt-4o-mini"]);
    h.send(conv, "hi [[fake tokens=3 pace_ms=0]]").await;
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    let answer = &view.turns[0].answers[0];
    assert_eq!(answer.status, Status::Done);
    assert_eq!(h.fake.requests().len(), 2);
    // Timings count from the first attempt: two attempts, and at least the 1 s Retry-After
    // before the second; the time to first token stays the last attempt's own.
    let timing = &answer.usage.as_ref().unwrap().timing;
    assert_eq!(timing.attempts, 2);
    assert!(timing.waited_ms >= 1000, "waited {} ms, the server asked for 1 s", timing.waited_ms);
    assert!(timing.ttft_ms.unwrap() <= timing.total_ms);
}

#[tokio::test]
async fn an_auth_error_is_not_retried_and_says_what_to_do() {
    let h = harness(None).await;
    h.fake.push(Script { status: Some(401), ..Default::default() });
    let conv = h.conversation(&["openai:gpt-4o-mini"]);
    h.send(conv, "hi").await;
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    let a = &view.turns[0].answers[0];
    assert_eq!(a.status, Status::Failed);
    let e = a.error.as_ref().unwrap();
    assert_eq!(e.kind, "auth");
    assert!(e.message.contains("Settings"), "{}", e.message);
    assert_eq!(h.fake.requests().len(), 1);
}

#[tokio::test]
async fn a_missing_key_fails_that_column_only() {
    let h = harness(Some("openai")).await;
    let conv = h.conversation(TWO);
    h.send(conv, "hi [[fake tokens=3 pace_ms=0]]").await;
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    let answers = &view.turns[0].answers;
    assert_eq!(answers[0].status, Status::Failed);
    assert!(answers[0].error.as_ref().unwrap().message.contains("no OpenAI API key"));
    assert_eq!(answers[1].status, Status::Done);
}

#[tokio::test]
async fn a_follow_up_sends_each_column_its_own_history() {
    let h = harness(None).await;
    let conv = h.conversation(TWO);
    h.send(conv, "first [[fake tokens=4 pace_ms=0]]").await;
    h.send(conv, "second [[fake tokens=4 pace_ms=0]]").await;
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    let reqs = h.fake.requests();
    assert_eq!(reqs.len(), 4);
    for (col, path) in [(0, "/v1/chat/completions"), (1, "/api/v1/chat/completions")] {
        let last = reqs.iter().rev().find(|r| r.path == path).unwrap();
        let msgs = last.body["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3, "user, that column's answer, user");
        assert_eq!(msgs[1]["content"], view.turns[0].answers[col].content.as_str());
        assert_eq!(msgs[2]["content"], "second [[fake tokens=4 pace_ms=0]]");
    }
    assert_ne!(view.turns[0].answers[0].content, view.turns[0].answers[1].content, "answers differ, so threads differ");
}

#[tokio::test]
async fn prompt_variants_each_reach_their_own_column_and_stay_in_its_thread() {
    let h = harness(None).await;
    let conv = h.conversation(&["openai:gpt-4o-mini", "openai:gpt-4o-mini"]);
    let cols: Vec<i64> = h.turns.store().blocking(|c| conversations::columns(c, conv)).unwrap().into_iter().map(|(id, ..)| id).collect();
    let own = std::collections::HashMap::from([(cols[1], "Variant B: be brief [[fake tokens=3 pace_ms=0]]".to_string())]);
    let shown = "Variant A: explain fully [[fake tokens=3 pace_ms=0]]";
    let (_, handle) = h.turns.send_with(conv, shown.into(), own, h.sink()).await.unwrap();
    handle.await.unwrap();
    let sent: Vec<String> = h.fake.requests().iter().map(|r| r.body["messages"][0]["content"].as_str().unwrap().to_string()).collect();
    assert_eq!(sent.len(), 2);
    assert!(sent.contains(&shown.to_string()) && sent.iter().any(|s| s.starts_with("Variant B")), "{sent:?}");
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    assert_eq!(view.turns[0].prompt, shown);
    assert_eq!(view.turns[0].answers[0].own_prompt, None, "the first column sent the turn's prompt");
    assert_eq!(view.turns[0].answers[1].own_prompt.as_deref(), Some("Variant B: be brief [[fake tokens=3 pace_ms=0]]"));

    // A follow-up keeps each column's own variant in its thread.
    h.send(conv, "and then? [[fake tokens=3 pace_ms=0]]").await;
    let reqs = h.fake.requests();
    let threads: Vec<String> = reqs[2..].iter().map(|r| r.body["messages"][0]["content"].as_str().unwrap().to_string()).collect();
    assert!(threads.contains(&shown.to_string()) && threads.iter().any(|s| s.starts_with("Variant B")), "{threads:?}");
    assert!(h.turns.send_with(conv, "x".into(), std::collections::HashMap::from([(cols[0], " ".to_string())]), h.sink()).await.is_err(), "an empty variant is refused");
}

/// The fake's fault scripts through the app's turn runner: what each leaves in the database.
#[tokio::test]
async fn each_fault_script_ends_as_a_person_would_expect() {
    struct Case {
        target: &'static str,
        script: Script,
        status: Status,
        error_kind: Option<&'static str>,
        requests: usize,
        partial_text: bool,
        /// The provider accepted the request, so input tokens were billed.
        billed: bool,
    }
    let cases = [
        Case { target: "openai:gpt-4o-mini", script: Script { status: Some(500), ..Default::default() }, status: Status::Done, error_kind: None, requests: 2, partial_text: true, billed: true },
        Case { target: "openai:gpt-4o-mini", script: Script { status: Some(402), ..Default::default() }, status: Status::Failed, error_kind: Some("quota"), requests: 1, partial_text: false, billed: false },
        Case { target: "openrouter:openai/gpt-4o-mini", script: Script { tokens: Some(20), malformed_after: Some(5), ..Default::default() }, status: Status::Failed, error_kind: Some("malformed"), requests: 1, partial_text: true, billed: true },
        Case { target: "openrouter:openai/gpt-4o-mini", script: Script { tokens: Some(20), error_after: Some(5), ..Default::default() }, status: Status::Failed, error_kind: Some("server"), requests: 1, partial_text: true, billed: true },
        Case { target: "anthropic:claude-sonnet-4-5", script: Script { tokens: Some(20), error_after: Some(5), ..Default::default() }, status: Status::Failed, error_kind: Some("overloaded"), requests: 1, partial_text: true, billed: true },
        Case { target: "anthropic:claude-sonnet-4-5", script: Script { first_byte_delay_ms: Some(200), tokens: Some(5), ..Default::default() }, status: Status::Done, error_kind: None, requests: 1, partial_text: true, billed: true },
    ];
    for case in cases {
        let h = harness(None).await;
        h.fake.push(case.script.clone());
        let conv = h.conversation(&[case.target]);
        h.send(conv, "hi [[fake pace_ms=1]]").await;
        let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
        let a = &view.turns[0].answers[0];
        let label = format!("{} {:?}", case.target, case.script);
        assert_eq!(a.status, case.status, "{label}");
        assert_eq!(a.error.as_ref().map(|e| e.kind.as_str()), case.error_kind, "{label}");
        assert_eq!(h.fake.requests().len(), case.requests, "{label}");
        assert_eq!(!a.content.is_empty(), case.partial_text, "{label}");
        let u = a.usage.as_ref().unwrap();
        if case.billed {
            assert!(u.tokens.input_tokens > 0, "{label}: an accepted request never reports zero input");
        } else {
            assert_eq!(u.tokens.input_tokens + u.tokens.output_tokens, 0, "{label}: a refused request was not billed");
            assert!(u.cost.as_ref().unwrap().total.is_zero(), "{label}");
        }
        if let Some(delay) = case.script.first_byte_delay_ms {
            assert!(u.timing.ttfb_ms.unwrap() >= delay, "{label}: the first byte cannot beat the server's delay");
        }
    }
}

#[tokio::test]
async fn openrouter_routing_options_in_a_columns_parameters_reach_the_request() {
    let h = harness(None).await;
    let params = conversations::ColumnParams {
        system: Some("Be brief.".into()),
        max_tokens: Some(64),
        temperature: Some(0.2),
        extra: serde_json::from_str(r#"{"provider": {"order": ["OpenAI", "Azure"], "sort": "price", "data_collection": "deny"}}"#).unwrap(),
    };
    let target = Target::parse("openrouter:openai/gpt-4o-mini").unwrap();
    let conv = h.turns.store().blocking(|c| conversations::create_with_params(c, conversations::NEW_TITLE, &[target], &params)).unwrap();
    h.send(conv, "hi [[fake tokens=2 pace_ms=0]]").await;
    let r = &h.fake.requests()[0];
    assert_eq!(r.body["provider"]["order"], serde_json::json!(["OpenAI", "Azure"]));
    assert_eq!(r.body["provider"]["data_collection"], "deny");
    assert_eq!(r.body["provider"]["sort"], "price");
    assert_eq!(r.body["usage"]["include"], true, "usage accounting on, so the charged cost comes back");
    assert_eq!(r.body["stream_options"]["include_usage"], true);
    assert_eq!((r.body["max_tokens"].as_u64(), r.body["temperature"].as_f64()), (Some(64), Some(0.2)));
    assert_eq!(r.body["messages"][0], serde_json::json!({"role": "system", "content": "Be brief."}));
    assert!(r.headers.iter().any(|(k, v)| k == "x-title" && v == "Tally"), "attribution headers: {:?}", r.headers);
}

#[tokio::test]
async fn regenerating_a_failed_answer_replaces_it_in_view_but_keeps_it_in_history() {
    let h = harness(None).await;
    let conv = h.conversation(TWO);
    h.send(conv, "first [[fake tokens=4 pace_ms=0]]").await;
    h.fake.push(Script { model: Some("gpt-4o-mini".into()), status: Some(401), ..Default::default() });
    h.send(conv, "second [[fake tokens=4 pace_ms=0]]").await;
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    let failed = view.turns[1].answers[0].clone();
    assert_eq!(failed.status, Status::Failed);

    let (_, handle) = h.turns.regenerate(failed.id, h.sink()).await.unwrap();
    handle.await.unwrap();
    let restarted = h.all_events().into_iter().any(|e| matches!(e, TurnEvent::Restarted { replaces, .. } if replaces == failed.id));
    assert!(restarted, "the UI hears which answer is replaced");
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    assert_eq!(view.turns[1].answers.len(), 2, "one answer per column, the new one");
    let again = &view.turns[1].answers[0];
    assert_eq!(again.status, Status::Done);
    assert_ne!(again.id, failed.id);
    // The retry sent the column's own thread as it stood: first prompt, its answer, second prompt.
    let last = h.fake.requests().into_iter().last().unwrap();
    let msgs = last.body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[2]["content"], "second [[fake tokens=4 pace_ms=0]]");
    let rows: i64 = h.turns.store().blocking(|c| Ok(c.query_row("SELECT count(*) FROM usage", [], |r| r.get(0))?)).unwrap();
    assert_eq!(rows, 5, "the superseded answer's usage row stays");
    harness::assert_totals_agree(h.turns.store(), conv, "sends, a failure and a regeneration");
    // Later turns do not see the superseded answer.
    h.send(conv, "third [[fake tokens=4 pace_ms=0]]").await;
    let last = h.fake.requests().into_iter().rev().find(|r| r.path == "/v1/chat/completions").unwrap();
    assert_eq!(last.body["messages"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn deleted_conversations_leave_the_list_until_undone_and_search_finds_answers() {
    let h = harness(None).await;
    let a = h.conversation(TWO);
    let b = h.conversation(&["anthropic:claude-sonnet-4-5"]);
    h.send(a, "apples [[fake tokens=3 pace_ms=0]]").await;
    h.send(b, "bananas [[fake tokens=3 pace_ms=0]]").await;
    let store = h.turns.store();
    let titles = |q: &str| store.blocking(|c| conversations::search(c, q)).unwrap().into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(titles("apples"), [a]);
    assert_eq!(titles("claude-sonnet"), [b], "answers are searched too");
    assert_eq!(titles("100%"), Vec::<i64>::new(), "% is matched literally");
    store.blocking(|c| conversations::set_deleted(c, a, true)).unwrap();
    assert_eq!(titles(""), [b]);
    store.blocking(|c| conversations::set_deleted(c, a, false)).unwrap();
    assert_eq!(titles("").len(), 2);
}

#[tokio::test]
async fn totals_carry_a_revision_so_the_newest_wins_and_running_figures_come_with_the_text() {
    let h = harness(None).await;
    let conv = h.conversation(TWO);
    h.send(conv, "Totals [[fake tokens=40 pace_ms=1]]").await;
    h.send(conv, "Again [[fake tokens=40 pace_ms=1]]").await;
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    assert_eq!(view.totals.revision, 4, "one revision per answer saved");

    let events = h.all_events();
    let mut revisions: Vec<i64> = events
        .iter()
        .filter_map(|e| match e {
            TurnEvent::Finished { column_totals, conversation_totals, .. } => {
                assert_eq!(column_totals.revision, conversation_totals.revision, "read in the same transaction");
                Some(conversation_totals.revision)
            }
            _ => None,
        })
        .collect();
    revisions.sort();
    assert_eq!(revisions, [1, 2, 3, 4]);
    let newest = events
        .iter()
        .filter_map(|e| match e { TurnEvent::Finished { conversation_totals, .. } => Some(conversation_totals), _ => None })
        .max_by_key(|t| t.revision)
        .unwrap();
    assert_eq!(*newest, view.totals, "the highest revision is what the store holds");

    // Running figures came with the text: never lower than the totals before the turn, and the
    // last one of the turn (nothing streaming) is the exact total.
    let lives: Vec<_> = events.iter().filter_map(|e| match e { TurnEvent::Live(l) => Some(l), _ => None }).collect();
    assert!(lives.iter().any(|l| l.streaming == 2 && l.answers.iter().all(|a| a.cost.is_some_and(|c| c > Decimal::ZERO))), "estimates while streaming");
    assert!(lives.windows(2).all(|w| w[0].seq < w[1].seq));
    let last = lives.last().unwrap();
    assert_eq!((last.streaming, &last.totals), (0, &view.totals));
}

#[tokio::test]
async fn conversations_nothing_was_sent_in_do_not_pile_up_in_the_list() {
    let h = harness(None).await;
    let used = h.conversation(TWO);
    h.send(used, "kept [[fake tokens=3 pace_ms=0]]").await;
    let _left = h.conversation(TWO);
    let _left_too = h.conversation(TWO);
    let newest = h.conversation(TWO);
    let listed = |store: &Store| store.blocking(|c| conversations::list(c)).unwrap().into_iter().map(|s| s.id).collect::<Vec<_>>();
    let mut ids = listed(h.turns.store());
    ids.sort();
    assert_eq!(ids, [used, newest], "only the newest empty one is listed, for the user to write in");
}

/// Waits (without a time limit of its own: the guard only stops a failing test from hanging)
/// until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while !done() {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: never happened"));
}

#[tokio::test]
async fn requests_leave_before_the_turn_is_written_and_what_streamed_meanwhile_is_shown_after() {
    let h = harness(None).await;
    let conv = h.conversation(TWO);
    let store = h.turns.store().clone();
    let texts = store.texts();
    let prompt = "Quick one [[fake tokens=6 pace_ms=0]]";
    let plan = store.blocking(|c| tally_engine::store::messages::plan_turn(c, &texts, conv, prompt, &Default::default())).unwrap();

    // The database is busy (another writer holds it) while the turn is sent.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (held, holding) = std::sync::mpsc::channel::<()>();
    let busy = {
        let store = store.clone();
        std::thread::spawn(move || {
            store
                .blocking(|_| {
                    held.send(()).unwrap();
                    released.recv().unwrap();
                    Ok(())
                })
                .unwrap()
        })
    };
    holding.recv().unwrap();
    let turns = h.turns.clone();
    let sink = h.sink();
    let sending = tokio::spawn(async move { turns.start(plan, None, sink).await });
    // Both requests reach the provider, and both answers end there, while the turn is unwritten.
    until("both requests answered with the database held", || h.fake.requests().iter().filter(|r| r.last_byte_ms.is_some()).count() == 2).await;
    assert!(h.all_events().is_empty(), "nothing is shown before the turn is written");
    release.send(()).unwrap();
    busy.join().unwrap();
    let (turn_id, handle) = sending.await.unwrap().expect("the turn is written once the database is free");
    handle.await.unwrap();

    let events = h.all_events();
    assert!(matches!(events.first(), Some(TurnEvent::Started { turn_id: t, .. }) if *t == turn_id), "the turn is shown first: {events:?}");
    let view = store.blocking(|c| view::load(c, conv)).unwrap();
    assert_eq!(view.turns.len(), 1);
    for a in &view.turns[0].answers {
        assert_eq!(a.status, Status::Done);
        let shown: String = events.iter().filter_map(|e| match e {
            TurnEvent::Delta { message_id, text, .. } if *message_id == a.id => Some(text.as_str()),
            _ => None,
        }).collect();
        assert!(!a.content.is_empty());
        assert_eq!(shown, a.content, "the text that streamed before the turn was written is shown once, whole");
    }
    harness::assert_totals_agree(&store, conv, "a turn written after its answers arrived");
}

#[tokio::test]
async fn a_turn_that_cannot_be_written_stops_its_requests_and_keeps_nothing() {
    let h = harness(None).await;
    let conv = h.conversation(&["openai:gpt-4o-mini"]);
    let store = h.turns.store().clone();
    let texts = store.texts();
    let prompt = "Long one [[fake tokens=2000 pace_ms=20]]";
    let plan = store.blocking(|c| tally_engine::store::messages::plan_turn(c, &texts, conv, prompt, &Default::default())).unwrap();
    // Another writer adds a turn to the conversation between planning and recording.
    store.blocking(|c| tally_engine::store::messages::start_turn(c, conv, "Sent from elsewhere")).unwrap();

    // The database is held until the request is on its way, so it is stopped mid-answer.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (held, holding) = std::sync::mpsc::channel::<()>();
    let busy = {
        let store = store.clone();
        std::thread::spawn(move || store.blocking(|_| {
            held.send(()).unwrap();
            released.recv().unwrap();
            Ok(())
        }))
    };
    holding.recv().unwrap();
    let turns = h.turns.clone();
    let sink = h.sink();
    let sending = tokio::spawn(async move { turns.start(plan, None, sink).await });
    until("the request reached the provider", || h.fake.requests().iter().any(|r| r.body.to_string().contains("Long one"))).await;
    release.send(()).unwrap();
    busy.join().unwrap().unwrap();
    let err = sending.await.unwrap().expect_err("a stale plan is not recorded");
    assert!(err.to_string().contains("changed while this turn was being sent"), "{err}");
    until("the request was stopped", || h.fake.requests().iter().any(|r| r.client_left_ms.is_some())).await;
    let prompts: Vec<String> = store
        .blocking(|c| Ok(c.prepare("SELECT prompt FROM turns WHERE conversation_id = ?1")?.query_map([conv], |r| r.get(0))?.collect::<Result<Vec<_>, _>>()?))
        .unwrap();
    assert_eq!(prompts, ["Sent from elsewhere"], "the unwritten turn left nothing behind");
    assert!(h.all_events().is_empty(), "nothing was shown of it");
}

#[tokio::test]
async fn a_threads_texts_are_read_once_and_a_reused_id_is_not_taken_for_the_old_text() {
    let h = harness(None).await;
    let conv = h.conversation(TWO);
    h.send(conv, "first [[fake tokens=4 pace_ms=0]]").await;
    let store = h.turns.store().clone();
    let texts = store.texts();
    let plan = |p: &str| store.blocking(|c| tally_engine::store::messages::plan_turn(c, &texts, conv, p, &Default::default())).unwrap();
    let first = plan("second");
    assert_eq!(texts.len(), 4, "two prompts and two ended answers are kept");
    let again = plan("second");
    for (a, b) in first.columns.iter().zip(&again.columns) {
        assert_eq!(a.thread.len(), 2);
        for ((_, x), (_, y)) in a.thread.iter().zip(&b.thread) {
            assert!(std::sync::Arc::ptr_eq(&x.content, &y.content), "the second plan reads no text again");
        }
    }
    // The whole conversation goes (say, from another process), and SQLite hands its ids out again.
    store.blocking(|c| Ok(c.execute("DELETE FROM conversations WHERE id = ?1", [conv])?)).unwrap();
    let other = h.conversation(TWO);
    std::thread::sleep(std::time::Duration::from_millis(5)); // a later creation time than the old rows
    h.send(other, "new [[fake tokens=3 pace_ms=0]]").await;
    let store2 = h.turns.store().clone();
    let fresh = store2.blocking(|c| tally_engine::store::messages::plan_turn(c, &texts, other, "next", &Default::default())).unwrap();
    assert_eq!(fresh.columns[0].thread[0].1.content.as_ref(), "new [[fake tokens=3 pace_ms=0]]", "a reused id gets its own text");
}

#[test]
fn a_thread_is_read_from_its_index_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.sqlite3")).unwrap();
    let plan: Vec<String> = store
        .blocking(|c| {
            let mut stmt = c.prepare(
                "EXPLAIN QUERY PLAN SELECT id, role, status, created_at FROM messages INDEXED BY messages_thread
                 WHERE column_id = ?1 AND superseded = 0 AND id < ?2 ORDER BY id",
            )?;
            let rows = stmt.query_map([1, 2], |r| r.get::<_, String>(3))?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .unwrap();
    assert!(plan.iter().any(|p| p.contains("COVERING INDEX messages_thread")), "{plan:?}");
}
