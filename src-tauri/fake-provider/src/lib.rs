//! A fake LLM provider on 127.0.0.1, for tests and for trying Tally without keys.
//!
//! Speaks three wire formats, each as the real provider streams it:
//! - OpenAI chat completions: `POST /v1/chat/completions` (and `/chat/completions`), with the
//!   final `choices: []` usage chunk when `stream_options.include_usage` is set;
//! - OpenRouter: `POST /api/v1/chat/completions`, with `: OPENROUTER PROCESSING` comments,
//!   `provider`, `native_finish_reason` and `usage.cost`;
//! - Anthropic Messages: `POST /v1/messages`, `message_start` … `message_stop`.
//!
//! Behaviour is scripted per request, first from a queue ([`FakeProvider::push`] or
//! `POST /_fake/script`), else from a directive in the last user message such as
//! `[[fake tokens=80 pace_ms=30 rate=2000 prose=1 status=429 retry_after=1 drop_after=5 fixture=NAME]]`, else the
//! defaults. Faults for the fault suite: `stall_after=N` (then silence, connection open),
//! `drip_ms=N` (one byte at a time), `huge_line_bytes=N`, `html=1` (a 200 web page),
//! `error_after=N` (an error event inside the 200 stream), `usage=absurd`. It can replay the recorded payloads in `shared/fixtures/` verbatim.
//! OpenRouter's generation records (`GET /api/v1/generation?id=…`) are answered for every
//! OpenRouter answer streamed, after a scripted lag (`generation_lag=N`, `generation_cost=X`).
//! Every request is recorded (`GET /_fake/requests`) so tests can assert what was sent.

mod generation;
mod wire;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use wire::Flavour;

/// What the fake does for one request. Unset fields take the server's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Script {
    /// Apply only to requests for this model (others skip this script in the queue).
    pub model: Option<String>,
    /// Answer with this HTTP status and the provider's error body instead of a stream.
    pub status: Option<u16>,
    /// Seconds, sent as `retry-after` with an error status.
    pub retry_after: Option<u64>,
    /// The answer's text; split into tokens at word boundaries.
    pub reply: Option<String>,
    /// How many tokens to stream when `reply` is not set.
    pub tokens: Option<usize>,
    /// Pause between tokens.
    pub pace_ms: Option<u64>,
    /// Tokens per second, kept on average whatever the timer's granularity: each token is due at
    /// its own instant from the start, and all that are due go out together (several per tick
    /// above ~1,000/s). Overrides `pace_ms` for the answer's tokens.
    pub rate: Option<u64>,
    /// Pause before the response head.
    pub first_byte_delay_ms: Option<u64>,
    /// Cut the connection after this many tokens.
    pub drop_after: Option<usize>,
    /// Send a line of broken JSON after this many tokens.
    pub malformed_after: Option<usize>,
    /// Send an error event inside the 200 stream after this many tokens.
    pub error_after: Option<usize>,
    /// Reported cached input tokens.
    pub cached_tokens: Option<u64>,
    /// Replay `NAME.sse` from the fixtures folder verbatim.
    pub fixture: Option<String>,
    /// Answer a models-list request with this body as is (to test broken refreshes).
    pub body: Option<String>,
    /// Send this usage object verbatim in the final chunk (a recorded one, say).
    pub usage_json: Option<Value>,
    /// Fault: after this many tokens, send nothing more and keep the connection open.
    pub stall_after: Option<usize>,
    /// Fault: send the whole response one byte at a time, this many milliseconds apart.
    pub drip_ms: Option<u64>,
    /// Fault: the first token is a single SSE line carrying this many bytes of text.
    pub huge_line_bytes: Option<usize>,
    /// Fault: answer 200 with an HTML page (a login or proxy page) instead of an event stream.
    /// The filler is prose, as models write it (paragraphs, a list, a code block now and then),
    /// instead of one endless paragraph of numbered words.
    pub prose: bool,
    pub html: bool,
    /// OpenRouter: answer this many look-ups of the answer's generation record with 404 before
    /// the record appears (the real one lags).
    pub generation_lag: Option<u32>,
    /// OpenRouter: fields that replace those of the answer's generation record (e.g.
    /// `{"total_cost": 0.0043}` for a bill that differs from what the stream reported).
    pub generation: Option<serde_json::Map<String, Value>>,
}

/// A usage object no answer can have: 18446744073709551615 (2^64 − 1) completion tokens.
pub fn absurd_usage() -> Value {
    serde_json::json!({"prompt_tokens": 12, "completion_tokens": u64::MAX, "total_tokens": u64::MAX, "completion_tokens_details": {"reasoning_tokens": 0}})
}

