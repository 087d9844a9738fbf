//! LiteLLM's published price map (`model_prices_and_context_window.json`) read into direct list
//! prices: the same selection `scripts/data/build_price_data.py` makes for the embedded
//! snapshot, so a refresh and the snapshot agree on what a direct price is.
//!
//! LiteLLM writes prices as JSON floats. Each is turned into an exact decimal through its
//! shortest decimal representation (`1.5e-07` → `0.00000015`, the digits a float prints with),
//! never through binary arithmetic.
//!
//! Must not: fetch anything (see [`super::catalog_store::refresh_direct`]).

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::catalog::{CatalogError, DirectFile, DirectModel};
use super::Tier;

/// LiteLLM provider → (Tally route, the prefix LiteLLM puts on the key, OpenRouter vendor prefix).
const ROUTES: &[(&str, &str, &str, &str)] = &[
    ("openai", "openai", "", "openai/"),
    ("anthropic", "anthropic", "", "anthropic/"),
    ("gemini", "gemini", "gemini/", "google/"),
    ("deepseek", "deepseek", "deepseek/", "deepseek/"),
    ("mistral", "mistral", "mistral/", "mistralai/"),
    ("xai", "xai", "xai/", "x-ai/"),
    ("groq", "groq", "groq/", ""),
];

/// A LiteLLM price (a JSON number, or absent / null) as an exact decimal, by its shortest
/// decimal representation: serde_json prints a float with the fewest digits that read back to
/// the same float, which are the digits LiteLLM wrote.
pub fn exact(value: Option<&Value>) -> Option<Decimal> {
    let text = match value? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    let d = if text.contains(['e', 'E']) { Decimal::from_scientific(&text).ok()? } else { Decimal::from_str(&text).ok()? };
    (!d.is_sign_negative()).then(|| d.normalize())
}

