//! The fault suite through the turn runner: each fault the fake provider can play ends the
//! answer in words, keeps what arrived, records usage, and is not retried. Short configured
//! limits keep it quick; nothing here asserts on time.

#[path = "common/harness.rs"]
mod harness;

use std::time::Duration;

use harness::{harness, Harness};
use tally_engine::providers::StreamLimits;
use tally_engine::store::view;
use tally_engine::store::messages::{MessageView, Status};

const LIMITS: StreamLimits = StreamLimits { idle: Duration::from_millis(300), answer_deadline: Duration::from_secs(2), max_event_bytes: 1024 * 1024 };

/// Sends `prompt` to one OpenAI column under [`LIMITS`] and returns the stored answer.
async fn answer(prompt: &str) -> (Harness, MessageView) {
    answer_within(LIMITS, prompt).await
}

async fn answer_within(limits: StreamLimits, prompt: &str) -> (Harness, MessageView) {
    let h = harness(None).await;
    h.turns.set_limits(limits);
    let conv = h.conversation(&["openai:gpt-4o-mini"]);
    h.send(conv, prompt).await;
    let view = h.turns.store().blocking(|c| view::load(c, conv)).unwrap();
    let a = view.turns[0].answers[0].clone();
    (h, a)
}

fn error(a: &MessageView) -> (&str, &str, &str) {
    let e = a.error.as_ref().unwrap_or_else(|| panic!("an error: {a:?}"));
    (e.kind.as_str(), e.message.as_str(), e.detail.as_deref().unwrap_or(""))
}

#[tokio::test]
async fn a_stall_after_the_headers_ends_in_words_within_the_idle_timeout_and_is_not_retried() {
    let (h, a) = answer("hi [[fake stall_after=0 pace_ms=0]]").await;
    assert_eq!(a.status, Status::Failed);
    let (kind, message, _) = error(&a);
    assert_eq!(kind, "stalled");
    assert!(message.contains("sent nothing for 300 ms"), "{message}");
    assert_eq!(h.fake.requests().len(), 1, "a stall is not retried");
}

#[tokio::test]
async fn a_stall_mid_answer_keeps_the_text_that_arrived() {
    let (_h, a) = answer("hi [[fake tokens=10 stall_after=3 pace_ms=0]]").await;
    assert_eq!(error(&a).0, "stalled");
    assert!(a.content.contains("(fake)"), "{}", a.content);
    let u = a.usage.as_ref().unwrap();
    assert!(u.tokens.estimated && u.tokens.output_tokens > 0);
}

#[tokio::test]
async fn a_slow_drip_of_single_bytes_is_ended_by_the_deadline_per_answer() {
    // A whole answer at 2 ms a byte takes a minute or more, far past the 1 s deadline, while
    // no gap between bytes comes near the 5 s idle timeout.
    let limits = StreamLimits { idle: Duration::from_secs(5), answer_deadline: Duration::from_secs(1), ..LIMITS };
    let (h, a) = answer_within(limits, "hi [[fake tokens=400 drip_ms=2 pace_ms=0]]").await;
    assert_eq!(a.status, Status::Failed);
    let (kind, message, _) = error(&a);
    assert_eq!(kind, "deadline");
    assert!(message.contains("after 1 s"), "{message}");
    assert_eq!(h.fake.requests().len(), 1);
}

#[tokio::test]
async fn a_line_over_the_event_size_limit_ends_the_answer_with_an_error_in_words() {
    let (h, a) = answer("hi [[fake huge_line_bytes=2000000 pace_ms=0]]").await;
    assert_eq!(a.status, Status::Failed);
    let (kind, message, _) = error(&a);
    assert_eq!(kind, "malformed");
    assert!(message.contains("larger than 1 MB"), "{message}");
    assert_eq!(h.fake.requests().len(), 1);
}

#[tokio::test]
async fn a_huge_line_under_the_limit_is_read_whole() {
    let (_h, a) = answer("hi [[fake huge_line_bytes=900000 tokens=3 pace_ms=0]]").await;
    assert_eq!(a.status, Status::Done, "{:?}", a.error);
    assert!(a.content.starts_with(&"A".repeat(900_000)));
}

#[tokio::test]
async fn an_html_page_with_status_200_says_what_arrived_and_is_not_retried() {
    let (h, a) = answer("hi [[fake html=1]]").await;
    assert_eq!(a.status, Status::Failed);
    let (kind, message, detail) = error(&a);
    assert_eq!(kind, "malformed");
    assert!(message.contains("text/html"), "{message}");
    assert!(detail.contains("<!DOCTYPE html>") && detail.contains("Sign in"), "{detail}");
    assert_eq!(h.fake.requests().len(), 1);
    assert_eq!(a.usage.as_ref().unwrap().tokens.input_tokens, 0, "nothing was answered, nothing billed");
}

#[tokio::test]
async fn an_error_event_inside_a_200_stream_keeps_its_text_and_the_answer_so_far() {
    let (h, a) = answer("hi [[fake tokens=10 error_after=4 pace_ms=0]]").await;
    assert_eq!(a.status, Status::Failed);
    let (kind, message, detail) = error(&a);
    assert_eq!(kind, "server");
    assert!(message.contains("stopped partway"), "{message}");
    assert_eq!(detail, "Upstream provider error");
    assert!(a.content.contains("(fake)"));
    assert_eq!(h.fake.requests().len(), 1, "text had arrived: not retried");
}

#[tokio::test]
async fn absurd_usage_is_an_error_in_words_with_the_text_kept_and_tokens_estimated() {
    let (_h, a) = answer("hi [[fake tokens=5 usage=absurd pace_ms=0]]").await;
    assert_eq!(a.status, Status::Failed);
    let (kind, message, detail) = error(&a);
    assert_eq!(kind, "malformed");
    assert!(message.contains("18446744073709551615 output tokens in one answer"), "{message}");
    assert!(detail.contains("18446744073709551615"), "the provider's text is kept: {detail}");
    assert!(a.content.contains("(fake)"));
    let u = a.usage.as_ref().unwrap();
    assert!(u.tokens.estimated);
    assert!(u.tokens.output_tokens < 100, "estimated from the text: {}", u.tokens.output_tokens);
    assert!(u.cost.as_ref().unwrap().total < tally_engine::Decimal::ONE);
}
