//! Statistics over executions: one computation ([`compute_stats`], [`StatsBuilder`]) that both
//! backends feed, so their numbers agree.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::result::Status;

/// Aggregates over a set of executions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    pub count: u64,
    pub succeeded: u64,
    /// succeeded / count (0 when empty).
    pub success_rate: f64,
    pub duration_p50_ms: u64,
    pub duration_p90_ms: u64,
    pub duration_max_ms: u64,
    pub total_cost_usd: f64,
    /// Over executions with a known cost.
    pub mean_cost_usd: f64,
    /// Tasks run with acceptance checks (first attempts; repairs and validators not counted).
    #[serde(default)]
    pub checked: u64,
    /// Of those, how many passed their checks at once …
    #[serde(default)]
    pub passed_first: u64,
    /// … and how many passed after one or more repairs.
    #[serde(default)]
    pub passed_repaired: u64,
}

/// Statistics overall and per category/complexity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryStats {
    pub overall: Stats,
    /// Keyed `category/complexity` (`-` when unknown).
    pub by_category: BTreeMap<String, Stats>,
}

/// One row as statistics need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatRow<'a> {
    pub status: Status,
    pub duration_ms: u64,
    pub cost: Option<f64>,
    pub category: Option<&'a str>,
    pub complexity: Option<&'a str>,
    /// Its acceptance checks: `None` when it had none, else whether they passed.
    pub accepted: Option<bool>,
    /// Its place in a repair loop (0: a first attempt).
    pub repairs: u32,
}

/// Computes statistics from rows; both backends use it, so their numbers agree.
pub(crate) fn compute_stats<'a>(rows: impl IntoIterator<Item = StatRow<'a>>) -> HistoryStats {
    let mut b = StatsBuilder::default();
    for row in rows {
        b.add(&row);
    }
    b.finish()
}

/// Statistics built up row by row — and kept, so that a store can add new executions to them
/// instead of reading everything again.
///
/// One pass accumulates counts, costs and durations per category/complexity (groups are few:
/// a linear lookup, remembering the last hit, beats hashing 100 000 keys); percentiles come
/// from selection (`select_nth_unstable`, linear) rather than sorting.
#[derive(Debug, Clone, Default)]
pub(crate) struct StatsBuilder {
    overall: Acc,
    groups: Vec<(Option<String>, Option<String>, Acc)>,
    last: usize,
}

impl StatsBuilder {
    pub(crate) fn add(&mut self, row: &StatRow<'_>) {
        self.overall.add(row);
        let same = |g: &(Option<String>, Option<String>, Acc)| {
            g.0.as_deref() == row.category && g.1.as_deref() == row.complexity
        };
        if !self.groups.get(self.last).is_some_and(same) {
            self.last = match self.groups.iter().position(same) {
                Some(i) => i,
                None => {
                    self.groups.push((
                        row.category.map(str::to_string),
                        row.complexity.map(str::to_string),
                        Acc::default(),
                    ));
                    self.groups.len() - 1
                }
            };
        }
        self.groups[self.last].2.add(row);
    }

    /// The statistics of everything added so far (the builder stays usable).
    pub(crate) fn finish(&self) -> HistoryStats {
        HistoryStats {
            overall: self.overall.stats(),
            by_category: self
                .groups
                .iter()
                .map(|(cat, cx, acc)| {
                    (
                        format!(
                            "{}/{}",
                            cat.as_deref().unwrap_or("-"),
                            cx.as_deref().unwrap_or("-")
                        ),
                        acc.stats(),
                    )
                })
                .collect(),
        }
    }
}

/// Running aggregates of one group.
#[derive(Debug, Clone, Default)]
struct Acc {
    succeeded: u64,
    durations: Vec<u64>,
    cost_sum: f64,
    costs: u64,
    checked: u64,
    passed_first: u64,
    passed_repaired: u64,
}

impl Acc {
    fn add(&mut self, r: &StatRow<'_>) {
        self.succeeded += u64::from(r.status == Status::Succeeded);
        self.durations.push(r.duration_ms);
        if let Some(passed) = r.accepted {
            let first = r.repairs == 0;
            self.checked += u64::from(first);
            self.passed_first += u64::from(first && passed);
            self.passed_repaired += u64::from(!first && passed);
        }
        if let Some(c) = r.cost {
            self.cost_sum += c;
            self.costs += 1;
        }
    }

