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

