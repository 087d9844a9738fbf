//! `tally-cli ask` records an OpenRouter answer's generation id without waiting for OpenRouter's
//! record; `tally-cli reconcile` then checks it against the fake provider's record.
//!
//! Figures by hand from `shared/fixtures/openrouter-stream-with-cost.sse`: usage.cost 0.00333825;
//! the bill scripted at 0.0043 differs by 0.0043 − 0.00333825 = 0.00096175.

use std::process::{Command, Stdio};

use serde_json::Value;
use tally_fake_provider::{FakeProvider, Flavour};

fn tally(data: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tally-cli"))
        .args(args)
        .env("TALLY_DATA_DIR", data)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/tally-cli-test")
        .env("OPENROUTER_API_KEY", "test-key-cli-openrouter")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&out.stdout), if out.status.success() { String::new() } else { format!("\nstderr: {stderr}") }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_asked_from_the_cli_is_reconciled_on_request() {
    let fake = FakeProvider::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let base = fake.base_url(Flavour::OpenRouter);
    let prompt = "hi [[fake fixture=openrouter-stream-with-cost pace_ms=0 generation_cost=0.0043]]";
    let (code, out) = tally(data.path(), &["ask", prompt, "-t", "openrouter:x-ai/grok-4", "--base-url", &format!("openrouter={base}")]);
    assert_eq!(code, 0, "{out}");
    assert!(fake.requests().iter().all(|r| r.path != "/api/v1/generation"), "ask does not wait for the record");

    let (code, out) = tally(data.path(), &["reconcile", "--conversation", "1", "--base-url", &base]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["report"]["total"], 1);
    assert_eq!(v["report"]["differing"], 1);
    let route = &v["summary"]["routes"][0];
    assert_eq!(route["route"], "openrouter");
    assert_eq!(route["billed"], "0.0043");
    assert_eq!(route["difference"], "0.00096175");
    assert_eq!(v["summary"]["largest_differences"][0]["difference"], "0.00096175");
    assert_eq!(fake.requests().iter().filter(|r| r.path == "/api/v1/generation").count(), 1);
}
