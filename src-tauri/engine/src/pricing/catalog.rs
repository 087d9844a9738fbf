//! The price catalog, in three layers: OpenRouter's models list (an embedded, dated snapshot,
//! replaced by a refresh only when the user asks and the answer is sound), direct list prices of
//! the providers' own APIs (our data file, with sources and date), and the user's overrides.
//!
//! Must not: fetch anything by itself, or let a broken refresh replace a working catalog.

use std::collections::HashMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Price, Tier};
use crate::target::Target;

const EMBEDDED_OPENROUTER: &str = include_str!("../../data/openrouter-models.json");
const EMBEDDED_DIRECT: &str = include_str!("../../data/direct-prices.json");

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("OpenRouter's answer was not a models list Tally can read ({0}). The previous prices are kept.")]
    Unreadable(String),
    #[error("OpenRouter's answer listed no priced models. The previous prices are kept.")]
    Empty,
    #[error("Could not reach OpenRouter to refresh prices ({0}). The previous prices are kept.")]
    Network(String),
    #[error("OpenRouter refused the refresh (HTTP {0}). The previous prices are kept.")]
    Status(u16),
    #[error("The price list is larger than {limit_mb} MB, more than a price list can be; Tally refused it. The previous prices are kept.")]
    TooLarge { limit_mb: usize },
    #[error("The refreshed list prices {after} models where the current one prices {before}: more than {percent} % would be dropped, which looks like a broken answer, so Tally refused it. The previous prices are kept.")]
    TooManyDropped { before: usize, after: usize, percent: usize },
    #[error("There is no previous price list to go back to.")]
    NoPrevious,
    #[error("The price map's answer was not LiteLLM's price map ({0}). The previous direct prices are kept.")]
    PriceMapUnreadable(String),
    #[error("The price map listed no chat model of a provider Tally talks to directly. The previous direct prices are kept.")]
    PriceMapEmpty,
    #[error("Could not reach the price map to refresh direct prices ({0}). The previous direct prices are kept.")]
    PriceMapNetwork(String),
    #[error("The price map's server refused the refresh (HTTP {0}). The previous direct prices are kept.")]
    PriceMapStatus(u16),
    #[error("A price map address starts with http:// or https://, like https://example.org/prices.json. Got \"{0}\".")]
    PriceMapUrl(String),
}

/// Where the OpenRouter layer came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CatalogInfo {
    /// "embedded" or "refreshed"
    pub openrouter_origin: String,
    /// The date the OpenRouter prices are from (YYYY-MM-DD).
    pub openrouter_as_of: String,
    #[ts(type = "number")]
    pub openrouter_models: u64,
    /// "embedded" or "refreshed"
    pub direct_origin: String,
    pub direct_source: String,
    pub direct_as_of: String,
    #[ts(type = "number")]
    pub direct_models: u64,
}

#[derive(Deserialize)]
struct OpenRouterList {
    #[serde(default)]
    as_of: Option<String>,
    data: Vec<OpenRouterModel>,
}

#[derive(Deserialize)]
struct OpenRouterModel {
    id: String,
    #[serde(default)]
    pricing: HashMap<String, serde_json::Value>,
}

/// Direct list prices as kept on disk: the embedded snapshot and a refresh have this shape
/// (exact decimal text in USD per token), so both are read by the same code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectFile {
    pub source: String,
    pub as_of: String,
    pub models: Vec<DirectModel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectModel {
    pub route: String,
    pub model: String,
    pub input: String,
    pub output: String,
    pub cached_input: Option<String>,
    pub cache_write: Option<String>,
    pub reasoning: Option<String>,
    #[serde(default)]
    pub tiers: Vec<Tier>,
    pub openrouter_id: Option<String>,
}

/// A direct price file's entries by `(route, model)`; entries of unknown routes or with
/// unreadable prices are left out.
fn direct_entries(file: DirectFile) -> (HashMap<(String, String), DirectEntry>, String, String) {
    let DirectFile { source, as_of, models } = file;
    let entries = models
        .into_iter()
        .filter_map(|m| {
            let price = Price {
                input: Decimal::from_str(&m.input).ok()?,
                output: Decimal::from_str(&m.output).ok()?,
                cached_input: m.cached_input.as_deref().and_then(|s| Decimal::from_str(s).ok()),
                cache_write: m.cache_write.as_deref().and_then(|s| Decimal::from_str(s).ok()).filter(|d| !d.is_zero()),
                reasoning: m.reasoning.as_deref().and_then(|s| Decimal::from_str(s).ok()),
                request: None,
                tiers: m.tiers,
                source: format!("{} list price, {source} ({as_of})", crate::providers::provider(&m.route)?.name),
            };
            Some(((m.route, m.model), DirectEntry { price, openrouter_id: m.openrouter_id }))
        })
        .collect();
    (entries, source, as_of)
}

