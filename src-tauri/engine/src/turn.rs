//! The fan-out of a turn: one prompt, every column of a conversation, at once.
//!
//! Each column streams in its own task; what arrives is saved as it streams (partial answers
//! survive a crash), coalesced into one batch of [`TurnEvent`]s per UI frame, and priced when
//! the answer ends — however it ends: a stopped or dropped answer keeps its text and its tokens
//! (estimated, and marked so, when the provider sent no usage). Retries happen only before the
//! first token, bounded in count and total wait.
//!
//! The requests leave before the turn is written: their bodies are written one after another off
//! the async workers from threads kept in memory ([`crate::store::texts`]), and the turn is
//! recorded while they travel. What streams in before the record is written is held by its
//! column and shown once it is; a turn that cannot be recorded has its requests stopped at once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::endpoints::Endpoints;
use crate::live::{self, Live, LiveBook, Streaming};
use crate::pricing::{uses_web_search, AnswerFacts, Pricing};
use crate::providers::{self, ChatMessage, ChatRequest, ErrorKind, ProviderError, Role, StreamLimits};
use crate::reconcile::Reconciler;
use crate::store::conversations::{self, AllTotals, ColumnParams, Totals};
use crate::store::messages::{self, ColumnTurn, Finished, MessageView, PlannedColumn, RegeneratePlan, Status, TurnPlan};
use crate::store::{Store, StoreError};
use crate::stream::{StreamEvent, Timing, Usage};
use crate::target::Target;
use crate::tokens::counts::TokenCounts;

/// The longest a streamed token waits before it is sent to the UI: less than one 60 Hz frame
/// (16.7 ms), leaving the UI time to paint it within that frame. An answer's first token does
/// not wait at all.
pub const BATCH_WINDOW: Duration = Duration::from_millis(12);
/// How often a streaming answer's text is saved.
const SAVE_EVERY: Duration = Duration::from_millis(500);
const MAX_ATTEMPTS: u32 = 3;
/// No attempt starts later than this after the first one: a retry is for a refusal before the
/// answer begins, not a way to spend minutes.
const MAX_RETRY_WINDOW: Duration = Duration::from_secs(20);

/// What the UI hears about a running turn, in batches.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum TurnEvent {
    /// The turn is recorded; `answers` are the empty streaming answers, one per column.
    Started {
        #[ts(as = "crate::brands::ts::TurnId")]
        turn_id: i64,
        prompt: String,
        answers: Vec<MessageView>,
    },
    /// One answer of an earlier turn starts again; `answer` (streaming) replaces `replaces`.
    Restarted {
        #[ts(as = "crate::brands::ts::TurnId")]
        turn_id: i64,
        #[ts(as = "crate::brands::ts::MessageId")]
        replaces: i64,
        answer: MessageView,
    },
    /// Text that arrived since the last batch, for one answer.
    Delta {
        #[ts(as = "crate::brands::ts::MessageId")]
        message_id: i64,
        text: String,
        reasoning: String,
    },
    /// An answer ended (done, stopped or failed), with its usage and cost, and the new totals
    /// (each with its revision: an older snapshot may arrive after a newer one).
    Finished {
        message: MessageView,
        column_totals: Totals,
        conversation_totals: Totals,
    },
    /// The ≈ running figures, sent with every batch that changed them.
    Live(Live),
    Done {
        #[ts(as = "crate::brands::ts::TurnId")]
        turn_id: i64,
    },
}

/// Receives batches of events; the app's sink sends them over a `tauri::ipc::Channel`.
pub type Sink = Arc<dyn Fn(Vec<TurnEvent>) + Send + Sync>;

pub struct TurnDeps {
    pub store: Store,
    pub http: reqwest::Client,
    pub endpoints: Arc<dyn Endpoints>,
    pub pricing: Arc<Pricing>,
    /// "app" or "cli": recorded with each usage row.
    pub origin: &'static str,
    /// Checks each OpenRouter answer against OpenRouter's record of it, in the background.
    pub reconciler: Option<Arc<Reconciler>>,
    /// Token counts kept for the session (shared with the compose box's estimate).
    pub counts: Arc<TokenCounts>,
}

#[derive(Default)]
struct Running {
    turn: CancellationToken,
    by_message: HashMap<i64, CancellationToken>,
}

/// Where a turn's record stands, as its columns see it: the requests leave before it is written.
#[derive(Debug, Clone)]
enum Record {
    /// Being written; what streams in meanwhile is held by its column.
    Pending,
    /// Written: each column's answer id, in the order the columns were opened.
    Written(Arc<[i64]>),
    /// Not written: the requests were stopped, and nothing of them is kept.
    Abandoned,
}

