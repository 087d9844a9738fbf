//! Refreshing direct list prices from LiteLLM's price map, served by the fake provider from the
//! snapshot in `shared/data/` (litellm 1.110.2): what a sound refresh changes, what a broken one
//! leaves alone, and the age every price shows.
//!
//! Figures by hand from the map: `gpt-4o-mini` input_cost_per_token 1.5e-07, output 6e-07,
//! cache_read_input_token_cost 7.5e-08.

mod common;

use tally_engine::pricing::catalog_store::{self, LITELLM_URL};
use tally_engine::pricing::{Catalog, CatalogError};
use tally_engine::target::Target;
use tally_fake_provider::{FakeProvider, Script, LITELLM_PATH};

use common::d;

fn saved(dir: &std::path::Path) -> std::path::PathBuf {
    dir.join("catalog").join("direct-prices.json")
}

#[tokio::test]
async fn a_refresh_replaces_the_direct_prices_and_is_there_at_the_next_start() {
    let fake = FakeProvider::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}{LITELLM_PATH}", fake.url());
    let file = catalog_store::refresh_direct(&tally_engine::http::client(), &url, dir.path(), &Catalog::embedded()).await.unwrap();
    assert_eq!(file.models.len(), 268);
    assert_eq!(file.as_of, catalog_store::today());
    assert!(file.source.contains("127.0.0.1"), "a changed address is named: {}", file.source);
    assert!(!dir.path().join("catalog/direct-prices.json.tmp").exists(), "nothing half-written is left");

    let (catalog, warning) = catalog_store::load(dir.path());
    assert_eq!(warning, None);
    let info = catalog.info();
    assert_eq!((info.direct_origin.as_str(), info.direct_as_of.as_str(), info.direct_models), ("refreshed", file.as_of.as_str(), 268));
    let mini = catalog.price(&Target::parse("openai:gpt-4o-mini").unwrap(), None).unwrap();
    assert_eq!((mini.input, mini.output, mini.cached_input), (d("0.00000015"), d("0.0000006"), Some(d("0.000000075"))));
    assert!(mini.source.ends_with(&format!("({})", file.as_of)), "{}", mini.source);
    // The refreshed price is today's.
    let row = catalog.known_targets().into_iter().find(|k| k.target == "openai:gpt-4o-mini").unwrap();
    assert_eq!((row.as_of.as_deref(), row.age_days, row.stale), (Some(file.as_of.as_str()), Some(0), false));
}

#[tokio::test]
async fn a_broken_refresh_changes_nothing_and_says_why() {
    let fake = FakeProvider::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}{LITELLM_PATH}", fake.url());
    let http = tally_engine::http::client();
    catalog_store::refresh_direct(&http, &url, dir.path(), &Catalog::embedded()).await.unwrap();
    let before = std::fs::read_to_string(saved(dir.path())).unwrap();

    fake.push(Script { body: Some("<html>Service unavailable</html>".into()), ..Default::default() });
    let e = catalog_store::refresh_direct(&http, &url, dir.path(), &Catalog::embedded()).await.unwrap_err();
    assert!(matches!(e, CatalogError::PriceMapUnreadable(_)), "{e:?}");
    assert!(e.to_string().contains("previous direct prices are kept"), "{e}");

    fake.push(Script { body: Some(r#"{"sample_spec": {"mode": "chat", "input_cost_per_token": 0}}"#.into()), ..Default::default() });
    assert_eq!(catalog_store::refresh_direct(&http, &url, dir.path(), &Catalog::embedded()).await.unwrap_err(), CatalogError::PriceMapEmpty);

    fake.push(Script { status: Some(503), ..Default::default() });
    assert_eq!(catalog_store::refresh_direct(&http, &url, dir.path(), &Catalog::embedded()).await.unwrap_err(), CatalogError::PriceMapStatus(503));

    let e = catalog_store::refresh_direct(&http, "ftp://example.org/prices.json", dir.path(), &Catalog::embedded()).await.unwrap_err();
    assert_eq!(e, CatalogError::PriceMapUrl("ftp://example.org/prices.json".into()));

    assert_eq!(std::fs::read_to_string(saved(dir.path())).unwrap(), before, "the last sound refresh is untouched");
}

#[test]
fn a_damaged_saved_refresh_is_set_aside_and_the_built_in_prices_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("catalog")).unwrap();
    std::fs::write(saved(dir.path()), "{\"models\": [").unwrap();
    let (catalog, warning) = catalog_store::load(dir.path());
    assert!(warning.unwrap().contains("built-in direct prices from 2026-11"));
    assert_eq!(catalog.info().direct_origin, "embedded");
    assert!(dir.path().join("catalog/direct-prices.json.damaged").exists());
}

#[test]
fn every_price_shows_its_age_and_old_ones_are_marked() {
    assert!(LITELLM_URL.starts_with("https://"));
    let today = tally_engine::pricing::age::today();
    let rows = Catalog::embedded().known_targets();
    let or = rows.iter().find(|k| k.target == "openrouter:openai/gpt-4o-mini").unwrap();
    assert_eq!(or.as_of.as_deref(), Some("2026-08-19"));
    let expected = (today - chrono::NaiveDate::from_ymd_opt(2026, 8, 19).unwrap()).num_days();
    assert_eq!(or.age_days, Some(expected));
    assert_eq!(or.stale, expected > 60);
    let direct = rows.iter().find(|k| k.target == "openai:gpt-4o-mini").unwrap();
    assert_eq!(direct.as_of.as_deref(), Some("2026-11-01"), "a month-only date counts from its first day");
    assert!(rows.iter().all(|k| k.as_of.is_some()), "every catalog price names its date");
}
