//! Opening a streaming request and reading its server-sent events, with cancellation.
//! The SSE framing itself is parsed by the `eventsource-stream` crate.

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::{Meter, ProviderError};

type Events = Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<reqwest::Error>>> + Send>>;

pub(crate) struct Sse {
    events: Events,
    provider: &'static str,
}

/// Sends the request; an error status becomes a typed [`ProviderError`] carrying the body and
/// any `retry-after`. The first byte is the arrival of the response head.
pub(crate) async fn connect(
    builder: reqwest::RequestBuilder,
    provider: &'static str,
    cancel: &CancellationToken,
    meter: &mut Meter,
) -> Result<Sse, ProviderError> {
    let response = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(ProviderError::cancelled()),
        r = builder.send() => r.map_err(|e| ProviderError::network(provider, &e))?,
    };
    meter.byte();
    let status = response.status();
    if !status.is_success() {
        let retry_after = retry_after(response.headers());
        let body = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(ProviderError::cancelled()),
            b = response.text() => b.unwrap_or_default(),
        };
        return Err(ProviderError::from_status(provider, status.as_u16(), &body, retry_after));
    }
    Ok(Sse { events: Box::pin(response.bytes_stream().eventsource()), provider })
}

impl Sse {
    /// The next event, `None` at a clean end of the body, or an error (dropped connection,
    /// invalid UTF-8, cancellation).
    pub(crate) async fn next(&mut self, cancel: &CancellationToken) -> Option<Result<Event, ProviderError>> {
        let item = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Some(Err(ProviderError::cancelled())),
            item = self.events.next() => item?,
        };
        Some(item.map_err(|e| match e {
            EventStreamError::Transport(e) => ProviderError::network(self.provider, &e),
            EventStreamError::Utf8(e) => ProviderError::malformed(self.provider, &e.to_string()),
            EventStreamError::Parser(e) => ProviderError::malformed(self.provider, &e.to_string()),
        }))
    }
}

/// `retry-after-ms` (OpenAI) or `retry-after` in seconds; an HTTP date is not honoured.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Some(ms.max(0.0) as u64);
    }
    let secs = get("retry-after")?.parse::<f64>().ok()?;
    Some(Duration::from_secs_f64(secs.clamp(0.0, 3600.0)).as_millis() as u64)
}

/// Parses a JSON number exactly as written (`0.00333825`, `1.5e-07`) into a decimal, never
/// through a binary float.
pub(crate) fn exact_decimal(raw: &serde_json::value::RawValue) -> Option<rust_decimal::Decimal> {
    let text = raw.get().trim().trim_matches('"');
    if text == "null" || text.is_empty() {
        return None;
    }
    if text.contains(['e', 'E']) {
        rust_decimal::Decimal::from_scientific(text).ok()
    } else {
        text.parse().ok()
    }
}
