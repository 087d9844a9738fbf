//! `tally-cli ask` end to end: the real binary against the fake provider, one scripted fault at a
//! time. The keyring is made unreachable for the child, so keys come from the environment, as on
//! a CI runner.

use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tally_engine::store::{conversations, Store};
use tally_fake_provider::{FakeProvider, Flavour, Script};

struct Run {
    code: i32,
    lines: Vec<Value>,
    stderr: String,
}

fn cli(fake: &FakeProvider, data: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally-cli"));
    cmd.arg("ask")
        .args(args)
        .args(["--base-url", &format!("openai={}", fake.base_url(Flavour::OpenAi))])
        .args(["--base-url", &format!("openrouter={}", fake.base_url(Flavour::OpenRouter))])
        .args(["--base-url", &format!("anthropic={}", fake.base_url(Flavour::Anthropic))])
        .env("TALLY_DATA_DIR", data)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/tally-cli-test")
        .env("OPENAI_API_KEY", "test-key-cli-openai")
        .env("OPENROUTER_API_KEY", "test-key-cli-openrouter")
        .env("ANTHROPIC_API_KEY", "test-key-cli-anthropic")
        .env("TALLY_CUSTOM_API_KEY", "test-key-cli-custom")
        .stdin(Stdio::null());
    cmd
}

