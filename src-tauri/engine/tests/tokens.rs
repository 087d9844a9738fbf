//! Token counts against reference counts made by independent implementations
//! (`scripts/data/make_token_references.mjs`), and the views built on them: breakdown, compose
//! estimate, variants and projection, checked against hand-computed decimals.

use std::str::FromStr;

use serde_json::Value;
use tally_engine::pricing::{Price, Pricing};
use tally_engine::target::Target;
use tally_engine::tokens::breakdown::{breakdown, BreakdownRequest, PartKind};
use tally_engine::estimates::compose::{estimate_column, ColumnEstimate, ComposeColumn, OutputBasis};
use tally_engine::estimates::projection::{project, Period, Profile, ProjectionTarget};
use tally_engine::tokens::{count_chat, count_content, count_text, paragraphs, ChatItem, Encoding};
use tally_engine::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn references() -> Value {
    serde_json::from_str(include_str!("data/token-references.json")).unwrap()
}

fn price(input: &str, output: &str) -> Price {
    Price { input: d(input), output: d(output), cached_input: None, cache_write: None, reasoning: None, request: None, tiers: Vec::new(), source: "test".into() }
}

#[test]
fn every_reference_text_counts_the_same_in_both_encodings() {
    let refs = references();
    let texts = refs["texts"].as_array().unwrap();
    assert!(texts.len() >= 15);
    for entry in texts {
        let (name, text) = (entry["name"].as_str().unwrap(), entry["text"].as_str().unwrap());
        for e in Encoding::ALL {
            assert_eq!(count_content(e, text), entry[e.name()].as_u64().unwrap(), "{name} in {}", e.name());
        }
    }
}

#[test]
fn paragraph_counts_add_up_to_the_whole_text_for_every_reference() {
    for entry in references()["texts"].as_array().unwrap() {
        let text = entry["text"].as_str().unwrap();
        for e in Encoding::ALL {
            let sum: u64 = paragraphs(text).iter().map(|p| count_content(e, p)).sum();
            assert_eq!(sum, count_content(e, text), "{} in {}", entry["name"], e.name());
        }
    }
}

#[test]
fn chat_counts_include_the_cookbook_overhead_exactly_as_the_reference() {
    for entry in references()["chats"].as_array().unwrap() {
        let messages: Vec<ChatItem> = serde_json::from_value(entry["messages"].clone()).unwrap();
        let o200k = count_chat("openai:gpt-4o", &messages);
        assert_eq!((o200k.tokens, o200k.encoding, o200k.exact), (entry["o200k_base"].as_u64().unwrap(), Encoding::O200kBase, true), "{}", entry["name"]);
        let cl100k = count_chat("gpt-4-turbo", &messages);
        assert_eq!((cl100k.tokens, cl100k.encoding), (entry["cl100k_base"].as_u64().unwrap(), Encoding::Cl100kBase), "{}", entry["name"]);
    }
}

#[test]
fn a_claude_count_is_an_o200k_estimate_marked_inexact() {
    let c = count_text("anthropic:claude-sonnet-4-5", "Hello, world!");
    assert_eq!(c.encoding, Encoding::O200kBase);
    assert!(!c.exact);
    assert_eq!(c.tokens, count_content(Encoding::O200kBase, "Hello, world!"));
    assert_eq!(count_text("openrouter:openai/gpt-4o", "Hello, world!").tokens, 4);
}

fn two_messages() -> (String, String) {
    ("You are a helpful assistant.".into(), "What is the capital of France?".into())
}

#[test]
fn the_breakdown_adds_up_to_the_chat_count_and_prices_each_removal() {
    let long_prompt = ["First paragraph about tokens.", "Second one, a little longer, about prices and costs.", "Third."].join("\n\n");
    let history = vec![ChatItem::new("user", "Earlier question?"), ChatItem::new("assistant", "Earlier answer.")];
    let (system, _) = two_messages();
    let req = BreakdownRequest { model: "openai:gpt-4o".into(), system: Some(system.clone()), history: history.clone(), new_text: long_prompt.clone(), input_price: d("0.0000025") };
    let b = breakdown(&req);
    let mut all = vec![ChatItem::new("system", &system)];
    all.extend(history);
    all.push(ChatItem::new("user", &long_prompt));
    assert_eq!(b.total_tokens, count_chat("gpt-4o", &all).tokens);
    assert_eq!(b.parts.iter().map(|p| p.tokens).sum::<u64>() + b.reply_priming, b.total_tokens);
    assert_eq!(b.parts.iter().map(|p| p.kind).collect::<Vec<_>>(), [PartKind::System, PartKind::History, PartKind::History, PartKind::NewText]);
    // The system prompt: 3 per message + "system" (1) + 6 content tokens = 10 tokens.
    let sys = &b.parts[0];
    assert_eq!((sys.tokens, sys.content_tokens), (10, 6));
    assert_eq!(sys.saving.per_request, d("0.000025")); // 10 × 0.0000025
    assert_eq!(sys.saving.per_1000_requests, d("0.025"));
    let new = b.parts.last().unwrap();
    assert_eq!(new.paragraphs.len(), 3);
    assert_eq!(new.paragraphs.iter().map(|p| p.tokens).sum::<u64>(), new.content_tokens);
    assert_eq!(new.paragraphs[1].start_utf16, "First paragraph about tokens.\n\n".len() as u64);
    assert!(b.parts[1].paragraphs.is_empty(), "short history parts are not split");
}