fn text(d: Option<Decimal>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// `claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`; `gpt-4o-2024-08-06` → `gpt-4o`.
fn undated(model: &str) -> &str {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((head, tail)) = model.rsplit_once('-') {
        if tail.len() == 8 && digits(tail) && tail.starts_with("20") {
            return head;
        }
    }
    // -YYYY-MM-DD
    let parts: Vec<&str> = model.rsplitn(4, '-').collect();
    if parts.len() == 4 && parts[2].len() == 4 && parts[2].starts_with("20") && digits(parts[2]) && parts[1].len() == 2 && digits(parts[1]) && parts[0].len() == 2 && digits(parts[0]) {
        return parts[3];
    }
    model
}

/// `claude-sonnet-4-5` → `claude-sonnet-4.5`: a dash between two digits becomes a dot when the
/// second digit ends the name or a dash follows it.
fn dotted(model: &str) -> String {
    let b = model.as_bytes();
    let mut out = String::with_capacity(model.len());
    for (i, ch) in model.char_indices() {
        let between_digits = ch == '-' && i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        let then_end = matches!(b.get(i + 2), None | Some(b'-'));
        out.push(if between_digits && then_end { '.' } else { ch });
    }
    out
}

/// The OpenRouter id of the same model, when OpenRouter lists one.
fn openrouter_twin(route: &str, vendor: &str, model: &str, ids: &HashSet<String>) -> Option<String> {
    if route == "groq" {
        // Groq serves other vendors' models under their OpenRouter-style ids.
        return ids.contains(model).then(|| model.to_string());
    }
    let u = undated(model);
    [model.to_string(), u.to_string(), dotted(model), dotted(u)].into_iter().map(|c| format!("{vendor}{c}")).find(|id| ids.contains(id))
}

fn entry(route: &str, model: &str, e: &Map<String, Value>, with_extras: bool, twin: Option<String>) -> Option<DirectModel> {
    let get = |k: &str| exact(e.get(k));
    let input = get("input_cost_per_token")?;
    let output = get("output_cost_per_token")?;
    let mut tiers = Vec::new();
    if with_extras {
        if let Some(long_input) = get("input_cost_per_token_above_200k_tokens") {
            tiers.push(Tier {
                above_input_tokens: 200_000,
                input: long_input,
                output: get("output_cost_per_token_above_200k_tokens").filter(|d| !d.is_zero()).unwrap_or(output),
                cached_input: get("cache_read_input_token_cost_above_200k_tokens"),
                cache_write: get("cache_creation_input_token_cost_above_200k_tokens"),
            });
        }
    }
    Some(DirectModel {
        route: route.to_string(),
        model: model.to_string(),
        input: input.to_string(),
        output: output.to_string(),
        cached_input: text(get("cache_read_input_token_cost")),
        cache_write: text(get("cache_creation_input_token_cost")).filter(|_| with_extras),
        reasoning: text(get("output_cost_per_reasoning_token")).filter(|_| with_extras),
        tiers,
        openrouter_id: twin,
    })
}

/// Reads LiteLLM's price map into direct list prices (chat models of the providers Tally talks
/// to directly), with each model's OpenRouter twin among `openrouter_ids`. `source` and `as_of`
/// describe where and when it came from. Refuses an answer that is not such a map or prices no
/// model, so a broken refresh never replaces working prices.
pub fn parse(json: &str, openrouter_ids: &HashSet<String>, source: &str, as_of: &str) -> Result<DirectFile, CatalogError> {
    let map: Map<String, Value> = serde_json::from_str(json).map_err(|e| CatalogError::PriceMapUnreadable(e.to_string()))?;
    let mut direct: BTreeMap<(String, String), DirectModel> = BTreeMap::new();
    for (key, e) in &map {
        let Some(e) = e.as_object() else { continue };
        if e.get("mode").and_then(Value::as_str) != Some("chat") {
            continue;
        }
        let Some(provider) = e.get("litellm_provider").and_then(Value::as_str) else { continue };
        let Some(&(_, route, prefix, vendor)) = ROUTES.iter().find(|r| r.0 == provider) else { continue };
        // "deepseek-chat" beside "deepseek/deepseek-chat": the prefixed key first (below, the rest).
        let Some(model) = key.strip_prefix(prefix) else { continue };
        if model.contains('/') && route != "groq" {
            continue; // region- or deployment-qualified variants
        }
        let twin = openrouter_twin(route, vendor, model, openrouter_ids);
        if let Some(m) = entry(route, model, e, true, twin) {
            direct.insert((route.to_string(), model.to_string()), m);
        }
    }
    // DeepSeek's unprefixed keys are its current API names; fold them in where the prefixed is absent.
    for (key, e) in &map {
        let Some(e) = e.as_object() else { continue };
        let is_deepseek = e.get("litellm_provider").and_then(Value::as_str) == Some("deepseek") && !key.contains('/');
        if !is_deepseek || e.get("mode").and_then(Value::as_str) != Some("chat") || direct.contains_key(&("deepseek".to_string(), key.clone())) {
            continue;
        }
        let twin = openrouter_twin("deepseek", "deepseek/", key, openrouter_ids);
        if let Some(m) = entry("deepseek", key, e, false, twin) {
            direct.insert(("deepseek".to_string(), key.clone()), m);
        }
    }
    if direct.is_empty() {
        return Err(CatalogError::PriceMapEmpty);
    }
    Ok(DirectFile { source: source.to_string(), as_of: as_of.to_string(), models: direct.into_values().collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn floats_become_their_shortest_decimal() {
        let v: Value = serde_json::from_str(r#"[1.5e-07, 4e-06, 3.75e-06, 0.00125, 1e-10, 2.4e-05, 0, 1, -1e-06, "2.5e-06", null]"#).unwrap();
        let got: Vec<Option<Decimal>> = v.as_array().unwrap().iter().map(|x| exact(Some(x))).collect();
        assert_eq!(
            got,
            vec![
                Some(d("0.00000015")),
                Some(d("0.000004")),
                Some(d("0.00000375")),
                Some(d("0.00125")),
                Some(d("0.0000000001")),
                Some(d("0.000024")),
                Some(d("0")),
                Some(d("1")),
                None, // a negative price is no price
                Some(d("0.0000025")),
                None,
            ]
        );
        // 0.1 + 0.2 in binary is 0.30000000000000004; read as written it is exactly 0.3.
        assert_eq!(exact(Some(&serde_json::json!(0.3))), Some(d("0.3")));
    }

    #[test]
    fn undated_and_dotted_names_find_the_openrouter_twin() {
        assert_eq!(undated("claude-3-5-sonnet-20241022"), "claude-3-5-sonnet");
        assert_eq!(undated("gpt-4o-2024-08-06"), "gpt-4o");
        assert_eq!(undated("gpt-4o"), "gpt-4o");
        assert_eq!(dotted("claude-sonnet-4-5"), "claude-sonnet-4.5");
        assert_eq!(dotted("claude-3-5-sonnet"), "claude-3.5-sonnet");
        assert_eq!(dotted("gpt-4o-mini"), "gpt-4o-mini");
        let ids: HashSet<String> = ["anthropic/claude-sonnet-4.5".to_string()].into();
        assert_eq!(openrouter_twin("anthropic", "anthropic/", "claude-sonnet-4-5-20250929", &ids).as_deref(), Some("anthropic/claude-sonnet-4.5"));
    }

    /// The Rust reading of LiteLLM's map must agree, model by model and digit by digit, with the
    /// embedded snapshot that `scripts/data/build_price_data.py` made from the same file.
    #[test]
    fn the_litellm_snapshot_reads_into_exactly_the_embedded_direct_prices() {
        let map = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/litellm-model-prices-1.110.2.json")).unwrap();
        let embedded: DirectFile = serde_json::from_str(include_str!("../../data/direct-prices.json")).unwrap();
        let ids = super::super::Catalog::embedded().openrouter_ids();
        let got = parse(&map, &ids, &embedded.source, &embedded.as_of).unwrap();
        assert_eq!(got.models.len(), 268);
        let dec = |s: &Option<String>| s.as_deref().map(d);
        for (a, b) in got.models.iter().zip(&embedded.models) {
            assert_eq!((&a.route, &a.model), (&b.route, &b.model));
            assert_eq!((d(&a.input), d(&a.output)), (d(&b.input), d(&b.output)), "{}", a.model);
            assert_eq!((dec(&a.cached_input), dec(&a.cache_write), dec(&a.reasoning)), (dec(&b.cached_input), dec(&b.cache_write), dec(&b.reasoning)), "{}", a.model);
            assert_eq!(a.tiers, b.tiers, "{}", a.model);
            assert_eq!(a.openrouter_id, b.openrouter_id, "{}", a.model);
        }
        // By hand from the map: gpt-4o-mini 1.5e-07 in, 6e-07 out, 7.5e-08 cached.
        let mini = got.models.iter().find(|m| m.route == "openai" && m.model == "gpt-4o-mini").unwrap();
        assert_eq!((mini.input.as_str(), mini.output.as_str(), mini.cached_input.as_deref()), ("0.00000015", "0.0000006", Some("0.000000075")));
    }

    #[test]
    fn an_answer_that_is_not_a_price_map_is_refused() {
        let ids = HashSet::new();
        assert!(matches!(parse("[1, 2]", &ids, "s", "2026-12-01"), Err(CatalogError::PriceMapUnreadable(_))));
        assert!(matches!(parse("<html>", &ids, "s", "2026-12-01"), Err(CatalogError::PriceMapUnreadable(_))));
        assert_eq!(parse(r#"{"sample_spec": {"mode": "chat"}}"#, &ids, "s", "2026-12-01").unwrap_err(), CatalogError::PriceMapEmpty);
    }
}
