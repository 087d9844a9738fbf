//! `tally-cli reconcile`: checks answers sent through OpenRouter against OpenRouter's own record
//! of each (`GET /api/v1/generation`), for one conversation or a range of days, and prints what
//! it found and, per route, how much of the spend is reconciled.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use serde_json::json;
use tally_engine::endpoints::{Endpoints, KeyringEndpoints};
use tally_engine::reconcile::{summary, Reconciler, Scope};
use tally_engine::secrets::{EnvFallback, Keyring};
use tally_engine::settings;
use tally_engine::usage::DayRange;
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

pub async fn run(args: ReconcileArgs) -> Result<ExitCode, String> {
    let data_dir = tally_engine::paths::data_dir().ok_or("no data directory: set TALLY_DATA_DIR")?;
    let (mut settings, warning) = settings::load_or_quarantine(&tally_engine::paths::settings(&data_dir));
    if let Some(w) = warning {
        eprintln!("tally-cli: {w}");
    }
    if let Some(url) = &args.base_url {
        settings.base_urls.insert("openrouter".into(), settings::normalise_base_url("openrouter", url).map_err(|e| e.to_string())?);
    }
    let (store, _, _) = crate::open_history(&data_dir, settings.fees())?;
    let range = DayRange::new(args.since.as_deref(), args.until.as_deref());
    let scope = match args.conversation {
        Some(conversation_id) => Scope::Conversation { conversation_id },
        None => Scope::Days { range: range.clone() },
    };
    let endpoints: Arc<dyn Endpoints> = Arc::new(KeyringEndpoints::new(Keyring::default(), settings, EnvFallback::Always));
    let reconciler = Reconciler::new(store.clone(), tally_engine::http::client(), endpoints);
    let report = reconciler.reconcile(scope, &CancellationToken::new(), &|_| {}).await.map_err(|e| e.to_string())?;
    let summary = store.blocking(|c| summary::summary(c, &range)).map_err(|e| e.to_string())?;
    println!("{}", json!({ "report": report, "summary": summary }));
    Ok(ExitCode::SUCCESS)
}
