//! `tally-cli usage`: what was spent, as JSON lines (money in decimal strings, USD), or the full
//! usage history as CSV; `tally-cli usage import FILE` adds a CSV export without duplicates.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use tally_engine::store::Store;
use tally_engine::usage::period::Bucket;
use tally_engine::usage::stats::{self, Dimension};
use tally_engine::usage::{csv, DayRange, UsageTotals};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct UsageArgs {
    #[command(subcommand)]
    command: Option<UsageCommand>,
    /// First UTC day included, YYYY-MM-DD.
    #[arg(long)]
    since: Option<String>,
    /// First UTC day no longer included, YYYY-MM-DD.
    #[arg(long)]
    until: Option<String>,
    /// One line per group instead of one line for everything.
    #[arg(long = "group-by", value_enum)]
    group_by: Option<GroupBy>,
    /// Write every usage row of the range as CSV (every field, the price used included).
    #[arg(long, conflicts_with = "group_by")]
    csv: bool,
}

#[derive(Subcommand)]
enum UsageCommand {
    /// Add the rows of a CSV written by `tally-cli usage --csv` (or the app) that are not in
    /// this database yet; prints {"read","added","duplicates"}.
    Import { file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum GroupBy {
    Model,
    Route,
    Provider,
    Conversation,
    Day,
    Week,
    Month,
}

fn store() -> Result<Store, String> {
    let data_dir = tally_engine::paths::data_dir().ok_or("no data directory: set TALLY_DATA_DIR")?;
    let (settings, _) = tally_engine::settings::load_or_quarantine(&tally_engine::paths::settings(&data_dir));
    Ok(crate::open_history(&data_dir, settings.fees())?.0)
}

fn totals_json(t: &UsageTotals) -> serde_json::Value {
    json!({
        "cost_usd": t.cost.to_string(),
        "effective_cost_usd": t.effective_cost.to_string(),
        "answers": t.answers,
        "unpriced_answers": t.unpriced_answers,
        "estimated_answers": t.estimated_answers,
        "input_tokens": t.input_tokens,
        "cached_input_tokens": t.cached_input_tokens,
        "cache_write_tokens": t.cache_write_tokens,
        "output_tokens": t.output_tokens,
        "reasoning_tokens": t.reasoning_tokens,
    })
}

fn line(group: &str, key: &str, label: &str, totals: &UsageTotals) -> String {
    let mut v = totals_json(totals);
    if let Some(o) = v.as_object_mut() {
        o.insert("group".into(), json!(group));
        o.insert("key".into(), json!(key));
        o.insert("label".into(), json!(label));
    }
    v.to_string()
}

pub fn run(args: UsageArgs) -> Result<ExitCode, String> {
    let store = store()?;
    if let Some(UsageCommand::Import { file }) = args.command {
        let f = std::fs::File::open(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        // On a connection of its own, in short transactions: a running turn is not held.
        let summary = store.job(|c| Ok(csv::import(c, std::io::BufReader::new(f)))).map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        println!("{}", json!({"read": summary.read, "added": summary.added, "duplicates": summary.duplicates}));
        return Ok(ExitCode::SUCCESS);
    }
    let range = DayRange { since: args.since, until: args.until };
    if args.csv {
        let out = std::io::stdout().lock();
        store.read(|c| Ok(csv::export(c, &range, std::io::BufWriter::new(out)))).map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
        return Ok(ExitCode::SUCCESS);
    }
    let lines: Vec<String> = store
        .read(|c| {
            let dimension = |d| -> Result<Vec<String>, _> {
                let rows = stats::breakdown(c, &range, d, None)?;
                let name = format!("{d:?}").to_lowercase();
                Ok(rows.iter().map(|r| line(&name, &r.key, &r.label, &r.totals)).collect())
            };
            let buckets = |b: Bucket| -> Result<Vec<String>, _> {
                let name = format!("{b:?}").to_lowercase();
                Ok(stats::over_time(c, &range, b)?.iter().map(|r| line(&name, &r.start, &r.start, &r.totals)).collect())
            };
            match args.group_by {
                None => Ok(vec![totals_json(&stats::totals(c, &range)?).to_string()]),
                Some(GroupBy::Model) => dimension(Dimension::Model),
                Some(GroupBy::Route) => dimension(Dimension::Route),
                Some(GroupBy::Provider) => dimension(Dimension::Provider),
                Some(GroupBy::Conversation) => dimension(Dimension::Conversation),
                Some(GroupBy::Day) => buckets(Bucket::Day),
                Some(GroupBy::Week) => buckets(Bucket::Week),
                Some(GroupBy::Month) => buckets(Bucket::Month),
            }
        })
        .map_err(|e| e.to_string())?;
    for l in lines {
        println!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}