/// One request as the fake received it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    pub path: String,
    pub model: Option<String>,
    /// The key as sent (`Authorization: Bearer …` or `x-api-key`), so tests can check it arrived.
    pub key: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// When the request's headers arrived, before its body was read (Unix time, ms), for
    /// benchmarks of how soon a send reaches the provider.
    #[serde(default)]
    pub received_ms: u64,
    /// When the response's last byte was handed to the connection (Unix time, ms), for
    /// benchmarks that measure what happens after it. `None` while it streams.
    #[serde(default)]
    pub last_byte_ms: Option<u64>,
    /// When the client was found gone while the response still streamed (it cancelled the
    /// request: Stop), Unix time in ms: as soon as the server dropped the response.
    #[serde(default)]
    pub client_left_ms: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Defaults {
    pub tokens: usize,
    pub pace_ms: u64,
    pub fixtures_dir: PathBuf,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            tokens: 40,
            pace_ms: 15,
            fixtures_dir: std::env::var_os("TALLY_FIXTURES_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures"))),
        }
    }
}

pub(crate) struct State {
    scripts: Mutex<VecDeque<Script>>,
    requests: Mutex<Vec<Recorded>>,
    /// OpenRouter answers streamed so far, by generation id.
    generations: Mutex<HashMap<String, generation::Served>>,
    pub(crate) defaults: Defaults,
}

/// A running fake provider. Dropping it stops the server.
pub struct FakeProvider {
    addr: SocketAddr,
    state: Arc<State>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl FakeProvider {
    /// Starts on 127.0.0.1 with a random free port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(Defaults::default(), 0).await
    }

    pub async fn start_with(defaults: Defaults, port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State { scripts: Mutex::default(), requests: Mutex::default(), generations: Mutex::default(), defaults });
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/chat/completions", post(openai))
            .route("/api/v1/chat/completions", post(openrouter))
            .route("/v1/messages", post(anthropic))
            .route("/v1/models", get(models))
            .route("/models", get(models))
            .route("/api/v1/models", get(openrouter_models))
            .route("/api/v1/key", get(openrouter_key))
            .route("/api/v1/generation", get(generation::openrouter_generation))
            .route(LITELLM_PATH, get(litellm_prices))
            .route("/_fake/script", post(push_script))
            .route("/_fake/requests", get(list_requests))
            // Long threads make requests of many MB (axum refuses bodies over 2 MB by default);
            // the providers take a model's whole context window.
            .layer(axum::extract::DefaultBodyLimit::max(256 << 20))
            .layer(axum::middleware::from_fn(stamp_arrival))
            .with_state(Arc::clone(&state));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(async { let _ = rx.await; }).await;
        });
        Ok(FakeProvider { addr, state, _shutdown: tx })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL to give Tally for a provider of this flavour, as its SDK takes it.
    pub fn base_url(&self, flavour: Flavour) -> String {
        match flavour {
            Flavour::OpenAi => format!("{}/v1", self.url()),
            Flavour::OpenRouter => format!("{}/api/v1", self.url()),
            Flavour::Anthropic => self.url(),
        }
    }

    /// Queues a script for the next matching request.
    pub fn push(&self, script: Script) {
        self.state.scripts.lock().unwrap_or_else(|p| p.into_inner()).push_back(script);
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl State {
    fn record(&self, path: &str, headers: &HeaderMap, body: &Value) -> Recorded {
        self.record_at(path, headers, body).1
    }

    /// Records a request; returns its index in the list with it.
    pub(crate) fn record_at(&self, path: &str, headers: &HeaderMap, body: &Value) -> (usize, Recorded) {
        let key = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_start_matches("Bearer ").to_string())
            .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::to_string));
        let kept = ["anthropic-version", "x-title", "http-referer", "content-type"];
        let rec = Recorded {
            path: path.to_string(),
            model: body.get("model").and_then(Value::as_str).map(str::to_string),
            key,
            headers: kept.iter().filter_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()).map(|v| (h.to_string(), v.to_string()))).collect(),
            body: body.clone(),
            received_ms: headers.get(ARRIVED).and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or_else(unix_ms),
            last_byte_ms: None,
            client_left_ms: None,
        };
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        requests.push(rec.clone());
        (requests.len() - 1, rec)
    }

    /// Notes that the response to the `index`-th request sent its last byte (`completed`), or
    /// found its client gone before that.
    pub(crate) fn stream_ended(&self, index: usize, completed: bool) {
        let now = unix_ms();
        if let Some(r) = self.requests.lock().unwrap_or_else(|p| p.into_inner()).get_mut(index) {
            if completed {
                r.last_byte_ms = Some(now);
            } else {
                r.client_left_ms = Some(now);
            }
        }
    }

    /// The queued script for this model, else the prompt's directive, else the defaults.
    fn script_for(&self, rec: &Recorded) -> Script {
        let mut queue = self.scripts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = queue.iter().position(|s| s.model.is_none() || s.model == rec.model) {
            if let Some(s) = queue.remove(i) {
                return s;
            }
        }
        drop(queue);
        wire::last_user_text(&rec.body).map(|t| directive(&t)).unwrap_or_default()
    }
}

