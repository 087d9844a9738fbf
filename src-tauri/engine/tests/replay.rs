//! Every recorded payload in shared/fixtures/ replayed through its adapter, byte for byte, by
//! the fake provider: text, usage (normalised), served model and errors asserted.

use std::str::FromStr;

use tally_engine::pricing::{cost, AnswerFacts, Catalog, Fees, Price, Pricing};
use tally_engine::target::Target;
use tally_engine::providers::{self, provider, ChatMessage, ChatRequest, Endpoint, ErrorKind, ProviderError, Role};
use tally_engine::secrets::ApiKey;
use tally_engine::stream::{StreamEvent, Usage};
use tally_engine::Decimal;
use tally_fake_provider::{FakeProvider, Flavour, Script};
use tokio_util::sync::CancellationToken;

#[derive(Default, Debug)]
struct Collected {
    text: String,
    reasoning: String,
    usage: Option<Usage>,
    served_model: Option<String>,
    finish: Option<String>,
    error: Option<ProviderError>,
    events_after_end: usize,
}

async fn replay(fixture: &str, provider_id: &str) -> Collected {
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Script { fixture: Some(fixture.into()), pace_ms: Some(0), ..Default::default() });
    let p = provider(provider_id).unwrap();
    let flavour = match provider_id {
        "anthropic" => Flavour::Anthropic,
        "openrouter" => Flavour::OpenRouter,
        _ => Flavour::OpenAi,
    };
    let endpoint = Endpoint { provider: p, base_url: fake.base_url(flavour), api_key: Some(ApiKey::new("test-key-replay").unwrap()) };
    let request = ChatRequest { model: "m".into(), messages: vec![ChatMessage { role: Role::User, content: "hi".into() }], ..Default::default() };
    let mut c = Collected::default();
    let mut ended = false;
    let mut on_event = |e: StreamEvent| {
        if ended {
            c.events_after_end += 1;
        }
        match e {
            StreamEvent::Started { served_model, .. } => c.served_model = served_model,
            StreamEvent::TextDelta(t) => c.text.push_str(&t),
            StreamEvent::ReasoningDelta(r) => c.reasoning.push_str(&r),
            StreamEvent::Usage(u) => c.usage = Some(u),
            StreamEvent::Finished { reason } => {
                c.finish = Some(reason);
                ended = true;
            }
            StreamEvent::Failed(err) => {
                c.error = Some(err);
                ended = true;
            }
        }
    };
    let timing = providers::stream_chat(&tally_engine::http::client(), &endpoint, &request, providers::StreamLimits::default(), &CancellationToken::new(), &mut on_event).await;
    assert!(timing.ttfb_ms.is_some(), "first byte is always measured");
    assert_eq!(c.events_after_end, 0, "nothing follows Finished or Failed");
    assert!(c.finish.is_some() != c.error.is_some(), "exactly one of Finished and Failed: {c:?}");
    c
}

fn usage(input: u64, cached: u64, write: u64, output: u64, reasoning: u64) -> Usage {
    Usage { input_tokens: input, cached_input_tokens: cached, cache_write_tokens: write, output_tokens: output, reasoning_tokens: reasoning, reported_cost: None, estimated: false }
}

#[tokio::test]
async fn openai_final_usage_chunk_is_read_after_the_finish_chunk() {
    let c = replay("openai-chat-stream-usage", "openai").await;
    assert!(c.text.starts_with("I'm unable to provide real-time weather"), "{}", c.text);
    assert!(c.text.ends_with("website or a weather app."));
    assert_eq!(c.text.chars().count(), 159);
    assert_eq!(c.usage, Some(usage(14, 0, 0, 30, 0)));
    assert_eq!(c.finish.as_deref(), Some("stop"));
    assert_eq!(c.served_model.as_deref(), Some("gpt-4o-2024-08-06"));
}

#[tokio::test]
async fn openai_usage_details_and_obfuscation_padding_are_handled() {
    let c = replay("openai-chat-stream-usage-details", "openai").await;
    assert_eq!(c.text.chars().count(), 1724);
    assert!(c.text.starts_with("**Holiday Name:** Harmony Day"));
    assert_eq!(c.usage, Some(usage(16, 0, 0, 300, 0)));
}

#[tokio::test]
async fn anthropic_input_is_summed_with_cache_fields_and_output_is_cumulative() {
    let c = replay("anthropic-messages-stream", "anthropic").await;
    assert_eq!(c.text, "[12345,67890]");
    assert_eq!(c.usage, Some(usage(135, 0, 0, 10, 0)));
    assert_eq!(c.finish.as_deref(), Some("end_turn"));
    assert_eq!(c.served_model.as_deref(), Some("claude-sonnet-4-5-20250929"));
}

