//! `tally-cli catalog refresh`, `price` and `cost`: exact decimal strings, hand-computed figures,
//! and a broken refresh that keeps the previous prices.

use std::process::Command;

use serde_json::Value;
use tally_fake_provider::{FakeProvider, Flavour, Script};

fn run(data: &std::path::Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tally-cli")).args(args).env("TALLY_DATA_DIR", data).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn price_prints_exact_per_token_decimals_and_the_twin() {
    let data = tempfile::tempdir().unwrap();
    let (code, v, err) = run(data.path(), &["price", "anthropic:claude-sonnet-4-5"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["price"]["input"], "0.000003");
    assert_eq!(v["price"]["cached_input"], "0.0000003");
    assert_eq!(v["price"]["cache_write"], "0.00000375");
    assert_eq!(v["twin"], "openrouter:anthropic/claude-sonnet-4.5");
    assert_eq!(v["catalog"]["openrouter_as_of"], "2026-08-19");
    let (code, _, err) = run(data.path(), &["price", "openai:no-such-model"]);
    assert_eq!(code, 2);
    assert!(err.contains("no price is known"));
}

#[test]
fn cost_is_itemised_and_hand_computed() {
    let data = tempfile::tempdir().unwrap();
    // 1000 input (600 cache reads, 100 cache writes, 300 plain), 50 output, Claude Sonnet 4.5 direct.
    let (code, v, err) = run(data.path(), &["cost", "anthropic:claude-sonnet-4-5", "--input", "1000", "--cached", "600", "--cache-write", "100", "--output", "50"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["breakdown"]["input_usd"], "0.0009");
    assert_eq!(v["breakdown"]["cached_input_usd"], "0.00018");
    assert_eq!(v["breakdown"]["cache_write_usd"], "0.000375");
    assert_eq!(v["breakdown"]["output_usd"], "0.00075");
    assert_eq!(v["total_usd"], "0.002205");
    assert_eq!(v["effective_total_usd"], "0.002205", "no fee on a direct route");
    // Via OpenRouter: the 5.5 % credit fee makes the effective cost.
    let (_, v, _) = run(data.path(), &["cost", "openrouter:openai/gpt-4o-mini", "--input", "1000", "--output", "100"]);
    assert_eq!(v["total_usd"], "0.00021"); // 1000 × 0.00000015 + 100 × 0.0000006
    assert_eq!(v["effective_total_usd"], "0.00022155");
    // Parts may not exceed their whole.
    let (code, _, err) = run(data.path(), &["cost", "openai:gpt-4o-mini", "--input", "10", "--cached", "20", "--output", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot add up"));
}

#[tokio::test]
async fn a_refresh_replaces_the_snapshot_and_a_broken_one_keeps_it() {
    let fake = FakeProvider::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let base = format!("openrouter={}", fake.base_url(Flavour::OpenRouter));
    let path = data.path().to_path_buf();

    // Broken answers first: nothing changes, and the CLI says why.
    for (script, words) in [
        (Script { body: Some("{\"data\": [ {\"id\": ".into()), ..Default::default() }, "not a models list"),
        (Script { body: Some("{\"data\": []}".into()), ..Default::default() }, "no priced models"),
        (Script { status: Some(503), ..Default::default() }, "HTTP 503"),
        // One priced model where 409 are priced now: refused, not an empty catalog.
        (
            Script { body: Some(r#"{"data": [{"id": "openai/gpt-4o-mini", "pricing": {"prompt": "0.00000015", "completion": "0.0000006"}}]}"#.into()), ..Default::default() },
            "prices 1 models where the current one prices 409",
        ),
        // Over the size cap: refused while it is read.
        (Script { body: Some(format!("{{\"data\": [], \"pad\": \"{}\"}}", "x".repeat(21 * 1024 * 1024))), ..Default::default() }, "larger than 20 MB"),
    ] {
        fake.push(script);
        let (p, b) = (path.clone(), base.clone());
        let (code, v, _) = tokio::task::spawn_blocking(move || run(&p, &["catalog", "refresh", "--base-url", &b])).await.unwrap();
        assert_eq!(code, 1);
        let error = v["error"].as_str().unwrap();
        assert!(error.contains(words) && error.contains("previous prices are kept"), "{error}");
        assert!(!path.join("catalog/openrouter-models.json").exists());
    }

    // The real recorded list: refreshed, dated today, and used from then on.
    let (p, b) = (path.clone(), base.clone());
    let (code, v, err) = tokio::task::spawn_blocking(move || run(&p, &["catalog", "refresh", "--base-url", &b])).await.unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(v["openrouter_models"].as_u64().unwrap() >= 30);
    let p = path.clone();
    let (_, v, _) = tokio::task::spawn_blocking(move || run(&p, &["price", "openrouter:x-ai/grok-4.5"])).await.unwrap();
    assert_eq!(v["catalog"]["openrouter_origin"], "refreshed");
    assert!(v["price"]["source"].as_str().unwrap().contains("refreshed"));

    // The list kept holds only what pricing reads, and the one it replaced can be put back.
    let kept = std::fs::read_to_string(path.join("catalog/openrouter-models.json")).unwrap();
    assert!(!kept.contains("\"description\""), "only ids and prices are kept");
    let p = path.clone();
    let (code, v, err) = tokio::task::spawn_blocking(move || run(&p, &["catalog", "restore"])).await.unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["catalog"]["openrouter_origin"], "embedded", "{v}");
    let p = path.clone();
    let (_, v, _) = tokio::task::spawn_blocking(move || run(&p, &["price", "openrouter:x-ai/grok-4.5"])).await.unwrap();
    assert_eq!(v["catalog"]["openrouter_origin"], "embedded");
}

/// By hand from LiteLLM's map (the fake serves the 1.110.2 snapshot): 268 direct chat models;
/// gpt-4o-mini input_cost_per_token 1.5e-07 → "0.00000015".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_prices_refresh_from_a_price_map_and_a_bad_address_changes_nothing() {
    let fake = tally_fake_provider::FakeProvider::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let url = format!("{}{}", fake.url(), tally_fake_provider::LITELLM_PATH);
    let (code, v, _) = run(data.path(), &["catalog", "refresh-direct", "--url", &url]);
    assert_eq!(code, 0, "{v}");
    assert_eq!((v["refreshed"].as_bool(), v["direct_models"].as_u64()), (Some(true), Some(268)));
    let (_, price, _) = run(data.path(), &["price", "openai:gpt-4o-mini"]);
    assert_eq!(price["price"]["input"], "0.00000015", "{price}");
    assert_eq!(price["catalog"]["direct_origin"], "refreshed");

    let (code, v, _) = run(data.path(), &["catalog", "refresh-direct", "--url", "not a url"]);
    assert_eq!((code, v["refreshed"].as_bool()), (1, Some(false)));
    assert!(v["error"].as_str().unwrap().contains("starts with http"), "{v}");
}
