//! One behavioural suite, two backends: the embedded SQLite store and Redis (a real
//! `redis-server` started on a free loopback port). Every test runs against both.

use std::sync::Arc;

use crate::support::redis_server::RedisServer;
use cc_executor::store::redis::RedisStore;
use cc_executor::store::sqlite::SqliteStore;
use cc_executor::store::{ExecutionRecord, HistoryFilter, HistoryStore};
use cc_executor::{ExecutionResult, Status};
use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

/// A backend under test, with whatever keeps it alive.
struct Backend {
    store: Arc<dyn HistoryStore>,
    /// A second, independent instance on the same files (another server process).
    other: Arc<dyn HistoryStore>,
    _dir: tempfile::TempDir,
    _redis: Option<RedisServer>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("history.sqlite3")).unwrap();
    let other = SqliteStore::open(&dir.path().join("history.sqlite3")).unwrap();
    Backend {
        store: Arc::new(store),
        other: Arc::new(other),
        _dir: dir,
        _redis: None,
    }
}

async fn redis() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start();
    let store = RedisStore::open(
        &server.url(),
        "cc_test",
        30,
        dir.path().join("outbox.sqlite3"),
    )
    .await
    .unwrap();
    let other = RedisStore::open(
        &server.url(),
        "cc_test",
        30,
        dir.path().join("outbox.sqlite3"),
    )
    .await
    .unwrap();
    Backend {
        store: Arc::new(store),
        other: Arc::new(other),
        _dir: dir,
        _redis: Some(server),
    }
}

/// Times relative to now (a day ago, whole seconds): fixtures stay inside every retention window
/// on any date the suite runs, and round-trip exactly through both stores.
fn at(minute: i64) -> DateTime<Utc> {
    // One anchor for the whole process, a day before it started: recomputed on every call, a
    // second passing between a record's time and the test's reference made 4 minutes read as
    // 3 (whole minutes round down) — a flake.
    static ANCHOR: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let day_ago = *ANCHOR.get_or_init(|| Utc::now().timestamp() - 86_400);
    Utc.timestamp_opt(day_ago, 0).unwrap() + Duration::minutes(minute)
}

fn record(
    task: &str,
    status: Status,
    minute: i64,
    duration_ms: u64,
    cost: Option<f64>,
    class: Option<(&str, &str)>,
) -> ExecutionRecord {
    let mut result = ExecutionResult::empty(Uuid::new_v4(), status, vec![]);
    result.started_at = at(minute) - Duration::milliseconds(duration_ms as i64);
    result.finished_at = at(minute);
    result.duration_ms = duration_ms;
    result.total_cost_usd = cost;
    result.files_written = vec![format!("/w/{minute}.txt")];
    ExecutionRecord::new(
        task,
        "/w",
        class.map(|c| c.0.to_string()),
        class.map(|c| c.1.to_string()),
        result.started_at,
        result,
    )
}

fn all() -> HistoryFilter {
    HistoryFilter {
        limit: 100,
        ..Default::default()
    }
}

/// Generates the same test for both backends.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test(flavor = "multi_thread")] async fn $name() { super::$name(super::sqlite().await).await } )* }
        mod on_redis { $( #[tokio::test(flavor = "multi_thread")] async fn $name() { super::$name(super::redis().await).await } )* }
    };
}

contract!(
    a_recorded_execution_reads_back_whole,
    recording_again_replaces_instead_of_duplicating,
    lists_are_newest_first_filtered_and_paged,
    statistics_cover_every_match_overall_and_per_category,
    recent_durations_are_per_class_newest_first,
    health_names_the_backend,
    runs_are_saved_read_back_and_listed_newest_first,
    an_older_revision_of_a_run_never_replaces_a_newer_one,
    the_chain_head_advances_one_link_at_a_time,
    chain_appends_from_two_processes_never_fork,
    a_linked_record_is_stored_with_the_link_appended_for_it,
    acceptance_outcomes_and_repairs_are_counted_in_the_statistics,
);