#[tokio::test]
async fn anthropic_minimal_stream_without_cache_fields() {
    let c = replay("anthropic-messages-stream-docs-basic", "anthropic").await;
    assert_eq!(c.text, "Hello!");
    assert_eq!(c.usage, Some(usage(25, 0, 0, 15, 0)));
}

#[tokio::test]
async fn anthropic_overloaded_error_inside_a_200_stream_is_an_error_not_text() {
    let c = replay("anthropic-stream-error-overloaded", "anthropic").await;
    let e = c.error.unwrap();
    assert_eq!(e.kind, ErrorKind::Overloaded);
    assert!(e.retryable());
    assert_eq!(c.text, "");
}

#[tokio::test]
async fn deepseek_cache_hits_and_reasoning_content() {
    let c = replay("deepseek-stream-usage", "deepseek").await;
    assert_eq!(c.text, "Hello there! 😊 How can I help you today?");
    assert!(c.reasoning.chars().count() > 100);
    assert_eq!(c.usage, Some(usage(6, 0, 0, 212, 198)));
}

#[tokio::test]
async fn groq_usage_on_the_finishing_chunk() {
    let c = replay("groq-stream-usage", "groq").await;
    assert_eq!(c.text, "The tool returned the expected result for the valid call.");
    assert_eq!(c.usage, Some(usage(339, 0, 0, 58, 38)));
    assert!(!c.reasoning.is_empty());
}

#[tokio::test]
async fn mistral_usage() {
    let c = replay("mistral-stream-usage", "mistral").await;
    assert_eq!(c.text, "Hello, world! This is a test response.");
    assert_eq!(c.usage, Some(usage(13, 0, 0, 8, 0)));
}

#[tokio::test]
async fn openrouter_cost_cached_and_reasoning_tokens_and_the_fallback_model() {
    let c = replay("openrouter-stream-with-cost", "openrouter").await;
    assert_eq!(c.text.chars().count(), 284);
    assert!(c.text.starts_with("I'm Grok, an AI built by xAI."));
    assert_eq!(c.served_model.as_deref(), Some("x-ai/grok-4"));
    let u = c.usage.unwrap();
    assert_eq!((u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens), (687, 679, 187, 118));
    assert_eq!(u.reported_cost, Some(Decimal::from_str("0.00333825").unwrap()), "cost read exactly, not through f64");
}

#[tokio::test]
async fn openrouter_midstream_error_keeps_usage_and_is_an_error() {
    let c = replay("openrouter-stream-midstream-error", "openrouter").await;
    let e = c.error.unwrap();
    assert_eq!(e.kind, ErrorKind::BadRequest);
    assert_eq!(e.detail.as_deref(), Some("Token limit reached"));
    let u = c.usage.unwrap();
    // completion_tokens 10 with total_tokens 53 = 43 + 10: the completion includes the reasoning,
    // so the 11 reasoning tokens OpenRouter counted are capped at the 10 output tokens they are part of.
    assert_eq!((u.input_tokens, u.output_tokens, u.reasoning_tokens), (43, 10, 10));
    assert_eq!(u.reported_cost, Some(Decimal::ZERO));
}

