//! Flow control between a turn's batches and a consumer that can be slower than the stream.
//!
//! The window is such a consumer: every batch sent over a `tauri::ipc::Channel` becomes a script
//! evaluated on the web view's main thread. The batcher ([`crate::turn`]) sends up to ~80 batches
//! a second; when the page takes longer than that to take each in, the batches queue up in front
//! of it, and everything behind them waits too: the text, the "stopped" of an answer, the click
//! on Stop itself (measured before this: 50 s from Stop to every answer shown stopped, 8 columns
//! at 1,000 tokens/s).
//!
//! [`paced`] puts a window of at most `window` unacknowledged batches in front of a sink. The
//! consumer acknowledges each batch once it has taken it in ([`Pacer::ack`]; the page does so in
//! the next animation frame). While the window is full, new batches are merged into one pending
//! batch instead of queueing: an answer's text deltas are joined, only the latest running figures
//! are kept, everything else keeps its order. So the consumer is never more than `window`
//! batches behind, however fast the stream, and what it receives last is always the latest.
//!
//! Nothing is lost: every batch delivered is acknowledged in time, and each acknowledgement
//! delivers what is pending, so the pending batch always goes out (the consumer cannot stop
//! acknowledging without being gone).

use std::sync::{Arc, Mutex};

use crate::turn::{Sink, TurnEvent};

/// How many batches may be on their way to the window, not yet acknowledged. Two: the next one
/// can travel while the page takes in the last.
pub const WINDOW: usize = 2;

pub struct Pacer {
    deliver: Sink,
    window: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    in_flight: usize,
    pending: Vec<TurnEvent>,
    /// The sink in front of this pacer was dropped: no more batches will be offered.
    closed: bool,
}

/// A sink that sends to `deliver` while fewer than `window` batches are unacknowledged and merges
/// batches while not, and the pacer to acknowledge them on.
pub fn paced(deliver: Sink, window: usize) -> (Sink, Arc<Pacer>) {
    let pacer = Arc::new(Pacer { deliver, window: window.max(1), state: Mutex::new(State::default()) });
    let front = Front(Arc::clone(&pacer));
    (Arc::new(move |batch| front.0.offer(batch)), pacer)
}

/// Marks the pacer closed when the turn drops its sink.
struct Front(Arc<Pacer>);

impl Drop for Front {
    fn drop(&mut self) {
        self.0.lock().closed = true;
    }
}

impl Pacer {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn offer(&self, batch: Vec<TurnEvent>) {
        let mut state = self.lock();
        merge(&mut state.pending, batch);
        self.send_pending(&mut state);
    }

    /// The consumer took in one batch: the pending one, if any, goes now.
    pub fn ack(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        self.send_pending(&mut state);
    }

    // Delivered under the lock, so that batches leave in the order they were made whichever
    // thread (the batcher's or an acknowledgement's) sends them. Delivering only hands the batch
    // to the channel; it does not wait for the consumer.
    fn send_pending(&self, state: &mut State) {
        if state.pending.is_empty() || state.in_flight >= self.window {
            return;
        }
        state.in_flight += 1;
        (self.deliver)(std::mem::take(&mut state.pending));
    }

    /// Nothing pending, nothing unacknowledged, and no more to come: the pacer can be forgotten.
    pub fn finished(&self) -> bool {
        let state = self.lock();
        state.closed && state.pending.is_empty() && state.in_flight == 0
    }

    /// Events waiting for the consumer (tests, diagnostics).
    pub fn pending(&self) -> usize {
        self.lock().pending.len()
    }
}

/// The answer an event is about, if it is about one.
fn about(event: &TurnEvent) -> Option<i64> {
    match event {
        TurnEvent::Delta { message_id, .. } => Some(*message_id),
        TurnEvent::Finished { message, .. } => Some(message.id),
        TurnEvent::Restarted { answer, .. } => Some(answer.id),
        TurnEvent::Started { .. } | TurnEvent::Live(_) | TurnEvent::Done { .. } => None,
    }
}

