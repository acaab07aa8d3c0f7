//! Statistics of the embedded store: read from a covering index, and kept in memory between
//! calls so that a dashboard polling the same filter does not read the whole table each time.

use std::sync::Mutex;

use rusqlite::{Connection, params_from_iter};

use super::millis;
use crate::store::{ExecutionRecord, HistoryFilter, HistoryStats, StatRow, StatsBuilder};
use crate::types::result::Status;

/// The statistics of one filter as of one `data_version` of the file, kept as a builder so
/// that new records can be added to them.
pub(super) struct StatsCache {
    /// The filter, with `limit`/`offset` zeroed (statistics ignore them).
    filter: HistoryFilter,
    data_version: i64,
    builder: StatsBuilder,
}

/// The filter as the cache keys it: statistics ignore `limit`/`offset`.
pub(super) fn stats_filter(f: &HistoryFilter) -> HistoryFilter {
    HistoryFilter {
        limit: 0,
        offset: 0,
        ..f.clone()
    }
}

/// Whether the `WHERE` clause of [`where_clause`](super::where_clause) selects `r` (times in
/// whole milliseconds, as stored). Text search is never applied incrementally.
fn matches_sql(f: &HistoryFilter, r: &ExecutionRecord) -> bool {
    let at = millis(r.finished_at());
    f.status.is_none_or(|s| r.status() == s)
        && f.since.is_none_or(|t| at >= millis(t))
        && f.until.is_none_or(|t| at <= millis(t))
}

fn stat_row(r: &ExecutionRecord) -> StatRow<'_> {
    let (accepted, repairs) = r.acceptance_outcome();
    StatRow {
        status: r.status(),
        duration_ms: r.result.duration_ms,
        cost: r.result.total_cost_usd,
        category: r.category.as_deref(),
        complexity: r.complexity.as_deref(),
        accepted,
        repairs,
    }
}

/// Adds committed records to the statistics kept in memory (or drops them when they can no
/// longer be kept current). Called under the connection lock, right after the commit.
pub(super) fn add_to_stats(
    cache: &Mutex<Option<StatsCache>>,
    rows: &[(ExecutionRecord, String)],
    replaced: bool,
) {
    let mut cached = cache.lock().unwrap_or_else(|p| p.into_inner());
    match cached.as_mut() {
        Some(sc) if !replaced && sc.filter.search.is_none() => {
            for (r, _) in rows {
                if matches_sql(&sc.filter, r) {
                    sc.builder.add(&stat_row(r));
                }
            }
        }
        _ => *cached = None,
    }
}

/// Statistics of the rows `cond` selects: from the cache when it holds this filter and no
/// other process committed since (`PRAGMA data_version`), else read (and cached).
pub(super) fn read(
    c: &Connection,
    cond: &str,
    params: Vec<rusqlite::types::Value>,
    wanted: HistoryFilter,
    cache: &Mutex<Option<StatsCache>>,
) -> rusqlite::Result<HistoryStats> {
    let data_version: i64 = c.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    if let Some(sc) = cache.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
        && sc.filter == wanted
        && sc.data_version == data_version
    {
        return Ok(sc.builder.finish());
    }
    let sql = format!(
        "SELECT status, duration_ms, cost, category, complexity, accepted, repairs FROM executions {cond}"
    );
    let mut stmt = c.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    // Classes are few: intern each (category, complexity) pair once, with one hashed
    // lookup per row, instead of allocating or scanning per row.
    let mut classes: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut index: std::collections::HashMap<Vec<u8>, u32> = std::collections::HashMap::new();
    let mut key: Vec<u8> = Vec::with_capacity(64);
    /// One row, its class interned.
    struct Raw {
        status: Status,
        duration_ms: u64,
        cost: Option<f64>,
        class: u32,
        accepted: Option<bool>,
        repairs: u32,
    }
    let mut raw: Vec<Raw> = Vec::new();
    while let Some(r) = rows.next()? {
        let status = r
            .get_ref(0)?
            .as_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(Status::Crashed);
        let cat = r.get_ref(3)?.as_str().ok();
        let cx = r.get_ref(4)?.as_str().ok();
        key.clear();
        for part in [cat, cx] {
            match part {
                Some(t) => {
                    key.push(1);
                    key.extend_from_slice(t.as_bytes());
                    key.push(0);
                }
                None => key.push(2),
            }
        }
        let class = match index.get(key.as_slice()) {
            Some(c) => *c,
            None => {
                classes.push((cat.map(str::to_string), cx.map(str::to_string)));
                let c = classes.len() as u32 - 1;
                index.insert(key.clone(), c);
                c
            }
        };
        let accepted = r.get::<_, Option<i64>>(5)?.map(|a| a != 0);
        let repairs = r.get::<_, i64>(6)?.clamp(0, i64::from(u32::MAX)) as u32;
        raw.push(Raw {
            status,
            duration_ms: r.get::<_, i64>(1)? as u64,
            cost: r.get(2)?,
            class,
            accepted,
            repairs,
        });
    }
    let mut builder = StatsBuilder::default();
    for row in &raw {
        let (cat, cx) = &classes[row.class as usize];
        builder.add(&StatRow {
            status: row.status,
            duration_ms: row.duration_ms,
            cost: row.cost,
            category: cat.as_deref(),
            complexity: cx.as_deref(),
            accepted: row.accepted,
            repairs: row.repairs,
        });
    }
    let stats = builder.finish();
    *cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(StatsCache {
        filter: wanted,
        data_version,
        builder,
    });
    Ok(stats)
}
