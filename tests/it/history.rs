//! The execution history as people and restarted servers see it: every execution recorded,
//! results that survive a restart, several processes sharing one file, exports that round-trip,
//! and bad input (corrupt files, invalid dates) refused clearly without losing anything.

use std::process::{Command, Output, Stdio};

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin};
use cc_executor::config::{FileConfig, Overrides};
use cc_executor::exec::progress::NoProgress;
use cc_executor::exec::registry::Phase;
use cc_executor::store::sqlite::SqliteStore;
use cc_executor::store::{ExecutionRecord, HistoryFilter, RecordStore};
use cc_executor::{Config, Executor, Status, TaskRequest};
use serde_json::Value;

fn config(root: &std::path::Path) -> Config {
    let o = Overrides {
        claude_bin: Some(fake_claude_bin()),
        data_dir: Some(root.join("data")),
        allowed_roots: Some(vec![root.to_path_buf()]),
        max_retries: Some(0),
        ..Default::default()
    };
    let mut c = Config::resolve(FileConfig::default(), None, &o).unwrap();
    c.policy.default_cwd = root.to_path_buf();
    c
}

fn cli(root: &std::path::Path, args: &[&str]) -> Output {
    Command::new(cc_executor_bin())
        .current_dir(root)
        .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
        .env("CC_EXECUTOR_DATA_DIR", root.join("data"))
        .env("CC_EXECUTOR_ALLOWED_ROOTS", root)
        .env_remove("REDIS_URL")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn every_execution_is_recorded_failures_included_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let first = Executor::new(config(&root)).unwrap();
    let mut ids = Vec::new();
    for task in [
        "@fake success\nok one",
        "@fake crash\nboom",
        "@fake max_turns\nloop",
    ] {
        let spec = first.prepare(TaskRequest::new(task)).await.unwrap();
        ids.push(first.execute(spec, NoProgress).await.execution_id);
    }
    let mut req = TaskRequest::new("@fake hang\nforever");
    req.timeout_secs = Some(1);
    let spec = first.prepare(req).await.unwrap();
    ids.push(first.execute(spec, NoProgress).await.execution_id);
    let queued_then_cancelled = {
        let a = first
            .submit(
                first
                    .prepare(TaskRequest::new("@fake slow secs=1\nslow"))
                    .await
                    .unwrap(),
                NoProgress,
            )
            .await
            .unwrap();
        let b = first
            .submit(
                first
                    .prepare(TaskRequest::new("@fake success\nnever"))
                    .await
                    .unwrap(),
                NoProgress,
            )
            .await
            .unwrap();
        first.cancel(b.execution_id).await.unwrap();
        first.wait(a.execution_id).await.unwrap();
        ids.push(a.execution_id);
        b.execution_id
    };
    ids.push(queued_then_cancelled);
    drop(first);

    // A new executor on the same data dir: a restarted server.
    let second = Executor::new(config(&root)).unwrap();
    let all = second
        .store()
        .list(&HistoryFilter {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    let statuses: Vec<Status> = all.iter().rev().map(|r| r.status()).collect();
    assert_eq!(
        statuses,
        [
            Status::Succeeded,
            Status::Crashed,
            Status::MaxTurns,
            Status::TimedOut,
            Status::Cancelled,
            Status::Succeeded
        ],
        "every execution, in finishing order"
    );
    for id in &ids {
        let st = second.lookup(*id).await.expect("known after restart");
        assert_eq!(st.phase, Phase::Finished);
        assert_eq!(st.result.unwrap().execution_id, *id);
        assert_eq!(second.wait(*id).await.unwrap().execution_id, *id);
    }
}

#[test]
fn two_processes_writing_the_same_file_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let runs_per_process = 15;
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let root = root.clone();
            std::thread::spawn(move || {
                for i in 0..runs_per_process {
                    let out = cli(
                        &root,
                        &["run", &format!("@fake success\nworker {w} run {i}")],
                    );
                    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let out = cli(&root, &["history", "list", "--limit", "500", "--json"]);
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 2 * runs_per_process);
    for w in 0..2 {
        for i in 0..runs_per_process {
            let needle = format!("worker {w} run {i}");
            assert!(
                rows.iter()
                    .any(|r| r["task"].as_str().unwrap().contains(&needle)),
                "{needle} lost"
            );
        }
    }
}

#[test]
fn history_commands_list_show_stats_and_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let tricky =
        "@fake success\nFix, the \"parser\"; then\nwrite a line with , and \" and\r\na trailing \\";
    assert_eq!(cli(&root, &["run", tricky]).status.code(), Some(0));
    assert_eq!(
        cli(&root, &["run", "@fake max_turns\nloop forever please"])
            .status
            .code(),
        Some(1)
    );

    let out = cli(&root, &["history", "list"]);
    assert!(text(&out.stdout).contains("max_turns") && text(&out.stdout).contains("succeeded"));
    let out = cli(
        &root,
        &["history", "list", "--status", "max_turns", "--json"],
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 1);
    let id = rows[0]["execution_id"].as_str().unwrap().to_string();

    let out = cli(&root, &["history", "show", &id, "--json"]);
    let rec: ExecutionRecord = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rec.status(), Status::MaxTurns);
    assert!(text(&cli(&root, &["history", "show", &id]).stdout).contains("max_turns"));

    let out = cli(&root, &["history", "stats", "--json"]);
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["overall"]["count"], 2);
    assert_eq!(stats["overall"]["succeeded"], 1);

    // CSV: commas, quotes, CR/LF in the task parse back to the same values.
    let csv_path = root.join("export.csv");
    let out = cli(
        &root,
        &[
            "history",
            "export",
            "--format",
            "csv",
            "--output",
            csv_path.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let task_col = headers.iter().position(|h| h == "task").unwrap();
    let tasks: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[task_col].to_string())
        .collect();
    assert_eq!(tasks[0], tricky, "oldest first, byte for byte");

    // JSON is an array of full records; JSONL one per line.
    let out = cli(&root, &["history", "export", "--format", "json"]);
    let recs: Vec<ExecutionRecord> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].task, tricky);
    let out = cli(
        &root,
        &[
            "history",
            "export",
            "--format",
            "jsonl",
            "--status",
            "succeeded",
        ],
    );
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 1);
    serde_json::from_str::<ExecutionRecord>(lines[0]).unwrap();
}

