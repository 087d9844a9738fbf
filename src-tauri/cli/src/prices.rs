//! `tally-cli catalog refresh`, `tally-cli price TARGET`, `tally-cli cost TARGET …`: the same
//! catalog and cost computation as the app, as JSON with money in decimal strings.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;
use tally_engine::app::{AppCode, Engine};
use tally_engine::stream::Usage;

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Fetch OpenRouter's current models list and keep it; on any failure the previous prices stay.
    Refresh {
        /// Where OpenRouter is, e.g. openrouter=http://127.0.0.1:8787/api/v1.
        #[arg(long = "base-url", value_name = "openrouter=URL")]
        base_url: Option<String>,
    },
    /// Fetch direct list prices from LiteLLM's price map and keep them; on any failure the
    /// previous prices stay. Prints {"refreshed","direct_models","as_of","source"}.
    RefreshDirect {
        /// The price map's address (default: the settings', else LiteLLM's published map).
        #[arg(long)]
        url: Option<String>,
    },
    /// Go back to the price list the last refresh replaced (the built-in one after a first
    /// refresh); prints {"restored", "catalog"}. Running it again undoes it.
    Restore,
}

#[derive(Args)]
pub struct CostArgs {
    /// route:model
    target: String,
    /// Every input token, cached reads and cache writes included.
    #[arg(long)]
    input: u64,
    /// Of the input, tokens read from the cache.
    #[arg(long, default_value_t = 0)]
    cached: u64,
    /// Of the input, tokens written to the cache.
    #[arg(long = "cache-write", default_value_t = 0)]
    cache_write: u64,
    /// Every output token, reasoning included.
    #[arg(long)]
    output: u64,
    /// Of the output, reasoning tokens.
    #[arg(long, default_value_t = 0)]
    reasoning: u64,
}

pub async fn refresh(engine: &Engine, cmd: CatalogCommand) -> Result<ExitCode, String> {
    let base_url = match cmd {
        CatalogCommand::Refresh { base_url } => base_url,
        CatalogCommand::RefreshDirect { url } => {
            return Ok(match engine.refresh_direct_prices(url.as_deref()).await {
                Ok(file) => {
                    println!("{}", json!({"refreshed": true, "direct_models": file.models.len(), "as_of": file.as_of, "source": file.source}));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    println!("{}", json!({"refreshed": false, "error": e.message}));
                    ExitCode::from(1)
                }
            });
        }
        CatalogCommand::Restore => {
            return Ok(match engine.restore_catalog() {
                Ok(info) => {
                    println!("{}", json!({"restored": true, "catalog": info}));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    println!("{}", json!({"restored": false, "error": e.message}));
                    ExitCode::from(1)
                }
            });
        }
    };
    let base = match &base_url {
        Some(pair) => Some(pair.strip_prefix("openrouter=").ok_or("--base-url takes openrouter=URL")?),
        None => None,
    };
    match engine.refresh_catalog(base).await {
        Ok((info, models)) => {
            println!("{}", json!({"refreshed": true, "openrouter_models": models, "as_of": info.openrouter_as_of}));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is(AppCode::CatalogRefresh) => {
            println!("{}", json!({"refreshed": false, "error": e.message}));
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(crate::words(e)),
    }
}

pub fn price(engine: &Engine, target: &str) -> Result<ExitCode, String> {
    let quote = engine.price(target).map_err(crate::words)?;
    println!(
        "{}",
        json!({
            "target": quote.target.to_string(),
            "unit": "USD per token",
            "price": quote.price,
            "twin": quote.twin.map(|t| t.to_string()),
            "catalog": quote.catalog,
        })
    );
    Ok(ExitCode::SUCCESS)
}

pub fn cost_of(engine: &Engine, args: CostArgs) -> Result<ExitCode, String> {
    let usage = Usage {
        input_tokens: args.input,
        cached_input_tokens: args.cached,
        cache_write_tokens: args.cache_write,
        output_tokens: args.output,
        reasoning_tokens: args.reasoning,
        reported_cost: None,
        estimated: false,
    };
    let quote = engine.cost_of(&args.target, &usage).map_err(crate::words)?;
    let c = &quote.cost;
    println!(
        "{}",
        json!({
            "target": quote.target.to_string(),
            "breakdown": {
                "input_usd": c.input.to_string(),
                "cached_input_usd": c.cached_input.to_string(),
                "cache_write_usd": c.cache_write.to_string(),
                "output_usd": c.output.to_string(),
                "reasoning_usd": c.reasoning.to_string(),
                "request_usd": c.request.to_string(),
                "platform_fee_usd": c.platform_fee.to_string(),
            },
            "total_usd": c.total.to_string(),
            "fee_percent": quote.fee_percent.to_string(),
            "effective_total_usd": c.effective_total.to_string(),
            "price": quote.price,
        })
    );
    Ok(ExitCode::SUCCESS)
}