/// Parses `[[fake key=value …]]` from a prompt; unknown keys and bad values are ignored.
pub fn directive(text: &str) -> Script {
    let mut s = Script::default();
    let Some(start) = text.find("[[fake") else { return s };
    let rest = &text[start + 6..];
    let body = &rest[..rest.find("]]").unwrap_or(rest.len())];
    for pair in body.split_whitespace() {
        let Some((k, v)) = pair.split_once('=') else { continue };
        let n = v.parse::<u64>().ok();
        match k {
            "status" => s.status = n.map(|n| n as u16),
            "retry_after" => s.retry_after = n,
            "tokens" => s.tokens = n.map(|n| n as usize),
            "pace_ms" => s.pace_ms = n,
            "rate" => s.rate = n.filter(|r| *r > 0),
            "first_byte_delay_ms" => s.first_byte_delay_ms = n,
            "drop_after" => s.drop_after = n.map(|n| n as usize),
            "malformed_after" => s.malformed_after = n.map(|n| n as usize),
            "error_after" => s.error_after = n.map(|n| n as usize),
            "cached_tokens" => s.cached_tokens = n,
            "fixture" => s.fixture = Some(v.to_string()),
            "stall_after" => s.stall_after = n.map(|n| n as usize),
            "drip_ms" => s.drip_ms = n,
            "huge_line_bytes" => s.huge_line_bytes = n.map(|n| n as usize),
            "html" => s.html = n == Some(1),
            "prose" => s.prose = n == Some(1),
            "usage" if v == "absurd" => s.usage_json = Some(absurd_usage()),
            "generation_lag" => s.generation_lag = n.map(|n| n.min(u64::from(u32::MAX)) as u32),
            "generation_cost" => {
                if let Ok(cost @ Value::Number(_)) = serde_json::from_str::<Value>(v) {
                    s.generation.get_or_insert_with(Default::default).insert("total_cost".into(), cost);
                }
            }
            _ => {}
        }
    }
    s
}

/// The request header [`stamp_arrival`] adds (never sent by a client; not recorded as one).
const ARRIVED: &str = "x-fake-arrived-ms";

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Notes when a request's headers arrived, before axum reads (and the handler parses) a body
/// that can be many MB: the moment the client's request reached the provider.
async fn stamp_arrival(mut req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&unix_ms().to_string()) {
        req.headers_mut().insert(ARRIVED, v);
    }
    next.run(req).await
}

async fn openai(st: AxState<Arc<State>>, headers: HeaderMap, body: Json<Value>) -> Response {
    wire::respond(st.0, Flavour::OpenAi, "/v1/chat/completions", headers, body.0).await
}

async fn openrouter(st: AxState<Arc<State>>, headers: HeaderMap, body: Json<Value>) -> Response {
    wire::respond(st.0, Flavour::OpenRouter, "/api/v1/chat/completions", headers, body.0).await
}

async fn anthropic(st: AxState<Arc<State>>, headers: HeaderMap, body: Json<Value>) -> Response {
    wire::respond(st.0, Flavour::Anthropic, "/v1/messages", headers, body.0).await
}

/// A key the fake treats as revoked, for testing the "invalid key" path by hand or in a test.
pub const REJECTED_KEY: &str = "test-key-rejected";

/// The status a key-checking GET gets: 401 without a key or with [`REJECTED_KEY`], else 200,
/// unless a queued script says otherwise.
fn key_status(state: &State, path: &str, headers: &HeaderMap) -> StatusCode {
    let rec = state.record(path, headers, &Value::Null);
    let script = {
        let mut queue = state.scripts.lock().unwrap_or_else(|p| p.into_inner());
        let i = queue.iter().position(|s| s.model.is_none());
        i.and_then(|i| queue.remove(i))
    };
    if let Some(status) = script.and_then(|s| s.status) {
        return StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    match rec.key.as_deref() {
        None | Some(REJECTED_KEY) => StatusCode::UNAUTHORIZED,
        Some(_) => StatusCode::OK,
    }
}

async fn models(st: AxState<Arc<State>>, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let status = key_status(&st.0, uri.path(), &headers);
    if status != StatusCode::OK {
        return (status, Json(serde_json::json!({"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error"}}))).into_response();
    }
    Json(serde_json::json!({"object": "list", "data": [
        {"id": "gpt-4o-mini", "object": "model"},
        {"id": "openai/gpt-4o-mini", "object": "model"},
        {"id": "claude-sonnet-4-5", "object": "model"}
    ]}))
    .into_response()
}