/// Tasks with acceptance checks: the statistics count them by their first attempt, and how
/// many passed at once or after a repair (the SQLite columns and index, the Redis summary).
async fn acceptance_outcomes_and_repairs_are_counted_in_the_statistics(b: Backend) {
    use cc_executor::types::accept::{Acceptance, RepairLink};
    let checked = |status, minute, passed: bool, repairs: u32| {
        let mut r = record("t", status, minute, 100, Some(0.01), Some(("code", "low")));
        r.result.acceptance = Some(Acceptance {
            passed,
            checks: vec![],
            cost_usd: None,
        });
        r.result.repair = (repairs > 0).then(|| RepairLink {
            repairs,
            executions: vec![],
        });
        r
    };
    for r in [
        checked(Status::Succeeded, 1, true, 0),
        checked(Status::Rejected, 2, false, 0),
        checked(Status::Succeeded, 3, true, 1),
        checked(Status::Rejected, 4, false, 0),
        checked(Status::Rejected, 5, false, 1),
        record("t", Status::Succeeded, 6, 100, None, Some(("code", "low"))),
    ] {
        b.store.record(&r).await.unwrap();
    }
    let stats = b.store.stats(&all()).await.unwrap();
    let o = &stats.overall;
    assert_eq!(
        (o.count, o.checked, o.passed_first, o.passed_repaired),
        (6, 3, 1, 1),
        "{o:?}"
    );
    assert_eq!(stats.by_category["code/low"].checked, 3);
    let rejected = b
        .store
        .stats(&HistoryFilter {
            status: Some(Status::Rejected),
            ..all()
        })
        .await
        .unwrap();
    assert_eq!((rejected.overall.count, rejected.overall.checked), (3, 2));
}

async fn a_linked_record_is_stored_with_the_link_appended_for_it(b: Backend) {
    use cc_executor::evidence::EvidenceDraft;
    use cc_executor::evidence::chain::ChainPos;
    let draft = |sha: &str| EvidenceDraft {
        response_file: format!("/evidence/{sha}.json"),
        response_sha256: sha.into(),
        receipt_file: None,
    };
    let first = record("one", Status::Succeeded, 1, 100, None, None);
    let second = record("two", Status::Succeeded, 2, 100, None, None);
    let (a, stored) = b.store.record_linked(first, draft("aa")).await;
    stored.unwrap();
    let (c, stored) = b.store.record_linked(second, draft("bb")).await;
    stored.unwrap();
    let (la, lc) = (
        a.result.evidence.clone().unwrap().chain,
        c.result.evidence.clone().unwrap().chain,
    );
    assert_eq!((la.seq, lc.seq), (1, 2));
    assert_eq!(lc.prev_hash, la.hash);
    assert_eq!(la.response_sha256, "aa");
    // What was stored is what came back, and the head is the last link.
    assert_eq!(b.store.get(a.execution_id).await.unwrap(), Some(a));
    assert_eq!(b.store.get(c.execution_id).await.unwrap(), Some(c));
    assert_eq!(b.store.chain_link(ChainPos::Head).await.unwrap(), Some(lc));
}

/// A run as the store sees it (the driver's bookkeeping is not the store's business).
fn a_run(minute: i64, revision: u64, state: &str) -> cc_executor::runs::Run {
    serde_json::from_value(serde_json::json!({
        "run_id": Uuid::new_v4(), "state": state, "failure_policy": "stop",
        "tasks": [{"id": "1", "position": 1, "task": "do it", "depends_on": [],
                   "state": "pending", "execution_id": null, "status": null,
                   "result_summary": null, "cost_usd": null, "duration_ms": 0,
                   "error": null, "started_at": null, "finished_at": null}],
        "budget_usd": 2.5, "max_usage_wait_secs": 60, "defaults": {"model": "sonnet"},
        "cost_usd": 0.0, "duration_ms": 0, "current_task": null, "waiting_until": null,
        "reason": null, "source": "list.md", "owner": null,
        "created_at": at(minute), "updated_at": at(minute), "finished_at": null,
        "revision": revision
    }))
    .unwrap()
}

async fn runs_are_saved_read_back_and_listed_newest_first(b: Backend) {
    assert!(b.store.list_runs(10).await.unwrap().is_empty());
    let old = a_run(1, 1, "succeeded");
    let new = a_run(2, 1, "running");
    b.store.save_run(&old).await.unwrap();
    b.store.save_run(&new).await.unwrap();
    assert_eq!(
        b.store.get_run(old.run_id).await.unwrap().as_ref(),
        Some(&old)
    );
    assert!(b.store.get_run(Uuid::new_v4()).await.unwrap().is_none());
    let listed = b.store.list_runs(10).await.unwrap();
    assert_eq!(listed, vec![new.clone(), old.clone()]);
    assert_eq!(b.store.list_runs(1).await.unwrap(), vec![new]);
    // Runs are not executions: the history of executions is untouched.
    assert!(b.store.list(&all()).await.unwrap().is_empty());
}

