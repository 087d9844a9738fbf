//! The ≈ running figures while answers stream: what each streaming answer has cost so far, and
//! its column's and conversation's totals with it, computed here (money is only computed in Rust)
//! and sent to the UI with the batches of text.
//!
//! A streaming answer without usage yet is estimated the way a stopped one is billed
//! ([`estimate_tokens`]: about four bytes a token, for the request and for the text so far) and
//! priced with [`Pricing::charge`]. The base is the exact totals of the conversation and its
//! columns, taken from the store when a turn starts and from each finished answer's snapshot
//! after that, keeping the highest revision (the store bumps it in the same transaction that
//! changes the totals), so an older snapshot arriving late never takes a total back.
//!
//! Owns no I/O: the turn runner feeds it and asks it for [`Live`] snapshots.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use serde::Serialize;
use ts_rs::TS;

use crate::pricing::{AnswerFacts, Pricing};
use crate::store::conversations::{AllTotals, Totals};
use crate::stream::Usage;
use crate::target::Target;

/// Tokens in a text of `len` bytes, as Tally estimates them when a provider sent no count.
pub fn estimate_tokens(len: usize) -> u64 {
    (len as u64).div_ceil(4)
}

/// The running figures of a conversation while answers stream.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct Live {
    #[ts(as = "crate::brands::ts::ConversationId")]
    pub conversation_id: i64,
    /// Increases with every snapshot: of two, the UI keeps the higher.
    #[ts(type = "number")]
    pub seq: u64,
    /// Answers of the conversation still streaming; 0 means the exact totals stand again.
    pub streaming: u32,
    /// The conversation's totals with every streaming answer's estimate added.
    pub totals: Totals,
    pub columns: Vec<LiveColumn>,
    pub answers: Vec<LiveAnswer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LiveColumn {
    #[ts(as = "crate::brands::ts::ColumnId")]
    pub column_id: i64,
    pub totals: Totals,
}

/// A streaming answer so far: estimated tokens and, when the model has a price, cost.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LiveAnswer {
    #[ts(as = "crate::brands::ts::MessageId")]
    pub message_id: i64,
    #[ts(type = "number")]
    pub input_tokens: u64,
    #[ts(type = "number")]
    pub output_tokens: u64,
    #[ts(as = "Option<crate::brands::ts::Money>")]
    pub cost: Option<Decimal>,
}

/// One answer about to stream, as the book needs it.
#[derive(Debug, Clone)]
pub struct Streaming {
    pub message_id: i64,
    pub column_id: i64,
    pub target: Target,
    /// Bytes of the request's text (system prompt and thread), for the input estimate.
    pub input_len: usize,
}

struct Answer {
    column_id: i64,
    target: Target,
    input_tokens: u64,
    output_len: usize,
    /// Output length the cost below was computed for.
    priced_len: Option<usize>,
    cost: Option<Decimal>,
}

#[derive(Default)]
struct Conversation {
    base: AllTotals,
    answers: HashMap<i64, Answer>,
}

/// Running figures per conversation, shared by every turn that streams into it.
pub struct LiveBook {
    pricing: Arc<Pricing>,
    inner: Mutex<Book>,
}

#[derive(Default)]
struct Book {
    seq: u64,
    conversations: HashMap<i64, Conversation>,
}

impl LiveBook {
    pub fn new(pricing: Arc<Pricing>) -> LiveBook {
        LiveBook { pricing, inner: Mutex::default() }
    }

    /// Answers start streaming in a conversation whose totals were `base` when they started.
    pub fn begin(&self, conversation_id: i64, base: AllTotals, answers: Vec<Streaming>) {
        let mut book = self.lock();
        let conv = book.conversations.entry(conversation_id).or_default();
        conv.base.absorb(base);
        for a in answers {
            let input_tokens = estimate_tokens(a.input_len).max(1);
            conv.answers.insert(a.message_id, Answer { column_id: a.column_id, target: a.target, input_tokens, output_len: 0, priced_len: None, cost: None });
        }
    }

    /// `len` more bytes of text (answer or reasoning) arrived for an answer.
    pub fn grow(&self, conversation_id: i64, message_id: i64, len: usize) {
        let mut book = self.lock();
        if let Some(a) = book.conversations.get_mut(&conversation_id).and_then(|c| c.answers.get_mut(&message_id)) {
            a.output_len += len;
        }
    }

    /// An answer ended and was saved: the totals it left (with their revision) replace the base
    /// unless a newer snapshot is already there.
    pub fn settle(&self, conversation_id: i64, message_id: i64, column_id: i64, column: &Totals, conversation: &Totals) {
        let mut book = self.lock();
        if let Some(conv) = book.conversations.get_mut(&conversation_id) {
            conv.answers.remove(&message_id);
            conv.base.absorb(AllTotals { conversation: conversation.clone(), columns: vec![(column_id, column.clone())] });
        }
    }