    fn stats(&self) -> Stats {
        let n = self.durations.len();
        if n == 0 {
            return Stats::default();
        }
        let mut durations = self.durations.clone();
        let p50 = select_percentile(&mut durations, 0.5);
        let p90 = select_percentile(&mut durations, 0.9);
        let max = self.durations.iter().copied().max().unwrap_or(0);
        Stats {
            count: n as u64,
            succeeded: self.succeeded,
            success_rate: self.succeeded as f64 / n as f64,
            duration_p50_ms: p50,
            duration_p90_ms: p90,
            duration_max_ms: max,
            total_cost_usd: self.cost_sum,
            mean_cost_usd: if self.costs == 0 {
                0.0
            } else {
                self.cost_sum / self.costs as f64
            },
            checked: self.checked,
            passed_first: self.passed_first,
            passed_repaired: self.passed_repaired,
        }
    }
}

/// Nearest-rank percentile by selection (reorders `values`; linear time).
fn select_percentile(values: &mut [u64], p: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    *values.select_nth_unstable(rank - 1).1
}

/// Nearest-rank percentile of sorted values.
pub(crate) fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_gives_the_same_percentiles_as_sorting() {
        let mut rng = fastrand::Rng::with_seed(7);
        for n in [1usize, 2, 3, 10, 99, 1000] {
            let v: Vec<u64> = (0..n).map(|_| rng.u64(0..500)).collect();
            let mut sorted = v.clone();
            sorted.sort_unstable();
            for p in [0.5, 0.9, 1.0] {
                assert_eq!(
                    select_percentile(&mut v.clone(), p),
                    percentile(&sorted, p),
                    "{n} {p}"
                );
            }
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 0.5), 5);
        assert_eq!(percentile(&v, 0.9), 9);
        assert_eq!(percentile(&v, 1.0), 10);
        assert_eq!(percentile(&[7], 0.9), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn stats_are_grouped_by_category_and_complexity() {
        let rows = [
            StatRow {
                status: Status::Succeeded,
                duration_ms: 100,
                cost: Some(1.0),
                category: Some("code"),
                complexity: Some("low"),
                accepted: None,
                repairs: 0,
            },
            StatRow {
                status: Status::TimedOut,
                duration_ms: 300,
                cost: None,
                category: Some("code"),
                complexity: Some("low"),
                accepted: None,
                repairs: 0,
            },
            StatRow {
                status: Status::Succeeded,
                duration_ms: 50,
                cost: Some(0.5),
                category: None,
                complexity: None,
                accepted: None,
                repairs: 0,
            },
        ];
        let s = compute_stats(rows);
        assert_eq!(s.overall.count, 3);
        assert_eq!(s.overall.succeeded, 2);
        assert!((s.overall.mean_cost_usd - 0.75).abs() < 1e-9);
        assert_eq!(s.overall.duration_max_ms, 300);
        let code = &s.by_category["code/low"];
        assert_eq!((code.count, code.duration_p50_ms), (2, 100));
        assert_eq!(s.by_category["-/-"].count, 1);
    }

    #[test]
    fn acceptance_counts_tasks_by_their_first_attempt_and_passes_after_repair() {
        let row = |status, accepted, repairs| StatRow {
            status,
            duration_ms: 10,
            cost: None,
            category: Some("code"),
            complexity: Some("low"),
            accepted,
            repairs,
        };
        let s = compute_stats([
            row(Status::Succeeded, Some(true), 0), // passed at once
            row(Status::Rejected, Some(false), 0), // rejected, then …
            row(Status::Succeeded, Some(true), 1), // … passed after a repair
            row(Status::Rejected, Some(false), 0), // rejected for good
            row(Status::Rejected, Some(false), 1),
            row(Status::Succeeded, None, 0), // no checks
        ]);
        let o = &s.overall;
        assert_eq!((o.checked, o.passed_first, o.passed_repaired), (3, 1, 1));
        assert_eq!(o.count, 6);
    }
}
