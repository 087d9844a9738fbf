//! Typed provider errors, each with words a non-developer understands and the provider's own text.

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorKind {
    Auth,
    RateLimited,
    Quota,
    BadRequest,
    ModelNotFound,
    ContextTooLong,
    Overloaded,
    Server,
    Network,
    Timeout,
    Malformed,
    Cancelled,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Quota => "quota",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::ModelNotFound => "model_not_found",
            ErrorKind::ContextTooLong => "context_too_long",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Server => "server",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use ErrorKind::*;
        [Auth, RateLimited, Quota, BadRequest, ModelNotFound, ContextTooLong, Overloaded, Server, Network, Timeout, Malformed, Cancelled]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// Whether trying again later can succeed without the user changing anything.
    pub fn retryable(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Overloaded | ErrorKind::Server | ErrorKind::Network | ErrorKind::Timeout)
    }
}

/// `message` is for a person; `detail` keeps the provider's own text (redacted of the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: ErrorKind,
    pub message: String,
    pub detail: Option<String>,
    pub retry_after_ms: Option<u64>,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError { kind, message: message.into(), detail: None, retry_after_ms: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        self.detail = (!detail.trim().is_empty()).then_some(detail);
        self
    }

    pub fn cancelled() -> Self {
        ProviderError::new(ErrorKind::Cancelled, "Stopped. The partial answer and the tokens it used are kept.")
    }

    /// An HTTP error status with its body, turned into words.
    pub fn from_status(provider: &str, status: u16, body: &str, retry_after_ms: Option<u64>) -> Self {
        let lower = body.to_ascii_lowercase();
        let (kind, message) = match status {
            401 | 403 => (ErrorKind::Auth, format!("{provider} rejected the API key. Check the key in Settings, or create a new one.")),
            402 => (ErrorKind::Quota, format!("Your {provider} account is out of credit. Add credit on the provider's site, then try again.")),
            429 if lower.contains("insufficient_quota") || lower.contains("quota") && !lower.contains("rate") => {
                (ErrorKind::Quota, format!("Your {provider} account has run out of quota. Add credit or raise the limit on the provider's site."))
            }
            429 => (ErrorKind::RateLimited, format!("{provider} is rate-limiting this key: too many requests at once. Wait a moment and try again.")),
            404 => (ErrorKind::ModelNotFound, format!("{provider} does not know this model, or this key cannot use it. Check the model name.")),
            408 | 504 => (ErrorKind::Timeout, format!("{provider} took too long to answer. Try again.")),
            400 | 413 | 422 if is_context_error(&lower) => {
                (ErrorKind::ContextTooLong, "The conversation is too long for this model. Start a new conversation or shorten the prompt.".to_string())
            }
            400 | 413 | 422 => (ErrorKind::BadRequest, format!("{provider} refused the request as invalid. The provider's text below says why.")),
            529 => (ErrorKind::Overloaded, format!("{provider} is overloaded right now. Try again in a minute.")),
            500..=599 if lower.contains("overloaded") => (ErrorKind::Overloaded, format!("{provider} is overloaded right now. Try again in a minute.")),
            500..=599 => (ErrorKind::Server, format!("{provider} had a server error ({status}). It is usually temporary; try again.")),
            _ => (ErrorKind::BadRequest, format!("{provider} answered with an unexpected status {status}.")),
        };
        let mut e = ProviderError::new(kind, message).with_detail(truncate(body, 2000));
        e.retry_after_ms = retry_after_ms;
        e
    }

    /// An error event delivered inside a 200 stream (OpenRouter's `error`, Anthropic's `event: error`).
    pub fn from_stream_error(provider: &str, code: Option<u16>, error_type: Option<&str>, message: &str) -> Self {
        let kind_hint = error_type.unwrap_or_default();
        let status = match (code, kind_hint) {
            (Some(c), _) => c,
            (None, "overloaded_error") => 529,
            (None, "rate_limit_error") => 429,
            (None, "authentication_error" | "permission_error") => 401,
            (None, "not_found_error") => 404,
            (None, "invalid_request_error") => 400,
            (None, _) => 502,
        };
        let mut e = ProviderError::from_status(provider, status, message, None);
        e.message = format!("{} (The answer stopped partway; what arrived is kept.)", e.message);
        e
    }

    pub fn network(provider: &str, err: &reqwest::Error) -> Self {
        if err.is_timeout() {
            return ProviderError::new(ErrorKind::Timeout, format!("{provider} stopped answering (timed out). Try again.")).with_detail(err.to_string());
        }
        let message = if err.is_connect() {
            format!("Could not reach {provider}. Check your internet connection and the provider's base URL in Settings.")
        } else if err.is_body() || err.is_decode() {
            format!("The connection to {provider} dropped while the answer was streaming. What arrived is kept.")
        } else {
            format!("A network error interrupted the request to {provider}.")
        };
        ProviderError::new(ErrorKind::Network, message).with_detail(error_chain(err))
    }

    pub fn malformed(provider: &str, what: &str) -> Self {
        ProviderError::new(ErrorKind::Malformed, format!("{provider} sent something Tally could not read. What arrived before it is kept."))
            .with_detail(truncate(what, 2000))
    }

    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }

    /// Removes every trace of `key` from the texts (see [`redact`]).
    pub fn redacted(mut self, key: &str) -> Self {
        self.message = redact(&self.message, key);
        self.detail = self.detail.map(|d| redact(&d, key));
        self
    }
}

