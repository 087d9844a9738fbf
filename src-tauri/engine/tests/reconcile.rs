//! Reconciliation with OpenRouter against the fake provider: an OpenRouter answer's generation
//! record is read in the background once it appears (after scripted 404s), stored beside the
//! ledger with the difference, checked again on request, and summed per route.
//!
//! Every figure is read by hand from `shared/fixtures/openrouter-stream-with-cost.sse` (usage:
//! prompt 687, completion 187, cached 679, reasoning 118, cost 0.00333825, provider xAI) and
//! `openrouter-generation.json` (generation_time 1200, latency 1250, cache_discount null).

mod common;

use std::sync::Arc;
use std::time::Duration;

use tally_engine::endpoints::Endpoints;
use tally_engine::pricing::{Catalog, Fees, Pricing};
use tally_engine::providers::{parse_generation, Endpoint, ProviderError};
use tally_engine::reconcile::{records, summary, ReconcileState, Reconciler, Reconciliation, Scope};
use tally_engine::secrets::ApiKey;
use tally_engine::store::{conversations, Store};
use tally_engine::target::Target;
use tally_engine::turn::{Sink, TurnDeps, Turns};
use tally_engine::ledger::DayRange;
use tally_fake_provider::{FakeProvider, Flavour};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use common::d;

/// Every provider goes to the fake, with a test key.
struct FakeEndpoints(FakeProvider);

impl Endpoints for FakeEndpoints {
    fn endpoint(&self, target: &Target) -> Result<Endpoint, ProviderError> {
        let provider = target.provider();
        let flavour = match provider.id {
            "openrouter" => Flavour::OpenRouter,
            "anthropic" => Flavour::Anthropic,
            _ => Flavour::OpenAi,
        };
        Ok(Endpoint { provider, base_url: self.0.base_url(flavour), api_key: Some(ApiKey::new(format!("test-key-{}", provider.id)).unwrap()) })
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    endpoints: Arc<FakeEndpoints>,
    turns: Arc<Turns>,
    reconciler: Arc<Reconciler>,
    updates: mpsc::UnboundedReceiver<Reconciliation>,
}

/// `backoff`: the pauses between look-ups (none here wait: the fake's lag counts look-ups).
async fn harness(backoff: Vec<Duration>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("tally.sqlite3")).unwrap();
    let endpoints = Arc::new(FakeEndpoints(FakeProvider::start().await.unwrap()));
    let http = tally_engine::http::client();
    let reconciler = Reconciler::with_backoff(store.clone(), http.clone(), endpoints.clone(), backoff);
    let (tx, updates) = mpsc::unbounded_channel();
    reconciler.set_listener(Arc::new(move |r| {
        let _ = tx.send(r);
    }));
    let turns = Turns::new(TurnDeps {
        store,
        http,
        endpoints: endpoints.clone(),
        pricing: Arc::new(Pricing::new(Catalog::embedded(), Fees::default())),
        origin: "app",
        reconciler: Some(reconciler.clone()),
        counts: Default::default(),
    });
    Harness { _dir: dir, endpoints, turns, reconciler, updates }
}

impl Harness {
    fn fake(&self) -> &FakeProvider {
        &self.endpoints.0
    }

    fn conversation(&self, targets: &[&str]) -> i64 {
        let targets: Vec<Target> = targets.iter().map(|t| Target::parse(t).unwrap()).collect();
        self.turns.store().blocking(|c| conversations::create(c, conversations::NEW_TITLE, &targets)).unwrap()
    }

    /// Sends a prompt and waits until every answer is saved; returns the answers' ids.
    async fn send(&self, conv: i64, prompt: &str) -> Vec<i64> {
        let sink: Sink = Arc::new(|_| {});
        let (turn_id, handle) = self.turns.send(conv, prompt.into(), sink).await.unwrap();
        handle.await.unwrap();
        self.turns
            .store()
            .blocking(|c| {
                let mut stmt = c.prepare("SELECT id FROM messages WHERE turn_id = ?1 AND role = 'assistant' ORDER BY id")?;
                let ids = stmt.query_map([turn_id], |r| r.get(0))?.collect::<Result<Vec<i64>, _>>()?;
                Ok(ids)
            })
            .unwrap()
    }

