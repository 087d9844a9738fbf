//! The usage dashboard's figures against hand-computed ones: exact decimals, day / week / month
//! buckets at their boundaries, breakdowns, the OpenRouter share, top conversations, latency
//! percentiles, and the roll-ups kept by the real write path.

mod common;

use common::{answer, conversation, d, db, write};
use tally_engine::store::messages::{self, Finished, Status};
use tally_engine::store::usage_rows::UsageRecord;
use tally_engine::stream::{Timing, Usage};
use tally_engine::target::Target;
use tally_engine::ledger::latency;
use tally_engine::ledger::period::Bucket;
use tally_engine::ledger::stats::{self, Dimension};
use tally_engine::ledger::DayRange;
use tally_engine::Decimal;

/// Six answers over two conversations, around a week and a month boundary.
/// 2026-03-02 and 03-09 are Mondays; 03-08 a Sunday; 04-01 a Wednesday in the week of 03-30.
fn history(db: &common::Db) -> (i64, i64) {
    let a = conversation(&db.store, "Trip to Lisbon");
    let b = conversation(&db.store, "Tax questions");
    let mut unpriced = answer("2026-03-08T12:00:00.000Z", "openai:gpt-4o-mini", None, None, b);
    unpriced.input_tokens = 10;
    let mut sonnet = answer("2026-03-03T00:00:00.000Z", "anthropic:claude-sonnet-4-5", Some("0.015"), None, b);
    (sonnet.cached_input_tokens, sonnet.output_tokens, sonnet.reasoning_tokens) = (40, 400, 100);
    write(
        &db.store,
        &[
            answer("2026-03-02T10:00:00.000Z", "openai:gpt-4o-mini", Some("0.0012"), None, a),
            answer("2026-03-02T23:59:59.999Z", "openrouter:openai/gpt-4o-mini", Some("0.002"), Some("0.00211"), a),
            sonnet,
            unpriced,
            answer("2026-03-09T00:00:00.000Z", "openrouter:anthropic/claude-sonnet-4.5", Some("0.1"), Some("0.1055"), b),
            answer("2026-04-01T00:00:00.000Z", "openai:gpt-4o", Some("0.25"), None, a),
        ],
    );
    (a, b)
}

#[test]
fn totals_are_exact_and_unpriced_answers_are_counted_apart() {
    let db = db();
    history(&db);
    let t = db.store.blocking(|c| stats::totals(c, &DayRange::all())).unwrap();
    assert_eq!(t.cost, d("0.3682")); // 0.0012 + 0.002 + 0.015 + 0.1 + 0.25
    assert_eq!(t.effective_cost, d("0.37381")); // OpenRouter's two with the 5.5 % fee
    assert_eq!((t.answers, t.unpriced_answers), (6, 1));
    assert_eq!(t.input_tokens, 510);
    assert_eq!((t.cached_input_tokens, t.output_tokens, t.reasoning_tokens), (40, 450, 100));

    let range = DayRange::new(Some("2026-03-03"), Some("2026-03-09"));
    let t = db.store.blocking(|c| stats::totals(c, &range)).unwrap();
    assert_eq!((t.cost, t.answers, t.unpriced_answers), (d("0.015"), 2, 1), "since included, until excluded");
}

#[test]
fn a_day_ends_at_midnight_utc_and_empty_days_between_are_zero() {
    let db = db();
    history(&db);
    let days = db.store.blocking(|c| stats::over_time(c, &DayRange::all(), Bucket::Day)).unwrap();
    assert_eq!(days.len(), 31, "2026-03-02 to 2026-04-01");
    assert_eq!(days[0].start, "2026-03-02");
    assert_eq!((days[0].totals.cost, days[0].totals.effective_cost), (d("0.0032"), d("0.00331")));
    assert_eq!(days[1].totals.cost, d("0.015"), "00:00:00.000 belongs to the new day");
    assert_eq!((days[6].start.as_str(), days[6].totals.cost, days[6].totals.unpriced_answers), ("2026-03-08", Decimal::ZERO, 1));
    assert_eq!(days[2].totals.answers, 0);
}

