//! OpenRouter's `GET /api/v1/generation?id=…`, faked: every OpenRouter answer the fake streams
//! (scripted or a replayed fixture) is remembered by its id, and its record is answered in the
//! shape of the recorded payload `openrouter-generation.json`, with the figures the stream
//! reported (id, model, provider, token counts, cost) put in its place.
//!
//! Like the real one it lags: an answer scripted with `generation_lag: N` is answered 404 for
//! its first N look-ups. `generation` (a JSON object) overrides fields of the record, to make
//! the bill differ from what the stream said.

use std::sync::Arc;

use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::State;

/// What the fake streamed for one OpenRouter answer, and how its record should behave.
#[derive(Debug, Clone, Default)]
pub(crate) struct Served {
    pub model: Option<String>,
    pub provider: Option<String>,
    /// The stream's `usage` object as sent.
    pub usage: Option<Value>,
    /// The stream's `usage.cost` exactly as written (JSON number text).
    pub cost_text: Option<String>,
    /// 404s still to give before the record appears.
    pub lag: u32,
    pub overrides: Map<String, Value>,
}

impl State {
    pub(crate) fn remember_generation(&self, id: String, served: Served) {
        self.generations.lock().unwrap_or_else(|p| p.into_inner()).insert(id, served);
    }
}

/// The `usage.cost` of an SSE usage chunk exactly as written, found in the raw line.
pub(crate) fn raw_cost(line: &str) -> Option<String> {
    let at = line.rfind("\"cost\":")? + "\"cost\":".len();
    let rest = line[at..].trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    let text = rest[..end].trim();
    (!text.is_empty() && text != "null").then(|| text.to_string())
}

/// Remembers the answer a replayed OpenRouter fixture carries (its id, model, provider, usage).
pub(crate) fn remember_fixture(state: &State, text: &str, lag: u32, overrides: Map<String, Value>) {
    let mut id = None;
    let mut served = Served { lag, overrides, ..Default::default() };
    for line in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
        let Ok(chunk) = serde_json::from_str::<Value>(line) else { continue };
        if let Some(i) = chunk.get("id").and_then(Value::as_str) {
            id.get_or_insert_with(|| i.to_string());
        }
        if let Some(m) = chunk.get("model").and_then(Value::as_str) {
            served.model = Some(m.to_string());
        }
        if let Some(p) = chunk.get("provider").and_then(Value::as_str) {
            served.provider = Some(p.to_string());
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            served.usage = Some(u.clone());
            served.cost_text = raw_cost(line);
        }
    }
    if let Some(id) = id {
        state.remember_generation(id, served);
    }
}

/// The record of one served answer in the recorded payload's shape, as JSON text (the cost is
/// written exactly as the stream wrote it).
fn record(template: &Value, id: &str, s: &Served) -> String {
    let mut data = template.get("data").cloned().unwrap_or_else(|| json!({}));
    let usage = s.usage.clone().unwrap_or(Value::Null);
    let n = |p: &str| usage.pointer(p).cloned().unwrap_or(json!(0));
    let byok = usage.get("is_byok").and_then(Value::as_bool).unwrap_or(false);
    let fields = [
        ("id", json!(id)),
        ("model", json!(s.model)),
        ("provider_name", json!(s.provider)),
        ("native_tokens_prompt", n("/prompt_tokens")),
        ("native_tokens_completion", n("/completion_tokens")),
        ("native_tokens_cached", n("/prompt_tokens_details/cached_tokens")),
        ("native_tokens_reasoning", n("/completion_tokens_details/reasoning_tokens")),
        ("tokens_prompt", n("/prompt_tokens")),
        ("tokens_completion", n("/completion_tokens")),
        ("is_byok", json!(byok)),
        ("upstream_inference_cost", usage.pointer("/cost_details/upstream_inference_cost").cloned().unwrap_or(Value::Null)),
        ("total_cost", json!("@COST@")),
        ("usage", json!("@COST@")),
    ];
    if let Some(obj) = data.as_object_mut() {
        for (k, v) in fields {
            obj.insert(k.to_string(), v);
        }
        for (k, v) in &s.overrides {
            obj.insert(k.clone(), v.clone());
        }
    }
    let cost = s.cost_text.clone().unwrap_or_else(|| "0".into());
    json!({ "data": data }).to_string().replace("\"@COST@\"", &cost)
}

/// `GET /api/v1/generation?id=…`: 401 without a key, 404 for an unknown id or while the
/// answer's lag lasts, else its record.
pub(crate) async fn openrouter_generation(st: AxState<Arc<State>>, uri: Uri, headers: HeaderMap) -> Response {
    // Generation ids are plain ASCII (`gen-…`): no percent-decoding needed.
    let id = uri.query().unwrap_or_default().split('&').find_map(|kv| kv.strip_prefix("id=")).unwrap_or_default().to_string();
    let rec = st.0.record("/api/v1/generation", &headers, &json!({ "id": id }));
    if rec.key.is_none() {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": {"code": 401, "message": "No auth credentials found"}}))).into_response();
    }
    let served = {
        let mut all = st.0.generations.lock().unwrap_or_else(|p| p.into_inner());
        match all.get_mut(&id) {
            Some(s) if s.lag > 0 => {
                s.lag -= 1;
                None
            }
            Some(s) => Some(s.clone()),
            None => None,
        }
    };
    let Some(served) = served else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"code": 404, "message": format!("Generation {id} not found")}}))).into_response();
    };
    let template = std::fs::read_to_string(st.0.defaults.fixtures_dir.join("openrouter-generation.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .unwrap_or_else(|| json!({"data": {}}));
    ([("content-type", "application/json")], record(&template, &id, &served)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_is_copied_as_written() {
        let line = r#"{"usage":{"prompt_tokens":687,"cost":0.00333825,"is_byok":false}}"#;
        assert_eq!(raw_cost(line).as_deref(), Some("0.00333825"));
        assert_eq!(raw_cost(r#"{"usage":{"cost":1.5e-07}}"#).as_deref(), Some("1.5e-07"));
        assert_eq!(raw_cost(r#"{"usage":{"cost":null}}"#), None);
    }

    #[test]
    fn a_record_keeps_the_payload_shape_and_takes_the_streams_figures() {
        let template = json!({"data": {"id": "x", "generation_time": 1200, "cache_discount": null, "total_cost": 0.0015}});
        let served = Served {
            model: Some("x-ai/grok-4".into()),
            provider: Some("xAI".into()),
            usage: Some(json!({"prompt_tokens": 687, "completion_tokens": 187, "prompt_tokens_details": {"cached_tokens": 679}})),
            cost_text: Some("0.00333825".into()),
            ..Default::default()
        };
        let text = record(&template, "gen-1", &served);
        assert!(text.contains("\"total_cost\":0.00333825"), "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["data"]["generation_time"], json!(1200));
        assert_eq!(v["data"]["native_tokens_cached"], json!(679));
        assert_eq!(v["data"]["provider_name"], json!("xAI"));
    }
}