    /// Waits for the background check of `message_id` to end (reconciled or given up).
    async fn settled(&mut self, message_id: i64) -> Reconciliation {
        loop {
            let r = self.updates.recv().await.expect("the reconciler is alive");
            if r.message_id == message_id && r.state != ReconcileState::Pending {
                return r;
            }
        }
    }

    fn generation_lookups(&self) -> usize {
        self.fake().requests().iter().filter(|r| r.path == "/api/v1/generation").count()
    }

    fn stored(&self, message_id: i64) -> Reconciliation {
        self.turns.store().blocking(|c| records::get(c, message_id)).unwrap().expect("a reconciliation row")
    }
}

const WITH_COST: &str = "fixture=openrouter-stream-with-cost pace_ms=0";

#[tokio::test]
async fn the_turn_ends_while_openrouters_record_still_lags() {
    // One 404, then an hour's pause: the turn must not wait for any of it.
    let h = harness(vec![Duration::from_secs(3600)]).await;
    let conv = h.conversation(&["openrouter:x-ai/grok-4"]);
    let ids = h.send(conv, &format!("hi [[fake {WITH_COST} generation_lag=5]]")).await;
    let r = h.stored(ids[0]);
    assert_eq!(r.state, ReconcileState::Pending);
    assert_eq!(r.generation_id, "gen-1762064096-m5VxL2xrxOREwashCey6", "the stream's id is the one looked up");
    assert_eq!(r.billed_cost, None);
}

#[tokio::test]
async fn an_openrouter_answer_is_reconciled_in_the_background_once_the_record_appears() {
    let mut h = harness(vec![Duration::ZERO; 8]).await;
    let conv = h.conversation(&["openrouter:x-ai/grok-4"]);
    let ids = h.send(conv, &format!("hi [[fake {WITH_COST} generation_lag=3]]")).await;
    let r = h.settled(ids[0]).await;

    assert_eq!(h.generation_lookups(), 4, "three 404s, then the record");
    assert_eq!(r, h.stored(ids[0]), "what the listener heard is what was stored");
    assert_eq!(r.state, ReconcileState::Reconciled);
    assert_eq!(r.attempts, 4);
    assert_eq!(r.provider_name.as_deref(), Some("xAI"));
    assert_eq!((r.native_input_tokens, r.native_output_tokens), (Some(687), Some(187)));
    assert_eq!((r.native_cached_tokens, r.native_reasoning_tokens), (Some(679), Some(118)));
    assert_eq!((r.recorded_input_tokens, r.recorded_output_tokens), (687, 187));
    assert_eq!(r.total_cost, Some(d("0.00333825")));
    assert_eq!(r.billed_cost, Some(d("0.00333825")));
    assert_eq!(r.recorded_cost, Some(d("0.00333825")), "the charge the stream reported");
    assert_eq!(r.difference, Some(d("0")));
    assert!(r.matches);
    assert_eq!(r.is_byok, Some(false));
    assert_eq!(r.cache_discount, None);
    assert_eq!((r.generation_time_ms, r.latency_ms), (Some(1200), Some(1250)));
    assert!(r.checked_at.is_some());
    // The look-ups carried the generation id and the key.
    let asked = h.fake().requests().into_iter().find(|q| q.path == "/api/v1/generation").unwrap();
    assert_eq!(asked.body["id"], "gen-1762064096-m5VxL2xrxOREwashCey6");
    assert_eq!(asked.key.as_deref(), Some("test-key-openrouter"));
}

