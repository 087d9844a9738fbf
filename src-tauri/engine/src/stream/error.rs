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
    /// The stream went quiet for longer than the idle timeout (not retried: it ends in words).
    Stalled,
    /// The answer took longer than the deadline per answer (not retried).
    Deadline,
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
            ErrorKind::Stalled => "stalled",
            ErrorKind::Deadline => "deadline",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use ErrorKind::*;
        [Auth, RateLimited, Quota, BadRequest, ModelNotFound, ContextTooLong, Overloaded, Server, Network, Timeout, Stalled, Deadline, Malformed, Cancelled]
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

    /// Nothing arrived for `idle`: the answer ends here, in words, with what arrived kept.
    pub fn stalled(provider: &str, idle: std::time::Duration) -> Self {
        ProviderError::new(
            ErrorKind::Stalled,
            format!("{provider} sent nothing for {}, so Tally stopped waiting. What arrived is kept; try again, or raise the idle timeout in Settings.", seconds(idle)),
        )
    }

    /// The answer took longer than the deadline per answer.
    pub fn deadline(provider: &str, limit: std::time::Duration) -> Self {
        ProviderError::new(
            ErrorKind::Deadline,
            format!("{provider} was still answering after {}, the limit for one answer, so Tally stopped it. What arrived is kept.", seconds(limit)),
        )
    }

    /// A successful status whose body is not an API answer (a login page, a proxy's error page):
    /// says what arrived (its type and first bytes) and is not retried.
    pub fn not_an_api(provider: &str, content_type: &str, first_bytes: &[u8]) -> Self {
        let shown = if content_type.is_empty() { "no content type".to_string() } else { content_type.to_string() };
        let text = String::from_utf8_lossy(&first_bytes[..first_bytes.len().min(300)]);
        let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        ProviderError::new(
            ErrorKind::Malformed,
            format!("{provider} answered with {shown} instead of an event stream: this is not the API. Check the provider's base URL in Settings."),
        )
        .with_detail(format!("Content-Type: {shown}. First bytes: {}", text.trim()))
    }

    pub fn malformed(provider: &str, what: &str) -> Self {
        ProviderError::new(ErrorKind::Malformed, format!("{provider} sent something Tally could not read. What arrived before it is kept."))
            .with_detail(truncate(what, 2000))
    }

    /// Usage no answer can have (more than a billion tokens, a negative count, more cached than
    /// input tokens): not recorded as billed. The answer's text is kept and its tokens estimated.
    pub fn impossible_usage(provider: &str, what: &str, raw: &str) -> Self {
        ProviderError::new(
            ErrorKind::Malformed,
            format!("{provider} reported usage that cannot be right: {what}. The answer's text is kept; its tokens are Tally's estimate."),
        )
        .with_detail(truncate(raw, 2000))
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

/// `60 s`, `1.5 s`, `250 ms`.
fn seconds(d: std::time::Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
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

/// Replaces the key, any 12-character slice of it, and the key as providers and proxies echo it
/// (JSON-escaped, percent-encoded, base64, alone or inside a longer base64 text) with `***`.
/// Providers echo parts of a rejected key in their error texts; none of it may reach a log, the
/// database or the UI.
pub fn redact(text: &str, key: &str) -> String {
    const SLICE: usize = 12;
    let key = key.trim();
    if key.is_empty() {
        return text.to_string();
    }
    let mut out = text.to_string();
    let mut forms = encoded_forms(key);
    // Longest first, so that a form containing another is replaced whole.
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    for form in forms {
        if out.contains(&form) {
            out = out.replace(&form, "***");
        }
    }
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

/// The key as it may appear in a provider's text, each form at least 8 characters long.
fn encoded_forms(key: &str) -> Vec<String> {
    let mut forms = vec![key.to_string()];
    // JSON: as serde writes it, with `/` escaped too, and with every non-ASCII character as
    // `\uXXXX` (UTF-16, as Python and many servers write it), in both hex cases.
    let json = serde_json::to_string(key).unwrap_or_default();
    let json = json.strip_prefix('"').and_then(|j| j.strip_suffix('"')).unwrap_or(&json).to_string();
    forms.push(json.replace('/', "\\/"));
    for upper in [false, true] {
        let mut ascii = String::new();
        for c in json.chars() {
            if c.is_ascii() {
                ascii.push(c);
            } else {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    ascii.push_str(&if upper { format!("\\u{u:04X}") } else { format!("\\u{u:04x}") });
                }
            }
        }
        forms.push(ascii.replace('/', "\\/"));
        forms.push(ascii);
    }
    forms.push(json);
    // Percent-encoding of every byte outside the unreserved set, in both hex cases.
    let mut pct = String::new();
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            pct.push(b as char);
        } else {
            pct.push_str(&format!("%{b:02X}"));
        }
    }
    forms.push(pct.clone());
    forms.push(percent_lower(&pct));
    // Base64 (standard and URL-safe): the key's own encoding, and the part of a longer base64
    // text that depends only on the key wherever it starts (`user:KEY` in a Basic header).
    for alphabet in [STANDARD, URL_SAFE] {
        for offset in 0..3 {
            forms.push(base64_core(key.as_bytes(), offset, alphabet));
        }
        forms.push(base64_padded(key.as_bytes(), alphabet));
    }
    forms.retain(|f| f.len() >= 8);
    forms.sort();
    forms.dedup();
    forms
}

