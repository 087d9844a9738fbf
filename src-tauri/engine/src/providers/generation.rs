//! OpenRouter's record of one generation, on request: `GET {base}/generation?id=…`, read into
//! [`Generation`]. OpenRouter's JSON stays here.
//!
//! The record lags the answer by a few seconds: until it exists OpenRouter answers 404, which is
//! [`GenerationLookup::NotYet`], not an error. Amounts are read exactly as written
//! (`0.00333825`, `1.5e-07`), never through a binary float.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::check::authed_get;
use super::sse::exact_decimal;
use super::{Endpoint, ProviderError};

/// What OpenRouter billed for one generation and who served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub id: String,
    /// The provider that served the answer (`Infermatic`, `xAI`, …).
    pub provider_name: Option<String>,
    pub model: Option<String>,
    /// Token counts as the serving provider counted them.
    pub native_input_tokens: Option<u64>,
    pub native_output_tokens: Option<u64>,
    pub native_cached_tokens: Option<u64>,
    pub native_reasoning_tokens: Option<u64>,
    /// OpenRouter's charge, USD.
    pub total_cost: Decimal,
    /// With BYOK, what the provider billed the user's own key (OpenRouter: "0 or null" otherwise).
    pub upstream_inference_cost: Option<Decimal>,
    pub is_byok: bool,
    /// The discount for cached input, USD, when OpenRouter reports one.
    pub cache_discount: Option<Decimal>,
    pub generation_time_ms: Option<u64>,
    pub latency_ms: Option<u64>,
}

impl Generation {
    /// What the user paid for it: OpenRouter's charge, plus the provider's own bill with BYOK
    /// (the same rule the stream's `usage.cost` is read with).
    pub fn billed(&self) -> Decimal {
        let upstream = if self.is_byok { self.upstream_inference_cost.unwrap_or_default() } else { Decimal::ZERO };
        (self.total_cost + upstream).normalize()
    }
}

/// The answer to one look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerationLookup {
    Found(Box<Generation>),
    /// OpenRouter has no record yet (404): it lags the answer; ask again later.
    NotYet,
}

#[derive(Deserialize)]
struct Root {
    data: Wire,
}

#[derive(Deserialize)]
struct Wire {
    id: String,
    provider_name: Option<String>,
    model: Option<String>,
    native_tokens_prompt: Option<u64>,
    native_tokens_completion: Option<u64>,
    native_tokens_cached: Option<u64>,
    native_tokens_reasoning: Option<u64>,
    total_cost: Option<Box<RawValue>>,
    upstream_inference_cost: Option<Box<RawValue>>,
    #[serde(default)]
    is_byok: Option<bool>,
    cache_discount: Option<Box<RawValue>>,
    generation_time: Option<Box<RawValue>>,
    latency: Option<Box<RawValue>>,
}

/// Milliseconds as OpenRouter writes them (an integer, sometimes a float): whole ms.
fn ms(raw: Option<&RawValue>) -> Option<u64> {
    let d = exact_decimal(raw?)?;
    if d.is_sign_negative() {
        return None;
    }
    rust_decimal::prelude::ToPrimitive::to_u64(&d.round())
}

/// Reads OpenRouter's `{"data": {...}}` answer. A record without a readable `total_cost` is
/// malformed: a reconciliation without the bill would be a guess.
pub fn parse_generation(body: &str) -> Result<Generation, ProviderError> {
    let root: Root = serde_json::from_str(body).map_err(|e| ProviderError::malformed("OpenRouter", &format!("{e} in: {body}")))?;
    let w = root.data;
    let money = |raw: &Option<Box<RawValue>>| raw.as_deref().and_then(exact_decimal).map(|d| d.normalize());
    let total_cost = money(&w.total_cost).filter(|d| !d.is_sign_negative()).ok_or_else(|| ProviderError::malformed("OpenRouter", body))?;
    Ok(Generation {
        id: w.id,
        provider_name: w.provider_name,
        model: w.model,
        native_input_tokens: w.native_tokens_prompt,
        native_output_tokens: w.native_tokens_completion,
        native_cached_tokens: w.native_tokens_cached,
        native_reasoning_tokens: w.native_tokens_reasoning,
        total_cost,
        upstream_inference_cost: money(&w.upstream_inference_cost),
        is_byok: w.is_byok.unwrap_or(false),
        cache_discount: money(&w.cache_discount),
        generation_time_ms: ms(w.generation_time.as_deref()),
        latency_ms: ms(w.latency.as_deref()),
    })
}

/// Asks OpenRouter for one generation's record. Errors are the usual provider kinds (`auth`,
/// `rate_limit`, `network`, `malformed`, …), with the key redacted from any detail.
pub async fn openrouter_generation(http: &reqwest::Client, endpoint: &Endpoint, id: &str) -> Result<GenerationLookup, ProviderError> {
    let name = endpoint.provider.name;
    let redacted = |e: ProviderError| match &endpoint.api_key {
        Some(key) => e.redacted(key.expose()),
        None => e,
    };
    let request = authed_get(http, endpoint, endpoint.url("generation")).query(&[("id", id)]);
    let response = request.send().await.map_err(|e| redacted(ProviderError::network(name, &e)))?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| redacted(ProviderError::network(name, &e)))?;
    if status == 404 {
        return Ok(GenerationLookup::NotYet);
    }
    if !(200..300).contains(&status) {
        return Err(redacted(ProviderError::from_status(name, status, &body, None)));
    }
    parse_generation(&body).map(|g| GenerationLookup::Found(Box::new(g))).map_err(redacted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn fixture() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/openrouter-generation.json")).unwrap()
    }

    #[test]
    fn the_documented_generation_is_read_exactly() {
        let g = parse_generation(&fixture()).unwrap();
        assert_eq!(g.id, "gen-3bhGkxlo4XFrqiabUM7NDtwDzWwG");
        assert_eq!(g.provider_name.as_deref(), Some("Infermatic"));
        assert_eq!(g.model.as_deref(), Some("sao10k/l3-stheno-8b"));
        assert_eq!((g.native_input_tokens, g.native_output_tokens, g.native_cached_tokens, g.native_reasoning_tokens), (Some(10), Some(25), Some(3), Some(5)));
        assert_eq!(g.total_cost, d("0.0015"));
        assert_eq!(g.upstream_inference_cost, Some(d("0.0012")));
        assert!(!g.is_byok);
        assert_eq!(g.cache_discount, None); // null in the payload
        assert_eq!(g.generation_time_ms, Some(1200));
        assert_eq!(g.latency_ms, Some(1250));
        // Not BYOK: the upstream figure is not a second bill.
        assert_eq!(g.billed(), d("0.0015"));
    }

    #[test]
    fn with_byok_the_providers_bill_is_added_to_openrouters_charge() {
        let body = fixture().replace("\"is_byok\": false", "\"is_byok\": true");
        let g = parse_generation(&body).unwrap();
        assert_eq!(g.billed(), d("0.0027")); // 0.0015 + 0.0012
    }

    #[test]
    fn a_record_without_a_total_cost_is_malformed_not_free() {
        let body = fixture().replace("\"total_cost\": 0.0015", "\"total_cost\": null");
        assert_eq!(parse_generation(&body).unwrap_err().kind, super::super::ErrorKind::Malformed);
        assert!(parse_generation("<html>").is_err());
    }

    #[test]
    fn a_cache_discount_in_scientific_notation_is_exact() {
        let body = fixture().replace("\"cache_discount\": null", "\"cache_discount\": 1.5e-07");
        assert_eq!(parse_generation(&body).unwrap().cache_discount, Some(d("0.00000015")));
    }
}
