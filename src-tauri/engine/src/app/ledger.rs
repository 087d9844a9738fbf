//! What the app shows about the bill beside the answers and on the Pricing and Settings screens:
//! each answer's check (reconciled with OpenRouter, the age of the price it was charged at), the
//! reconciler's changes as they happen, the stream limits a user may set, and where direct list
//! prices are refreshed from.

use serde::Serialize;
use ts_rs::TS;

use super::{AppError, Engine, Result};
use crate::pricing::catalog_store::{normalise_price_map_url, LITELLM_URL};
use crate::providers::StreamLimits;
use crate::reconcile::{checks, AnswerCheck, Listener};

/// The limits of a streaming answer as the Settings screen shows them, in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct StreamSettings {
    /// How long an answer may send nothing before it ends as stalled.
    #[ts(type = "number")]
    pub idle_timeout_s: u64,
    /// How long one answer may take in all.
    #[ts(type = "number")]
    pub answer_deadline_s: u64,
    #[ts(type = "number")]
    pub default_idle_timeout_s: u64,
    #[ts(type = "number")]
    pub default_answer_deadline_s: u64,
}

/// Where direct list prices are refreshed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct PriceMapUrl {
    pub url: String,
    pub is_default: bool,
    pub default_url: String,
}

/// The idle timeout a user may choose, in seconds.
pub const IDLE_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 5..=3600;
/// The per-answer deadline a user may choose, in seconds (up to a day).
pub const ANSWER_DEADLINE_RANGE: std::ops::RangeInclusive<u64> = 30..=86_400;

impl Engine {
    /// The checks of these answers (one read for all): reconciliation, price date and warning.
    pub async fn answer_checks(&self, message_ids: Vec<i64>) -> Result<Vec<AnswerCheck>> {
        Ok(self.store().run_read(move |c| message_ids.iter().map(|id| checks::for_message(c, *id)).collect()).await?)
    }

    /// From now on, every change of an answer's reconciliation (pending, reconciled, unavailable)
    /// goes to `listener`, in the order it happened.
    pub fn watch_reconciliations(&self, listener: Listener) {
        self.reconciler.set_listener(listener);
    }

    pub fn stream_settings(&self) -> StreamSettings {
        let (limits, defaults) = (self.settings().stream_limits(), StreamLimits::default());
        StreamSettings {
            idle_timeout_s: limits.idle.as_secs(),
            answer_deadline_s: limits.answer_deadline.as_secs(),
            default_idle_timeout_s: defaults.idle.as_secs(),
            default_answer_deadline_s: defaults.answer_deadline.as_secs(),
        }
    }

    /// Saves the idle timeout and the per-answer deadline (`None`: back to the default); the next
    /// answer uses them.
    pub fn set_stream_settings(&self, idle_timeout_s: Option<u64>, answer_deadline_s: Option<u64>) -> Result<StreamSettings> {
        let check = |value: Option<u64>, range: std::ops::RangeInclusive<u64>, what: &str| -> Result<Option<u64>> {
            match value {
                Some(v) if !range.contains(&v) => Err(AppError::invalid(format!("{what} is between {} and {} seconds; got {v}.", range.start(), range.end()))),
                v => Ok(v),
            }
        };
        let idle = check(idle_timeout_s, IDLE_TIMEOUT_RANGE, "The wait between bytes")?;
        let deadline = check(answer_deadline_s, ANSWER_DEADLINE_RANGE, "The time one answer may take")?;
        let mut settings = self.settings();
        settings.idle_timeout_s = idle;
        settings.answer_deadline_s = deadline;
        let limits = settings.stream_limits();
        if limits.answer_deadline < limits.idle {
            return Err(AppError::invalid("The time one answer may take cannot be shorter than the wait between bytes."));
        }
        self.save_settings(settings)?;
        Ok(self.stream_settings())
    }

    pub fn price_map_url(&self) -> PriceMapUrl {
        let settings = self.settings();
        PriceMapUrl { url: settings.price_map_url(), is_default: settings.price_map_url.is_none(), default_url: LITELLM_URL.to_string() }
    }

    /// Saves where direct list prices are refreshed from, after checking it is an http(s)
    /// address (`None` or LiteLLM's own: back to the default).
    pub fn set_price_map_url(&self, url: Option<&str>) -> Result<PriceMapUrl> {
        let url = url.map(|u| normalise_price_map_url(u).map_err(|e| AppError::invalid(e.to_string()))).transpose()?;
        let mut settings = self.settings();
        settings.price_map_url = url.filter(|u| u != LITELLM_URL);
        self.save_settings(settings)?;
        Ok(self.price_map_url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::test_options;

    #[test]
    fn stream_settings_are_checked_saved_and_used() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), test_options(false)).unwrap();
        assert_eq!((engine.stream_settings().idle_timeout_s, engine.stream_settings().answer_deadline_s), (60, 600));
        let e = engine.set_stream_settings(Some(2), None).unwrap_err();
        assert!(e.to_string().contains("between 5 and 3600 seconds; got 2"), "{e}");
        let e = engine.set_stream_settings(Some(120), Some(60)).unwrap_err();
        assert!(e.to_string().contains("cannot be shorter"), "{e}");
        let s = engine.set_stream_settings(Some(15), Some(120)).unwrap();
        assert_eq!((s.idle_timeout_s, s.answer_deadline_s, s.default_idle_timeout_s), (15, 120, 60));
        let reopened = Engine::open(dir.path(), test_options(false)).unwrap();
        assert_eq!(reopened.settings().stream_limits().idle.as_secs(), 15);
        assert_eq!(reopened.set_stream_settings(None, None).unwrap().idle_timeout_s, 60);
    }

    #[test]
    fn a_price_map_address_is_checked_before_it_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), test_options(false)).unwrap();
        assert!(engine.price_map_url().is_default);
        assert!(engine.set_price_map_url(Some("ftp://example.com/prices.json")).is_err());
        assert!(engine.price_map_url().is_default, "a refused address is not saved");
        let saved = engine.set_price_map_url(Some("  http://127.0.0.1:9/prices.json ")).unwrap();
        assert_eq!((saved.url.as_str(), saved.is_default), ("http://127.0.0.1:9/prices.json", false));
        assert!(engine.set_price_map_url(Some(LITELLM_URL)).unwrap().is_default);
    }
}
