//! How old a price is. Every catalog price names its date in its `source`, the way it is stored
//! with each answer (`OpenAI list price, LiteLLM … (2026-11)`, `OpenRouter models list, embedded
//! snapshot (2026-08-19)`), so the age of the price an answer was charged at is known long after
//! the catalog moved on. A month-only date counts from the month's first day (the oldest it can be).
//!
//! Must not: guess a date for a price that names none (the user's own overrides).

use chrono::NaiveDate;

/// A price older than this many days when it was used gets a warning.
pub const STALE_AFTER_DAYS: i64 = 60;

/// The date a price's `source` names: the last `(YYYY-MM-DD)` or `(YYYY-MM)` in it.
pub fn price_date(source: &str) -> Option<NaiveDate> {
    source
        .match_indices('(')
        .rev()
        .filter_map(|(i, _)| {
            let rest = &source[i + 1..];
            let inner = &rest[..rest.find(')')?];
            NaiveDate::parse_from_str(inner, "%Y-%m-%d")
                .ok()
                .or_else(|| NaiveDate::parse_from_str(&format!("{inner}-01"), "%Y-%m-%d").ok().filter(|_| inner.len() == 7))
        })
        .next()
}

/// Whole days from the price's date to `at` (`None` when the source names no date).
pub fn age_days(source: &str, at: NaiveDate) -> Option<i64> {
    price_date(source).map(|d| (at - d).num_days())
}

/// The day an RFC 3339 or `YYYY-MM-DD` timestamp falls on (UTC).
pub fn day_of(timestamp: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(timestamp.get(..10)?, "%Y-%m-%d").ok()
}

/// Today, UTC.
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The warning for an answer charged on `at` at a price from `source`, when that price was over
/// [`STALE_AFTER_DAYS`] old then.
pub fn stale_warning(source: &str, at: NaiveDate) -> Option<String> {
    let date = price_date(source)?;
    let days = (at - date).num_days();
    (days > STALE_AFTER_DAYS).then(|| {
        format!("The price used was {days} days old (from {date}); the cost may be out of date. Refresh prices on the Pricing screen.")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_date_is_read_from_the_source_wherever_the_tier_note_puts_it() {
        assert_eq!(price_date("OpenRouter models list, embedded snapshot (2026-08-19)"), Some(day("2026-08-19")));
        assert_eq!(price_date("OpenAI list price, LiteLLM model_prices…, litellm 1.110.2 (MIT licence) (2026-11)"), Some(day("2026-11-01")));
        assert_eq!(price_date("Google Gemini list price, x (2026-11) (rate above 200000 input tokens)"), Some(day("2026-11-01")));
        assert_eq!(price_date("your override"), None);
        assert_eq!(price_date("odd (20261) (MIT licence)"), None);
    }

    #[test]
    fn a_price_over_sixty_days_old_when_used_is_warned_about() {
        let src = "OpenRouter models list, embedded snapshot (2026-08-19)";
        // 2026-08-19 → 2026-10-18 is 60 days: not yet; 2026-10-19 is 61.
        assert_eq!(age_days(src, day("2026-10-18")), Some(60));
        assert_eq!(stale_warning(src, day("2026-10-18")), None);
        let w = stale_warning(src, day("2026-10-19")).unwrap();
        assert!(w.contains("61 days old") && w.contains("2026-08-19"), "{w}");
        assert_eq!(stale_warning("your override", day("2030-01-01")), None);
        assert_eq!(day_of("2026-11-20T10:00:00.000Z"), Some(day("2026-11-20")));
    }
}