#[tokio::test]
async fn a_bill_that_differs_from_what_the_stream_reported_shows_the_difference() {
    let mut h = harness(vec![Duration::ZERO; 8]).await;
    let conv = h.conversation(&["openrouter:x-ai/grok-4"]);
    let ids = h.send(conv, &format!("hi [[fake {WITH_COST} generation_cost=0.0043]]")).await;
    let r = h.settled(ids[0]).await;
    assert_eq!(r.state, ReconcileState::Reconciled);
    assert_eq!(r.billed_cost, Some(d("0.0043")));
    assert_eq!(r.recorded_cost, Some(d("0.00333825")));
    assert_eq!(r.difference, Some(d("0.00096175"))); // 0.0043 − 0.00333825
    assert!(!r.matches);

    let s = h.turns.store().blocking(|c| summary::summary(c, &DayRange::all())).unwrap();
    let line = s.routes.iter().find(|l| l.route == "openrouter").unwrap();
    assert_eq!((line.answers, line.reconciled_answers, line.differing_answers), (1, 1, 1));
    assert_eq!(line.billed, d("0.0043"));
    assert_eq!(line.difference, d("0.00096175"));
    assert_eq!(line.reconciled_percent.as_deref(), Some("100"));
    assert_eq!(s.largest_differences.len(), 1);
    assert_eq!(s.largest_differences[0].message_id, ids[0]);
    assert_eq!(s.largest_differences[0].difference, d("0.00096175"));
}

#[tokio::test]
async fn a_record_that_never_comes_is_given_up_then_found_on_request() {
    // Two look-ups in the background (one pause), three 404s scripted: the background check
    // gives up; the first check on request meets the third 404, the second finds the record.
    let mut h = harness(vec![Duration::ZERO]).await;
    let conv = h.conversation(&["openrouter:x-ai/grok-4"]);
    let ids = h.send(conv, &format!("hi [[fake {WITH_COST} generation_lag=3]]")).await;
    let r = h.settled(ids[0]).await;
    assert_eq!(r.state, ReconcileState::Unavailable);
    assert_eq!(r.attempts, 2);
    assert!(r.error.as_deref().unwrap().contains("Reconcile it again later"), "{:?}", r.error);
    assert_eq!(h.generation_lookups(), 2);

    let cancel = CancellationToken::new();
    let first = h.reconciler.reconcile(Scope::Conversation { conversation_id: conv }, &cancel, &|_| {}).await.unwrap();
    assert_eq!((first.total, first.done, first.unavailable, first.matched), (1, 1, 1, 0));
    assert_eq!(h.stored(ids[0]).state, ReconcileState::Unavailable);

    let heard = std::sync::Mutex::new(Vec::new());
    let today = h.stored(ids[0]).checked_at.unwrap()[..10].to_string();
    let range = DayRange::new(Some(&today), None);
    let second = h.reconciler.reconcile(Scope::Days { range }, &cancel, &|p| heard.lock().unwrap().push(p.done)).await.unwrap();
    assert_eq!((second.total, second.done, second.matched, second.unavailable), (1, 1, 1, 0));
    assert_eq!(*heard.lock().unwrap(), vec![0, 1], "progress before and after each answer");
    let r = h.stored(ids[0]);
    assert_eq!(r.state, ReconcileState::Reconciled);
    assert_eq!(r.billed_cost, Some(d("0.00333825")));
    assert_eq!(h.generation_lookups(), 4);
}

#[tokio::test]
async fn direct_answers_are_not_looked_up() {
    let h = harness(vec![Duration::ZERO; 8]).await;
    let conv = h.conversation(&["openai:gpt-4o-mini"]);
    let ids = h.send(conv, "hi [[fake tokens=3 pace_ms=0]]").await;
    assert!(h.turns.store().blocking(|c| records::get(c, ids[0])).unwrap().is_none());
    let report = h.reconciler.reconcile(Scope::Conversation { conversation_id: conv }, &CancellationToken::new(), &|_| {}).await.unwrap();
    assert_eq!(report.total, 0);
    assert_eq!(h.generation_lookups(), 0);
    let s = h.turns.store().blocking(|c| summary::summary(c, &DayRange::all())).unwrap();
    assert_eq!(s.routes.len(), 1);
    assert_eq!((s.routes[0].route.as_str(), s.routes[0].unreconcilable_answers, s.routes[0].reconciled_answers), ("openai", 1, 0));
}

