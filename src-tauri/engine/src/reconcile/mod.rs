//! Reconciliation with OpenRouter: after an answer sent through OpenRouter, its generation
//! record (`GET /api/v1/generation?id=…`) is read and set beside the ledger — who served it, the
//! native token counts, the total cost, the cache discount, the generation time — so each answer
//! shows "reconciled ✓" or the difference.
//!
//! - [`Reconciler::watch`]: right after an answer, in the background (never blocking a turn or
//!   the UI); the record lags the answer, so 404s and transient errors are retried with backoff
//!   for about a minute ([`BACKOFF`]). The generation id is stored first, so a check cut short by
//!   closing the app is resumed by [`Reconciler::resume_pending`].
//! - [`Reconciler::reconcile`]: on request, a whole conversation or a range of days again.
//! - [`records`]: the table and its queries; [`summary`]: per route, how much of the spend is
//!   reconciled and the largest differences; [`checks`]: what each answer shows (reconciled ✓ or
//!   the difference, and a warning when the price it was charged at was over 60 days old).
//!
//! Must not: change the ledger (what was recorded stays; the difference is shown beside it), call
//! anything but OpenRouter's free generation endpoint, or hold the store while waiting.

pub mod checks;
pub mod records;
pub mod summary;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

pub use checks::AnswerCheck;
pub use records::{ReconcileState, Reconciliation, Scope};
pub use summary::{ReconcileDifference, ReconcileSummary, RouteReconciliation};

use crate::endpoints::Endpoints;
use crate::providers::{openrouter_generation, Endpoint, ErrorKind, GenerationLookup, ProviderError};
use crate::store::{Store, StoreError};
use crate::target::Target;

/// The pauses between look-ups of a new answer's record: 8 retries over 60.5 s.
pub const BACKOFF: [Duration; 8] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(15),
    Duration::from_secs(15),
    Duration::from_secs(15),
];

/// Hears every change of an answer's reconciliation (the app forwards it to the window).
pub type Listener = Arc<dyn Fn(Reconciliation) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Provider(ProviderError),
}

/// Progress of a reconciliation on request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ReconcileReport {
    /// Answers in the scope that have a generation id (others cannot be checked).
    #[ts(type = "number")]
    pub total: u64,
    #[ts(type = "number")]
    pub done: u64,
    /// Reconciled and equal to the ledger.
    #[ts(type = "number")]
    pub matched: u64,
    /// Reconciled, with a difference.
    #[ts(type = "number")]
    pub differing: u64,
    /// OpenRouter had no record (yet), or the look-up failed.
    #[ts(type = "number")]
    pub unavailable: u64,
    /// True when the user stopped it before the end.
    pub cancelled: bool,
}

/// Reads OpenRouter's generation records and stores them beside the ledger.
pub struct Reconciler {
    store: Store,
    http: reqwest::Client,
    endpoints: Arc<dyn Endpoints>,
    backoff: Vec<Duration>,
    /// False for a process that does not stay up (the CLI): ids are recorded, checked later.
    follow: bool,
    listener: RwLock<Option<Listener>>,
}

/// The outcome of one look-up, already stored.
enum Step {
    Done(Box<Reconciliation>),
    /// No record yet, or a transient error: worth asking again (after `retry_after` if said).
    Again { why: String, retry_after: Option<Duration> },
    /// No point asking again now (a refused key, a malformed record).
    GiveUp(String),
}

impl Reconciler {
    /// A reconciler with the standard [`BACKOFF`].
    pub fn new(store: Store, http: reqwest::Client, endpoints: Arc<dyn Endpoints>) -> Arc<Self> {
        Self::with_backoff(store, http, endpoints, BACKOFF.to_vec())
    }

    /// A reconciler with its own pauses between look-ups (tests use short ones).
    pub fn with_backoff(store: Store, http: reqwest::Client, endpoints: Arc<dyn Endpoints>, backoff: Vec<Duration>) -> Arc<Self> {
        Arc::new(Reconciler { store, http, endpoints, backoff, follow: true, listener: RwLock::new(None) })
    }

    /// A reconciler that only records each answer's generation id (left pending) without
    /// following it up: for a process that exits right after its answers (the CLI). The app's
    /// next start, or a reconciliation on request, does the look-ups.
    pub fn recording_only(store: Store, http: reqwest::Client, endpoints: Arc<dyn Endpoints>) -> Arc<Self> {
        Arc::new(Reconciler { store, http, endpoints, backoff: BACKOFF.to_vec(), follow: false, listener: RwLock::new(None) })
    }

    pub fn set_listener(&self, listener: Listener) {
        *self.listener.write().unwrap_or_else(|p| p.into_inner()) = Some(listener);
    }

