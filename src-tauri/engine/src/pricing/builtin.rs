//! A small built-in price table: enough for the walking skeleton's targets, until the full
//! catalog (embedded OpenRouter snapshot, direct list prices, refresh, overrides) replaces it.
//!
//! Sources: direct prices from LiteLLM's price map 1.110.2 (Nov 2026), OpenRouter prices from its
//! `/api/v1/models` list of 2026-08-19; both in `../shared/data/`. Floats there were read by
//! their shortest decimal text, never through binary arithmetic.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::Price;

const DIRECT: &str = "LiteLLM price map 1.110.2 (2026-11)";
const OPENROUTER: &str = "OpenRouter models list (2026-08-19)";

/// (route, model, input, output, cached input read, cache write), USD per token.
const TABLE: &[(&str, &str, &str, &str, Option<&str>, Option<&str>)] = &[
    ("openai", "gpt-4o-mini", "0.00000015", "0.0000006", Some("0.000000075"), None),
    ("openai", "gpt-4o", "0.0000025", "0.00001", Some("0.00000125"), None),
    ("openai", "gpt-4.1-mini", "0.0000004", "0.0000016", Some("0.0000001"), None),
    ("anthropic", "claude-sonnet-4-5", "0.000003", "0.000015", Some("0.0000003"), Some("0.00000375")),
    ("anthropic", "claude-haiku-4-5", "0.000001", "0.000005", Some("0.0000001"), Some("0.00000125")),
    ("deepseek", "deepseek-chat", "0.00000028", "0.00000042", Some("0.000000028"), None),
    ("gemini", "gemini-2.5-flash", "0.0000003", "0.0000025", Some("0.00000003"), None),
    ("mistral", "mistral-small-latest", "0.00000015", "0.0000006", Some("0.000000015"), None),
    ("openrouter", "openai/gpt-4o-mini", "0.00000015", "0.0000006", Some("0.000000075"), None),
    ("openrouter", "openai/gpt-4o", "0.0000025", "0.00001", Some("0.00000125"), None),
    ("openrouter", "anthropic/claude-sonnet-4.5", "0.000003", "0.000015", Some("0.0000003"), Some("0.00000375")),
    ("openrouter", "deepseek/deepseek-chat", "0.0000002574", "0.0000010287", None, None),
];

fn dec(s: &str) -> Decimal {
    // The table is ours and checked by a test; a bad literal is a bug caught there.
    Decimal::from_str(s).unwrap_or_default()
}

/// Every target the table prices, as `route:model`.
pub(super) fn targets() -> impl Iterator<Item = String> {
    TABLE.iter().map(|(route, model, ..)| format!("{route}:{model}"))
}

pub(super) fn lookup(route: &str, model: &str) -> Option<Price> {
    let model = model.trim();
    TABLE.iter().find(|(r, m, ..)| *r == route && *m == model).map(|(r, _, input, output, cached, write)| Price {
        input: dec(input),
        output: dec(output),
        cached_input: cached.map(dec),
        cache_write: write.map(dec),
        reasoning: None,
        request: None,
        source: if *r == "openrouter" { OPENROUTER } else { DIRECT }.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_entry_parses_to_a_positive_price() {
        for (route, model, input, output, cached, write) in TABLE {
            for s in [Some(*input), Some(*output), *cached, *write].into_iter().flatten() {
                let v = Decimal::from_str(s).unwrap_or_else(|e| panic!("{route}:{model} {s}: {e}"));
                assert!(v > Decimal::ZERO, "{route}:{model}");
            }
            assert!(lookup(route, model).is_some());
        }
    }
}