async fn an_older_revision_of_a_run_never_replaces_a_newer_one(b: Backend) {
    let mut run = a_run(1, 5, "running");
    b.store.save_run(&run).await.unwrap();
    let mut stale = run.clone();
    stale.revision = 4;
    stale.state = cc_executor::runs::RunState::Pending;
    b.store.save_run(&stale).await.unwrap();
    assert_eq!(
        b.store.get_run(run.run_id).await.unwrap().unwrap().revision,
        5
    );
    run.revision = 6;
    run.state = cc_executor::runs::RunState::Succeeded;
    run.updated_at = at(3);
    b.store.save_run(&run).await.unwrap();
    assert_eq!(
        b.store.get_run(run.run_id).await.unwrap().as_ref(),
        Some(&run)
    );
    assert_eq!(b.store.list_runs(10).await.unwrap().len(), 1);
}

async fn the_chain_head_advances_one_link_at_a_time(b: Backend) {
    use cc_executor::evidence::chain::{ChainPos, GENESIS};
    assert_eq!(b.store.chain_link(ChainPos::Head).await.unwrap(), None);
    let (x, y) = (Uuid::new_v4(), Uuid::new_v4());
    let lx = b.store.chain_append(x, "aa").await.unwrap();
    let ly = b.store.chain_append(y, "bb").await.unwrap();
    assert_eq!((lx.seq, lx.prev_hash.as_str()), (1, GENESIS));
    assert_eq!((ly.seq, ly.prev_hash.clone()), (2, lx.hash.clone()));
    assert!(lx.is_self_consistent() && ly.is_self_consistent());
    assert_eq!(
        b.store.chain_link(ChainPos::Head).await.unwrap(),
        Some(ly.clone())
    );
    assert_eq!(
        b.store.chain_link(ChainPos::Seq(1)).await.unwrap(),
        Some(lx.clone())
    );
    assert_eq!(
        b.store.chain_link(ChainPos::Execution(y)).await.unwrap(),
        Some(ly.clone())
    );
    assert_eq!(b.store.chain_link(ChainPos::Seq(3)).await.unwrap(), None);
    // A retried append is the same link; a different hash for the same execution is refused.
    assert_eq!(b.store.chain_append(x, "aa").await.unwrap(), lx);
    assert!(b.store.chain_append(x, "cc").await.is_err());
    assert_eq!(b.store.chain_link(ChainPos::Head).await.unwrap(), Some(ly));
}

async fn chain_appends_from_two_processes_never_fork(b: Backend) {
    use cc_executor::evidence::chain::ChainPos;
    let mut tasks = Vec::new();
    for store in [b.store.clone(), b.other.clone()] {
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                store.chain_append(Uuid::new_v4(), "h").await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let head = b.store.chain_link(ChainPos::Head).await.unwrap().unwrap();
    assert_eq!(head.seq, 50);
    let mut prev = cc_executor::evidence::chain::GENESIS.to_string();
    for seq in 1..=50 {
        let l = b
            .other
            .chain_link(ChainPos::Seq(seq))
            .await
            .unwrap()
            .unwrap();
        assert!(l.is_self_consistent());
        assert_eq!(l.prev_hash, prev, "link {seq}");
        prev = l.hash;
    }
}

async fn a_recorded_execution_reads_back_whole(b: Backend) {
    let r = record(
        "write \"hello\", then test\nline two",
        Status::Succeeded,
        1,
        1500,
        Some(0.25),
        Some(("code", "low")),
    );
    b.store.record(&r).await.unwrap();
    let back = b.store.get(r.execution_id).await.unwrap().unwrap();
    assert_eq!(back, r);
    assert_eq!(back.task_hash.len(), 64);
    assert!(b.store.get(Uuid::new_v4()).await.unwrap().is_none());
}

async fn recording_again_replaces_instead_of_duplicating(b: Backend) {
    let mut r = record("task", Status::Succeeded, 1, 100, Some(1.0), None);
    b.store.record(&r).await.unwrap();
    r.result.warnings.push("amended".into());
    b.store.record(&r).await.unwrap();
    let list = b.store.list(&all()).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].result.warnings, vec!["amended".to_string()]);
    assert_eq!(b.store.stats(&all()).await.unwrap().overall.count, 1);
}

