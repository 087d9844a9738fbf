//! Budgets and alerts: each threshold fires once per period and again in a new one, a jump
//! past several thresholds is one alert, spikes against the trailing average, the hard-limit
//! check before sending, and messages in plain words.

mod common;

use chrono::{DateTime, Utc};
use common::{answer, conversation, d, db, write, Db};
use tally_engine::ledger::alerts::{self, AlertKind, DEFAULT_SPIKE_MULTIPLIER};
use tally_engine::ledger::budgets::{self, BudgetInput, Period};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn spend(db: &Db, when: &str, target: &str, cost: &str) {
    let c = conversation(&db.store, "Spend");
    write(&db.store, &[answer(when, target, Some(cost), None, c)]);
}

fn check(db: &Db, now: &str) -> Vec<(AlertKind, u32, String)> {
    let alerts = db.store.blocking(|c| alerts::check_alerts(c, at(now), DEFAULT_SPIKE_MULTIPLIER)).unwrap();
    alerts.into_iter().map(|a| (a.kind, a.threshold_percent, a.message)).collect()
}

fn budget(db: &Db, period: Period, provider: Option<&str>, limit: &str, hard: bool) -> i64 {
    let input = BudgetInput { period, provider: provider.map(str::to_string), limit_usd: d(limit), hard };
    db.store.blocking(|c| budgets::create(c, &input)).unwrap().id
}

#[test]
fn each_threshold_fires_once_and_a_new_month_fires_again() {
    let db = db();
    budget(&db, Period::Month, None, "1", false);
    let now = "2026-05-20T12:00:00Z";
    spend(&db, "2026-05-01T09:00:00.000Z", "openai:gpt-4o-mini", "0.40");
    spend(&db, "2026-04-30T23:00:00.000Z", "openai:gpt-4o-mini", "5"); // last month: not counted
    assert!(check(&db, now).is_empty());
    spend(&db, "2026-05-02T09:00:00.000Z", "openai:gpt-4o-mini", "0.15");
    assert_eq!(check(&db, now), [(AlertKind::Budget, 50, "Spending reached 50 % of your $1.00 monthly budget: $0.55 so far.".to_string())]);
    assert!(check(&db, now).is_empty(), "fired once");
    spend(&db, "2026-05-03T09:00:00.000Z", "openai:gpt-4o-mini", "0.30");
    assert_eq!(check(&db, now)[0].1, 80);
    spend(&db, "2026-05-04T09:00:00.000Z", "openai:gpt-4o-mini", "0.15");
    assert_eq!(check(&db, now)[0].1, 100, "exactly 100 % counts as reached");
    assert!(check(&db, now).is_empty());
    // June is a new period.
    spend(&db, "2026-06-01T00:00:00.000Z", "openai:gpt-4o-mini", "0.5");
    assert_eq!(check(&db, "2026-06-01T08:00:00Z")[0].1, 50);
    let status = db.store.blocking(|c| budgets::status(c, at("2026-06-01T08:00:00Z"))).unwrap();
    assert_eq!((status[0].period_key.as_str(), status[0].spent, status[0].percent, status[0].remaining), ("2026-06", d("0.5"), d("50"), d("0.5")));
}

#[test]
fn past_alerts_are_listed_newest_first_one_line_per_notification() {
    let db = db();
    budget(&db, Period::Month, None, "1", false);
    spend(&db, "2026-05-01T09:00:00.000Z", "openai:gpt-4o-mini", "0.9"); // jumps past 50 and 80 at once
    assert_eq!(check(&db, "2026-05-20T12:00:00Z").len(), 1);
    let past = db.store.blocking(|c| alerts::recent(c, 10)).unwrap();
    assert_eq!(past.len(), 1, "the 50 % passed over in the jump was never announced: {past:?}");
    assert_eq!((past[0].threshold_percent, past[0].period.as_str()), (80, "2026-05"));
    assert!(past[0].message.contains("80 %"), "{}", past[0].message);
}

#[test]
fn a_provider_budget_counts_that_bill_only_and_a_jump_is_one_alert_in_plain_words() {
    let db = db();
    budget(&db, Period::Month, Some("openai"), "20", false);
    spend(&db, "2026-05-02T09:00:00.000Z", "openrouter:openai/gpt-4o", "15"); // OpenRouter's bill, not OpenAI's
    spend(&db, "2026-05-02T10:00:00.000Z", "openai:gpt-4o", "16.12");
    let alerts = check(&db, "2026-05-02T12:00:00Z");
    let budget_alerts: Vec<_> = alerts.iter().filter(|a| a.0 == AlertKind::Budget).collect();
    assert_eq!(budget_alerts.len(), 1, "50 and 80 crossed together: one alert, the higher");
    assert_eq!(budget_alerts[0].2, "Spending reached 80 % of your $20.00 monthly budget for OpenAI: $16.12 so far.");
    assert!(check(&db, "2026-05-02T13:00:00Z").is_empty(), "50 % was recorded with it and does not fire later");
}

