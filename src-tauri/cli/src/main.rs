//! `tally-cli`: the engine without a window, for scripts and CI.
//!
//! Shares the app's database, settings and keyring, so what it spends shows up in the app.

mod ask;
mod keys;
mod reconcile;
mod prices;
mod usage;
mod tokens;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tally_engine::app::{AppError, Engine, Options};

#[derive(Parser)]
#[command(name = "tally-cli", version, about = "Ask several LLMs one prompt and see what each answer cost.", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send one prompt to every target at once; print one JSON line per answer as it finishes.
    ///
    /// Each line: {"target","route","provider","model","text","finish_reason",
    /// "usage":{"input_tokens","cached_input_tokens","cache_write_tokens","output_tokens",
    /// "reasoning_tokens","estimated"},"cost_usd","reported_cost_usd","ttft_ms","total_ms",
    /// "output_tokens_per_s","error":null|{"kind","message"}}. Money is a decimal string in USD.
    /// input_tokens counts every input token (cached reads and cache writes included) and
    /// output_tokens every output token (reasoning included). Exits 1 if any target failed.
    ///
    /// Keys come from the OS keyring, else from the usual environment variables
    /// (OPENAI_API_KEY, OPENROUTER_API_KEY, ANTHROPIC_API_KEY, DEEPSEEK_API_KEY, GEMINI_API_KEY,
    /// MISTRAL_API_KEY, GROQ_API_KEY, XAI_API_KEY). The turn is recorded in Tally's database
    /// ($TALLY_DATA_DIR, else the platform data dir). A turn that would cross a hard budget set
    /// in the app is refused (exit 3, the budgets in words on stderr) unless --over-budget.
    Ask(ask::AskArgs),
    /// Manage API keys in the OS keyring.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The price catalog (embedded OpenRouter snapshot, direct list prices, refreshes).
    #[command(subcommand)]
    Catalog(prices::CatalogCommand),
    /// Print a target's price as JSON: decimal strings in USD per token, and its twin on the
    /// other route.
    Price {
        /// route:model
        target: String,
    },
    /// Print the itemised cost of a usage on a target as JSON, with `total_usd` (the list cost)
    /// and `effective_total_usd` (with the route's fees).
    Cost(prices::CostArgs),
    /// What was spent, from Tally's usage history: one JSON line for the range, or one per
    /// group with --group-by ({"group","key","label","cost_usd","effective_cost_usd","answers",
    /// "unpriced_answers","estimated_answers","input_tokens","cached_input_tokens",
    /// "cache_write_tokens","output_tokens","reasoning_tokens"}), largest spend first; days,
    /// weeks (from Monday) and months are UTC, oldest first. `cost_usd` is the list cost,
    /// `effective_cost_usd` adds route fees; unpriced answers add nothing to either and are counted.
    /// --csv writes every usage row as CSV instead; `usage import FILE` reads one back.
    Usage(usage::UsageArgs),
    /// Count tokens as the model will: prints {"model","encoding","tokens","exact"}.
    ///
    /// `tokens --model MODEL [FILE|-]` counts a text (standard input without FILE);
    /// `tokens --model MODEL --chat FILE.json` counts an OpenAI-style messages array as the chat
    /// API does (3 tokens per message, 1 per name, 3 to prime the reply). Exact for OpenAI models
    /// (o200k_base or cl100k_base); for other families an o200k_base-based estimate with
    /// "exact": false.
    Tokens(tokens::TokensArgs),
    /// Check answers sent through OpenRouter against OpenRouter's record of each (who served it,
    /// native tokens, the bill): prints {"report":{"total","done","matched","differing",
    /// "unavailable","cancelled"},"summary":{"routes":[…],"largest_differences":[…]}} with money
    /// as decimal strings in USD. --conversation ID, else the answers of --since/--until (UTC days).
    Reconcile(reconcile::ReconcileArgs),
}

/// Opens the engine the way every subcommand that needs one does; start-up notices go to stderr.
fn engine() -> Result<Engine, String> {
    let mut options = Options::cli();
    options.on_busy = Some(|e| eprintln!("tally-cli: {e} Waiting for it…"));
    let engine = Engine::open_default(options).map_err(|e| e.to_string())?;
    for notice in engine.notices() {
        eprintln!("tally-cli: {notice}");
    }
    Ok(engine)
}

/// An engine error in words, with its detail when there is more to say.
pub fn words(e: AppError) -> String {
    match e.detail {
        Some(detail) if !detail.is_empty() => format!("{}\n{detail}", e.message),
        _ => e.message,
    }
}

/// A subcommand that works on the engine.
async fn with_engine(command: Command) -> Result<ExitCode, String> {
    let engine = engine()?;
    match command {
        Command::Ask(args) => ask::run(engine, args).await,
        Command::Keys(cmd) => keys::run(&engine, cmd).await,
        Command::Catalog(cmd) => prices::refresh(&engine, cmd).await,
        Command::Price { target } => prices::price(&engine, &target),
        Command::Cost(args) => prices::cost_of(&engine, args),
        Command::Usage(args) => usage::run(&engine, args).await,
        Command::Tokens(args) => tokens::run(args),
        Command::Reconcile(args) => reconcile::run(&engine, args).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to the data dir's logs/ folder, never to the terminal (stdout is JSON lines).
    if let Some(data_dir) = tally_engine::paths::data_dir() {
        let _ = tally_engine::logs::init(&data_dir, "tally-cli");
    }
    let result = match cli.command {
        // Counting needs no database, keyring or settings.
        Command::Tokens(args) => tokens::run(args),
        command => with_engine(command).await,
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("tally-cli: {message}");
            ExitCode::from(2)
        }
    }
}