/// OpenRouter's models list as recorded in the engine's embedded snapshot (414 real entries: a
/// full-size list, since a refresh that drops most models is refused), each replaced by its full
/// recorded entry where the sample of 35 has one.
fn full_models_list(sample: &str) -> String {
    let snapshot: Value = serde_json::from_str(include_str!("../../engine/data/openrouter-models.json")).unwrap_or_default();
    let sample: Value = serde_json::from_str(sample).unwrap_or_default();
    let full: std::collections::HashMap<&str, &Value> =
        sample["data"].as_array().into_iter().flatten().filter_map(|m| Some((m["id"].as_str()?, m))).collect();
    let data: Vec<&Value> = snapshot["data"].as_array().into_iter().flatten().map(|m| m["id"].as_str().and_then(|id| full.get(id).copied()).unwrap_or(m)).collect();
    serde_json::json!({ "data": data }).to_string()
}

/// A public price list (`path` recorded), read from `file` under the fixtures folder and shaped
/// by `shape`, unless a queued script asks for an error status or a body of its own (to test
/// broken refreshes).
fn price_list(state: &State, path: &str, headers: &HeaderMap, file: &str, shape: fn(&str) -> String) -> Response {
    state.record(path, headers, &Value::Null);
    let script = {
        let mut queue = state.scripts.lock().unwrap_or_else(|p| p.into_inner());
        let i = queue.iter().position(|s| s.model.is_none());
        i.and_then(|i| queue.remove(i))
    };
    if let Some(s) = script {
        if let Some(status) = s.status {
            return (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "error").into_response();
        }
        if let Some(body) = s.body {
            return ([("content-type", "application/json")], body).into_response();
        }
    }
    match std::fs::read_to_string(state.defaults.fixtures_dir.join(file)) {
        Ok(text) => ([("content-type", "application/json")], shape(&text)).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("fake provider: no {file}: {e}")).into_response(),
    }
}

/// OpenRouter's public `GET /api/v1/models` ([`full_models_list`]).
async fn openrouter_models(st: AxState<Arc<State>>, headers: HeaderMap) -> Response {
    price_list(&st.0, "/api/v1/models", &headers, "openrouter-models-sample.json", full_models_list)
}

/// Where the fake serves LiteLLM's price map (the snapshot in `shared/data/`).
pub const LITELLM_PATH: &str = "/litellm/model_prices_and_context_window.json";

/// LiteLLM's published price map, as the snapshot of litellm 1.110.2.
async fn litellm_prices(st: AxState<Arc<State>>, headers: HeaderMap) -> Response {
    price_list(&st.0, LITELLM_PATH, &headers, "../data/litellm-model-prices-1.110.2.json", str::to_string)
}

/// OpenRouter's `GET /api/v1/key`, answered with the recorded payload.
async fn openrouter_key(st: AxState<Arc<State>>, headers: HeaderMap) -> Response {
    let status = key_status(&st.0, "/api/v1/key", &headers);
    if status != StatusCode::OK {
        return (status, Json(serde_json::json!({"error": {"code": status.as_u16(), "message": "No auth credentials found"}}))).into_response();
    }
    match std::fs::read_to_string(st.0.defaults.fixtures_dir.join("openrouter-key.json")) {
        Ok(text) => ([("content-type", "application/json")], text).into_response(),
        Err(_) => Json(serde_json::json!({"data": {"label": "fake", "usage": 0, "limit": null}})).into_response(),
    }
}

async fn push_script(st: AxState<Arc<State>>, script: Json<Script>) -> StatusCode {
    st.0.scripts.lock().unwrap_or_else(|p| p.into_inner()).push_back(script.0);
    StatusCode::NO_CONTENT
}

async fn list_requests(st: AxState<Arc<State>>) -> Response {
    Json(st.0.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_read_from_the_prompt() {
        let s = directive("please [[fake tokens=7 status=429 retry_after=2 fixture=openai-chat-stream-usage]] thanks");
        assert_eq!(s.tokens, Some(7));
        assert_eq!(s.status, Some(429));
        assert_eq!(s.retry_after, Some(2));
        assert_eq!(s.fixture.as_deref(), Some("openai-chat-stream-usage"));
        assert_eq!(directive("no directive here"), Script::default());
    }
}
