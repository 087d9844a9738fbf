//! The price catalog as the app keeps it: refresh on request, the user's overrides, route fees.

use tally_engine::pricing::{catalog_store, CatalogInfo, Fees, KnownTarget, Price};
use tally_engine::store::overrides;
use tally_engine::target::Target;
use ts_rs::TS;

use super::{known, AppState};
use crate::error::AppError;

impl AppState {
    /// Sets a route's fee in percent (OpenRouter's fee on buying credits, say) and keeps it.
    pub fn set_fee(&self, route: String, percent: String) -> Result<Fees, AppError> {
        let p = known(&route)?;
        let value: tally_engine::Decimal = percent.trim().trim_end_matches('%').trim().parse().map_err(|_| AppError::new("invalid", format!("A fee is a percentage like 5.5; got \"{percent}\".")))?;
        if value.is_sign_negative() || value > tally_engine::Decimal::ONE_HUNDRED {
            return Err(AppError::new("invalid", "A fee is between 0 and 100 %."));
        }
        let mut settings = self.endpoints.settings();
        let mut fees = settings.fees();
        fees.percent_by_route.insert(p.id.to_string(), value.normalize());
        settings.fees = Some(fees.clone());
        self.save_settings(&settings)?;
        self.endpoints.set_settings(settings);
        self.pricing.set_fees(fees.clone());
        Ok(fees)
    }

    pub fn fees(&self) -> Fees {
        self.pricing.fees()
    }

    pub fn catalog_info(&self) -> CatalogInfo {
        self.pricing.catalog().info()
    }

    /// Fetches OpenRouter's current models list (only when the user asks). On any failure the
    /// prices in use stay, and the error says why in words.
    pub async fn refresh_catalog(&self) -> Result<CatalogInfo, AppError> {
        let base = self.endpoints.settings().base_url(known("openrouter")?);
        let (prices, as_of) = catalog_store::refresh(&self.http, &base, &self.data_dir).await.map_err(|e| AppError::new("catalog_refresh", e.to_string()))?;
        self.pricing.update_catalog(|c| c.with_openrouter(prices, as_of));
        Ok(self.catalog_info())
    }

    fn row(&self, target: &Target) -> Option<KnownTarget> {
        self.pricing.catalog().known_targets().into_iter().find(|k| k.target == target.to_string())
    }

    /// Sets the user's own price for a target, given per million tokens as the user reads them.
    pub async fn set_price_override(&self, target: String, per_million: PriceInput) -> Result<KnownTarget, AppError> {
        let target = Target::parse(&target)?;
        let base = self.pricing.catalog().price(&target, None);
        let price = per_million.to_price(base.as_ref())?;
        let (t, p) = (target.clone(), price.clone());
        self.store().run(move |c| overrides::set(c, &t, &p)).await?;
        self.pricing.update_catalog(|mut c| {
            c.set_override(&target, Some(price));
            c
        });
        self.row(&target).ok_or_else(|| AppError::new("internal", "The override was saved but the price list did not show it."))
    }

    pub async fn reset_price_override(&self, target: String) -> Result<Option<KnownTarget>, AppError> {
        let target = Target::parse(&target)?;
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
    fn to_price(&self, base: Option<&Price>) -> Result<Price, AppError> {
        let parse = |label: &str, s: &str| -> Result<tally_engine::Decimal, AppError> {
            let d: tally_engine::Decimal = s.trim().trim_start_matches('$').parse().map_err(|_| AppError::new("invalid", format!("{label} must be a number of dollars per million tokens, like 0.15; got \"{s}\".")))?;
            if d.is_sign_negative() {
                return Err(AppError::new("invalid", format!("{label} cannot be negative.")));
            }
            Ok((d / tally_engine::Decimal::from(1_000_000)).normalize())
        };
        let optional = |label: &str, s: &Option<String>| -> Result<Option<tally_engine::Decimal>, AppError> {
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
