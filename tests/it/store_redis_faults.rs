//! The Redis history store against a real `redis-server` that goes away and comes back:
//! nothing is lost (the local outbox), nothing is counted twice (idempotent writes), order is
//! kept, and nothing hangs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::redis_server::RedisServer;
use cc_executor::exec::result::{ExecutionResult, Status};
use cc_executor::store::redis::RedisStore;
use cc_executor::store::{
    ExecutionRecord, HistoryFilter, RecordStore, RunStore, StoreError, StoreHealth,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

const PREFIX: &str = "cct";
/// Everything the store promises is bounded by this (connect 1 s, command 2 s).
const CALL_BOUND: Duration = Duration::from_secs(4);

fn base_time() -> DateTime<Utc> {
    // Recent: well inside the retention.
    Utc::now() - chrono::Duration::hours(1)
}

/// Execution `i` of a sequence: finished `i` seconds after `base`.
fn execution(i: u64, base: DateTime<Utc>, status: Status) -> ExecutionRecord {
    let mut r = ExecutionResult::empty(Uuid::new_v4(), status, vec![]);
    r.duration_ms = 1000 + i;
    r.finished_at = base + chrono::Duration::seconds(i as i64);
    r.started_at = r.finished_at - chrono::Duration::milliseconds(r.duration_ms as i64);
    r.total_cost_usd = Some(0.01 * (i + 1) as f64);
    ExecutionRecord::new(
        &format!("Step {i}: do the thing"),
        "/work",
        Some("code".into()),
        Some("low".into()),
        r.started_at,
        r,
    )
}

fn outbox_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("outbox.sqlite3")
}

async fn open(url: &str, dir: &tempfile::TempDir) -> RedisStore {
    let t = Instant::now();
    let store = RedisStore::open(url, PREFIX, 30, outbox_in(dir))
        .await
        .expect("open must succeed, reachable or not");
    assert!(
        t.elapsed() < CALL_BOUND,
        "open took {:?}: it must not hang",
        t.elapsed()
    );
    store
}

async fn record(store: &RedisStore, r: &ExecutionRecord) {
    let t = Instant::now();
    store
        .record(r)
        .await
        .expect("record is durable (Redis or outbox)");
    assert!(
        t.elapsed() < CALL_BOUND,
        "record took {:?}: a write must never hang",
        t.elapsed()
    );
}

async fn redis(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("test connection to redis-server")
}

async fn counters(con: &mut redis::aio::MultiplexedConnection) -> HashMap<String, String> {
    redis::cmd("HGETALL")
        .arg(format!("{PREFIX}:counters"))
        .query_async(con)
        .await
        .expect("HGETALL counters")
}

fn counter(c: &HashMap<String, String>, field: &str) -> i64 {
    c.get(field)
        .map_or(0, |v| v.parse().expect("integer counter"))
}

async fn zcard(con: &mut redis::aio::MultiplexedConnection, key: &str) -> u64 {
    redis::cmd("ZCARD")
        .arg(format!("{PREFIX}:{key}"))
        .query_async(con)
        .await
        .expect("ZCARD")
}

/// Record keys in Redis, counted with SCAN (never KEYS).
async fn exec_keys(con: &mut redis::aio::MultiplexedConnection) -> usize {
    let mut cursor: u64 = 0;
    let mut n = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{PREFIX}:exec:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(con)
            .await
            .expect("SCAN");
        n += keys.len();
        if next == 0 {
            return n;
        }
        cursor = next;
    }
}

/// Last-write times (retention clock) of the records, in the given order.
async fn write_times(
    con: &mut redis::aio::MultiplexedConnection,
    records: &[&ExecutionRecord],
) -> Vec<f64> {
    let mut out = Vec::new();
    for r in records {
        let score: Option<f64> = redis::cmd("ZSCORE")
            .arg(format!("{PREFIX}:written"))
            .arg(r.execution_id.to_string())
            .query_async(con)
            .await
            .expect("ZSCORE");
        out.push(score.unwrap_or_else(|| panic!("{} is not in Redis", r.execution_id)));
    }
    out
}

