//! "Where do my tokens go": a request's input tokens per part (system prompt, each history
//! message, the new text), long parts and the new text per paragraph, and what removing each
//! saves per request and per 1,000 requests. Each text is counted once: a part's count is the
//! sum of its paragraphs' counts (exact, see [`super::paragraphs`]).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{paragraphs, tokenizer_for, ChatItem, Encoding, Memo, Tokenizer, REPLY_PRIMING};

/// A part listed with its paragraphs when it has at least this many tokens (the new text is
/// always listed by paragraph when it has more than one).
pub const LONG_PART_TOKENS: u64 = 500;
/// Characters of a part or paragraph shown as its preview.
const PREVIEW_CHARS: usize = 80;

/// What to break down: the request a column would send.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
pub struct BreakdownRequest {
    /// A model id or target (`openai:gpt-4o`).
    pub model: String,
    pub system: Option<String>,
    /// The thread so far, oldest first.
    pub history: Vec<ChatItem>,
    pub new_text: String,
    /// USD per input token, as in [`crate::pricing::Price::input`].
    #[ts(as = "crate::brands::ts::UsdPerToken")]
    pub input_price: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PartKind {
    System,
    History,
    NewText,
}

/// What removing something saves, at the request's input price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Saving {
    #[ts(as = "crate::brands::ts::Money")]
    pub per_request: Decimal,
    #[ts(as = "crate::brands::ts::Money")]
    pub per_1000_requests: Decimal,
}

impl Saving {
    fn of(tokens: u64, input_price: Decimal) -> Saving {
        let per_request = (Decimal::from(tokens) * input_price).normalize();
        Saving { per_request, per_1000_requests: (per_request * Decimal::ONE_THOUSAND).normalize() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ParagraphTokens {
    /// Where the paragraph starts in the part's text, in UTF-16 code units (a JavaScript index).
    #[ts(type = "number")]
    pub start_utf16: u64,
    #[ts(type = "number")]
    pub len_utf16: u64,
    pub preview: String,
    #[ts(type = "number")]
    pub tokens: u64,
    pub saving: Saving,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct PartTokens {
    pub kind: PartKind,
    /// The history message's index (oldest is 0); `None` for the system prompt and the new text.
    #[ts(type = "number | null")]
    pub index: Option<u64>,
    pub role: String,
    pub preview: String,
    /// The whole message: content plus its chat overhead (what removing the part saves).
    #[ts(type = "number")]
    pub tokens: u64,
    #[ts(type = "number")]
    pub content_tokens: u64,
    /// Listed for the new text and for long parts with more than one paragraph; else empty.
    pub paragraphs: Vec<ParagraphTokens>,
    pub saving: Saving,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Breakdown {
    pub model: String,
    pub encoding: Encoding,
    pub exact: bool,
    /// Every input token of the request: the parts' tokens plus the reply priming.
    #[ts(type = "number")]
    pub total_tokens: u64,
    #[ts(type = "number")]
    pub reply_priming: u64,
    pub parts: Vec<PartTokens>,
}

fn preview(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

fn utf16_len(text: &str) -> u64 {
    text.encode_utf16().count() as u64
}

fn part<'a>(t: &Tokenizer, kind: PartKind, index: Option<u64>, item: &'a ChatItem, input_price: Decimal, memo: &mut Memo<'a>) -> PartTokens {
    let mut start = 0u64;
    let paras: Vec<ParagraphTokens> = paragraphs(&item.content)
        .into_iter()
        .map(|p| {
            let tokens = memo.count(t.encoding, p);
            let len = utf16_len(p);
            let row = ParagraphTokens { start_utf16: start, len_utf16: len, preview: preview(p), tokens, saving: Saving::of(tokens, input_price) };
            start += len;
            row
        })
        .collect();
    let content_tokens: u64 = paras.iter().map(|p| p.tokens).sum();
    let tokens = memo.overhead(t, item) + content_tokens;
    let listed = paras.len() > 1 && (kind == PartKind::NewText || content_tokens >= LONG_PART_TOKENS);
    PartTokens {
        kind,
        index,
        role: item.role.clone(),
        preview: preview(&item.content),
        tokens,
        content_tokens,
        paragraphs: if listed { paras } else { Vec::new() },
        saving: Saving::of(tokens, input_price),
    }
}

/// Breaks a request down by part (blocking; see the module docs of [`crate::tokens`]).
pub fn breakdown(req: &BreakdownRequest) -> Breakdown {
    let t = tokenizer_for(&req.model);
    let system = req.system.as_deref().filter(|s| !s.trim().is_empty()).map(|s| ChatItem::new("system", s));
    let new_text = ChatItem::new("user", &req.new_text);
    let mut memo = Memo::default();
    let mut parts = Vec::with_capacity(req.history.len() + 2);
    if let Some(s) = &system {
        parts.push(part(&t, PartKind::System, None, s, req.input_price, &mut memo));
    }
    for (i, m) in req.history.iter().enumerate() {
        parts.push(part(&t, PartKind::History, Some(i as u64), m, req.input_price, &mut memo));
    }
    parts.push(part(&t, PartKind::NewText, None, &new_text, req.input_price, &mut memo));
    let total_tokens = parts.iter().map(|p| p.tokens).sum::<u64>() + REPLY_PRIMING;
    Breakdown { model: req.model.clone(), encoding: t.encoding, exact: t.exact, total_tokens, reply_priming: REPLY_PRIMING, parts }
}