async fn lists_are_newest_first_filtered_and_paged(b: Backend) {
    for (i, status) in [
        Status::Succeeded,
        Status::TimedOut,
        Status::Succeeded,
        Status::Crashed,
        Status::Succeeded,
    ]
    .into_iter()
    .enumerate()
    {
        let task = if i == 2 {
            "Refactor the PARSER module"
        } else {
            "other work"
        };
        b.store
            .record(&record(task, status, i as i64, 100, None, None))
            .await
            .unwrap();
    }
    let minutes = |v: &[ExecutionRecord]| -> Vec<i64> {
        v.iter()
            .map(|r| (r.finished_at() - at(0)).num_minutes())
            .collect()
    };
    assert_eq!(
        minutes(&b.store.list(&all()).await.unwrap()),
        [4, 3, 2, 1, 0]
    );
    let f = HistoryFilter {
        status: Some(Status::Succeeded),
        ..all()
    };
    assert_eq!(minutes(&b.store.list(&f).await.unwrap()), [4, 2, 0]);
    let f = HistoryFilter {
        since: Some(at(1)),
        until: Some(at(3)),
        ..all()
    };
    assert_eq!(minutes(&b.store.list(&f).await.unwrap()), [3, 2, 1]);
    let f = HistoryFilter {
        search: Some("parser".into()),
        ..all()
    };
    assert_eq!(minutes(&b.store.list(&f).await.unwrap()), [2]);
    let f = HistoryFilter {
        search: Some("50%_off".into()),
        ..all()
    };
    assert!(
        b.store.list(&f).await.unwrap().is_empty(),
        "LIKE wildcards are literal"
    );
    let f = HistoryFilter {
        limit: 2,
        offset: 1,
        ..all()
    };
    assert_eq!(minutes(&b.store.list(&f).await.unwrap()), [3, 2]);
}

async fn statistics_cover_every_match_overall_and_per_category(b: Backend) {
    let rows = [
        (Status::Succeeded, 1000, Some(0.10), Some(("code", "low"))),
        (Status::Succeeded, 2000, Some(0.30), Some(("code", "low"))),
        (Status::TimedOut, 9000, None, Some(("code", "low"))),
        (
            Status::Succeeded,
            500,
            Some(0.05),
            Some(("docs", "trivial")),
        ),
        (Status::ApiError, 100, None, None),
    ];
    for (i, (s, d, c, class)) in rows.into_iter().enumerate() {
        b.store
            .record(&record("t", s, i as i64, d, c, class))
            .await
            .unwrap();
    }
    let stats = b
        .store
        .stats(&HistoryFilter { limit: 1, ..all() })
        .await
        .unwrap();
    let o = &stats.overall;
    assert_eq!((o.count, o.succeeded), (5, 3));
    assert!((o.success_rate - 0.6).abs() < 1e-9);
    assert_eq!(
        (o.duration_p50_ms, o.duration_p90_ms, o.duration_max_ms),
        (1000, 9000, 9000)
    );
    assert!((o.total_cost_usd - 0.45).abs() < 1e-9);
    assert!((o.mean_cost_usd - 0.15).abs() < 1e-9);
    let code = &stats.by_category["code/low"];
    assert_eq!((code.count, code.duration_p50_ms), (3, 2000));
    assert_eq!(stats.by_category["-/-"].count, 1);
    let only_ok = b
        .store
        .stats(&HistoryFilter {
            status: Some(Status::Succeeded),
            ..all()
        })
        .await
        .unwrap();
    assert_eq!(only_ok.overall.count, 3);
}

async fn recent_durations_are_per_class_newest_first(b: Backend) {
    for (i, d) in [100, 200, 300, 400].into_iter().enumerate() {
        b.store
            .record(&record(
                "t",
                Status::Succeeded,
                i as i64,
                d,
                None,
                Some(("test", "medium")),
            ))
            .await
            .unwrap();
    }
    b.store
        .record(&record(
            "t",
            Status::Succeeded,
            9,
            999,
            None,
            Some(("docs", "medium")),
        ))
        .await
        .unwrap();
    assert_eq!(
        b.store.recent_durations("test", "medium", 3).await.unwrap(),
        [400, 300, 200]
    );
    assert!(
        b.store
            .recent_durations("nope", "x", 3)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn health_names_the_backend(b: Backend) {
    let h = b.store.health().await;
    assert!(h.backend == "sqlite" || h.backend == "redis");
    assert_eq!(h.state, "ok");
    assert_eq!(h.outbox_pending, 0);
}