#[tokio::test]
async fn openrouter_truncated_capture_with_processing_comments_is_a_dropped_stream() {
    let c = replay("openrouter-stream-processing-comments", "openrouter").await;
    assert_eq!(c.text, "亚");
    assert_eq!(c.served_model.as_deref(), Some("openai/gpt-4o-mini"));
    assert_eq!(c.error.unwrap().kind, ErrorKind::Network);
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// What the catalog charges for a replayed answer on `target`, or `None` if it has no price.
fn catalog_cost(c: &Collected, target: &str) -> Option<Decimal> {
    let pricing = Pricing::new(Catalog::embedded(), Fees::none());
    let (_, cost) = pricing.charge(&Target::parse(target).unwrap(), &AnswerFacts::served(c.served_model.as_deref()), c.usage.as_ref().unwrap()).unwrap();
    cost.map(|c| c.total)
}

#[tokio::test]
async fn every_direct_fixture_is_priced_by_the_model_that_served_it() {
    // Hand-computed from the catalog's list prices (USD per token), by the served model.
    let cases = [
        ("openai-chat-stream-usage", "openai", "openai:gpt-4o", Some("0.000335")), // 14 × 0.0000025 + 30 × 0.00001
        ("openai-chat-stream-usage-details", "openai", "openai:gpt-4.1-nano", Some("0.0001216")), // 16 × 0.0000001 + 300 × 0.0000004
        ("anthropic-messages-stream", "anthropic", "anthropic:claude-sonnet-4-5", Some("0.000555")), // 135 × 0.000003 + 10 × 0.000015
        ("deepseek-stream-usage", "deepseek", "deepseek:deepseek-reasoner", Some("0.00009072")), // 6 × 0.00000028 + 212 × 0.00000042
        ("groq-stream-usage", "groq", "groq:openai/gpt-oss-120b", Some("0.00008565")), // 339 × 0.00000015 + 58 × 0.0000006
        ("mistral-stream-usage", "mistral", "mistral:mistral-small-latest", Some("0.00000675")), // 13 × 0.00000015 + 8 × 0.0000006
        // Claude Opus 4.1 is not in the price data: no price is invented.
        ("anthropic-messages-stream-docs-basic", "anthropic", "anthropic:claude-opus-4-1", None),
    ];
    for (fixture, provider_id, target, expected) in cases {
        let c = replay(fixture, provider_id).await;
        assert_eq!(catalog_cost(&c, target), expected.map(d), "{fixture}");
    }
}

#[tokio::test]
async fn openrouters_reported_charge_is_reproduced_exactly_from_list_prices() {
    let c = replay("openrouter-stream-with-cost", "openrouter").await;
    let usage = c.usage.clone().unwrap();
    // x-ai/grok-4 at its list rates: $3/M input, $0.75/M cached input, $15/M output (reasoning
    // included in output). 8 uncached + 679 cached input tokens, 187 output tokens.
    let grok = Price {
        input: d("0.000003"),
        output: d("0.000015"),
        cached_input: Some(d("0.00000075")),
        cache_write: None,
        reasoning: None,
        request: None,
        tiers: vec![],
        source: "xAI list price".into(),
    };
    let ours = cost(&usage, &grok, Decimal::ZERO).unwrap();
    assert_eq!(ours.input + ours.cached_input, d("0.00053325"), "OpenRouter's upstream_inference_prompt_cost");
    assert_eq!(ours.output, d("0.002805"), "OpenRouter's upstream_inference_completions_cost");
    assert_eq!(Some(ours.total), usage.reported_cost, "cached tokens charged once, reasoning inside output");
    // The snapshot does not list grok-4: the charge OpenRouter reported stands, marked as such.
    let pricing = Pricing::new(Catalog::embedded(), Fees::default());
    let (price, charged) = pricing.charge(&Target::parse("openrouter:x-ai/grok-4").unwrap(), &AnswerFacts::served(c.served_model.as_deref()), &usage).unwrap();
    assert!(price.is_none());
    let charged = charged.unwrap();
    assert!(charged.as_reported);
    assert_eq!(charged.total, d("0.00333825"));
    assert_eq!(charged.platform_fee, d("0.000183603750"), "5.5 % credit fee on top");
}

#[tokio::test]
async fn a_free_model_that_failed_midstream_costs_what_openrouter_reported_zero() {
    let c = replay("openrouter-stream-midstream-error", "openrouter").await;
    assert_eq!(catalog_cost(&c, "openrouter:minimax/minimax-m2:free"), Some(Decimal::ZERO));
}

#[tokio::test]
async fn a_byok_charge_is_openrouters_fee_plus_the_providers_bill() {
    // The recorded BYOK usage object, sent verbatim as the stream's final usage.
    let usage_json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/openrouter-usage-byok.json")).unwrap(),
    )
    .unwrap();
    let fake = FakeProvider::start().await.unwrap();
    fake.push(Script { usage_json: Some(usage_json), tokens: Some(3), pace_ms: Some(0), ..Default::default() });
    let endpoint = Endpoint { provider: provider("openrouter").unwrap(), base_url: fake.base_url(Flavour::OpenRouter), api_key: Some(ApiKey::new("test-key-byok").unwrap()) };
    let request = ChatRequest { model: "anthropic/claude-sonnet-4.5".into(), messages: vec![ChatMessage { role: Role::User, content: "hi".into() }], ..Default::default() };
    let mut usage = None;
    let mut on = |e: StreamEvent| {
        if let StreamEvent::Usage(u) = e {
            usage = Some(u);
        }
    };
    providers::stream_chat(&tally_engine::http::client(), &endpoint, &request, providers::StreamLimits::default(), &CancellationToken::new(), &mut on).await;
    let u = usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens, u.reasoning_tokens), (9171, 113, 55));
    assert_eq!(u.reported_cost, Some(d("0.0360795")), "cost 0 (OpenRouter's fee) + upstream_inference_cost 0.0360795");
}