fn is_context_error(lower: &str) -> bool {
    ["context length", "context_length", "maximum context", "too many tokens", "prompt is too long", "context window"]
        .iter()
        .any(|needle| lower.contains(needle))
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Replaces the key, and any 12-character slice of it, with `***`. Providers echo parts of a
/// rejected key in their error texts; none of it may reach a log, the database or the UI.
pub fn redact(text: &str, key: &str) -> String {
    const SLICE: usize = 12;
    let key = key.trim();
    if key.is_empty() {
        return text.to_string();
    }
    let mut out = text.replace(key, "***");
    let chars: Vec<char> = key.chars().collect();
    if chars.len() > SLICE {
        for start in 0..=chars.len() - SLICE {
            let slice: String = chars[start..start + SLICE].iter().collect();
            if out.contains(&slice) {
                out = out.replace(&slice, "***");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds_a_person_can_act_on() {
        let cases = [
            (401, "", ErrorKind::Auth),
            (402, "", ErrorKind::Quota),
            (429, r#"{"error":{"code":"insufficient_quota"}}"#, ErrorKind::Quota),
            (429, "rate limit", ErrorKind::RateLimited),
            (404, "", ErrorKind::ModelNotFound),
            (400, "This model's maximum context length is 128000 tokens", ErrorKind::ContextTooLong),
            (400, "bad field", ErrorKind::BadRequest),
            (529, "", ErrorKind::Overloaded),
            (500, "", ErrorKind::Server),
            (504, "", ErrorKind::Timeout),
        ];
        for (status, body, kind) in cases {
            let e = ProviderError::from_status("OpenAI", status, body, None);
            assert_eq!(e.kind, kind, "status {status} body {body}");
            assert!(!e.message.contains('{'), "message is words, not JSON: {}", e.message);
        }
    }

    #[test]
    fn quota_is_not_retryable_but_rate_limits_are() {
        assert!(!ErrorKind::Quota.retryable());
        assert!(ErrorKind::RateLimited.retryable());
        assert!(ErrorKind::Overloaded.retryable());
        assert!(!ErrorKind::Auth.retryable());
    }

    #[test]
    fn redact_removes_the_key_and_any_long_slice_of_it() {
        let key = "test-key-0123456789abcdefXYZ";
        let text = format!("Incorrect API key provided: {key}. Also seen: ...56789abcdefX...");
        let out = redact(&text, key);
        assert!(!out.contains(key));
        assert!(!out.contains("56789abcdefX"), "{out}");
        assert!(out.contains("Incorrect API key provided"));
    }

    #[test]
    fn error_kinds_round_trip_through_their_stable_strings() {
        for k in ["auth", "rate_limited", "quota", "cancelled", "malformed"] {
            assert_eq!(ErrorKind::parse(k).unwrap().as_str(), k);
        }
        assert_eq!(ErrorKind::parse("nope"), None);
    }
}
