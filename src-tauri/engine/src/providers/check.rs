//! Testing a key with a cheap authenticated call that costs nothing: listing models (OpenAI-
//! compatible and Anthropic), or OpenRouter's key endpoint (its model list is public, so it
//! would accept any key).

use serde::Serialize;
use ts_rs::TS;

use super::{Endpoint, ErrorKind, ProviderError, Wire};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum KeyVerdict {
    Valid,
    InvalidKey,
    NoNetwork,
    Unexpected,
}

/// The result of a key test, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct KeyCheck {
    pub verdict: KeyVerdict,
    pub message: String,
    /// The provider's own text, when it said something unexpected.
    pub detail: Option<String>,
}

fn check_url(endpoint: &Endpoint) -> String {
    match (endpoint.provider.wire, endpoint.provider.id) {
        (Wire::AnthropicMessages, _) => endpoint.url("v1/models"),
        (_, "openrouter") => endpoint.url("key"),
        _ => endpoint.url("models"),
    }
}

/// A GET to `url` with the provider's own authentication, for small account calls.
pub(crate) fn authed_get(http: &reqwest::Client, endpoint: &Endpoint, url: String) -> reqwest::RequestBuilder {
    let req = http.get(url).timeout(std::time::Duration::from_secs(20));
    match &endpoint.api_key {
        None => req,
        Some(key) => match endpoint.provider.wire {
            Wire::AnthropicMessages => req.header("x-api-key", key.expose()).header("anthropic-version", super::anthropic::API_VERSION),
            Wire::OpenAiChat => req.bearer_auth(key.expose()),
        },
    }
}

/// Removes the endpoint's key from a text that may quote it.
fn redact_key(endpoint: &Endpoint, text: String) -> String {
    match &endpoint.api_key {
        Some(key) => super::redact(&text, key.expose()),
        None => text,
    }
}

pub async fn check_key(http: &reqwest::Client, endpoint: &Endpoint) -> KeyCheck {
    let name = endpoint.provider.name;
    let req = authed_get(http, endpoint, check_url(endpoint));
    let redact = |text: String| redact_key(endpoint, text);
    let response = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let err = ProviderError::network(name, &e);
            return KeyCheck { verdict: KeyVerdict::NoNetwork, message: err.message, detail: err.detail.map(redact) };
        }
    };
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    match status {
        200..=299 => KeyCheck { verdict: KeyVerdict::Valid, message: format!("The key works: {name} accepted it."), detail: None },
        _ => {
            let err = ProviderError::from_status(name, status, &body, None);
            let verdict = if err.kind == ErrorKind::Auth { KeyVerdict::InvalidKey } else { KeyVerdict::Unexpected };
            let message = match verdict {
                KeyVerdict::InvalidKey => format!("{name} rejected this key. Check that it was copied whole, or create a new one."),
                _ => format!("{name} gave an unexpected answer ({status}): {}", err.message),
            };
            KeyCheck { verdict, message, detail: err.detail.map(redact) }
        }
    }
}
