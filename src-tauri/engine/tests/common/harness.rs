//! A turn runner on a real SQLite file, every provider pointed at one fake provider on 127.0.0.1,
//! and the batches of events it sent collected. Shared by the turn and fault tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tally_engine::endpoints::Endpoints;
use tally_engine::pricing::{Catalog, Fees, Pricing};
use tally_engine::providers::{Endpoint, ErrorKind, ProviderError};
use tally_engine::secrets::ApiKey;
use tally_engine::store::{conversations, Store};
use tally_engine::target::Target;
use tally_engine::turn::{Sink, TurnDeps, TurnEvent, Turns};
use tally_fake_provider::{FakeProvider, Flavour};

/// Points every provider at the fake, with a fixed test key (none for `keyless`).
pub struct FakeEndpoints {
    base_urls: [String; 3],
    keyless: Option<&'static str>,
}

impl Endpoints for FakeEndpoints {
    fn endpoint(&self, target: &Target) -> Result<Endpoint, ProviderError> {
        let provider = target.provider();
        if self.keyless == Some(provider.id) {
            return Err(ProviderError::new(ErrorKind::Auth, format!("There is no {} API key yet. Add one in Settings.", provider.name)));
        }
        let [openai, openrouter, anthropic] = &self.base_urls;
        let base_url = match provider.id {
            "openrouter" => openrouter,
            "anthropic" => anthropic,
            _ => openai,
        }
        .clone();
        Ok(Endpoint { provider, base_url, api_key: Some(ApiKey::new(format!("test-key-{}", provider.id)).unwrap()) })
    }
}

pub struct Harness {
    pub _dir: tempfile::TempDir,
    pub db: std::path::PathBuf,
    pub fake: FakeProvider,
    pub turns: Arc<Turns>,
    pub events: Arc<Mutex<Vec<Vec<TurnEvent>>>>,
}

pub async fn harness(keyless: Option<&'static str>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tally.sqlite3");
    let fake = FakeProvider::start().await.unwrap();
    let store = Store::open(&db).unwrap();
    let turns = Turns::new(TurnDeps {
        store,
        http: tally_engine::http::client(),
        pricing: Arc::new(Pricing::new(Catalog::embedded(), Fees::default())),
        endpoints: Arc::new(FakeEndpoints {
            base_urls: [Flavour::OpenAi, Flavour::OpenRouter, Flavour::Anthropic].map(|f| fake.base_url(f)),
            keyless,
        }),
        origin: "app",
        reconciler: None,
        counts: Default::default(),
    });
    Harness { _dir: dir, db, fake, turns, events: Arc::default() }
}

impl Harness {
    pub fn conversation(&self, targets: &[&str]) -> i64 {
        let targets: Vec<Target> = targets.iter().map(|t| Target::parse(t).unwrap()).collect();
        self.turns.store().blocking(|c| conversations::create(c, conversations::NEW_TITLE, &targets)).unwrap()
    }

    pub fn sink(&self) -> Sink {
        let events = Arc::clone(&self.events);
        Arc::new(move |batch| events.lock().unwrap().push(batch))
    }

    pub async fn send(&self, conv: i64, prompt: &str) -> i64 {
        let (turn_id, handle) = self.turns.send(conv, prompt.into(), self.sink()).await.unwrap();
        handle.await.unwrap();
        turn_id
    }

    pub fn all_events(&self) -> Vec<TurnEvent> {
        self.events.lock().unwrap().iter().flatten().cloned().collect()
    }
}


/// The conversation's stored running totals agree with its usage rows: the cost is the sum of the
/// rows' list costs (unpriced rows add nothing) and the tokens the sums of theirs.
pub fn assert_totals_agree(store: &Store, conv: i64, after: &str) {
    let (rows, stored) = store
        .blocking(|c| {
            let mut stmt = c.prepare("SELECT coalesce(cost, '0') AS cost, input_tokens, output_tokens FROM usage WHERE conversation_id = ?1")?;
            let rows = stmt
                .query_map([conv], |r| Ok((r.get::<_, String>("cost")?, r.get::<_, i64>("input_tokens")?, r.get::<_, i64>("output_tokens")?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let stored = c.query_row("SELECT total_cost, input_tokens, output_tokens FROM conversations WHERE id = ?1", [conv], |r| {
                Ok((r.get::<_, String>("total_cost")?, r.get::<_, i64>("input_tokens")?, r.get::<_, i64>("output_tokens")?))
            })?;
            Ok((rows, stored))
        })
        .unwrap();
    assert!(!rows.is_empty(), "after {after}: usage rows were written");
    let cost: tally_engine::Decimal = rows.iter().map(|(c, ..)| c.parse::<tally_engine::Decimal>().unwrap()).sum();
    let (input, output) = rows.iter().fold((0, 0), |(i, o), (_, a, b)| (i + a, o + b));
    assert_eq!(stored.0.parse::<tally_engine::Decimal>().unwrap(), cost, "after {after}: the stored total cost is the sum of the usage rows");
    assert_eq!((stored.1, stored.2), (input, output), "after {after}: the stored token totals are the sums of the usage rows");
}
