//! The price catalog as the product keeps it: prices and costs asked for, refresh on request,
//! the user's overrides, route fees.

use rust_decimal::Decimal;
use serde::Serialize;
use ts_rs::TS;

use super::{known, AppError, Engine, Result};
use crate::pricing::catalog::DirectFile;
use crate::pricing::{catalog_store, cost, CatalogInfo, Cost, Fees, KnownTarget, Price};
use crate::store::overrides;
use crate::stream::Usage;
use crate::target::Target;

/// A target's price with its twin on the other route and the catalog it came from.
#[derive(Debug, Serialize)]
pub struct PriceQuote {
    pub target: Target,
    pub price: Price,
    pub twin: Option<Target>,
    pub catalog: CatalogInfo,
}

/// What a usage would cost on a target: the itemised cost, the route's fee and the price used.
#[derive(Debug, Serialize)]
pub struct CostQuote {
    pub target: Target,
    pub cost: Cost,
    pub fee_percent: Decimal,
    pub price: Price,
}

impl Engine {
    pub fn known_targets(&self) -> Vec<KnownTarget> {
        self.pricing.catalog().known_targets()
    }

    pub fn fees(&self) -> Fees {
        self.pricing.fees()
    }

    pub fn catalog_info(&self) -> CatalogInfo {
        self.pricing.catalog().info()
    }

    /// A target's price per token, as the catalog has it now.
    pub fn price(&self, target: &str) -> Result<PriceQuote> {
        let target = Target::parse(target)?;
        let catalog = self.pricing.catalog();
        let price = catalog.price(&target, None).ok_or_else(|| AppError::invalid(format!("For {target}, no price is known.")))?;
        Ok(PriceQuote { twin: catalog.twin(&target), price, catalog: catalog.info(), target })
    }

    /// What `usage` would cost on a target, with the route's fee. Cached reads and cache writes
    /// are parts of the input, reasoning a part of the output.
    pub fn cost_of(&self, target: &str, usage: &Usage) -> Result<CostQuote> {
        if usage.cached_input_tokens + usage.cache_write_tokens > usage.input_tokens {
            return Err(AppError::invalid("Cached and cache-write tokens are parts of the input and cannot add up to more."));
        }
        if usage.reasoning_tokens > usage.output_tokens {
            return Err(AppError::invalid("Reasoning tokens are part of the output and cannot be more."));
        }
        let quote = self.price(target)?;
        let fee_percent = self.pricing.fees().percent(&quote.target.route);
        let cost = cost(usage, &quote.price, fee_percent).map_err(|e| AppError::invalid(e.to_string()))?;
        Ok(CostQuote { cost, fee_percent, price: quote.price, target: quote.target })
    }

    /// Sets a route's fee in percent (OpenRouter's fee on buying credits, say) and keeps it.
    pub fn set_fee(&self, route: &str, percent: &str) -> Result<Fees> {
        let p = known(route)?;
        let value: Decimal = percent.trim().trim_end_matches('%').trim().parse().map_err(|_| AppError::invalid(format!("A fee is a percentage like 5.5; got \"{percent}\".")))?;
        if value.is_sign_negative() || value > Decimal::ONE_HUNDRED {
            return Err(AppError::invalid("A fee is between 0 and 100 %."));
        }
        let mut settings = self.settings();
        let mut fees = settings.fees();
        fees.percent_by_route.insert(p.id.to_string(), value.normalize());
        settings.fees = Some(fees.clone());
        self.save_settings(settings)?;
        self.pricing.set_fees(fees.clone());
        Ok(fees)
    }

    /// Fetches OpenRouter's current models list (only when asked), from `base_url` or the
    /// configured one. On any failure the prices in use stay, and the error says why in words.
    pub async fn refresh_catalog(&self, base_url: Option<&str>) -> Result<(CatalogInfo, usize)> {
        let base = match base_url {
            Some(url) => crate::settings::normalise_base_url("openrouter", url)?,
            None => self.settings().base_url(known("openrouter")?),
        };
        let (prices, as_of) = catalog_store::refresh(&self.http, &base, &self.data_dir).await?;
        let models = prices.len();
        self.pricing.update_catalog(|c| c.with_openrouter(prices, as_of));
        Ok((self.catalog_info(), models))
    }

