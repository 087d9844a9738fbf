//! Testing a key: valid, rejected, unreachable, unexpected — for each wire family, against the
//! fake provider (which rejects `test-key-rejected`, as a provider rejects a revoked key).

use tally_engine::providers::{check_key, provider, Endpoint, KeyVerdict};
use tally_engine::secrets::ApiKey;
use tally_fake_provider::{FakeProvider, Flavour, Script, REJECTED_KEY};

fn endpoint(id: &str, base_url: String, key: &str) -> Endpoint {
    Endpoint { provider: provider(id).unwrap(), base_url, api_key: Some(ApiKey::new(key).unwrap()) }
}

#[tokio::test]
async fn each_wire_family_checks_the_key_with_a_free_authenticated_call() {
    let fake = FakeProvider::start().await.unwrap();
    let http = tally_engine::http::client();
    for (id, flavour, path) in [("openai", Flavour::OpenAi, "/v1/models"), ("openrouter", Flavour::OpenRouter, "/api/v1/key"), ("anthropic", Flavour::Anthropic, "/v1/models")] {
        let ok = check_key(&http, &endpoint(id, fake.base_url(flavour), "test-key-good-123")).await;
        assert_eq!(ok.verdict, KeyVerdict::Valid, "{id}: {ok:?}");
        assert!(ok.message.contains("works"));
        let bad = check_key(&http, &endpoint(id, fake.base_url(flavour), REJECTED_KEY)).await;
        assert_eq!(bad.verdict, KeyVerdict::InvalidKey, "{id}: {bad:?}");
        assert!(bad.message.contains("rejected this key"));
        assert_eq!(fake.requests().last().unwrap().path, path, "{id} asked the right endpoint");
    }
}

#[tokio::test]
async fn an_unreachable_provider_and_an_odd_answer_are_told_apart() {
    let fake = FakeProvider::start().await.unwrap();
    let http = tally_engine::http::client();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let unreachable = check_key(&http, &endpoint("openai", format!("http://{closed}/v1"), "test-key-x")).await;
    assert_eq!(unreachable.verdict, KeyVerdict::NoNetwork, "{unreachable:?}");
    assert!(unreachable.message.contains("Could not reach OpenAI"));

    fake.push(Script { status: Some(503), ..Default::default() });
    let odd = check_key(&http, &endpoint("openai", fake.base_url(Flavour::OpenAi), "test-key-x")).await;
    assert_eq!(odd.verdict, KeyVerdict::Unexpected, "{odd:?}");
    assert!(odd.message.contains("503"));
}