#[test]
fn invalid_filters_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    for (args, needle) in [
        (
            vec!["history", "list", "--since", "yesterday"],
            "`since` is not a time",
        ),
        (
            vec!["history", "list", "--until", "2026-13-45"],
            "`until` is not a time",
        ),
        (
            vec!["history", "stats", "--status", "done"],
            "unknown status",
        ),
        (vec!["history", "list", "--limit", "0"], "limit"),
        (vec!["history", "show", "not-a-uuid"], "not an execution id"),
    ] {
        let out = cli(&root, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_corrupt_database_is_named_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let garbage = b"this is not a SQLite database, it is a note someone left here\n".repeat(100);
    std::fs::write(&path, &garbage).unwrap();
    let err = SqliteStore::open(&path).err().expect("refused");
    let msg = err.to_string();
    assert!(msg.contains(path.to_str().unwrap()), "{msg}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "untouched");

    // A directory where the file should be.
    let as_dir = dir.path().join("dir.sqlite3");
    std::fs::create_dir(&as_dir).unwrap();
    let msg = SqliteStore::open(&as_dir).err().unwrap().to_string();
    assert!(msg.contains("not a regular file"), "{msg}");

    // Through the CLI: a clear error, exit 2, the file still intact.
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("history.sqlite3"), &garbage).unwrap();
    let out = cli(dir.path(), &["history", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("history.sqlite3"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read(data.join("history.sqlite3")).unwrap(),
        garbage
    );
}

#[test]
fn a_malformed_redis_url_is_a_clear_error_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let out = cli(dir.path(), &["--redis-url", "not a url", "history", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("Redis URL"),
        "{}",
        text(&out.stderr)
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(10), "no hang");
}

#[tokio::test]
async fn the_embedded_store_file_is_owner_only_and_schema_versioned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite3");
    let store = SqliteStore::open(&path).unwrap();
    store
        .record(&ExecutionRecord::new(
            "t",
            "/",
            None,
            None,
            chrono::Utc::now(),
            cc_executor::ExecutionResult::empty(uuid::Uuid::new_v4(), Status::Succeeded, vec![]),
        ))
        .await
        .unwrap();
    drop(store);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Reopening an up-to-date file keeps its data; a file from a newer version is refused.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store
            .list(&HistoryFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    let msg = SqliteStore::open(&path).err().unwrap().to_string();
    assert!(msg.contains("newer"), "{msg}");
}

#[test]
fn the_mcp_server_stops_with_a_clear_error_when_its_store_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let garbage = b"not a database at all\n".repeat(200);
    std::fs::write(data.join("history.sqlite3"), &garbage).unwrap();
    let mut child = Command::new(cc_executor_bin())
        .current_dir(dir.path())
        .args(["--data-dir", data.to_str().unwrap(), "mcp"])
        .env_remove("REDIS_URL")
        .stdin(Stdio::piped()) // kept open: only the store failure can stop it
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A client connects (the store is opened once the handshake is answered).
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}
"#,
        )
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server kept running"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(!status.success());
    assert!(
        text(&out.stderr).contains("history.sqlite3"),
        "{}",
        text(&out.stderr)
    );
    for line in text(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).expect("nothing but protocol on stdout");
        assert_eq!(v["jsonrpc"], "2.0");
    }
    assert_eq!(
        std::fs::read(data.join("history.sqlite3")).unwrap(),
        garbage
    );
}

