//! `tally-cli usage`: what was spent, as JSON lines (money in decimal strings, USD), or the full
//! usage history as CSV; `tally-cli usage import FILE` adds a CSV export without duplicates.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use tally_engine::app::usage::Grouping;
use tally_engine::app::Engine;
use tally_engine::ledger::period::Bucket;
use tally_engine::ledger::stats::Dimension;
use tally_engine::ledger::{DayRange, UsageTotals};

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

pub async fn run(engine: &Engine, args: UsageArgs) -> Result<ExitCode, String> {
    if let Some(UsageCommand::Import { file }) = args.command {
        let summary = engine.import_usage_csv(&file).await.map_err(crate::words)?;
        println!("{}", json!({"read": summary.read, "added": summary.added, "duplicates": summary.duplicates}));
        return Ok(ExitCode::SUCCESS);
    }
    let range = DayRange { since: args.since, until: args.until };
    if args.csv {
        engine.write_usage_csv(&range, std::io::BufWriter::new(std::io::stdout().lock())).map_err(crate::words)?;
        return Ok(ExitCode::SUCCESS);
    }
    let grouping = args.group_by.map(|g| match g {
        GroupBy::Model => Grouping::By(Dimension::Model),
        GroupBy::Route => Grouping::By(Dimension::Route),
        GroupBy::Provider => Grouping::By(Dimension::Provider),
        GroupBy::Conversation => Grouping::By(Dimension::Conversation),
        GroupBy::Day => Grouping::Over(Bucket::Day),
        GroupBy::Week => Grouping::Over(Bucket::Week),
        GroupBy::Month => Grouping::Over(Bucket::Month),
    });
    for l in engine.usage_lines(range, grouping).await.map_err(crate::words)? {
        match &l.group {
            None => println!("{}", totals_json(&l.totals)),
            Some(group) => println!("{}", line(group, &l.key, &l.label, &l.totals)),
        }
    }
    Ok(ExitCode::SUCCESS)
}
