//! `tally-cli usage` on a database with known usage: totals, each grouping, the CSV export and
//! its import into another data dir without duplicates. Money is compared as exact strings.

use std::process::Command;

use serde_json::Value;
use tally_engine::store::rollups::Deltas;
use tally_engine::store::usage_rows::{Origin, UsageRecord};
use tally_engine::store::{conversations, Store};
use tally_engine::target::Target;
use tally_engine::Decimal;

fn cli(data: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tally-cli")).args(args).env("TALLY_DATA_DIR", data).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect()
}

fn row(at: &str, target: &str, cost: Option<&str>, effective: Option<&str>, conversation: i64) -> UsageRecord {
    let t = Target::parse(target).unwrap();
    let dec = |s: &str| s.parse::<Decimal>().unwrap();
    UsageRecord {
        uid: format!("{at}/{target}"),
        created_at: at.into(),
        conversation_id: Some(conversation),
        route: t.route.clone(),
        provider: t.provider().id.into(),
        model: t.model.clone(),
        input_tokens: 1000,
        output_tokens: 100,
        cost: cost.map(dec),
        effective_cost: effective.or(cost).map(dec),
        total_ms: 800,
        origin: "cli".into(),
        ..Default::default()
    }
}

/// Four answers: 03-02 on OpenAI direct and via OpenRouter (5.5 % fee), 03-10 on Anthropic and
/// one unpriced on OpenAI.
fn seeded() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(&tally_engine::paths::database(data.path())).unwrap();
    store
        .blocking(|c| {
            let conv = conversations::create(c, "Budget talk", &[Target::parse("openai:gpt-4o-mini").unwrap()])?;
            let tx = c.transaction()?;
            let mut deltas = Deltas::default();
            for r in [
                row("2026-03-02T10:00:00.000Z", "openai:gpt-4o-mini", Some("0.0012"), None, conv),
                row("2026-03-02T11:00:00.000Z", "openrouter:openai/gpt-4o-mini", Some("0.002"), Some("0.00211"), conv),
                row("2026-03-10T09:00:00.000Z", "anthropic:claude-sonnet-4-5", Some("0.015"), None, conv),
                row("2026-03-10T10:00:00.000Z", "openai:gpt-4o-mini", None, None, conv),
            ] {
                deltas.insert(&tx, &r, Origin::Local)?;
            }
            deltas.apply(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .unwrap();
    data
}

#[test]
fn usage_prints_exact_totals_and_counts_unpriced_answers() {
    let data = seeded();
    let (code, out, err) = cli(data.path(), &["usage"]);
    assert_eq!(code, 0, "{err}");
    let v = &lines(&out)[0];
    assert_eq!((v["cost_usd"].as_str(), v["effective_cost_usd"].as_str()), (Some("0.0182"), Some("0.01831")));
    assert_eq!((v["answers"].as_u64(), v["unpriced_answers"].as_u64(), v["input_tokens"].as_u64()), (Some(4), Some(1), Some(4000)));
    let (_, out, _) = cli(data.path(), &["usage", "--since", "2026-03-05"]);
    assert_eq!(lines(&out)[0]["cost_usd"], "0.015");
    let (code, _, err) = cli(data.path(), &["usage", "--since", "March"]);
    assert_eq!(code, 2);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}

#[test]
fn group_by_gives_one_line_per_model_route_provider_or_day() {
    let data = seeded();
    let (_, out, _) = cli(data.path(), &["usage", "--since", "2026-03-05", "--group-by", "model"]);
    let models: Vec<(String, String, u64)> =
        lines(&out).iter().map(|l| (l["key"].as_str().unwrap().into(), l["cost_usd"].as_str().unwrap().into(), l["unpriced_answers"].as_u64().unwrap())).collect();
    assert_eq!(models, [("claude-sonnet-4-5".into(), "0.015".into(), 0), ("gpt-4o-mini".into(), "0".into(), 1)]);
    let (_, out, _) = cli(data.path(), &["usage", "--group-by", "provider"]);
    let providers: Vec<(String, String)> = lines(&out).iter().map(|l| (l["label"].as_str().unwrap().into(), l["effective_cost_usd"].as_str().unwrap().into())).collect();
    assert_eq!(providers, [("Anthropic".into(), "0.015".into()), ("OpenAI".into(), "0.00331".into())], "OpenAI's models whichever route");
    let (_, out, _) = cli(data.path(), &["usage", "--group-by", "route"]);
    assert_eq!(lines(&out).len(), 3);
    let (_, out, _) = cli(data.path(), &["usage", "--group-by", "day"]);
    let days = lines(&out);
    assert_eq!(days.len(), 9, "2026-03-02 to 2026-03-10, empty days included");
    assert_eq!((days[0]["key"].as_str(), days[0]["cost_usd"].as_str()), (Some("2026-03-02"), Some("0.0032")));
    assert_eq!(days[8]["answers"], 2);
}

#[test]
fn the_csv_export_imports_into_another_data_dir_once() {
    let data = seeded();
    let (code, csv, err) = cli(data.path(), &["usage", "--csv"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(csv.lines().count(), 5, "header and four rows");
    assert!(csv.lines().next().unwrap().contains(",price_json,cost_json,"));
    let file = data.path().join("usage.csv");
    std::fs::write(&file, &csv).unwrap();
    let other = tempfile::tempdir().unwrap();
    let file = file.to_str().unwrap();
    let (code, out, err) = cli(other.path(), &["usage", "import", file]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&out)[0], serde_json::json!({"read": 4, "added": 4, "duplicates": 0}));
    let (_, out, _) = cli(other.path(), &["usage", "import", file]);
    assert_eq!(lines(&out)[0], serde_json::json!({"read": 4, "added": 0, "duplicates": 4}));
    let (_, a, _) = cli(data.path(), &["usage"]);
    let (_, b, _) = cli(other.path(), &["usage"]);
    assert_eq!(a, b);
    let (code, _, err) = cli(other.path(), &["usage", "import", "/nonexistent.csv"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}
