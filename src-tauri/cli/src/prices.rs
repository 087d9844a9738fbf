//! `tally-cli catalog refresh`, `tally-cli price TARGET`, `tally-cli cost TARGET …`: the same
//! catalog and cost computation as the app, as JSON with money in decimal strings.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;
use tally_engine::pricing::{catalog_store, cost, Pricing};
use tally_engine::providers::provider;
use tally_engine::settings;
use tally_engine::stream::Usage;
use tally_engine::target::Target;

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

fn context() -> Result<(std::path::PathBuf, settings::Settings, Pricing), String> {
    let data_dir = tally_engine::paths::data_dir().ok_or("no data directory: set TALLY_DATA_DIR")?;
    let (settings, warning) = settings::load_or_quarantine(&tally_engine::paths::settings(&data_dir));
    let (_, pricing, catalog_warning) = crate::open_history(&data_dir, settings.fees())?;
    for w in warning.into_iter().chain(catalog_warning) {
        eprintln!("tally-cli: {w}");
    }
    Ok((data_dir, settings, pricing))
}

async fn refresh_direct(url: Option<String>) -> Result<ExitCode, String> {
    let (data_dir, settings, pricing) = context()?;
    let url = url.unwrap_or_else(|| settings.price_map_url());
    let current = pricing.catalog().clone();
    match catalog_store::refresh_direct(&tally_engine::http::client(), &url, &data_dir, &current).await {
        Ok(file) => {
            println!("{}", json!({"refreshed": true, "direct_models": file.models.len(), "as_of": file.as_of, "source": file.source}));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}", json!({"refreshed": false, "error": e.to_string()}));
            Ok(ExitCode::from(1))
        }
    }
}

pub async fn refresh(cmd: CatalogCommand) -> Result<ExitCode, String> {
    let base_url = match cmd {
        CatalogCommand::Refresh { base_url } => base_url,
        CatalogCommand::RefreshDirect { url } => return refresh_direct(url).await,
        CatalogCommand::Restore => return restore(),
    };
    let (data_dir, settings, _) = context()?;
    let base = match base_url {
        Some(pair) => {
            let url = pair.strip_prefix("openrouter=").ok_or("--base-url takes openrouter=URL")?;
            settings::normalise_base_url("openrouter", url).map_err(|e| e.to_string())?
        }
        None => settings.base_url(provider("openrouter").ok_or("no openrouter provider")?),
    };
    match catalog_store::refresh(&tally_engine::http::client(), &base, &data_dir).await {
        Ok((prices, as_of)) => {
            println!("{}", json!({"refreshed": true, "openrouter_models": prices.len(), "as_of": as_of}));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}", json!({"refreshed": false, "error": e.to_string()}));
            Ok(ExitCode::from(1))
        }
    }
}

fn restore() -> Result<ExitCode, String> {
    let data_dir = tally_engine::paths::data_dir().ok_or("no data directory: set TALLY_DATA_DIR")?;
    match catalog_store::restore_previous(&data_dir) {
        Ok(catalog) => {
            println!("{}", json!({"restored": true, "catalog": catalog.info()}));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}", json!({"restored": false, "error": e.to_string()}));
            Ok(ExitCode::from(1))
        }
    }
}

pub fn price(target: &str) -> Result<ExitCode, String> {
    let target = Target::parse(target).map_err(|e| e.to_string())?;
    let (_, _, pricing) = context()?;
    let catalog = pricing.catalog();
    let Some(price) = catalog.price(&target, None) else {
        return Err(format!("no price is known for {target}"));
    };
    println!(
        "{}",
        json!({
            "target": target.to_string(),
            "unit": "USD per token",
            "price": price,
            "twin": catalog.twin(&target).map(|t| t.to_string()),
            "catalog": catalog.info(),
        })
    );
    Ok(ExitCode::SUCCESS)
}

pub fn cost_of(args: CostArgs) -> Result<ExitCode, String> {
    let target = Target::parse(&args.target).map_err(|e| e.to_string())?;
    if args.cached + args.cache_write > args.input {
        return Err("--cached and --cache-write are parts of --input and cannot add up to more".into());
    }
    if args.reasoning > args.output {
        return Err("--reasoning is part of --output and cannot be larger".into());
    }
    let usage = Usage {
        input_tokens: args.input,
        cached_input_tokens: args.cached,
        cache_write_tokens: args.cache_write,
        output_tokens: args.output,
        reasoning_tokens: args.reasoning,
        reported_cost: None,
        estimated: false,
    };
    let (_, _, pricing) = context()?;
    let price = pricing.catalog().price(&target, None).ok_or_else(|| format!("no price is known for {target}"))?;
    let fee = pricing.fees().percent(&target.route);
    let c = cost(&usage, &price, fee).map_err(|e| e.to_string())?;
    println!(
        "{}",
        json!({
            "target": target.to_string(),
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
            "fee_percent": fee.to_string(),
            "effective_total_usd": c.effective_total.to_string(),
            "price": price,
        })
    );
    Ok(ExitCode::SUCCESS)
}
