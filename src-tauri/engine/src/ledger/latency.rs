//! Latency per model × route from the user's own history: p50/p95 time to first token and
//! p50/p95 output tokens per second.
//!
//! Only measured answers count: rows with an estimated usage or without a first token are
//! skipped (a partial index covers exactly those rows). Tokens/s is
//! `output_tokens / ((total_ms − ttft_ms) / 1000)`, the generation rate after the first token;
//! an answer with a zero span has no rate. Both are the clean figures of the attempt that
//! answered: an answer that needed retries records its attempts and the time spent before the last
//! one apart (`usage.attempts`, `usage.waited_ms`), and they are not counted here. Percentiles are **nearest-rank**: the p-th percentile
//! of n sorted values is the value at rank ⌈p/100 × n⌉ (1-based), always one of the samples.
//!
//! Each model × route is measured on its latest [`SAMPLES`] measured answers in the range (all of
//! them when there are fewer): recent speed is what the user compares, and it keeps the query
//! to a few index range reads however long the history (see BENCHMARKS.md).

use std::collections::HashMap;

use rusqlite::Connection;
use serde::Serialize;
use ts_rs::TS;

use super::DayRange;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LatencyRow {
    pub route: String,
    pub model: String,
    /// Answers with a measured first token.
    #[ts(type = "number")]
    pub samples: u64,
    #[ts(type = "number")]
    pub ttft_p50_ms: u64,
    #[ts(type = "number")]
    pub ttft_p95_ms: u64,
    /// `None` when no answer had a span to measure a rate over.
    pub tokens_per_s_p50: Option<f64>,
    pub tokens_per_s_p95: Option<f64>,
}

/// The nearest-rank percentile of sorted `values` (`p` in 1..=100); `None` when empty.
pub fn nearest_rank<T: Copy>(sorted: &[T], p: u32) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(p) * n).div_ceil(100).clamp(1, n);
    sorted.get(rank as usize - 1).copied()
}

#[derive(Default)]
struct Samples {
    ttft: Vec<u64>,
    rate: Vec<f64>,
}

/// How many of the latest measured answers per model × route the percentiles are taken over.
pub const SAMPLES: usize = 2_000;

/// One line per (route, model) that has measured answers in the range, most answers first.
pub fn by_model_and_route(conn: &Connection, range: &DayRange) -> Result<Vec<LatencyRow>, StoreError> {
    let (since, until) = range.bounds()?;
    let pairs: Vec<(String, String)> = {
        let mut stmt = conn.prepare_cached("SELECT DISTINCT route, model FROM usage_daily WHERE day >= ?1 AND day < ?2")?;
        let rows = stmt.query_map([&since, &until], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut stmt = conn.prepare_cached(
        "SELECT ttft_ms, total_ms, output_tokens FROM usage INDEXED BY usage_latency
         WHERE route = ?1 AND model = ?2 AND created_at >= ?3 AND created_at < ?4 AND estimated = 0 AND ttft_ms IS NOT NULL
         ORDER BY created_at DESC LIMIT ?5",
    )?;
    let mut groups: HashMap<(String, String), Samples> = HashMap::new();
    for (route, model) in pairs {
        let mut s = Samples::default();
        let mut rows = stmt.query(rusqlite::params![route, model, since, until, SAMPLES as i64])?;
        while let Some(r) = rows.next()? {
            let (ttft, total, output): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            s.ttft.push(ttft.max(0) as u64);
            let span_ms = total - ttft;
            if span_ms > 0 && output > 0 {
                s.rate.push(output as f64 * 1000.0 / span_ms as f64);
            }
        }
        if !s.ttft.is_empty() {
            groups.insert((route, model), s);
        }
    }
    let mut out: Vec<LatencyRow> = groups
        .into_iter()
        .map(|((route, model), mut s)| {
            s.ttft.sort_unstable();
            s.rate.sort_unstable_by(f64::total_cmp);
            LatencyRow {
                route,
                model,
                samples: s.ttft.len() as u64,
                ttft_p50_ms: nearest_rank(&s.ttft, 50).unwrap_or_default(),
                ttft_p95_ms: nearest_rank(&s.ttft, 95).unwrap_or_default(),
                tokens_per_s_p50: nearest_rank(&s.rate, 50),
                tokens_per_s_p95: nearest_rank(&s.rate, 95),
            }
        })
        .collect();
    out.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.route.cmp(&b.route)).then(a.model.cmp(&b.model)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::nearest_rank;

    #[test]
    fn nearest_rank_picks_a_sample_at_the_ceiling_rank() {
        let v: Vec<u64> = (1..=20).map(|i| i * 10).collect(); // 10, 20, …, 200
        assert_eq!(nearest_rank(&v, 50), Some(100)); // rank ⌈10⌉ = 10
        assert_eq!(nearest_rank(&v, 95), Some(190)); // rank ⌈19⌉ = 19
        assert_eq!(nearest_rank(&[7u64], 95), Some(7));
        assert_eq!(nearest_rank(&[1u64, 2, 3], 50), Some(2)); // rank ⌈1.5⌉ = 2
        assert_eq!(nearest_rank::<u64>(&[], 50), None);
    }
}
