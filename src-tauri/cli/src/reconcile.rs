//! `tally-cli reconcile`: checks answers sent through OpenRouter against OpenRouter's own record
//! of each (`GET /api/v1/generation`), for one conversation or a range of days, and prints what
//! it found and, per route, how much of the spend is reconciled.

use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use tally_engine::app::Engine;
use tally_engine::reconcile::Scope;
use tally_engine::ledger::DayRange;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct ReconcileArgs {
    /// Check the answers of this conversation (else those recorded in --since / --until).
    #[arg(long)]
    conversation: Option<i64>,
    /// First UTC day (YYYY-MM-DD), included.
    #[arg(long)]
    since: Option<String>,
    /// Last UTC day (YYYY-MM-DD), excluded.
    #[arg(long)]
    until: Option<String>,
    /// OpenRouter's base URL (default: the settings', else https://openrouter.ai/api/v1).
    #[arg(long)]
    base_url: Option<String>,
}

pub async fn run(engine: &Engine, args: ReconcileArgs) -> Result<ExitCode, String> {
    if let Some(url) = &args.base_url {
        let mut settings = engine.settings();
        settings.base_urls.insert("openrouter".into(), tally_engine::settings::normalise_base_url("openrouter", url).map_err(|e| e.to_string())?);
        engine.set_session_settings(settings);
    }
    let range = DayRange::new(args.since.as_deref(), args.until.as_deref());
    let scope = match args.conversation {
        Some(conversation_id) => Scope::Conversation { conversation_id },
        None => Scope::Days { range: range.clone() },
    };
    let report = engine.reconcile(scope, &CancellationToken::new(), &|_| {}).await.map_err(crate::words)?;
    let summary = engine.reconcile_summary(range).await.map_err(crate::words)?;
    println!("{}", json!({ "report": report, "summary": summary }));
    Ok(ExitCode::SUCCESS)
}