#[test]
fn weeks_run_monday_to_sunday_across_a_month_end() {
    let db = db();
    history(&db);
    let weeks = db.store.blocking(|c| stats::over_time(c, &DayRange::all(), Bucket::Week)).unwrap();
    let starts: Vec<&str> = weeks.iter().map(|w| w.start.as_str()).collect();
    assert_eq!(starts, ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"]);
    assert_eq!((weeks[0].totals.cost, weeks[0].totals.answers), (d("0.0182"), 4), "Sunday 03-08 is still week one");
    assert_eq!(weeks[1].totals.effective_cost, d("0.1055"));
    assert_eq!(weeks[4].totals.cost, d("0.25"), "April 1st is in the week of March 30");
}

#[test]
fn months_split_on_the_first() {
    let db = db();
    history(&db);
    let months = db.store.blocking(|c| stats::over_time(c, &DayRange::all(), Bucket::Month)).unwrap();
    assert_eq!(months.len(), 2);
    assert_eq!((months[0].start.as_str(), months[0].totals.cost, months[0].totals.effective_cost), ("2026-03-01", d("0.1182"), d("0.12381")));
    assert_eq!((months[1].start.as_str(), months[1].totals.cost), ("2026-04-01", d("0.25")));
}

#[test]
fn weeks_split_by_route_add_up_to_the_unsplit_weeks() {
    let db = db();
    history(&db);
    let split = db.store.blocking(|c| stats::over_time_by_route(c, &DayRange::all(), Bucket::Week)).unwrap();
    let whole = db.store.blocking(|c| stats::over_time(c, &DayRange::all(), Bucket::Week)).unwrap();
    assert_eq!(split.iter().map(|b| b.start.as_str()).collect::<Vec<_>>(), whole.iter().map(|b| b.start.as_str()).collect::<Vec<_>>());
    // Week one: gpt-4o-mini direct (0.0012), via OpenRouter (0.002, 0.00211 paid), Sonnet direct (0.015).
    assert_eq!((split[0].openrouter.cost, split[0].openrouter.effective_cost, split[0].openrouter.answers), (d("0.002"), d("0.00211"), 1));
    assert_eq!((split[0].direct.cost, split[0].direct.answers, split[0].direct.unpriced_answers), (d("0.0162"), 3, 1));
    assert_eq!(split[2].openrouter.answers + split[2].direct.answers, 0, "an empty week in between is there, with zeros");
    for (s, w) in split.iter().zip(&whole) {
        assert_eq!(s.openrouter.effective_cost + s.direct.effective_cost, w.totals.effective_cost);
    }
}

#[test]
fn breakdowns_by_route_provider_and_model_add_up_by_hand() {
    let db = db();
    history(&db);
    let by = |dim| db.store.blocking(|c| stats::breakdown(c, &DayRange::all(), dim, None)).unwrap();
    let routes: Vec<(String, Decimal, u64)> = by(Dimension::Route).into_iter().map(|r| (r.key, r.totals.effective_cost, r.totals.answers)).collect();
    assert_eq!(routes, [("openai".into(), d("0.2512"), 3), ("openrouter".into(), d("0.10761"), 2), ("anthropic".into(), d("0.015"), 1)]);
    // Provider is the model's maker whichever route served it.
    let providers: Vec<(String, String, Decimal)> = by(Dimension::Provider).into_iter().map(|r| (r.key, r.label, r.totals.effective_cost)).collect();
    assert_eq!(providers, [("openai".into(), "OpenAI".into(), d("0.25331")), ("anthropic".into(), "Anthropic".into(), d("0.1205"))]);
    let models = by(Dimension::Model);
    assert_eq!(models[0].key, "gpt-4o");
    let mini = models.iter().find(|m| m.key == "gpt-4o-mini").unwrap();
    assert_eq!((mini.totals.cost, mini.totals.answers, mini.totals.unpriced_answers), (d("0.0012"), 2, 1));
}

#[test]
fn openrouter_share_and_top_conversations() {
    let db = db();
    let (a, b) = history(&db);
    let share = db.store.blocking(|c| stats::share(c, &DayRange::all())).unwrap();
    assert_eq!(share.openrouter.effective_cost, d("0.10761"));
    assert_eq!(share.direct.effective_cost, d("0.2662"));
    assert_eq!(share.openrouter_percent, Some((d("10.761") / d("0.37381")).normalize()));
    let top = db.store.blocking(|c| stats::breakdown(c, &DayRange::all(), Dimension::Conversation, Some(1))).unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!((top[0].conversation_id, top[0].label.as_str(), top[0].totals.effective_cost), (Some(a), "Trip to Lisbon", d("0.25331")));
    let all = db.store.blocking(|c| stats::breakdown(c, &DayRange::all(), Dimension::Conversation, None)).unwrap();
    assert_eq!((all[1].conversation_id, all[1].totals.effective_cost, all[1].totals.unpriced_answers), (Some(b), d("0.1205"), 1));
    let empty = db.store.blocking(|c| stats::share(c, &DayRange::new(Some("2030-01-01"), None))).unwrap();
    assert_eq!(empty.openrouter_percent, None, "no spend, no share (not 0 %, not a division by zero)");
}

#[test]
fn latency_percentiles_are_nearest_rank_and_skip_estimated_or_unmeasured_answers() {
    let db = db();
    let c = conversation(&db.store, "Speed");
    let mut rows: Vec<UsageRecord> = (1..=20u64)
        .map(|i| {
            let mut r = answer(&format!("2026-05-01T10:00:{i:02}.000Z"), "openai:gpt-4o-mini", Some("0.001"), None, c);
            // TTFT 100, 200, … 2000 ms; then 1 s of generation at i × 10 tokens.
            (r.ttft_ms, r.total_ms, r.output_tokens) = (Some(i * 100), i * 100 + 1000, i * 10);
            r
        })
        .collect();
    let mut estimated = answer("2026-05-01T11:00:00.000Z", "openai:gpt-4o-mini", Some("0.001"), None, c);
    (estimated.estimated, estimated.ttft_ms) = (true, Some(99_999));
    let mut no_first_token = answer("2026-05-01T11:00:01.000Z", "openai:gpt-4o-mini", Some("0.001"), None, c);
    no_first_token.ttft_ms = None;
    rows.extend([estimated, no_first_token]);
    write(&db.store, &rows);
    let lat = db.store.blocking(|c| latency::by_model_and_route(c, &DayRange::all())).unwrap();
    assert_eq!(lat.len(), 1);
    let l = &lat[0];
    assert_eq!((l.route.as_str(), l.model.as_str(), l.samples), ("openai", "gpt-4o-mini", 20));
    assert_eq!((l.ttft_p50_ms, l.ttft_p95_ms), (1000, 1900)); // ranks ⌈10⌉ and ⌈19⌉
    assert_eq!((l.tokens_per_s_p50, l.tokens_per_s_p95), (Some(100.0), Some(190.0)));
}

#[test]
fn the_usage_overview_gathers_everything_for_a_range() {
    let db = db();
    history(&db);
    let march = DayRange::new(Some("2026-03-01"), Some("2026-04-01"));
    let view = db.store.blocking(|c| stats::overview(c, &march, Bucket::Week)).unwrap();
    assert_eq!(view.totals.cost, d("0.1182"));
    assert_eq!(view.over_time.len(), 2, "weeks of 03-02 and 03-09 only: April is out of range");
    assert_eq!(view.by_conversation.len(), 2);
    let lat = db.store.blocking(|c| latency::by_model_and_route(c, &march)).unwrap();
    assert_eq!(lat.iter().map(|l| l.samples).sum::<u64>(), 5);
    let bad = db.store.blocking(|c| stats::totals(c, &DayRange::new(Some("March 1st"), None)));
    assert!(bad.unwrap_err().to_string().contains("YYYY-MM-DD"));
}

#[test]
fn finishing_an_answer_keeps_the_daily_roll_ups_and_writing_it_again_does_not_count_twice() {
    let db = db();
    let conv = conversation(&db.store, "Real path");
    let start = db.store.blocking(|c| messages::start_turn(c, conv, "hi")).unwrap();
    let col = &start.columns[0];
    let mut f = Finished {
        conversation_id: conv,
        column_id: col.column_id,
        message_id: col.message_id,
        target: Target::parse("openai:gpt-4o-mini").unwrap(),
        content: "hello".into(),
        reasoning: String::new(),
        status: Status::Done,
        finish_reason: Some("stop".into()),
        error: None,
        usage: Usage { input_tokens: 1000, output_tokens: 100, ..Default::default() },
        served_model: None,
        price: None,
        cost: Some(tally_engine::pricing::Cost { total: d("0.00021"), effective_total: d("0.00021"), ..Default::default() }),
        timing: Timing { ttfb_ms: Some(100), ttft_ms: Some(150), total_ms: 900, ..Default::default() },
        origin: "app",
    };
    db.store.blocking(|c| messages::finish(c, &f)).unwrap();
    f.usage.output_tokens = 120;
    db.store.blocking(|c| messages::finish(c, &f)).unwrap();
    let t = db.store.blocking(|c| stats::totals(c, &DayRange::all())).unwrap();
    assert_eq!((t.cost, t.answers, t.output_tokens), (d("0.00021"), 1, 120));
    let rows: i64 = db.store.blocking(|c| Ok(c.query_row("SELECT count(*) FROM usage", [], |r| r.get(0))?)).unwrap();
    assert_eq!(rows, 1);
}
