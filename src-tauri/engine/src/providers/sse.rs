//! Opening a streaming request and reading its server-sent events, with cancellation, an idle
//! timeout between bytes, an overall deadline per answer and a maximum event size.
//!
//! The SSE framing is ours ([`Framer`]): every byte is looked at once, so a line of any size is
//! read in time linear in its size (a parser that re-scans the line in progress on every chunk
//! takes minutes on an 8 MB line of base64). Must not: retry (the turn runner decides), or let a
//! response that is not an event stream pass for an answer that ended early.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{ErrorKind, Meter, ProviderError};

/// How long a stream may take. The defaults suit real providers; tests use short ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// The longest wait for the next bytes (the response head included) before the answer ends
    /// as stalled.
    pub idle: Duration,
    /// The longest an answer may take from its request to its last byte. It counts per attempt;
    /// since a retry only starts within 20 s of the first attempt, an answer ends at most 20 s
    /// past it in all.
    pub answer_deadline: Duration,
    /// The largest single event (a line of base64 image data is a real one).
    pub max_event_bytes: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits { idle: DEFAULT_IDLE, answer_deadline: DEFAULT_ANSWER_DEADLINE, max_event_bytes: DEFAULT_MAX_EVENT_BYTES }
    }
}

pub const DEFAULT_IDLE: Duration = Duration::from_secs(60);
pub const DEFAULT_ANSWER_DEADLINE: Duration = Duration::from_secs(600);
pub const DEFAULT_MAX_EVENT_BYTES: usize = 64 * 1024 * 1024;

/// One server-sent event: its `event:` name (empty when none) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: String,
    pub data: String,
}

/// Why the bytes could not be framed into events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    TooLarge { limit: usize },
    Utf8,
}

/// SSE framing (the WHATWG event-stream format): lines end in `\n`, `\r\n` or `\r`; a blank
/// line ends an event; `:` starts a comment. Linear: each byte is scanned once, and only the
/// unfinished line is kept between chunks.
#[derive(Debug)]
pub struct Framer {
    /// The unfinished line (bytes after the last line end).
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a `\n` starting this one belongs to that line end.
    skip_lf: bool,
    event: String,
    data: String,
    has_data: bool,
    max_event_bytes: usize,
}

impl Framer {
    pub fn new(max_event_bytes: usize) -> Self {
        Framer { line: Vec::new(), skip_lf: false, event: String::new(), data: String::new(), has_data: false, max_event_bytes }
    }

    /// Frames `chunk`, appending every event it completes to `out`.
    pub fn push(&mut self, mut chunk: &[u8], out: &mut VecDeque<Event>) -> Result<(), FrameError> {
        if self.skip_lf && !chunk.is_empty() {
            self.skip_lf = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
        }
        while let Some(i) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            if self.line.is_empty() {
                self.line_done(&chunk[..i], out)?;
            } else {
                self.line.extend_from_slice(&chunk[..i]);
                let line = std::mem::take(&mut self.line);
                self.line_done(&line, out)?;
                self.line = line;
                self.line.clear();
            }
            let mut next = i + 1;
            if chunk[i] == b'\r' {
                match chunk.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            chunk = &chunk[next..];
        }
        self.line.extend_from_slice(chunk);
        if self.line.len() + self.data.len() > self.max_event_bytes {
            return Err(FrameError::TooLarge { limit: self.max_event_bytes });
        }
        Ok(())
    }

    /// The body ended: an event whose lines all arrived is still delivered (some servers omit
    /// the final blank line); an unfinished line is dropped.
    pub fn finish(&mut self, out: &mut VecDeque<Event>) {
        self.line.clear();
        self.dispatch(out);
    }

    fn line_done(&mut self, line: &[u8], out: &mut VecDeque<Event>) -> Result<(), FrameError> {
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let line = std::str::from_utf8(line).map_err(|_| FrameError::Utf8)?;
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.data.len() + value.len() + 1 > self.max_event_bytes {
                    return Err(FrameError::TooLarge { limit: self.max_event_bytes });
                }
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = value.to_string(),
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut VecDeque<Event>) {
        if self.has_data {
            out.push_back(Event { event: std::mem::take(&mut self.event), data: std::mem::take(&mut self.data) });
        }
        self.event.clear();
        self.has_data = false;
    }
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

pub(crate) struct Sse {
    body: Body,
    framer: Framer,
    ready: VecDeque<Event>,
    ended: bool,
    provider: &'static str,
    limits: StreamLimits,
    deadline: Instant,
}

/// Sends the request; an error status becomes a typed [`ProviderError`] carrying the body and
/// any `retry-after`; a 200 that is not an event stream (or JSON) is an error that says what
/// arrived. The first byte is the arrival of the response head.
pub(crate) async fn connect(
    builder: reqwest::RequestBuilder,
    provider: &'static str,
    limits: StreamLimits,
    cancel: &CancellationToken,
    meter: &mut Meter,
) -> Result<Sse, ProviderError> {
    let deadline = Instant::now() + limits.answer_deadline;
    let wait = Waits { provider, limits, deadline, cancel };
    let response = wait.on(builder.send()).await?.map_err(|e| ProviderError::network(provider, &e))?;
    meter.byte();
    let status = response.status();
    if !status.is_success() {
        let retry_after = retry_after(response.headers());
        let body = wait.on(response.text()).await?.unwrap_or_default();
        return Err(ProviderError::from_status(provider, status.as_u16(), &body, retry_after));
    }
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let mut body: Body = Box::pin(response.bytes_stream());
    let media = content_type.split(';').next().unwrap_or("").trim().to_string();
    let is_api = media.is_empty() || media == "text/event-stream" || media == "application/json" || media.ends_with("+json");
    if !is_api {
        // Read a little of what came, to say what it was.
        let first = match wait.on(body.next()).await? {
            Some(Ok(bytes)) => bytes,
            _ => Bytes::new(),
        };
        return Err(ProviderError::not_an_api(provider, &content_type, &first));
    }
    Ok(Sse { body, framer: Framer::new(limits.max_event_bytes), ready: VecDeque::new(), ended: false, provider, limits, deadline })
}

/// Waiting on the network with the answer's limits: cancellation, the idle timeout and the deadline.
struct Waits<'a> {
    provider: &'static str,
    limits: StreamLimits,
    deadline: Instant,
    cancel: &'a CancellationToken,
}

