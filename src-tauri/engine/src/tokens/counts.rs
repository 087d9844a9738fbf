//! Counts kept for the session, so a long thread is not tokenized again at every turn and the
//! compose box, the budget check and the stored estimate share one count of the same text.
//!
//! A stored message's content is counted once per encoding and kept under its message id (its
//! content never changes once it is on a thread). Free texts — the prompt being typed, a system
//! prompt — are kept by their text, a few at a time. Counting happens with no lock held, so two
//! threads may count the same text once each, never wrongly.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{count_content, tokenizer_for, ChatItem, Encoding, Memo, Tokenizer, REPLY_PRIMING};
use crate::providers::{ChatMessage, Role};

/// How many free texts are kept per session (the newest ones; the compose box's last few).
const TEXTS_KEPT: usize = 16;

/// One message of a request to count: a stored one (by id, counted once per session) or a text.
pub struct Part<'a> {
    pub id: Option<i64>,
    pub role: &'a str,
    pub content: &'a str,
}

impl<'a> Part<'a> {
    pub fn stored(id: i64, m: &'a ChatMessage) -> Self {
        Part { id: Some(id), role: role_name(m.role), content: &m.content }
    }
    pub fn text(role: &'a str, content: &'a str) -> Self {
        Part { id: None, role, content }
    }
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The session's counts. Cheap to share (`Arc`); every method may block on counting.
#[derive(Default)]
pub struct TokenCounts {
    messages: Mutex<HashMap<(Encoding, i64), u64>>,
    texts: Mutex<Vec<(Encoding, String, u64)>>,
}

impl TokenCounts {
    /// Tokens of a stored message's content.
    pub fn message(&self, encoding: Encoding, id: i64, content: &str) -> u64 {
        if let Some(n) = self.messages.lock().unwrap_or_else(|p| p.into_inner()).get(&(encoding, id)) {
            return *n;
        }
        let n = self.text(encoding, content);
        self.messages.lock().unwrap_or_else(|p| p.into_inner()).insert((encoding, id), n);
        n
    }

    /// Tokens of a free text (a prompt, a system prompt), kept among the newest few.
    pub fn text(&self, encoding: Encoding, text: &str) -> u64 {
        if text.len() < 64 {
            return count_content(encoding, text);
        }
        {
            let mut texts = self.texts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(i) = texts.iter().position(|(e, t, _)| *e == encoding && t == text) {
                let hit = texts.remove(i);
                let n = hit.2;
                texts.push(hit);
                return n;
            }
        }
        let n = count_content(encoding, text);
        let mut texts = self.texts.lock().unwrap_or_else(|p| p.into_inner());
        if texts.len() >= TEXTS_KEPT {
            texts.remove(0);
        }
        texts.push((encoding, text.to_string(), n));
        n
    }

    /// Remembers a stored message's count (a prompt counted as text before it was stored).
    pub fn remember(&self, encoding: Encoding, id: i64, tokens: u64) {
        self.messages.lock().unwrap_or_else(|p| p.into_inner()).insert((encoding, id), tokens);
    }

    /// Input tokens of a chat request on `model`: each part's overhead and content, plus the
    /// reply priming — the same number [`super::count_chat`] gives for the same messages.
    pub fn request<'a>(&self, model: &str, system: Option<&str>, parts: impl IntoIterator<Item = Part<'a>>) -> (u64, Tokenizer) {
        let t = tokenizer_for(model);
        let overhead = |role: &str| Memo::default().overhead(&t, &ChatItem::new(role, ""));
        let mut total = REPLY_PRIMING;
        if let Some(system) = system.filter(|s| !s.trim().is_empty()) {
            total += overhead("system") + self.text(t.encoding, system);
        }
        for part in parts {
            total += overhead(part.role);
            total += match part.id {
                Some(id) => self.message(t.encoding, id, part.content),
                None => self.text(t.encoding, part.content),
            };
        }
        (total, t)
    }

    /// How many stored messages have a count kept (for tests).
    pub fn kept_messages(&self) -> usize {
        self.messages.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::count_chat;

    #[test]
    fn a_request_counted_from_kept_parts_equals_the_chat_count() {
        let long = "The quick brown fox jumps over the lazy dog. ".repeat(40);
        let thread = [ChatMessage { role: Role::User, content: long.clone().into() }, ChatMessage { role: Role::Assistant, content: "A fox, yes.".into() }];
        let counts = TokenCounts::default();
        for model in ["openai:gpt-4o", "openai:gpt-4", "anthropic:claude-sonnet-4-5"] {
            let expected = count_chat(model, &ChatItem::request(Some("Be brief."), &[thread[0].clone(), thread[1].clone(), ChatMessage { role: Role::User, content: long.clone().into() }])).tokens;
            for _ in 0..2 {
                let parts = [Part::stored(1, &thread[0]), Part::stored(2, &thread[1]), Part::text("user", &long)];
                assert_eq!(counts.request(model, Some("Be brief."), parts).0, expected, "{model}");
            }
        }
        assert_eq!(counts.kept_messages(), 4, "two messages, two encodings, each counted once");
    }
}