#[tokio::test]
async fn xai_reasoning_left_out_of_completion_tokens_is_added_back_and_its_ticks_are_the_charge() {
    let c = replay("xai-chat-stream-tool-call-reasoning", "xai").await;
    assert_eq!(c.reasoning, "First, the user is");
    assert_eq!(c.text, "", "the answer is a tool call, no text");
    assert_eq!(c.finish.as_deref(), Some("tool_calls"));
    assert_eq!(c.served_model.as_deref(), Some("grok-3-mini"));
    let u = c.usage.clone().unwrap();
    // total_tokens 513 = 291 + 26 + 196: the 196 reasoning tokens are not in completion_tokens (26),
    // so output = 26 + 196 = 222, of which 196 reasoning. 290 of the 291 input tokens were cached.
    assert_eq!((u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, u.output_tokens, u.reasoning_tokens), (291, 290, 0, 222, 196));
    // cost_in_usd_ticks 1330500 × 1e-10 USD = 0.00013305 USD.
    assert_eq!(u.reported_cost, Some(d("0.00013305")));
    // xAI's list price for grok-3-mini: $0.30/M input, $0.075/M cached input, $0.50/M output.
    // 1 × 0.0000003 + 290 × 0.000000075 + 222 × 0.0000005 = 0.0000003 + 0.00002175 + 0.000111
    // = 0.00013305: the normalised counts reproduce xAI's charge exactly (with 26 output tokens
    // they would give 0.00003505).
    let grok_3_mini = Price {
        input: d("0.0000003"),
        output: d("0.0000005"),
        cached_input: Some(d("0.000000075")),
        cache_write: None,
        reasoning: None,
        request: None,
        tiers: vec![],
        source: "xAI list price".into(),
    };
    assert_eq!(cost(&u, &grok_3_mini, Decimal::ZERO).unwrap().total, d("0.00013305"));
    // The catalog has no grok-3-mini: the ticks are the recorded cost, nothing is computed.
    let pricing = Pricing::new(Catalog::embedded(), Fees::default());
    let (price, charged) = pricing.charge(&Target::parse("xai:grok-3-mini").unwrap(), &AnswerFacts::served(c.served_model.as_deref()), &u).unwrap();
    assert!(price.is_none());
    let charged = charged.unwrap();
    assert!(charged.as_reported);
    assert_eq!((charged.total, charged.computed_total, charged.effective_total), (d("0.00013305"), None, d("0.00013305")), "no fee on a direct route");
}

#[tokio::test]
async fn openrouters_charge_is_recorded_over_the_catalog_and_a_difference_says_why() {
    let c = replay("openrouter-stream-with-cost", "openrouter").await;
    let usage = c.usage.clone().unwrap();
    let target = Target::parse("openrouter:x-ai/grok-4").unwrap();
    let facts = AnswerFacts { served_model: c.served_model.clone(), served_by: Some("xAI".into()), web_search: false };
    let priced_at = |cached_input: Option<&str>| {
        let mut catalog = Catalog::embedded();
        let price = Price {
            input: d("0.000003"),
            output: d("0.000015"),
            cached_input: cached_input.map(d),
            cache_write: None,
            reasoning: None,
            request: None,
            tiers: vec![],
            source: "test price".into(),
        };
        catalog.set_override(&target, Some(price));
        Pricing::new(catalog, Fees::none()).charge(&target, &facts, &usage).unwrap().1.unwrap()
    };
    // At xAI's list rates (cached input $0.75/M) the computation equals the charge: no difference.
    let same = priced_at(Some("0.00000075"));
    assert_eq!((same.total, same.computed_total, same.difference.clone()), (d("0.00333825"), Some(d("0.00333825")), None));
    // Without a cached rate the catalog computes 687 × 0.000003 + 187 × 0.000015 = 0.004866; the
    // recorded cost stays OpenRouter's 0.00333825, and the difference (−0.00152775, −31.40 %)
    // names the cache and the provider that served it.
    let off = priced_at(None);
    assert_eq!(off.total, d("0.00333825"));
    assert_eq!(off.computed_total, Some(d("0.004866")));
    let diff = off.difference.unwrap();
    assert_eq!((diff.amount, diff.percent), (d("-0.00152775"), Some(d("-31.40"))));
    assert!(diff.reasons.iter().any(|r| r.contains("679 input tokens were read from a cache")), "{:?}", diff.reasons);
    assert!(diff.reasons.iter().any(|r| r.contains("xAI served it through OpenRouter")), "{:?}", diff.reasons);
}