impl Waits<'_> {
    async fn on<T>(&self, f: impl std::future::Future<Output = T>) -> Result<T, ProviderError> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(ProviderError::cancelled()),
            _ = tokio::time::sleep_until(self.deadline) => Err(ProviderError::deadline(self.provider, self.limits.answer_deadline)),
            r = tokio::time::timeout(self.limits.idle, f) => r.map_err(|_| ProviderError::stalled(self.provider, self.limits.idle)),
        }
    }
}

impl Sse {
    /// The next event, `None` at the end of the body, or an error (dropped connection, stall,
    /// deadline, an event over the size limit, invalid UTF-8, cancellation).
    pub(crate) async fn next(&mut self, cancel: &CancellationToken) -> Option<Result<Event, ProviderError>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            if self.ended {
                return None;
            }
            let wait = Waits { provider: self.provider, limits: self.limits, deadline: self.deadline, cancel };
            let chunk = match wait.on(self.body.next()).await {
                Ok(chunk) => chunk,
                Err(e) => return Some(Err(e)),
            };
            match chunk {
                None => {
                    self.ended = true;
                    self.framer.finish(&mut self.ready);
                }
                Some(Err(e)) => return Some(Err(ProviderError::network(self.provider, &e))),
                Some(Ok(bytes)) => {
                    if let Err(e) = self.framer.push(&bytes, &mut self.ready) {
                        self.ended = true;
                        return Some(Err(match e {
                            FrameError::TooLarge { limit } => ProviderError::new(
                                ErrorKind::Malformed,
                                format!(
                                    "{} sent a single event larger than {} MB, so Tally stopped reading the answer. What arrived before it is kept.",
                                    self.provider,
                                    limit / (1024 * 1024)
                                ),
                            ),
                            FrameError::Utf8 => ProviderError::malformed(self.provider, "the stream is not valid UTF-8 text"),
                        }));
                    }
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(chunks: &[&[u8]]) -> Result<Vec<Event>, FrameError> {
        let mut f = Framer::new(1024);
        let mut out = VecDeque::new();
        for c in chunks {
            f.push(c, &mut out)?;
        }
        f.finish(&mut out);
        Ok(out.into_iter().collect())
    }

    fn ev(event: &str, data: &str) -> Event {
        Event { event: event.into(), data: data.into() }
    }

    #[test]
    fn events_are_framed_whatever_the_chunking_and_line_ends() {
        let whole: &[u8] = b": comment\nevent: ping\ndata: {\"a\":1}\n\ndata: one\r\ndata:two\r\rdata: three\n\n";
        let expected = vec![ev("ping", "{\"a\":1}"), ev("", "one\ntwo"), ev("", "three")];
        assert_eq!(frame(&[whole]).unwrap(), expected);
        // Every split point, including between \r and \n.
        for i in 0..whole.len() {
            assert_eq!(frame(&[&whole[..i], &whole[i..]]).unwrap(), expected, "split at {i}");
        }
        let bytes: Vec<&[u8]> = whole.chunks(1).collect();
        assert_eq!(frame(&bytes).unwrap(), expected, "one byte at a time");
    }

    #[test]
    fn an_event_without_its_final_blank_line_is_delivered_and_a_cut_line_is_not() {
        assert_eq!(frame(&[b"data: [DONE]\n"]).unwrap(), vec![ev("", "[DONE]")]);
        assert_eq!(frame(&[b"data: {\"cut"]).unwrap(), vec![]);
    }

    #[test]
    fn an_event_over_the_limit_is_an_error_even_before_its_line_ends() {
        let big = vec![b'x'; 2000];
        assert_eq!(frame(&[b"data: ", &big]), Err(FrameError::TooLarge { limit: 1024 }));
        let lines = b"data: 0123456789\n".repeat(100);
        assert_eq!(frame(&[&lines]), Err(FrameError::TooLarge { limit: 1024 }));
    }

    #[test]
    fn multibyte_text_split_across_chunks_is_kept_whole_and_invalid_utf8_is_an_error() {
        let text = "data: 亚😊\n\n".as_bytes();
        for i in 0..text.len() {
            assert_eq!(frame(&[&text[..i], &text[i..]]).unwrap(), vec![ev("", "亚😊")], "split at {i}");
        }
        assert_eq!(frame(&[b"data: \xff\n\n"]), Err(FrameError::Utf8));
    }
}