/// Reads a direct price file (a saved refresh), refusing one without a single readable price.
pub fn parse_direct(json: &str) -> Result<DirectFile, CatalogError> {
    let file: DirectFile = serde_json::from_str(json).map_err(|e| CatalogError::PriceMapUnreadable(e.to_string()))?;
    if direct_entries(file.clone()).0.is_empty() {
        return Err(CatalogError::PriceMapEmpty);
    }
    Ok(file)
}

fn dec(v: Option<&serde_json::Value>) -> Option<Decimal> {
    match v? {
        serde_json::Value::String(s) => Decimal::from_str(s.trim()).ok(),
        serde_json::Value::Number(n) => Decimal::from_str(&n.to_string()).ok().or_else(|| Decimal::from_scientific(&n.to_string()).ok()),
        _ => None,
    }
}

/// One OpenRouter model's `pricing` object as a [`Price`]; `None` for unpriced or variable-price
/// entries (OpenRouter marks its auto-router with -1).
fn openrouter_price(pricing: &HashMap<String, serde_json::Value>, source: &str) -> Option<Price> {
    let input = dec(pricing.get("prompt"))?;
    let output = dec(pricing.get("completion"))?;
    if input.is_sign_negative() || output.is_sign_negative() {
        return None;
    }
    let positive = |d: Option<Decimal>| d.filter(|d| !d.is_sign_negative());
    let mut tiers: Vec<Tier> = pricing
        .get("overrides")
        .and_then(|o| o.as_array())
        .into_iter()
        .flatten()
        .filter(|o| o.get("utc_start").is_none() && o.get("utc_end").is_none()) // time-window discounts are not modelled
        .filter_map(|o| {
            let min = o.get("min_prompt_tokens")?.as_u64()?;
            let o: HashMap<String, serde_json::Value> = serde_json::from_value(o.clone()).ok()?;
            Some(Tier {
                above_input_tokens: min.saturating_sub(1),
                input: dec(o.get("prompt")).unwrap_or(input),
                output: dec(o.get("completion")).unwrap_or(output),
                cached_input: dec(o.get("input_cache_read")),
                cache_write: dec(o.get("input_cache_write")),
            })
        })
        .collect();
    tiers.sort_by_key(|t| t.above_input_tokens);
    Some(Price {
        input,
        output,
        cached_input: positive(dec(pricing.get("input_cache_read"))),
        cache_write: positive(dec(pricing.get("input_cache_write"))),
        reasoning: positive(dec(pricing.get("internal_reasoning"))).filter(|r| *r != output),
        request: positive(dec(pricing.get("request"))).filter(|r| !r.is_zero()),
        tiers,
        source: source.to_string(),
    })
}

/// Parses a `GET /api/v1/models` answer into prices by OpenRouter id. Refuses an answer with no
/// priced model, so an empty or truncated refresh never replaces a catalog.
pub fn parse_openrouter(json: &str, source: &str) -> Result<(HashMap<String, Price>, Option<String>), CatalogError> {
    let list: OpenRouterList = serde_json::from_str(json).map_err(|e| CatalogError::Unreadable(e.to_string()))?;
    // The date goes with every price, as it is stored with each answer (see `super::age`).
    let source = match &list.as_of {
        Some(date) => format!("{source} ({date})"),
        None => source.to_string(),
    };
    let prices: HashMap<String, Price> = list.data.iter().filter_map(|m| Some((m.id.clone(), openrouter_price(&m.pricing, &source)?))).collect();
    if prices.is_empty() {
        return Err(CatalogError::Empty);
    }
    Ok((prices, list.as_of))
}

#[derive(Debug, Clone)]
struct DirectEntry {
    price: Price,
    openrouter_id: Option<String>,
}

/// Every price Tally knows, layered.
#[derive(Debug, Clone)]
pub struct Catalog {
    openrouter: HashMap<String, Price>,
    openrouter_origin: String,
    openrouter_as_of: String,
    direct: HashMap<(String, String), DirectEntry>,
    direct_origin: String,
    direct_source: String,
    direct_as_of: String,
    overrides: HashMap<String, Price>,
}

impl Catalog {
    /// The catalog shipped in the binary: it prices offline, from the first start.
    pub fn embedded() -> Catalog {
        let or_source = "OpenRouter models list, embedded snapshot";
        let (openrouter, as_of) = parse_openrouter(EMBEDDED_OPENROUTER, or_source).unwrap_or_default();
        let direct_file = serde_json::from_str::<DirectFile>(EMBEDDED_DIRECT)
            .unwrap_or_else(|_| DirectFile { source: String::new(), as_of: String::new(), models: Vec::new() });
        let (direct, direct_source, direct_as_of) = direct_entries(direct_file);
        Catalog {
            openrouter,
            openrouter_origin: "embedded".into(),
            openrouter_as_of: as_of.unwrap_or_default(),
            direct,
            direct_origin: "embedded".into(),
            direct_source,
            direct_as_of,
            overrides: HashMap::new(),
        }
    }