#[test]
fn a_daily_budget_fires_again_the_next_day_and_deleting_it_forgets_its_alerts() {
    let db = db();
    let id = budget(&db, Period::Day, None, "0.10", false);
    spend(&db, "2026-05-02T09:00:00.000Z", "anthropic:claude-sonnet-4-5", "0.06");
    assert_eq!(check(&db, "2026-05-02T12:00:00Z")[0].2, "Spending reached 50 % of your $0.10 daily budget: $0.06 so far.");
    spend(&db, "2026-05-03T09:00:00.000Z", "anthropic:claude-sonnet-4-5", "0.05");
    assert_eq!(check(&db, "2026-05-03T12:00:00Z")[0].1, 50);
    db.store.blocking(|c| budgets::delete(c, id)).unwrap();
    let fired: i64 = db.store.blocking(|c| Ok(c.query_row("SELECT count(*) FROM usage_alerts WHERE kind = 'budget'", [], |r| r.get(0))?)).unwrap();
    assert_eq!(fired, 0);
    assert!(db.store.blocking(|c| budgets::delete(c, id)).is_err());
}

#[test]
fn budgets_refuse_a_zero_limit_and_an_unknown_provider() {
    let db = db();
    let zero = BudgetInput { period: Period::Month, provider: None, limit_usd: d("0"), hard: false };
    assert!(db.store.blocking(|c| budgets::create(c, &zero)).unwrap_err().to_string().contains("more than $0"));
    let nope = BudgetInput { period: Period::Month, provider: Some("nope".into()), limit_usd: d("5"), hard: true };
    assert!(db.store.blocking(|c| budgets::create(c, &nope)).unwrap_err().to_string().contains("nope"));
    let id = budget(&db, Period::Day, Some("openai"), "2", false);
    let changed = BudgetInput { period: Period::Month, provider: None, limit_usd: d("30.5"), hard: true };
    let b = db.store.blocking(|c| budgets::update(c, id, &changed)).unwrap();
    assert_eq!((b.period, b.provider, b.limit_usd, b.hard), (Period::Month, None, d("30.5"), true));
    assert_eq!(db.store.blocking(|c| budgets::list(c)).unwrap().len(), 1);
}

#[test]
fn a_hard_limit_says_which_budget_a_turn_would_cross_and_by_how_much() {
    let db = db();
    let hard = budget(&db, Period::Month, Some("openai"), "20", true);
    budget(&db, Period::Month, Some("openai"), "1", false); // soft: never blocks
    spend(&db, "2026-05-02T10:00:00.000Z", "openai:gpt-4o", "16.12");
    let now = at("2026-05-10T00:00:00Z");
    let exceed = |provider: &str, est: &str| db.store.blocking(|c| alerts::would_exceed(c, provider, d(est), now)).unwrap();
    assert!(exceed("openai", "3.88").is_empty(), "reaching the limit exactly is allowed");
    let over = exceed("openai", "4");
    assert_eq!(over.len(), 1);
    assert_eq!((over[0].budget.id, over[0].over_by, over[0].spent), (hard, d("0.12"), d("16.12")));
    assert_eq!(over[0].message, "Sending this (≈ $4.00) would take your $20.00 monthly budget for OpenAI to $20.12, $0.12 over. Send anyway?");
    assert!(exceed("anthropic", "100").is_empty(), "another provider's bill");
    // An overall hard budget adds up every column of the turn.
    let all = budget(&db, Period::Day, None, "1", true);
    let turn = [("anthropic".to_string(), d("0.6")), ("openrouter".to_string(), d("0.5"))];
    let over = db.store.blocking(|c| alerts::would_exceed_turn(c, &turn, now)).unwrap();
    assert_eq!((over.len(), over[0].budget.id, over[0].over_by), (1, all, d("0.1")));
}

#[test]
fn a_spike_is_today_above_three_times_the_trailing_average_once_a_day() {
    let db = db();
    // No history before today: nothing to compare with.
    spend(&db, "2026-05-10T08:00:00.000Z", "openai:gpt-4o", "50");
    assert!(check(&db, "2026-05-10T12:00:00Z").is_empty());
    // 7 days at $1 (one of them empty, counted as $0) → average 6/7; $2.50 is under 3 × 0.857…
    let db = db_with_week();
    spend(&db, "2026-05-10T08:00:00.000Z", "openai:gpt-4o", "2.5");
    assert!(check(&db, "2026-05-10T12:00:00Z").is_empty());
    spend(&db, "2026-05-10T09:00:00.000Z", "openai:gpt-4o", "0.5"); // $3.00 > $2.57
    let alerts = check(&db, "2026-05-10T12:00:00Z");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].0, AlertKind::Spike);
    assert_eq!(alerts[0].2, "Today's spend ($3.00) is 3.5 × your average day over the last 7 days ($0.86).");
    assert!(check(&db, "2026-05-10T18:00:00Z").is_empty(), "once a day");
    // A young history averages over the days it has.
    let db = db_fresh_with("2026-05-09T08:00:00.000Z", "1");
    spend(&db, "2026-05-10T08:00:00.000Z", "openai:gpt-4o", "3.01");
    assert_eq!(check(&db, "2026-05-10T12:00:00Z")[0].2, "Today's spend ($3.01) is 3 × your average day over the last 1 day ($1.00).");
}

fn db_with_week() -> Db {
    let db = db();
    for day in ["03", "04", "05", "06", "08", "09"] {
        spend(&db, &format!("2026-05-{day}T10:00:00.000Z"), "openai:gpt-4o", "1");
    }
    spend(&db, "2026-05-02T10:00:00.000Z", "openai:gpt-4o", "100"); // before the window
    db
}

fn db_fresh_with(when: &str, cost: &str) -> Db {
    let db = db();
    spend(&db, when, "openai:gpt-4o", cost);
    db
}
