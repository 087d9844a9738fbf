//! The OpenRouter account behind a key, read from the fake provider serving the recorded
//! `GET /api/v1/key` payload (`shared/fixtures/openrouter-key.json`).

use std::str::FromStr;

use tally_engine::providers::{openrouter_key_info, provider, Endpoint, ErrorKind};
use tally_engine::secrets::ApiKey;
use tally_engine::Decimal;
use tally_fake_provider::{FakeProvider, Flavour, Script, REJECTED_KEY};

fn endpoint(base_url: String, key: &str) -> Endpoint {
    Endpoint { provider: provider("openrouter").unwrap(), base_url, api_key: Some(ApiKey::new(key).unwrap()) }
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[tokio::test]
async fn credits_and_usage_are_read_as_exact_decimals_from_the_recorded_answer() {
    let fake = FakeProvider::start().await.unwrap();
    let info = openrouter_key_info(&tally_engine::http::client(), &endpoint(fake.base_url(Flavour::OpenRouter), "test-key-good")).await.unwrap();
    assert_eq!(info.limit, Some(d("5")));
    assert_eq!(info.limit_remaining, Some(d("4.8984355238")));
    assert_eq!(info.usage, d("0.1015644762"));
    assert_eq!(info.limit.unwrap() - info.usage, info.limit_remaining.unwrap(), "exact: no float residue");
    assert_eq!(info.label.as_deref(), Some("sk-or-v1-116...0ce"));
    assert!(!info.is_free_tier);
    assert_eq!(info.is_provisioning_key, Some(false));
    assert_eq!((info.rate_limit_requests, info.rate_limit_interval.as_deref()), (Some(50), Some("10s")));
    assert_eq!(info.usage_daily, None, "this recording predates the daily/weekly/monthly fields");
    let last = fake.requests().last().cloned().unwrap();
    assert_eq!((last.path.as_str(), last.key.as_deref()), ("/api/v1/key", Some("test-key-good")));
}

#[tokio::test]
async fn a_rejected_key_and_a_server_error_come_back_as_provider_errors_without_the_key() {
    let fake = FakeProvider::start().await.unwrap();
    let http = tally_engine::http::client();
    let err = openrouter_key_info(&http, &endpoint(fake.base_url(Flavour::OpenRouter), REJECTED_KEY)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth);
    assert!(!format!("{err:?}").contains(REJECTED_KEY));
    fake.push(Script { status: Some(503), ..Default::default() });
    let err = openrouter_key_info(&http, &endpoint(fake.base_url(Flavour::OpenRouter), "test-key-x")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Server);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let err = openrouter_key_info(&http, &endpoint(format!("http://{closed}/api/v1"), "test-key-x")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Network);
}