#[tokio::test]
async fn statistics_are_never_stale_after_a_write_here_or_in_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite3");
    let here = SqliteStore::open(&path).unwrap();
    let elsewhere = SqliteStore::open(&path).unwrap(); // its own connection, like another server
    let rec = |status| {
        ExecutionRecord::new(
            "t",
            "/",
            None,
            None,
            chrono::Utc::now(),
            cc_executor::ExecutionResult::empty(uuid::Uuid::new_v4(), status, vec![]),
        )
    };
    let all = HistoryFilter {
        limit: 10,
        ..Default::default()
    };
    here.record(&rec(Status::Succeeded)).await.unwrap();
    assert_eq!(here.stats(&all).await.unwrap().overall.count, 1);
    assert_eq!(
        here.stats(&all).await.unwrap().overall.count,
        1,
        "cached, same answer"
    );
    here.record(&rec(Status::TimedOut)).await.unwrap();
    assert_eq!(
        here.stats(&all).await.unwrap().overall.count,
        2,
        "our own write"
    );
    elsewhere.record(&rec(Status::Crashed)).await.unwrap();
    let s = here.stats(&all).await.unwrap();
    assert_eq!(
        (s.overall.count, s.overall.succeeded),
        (3, 1),
        "another connection's write"
    );
    let only_ok = HistoryFilter {
        status: Some(Status::Succeeded),
        ..all.clone()
    };
    assert_eq!(
        here.stats(&only_ok).await.unwrap().overall.count,
        1,
        "per filter"
    );

    // Statistics kept up to date write by write equal statistics computed from scratch.
    let _ = here.stats(&all).await.unwrap();
    for i in 0..40u64 {
        let mut r = rec(if i % 3 == 0 {
            Status::TimedOut
        } else {
            Status::Succeeded
        });
        r.result.duration_ms = (i * 7919) % 5000;
        r.result.total_cost_usd = (i % 4 != 0).then_some(i as f64 / 100.0);
        r.category = Some(["code", "docs", "test"][(i % 3) as usize].into());
        r.complexity = Some(["low", "high"][(i % 2) as usize].into());
        here.record(&r).await.unwrap();
    }
    let incremental = here.stats(&all).await.unwrap();
    let fresh = SqliteStore::open(&path).unwrap().stats(&all).await.unwrap();
    assert_eq!(incremental, fresh);
}