    /// Replaces the direct layer with a refreshed one (already validated by [`parse_direct`]
    /// or [`super::litellm::parse`]).
    pub fn with_direct(mut self, file: DirectFile) -> Catalog {
        let (direct, source, as_of) = direct_entries(file);
        self.direct = direct;
        self.direct_origin = "refreshed".into();
        self.direct_source = source;
        self.direct_as_of = as_of;
        self
    }

    /// The OpenRouter ids the catalog knows (to find a direct model's twin).
    pub fn openrouter_ids(&self) -> std::collections::HashSet<String> {
        self.openrouter.keys().cloned().collect()
    }

    /// How many direct models are priced (a refresh that loses many is suspect).
    pub fn direct_count(&self) -> usize {
        self.direct.len()
    }

    /// Replaces the OpenRouter layer with a refreshed one (already validated by [`parse_openrouter`]).
    pub fn with_openrouter(mut self, prices: HashMap<String, Price>, as_of: String) -> Catalog {
        self.openrouter = prices;
        self.openrouter_origin = "refreshed".into();
        self.openrouter_as_of = as_of;
        self
    }

    pub fn set_override(&mut self, target: &Target, price: Option<Price>) {
        match price {
            Some(p) => self.overrides.insert(target.to_string(), p),
            None => self.overrides.remove(&target.to_string()),
        };
    }

    pub fn info(&self) -> CatalogInfo {
        CatalogInfo {
            openrouter_origin: self.openrouter_origin.clone(),
            openrouter_as_of: self.openrouter_as_of.clone(),
            openrouter_models: self.openrouter.len() as u64,
            direct_origin: self.direct_origin.clone(),
            direct_source: self.direct_source.clone(),
            direct_as_of: self.direct_as_of.clone(),
            direct_models: self.direct.len() as u64,
        }
    }

    /// The catalog's own price for `route:model`, without overrides.
    fn listed(&self, route: &str, model: &str) -> Option<Price> {
        match route {
            "openrouter" => self.openrouter.get(model).cloned(),
            _ => self.direct.get(&(route.to_string(), model.to_string())).map(|e| e.price.clone()),
        }
    }

    fn layered(&self, route: &str, model: &str) -> Option<Price> {
        self.overrides.get(&format!("{route}:{model}")).cloned().or_else(|| self.listed(route, model))
    }

    /// The price of a target. The model that actually served the answer (an OpenRouter fallback,
    /// or a dated snapshot name) is tried first, since that is what was billed.
    pub fn price(&self, target: &Target, served_model: Option<&str>) -> Option<Price> {
        if target.custom_name().is_some() {
            return self.overrides.get(&target.to_string()).cloned();
        }
        served_model
            .filter(|s| *s != target.model)
            .and_then(|served| self.layered(&target.route, served))
            .or_else(|| self.layered(&target.route, &target.model))
    }

    /// The same model on the other route: `openai:gpt-4o-mini` ↔ `openrouter:openai/gpt-4o-mini`.
    pub fn twin(&self, target: &Target) -> Option<Target> {
        if target.route == "openrouter" {
            // Prefer the provider's own route (openai for openai/…), not a host like Groq.
            let mut matches: Vec<(&(String, String), &DirectEntry)> =
                self.direct.iter().filter(|(_, e)| e.openrouter_id.as_deref() == Some(target.model.as_str())).collect();
            matches.sort_by_key(|((route, model), _)| (route == "groq", model.len()));
            return matches.first().map(|((route, model), _)| Target { route: route.clone(), model: model.clone() });
        }
        let entry = self.direct.get(&(target.route.clone(), target.model.clone()))?;
        entry.openrouter_id.as_ref().map(|id| Target { route: "openrouter".into(), model: id.clone() })
    }

    pub fn is_overridden(&self, target: &Target) -> bool {
        self.overrides.contains_key(&target.to_string())
    }

    /// The catalog's own price, ignoring any override (what "reset" goes back to).
    pub fn listed_price(&self, target: &Target) -> Option<Price> {
        self.listed(&target.route, &target.model)
    }

    /// Every priced target, direct ones first, for pickers and the pricing screen.
    pub fn targets(&self) -> Vec<(Target, Price)> {
        let mut out: Vec<(Target, Price)> = self
            .direct
            .iter()
            .map(|((route, model), e)| (Target { route: route.clone(), model: model.clone() }, e.price.clone()))
            .chain(self.openrouter.iter().map(|(id, p)| (Target { route: "openrouter".into(), model: id.clone() }, p.clone())))
            .map(|(t, p)| {
                let p = self.overrides.get(&t.to_string()).cloned().unwrap_or(p);
                (t, p)
            })
            .collect();
        for (key, p) in &self.overrides {
            if let Ok(t) = Target::parse(key) {
                if !out.iter().any(|(x, _)| x == &t) {
                    out.push((t, p.clone()));
                }
            }
        }
        out.sort_by(|a, b| (a.0.route == "openrouter", &a.0.route, &a.0.model).cmp(&(b.0.route == "openrouter", &b.0.route, &b.0.model)));
        out
    }
}
