//! Calendar arithmetic on UTC days: parsing, and the day / week / month a day falls in.
//! Weeks are ISO weeks (Monday to Sunday); a bucket is named by its first day.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Bucket {
    Day,
    Week,
    Month,
}

/// A `YYYY-MM-DD` day, checked.
pub fn parse_day(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| StoreError::Invalid(format!("A date is written YYYY-MM-DD, for example 2026-11-25; got \"{text}\".")))
}

/// The first day of the bucket `day` falls in.
pub fn bucket_start(day: NaiveDate, bucket: Bucket) -> NaiveDate {
    match bucket {
        Bucket::Day => day,
        Bucket::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
        Bucket::Month => month_start(day),
    }
}

/// The first day of the bucket after the one starting on `start`.
pub fn next_bucket(start: NaiveDate, bucket: Bucket) -> NaiveDate {
    match bucket {
        Bucket::Day => start + Days::new(1),
        Bucket::Week => start + Days::new(7),
        Bucket::Month => next_month(start),
    }
}

pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The first day of the month after `day`'s.
pub fn next_month(day: NaiveDate) -> NaiveDate {
    let (y, m) = if day.month() == 12 { (day.year() + 1, 1) } else { (day.year(), day.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_day(s).unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_cross_year_ends() {
        // 2026-01-01 is a Thursday: its ISO week started on Monday 2025-12-29.
        assert_eq!(bucket_start(d("2026-01-01"), Bucket::Week), d("2025-12-29"));
        assert_eq!(bucket_start(d("2025-12-29"), Bucket::Week), d("2025-12-29"));
        assert_eq!(bucket_start(d("2026-01-04"), Bucket::Week), d("2025-12-29")); // Sunday
        assert_eq!(bucket_start(d("2026-01-05"), Bucket::Week), d("2026-01-05"));
    }

    #[test]
    fn months_start_on_the_first_and_december_rolls_over() {
        assert_eq!(bucket_start(d("2024-02-29"), Bucket::Month), d("2024-02-01"));
        assert_eq!(next_bucket(d("2025-12-01"), Bucket::Month), d("2026-01-01"));
        assert_eq!(next_bucket(d("2026-01-31"), Bucket::Day), d("2026-02-01"));
    }

    #[test]
    fn a_badly_written_date_is_refused_in_words() {
        let e = parse_day("25/11/2026").unwrap_err();
        assert!(e.to_string().contains("YYYY-MM-DD"));
    }
}