/// One column's request, as it leaves.
struct Outgoing {
    /// The column's place in its turn (its answer id is `Record::Written(ids)[index]`).
    index: usize,
    column_id: i64,
    target: Target,
    request: Arc<ChatRequest>,
}

impl Outgoing {
    /// A planned column's request: its thread (the texts shared, not copied) and its prompt.
    fn planned(index: usize, c: &PlannedColumn) -> Outgoing {
        let messages = c.thread.iter().map(|(_, m)| m.clone()).chain(std::iter::once(ChatMessage { role: Role::User, content: Arc::clone(&c.prompt) })).collect();
        Outgoing { index, column_id: c.column_id, target: c.target.clone(), request: Arc::new(request(&c.target, &c.params, messages)) }
    }

    /// A column whose answer is written already (a regeneration).
    fn recorded(c: &ColumnTurn) -> Outgoing {
        Outgoing { index: 0, column_id: c.column_id, target: c.target.clone(), request: Arc::new(request(&c.target, &c.params, c.history.clone())) }
    }
}

fn request(target: &Target, params: &ColumnParams, messages: Vec<ChatMessage>) -> ChatRequest {
    ChatRequest {
        model: target.wire_model().to_string(),
        system: params.system.clone(),
        messages,
        max_tokens: params.max_tokens,
        temperature: params.temperature,
        extra: params.extra.clone(),
    }
}

/// A turn whose requests have left, before it is written.
struct Launch {
    conversation_id: i64,
    turn: CancellationToken,
    /// Stops the requests if this is dropped before the turn is written (a caller that went away).
    unwritten: tokio_util::sync::DropGuard,
    /// Each column's own stop, in order.
    tokens: Vec<CancellationToken>,
    tasks: Vec<JoinHandle<()>>,
    record: watch::Sender<Record>,
    tx: mpsc::UnboundedSender<Coalesce>,
    rx: mpsc::UnboundedReceiver<Coalesce>,
}

impl Launch {
    /// The turn could not be written: its requests are stopped at once and its columns end
    /// without keeping anything. Returns `error`, to say why.
    fn abandon(self, error: StoreError) -> StoreError {
        let _ = self.record.send(Record::Abandoned);
        self.turn.cancel();
        tracing::warn!(conversation_id = self.conversation_id, %error, "a turn's requests were stopped: it could not be recorded");
        error
    }
}

/// Runs turns and lets them be stopped, whole or one answer at a time.
pub struct Turns {
    deps: Arc<TurnDeps>,
    running: Mutex<HashMap<i64, Running>>,
    limits: Mutex<StreamLimits>,
    live: Arc<LiveBook>,
}

impl Turns {
    pub fn new(deps: TurnDeps) -> Arc<Self> {
        let live = Arc::new(LiveBook::new(Arc::clone(&deps.pricing)));
        Arc::new(Turns { deps: Arc::new(deps), running: Mutex::new(HashMap::new()), limits: Mutex::new(StreamLimits::default()), live })
    }