async fn wait_healthy(store: &RedisStore, within: Duration) -> StoreHealth {
    let deadline = Instant::now() + within;
    loop {
        let h = store.health().await;
        if h.state == "ok" && h.outbox_pending == 0 {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "the store did not recover within {within:?}: {h:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ids(rs: &[ExecutionRecord]) -> Vec<Uuid> {
    rs.iter().map(|r| r.execution_id).collect()
}

fn all() -> HistoryFilter {
    HistoryFilter {
        limit: 1000,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_startup_outbox_is_replayed_in_order_exactly_once() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&url, &dir).await;

    let h = store.health().await;
    assert_eq!(h.backend, "redis");
    assert_eq!(h.state, "degraded", "{h:?}");
    assert_eq!(h.location, url);
    assert_eq!(h.outbox_pending, 0);

    let base = base_time();
    let mut records: Vec<ExecutionRecord> = (0..10)
        .map(|i| execution(i, base, Status::Succeeded))
        .collect();
    for r in &records {
        record(&store, r).await;
    }
    // Execution 3 is recorded again with another outcome: replay order decides which wins.
    let mut v2 = records[3].clone();
    v2.result.status = Status::Crashed;
    v2.result.total_cost_usd = None;
    record(&store, &v2).await;

    let h = store.health().await;
    assert_eq!(h.state, "degraded", "{h:?}");
    assert_eq!(h.outbox_pending, 11, "{h:?}");
    let detail = h.detail.unwrap_or_default();
    assert!(detail.contains("unreachable"), "{detail}");

    // Degraded reads: a record waiting in the outbox is found; the others say why they fail.
    let got = store.get(records[0].execution_id).await.unwrap();
    assert_eq!(got.as_ref(), Some(&records[0]));
    assert_eq!(
        store.get(v2.execution_id).await.unwrap().as_ref(),
        Some(&v2),
        "the newest outbox version wins"
    );
    let t = Instant::now();
    let err = store.list(&all()).await.expect_err("Redis is down");
    assert!(t.elapsed() < CALL_BOUND, "a read must not hang");
    assert!(matches!(err, StoreError::Redis(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("outbox") && msg.contains("11"), "{msg}");

    server.restart();
    let h = wait_healthy(&store, Duration::from_secs(15)).await;
    assert_eq!(h.outbox_pending, 0);

    let mut con = redis(&url).await;
    assert_eq!(zcard(&mut con, "idx").await, 10);
    assert_eq!(exec_keys(&mut con).await, 10);
    let c = counters(&mut con).await;
    assert_eq!(counter(&c, "count"), 10, "{c:?}");
    assert_eq!(counter(&c, "status:succeeded"), 9, "{c:?}");
    assert_eq!(counter(&c, "status:crashed"), 1, "{c:?}");
    assert_eq!(counter(&c, "cost_known"), 9, "{c:?}");

    // Replayed in order: the retention clock (last write) never goes backwards along the
    // sequence — execution 3 was last written as its second version, queued last — and that
    // second version is what Redis holds.
    let mut sequence: Vec<&ExecutionRecord> = records
        .iter()
        .filter(|r| r.execution_id != v2.execution_id)
        .collect();
    sequence.push(&v2);
    let times = write_times(&mut con, &sequence).await;
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "replay out of order: {times:?}"
    );
    records[3] = v2.clone();
    assert_eq!(store.get(v2.execution_id).await.unwrap(), Some(v2.clone()));

    let listed = store.list(&all()).await.unwrap();
    let mut newest_first = records.clone();
    newest_first.reverse();
    assert_eq!(ids(&listed), ids(&newest_first));
    assert_eq!(listed, newest_first);
    let stats = store.stats(&all()).await.unwrap();
    assert_eq!((stats.overall.count, stats.overall.succeeded), (10, 9));
    assert_eq!(
        store.recent_durations("code", "low", 3).await.unwrap(),
        vec![1009, 1008, 1007]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_sequence_nothing_lost_nothing_doubled() {
    let mut server = RedisServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&url, &dir).await;
    assert_eq!(store.health().await.state, "ok");

    let base = base_time();
    let records: Vec<ExecutionRecord> = (0..20)
        .map(|i| {
            let status = if i % 5 == 4 {
                Status::TimedOut
            } else {
                Status::Succeeded
            };
            execution(i, base, status)
        })
        .collect();
    for (i, r) in records.iter().enumerate() {
        if i == 8 {
            // What Redis confirmed so far survives the crash (as with persistence on).
            server.save();
            server.stop();
        }
        if i == 14 {
            server.restart();
        }
        record(&store, r).await;
        if i == 9 {
            let h = store.health().await;
            assert_eq!(h.state, "degraded", "{h:?}");
            assert_eq!(h.outbox_pending, 2, "{h:?}");
            // Even with Redis gone, the record waiting in the outbox can be read.
            assert_eq!(store.get(r.execution_id).await.unwrap().as_ref(), Some(r));
        }
    }
    wait_healthy(&store, Duration::from_secs(15)).await;

    let mut con = redis(&url).await;
    assert_eq!(zcard(&mut con, "idx").await, 20);
    assert_eq!(zcard(&mut con, "written").await, 20);
    assert_eq!(exec_keys(&mut con).await, 20);
    let c = counters(&mut con).await;
    assert_eq!(counter(&c, "count"), 20, "{c:?}");
    assert_eq!(counter(&c, "status:succeeded"), 16, "{c:?}");
    assert_eq!(counter(&c, "status:timed_out"), 4, "{c:?}");
    let expected_ms: u64 = records.iter().map(|r| r.result.duration_ms).sum();
    assert_eq!(counter(&c, "duration_ms"), expected_ms as i64, "{c:?}");

    let sequence: Vec<&ExecutionRecord> = records.iter().collect();
    let times = write_times(&mut con, &sequence).await;
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "written out of order: {times:?}"
    );
    let listed = store.list(&all()).await.unwrap();
    let mut newest_first = records.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    let stats = store.stats(&all()).await.unwrap();
    assert_eq!(stats.overall.count, 20);
    assert_eq!(stats.overall.succeeded, 16);
    let expected_cost: f64 = records.iter().filter_map(|r| r.result.total_cost_usd).sum();
    assert!((stats.overall.total_cost_usd - expected_cost).abs() < 1e-9);
}

#[tokio::test]
async fn malformed_urls_are_refused_at_once_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["not a url", "http://x", "", "redis://user:s3cret@[::1"] {
        let t = Instant::now();
        let res = RedisStore::open(url, PREFIX, 30, outbox_in(&dir)).await;
        let elapsed = t.elapsed();
        assert!(elapsed < Duration::from_secs(2), "{url:?} took {elapsed:?}");
        match res {
            Err(e @ StoreError::RedisUrl { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("invalid Redis URL"), "{msg}");
                assert!(msg.contains("redis://"), "says what is expected: {msg}");
                assert!(!msg.contains("s3cret"), "the password leaked: {msg}");
            }
            Err(e) => panic!("{url:?}: expected RedisUrl, got {e:?}"),
            Ok(_) => panic!("{url:?} was accepted"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_record_never_changes_the_counters() {
    let mut server = RedisServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&url, &dir).await;
    let mut con = redis(&url).await;

    let base = base_time();
    let r = execution(1, base, Status::Succeeded);
    let other = execution(2, base, Status::Unverified);
    record(&store, &r).await;
    record(&store, &other).await;
    let before = counters(&mut con).await;
    assert_eq!(counter(&before, "count"), 2, "{before:?}");

    // Direct replays.
    record(&store, &r).await;
    record(&store, &r).await;
    assert_eq!(counters(&mut con).await, before);
    assert_eq!(zcard(&mut con, "idx").await, 2);
    assert_eq!(
        store.recent_durations("code", "low", 10).await.unwrap(),
        vec![1002, 1001],
        "a replay adds no duration"
    );

    // Replays through the outbox (twice queued, replayed after Redis is back).
    server.save();
    server.stop();
    record(&store, &r).await;
    record(&store, &r).await;
    assert_eq!(store.health().await.outbox_pending, 2);
    server.restart();
    wait_healthy(&store, Duration::from_secs(15)).await;
    let mut con = redis(&url).await;
    assert_eq!(counters(&mut con).await, before);
    assert_eq!(zcard(&mut con, "idx").await, 2);
    assert_eq!(exec_keys(&mut con).await, 2);
    assert_eq!(
        store.recent_durations("code", "low", 10).await.unwrap(),
        vec![1002, 1001]
    );

    // Retention is applied to what was written: about 30 days (plus a grace hour).
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{PREFIX}:exec:{}", r.execution_id))
        .query_async(&mut con)
        .await
        .unwrap();
    assert!(
        (30 * 86_400..=30 * 86_400 + 3600).contains(&ttl),
        "record TTL {ttl}"
    );
    for key in ["idx", "sum", "written", "counters", "dur:code:low"] {
        let ttl: i64 = redis::cmd("TTL")
            .arg(format!("{PREFIX}:{key}"))
            .query_async(&mut con)
            .await
            .unwrap();
        assert!(ttl > 30 * 86_400 - 60, "{key} TTL {ttl}");
    }

    // A replaced record (another outcome) moves its counts instead of adding to them.
    let mut r2 = r.clone();
    r2.result.status = Status::Crashed;
    record(&store, &r2).await;
    let after = counters(&mut con).await;
    assert_eq!(counter(&after, "count"), 2, "{after:?}");
    assert_eq!(counter(&after, "status:succeeded"), 0, "{after:?}");
    assert_eq!(counter(&after, "status:crashed"), 1, "{after:?}");
    assert_eq!(counter(&after, "status:unverified"), 1, "{after:?}");

    // Zero durations and costs (executions that never ran) replace cleanly too, and awkward
    // class names (the key syntax's own characters) round-trip.
    let mut z = execution(3, base, Status::CliNotFound);
    z.result.duration_ms = 0;
    z.result.total_cost_usd = Some(0.0);
    z.category = Some("a:b|c%d".into());
    z.complexity = Some("x\ny".into());
    record(&store, &z).await;
    let mut z2 = z.clone();
    z2.result.status = Status::SpawnFailed;
    record(&store, &z2).await;
    record(&store, &z2).await;
    let h = store.health().await;
    assert_eq!((h.state.as_str(), h.outbox_pending), ("ok", 0), "{h:?}");
    let c = counters(&mut con).await;
    assert_eq!(counter(&c, "count"), 3, "{c:?}");
    assert_eq!(counter(&c, "status:cli_not_found"), 0, "{c:?}");
    assert_eq!(counter(&c, "status:spawn_failed"), 1, "{c:?}");
    assert_eq!(
        store.recent_durations("a:b|c%d", "x\ny", 5).await.unwrap(),
        vec![0]
    );
    assert_eq!(store.get(z.execution_id).await.unwrap(), Some(z2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_snapshots_saved_while_redis_is_away_wait_in_the_outbox_and_are_replayed() {
    let mut server = RedisServer::start();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&url, &dir).await;
    let mut run: cc_executor::runs::Run = serde_json::from_value(serde_json::json!({
        "run_id": Uuid::new_v4(), "state": "running", "failure_policy": "continue",
        "tasks": [], "budget_usd": null, "max_usage_wait_secs": 60, "defaults": {},
        "cost_usd": 0.0, "duration_ms": 0, "current_task": null, "waiting_until": null,
        "reason": null, "source": null, "owner": null, "created_at": Utc::now(),
        "updated_at": Utc::now(), "finished_at": null, "revision": 1
    }))
    .unwrap();
    store.save_run(&run).await.unwrap();
    server.save();
    server.stop();
    // Every step of a run is saved while Redis is down; only the newest waits, readable.
    for rev in 2..=4 {
        run.revision = rev;
        run.cost_usd = rev as f64;
        let t = Instant::now();
        store.save_run(&run).await.unwrap();
        assert!(t.elapsed() < CALL_BOUND, "save_run took {:?}", t.elapsed());
    }
    let h = store.health().await;
    assert_eq!(
        (h.state.as_str(), h.outbox_pending),
        ("degraded", 1),
        "{h:?}"
    );
    assert_eq!(
        store.get_run(run.run_id).await.unwrap().as_ref(),
        Some(&run)
    );
    server.restart();
    wait_healthy(&store, Duration::from_secs(15)).await;
    // In Redis now, newest revision, and an old snapshot cannot roll it back.
    let mut con = redis(&url).await;
    let rev: String = redis::cmd("HGET")
        .arg(format!("{PREFIX}:run:{}", run.run_id))
        .arg("rev")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(rev, "4");
    assert_eq!(store.list_runs(5).await.unwrap(), vec![run]);
}
