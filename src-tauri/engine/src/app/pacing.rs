//! A turn's batches paced by the reader that takes them in (the window): each reader, named by
//! the caller (the app uses its IPC Channel's id), acknowledges the batches it has taken in, and
//! never has more than [`pace::WINDOW`] on their way (see [`crate::pace`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::Engine;
use crate::pace::{self, Pacer};
use crate::turn::Sink;

/// The pacers of turns whose batches their reader has not all acknowledged, by reader.
#[derive(Default)]
pub(super) struct Pacers(Mutex<HashMap<u32, Arc<Pacer>>>);

impl Pacers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Arc<Pacer>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Engine {
    /// `deliver`, paced by `reader`'s acknowledgements ([`Engine::batch_seen`]): a reader that
    /// falls behind gets merged batches instead of a queue.
    pub fn paced(&self, reader: u32, deliver: Sink) -> Sink {
        let (sink, pacer) = pace::paced(deliver, pace::WINDOW);
        let mut pacers = self.pacers.lock();
        pacers.retain(|_, p| !p.finished());
        pacers.insert(reader, pacer);
        sink
    }

    /// `reader` took in a batch: the next one may come.
    pub fn batch_seen(&self, reader: u32) {
        let pacer = self.pacers.lock().get(&reader).cloned();
        if let Some(pacer) = pacer {
            pacer.ack();
            if pacer.finished() {
                self.pacers.lock().remove(&reader);
            }
        }
    }
}