    fn tell(&self, r: Reconciliation) {
        let listener = self.listener.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(l) = listener {
            l(r);
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Remembers that `message_id` is OpenRouter generation `generation_id` and checks it in the
    /// background, retrying with backoff while the record lags. Returns at once; the handle ends
    /// when the check has ended (tests wait on it or on the listener).
    pub async fn watch(self: &Arc<Self>, message_id: i64, generation_id: String) -> Result<JoinHandle<()>, StoreError> {
        let id = generation_id.clone();
        self.change(message_id, move |c| records::enqueue(c, message_id, &id)).await?;
        if !self.follow {
            return Ok(tokio::spawn(async {}));
        }
        let this = Arc::clone(self);
        Ok(tokio::spawn(async move { this.follow(message_id, generation_id, CancellationToken::new()).await }))
    }

    /// Resumes the checks left pending (the app closed, the CLI exited before the record came).
    /// Returns one handle per resumed check.
    pub async fn resume_pending(self: &Arc<Self>) -> Result<Vec<JoinHandle<()>>, StoreError> {
        let pending = self.store.run(|c| records::pending(c)).await?;
        Ok(pending
            .into_iter()
            .map(|(message_id, generation_id)| {
                let this = Arc::clone(self);
                tokio::spawn(async move { this.follow(message_id, generation_id, CancellationToken::new()).await })
            })
            .collect())
    }

    /// Checks the answers in `scope` again, one look-up each (on request the user waits, and a
    /// record that is still missing is reported, not waited for). `progress` hears the report
    /// after every answer. Stops between answers when `cancel` fires.
    pub async fn reconcile(&self, scope: Scope, cancel: &CancellationToken, progress: &(dyn Fn(&ReconcileReport) + Send + Sync)) -> Result<ReconcileReport, ReconcileError> {
        let items = self.store.run(move |c| records::in_scope(c, &scope)).await?;
        let mut report = ReconcileReport { total: items.len() as u64, ..Default::default() };
        progress(&report);
        if items.is_empty() {
            return Ok(report);
        }
        let endpoint = self.endpoint().await.map_err(ReconcileError::Provider)?;
        for (message_id, generation_id) in items {
            if cancel.is_cancelled() {
                report.cancelled = true;
                break;
            }
            self.store.run(move |c| records::restart(c, message_id)).await?;
            match self.look_up(&endpoint, message_id, &generation_id, cancel).await? {
                Step::Done(r) if r.matches => report.matched += 1,
                Step::Done(_) => report.differing += 1,
                Step::Again { why, .. } | Step::GiveUp(why) => {
                    if cancel.is_cancelled() {
                        report.cancelled = true;
                        break;
                    }
                    self.give_up(message_id, &why).await?;
                    report.unavailable += 1;
                }
            }
            report.done += 1;
            progress(&report);
        }
        Ok(report)
    }

    /// OpenRouter's endpoint with the user's key (blocking keyring access off the runtime).
    async fn endpoint(&self) -> Result<Endpoint, ProviderError> {
        let endpoints = Arc::clone(&self.endpoints);
        let target = Target { route: "openrouter".into(), model: String::new() };
        tokio::task::spawn_blocking(move || endpoints.endpoint(&target))
            .await
            .unwrap_or_else(|_| Err(ProviderError::new(ErrorKind::Auth, "Tally could not read the key store.")))
    }

    /// The background check of one answer: look-ups with pauses until the record is there, the
    /// pauses run out, or asking again is pointless.
    async fn follow(&self, message_id: i64, generation_id: String, cancel: CancellationToken) {
        let endpoint = match self.endpoint().await {
            Ok(e) => e,
            Err(e) => {
                let _ = self.give_up(message_id, &e.message).await;
                return;
            }
        };
        let mut pauses = self.backoff.iter().copied();
        loop {
            let step = match self.look_up(&endpoint, message_id, &generation_id, &cancel).await {
                Ok(step) => step,
                Err(_) => return, // the database is gone (app closing); the row stays pending
            };
            match step {
                Step::Done(_) => return,
                Step::GiveUp(why) => {
                    let _ = self.give_up(message_id, &why).await;
                    return;
                }
                Step::Again { why, retry_after } => {
                    let Some(pause) = pauses.next() else {
                        let why = format!("Still nothing after {} look-ups ({why}). Reconcile it again later.", self.backoff.len() + 1);
                        let _ = self.give_up(message_id, &why).await;
                        return;
                    };
                    let pause = retry_after.map_or(pause, |r| r.max(pause));
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }

    /// One look-up, its outcome stored (and told to the listener when it is final).
    async fn look_up(&self, endpoint: &Endpoint, message_id: i64, generation_id: &str, cancel: &CancellationToken) -> Result<Step, StoreError> {
        let answer = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Ok(Step::Again { why: "stopped".into(), retry_after: None }),
            a = openrouter_generation(&self.http, endpoint, generation_id) => a,
        };
        let step = match answer {
            Ok(GenerationLookup::Found(g)) => match self.change(message_id, move |c| records::save(c, message_id, &g)).await? {
                Some(r) => Step::Done(Box::new(r)),
                // The answer was deleted meanwhile: nothing to show.
                None => Step::GiveUp("The answer is gone.".into()),
            },
            Ok(GenerationLookup::NotYet) => Step::Again { why: "OpenRouter has no record of this answer yet".into(), retry_after: None },
            Err(e) if e.retryable() => Step::Again { why: e.message.clone(), retry_after: e.retry_after_ms.map(Duration::from_millis) },
            Err(e) => Step::GiveUp(e.message),
        };
        if let Step::Again { why, .. } = &step {
            let why = why.clone();
            self.store.run(move |c| records::note_attempt(c, message_id, &why)).await?;
        }
        Ok(step)
    }

    async fn give_up(&self, message_id: i64, why: &str) -> Result<(), StoreError> {
        let why = why.to_string();
        self.change(message_id, move |c| records::mark_unavailable(c, message_id, &why)).await.map(|_| ())
    }

    /// Applies `f` to an answer's reconciliation and tells the listener what it now is.
    async fn change(
        &self,
        message_id: i64,
        f: impl FnOnce(&mut rusqlite::Connection) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<Option<Reconciliation>, StoreError> {
        let r = self
            .store
            .run(move |c| {
                f(c)?;
                records::get(c, message_id)
            })
            .await?;
        if let Some(r) = &r {
            self.tell(r.clone());
        }
        Ok(r)
    }
}