#[tokio::test]
async fn a_pending_check_left_by_a_closed_app_is_resumed() {
    // The answer is recorded, but its check never ran (the app closed): the next start resumes it.
    let mut h = harness(vec![Duration::ZERO; 8]).await;
    let conv = h.conversation(&["openrouter:openai/gpt-4o-mini"]);
    let ids = h.send(conv, "hi [[fake tokens=4 pace_ms=0 generation_lag=1]]").await;
    let first = h.settled(ids[0]).await;
    assert_eq!(first.state, ReconcileState::Reconciled);
    h.turns.store().blocking(|c| records::restart(c, ids[0])).unwrap();
    let handles = h.reconciler.resume_pending().await.unwrap();
    assert_eq!(handles.len(), 1);
    let again = h.settled(ids[0]).await;
    assert_eq!(again.state, ReconcileState::Reconciled);
    // The fake's own stream: 4 output tokens; its cost is what the stream reported.
    assert_eq!(again.native_output_tokens, Some(4));
    assert_eq!(again.billed_cost, again.recorded_cost);
    assert!(again.matches);
}

/// The documented record (total_cost 0.0015) against ledger rows written by hand: the summary
/// adds them exactly, per route.
#[test]
fn the_summary_says_per_route_how_much_of_the_spend_is_reconciled() {
    let db = common::db();
    let generation = parse_generation(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/openrouter-generation.json")).unwrap()).unwrap();
    let conv = db.store.blocking(|c| conversations::create(c, "Sums", &[Target::parse("openrouter:openai/gpt-4o-mini").unwrap()])).unwrap();
    db.store
        .blocking(|c| {
            c.execute_batch(&format!(
                "INSERT INTO turns (id, conversation_id, prompt) VALUES (1, {conv}, 'p');
                 INSERT INTO messages (id, column_id, turn_id, role, status)
                 SELECT n, (SELECT id FROM columns WHERE conversation_id = {conv}), 1, 'assistant', 'done' FROM (SELECT 1 AS n UNION SELECT 2 UNION SELECT 3);"
            ))?;
            Ok(())
        })
        .unwrap();
    let row = |message_id: i64, target: &str, cost: &str| {
        let mut r = common::answer("2026-11-20T10:00:00Z", target, Some(cost), None, conv);
        r.uid = format!("u{message_id}");
        r.message_id = Some(message_id);
        r
    };
    common::write(&db.store, &[row(1, "openrouter:openai/gpt-4o-mini", "0.0012"), row(2, "openrouter:openai/gpt-4o-mini", "0.002"), row(3, "openai:gpt-4o-mini", "0.001")]);
    db.store
        .blocking(|c| {
            records::enqueue(c, 1, "gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG")?;
            records::save(c, 1, &generation)?;
            records::enqueue(c, 2, "gen-later")
        })
        .unwrap();

    let s = db.store.blocking(|c| summary::summary(c, &DayRange::new(Some("2026-11-20"), Some("2026-11-21")))).unwrap();
    let or = &s.routes[0];
    assert_eq!(or.route, "openrouter");
    assert_eq!(or.spend, d("0.0032")); // 0.0012 + 0.002
    assert_eq!(or.reconciled_spend, d("0.0012"));
    assert_eq!(or.reconciled_percent.as_deref(), Some("37.5")); // 0.0012 / 0.0032
    assert_eq!(or.billed, d("0.0015"));
    assert_eq!(or.difference, d("0.0003")); // 0.0015 − 0.0012
    assert_eq!((or.answers, or.reconciled_answers, or.pending_answers, or.differing_answers), (2, 1, 1, 1));
    let direct = &s.routes[1];
    assert_eq!((direct.route.as_str(), direct.spend, direct.unreconcilable_answers), ("openai", d("0.001"), 1));
    assert_eq!(direct.reconciled_percent.as_deref(), Some("0"));
    assert_eq!(s.largest_differences.len(), 1);
    let diff = &s.largest_differences[0];
    assert_eq!((diff.message_id, diff.recorded_cost, diff.billed_cost, diff.difference), (1, Some(d("0.0012")), d("0.0015"), d("0.0003")));
    assert_eq!(diff.provider_name.as_deref(), Some("Infermatic"));
    assert_eq!(diff.conversation_title.as_deref(), Some("Sums"));

    // Outside the range: nothing.
    let none = db.store.blocking(|c| summary::summary(c, &DayRange::new(Some("2026-11-21"), None))).unwrap();
    assert!(none.routes.is_empty());
}
