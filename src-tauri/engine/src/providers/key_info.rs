//! The OpenRouter account behind a key, on request: `GET {base}/key` (the call the key check
//! makes), read into [`KeyInfo`]. OpenRouter's JSON stays here.
//!
//! Amounts are USD credits. JSON numbers are read through their shortest decimal text (what
//! OpenRouter wrote, for any amount of up to 15 significant digits) into exact decimals.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use super::check::authed_get;
use super::{Endpoint, ProviderError};

/// What OpenRouter says about a key. `limit` `None` means no spending limit; fields OpenRouter
/// did not send are `None` (older answers lack the daily / weekly / monthly usage).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct KeyInfo {
    pub label: Option<String>,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub limit: Option<Decimal>,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub limit_remaining: Option<Decimal>,
    /// When the limit resets (`daily`, `weekly`, `monthly`), if it does.
    pub limit_reset: Option<String>,
    /// Credits used by this key, all time.
    #[ts(as = "crate::brands::ts::Money")]
    pub usage: Decimal,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub usage_daily: Option<Decimal>,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub usage_weekly: Option<Decimal>,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub usage_monthly: Option<Decimal>,
    pub is_free_tier: bool,
    pub is_provisioning_key: Option<bool>,
    /// Requests allowed per `rate_limit_interval`, when OpenRouter says.
    #[ts(type = "number | null")]
    pub rate_limit_requests: Option<u64>,
    pub rate_limit_interval: Option<String>,
}

fn amount(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => {
            let text = n.to_string();
            Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).ok().map(|d| d.normalize())
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok().map(|d| d.normalize()),
        _ => None,
    }
}

/// Reads OpenRouter's `{"data": {...}}` answer.
pub fn parse_key_info(body: &str) -> Result<KeyInfo, ProviderError> {
    let root: Value = serde_json::from_str(body).map_err(|_| ProviderError::malformed("OpenRouter", body))?;
    let d = root.get("data").filter(|d| d.is_object()).ok_or_else(|| ProviderError::malformed("OpenRouter", body))?;
    let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_string);
    let dec = |k: &str| d.get(k).and_then(amount);
    let rate = d.get("rate_limit");
    Ok(KeyInfo {
        label: text("label"),
        limit: dec("limit"),
        limit_remaining: dec("limit_remaining"),
        limit_reset: text("limit_reset"),
        usage: dec("usage").ok_or_else(|| ProviderError::malformed("OpenRouter", body))?,
        usage_daily: dec("usage_daily"),
        usage_weekly: dec("usage_weekly"),
        usage_monthly: dec("usage_monthly"),
        is_free_tier: d.get("is_free_tier").and_then(Value::as_bool).unwrap_or(false),
        is_provisioning_key: d.get("is_provisioning_key").and_then(Value::as_bool),
        rate_limit_requests: rate.and_then(|r| r.get("requests")).and_then(Value::as_u64),
        rate_limit_interval: rate.and_then(|r| r.get("interval")).and_then(Value::as_str).map(str::to_string),
    })
}

/// Asks OpenRouter about the endpoint's key. Errors are the usual provider kinds (`auth` for a
/// rejected key, `network`, `malformed`, …), with the key redacted from any detail.
pub async fn openrouter_key_info(http: &reqwest::Client, endpoint: &Endpoint) -> Result<KeyInfo, ProviderError> {
    let name = endpoint.provider.name;
    let redacted = |e: ProviderError| match &endpoint.api_key {
        Some(key) => e.redacted(key.expose()),
        None => e,
    };
    let response = authed_get(http, endpoint, endpoint.url("key")).send().await.map_err(|e| redacted(ProviderError::network(name, &e)))?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| redacted(ProviderError::network(name, &e)))?;
    if !(200..300).contains(&status) {
        return Err(redacted(ProviderError::from_status(name, status, &body, None)));
    }
    parse_key_info(&body).map_err(redacted)
}