    /// Fetches direct list prices from LiteLLM's price map (only when asked), from `url` or the
    /// configured one, and uses them. On any failure the prices in use stay.
    pub async fn refresh_direct_prices(&self, url: Option<&str>) -> Result<DirectFile> {
        let url = url.map_or_else(|| self.settings().price_map_url(), str::to_string);
        let current = self.pricing.catalog().clone();
        let file = catalog_store::refresh_direct(&self.http, &url, &self.data_dir, &current).await?;
        let kept = file.clone();
        self.pricing.update_catalog(|c| c.with_direct(kept));
        Ok(file)
    }

    /// Goes back to the price list the last refresh replaced (the built-in one after a first
    /// refresh); doing it again undoes it.
    pub fn restore_catalog(&self) -> Result<CatalogInfo> {
        let catalog = catalog_store::restore_previous(&self.data_dir).map_err(|e| AppError::new(super::AppCode::CatalogRefresh, e.to_string()))?;
        let info = catalog.info();
        self.pricing.update_catalog(|_| catalog);
        Ok(info)
    }

    fn row(&self, target: &Target) -> Option<KnownTarget> {
        self.pricing.catalog().known_targets().into_iter().find(|k| k.target == target.to_string())
    }

    /// Sets the user's own price for a target, given per million tokens as the user reads them.
    pub async fn set_price_override(&self, target: &str, per_million: PriceInput) -> Result<KnownTarget> {
        let target = Target::parse(target)?;
        let base = self.pricing.catalog().price(&target, None);
        let price = per_million.to_price(base.as_ref())?;
        let (t, p) = (target.clone(), price.clone());
        self.store().run(move |c| overrides::set(c, &t, &p)).await?;
        self.pricing.update_catalog(|mut c| {
            c.set_override(&target, Some(price));
            c
        });
        self.row(&target).ok_or_else(|| AppError::internal("The override was saved but the price list did not show it."))
    }

    pub async fn reset_price_override(&self, target: &str) -> Result<Option<KnownTarget>> {
        let target = Target::parse(target)?;
        let t = target.clone();
        self.store().run(move |c| overrides::delete(c, &t)).await?;
        self.pricing.update_catalog(|mut c| {
            c.set_override(&target, None);
            c
        });
        Ok(self.row(&target))
    }
}

/// A price as typed in the UI: USD per million tokens, as decimal text.
#[derive(Debug, Clone, serde::Deserialize, TS)]
#[ts(export)]
pub struct PriceInput {
    pub input: String,
    pub output: String,
    pub cached_input: Option<String>,
    pub cache_write: Option<String>,
}

impl PriceInput {
    /// Per-token prices from per-million text: dividing by 10^6 only moves the decimal point.
    fn to_price(&self, base: Option<&Price>) -> Result<Price> {
        let parse = |label: &str, s: &str| -> Result<Decimal> {
            let d: Decimal = s.trim().trim_start_matches('$').parse().map_err(|_| AppError::invalid(format!("{label} must be a number of dollars per million tokens, like 0.15; got \"{s}\".")))?;
            if d.is_sign_negative() {
                return Err(AppError::invalid(format!("{label} cannot be negative.")));
            }
            Ok((d / Decimal::from(1_000_000)).normalize())
        };
        let optional = |label: &str, s: &Option<String>| -> Result<Option<Decimal>> {
            match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => parse(label, s).map(Some),
            }
        };
        Ok(Price {
            input: parse("The input price", &self.input)?,
            output: parse("The output price", &self.output)?,
            cached_input: optional("The cached input price", &self.cached_input)?,
            cache_write: optional("The cache write price", &self.cache_write)?,
            reasoning: base.and_then(|b| b.reasoning),
            request: base.and_then(|b| b.request),
            tiers: Vec::new(),
            source: "your override".into(),
        })
    }
}