fn parse(out: Output) -> Run {
    let stdout = String::from_utf8_lossy(&out.stdout);
    Run {
        code: out.status.code().unwrap_or(-1),
        lines: stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn ask(fake: &FakeProvider, data: &std::path::Path, args: &[&str]) -> Run {
    let mut cmd = cli(fake, data, args);
    parse(tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap())
}

#[tokio::test]
async fn two_targets_print_one_json_line_each_and_are_recorded_in_the_database() {
    let fake = FakeProvider::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let run = ask(&fake, data.path(), &["Hello [[fake tokens=12 pace_ms=1]]", "-t", "openai:gpt-4o-mini", "-t", "openrouter:openai/gpt-4o-mini", "--max-tokens", "50", "--system", "Be brief."]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines.len(), 2);
    let mut targets: Vec<&str> = run.lines.iter().map(|l| l["target"].as_str().unwrap()).collect();
    targets.sort();
    assert_eq!(targets, ["openai:gpt-4o-mini", "openrouter:openai/gpt-4o-mini"]);
    for l in &run.lines {
        assert_eq!(l["error"], Value::Null);
        assert_eq!(l["usage"]["output_tokens"], 12);
        assert_eq!(l["usage"]["estimated"], false);
        assert!(l["cost_usd"].is_string(), "money is a decimal string: {l}");
        assert!(l["text"].as_str().unwrap().contains("(fake)"));
        assert!(l["ttft_ms"].is_u64() && l["total_ms"].is_u64());
        assert_eq!(l["finish_reason"], "stop");
    }
    let or = run.lines.iter().find(|l| l["route"] == "openrouter").unwrap();
    assert_eq!(or["provider"], "openrouter");
    assert!(or["reported_cost_usd"].is_string());
    // Billed first: the recorded cost is OpenRouter's report; the catalog's computation is beside
    // it (the fake charges gpt-4o-mini's list price, so they agree).
    assert_eq!(or["cost_usd"], or["reported_cost_usd"]);
    assert_eq!(or["computed_cost_usd"], or["cost_usd"]);

    // The keys came from the environment and went only to their own provider; options were sent.
    for r in fake.requests() {
        let (key, max_field) = if r.path.starts_with("/api/") { ("test-key-cli-openrouter", "max_tokens") } else { ("test-key-cli-openai", "max_completion_tokens") };
        assert_eq!(r.key.as_deref(), Some(key));
        assert_eq!(r.body[max_field], 50);
        assert_eq!(r.body["messages"][0]["content"], "Be brief.");
    }

    let store = Store::open(&data.path().join("tally.sqlite3")).unwrap();
    let list = store.blocking(|c| conversations::list(c)).unwrap();
    assert_eq!(list.len(), 1, "the CLI's turn is in the app's database");
    assert!(list[0].totals.cost > tally_engine::Decimal::ZERO);
    let origin: String = store.blocking(|c| Ok(c.query_row("SELECT DISTINCT origin FROM usage", [], |r| r.get(0))?)).unwrap();
    assert_eq!(origin, "cli");
}

/// One scripted fault, through the CLI: the exit code and the one JSON line it printed.
async fn fault(script: Script, target: &str) -> (i32, Value, FakeProvider) {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(script);
    let data = tempfile::tempdir().unwrap();
    let run = ask(&fake, data.path(), &["hi [[fake tokens=20 pace_ms=1]]", "-t", target]).await;
    assert_eq!(run.lines.len(), 1, "stderr: {}", run.stderr);
    (run.code, run.lines.into_iter().next().unwrap(), fake)
}

#[tokio::test]
async fn a_rejected_key_exits_non_zero_with_an_auth_error_in_words() {
    let (code, line, fake) = fault(Script { status: Some(401), ..Default::default() }, "openai:gpt-4o-mini").await;
    assert_eq!(code, 1);
    assert_eq!(line["error"]["kind"], "auth");
    assert!(line["error"]["message"].as_str().unwrap().contains("rejected the API key"));
    assert_eq!(fake.requests().len(), 1, "auth errors are not retried");
}

#[tokio::test]
async fn rate_limit_with_retry_after_then_success() {
    let (code, line, fake) = fault(Script { status: Some(429), retry_after: Some(1), ..Default::default() }, "openai:gpt-4o-mini").await;
    assert_eq!(code, 0, "{line}");
    assert_eq!(line["error"], Value::Null);
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn server_error_then_success() {
    let (code, line, fake) = fault(Script { status: Some(500), ..Default::default() }, "anthropic:claude-sonnet-4-5").await;
    assert_eq!(code, 0, "{line}");
    assert_eq!(line["usage"]["output_tokens"], 20);
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn a_dropped_stream_keeps_its_partial_text_and_estimates_usage() {
    let (code, line, _) = fault(Script { tokens: Some(20), drop_after: Some(8), ..Default::default() }, "openai:gpt-4o-mini").await;
    assert_eq!(code, 1);
    assert_eq!(line["error"]["kind"], "network");
    assert!(!line["text"].as_str().unwrap().is_empty());
    assert_eq!(line["usage"]["estimated"], true);
    assert!(line["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert!(line["cost_usd"].is_string());
}

#[tokio::test]
async fn a_malformed_line_is_an_error_that_keeps_what_came_before() {
    let (code, line, _) = fault(Script { tokens: Some(20), malformed_after: Some(5), ..Default::default() }, "openrouter:openai/gpt-4o-mini").await;
    assert_eq!(code, 1);
    assert_eq!(line["error"]["kind"], "malformed");
    assert!(!line["text"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn an_error_event_inside_a_200_stream_is_an_error_not_text() {
    let (code, line, _) = fault(Script { tokens: Some(20), error_after: Some(4), ..Default::default() }, "anthropic:claude-sonnet-4-5").await;
    assert_eq!(code, 1);
    assert_eq!(line["error"]["kind"], "overloaded");
    assert!(!line["text"].as_str().unwrap().contains("Overloaded"));
}

#[tokio::test]
async fn a_slow_first_byte_shows_in_time_to_first_token() {
    let (code, line, _) = fault(Script { first_byte_delay_ms: Some(300), ..Default::default() }, "openai:gpt-4o-mini").await;
    assert_eq!(code, 0);
    // The server waits 300 ms before answering, so the first token cannot come sooner.
    assert!(line["ttft_ms"].as_u64().unwrap() >= 300, "{line}");
}

#[tokio::test]
async fn ctrl_c_stops_the_turn_and_still_prints_the_partial_answer() {
    let fake = FakeProvider::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut cmd = cli(&fake, data.path(), &["long [[fake tokens=2000 pace_ms=5]]", "-t", "openai:gpt-4o-mini"]);
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // Wait on the event: the request reached the provider.
    while fake.requests().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let run = parse(tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap());
    assert_eq!(run.code, 1);
    assert_eq!(run.lines.len(), 1, "{}", run.stderr);
    assert_eq!(run.lines[0]["error"]["kind"], "cancelled");
    assert!(run.lines[0]["usage"]["output_tokens"].as_u64().unwrap() > 0);
}

#[test]
fn keys_status_says_env_when_the_keyring_is_unreachable() {
    let out = Command::new(env!("CARGO_BIN_EXE_tally-cli"))
        .args(["keys", "status"])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/tally-cli-test")
        .env("OPENAI_API_KEY", "test-key-cli-status")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["openai"], "env");
    assert_eq!(v["anthropic"], "none");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("test-key-cli-status"));
}

#[tokio::test]
async fn a_custom_endpoint_is_named_on_the_command_line() {
    let fake = FakeProvider::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let custom = format!("custom:lab={}", fake.base_url(Flavour::OpenAi));
    let run = ask(&fake, data.path(), &["hi [[fake tokens=3 pace_ms=0]]", "-t", "custom:lab:llama-3.1-8b", "--base-url", &custom]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines[0]["target"], "custom:lab:llama-3.1-8b");
    assert_eq!(run.lines[0]["cost_usd"], Value::Null, "no price is known for a custom model, and none is invented");
    assert_eq!(run.lines[0]["computed_cost_usd"], Value::Null);
    assert_eq!(fake.requests()[0].body["model"], "llama-3.1-8b", "the endpoint's NAME is not sent as part of the model");
}

/// The fault suite through the binary: each fault ends the answer in words, printed with the
/// provider's own text, and exits non-zero. Short limits come from the flag and the settings file.
async fn fault_run(prompt: &str, extra: &[&str], settings: Option<&str>) -> (Run, FakeProvider) {
    let fake = FakeProvider::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    if let Some(json) = settings {
        std::fs::write(data.path().join("settings.json"), json).unwrap();
    }
    let mut args = vec![prompt, "-t", "openai:gpt-4o-mini"];
    args.extend_from_slice(extra);
    let run = ask(&fake, data.path(), &args).await;
    assert_eq!(run.lines.len(), 1, "one answer line; stderr: {}", run.stderr);
    (run, fake)
}

fn error_of(run: &Run) -> (&str, &str, &str) {
    let e = &run.lines[0]["error"];
    (e["kind"].as_str().unwrap_or(""), e["message"].as_str().unwrap_or(""), e["detail"].as_str().unwrap_or(""))
}

#[tokio::test]
async fn a_stall_after_the_headers_ends_within_the_idle_timeout_given_on_the_command_line() {
    let (run, fake) = fault_run("hi [[fake stall_after=0 pace_ms=0]]", &["--idle-timeout", "0.3"], None).await;
    assert_eq!(run.code, 1);
    let (kind, message, _) = error_of(&run);
    assert_eq!(kind, "stalled");
    assert!(message.contains("sent nothing for 300 ms"), "{message}");
    assert_eq!(fake.requests().len(), 1, "not retried");
}

#[tokio::test]
async fn a_slow_drip_is_ended_by_the_deadline_per_answer_from_the_settings() {
    let (run, _) = fault_run("hi [[fake tokens=400 drip_ms=2 pace_ms=0]]", &[], Some(r#"{"answer_deadline_s": 1}"#)).await;
    assert_eq!(run.code, 1);
    let (kind, message, _) = error_of(&run);
    assert_eq!(kind, "deadline");
    assert!(message.contains("after 1 s"), "{message}");
}

#[tokio::test]
async fn an_eight_megabyte_line_arrives_whole() {
    let (run, _) = fault_run("hi [[fake huge_line_bytes=8388608 tokens=2 pace_ms=0]]", &[], None).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.lines[0]["text"].as_str().unwrap().starts_with(&"A".repeat(8_388_608)));
}

#[tokio::test]
async fn an_html_page_with_status_200_prints_what_arrived() {
    let (run, fake) = fault_run("hi [[fake html=1]]", &[], None).await;
    assert_eq!(run.code, 1);
    let (kind, message, detail) = error_of(&run);
    assert_eq!(kind, "malformed");
    assert!(message.contains("text/html"), "{message}");
    assert!(detail.contains("<!DOCTYPE html>"), "{detail}");
    assert_eq!(fake.requests().len(), 1, "not retried");
}

#[tokio::test]
async fn an_error_inside_a_200_stream_prints_the_providers_text() {
    let (run, _) = fault_run("hi [[fake tokens=10 error_after=4 pace_ms=0]]", &[], None).await;
    assert_eq!(run.code, 1);
    let (kind, _, detail) = error_of(&run);
    assert_eq!(kind, "server");
    assert_eq!(detail, "Upstream provider error");
    assert!(!run.lines[0]["text"].as_str().unwrap().is_empty(), "what arrived is kept");
}

#[tokio::test]
async fn absurd_usage_is_an_error_in_words_and_the_tokens_are_estimated() {
    let (run, _) = fault_run("hi [[fake tokens=5 usage=absurd pace_ms=0]]", &[], None).await;
    assert_eq!(run.code, 1);
    let (kind, message, _) = error_of(&run);
    assert_eq!(kind, "malformed");
    assert!(message.contains("18446744073709551615 output tokens in one answer"), "{message}");
    let line = &run.lines[0];
    assert_eq!(line["usage"]["estimated"], true);
    assert!(line["usage"]["output_tokens"].as_u64().unwrap() < 100);
}

#[tokio::test]
async fn a_turn_that_would_cross_a_hard_budget_is_refused_unless_over_budget() {
    use tally_engine::ledger::budgets::{self, BudgetInput, Period};
    let fake = FakeProvider::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(&tally_engine::paths::database(data.path())).unwrap();
    let input = BudgetInput { period: Period::Month, provider: None, limit_usd: "0.000001".parse().unwrap(), hard: true };
    store.blocking(|c| budgets::create(c, &input)).unwrap();
    let conversations_now = |store: &Store| store.blocking(|c| Ok(c.query_row("SELECT count(*) FROM conversations", [], |r| r.get::<_, i64>(0))?)).unwrap();

    let refused = ask(&fake, data.path(), &["Hello [[fake tokens=12]]", "-t", "openai:gpt-4o-mini"]).await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(refused.lines.is_empty(), "nothing printed: {:?}", refused.lines);
    assert!(refused.stderr.contains("hard budget") && refused.stderr.contains("--over-budget"), "{}", refused.stderr);
    assert!(fake.requests().is_empty(), "nothing was sent");
    assert_eq!(conversations_now(&store), 0, "the conversation made for it went too");

    let sent = ask(&fake, data.path(), &["Hello [[fake tokens=12]]", "-t", "openai:gpt-4o-mini", "--over-budget"]).await;
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    assert_eq!(sent.lines.len(), 1);
    assert_eq!(sent.lines[0]["usage"]["output_tokens"], 12);
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(conversations_now(&store), 1);
}