    /// The idle timeout, deadline and event size limit of answers started from now on.
    pub fn set_limits(&self, limits: StreamLimits) {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    pub fn limits(&self) -> StreamLimits {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn store(&self) -> &Store {
        &self.deps.store
    }

    /// Starts every column streaming and records the turn. Returns the turn id and a handle that
    /// completes when every column has finished and `Done` was sent.
    pub async fn send(self: &Arc<Self>, conversation_id: i64, prompt: String, sink: Sink) -> Result<(i64, JoinHandle<()>), StoreError> {
        self.send_with(conversation_id, prompt, HashMap::new(), sink).await
    }

    /// Like [`Turns::send`], with some columns sending their own prompt (prompt variants). The
    /// requests leave without waiting for them to be counted: the counts are stored after.
    pub async fn send_with(self: &Arc<Self>, conversation_id: i64, prompt: String, own: HashMap<i64, String>, sink: Sink) -> Result<(i64, JoinHandle<()>), StoreError> {
        let texts = self.deps.store.texts();
        let plan = self.deps.store.run(move |c| messages::plan_turn(c, &texts, conversation_id, &prompt, &own)).await?;
        self.start(plan, None, sink).await
    }

    /// Each planned column's input tokens, counted with the session's kept counts. Blocking.
    pub fn count_plan(&self, plan: &TurnPlan) -> Vec<u64> {
        plan.columns.iter().map(|c| self.deps.counts.request(&c.target.to_string(), c.params.system.as_deref(), c.parts()).0).collect()
    }

    /// Starts every column of a planned turn streaming, then records the turn (with its columns'
    /// counts, when counted already) while the requests are on their way: the requests wait
    /// neither for the database nor for counting. What streams in before the turn is written is
    /// held by its column and shown once it is. If the turn cannot be written (a database error,
    /// or the conversation changed since it was planned), the requests are stopped at once and
    /// the error is returned. Columns recorded without a count are counted afterwards.
    pub async fn start(self: &Arc<Self>, plan: TurnPlan, counted: Option<Vec<u64>>, sink: Sink) -> Result<(i64, JoinHandle<()>), StoreError> {
        let conversation_id = plan.conversation_id;
        let outgoing = plan.columns.iter().enumerate().map(|(index, c)| Outgoing::planned(index, c)).collect();
        let launch = self.open(conversation_id, CancellationToken::new(), outgoing);
        let texts = self.deps.store.texts();
        let written = self
            .deps
            .store
            .run(move |c| {
                let recorded = messages::record_planned(c, &texts, &plan, counted.as_deref());
                Ok((plan, counted, recorded))
            })
            .await;
        let (plan, counted, recorded) = match written {
            Ok((plan, counted, Ok(Some(recorded)))) => (plan, counted, recorded),
            Ok((_, _, Ok(None))) => return Err(launch.abandon(messages::changed_while_sending())),
            Ok((_, _, Err(e))) | Err(e) => return Err(launch.abandon(e)),
        };
        let prompt = plan.prompt.clone();
        let start = recorded.start(plan, counted.as_deref());
        let (answers, totals) = match self.answers(conversation_id, &start.columns).await {
            Ok(found) => found,
            Err(e) => return Err(launch.abandon(e)),
        };
        self.count_afterwards(&start.columns);
        let turn_id = start.turn_id;
        let handle = self.written(launch, turn_id, &start.columns, totals, sink, TurnEvent::Started { turn_id, prompt, answers });
        Ok((turn_id, handle))
    }

    /// Runs one column's answer again (after an error, a stop, or because the user wants another):
    /// the old answer is superseded, and the new one streams in its place with the same thread.
    pub async fn regenerate(self: &Arc<Self>, message_id: i64, sink: Sink) -> Result<(i64, JoinHandle<()>), StoreError> {
        let texts = self.deps.store.texts();
        let plan = self.deps.store.run(move |c| messages::plan_regenerate(c, &texts, message_id)).await?;
        self.start_regenerate(plan, None, sink).await
    }

    /// The input tokens of a planned regeneration, with the session's kept counts. Blocking.
    pub fn count_regenerate(&self, plan: &RegeneratePlan) -> u64 {
        self.deps.counts.request(&plan.target.to_string(), plan.params.system.as_deref(), plan.parts()).0
    }

    /// Records a planned regeneration and starts it streaming.
    pub async fn start_regenerate(self: &Arc<Self>, plan: RegeneratePlan, counted: Option<u64>, sink: Sink) -> Result<(i64, JoinHandle<()>), StoreError> {
        let message_id = plan.message_id;
        let texts = self.deps.store.texts();
        let (conversation_id, turn_id, column) = self.deps.store.run(move |c| messages::start_regenerate(c, &texts, plan, counted)).await?;
        let (mut answers, totals) = self.answers(conversation_id, std::slice::from_ref(&column)).await?;
        let answer = answers.remove(0);
        self.count_afterwards(std::slice::from_ref(&column));
        // A turn the user stopped may still be winding down when one of its answers is retried;
        // the retry must not inherit that stop.
        let turn = {
            let mut running = self.lock();
            let entry = running.entry(turn_id).or_default();
            if entry.turn.is_cancelled() {
                entry.turn = CancellationToken::new();
            }
            entry.turn.clone()
        };
        let launch = self.open(conversation_id, turn, vec![Outgoing::recorded(&column)]);
        let handle = self.written(launch, turn_id, std::slice::from_ref(&column), totals, sink, TurnEvent::Restarted { turn_id, replaces: message_id, answer });
        Ok((turn_id, handle))
    }

    /// Counts, on the blocking pool, the requests that were recorded without a count, and stores
    /// the counts with their answers (to compare with the providers' counts later).
    fn count_afterwards(&self, columns: &[ColumnTurn]) {
        let uncounted: Vec<ColumnTurn> = columns.iter().filter(|c| c.input_estimate.is_none()).cloned().collect();
        if uncounted.is_empty() {
            return;
        }
        let deps = Arc::clone(&self.deps);
        tokio::task::spawn_blocking(move || {
            let estimates: Vec<(i64, u64)> = uncounted
                .iter()
                .map(|c| (c.message_id, deps.counts.request(&c.target.to_string(), c.params.system.as_deref(), c.parts()).0))
                .collect();
            let _ = deps.store.blocking(|c| messages::set_input_estimates(c, &estimates));
        });
    }

    /// The new answers as the UI shows them, and the totals they start from.
    async fn answers(&self, conversation_id: i64, columns: &[ColumnTurn]) -> Result<(Vec<MessageView>, AllTotals), StoreError> {
        let ids: Vec<i64> = columns.iter().map(|c| c.message_id).collect();
        self.deps
            .store
            .run(move |c| {
                let answers = ids.iter().map(|id| messages::message(c, *id)).collect::<Result<Vec<_>, _>>()?;
                Ok((answers, conversations::all_totals(c, conversation_id)?))
            })
            .await
    }

    /// Starts each column's request at once, under `turn`'s cancellation. The columns hold what
    /// streams in until [`Turns::written`] says where it goes (or [`Launch::abandon`] stops them).
    fn open(self: &Arc<Self>, conversation_id: i64, turn: CancellationToken, outgoing: Vec<Outgoing>) -> Launch {
        let (record, recorded) = watch::channel(Record::Pending);
        let (tx, rx) = mpsc::unbounded_channel();
        let limits = self.limits();
        let mut tokens = Vec::with_capacity(outgoing.len());
        let mut tasks = Vec::with_capacity(outgoing.len());
        let mut writing = Vec::with_capacity(outgoing.len());
        for out in outgoing {
            let token = turn.child_token();
            tokens.push(token.clone());
            let (body_tx, body) = oneshot::channel();
            writing.push((out.target.provider(), Arc::clone(&out.request), body_tx));
            tasks.push(tokio::spawn(run_column(Arc::clone(&self.deps), conversation_id, out, body, limits, token, tx.clone(), recorded.clone())));
        }
        // The bodies (megabytes each on a long thread) are written one after another on one
        // thread, in column order: the first request leaves once its own body is written, not
        // once all of them are, and the async workers stay free to send them.
        tokio::task::spawn_blocking(move || {
            for (provider, request, body) in writing {
                let _ = body.send(providers::request_bytes(provider, &request));
            }
        });
        let unwritten = turn.clone().drop_guard();
        Launch { conversation_id, turn, unwritten, tokens, tasks, record, tx, rx }
    }

    /// The turn is written: its columns can be stopped by id, the UI hears `first` and then what
    /// streams, and `Done` once every column has finished.
    fn written(self: &Arc<Self>, launch: Launch, turn_id: i64, columns: &[ColumnTurn], totals: AllTotals, sink: Sink, first: TurnEvent) -> JoinHandle<()> {
        let Launch { conversation_id, turn, unwritten, tokens, tasks, record, tx, rx } = launch;
        unwritten.disarm();
        let ids: Vec<i64> = columns.iter().map(|c| c.message_id).collect();
        {
            let mut running = self.lock();
            let entry = running.entry(turn_id).or_insert_with(|| Running { turn, by_message: HashMap::new() });
            for (id, token) in ids.iter().zip(tokens) {
                entry.by_message.insert(*id, token);
            }
        }
        let streaming = columns
            .iter()
            .map(|c| Streaming {
                message_id: c.message_id,
                column_id: c.column_id,
                target: c.target.clone(),
                input_len: c.history.iter().map(|m| m.content.len()).sum::<usize>() + c.params.system.as_ref().map_or(0, String::len),
            })
            .collect();
        self.live.begin(conversation_id, totals, streaming);
        // `first` goes before any text: the columns send none until the record says where it goes.
        let _ = tx.send(Coalesce::Flush(Box::new(first)));
        let forwarder = tokio::spawn(forward(rx, sink, BATCH_WINDOW, Some((Arc::clone(&self.live), conversation_id))));
        let _ = record.send(Record::Written(ids.clone().into()));
        let this = Arc::clone(self);
        tokio::spawn(async move {
            for t in tasks {
                let _ = t.await;
            }
            {
                let mut running = this.lock();
                if let Some(entry) = running.get_mut(&turn_id) {
                    for id in &ids {
                        entry.by_message.remove(id);
                    }
                    if entry.by_message.is_empty() {
                        running.remove(&turn_id);
                    }
                }
            }
            let _ = tx.send(Coalesce::Flush(Box::new(TurnEvent::Done { turn_id })));
            drop(tx);
            let _ = forwarder.await;
            if this.lock().is_empty() {
                tokio::task::spawn_blocking(release_freed_memory);
            }
        })
    }

    /// Stops every answer of a turn. `false` when the turn is not running.
    pub fn stop_turn(&self, turn_id: i64) -> bool {
        let running = self.lock().get(&turn_id).map(|r| r.turn.cancel()).is_some();
        tracing::info!(turn_id, running, "Stop asked for a turn");
        running
    }

    /// Stops one answer. `false` when it is not streaming.
    pub fn stop_answer(&self, message_id: i64) -> bool {
        let running = self.lock().values().find_map(|r| r.by_message.get(&message_id)).map(|t| t.cancel()).is_some();
        tracing::info!(message_id, running, "Stop asked for an answer");
        running
    }

    /// Stops everything (the app is closing).
    pub fn stop_all(&self) {
        for r in self.lock().values() {
            r.turn.cancel();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Hands memory freed by the turns that ended back to the system, once none is running. glibc
/// keeps what each thread freed in that thread's arena: after 10 turns of 8 streams the app held
/// ~45 MiB more than it used (BENCHMARKS.md, "memory over 10 turns"); `malloc_trim` returns it.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of glibc's own heaps; it takes no pointer.
    unsafe {
        libc::malloc_trim(0);
    }
}

// Short-lived messages on the batcher's channel, one per delta or answer: boxing the large
// variant would add an allocation per finished answer for no gain.
#[allow(clippy::large_enum_variant)]
enum Coalesce {
    Delta { message_id: i64, text: String, reasoning: String },
    /// Boxed: a finished answer's event is far larger than a delta.
    Flush(Box<TurnEvent>),
}

/// Batches events: deltas are merged per answer and sent at most `window` ([`BATCH_WINDOW`]) after the
/// oldest of them arrived, except an answer's first text, which is sent at once (nobody should
/// wait a batch window for the first token). Anything else is sent at once too, after the deltas
/// that came before it. Each batch that carries text or a finished answer ends with the
/// conversation's [`Live`] figures. Nothing ticks while nothing streams.
async fn forward(mut rx: mpsc::UnboundedReceiver<Coalesce>, sink: Sink, window: Duration, live: Option<(Arc<LiveBook>, i64)>) {
    let mut batch: Vec<TurnEvent> = Vec::new();
    let mut started: HashSet<i64> = HashSet::new();
    let mut deadline: Option<tokio::time::Instant> = None;
    let send = |batch: &mut Vec<TurnEvent>| {
        if let Some((book, id)) = &live {
            if batch.iter().any(|e| matches!(e, TurnEvent::Delta { .. } | TurnEvent::Finished { .. })) {
                if let Some(figures) = book.snapshot(*id) {
                    batch.push(TurnEvent::Live(figures));
                }
            }
        }
        if !batch.is_empty() {
            sink(std::mem::take(batch));
        }
    };
    loop {
        let due = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            item = rx.recv() => match item {
                Some(Coalesce::Delta { message_id, text, reasoning }) => {
                    if let Some((book, id)) = &live {
                        book.grow(*id, message_id, text.len() + reasoning.len());
                    }
                    let pending = batch.iter_mut().rev().find_map(|e| match e {
                        TurnEvent::Delta { message_id: id, text, reasoning } if *id == message_id => Some((text, reasoning)),
                        _ => None,
                    });
                    let first = (!text.is_empty() || !reasoning.is_empty()) && started.insert(message_id);
                    match pending {
                        Some((t, r)) => { t.push_str(&text); r.push_str(&reasoning); }
                        None => batch.push(TurnEvent::Delta { message_id, text, reasoning }),
                    }
                    if first {
                        send(&mut batch);
                        deadline = None;
                    } else {
                        deadline.get_or_insert_with(|| tokio::time::Instant::now() + window);
                    }
                }
                Some(Coalesce::Flush(event)) => {
                    if let (Some((book, id)), TurnEvent::Finished { message, column_totals, conversation_totals }) = (&live, event.as_ref()) {
                        book.settle(*id, message.id, message.column_id, column_totals, conversation_totals);
                    }
                    batch.push(*event);
                    send(&mut batch);
                    deadline = None;
                }
                None => break,
            },
            _ = due => {
                send(&mut batch);
                deadline = None;
            }
        }
    }
    send(&mut batch);
}

/// What one column's stream produced.
#[derive(Default)]
struct Answer {
    /// The provider accepted the request and started answering (so it bills input tokens).
    accepted: bool,
    text: String,
    reasoning: String,
    usage: Option<Usage>,
    served_model: Option<String>,
    served_by: Option<String>,
    /// The provider's id for the answer (OpenRouter's generation id).
    request_id: Option<String>,
    finish_reason: Option<String>,
    error: Option<ProviderError>,
}

/// The answer id of the column at `index`, once its turn is written.
fn answer_id(record: &watch::Receiver<Record>, index: usize) -> Option<i64> {
    match &*record.borrow() {
        Record::Written(ids) => ids.get(index).copied(),
        _ => None,
    }
}

/// Sends the UI what arrived since `shown` (bytes of text and of reasoning already sent).
fn show(tx: &mpsc::UnboundedSender<Coalesce>, message_id: i64, answer: &Answer, shown: &mut (usize, usize)) {
    let (text, reasoning) = (&answer.text[shown.0..], &answer.reasoning[shown.1..]);
    if !text.is_empty() || !reasoning.is_empty() {
        let _ = tx.send(Coalesce::Delta { message_id, text: text.to_string(), reasoning: reasoning.to_string() });
        *shown = (answer.text.len(), answer.reasoning.len());
    }
}

// What a column runs with, each from its own source (the plan, the body writer, the turn's stop,
// its record): bundling them would only move the list elsewhere.
#[allow(clippy::too_many_arguments)]
async fn run_column(
    deps: Arc<TurnDeps>,
    conversation_id: i64,
    out: Outgoing,
    body: oneshot::Receiver<bytes::Bytes>,
    limits: StreamLimits,
    cancel: CancellationToken,
    tx: mpsc::UnboundedSender<Coalesce>,
    mut record: watch::Receiver<Record>,
) {
    let Outgoing { index, column_id, target, request } = out;
    let endpoints = Arc::clone(&deps.endpoints);
    let endpoint = {
        let target = target.clone();
        tokio::task::spawn_blocking(move || endpoints.endpoint(&target))
            .await
            .unwrap_or_else(|_| Err(ProviderError::new(ErrorKind::Auth, "Tally could not read the key store.")))
    };

    let mut answer = Answer::default();
    let mut timing = Timing::default();
    let mut shown = (0, 0);
    let endpoint = match (endpoint, body.await) {
        (Ok(endpoint), Ok(body)) => Ok((endpoint, body)),
        (Err(e), _) => Err(e),
        (_, Err(_)) => Err(ProviderError::new(ErrorKind::BadRequest, "Tally could not write this request.")),
    };
    match endpoint {
        Err(e) => answer.error = Some(e),
        Ok((endpoint, body)) => {
            let first_attempt = Instant::now();
            for attempt in 1..=MAX_ATTEMPTS {
                let started_after = first_attempt.elapsed();
                answer = Answer::default();
                shown = (0, 0);
                let mut last_save = Instant::now();
                let store = deps.store.clone();
                // Until the turn is written, what arrives is only kept here (the provider answers
                // long after the record is written; a local server may not). Once it is, each
                // event sends what arrived since the last one.
                let mut on_event = |event: StreamEvent| {
                    match event {
                        StreamEvent::Started { served_model, served_by, request_id } => {
                            answer.accepted = true;
                            answer.request_id = request_id.or(answer.request_id.take());
                            answer.served_model = served_model.or(answer.served_model.take());
                            answer.served_by = served_by.or(answer.served_by.take());
                        }
                        StreamEvent::TextDelta(t) => answer.text.push_str(&t),
                        StreamEvent::ReasoningDelta(r) => answer.reasoning.push_str(&r),
                        StreamEvent::Usage(u) => {
                            // Kept at once: if this process dies before the answer is finished,
                            // the next one to open the database bills it with these figures.
                            if let Some(message_id) = answer_id(&record, index) {
                                let (usage, served) = (u.clone(), answer.served_model.clone());
                                let store = store.clone();
                                tokio::spawn(async move { store.run(move |c| messages::save_usage(c, message_id, &usage, served.as_deref())).await });
                            }
                            answer.usage = Some(u);
                        }
                        StreamEvent::Finished { reason } => answer.finish_reason = Some(reason),
                        StreamEvent::Failed(e) => answer.error = Some(e),
                    }
                    let Some(message_id) = answer_id(&record, index) else { return };
                    let grew = answer.text.len() > shown.0;
                    show(&tx, message_id, &answer, &mut shown);
                    if grew && last_save.elapsed() >= SAVE_EVERY {
                        last_save = Instant::now();
                        let (text, reasoning) = (answer.text.clone(), answer.reasoning.clone());
                        let store = store.clone();
                        tokio::spawn(async move { store.run(move |c| messages::save_partial(c, message_id, &text, &reasoning)).await });
                    }
                };
                timing = providers::stream_body(&deps.http, &endpoint, body.clone(), limits, &cancel, &mut on_event).await;
                // Timings count from the first attempt: the last attempt's own figures stay
                // clean, and the attempts and the time before the last one are recorded.
                timing.attempts = attempt;
                timing.waited_ms = u64::try_from(started_after.as_millis()).unwrap_or(u64::MAX);
                let Some(error) = &answer.error else { break };
                let nothing_arrived = answer.text.is_empty() && answer.reasoning.is_empty();
                if !(error.retryable() && nothing_arrived) || attempt == MAX_ATTEMPTS {
                    break;
                }
                let backoff = Duration::from_millis(error.retry_after_ms.unwrap_or(500 * 2u64.pow(attempt)));
                if first_attempt.elapsed() + backoff > MAX_RETRY_WINDOW {
                    break;
                }
                tokio::select! {
                    _ = cancel.cancelled() => { answer.error = Some(ProviderError::cancelled()); break; }
                    _ = tokio::time::sleep(backoff) => {}
                }
            }
        }
    }

    // An answer can end before its turn is written (a refusal, a local server's short answer).
    let message_id = match record.wait_for(|r| !matches!(r, Record::Pending)).await.map(|r| r.clone()) {
        Ok(Record::Written(ids)) => ids[index],
        // Not written: the turn's requests were stopped and nothing of them is kept.
        _ => return,
    };
    show(&tx, message_id, &answer, &mut shown);

    let mut status = match &answer.error {
        None => Status::Done,
        Some(e) if e.kind == ErrorKind::Cancelled => Status::Stopped,
        Some(_) => Status::Failed,
    };
    if status == Status::Stopped {
        // Its request is cancelled by now (the response was dropped); the log times each Stop.
        tracing::info!(message_id = message_id, "answer stopped");
    }
    let usage = settle_usage(answer.usage.take(), &request, &answer, status);
    let generation_id = answer.request_id.take().filter(|_| target.route == "openrouter" && answer.accepted);
    let facts = AnswerFacts {
        served_model: answer.served_model.clone(),
        served_by: answer.served_by.clone(),
        web_search: uses_web_search(&request.model, &request.extra),
    };
    let (price, cost) = match deps.pricing.charge(&target, &facts, &usage) {
        Ok(charged) => charged,
        // Only an impossible price can get here (usage was checked by the adapter): say so,
        // keep the text, and record the answer unpriced rather than panic or invent a figure.
        Err(e) => {
            answer.error.get_or_insert_with(|| ProviderError::new(ErrorKind::Malformed, e.to_string()));
            if status == Status::Done {
                status = Status::Failed;
            }
            (None, None)
        }
    };
    let finished = Finished {
        conversation_id,
        column_id,
        message_id,
        target,
        content: answer.text,
        reasoning: answer.reasoning,
        status,
        finish_reason: answer.finish_reason,
        error: answer.error,
        usage,
        served_model: answer.served_model,
        price,
        cost,
        timing,
        origin: deps.origin,
    };
    let texts = deps.store.texts();
    let finishing = deps.store.run(move |c| {
        let out = messages::finish(c, &finished)?;
        // The next turn's plan takes the text from memory (a failure to keep it costs a read).
        let _ = messages::keep_text(c, &texts, finished.column_id, finished.message_id, &finished.content);
        Ok(out)
    });
    match finishing.await {
        Ok((message, column_totals, conversation_totals)) => {
            let _ = tx.send(Coalesce::Flush(Box::new(TurnEvent::Finished { message, column_totals, conversation_totals })));
            // Billed answers through OpenRouter are checked against its record, in the background.
            if let (Some(reconciler), Some(id)) = (&deps.reconciler, generation_id) {
                let _ = reconciler.watch(message_id, id).await;
            }
        }
        Err(e) => {
            // The answer could not be saved; say so rather than pretend.
            let _ = tx.send(Coalesce::Delta { message_id, text: format!("\n\n[Tally could not save this answer: {e}]"), reasoning: String::new() });
        }
    }
}

/// The usage to record. The provider's own counts when the answer completed. A request the
/// provider refused (an error status, no connection) was not billed: zero. An accepted answer that
/// ended early without usage gets an estimate from the text (about four characters a token),
/// marked `estimated`, never zero input, and never fewer output tokens than the text that arrived.
fn settle_usage(reported: Option<Usage>, request: &ChatRequest, answer: &Answer, status: Status) -> Usage {
    let estimate = live::estimate_tokens;
    let input_chars: usize = request.messages.iter().map(|m| m.content.len()).sum::<usize>() + request.system.as_ref().map_or(0, String::len);
    let est_input = estimate(input_chars).max(1);
    let est_output = estimate(answer.text.len() + answer.reasoning.len());
    match reported {
        Some(u) if status == Status::Done => u,
        None if !answer.accepted => Usage::default(),
        Some(mut u) => {
            if u.input_tokens == 0 {
                u.input_tokens = est_input;
                u.estimated = true;
            }
            if u.output_tokens < est_output {
                u.output_tokens = est_output;
                u.estimated = true;
            }
            u
        }
        None => Usage { input_tokens: est_input, output_tokens: est_output, estimated: true, ..Default::default() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{ChatMessage, Role};

    fn request(text: &str) -> ChatRequest {
        ChatRequest { messages: vec![ChatMessage { role: Role::User, content: text.into() }], ..Default::default() }
    }

    fn delta(message_id: i64, text: &str) -> Coalesce {
        Coalesce::Delta { message_id, text: text.into(), reasoning: String::new() }
    }

    fn text_of(message_id: i64, text: &str) -> TurnEvent {
        TurnEvent::Delta { message_id, text: text.into(), reasoning: String::new() }
    }

    async fn recv(out: &mut mpsc::UnboundedReceiver<Vec<TurnEvent>>) -> Option<Vec<TurnEvent>> {
        tokio::time::timeout(Duration::from_secs(30), out.recv()).await.expect("a batch, not held")
    }

    /// With a batch window of an hour, text that is batched only comes out when the stream
    /// closes: what comes out before that was sent at once. (The timeout only stops a failing
    /// test from hanging.)
    #[tokio::test]
    async fn an_answers_first_text_is_sent_at_once_and_the_rest_in_batches() {
        let (tx, rx) = mpsc::unbounded_channel();
        let (out_tx, mut out) = mpsc::unbounded_channel();
        let sink: Sink = Arc::new(move |batch| {
            let _ = out_tx.send(batch);
        });
        let forwarder = tokio::spawn(forward(rx, sink, Duration::from_secs(3600), None));

        tx.send(delta(1, "")).unwrap(); // an empty delta is not the first text
        tx.send(delta(1, "Hel")).unwrap();
        assert_eq!(recv(&mut out).await, Some(vec![text_of(1, "Hel")]), "the first text is not held");
        tx.send(delta(1, "lo")).unwrap();
        tx.send(delta(2, "Hi")).unwrap();
        assert_eq!(recv(&mut out).await, Some(vec![text_of(1, "lo"), text_of(2, "Hi")]), "another answer's first text is not held, nor what waited before it");
        tx.send(delta(1, " there")).unwrap();
        tx.send(delta(2, "!")).unwrap();
        tx.send(delta(1, ".")).unwrap();
        drop(tx);
        forwarder.await.unwrap();
        assert_eq!(out.recv().await, Some(vec![text_of(1, " there."), text_of(2, "!")]), "later text waits for its batch, merged per answer");
        assert_eq!(out.recv().await, None);
    }

    #[test]
    fn a_dropped_answer_without_usage_is_estimated_and_never_zero() {
        let answer = Answer { accepted: true, text: "Hello there, partial".into(), ..Default::default() };
        let u = settle_usage(None, &request("hi"), &answer, Status::Failed);
        assert!(u.estimated);
        assert_eq!(u.input_tokens, 1);
        assert_eq!(u.output_tokens, 5);
    }

    #[test]
    fn a_stopped_answer_keeps_reported_input_and_raises_stale_output() {
        let reported = Usage { input_tokens: 135, output_tokens: 1, ..Default::default() };
        let answer = Answer { accepted: true, text: "x".repeat(40), ..Default::default() };
        let u = settle_usage(Some(reported), &request("hi"), &answer, Status::Stopped);
        assert_eq!((u.input_tokens, u.output_tokens, u.estimated), (135, 10, true));
    }

    #[test]
    fn a_refused_request_costs_nothing() {
        let u = settle_usage(None, &request("hi"), &Answer::default(), Status::Failed);
        assert_eq!(u, Usage::default());
        assert!(!u.estimated);
    }

    #[test]
    fn a_completed_answer_keeps_the_providers_counts() {
        let reported = Usage { input_tokens: 14, output_tokens: 30, ..Default::default() };
        let u = settle_usage(Some(reported.clone()), &request("hi"), &Answer::default(), Status::Done);
        assert_eq!(u, reported);
    }
}