    /// The conversation's figures now; `None` when nothing of it is known here.
    pub fn snapshot(&self, conversation_id: i64) -> Option<Live> {
        let mut book = self.lock();
        book.seq += 1;
        let seq = book.seq;
        let conv = book.conversations.get_mut(&conversation_id)?;
        let mut totals = conv.base.conversation.clone();
        let mut columns: HashMap<i64, Totals> = HashMap::new();
        let mut answers = Vec::with_capacity(conv.answers.len());
        for (&message_id, a) in conv.answers.iter_mut() {
            let output_tokens = estimate_tokens(a.output_len);
            if a.priced_len != Some(a.output_len) {
                let usage = Usage { input_tokens: a.input_tokens, output_tokens, estimated: true, ..Usage::default() };
                a.cost = self.pricing.charge(&a.target, &AnswerFacts::default(), &usage).ok().and_then(|(_, c)| c).map(|c| c.total);
                a.priced_len = Some(a.output_len);
            }
            let column = columns
                .entry(a.column_id)
                .or_insert_with(|| conv.base.columns.iter().find(|(id, _)| *id == a.column_id).map(|(_, t)| t.clone()).unwrap_or_default());
            for t in [&mut totals, column] {
                t.input_tokens += a.input_tokens;
                t.output_tokens += output_tokens;
                if let Some(cost) = a.cost {
                    t.cost = (t.cost + cost).normalize();
                }
            }
            answers.push(LiveAnswer { message_id, input_tokens: a.input_tokens, output_tokens, cost: a.cost });
        }
        answers.sort_by_key(|a| a.message_id);
        let mut columns: Vec<LiveColumn> = columns.into_iter().map(|(column_id, totals)| LiveColumn { column_id, totals }).collect();
        columns.sort_by_key(|c| c.column_id);
        let streaming = answers.len() as u32;
        if streaming == 0 {
            // Nothing streams: the next turn starts from the store's totals again.
            book.conversations.remove(&conversation_id);
        }
        Some(Live { conversation_id, seq, streaming, totals, columns, answers })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl AllTotals {
    /// Keeps, for the conversation and for each column, whichever snapshot is newer.
    fn absorb(&mut self, other: AllTotals) {
        if other.conversation.revision >= self.conversation.revision {
            self.conversation = other.conversation;
        }
        for (id, t) in other.columns {
            match self.columns.iter_mut().find(|(c, _)| *c == id) {
                Some((_, mine)) if mine.revision > t.revision => {}
                Some((_, mine)) => *mine = t,
                None => self.columns.push((id, t)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{Catalog, Fees};
    use crate::store::conversations::Totals;

    fn totals(revision: i64, cost: &str, output_tokens: u64) -> Totals {
        Totals { revision, cost: cost.parse().unwrap(), input_tokens: 100, output_tokens, unpriced_answers: 0 }
    }

    fn book() -> (LiveBook, Target) {
        let pricing = Arc::new(Pricing::new(Catalog::embedded(), Fees::default()));
        let target = Target::parse("openai:gpt-4o-mini").unwrap();
        (LiveBook::new(pricing), target)
    }

    #[test]
    fn running_figures_add_each_streaming_answers_estimate_to_the_totals_so_far() {
        let (book, target) = book();
        let price = Pricing::new(Catalog::embedded(), Fees::default()).catalog().price(&target, None).unwrap();
        let base = AllTotals { conversation: totals(3, "0.5", 20), columns: vec![(10, totals(3, "0.25", 10))] };
        book.begin(7, base, vec![Streaming { message_id: 1, column_id: 10, target: target.clone(), input_len: 40 }]);
        book.grow(7, 1, 400); // 100 tokens so far

        let live = book.snapshot(7).unwrap();
        // 10 input tokens (40 bytes) and 100 output tokens at the list price, by hand:
        let answer = price.input * Decimal::from(10) + price.output * Decimal::from(100);
        assert_eq!(live.answers, vec![LiveAnswer { message_id: 1, input_tokens: 10, output_tokens: 100, cost: Some(answer.normalize()) }]);
        assert_eq!(live.totals.cost, (Decimal::new(5, 1) + answer).normalize());
        assert_eq!(live.totals.output_tokens, 120);
        assert_eq!(live.columns, vec![LiveColumn { column_id: 10, totals: Totals { cost: (Decimal::new(25, 2) + answer).normalize(), input_tokens: 110, output_tokens: 110, ..totals(3, "0", 0) } }]);
        assert_eq!(live.streaming, 1);
        assert!(book.snapshot(7).unwrap().seq > live.seq, "every snapshot is newer than the last");
    }

    #[test]
    fn an_older_snapshot_arriving_last_never_takes_a_total_back() {
        let (book, target) = book();
        let streaming = |id| Streaming { message_id: id, column_id: id * 10, target: target.clone(), input_len: 4 };
        book.begin(1, AllTotals::default(), vec![streaming(1), streaming(2), streaming(3)]);
        // Answer 2 was saved second (revision 2) but its event comes first; answer 1's (revision 1) last.
        book.settle(1, 2, 20, &totals(2, "0.2", 2), &totals(2, "0.3", 3));
        book.settle(1, 1, 10, &totals(1, "0.1", 1), &totals(1, "0.1", 1));
        let live = book.snapshot(1).unwrap();
        assert_eq!(live.streaming, 1);
        let answer3 = live.answers[0].cost.unwrap();
        assert_eq!(live.totals.cost, (Decimal::new(3, 1) + answer3).normalize(), "the revision-2 total stands");
        book.settle(1, 3, 30, &totals(3, "0.05", 1), &totals(3, "0.35", 4));
        let last = book.snapshot(1).unwrap();
        assert_eq!((last.streaming, last.totals.clone()), (0, totals(3, "0.35", 4)));
        assert_eq!(book.snapshot(1), None, "a conversation with nothing streaming is forgotten");
    }
}
