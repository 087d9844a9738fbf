//! Counting text and chat requests with the encoders, once each.

use std::collections::HashMap;

use super::{tokenizer_for, ChatItem, Encoding, TokenCount, Tokenizer, REPLY_PRIMING, TOKENS_PER_MESSAGE, TOKENS_PER_NAME};

fn encoder(encoding: Encoding) -> &'static bpe_openai::Tokenizer {
    // Loaded on first use, once per process, shared by every thread (see `tables`).
    super::tables::encoder(encoding)
}

/// Tokens of `text` in `encoding`, with no chat formatting. Special-token strings such as
/// `<|endoftext|>` count as ordinary text, as they do in an API request's content.
pub fn count_content(encoding: Encoding, text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    encoder(encoding).count(text) as u64
}

/// Tokens of a plain text on `model` (no chat formatting).
pub fn count_text(model: &str, text: &str) -> TokenCount {
    let t = tokenizer_for(model);
    TokenCount { model: model.to_string(), encoding: t.encoding, tokens: count_content(t.encoding, text), exact: t.exact }
}

/// Tokens of a messages array on `model` as the chat API counts its input: each message's
/// overhead, role, content and name, plus the reply priming (see the module docs).
pub fn count_chat(model: &str, messages: &[ChatItem]) -> TokenCount {
    let t = tokenizer_for(model);
    let mut memo = Memo::default();
    let tokens = messages.iter().map(|m| memo.message(&t, m)).sum::<u64>() + REPLY_PRIMING;
    TokenCount { model: model.to_string(), encoding: t.encoding, tokens, exact: t.exact }
}

/// Counts each distinct text once per encoding, for views that count the same texts for several
/// models or variants (a prompt's system prompt and thread, a conversation's messages).
#[derive(Default)]
pub struct Memo<'a> {
    seen: HashMap<(Encoding, &'a str), u64>,
}

impl<'a> Memo<'a> {
    pub fn count(&mut self, encoding: Encoding, text: &'a str) -> u64 {
        *self.seen.entry((encoding, text)).or_insert_with(|| count_content(encoding, text))
    }

    /// One message's tokens in a chat request: overhead, role, content and name.
    pub fn message(&mut self, t: &Tokenizer, m: &'a ChatItem) -> u64 {
        self.overhead(t, m) + self.count(t.encoding, &m.content)
    }

    /// One message's tokens besides its content: the per-message overhead, role and name.
    pub fn overhead(&mut self, t: &Tokenizer, m: &'a ChatItem) -> u64 {
        let (per_message, per_name) = if t.legacy_0301 { (4, -1) } else { (TOKENS_PER_MESSAGE as i64, TOKENS_PER_NAME as i64) };
        let name = m.name.as_deref().map_or(0, |n| self.count(t.encoding, n) as i64 + per_name);
        let role = if t.legacy_0301 && m.name.is_some() { 0 } else { self.count(t.encoding, &m.role) as i64 };
        (per_message + role + name).max(0) as u64
    }
}

/// Splits a text into paragraphs at blank lines, each paragraph keeping the line breaks that
/// follow it, so that they join back into the text. A split is made only where a line break is
/// directly followed by a non-space character: no token of either encoding spans such a point
/// (the pre-tokenizers end every piece at a run of line breaks there), so the paragraphs' counts
/// add up to the text's count exactly.
pub fn paragraphs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut breaks, mut prev, mut has_text) = (0, 0u32, None::<char>, false);
    for (i, c) in text.char_indices() {
        if !c.is_whitespace() {
            if breaks >= 2 && matches!(prev, Some('\n' | '\r')) && has_text {
                out.push(&text[start..i]);
                start = i;
            }
            breaks = 0;
            has_text = true;
        } else if c == '\n' {
            breaks += 1;
        }
        prev = Some(c);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_join_back_into_the_text() {
        let text = "One.\n\nTwo two.\n\n\n  Still two.\n\nThree\r\n\r\nFour\nstill four";
        let parts = paragraphs(text);
        assert_eq!(parts, vec!["One.\n\n", "Two two.\n\n\n  Still two.\n\n", "Three\r\n\r\n", "Four\nstill four"]);
        assert_eq!(parts.concat(), text);
        assert!(paragraphs("").is_empty());
        assert_eq!(paragraphs("\n\nlead"), vec!["\n\nlead"]);
    }

    #[test]
    fn a_name_costs_its_tokens_plus_one() {
        let plain = count_chat("gpt-4o", &[ChatItem::new("user", "hi")]).tokens;
        let named = count_chat("gpt-4o", &[ChatItem { name: Some("alice".into()), ..ChatItem::new("user", "hi") }]).tokens;
        assert_eq!(named - plain, count_content(Encoding::O200kBase, "alice") + 1);
        // 3 per message + "user" + "hi" + 3 to prime the reply.
        assert_eq!(plain, 3 + 1 + 1 + 3);
    }
}