/// Appends `batch` to `pending`: a delta joins the answer's last pending delta when nothing
/// about that answer came between, running figures replace older ones, the rest is appended.
fn merge(pending: &mut Vec<TurnEvent>, batch: Vec<TurnEvent>) {
    for event in batch {
        match event {
            TurnEvent::Delta { message_id, text, reasoning } => {
                // The last pending event about this answer, unless a turn-wide event (Started,
                // Done) came after it: then order matters and the delta is appended.
                let last = pending.iter_mut().rev().take_while(|e| !matches!(e, TurnEvent::Started { .. } | TurnEvent::Done { .. })).find(|e| about(e) == Some(message_id));
                match last {
                    Some(TurnEvent::Delta { text: t, reasoning: r, .. }) => {
                        t.push_str(&text);
                        r.push_str(&reasoning);
                    }
                    _ => pending.push(TurnEvent::Delta { message_id, text, reasoning }),
                }
            }
            TurnEvent::Live(figures) => {
                pending.retain(|e| !matches!(e, TurnEvent::Live(_)));
                pending.push(TurnEvent::Live(figures));
            }
            other => pending.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::Live;

    fn delta(id: i64, text: &str) -> TurnEvent {
        TurnEvent::Delta { message_id: id, text: text.into(), reasoning: String::new() }
    }

    fn live(seq: u64) -> TurnEvent {
        TurnEvent::Live(Live { conversation_id: 1, seq, streaming: 1, totals: Default::default(), columns: vec![], answers: vec![] })
    }

    /// A sink that records what it was given.
    fn recorder() -> (Sink, Arc<Mutex<Vec<Vec<TurnEvent>>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink_got = Arc::clone(&got);
        (Arc::new(move |b| sink_got.lock().unwrap().push(b)), got)
    }

    fn texts(batch: &[TurnEvent]) -> Vec<(i64, String)> {
        batch
            .iter()
            .filter_map(|e| match e {
                TurnEvent::Delta { message_id, text, .. } => Some((*message_id, text.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn batches_go_straight_through_while_the_consumer_keeps_up() {
        let (deliver, got) = recorder();
        let (sink, pacer) = paced(deliver, 2);
        for i in 0..5 {
            sink(vec![delta(1, &i.to_string())]);
            pacer.ack();
        }
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 5, "one delivery per batch");
        assert_eq!(texts(&got[4]), vec![(1, "4".to_string())]);
    }

    #[test]
    fn a_slow_consumer_gets_at_most_the_window_then_one_merged_batch_per_ack() {
        let (deliver, got) = recorder();
        let (sink, pacer) = paced(deliver, 2);
        for i in 0..100 {
            sink(vec![delta(1, &format!("a{i} ")), delta(2, &format!("b{i} ")), live(i)]);
        }
        assert_eq!(got.lock().unwrap().len(), 2, "two batches in flight, the rest held");
        assert_eq!(pacer.pending(), 3, "98 batches merged into one delta per answer and the latest figures");
        pacer.ack();
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 3);
        let merged = &got[2];
        let expected_a: String = (2..100).map(|i| format!("a{i} ")).collect();
        let expected_b: String = (2..100).map(|i| format!("b{i} ")).collect();
        assert_eq!(texts(merged), vec![(1, expected_a), (2, expected_b)], "every character, in order");
        assert!(matches!(merged.last(), Some(TurnEvent::Live(l)) if l.seq == 99), "only the latest running figures");
    }

    #[test]
    fn a_delta_never_jumps_over_an_event_about_its_answer_or_the_turn() {
        let (deliver, got) = recorder();
        let (sink, pacer) = paced(deliver, 1);
        sink(vec![delta(1, "x")]); // in flight; the rest waits
        sink(vec![delta(1, "a")]);
        sink(vec![TurnEvent::Done { turn_id: 7 }]);
        sink(vec![delta(1, "b"), delta(2, "c")]);
        sink(vec![delta(1, "d")]);
        pacer.ack();
        let got = got.lock().unwrap();
        let kinds: Vec<String> = got[1]
            .iter()
            .map(|e| match e {
                TurnEvent::Delta { message_id, text, .. } => format!("{message_id}:{text}"),
                TurnEvent::Done { .. } => "done".into(),
                _ => "other".into(),
            })
            .collect();
        assert_eq!(kinds, ["1:a", "done", "1:bd", "2:c"]);
    }

    #[test]
    fn what_is_pending_when_the_turn_ends_still_goes_out_and_then_the_pacer_is_finished() {
        let (deliver, got) = recorder();
        let (sink, pacer) = paced(deliver, 1);
        sink(vec![delta(1, "a")]);
        sink(vec![TurnEvent::Done { turn_id: 1 }]);
        drop(sink);
        assert!(!pacer.finished(), "one batch pending, one unacknowledged");
        pacer.ack();
        assert_eq!(got.lock().unwrap().len(), 2, "the pending batch went with the acknowledgement");
        assert!(!pacer.finished(), "the last batch is not acknowledged yet");
        pacer.ack();
        assert!(pacer.finished());
        pacer.ack(); // a late or repeated acknowledgement changes nothing
        assert_eq!(got.lock().unwrap().len(), 2);
    }

    #[test]
    fn batches_offered_from_two_threads_with_acks_from_a_third_keep_every_character_in_order() {
        let (deliver, got) = recorder();
        let (sink, pacer) = paced(deliver, 2);
        let producers: Vec<_> = (1..=2)
            .map(|id| {
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        sink(vec![delta(id, &format!("{i},"))]);
                    }
                })
            })
            .collect();
        let acker = {
            let pacer = Arc::clone(&pacer);
            std::thread::spawn(move || {
                for _ in 0..3000 {
                    pacer.ack();
                    std::thread::yield_now();
                }
            })
        };
        for p in producers {
            p.join().unwrap();
        }
        acker.join().unwrap();
        while pacer.pending() > 0 {
            pacer.ack();
        }
        let got = got.lock().unwrap();
        for id in 1..=2 {
            let joined: String = got.iter().flat_map(|b| texts(b)).filter(|(m, _)| *m == id).map(|(_, t)| t).collect();
            let expected: String = (0..2000).map(|i| format!("{i},")).collect();
            assert_eq!(joined, expected, "answer {id}");
        }
    }
}
