//! Reconciliation with OpenRouter's generation records, as the product offers it: every answer
//! sent through OpenRouter is recorded for a check (the app follows it up in the background, the
//! CLI leaves it for later), and on request a conversation or a range of days is checked again.

use tokio_util::sync::CancellationToken;

use super::{AppError, Engine, Result};
use crate::reconcile::{summary, ReconcileError, ReconcileReport, ReconcileSummary, Scope};
use crate::ledger::DayRange;

impl From<ReconcileError> for AppError {
    fn from(e: ReconcileError) -> Self {
        match e {
            ReconcileError::Store(e) => e.into(),
            ReconcileError::Provider(e) => e.into(),
        }
    }
}

impl Engine {
    /// Checks the answers in `scope` against OpenRouter's records, one look-up each; `progress`
    /// hears the report after every answer. Stops between answers when `cancel` fires.
    pub async fn reconcile(&self, scope: Scope, cancel: &CancellationToken, progress: &(dyn Fn(&ReconcileReport) + Send + Sync)) -> Result<ReconcileReport> {
        Ok(self.reconciler.reconcile(scope, cancel, progress).await?)
    }

    /// Per route, how much of the spend recorded in `range` is reconciled, and the largest
    /// differences.
    pub async fn reconcile_summary(&self, range: DayRange) -> Result<ReconcileSummary> {
        Ok(self.store().run_read(move |c| summary::summary(c, &range)).await?)
    }

    /// Follows up, in the background, the checks a previous run left pending (the app closed, or
    /// the CLI exited before OpenRouter had the record). Returns how many were resumed. Only an
    /// engine that follows checks (the app) resumes them; the CLI leaves them.
    pub async fn resume_reconciliation(&self) -> Result<usize> {
        if !self.follows_generations {
            return Ok(0);
        }
        Ok(self.reconciler.resume_pending().await?.len())
    }
}
