//! History store benchmark, both backends side by side in one run:
//! - write latency of one record (durable on return), median and p90 over many writes;
//! - `get_execution_history` with statistics (a page of 20 + statistics over everything, the
//!   two store calls the tool makes) with 100 000 executions stored.
//!
//! Run: `cargo bench --bench store` (starts its own `redis-server` on a free loopback port).
//! It prints a markdown table; it asserts nothing.

#[path = "../tests/it/support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cc_executor::store::redis::RedisStore;
use cc_executor::store::sqlite::SqliteStore;
use cc_executor::store::{ExecutionRecord, HistoryFilter, HistoryStore, RecordStore};
use cc_executor::{ExecutionResult, Status};
use chrono::Utc;

const STORED: usize = 100_000;
const WRITES: usize = 500;
const QUERIES: usize = 30;

fn record(i: usize) -> ExecutionRecord {
    const CATS: [&str; 6] = ["code", "test", "docs", "refactor", "debug", "review"];
    const CPLX: [&str; 4] = ["trivial", "low", "medium", "high"];
    let status = match i % 10 {
        0 => Status::TimedOut,
        1 => Status::ApiError,
        _ => Status::Succeeded,
    };
    let mut r = ExecutionResult::empty(uuid::Uuid::new_v4(), status, vec![]);
    let finished =
        (Utc::now() - chrono::Duration::days(7)) + chrono::Duration::seconds(i as i64 * 30);
    r.duration_ms = 5_000 + (i as u64 * 7919) % 600_000;
    r.started_at = finished - chrono::Duration::milliseconds(r.duration_ms as i64);
    r.finished_at = finished;
    r.total_cost_usd = Some(0.01 + (i % 50) as f64 * 0.003);
    r.result = Some("Done. Updated the module and ran the tests; all passed.".into());
    r.files_written = vec![format!("/repo/src/file_{}.rs", i % 300)];
    ExecutionRecord::new(
        &format!(
            "Task {i}: refactor module {} and update its tests so that they pass",
            i % 300
        ),
        "/repo",
        Some(CATS[i % CATS.len()].into()),
        Some(CPLX[(i / 7) % CPLX.len()].into()),
        r.started_at,
        r,
    )
}

fn median_p90(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[(v.len() * 9 / 10).min(v.len() - 1)])
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

async fn bench(name: &str, store: Arc<dyn HistoryStore>) -> Vec<(String, Duration, Duration)> {
    let mut rows = Vec::new();
    // Seed in batches (one transaction / pipeline each): the setup, not the measurement.
    let t = Instant::now();
    for chunk in (0..STORED).collect::<Vec<_>>().chunks(2000) {
        let batch: Vec<ExecutionRecord> = chunk.iter().map(|i| record(*i)).collect();
        store.record_batch(&batch).await.expect("seed");
    }
    eprintln!(
        "{name}: seeded {STORED} records in {:.1}s",
        t.elapsed().as_secs_f64()
    );

    let mut writes = Vec::with_capacity(WRITES);
    for i in 0..WRITES {
        let r = record(STORED + i);
        let t = Instant::now();
        store.record(&r).await.expect("write");
        writes.push(t.elapsed());
    }
    let (m, p) = median_p90(writes);
    rows.push((
        format!("{name}: write one record (durable on return)"),
        m,
        p,
    ));

    let page = HistoryFilter {
        limit: 20,
        ..Default::default()
    };
    // Cold: a new execution was just recorded, so nothing can be reused.
    let mut cold = Vec::with_capacity(QUERIES);
    for i in 0..QUERIES {
        store
            .record(&record(STORED + WRITES + i))
            .await
            .expect("write");
        let t = Instant::now();
        let list = store.list(&page).await.expect("list");
        let stats = store.stats(&page).await.expect("stats");
        cold.push(t.elapsed());
        assert_eq!(list.len(), 20);
        assert_eq!(stats.overall.count as usize, STORED + WRITES + i + 1);
    }
    // Repeated: the same question again with nothing written in between.
    let mut warm = Vec::with_capacity(QUERIES);
    for _ in 0..QUERIES {
        let t = Instant::now();
        store.list(&page).await.expect("list");
        store.stats(&page).await.expect("stats");
        warm.push(t.elapsed());
    }
    let n = STORED + WRITES + QUERIES;
    let (m, p) = median_p90(cold);
    rows.push((
        format!("{name}: `get_execution_history` (page of 20 + statistics over {n}) right after a new execution"),
        m,
        p,
    ));
    let (m, p) = median_p90(warm);
    rows.push((
        format!("{name}: the same, asked again with nothing written in between"),
        m,
        p,
    ));
    rows
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite: Arc<dyn HistoryStore> =
        Arc::new(SqliteStore::open(&dir.path().join("history.sqlite3")).expect("sqlite"));
    let server = redis_server::RedisServer::start();
    let redis: Arc<dyn HistoryStore> = Arc::new(
        RedisStore::open(
            &server.url(),
            "bench",
            30,
            dir.path().join("outbox.sqlite3"),
        )
        .await
        .expect("redis"),
    );
    let mut rows = bench("embedded (SQLite)", sqlite).await;
    // The full scan: the first question after start-up (or after another process wrote).
    let mut first = Vec::new();
    for _ in 0..QUERIES / 3 {
        let fresh = SqliteStore::open(&dir.path().join("history.sqlite3")).expect("reopen");
        let page = HistoryFilter {
            limit: 20,
            ..Default::default()
        };
        let t = Instant::now();
        fresh.list(&page).await.expect("list");
        fresh.stats(&page).await.expect("stats");
        first.push(t.elapsed());
    }
    let (m, p) = median_p90(first);
    rows.push((
        "embedded (SQLite): the same, first time after start-up or after another process wrote (full scan)".into(),
        m,
        p,
    ));
    rows.extend(bench("Redis (loopback)", redis).await);
    println!("| measurement | median | p90 |");
    println!("|---|---|---|");
    for (what, m, p) in rows {
        println!("| {what} | {} | {} |", ms(m), ms(p));
    }
}
