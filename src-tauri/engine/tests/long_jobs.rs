//! Long jobs don't block turns: a read (the dashboard), a CSV export and a CSV import run on
//! connections of their own, and a turn's writes (start, partial save, finish with usage and
//! totals) go through on the writer while each of them is held open half-way. Each job is
//! paused on a gate until the turn has been saved: if the turn had to wait behind the job, the
//! save would fail with "busy" after the busy timeout instead of completing.

mod common;

use std::io::{Read, Write};
use std::sync::mpsc::{channel, Receiver, Sender};

use common::{a_turn, answer, conversation, db, write};
use tally_engine::store::messages::{self, Status};
use tally_engine::store::Store;
use tally_engine::ledger::csv::{export, import};
use tally_engine::ledger::DayRange;

/// Writes (or reads) pass through; the first one past `after` bytes stops until told to go on.
struct Gate {
    seen: usize,
    after: usize,
    paused: Option<(Sender<()>, Receiver<()>)>,
}

impl Gate {
    fn new(after: usize) -> (Gate, Receiver<()>, Sender<()>) {
        let (paused_tx, paused_rx) = channel();
        let (go_tx, go_rx) = channel();
        (Gate { seen: 0, after, paused: Some((paused_tx, go_rx)) }, paused_rx, go_tx)
    }

    fn pass(&mut self, n: usize) {
        self.seen += n;
        if self.seen > self.after {
            if let Some((paused, go)) = self.paused.take() {
                paused.send(()).unwrap();
                go.recv().unwrap();
            }
        }
    }
}

impl Write for Gate {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pass(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct GatedReader<R> {
    inner: R,
    gate: Gate,
}

impl<R: Read> Read for GatedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let limit = buf.len().min(4096);
        let n = self.inner.read(&mut buf[..limit])?;
        self.gate.pass(n);
        Ok(n)
    }
}

fn many_rows(store: &Store, conversation_id: i64, n: usize) {
    let rows: Vec<_> = (0..n)
        .map(|i| {
            let mut r = answer(&format!("2026-03-{:02}T10:00:00.000Z", 1 + i % 28), "openai:gpt-4o-mini", Some("0.0001"), None, conversation_id);
            r.uid = format!("row-{i}");
            r
        })
        .collect();
    write(store, &rows);
}

#[test]
fn a_long_read_open_while_a_turn_saves_neither_waits_for_the_other() {
    let d = db();
    let conv = conversation(&d.store, "Budget");
    let (paused_tx, paused_rx) = channel();
    let (go_tx, go_rx) = channel::<()>();
    let reader = {
        let store = d.store.clone();
        std::thread::spawn(move || {
            store.read(|c| {
                c.execute_batch("BEGIN")?;
                let before: i64 = c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
                paused_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                let still: i64 = c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
                c.execute_batch("COMMIT")?;
                Ok((before, still))
            })
        })
    };
    paused_rx.recv().unwrap();
    let id = a_turn(&d.store, conv);
    go_tx.send(()).unwrap();
    let (before, still) = reader.join().unwrap().unwrap();
    assert_eq!(before, still, "the read saw one snapshot throughout: it was open while the turn saved");
    let status = d.store.read(|c| messages::message(c, id)).unwrap().status;
    assert_eq!(status, Status::Done, "and a read started afterwards sees the saved turn");
}

#[test]
fn a_csv_export_paused_half_way_does_not_hold_a_turn() {
    let d = db();
    let conv = conversation(&d.store, "Budget");
    many_rows(&d.store, conv, 400);
    let (gate, paused, go) = Gate::new(16 * 1024);
    let exporter = {
        let store = d.store.clone();
        std::thread::spawn(move || store.read(|c| export(c, &DayRange::all(), gate).map_err(|e| tally_engine::store::StoreError::Invalid(e.to_string()))))
    };
    paused.recv().unwrap();
    a_turn(&d.store, conv);
    go.send(()).unwrap();
    assert_eq!(exporter.join().unwrap().unwrap(), 400, "the export is the snapshot it started from");
}

#[test]
fn a_csv_import_paused_while_it_reads_the_file_does_not_hold_a_turn_and_then_adds_every_row() {
    let src = db();
    let conv = conversation(&src.store, "Budget");
    many_rows(&src.store, conv, 400);
    let mut csv = Vec::new();
    src.store.read(|c| Ok(export(c, &DayRange::all(), &mut csv))).unwrap().unwrap();

    let d = db();
    let conv = conversation(&d.store, "Here");
    let (gate, paused, go) = Gate::new(16 * 1024);
    let importer = {
        let store = d.store.clone();
        std::thread::spawn(move || store.job(|c| Ok(import(c, GatedReader { inner: csv.as_slice(), gate }))))
    };
    paused.recv().unwrap();
    a_turn(&d.store, conv);
    go.send(()).unwrap();
    let summary = importer.join().unwrap().unwrap().unwrap();
    assert_eq!((summary.read, summary.added), (400, 400));
    let rows: i64 = d.store.read(|c| Ok(c.query_row("SELECT count(*) FROM usage", [], |r| r.get(0))?)).unwrap();
    assert_eq!(rows, 401, "every imported row and the turn's own");
}