fn percent_lower(pct: &str) -> String {
    let mut out = String::with_capacity(pct.len());
    let mut hex_left = 0;
    for c in pct.chars() {
        if c == '%' {
            hex_left = 2;
            out.push(c);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The base64 characters of `offset` zero bytes followed by `bytes` that depend on `bytes` alone.
fn base64_core(bytes: &[u8], offset: usize, alphabet: &[u8; 64]) -> String {
    let mut data = vec![0u8; offset];
    data.extend_from_slice(bytes);
    let bits = data.len() * 8;
    let (first_bit, last_bit) = (offset * 8, bits);
    let mut out = String::new();
    let mut j = first_bit.div_ceil(6);
    while 6 * j + 6 <= last_bit {
        out.push(alphabet[sextet(&data, j)] as char);
        j += 1;
    }
    out
}

/// The whole base64 encoding of `bytes`, `=`-padded.
fn base64_padded(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut data = bytes.to_vec();
    let chars = (bytes.len() * 8).div_ceil(6);
    data.push(0);
    let mut out: String = (0..chars).map(|j| alphabet[sextet(&data, j)] as char).collect();
    let padding = (4 - out.len() % 4) % 4;
    out.push_str(&"=".repeat(padding));
    out
}

/// The `j`-th group of six bits of `data` (bits past the end read as zero).
fn sextet(data: &[u8], j: usize) -> usize {
    let bit = 6 * j;
    let byte = |i: usize| u16::from(data.get(i).copied().unwrap_or(0));
    let pair = (byte(bit / 8) << 8) | byte(bit / 8 + 1);
    usize::from((pair >> (10 - bit % 8)) & 0x3f)
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
    fn redact_catches_the_key_json_escaped_percent_encoded_and_in_base64() {
        let key = "sk-tëst/0123456789abcdef+XYZ";
        let json = serde_json::to_string(key).unwrap();
        let ascii_json = r"sk-t\u00ebst\/0123456789abcdef+XYZ";
        let pct = "sk-t%C3%ABst%2F0123456789abcdef%2BXYZ";
        // Base64 of the key, and of `user:KEY` (the key starting at an offset of 5 bytes).
        let b64 = "c2stdMOrc3QvMDEyMzQ1Njc4OWFiY2RlZitYWVo=";
        let basic = "dXNlcjpzay10w6tzdC8wMTIzNDU2Nzg5YWJjZGVmK1hZWg==";
        for form in [json.as_str(), ascii_json, pct, &pct.to_lowercase(), b64, basic] {
            let text = format!("{{\"error\":{{\"message\":\"Incorrect API key provided: {form}\"}}}}");
            let out = redact(&text, key);
            assert!(out.contains("***"), "{form} not redacted: {out}");
            for piece in ["0123456789ab", "MDEyMzQ1Njc4", "wMTIzNDU2Nzg5"] {
                assert!(!out.contains(piece), "{piece} left in {out}");
            }
            assert!(out.contains("Incorrect API key provided"), "{out}");
        }
    }

    #[test]
    fn base64_forms_match_a_reference_encoding() {
        assert_eq!(base64_padded(b"sk-test-key", STANDARD), "c2stdGVzdC1rZXk=");
        assert_eq!(base64_padded(b"ab", STANDARD), "YWI=");
        assert_eq!(base64_padded(b"abc", STANDARD), "YWJj");
        // "x" + "sk-test-key" = eHNrLXRlc3Qta2V5: the part fixed by the key alone starts after "eH".
        assert!("eHNrLXRlc3Qta2V5".contains(&base64_core(b"sk-test-key", 1, STANDARD)));
        assert_eq!(base64_core(b"sk-test-key", 1, STANDARD), "NrLXRlc3Qta2V5");
    }

    #[test]
    fn error_kinds_round_trip_through_their_stable_strings() {
        for k in ["auth", "rate_limited", "quota", "cancelled", "malformed"] {
            assert_eq!(ErrorKind::parse(k).unwrap().as_str(), k);
        }
        assert_eq!(ErrorKind::parse("nope"), None);
    }
}