fn column(max_tokens: Option<u64>, avg: Option<u64>) -> ComposeColumn {
    let (system, text) = two_messages();
    ComposeColumn { target: "openai:gpt-4o".into(), system: Some(system), thread: vec![], new_text: text, max_tokens, recent_output_avg: avg }
}

#[test]
fn the_compose_estimate_prices_input_and_the_output_range_exactly() {
    // "two messages" is 24 tokens on o200k_base (reference). $2.50/M in, $10/M out, 5.5 % fee.
    let e: ColumnEstimate = estimate_column(&column(Some(1000), Some(200)), Some(&price("0.0000025", "0.00001")), d("5.5"));
    assert_eq!((e.input_tokens, e.exact, e.output_basis), (24, true, OutputBasis::AverageToMax));
    assert_eq!((e.output_tokens_low, e.output_tokens_high), (Some(200), Some(1000)));
    assert_eq!(e.input_cost, Some(d("0.00006"))); // 24 × 0.0000025
    assert_eq!(e.output_cost_low, Some(d("0.002"))); // 200 × 0.00001
    assert_eq!(e.output_cost_high, Some(d("0.01")));
    assert_eq!(e.total_low, Some(d("0.0021733"))); // (0.00006 + 0.002) × 1.055
    assert_eq!(e.total_high, Some(d("0.0106133"))); // (0.00006 + 0.01) × 1.055

    let only_max = estimate_column(&column(Some(50), None), Some(&price("0.0000025", "0.00001")), Decimal::ZERO);
    assert_eq!((only_max.output_basis, only_max.output_tokens_low, only_max.total_low), (OutputBasis::MaxTokens, Some(0), Some(d("0.00006"))));
    let unknown = estimate_column(&column(None, None), None, Decimal::ZERO);
    assert_eq!((unknown.output_basis, unknown.input_cost, unknown.total_high), (OutputBasis::Unknown, None, None));
}

#[test]
fn variants_are_counted_per_column_with_each_columns_encoding() {
    let pricing = Pricing::new(tally_engine::pricing::Catalog::embedded(), tally_engine::pricing::Fees::none());
    let mut gpt4 = column(None, None);
    gpt4.target = "openai:gpt-4-turbo".into();
    let cols = vec![column(None, None), gpt4];
    let variants = vec!["What is the capital of France?".to_string(), "東京は日本の首都です。".to_string()];
    let grid = tally_engine::estimates::compose::compare_variants(&pricing, &variants, &cols);
    assert_eq!(grid.len(), 2);
    assert_eq!(grid[0][0].input_tokens, 24);
    assert_eq!(grid[0][1].input_tokens, 24); // the reference gives 24 on cl100k_base too
    // 24 − "What is the capital of France?" (7 tokens) + the other text.
    assert_eq!(grid[1][0].input_tokens, 24 - 7 + count_content(Encoding::O200kBase, &variants[1]));
    assert_eq!(grid[1][1].input_tokens, 24 - 7 + count_content(Encoding::Cl100kBase, &variants[1]));
    assert_eq!(grid[1][1].encoding, Encoding::Cl100kBase);
}

fn t(s: &str) -> Target {
    Target::parse(s).unwrap()
}

#[test]
fn the_projection_concludes_in_words_with_hand_computed_figures() {
    // 1,000 input and 500 output tokens a request; $2.50/M in, $10/M out on both routes, 5.5 % fee
    // via OpenRouter: $0.0075 direct and $0.0079125 via OpenRouter per request.
    let profile = Profile { requests: 12, avg_input_tokens: 1000, avg_output_tokens: 500, ..Default::default() };
    let targets = vec![
        ProjectionTarget { target: t("openrouter:openai/gpt-4o"), price: price("0.0000025", "0.00001"), fee_percent: d("5.5"), twin: Some(t("openai:gpt-4o")) },
        ProjectionTarget { target: t("openai:gpt-4o"), price: price("0.0000025", "0.00001"), fee_percent: Decimal::ZERO, twin: Some(t("openrouter:openai/gpt-4o")) },
    ];
    let p = project(&profile, 40_000, Period::Month, &targets);
    assert_eq!(p.rows[0].target, "openai:gpt-4o", "cheapest first");
    assert_eq!(p.rows[0].per_request.effective_total, d("0.0075"));
    assert_eq!(p.rows[0].per_month, d("300"));
    assert_eq!(p.rows[0].per_day, d("10"));
    assert_eq!(p.rows[1].per_month, d("316.5"));
    assert_eq!(p.conclusions, vec!["At 40,000 requests a month, direct saves $16.50 on gpt-4o.".to_string()]);

    let daily = project(&profile, 1_000, Period::Day, &targets);
    assert_eq!(daily.rows[1].per_day, d("7.9125"));
    assert_eq!(daily.conclusions, vec!["At 1,000 requests a day, direct saves $0.41 a day ($12.38 a month) on gpt-4o.".to_string()]);
}
