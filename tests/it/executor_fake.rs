//! The executor against the fake `claude` fixture: every fault the real CLI (or its tools) can
//! throw at us, and what the executor must make of it. Each test also checks that no process
//! of the task's tree survives, by process group and pid — never by name.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::fixtures::{group_processes, pid_exists, wait_group_gone};
use cc_executor::exec::progress::{NoProgress, ProgressEvent};
use cc_executor::{Status, TaskRequest};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

type Harness = crate::support::fake_executor::FakeExecutor;

/// What these tests check beyond the shared harness.
trait Checks {
    fn invocations(&self) -> Vec<Value>;
    fn last_pgid(&self) -> i32;
    fn grandchildren(&self) -> Vec<i32>;
    fn assert_tree_gone(&self);
}

impl Checks for Harness {
    /// Invocations of the fake (successful argument parsing only).
    fn invocations(&self) -> Vec<Value> {
        let path = self.root().join("record/invocations.jsonl");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v.get("error").is_none())
            .collect()
    }

    fn last_pgid(&self) -> i32 {
        self.invocations().last().expect("the fake was invoked")["pgid"]
            .as_i64()
            .unwrap() as i32
    }

    fn grandchildren(&self) -> Vec<i32> {
        let pid = self.invocations().last().unwrap()["pid"].as_i64().unwrap();
        std::fs::read_to_string(self.root().join(format!("record/{pid}.pids")))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// The whole tree of the last invocation is gone: no live process, no zombie.
    fn assert_tree_gone(&self) {
        let pgid = self.last_pgid();
        let left = wait_group_gone(pgid, 5);
        assert!(
            left.is_empty(),
            "processes of group {pgid} survived: {left:?}"
        );
        for pid in self.grandchildren() {
            assert!(!pid_exists(pid), "grandchild {pid} survived");
        }
    }
}

#[tokio::test]
async fn a_successful_run_reports_everything_the_cli_said() {
    let h = Harness::new();
    let r = h.run("@fake success text=all-good\nsay all-good").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.result.as_deref(), Some("all-good"));
    assert!(r.session_id.is_some());
    assert_eq!(r.claude_version.as_deref(), Some("2.1.331"));
    assert!(r.model.is_some());
    assert!(r.total_cost_usd.unwrap() > 0.0);
    assert!(r.num_turns.is_some() && r.usage.is_some() && r.duration_api_ms.is_some());
    assert_eq!(r.attempts.len(), 1);
    assert_eq!(r.exit_code, Some(0));
    // The full raw stream is on disk, owner-only.
    let raw = PathBuf::from(r.raw_output_path.as_ref().unwrap());
    let text = std::fs::read_to_string(&raw).unwrap();
    assert!(text.contains("\"type\":\"system\"") && text.contains("all-good"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&raw).unwrap().permissions().mode() & 0o777,
        0o600
    );
    h.assert_tree_gone();
}

#[tokio::test]
async fn the_prompt_reaches_claude_byte_for_byte_on_stdin_never_in_argv() {
    // The UUID hook appends to the prompt (tests/it/evidence.rs); off, the bytes are exactly ours.
    let h = Harness::with(|c| c.hooks.uuid_hook = false);
    let tricky = "@fake echo\n$(touch /tmp/pwned) `id` ; rm -rf / | cat && echo \"double\" 'single' \\n \u{1F600} -- --help\ntrailing backslash \\";
    let r = h.run(tricky).await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.result.as_deref(), Some(tricky));
    let inv = h.invocations();
    assert_eq!(inv[0]["stdin"], tricky);
    let argv: Vec<String> = serde_json::from_value(inv[0]["argv"].clone()).unwrap();
    assert!(argv.iter().all(|a| !a.contains("pwned")), "{argv:?}");
    assert!(!PathBuf::from("/tmp/pwned").exists());
}

#[tokio::test]
async fn a_300_kib_prompt_runs_although_one_argv_entry_is_capped_at_128_kib() {
    let h = Harness::with(|c| c.hooks.uuid_hook = false);
    let mut prompt = String::from("@fake echo\n");
    while prompt.len() < 300 * 1024 {
        prompt.push_str("lorem ipsum dolor sit amet ");
    }
    let r = h.run(&prompt).await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.warnings);
    assert_eq!(r.result.as_deref().map(str::len), Some(prompt.len()));
    assert_eq!(h.invocations()[0]["stdin_len"], prompt.len());
}

#[tokio::test]
async fn a_hanging_claude_is_killed_at_the_deadline_with_its_whole_tree() {
    let h = Harness::new();
    let mut req = TaskRequest::new("@fake grandchild mode=hang\nrun forever");
    req.timeout_secs = Some(1);
    let t = Instant::now();
    let r = h.run_request(req).await;
    assert_eq!(r.status, Status::TimedOut, "{r:#?}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert!(
        r.warnings.iter().any(|w| w.contains("1s timeout")),
        "{:?}",
        r.warnings
    );
    assert!(r.session_id.is_some(), "partial output is kept");
    h.assert_tree_gone();
}

#[tokio::test]
async fn a_claude_that_ignores_sigterm_is_sigkilled_after_the_grace_period() {
    let h = Harness::with(|c| c.kill_grace = Duration::from_millis(300));
    let mut req = TaskRequest::new("@fake ignore_sigterm\nrun forever");
    req.timeout_secs = Some(1);
    let r = h.run_request(req).await;
    assert_eq!(r.status, Status::TimedOut);
    assert_eq!(r.signal, Some(9), "{r:#?}");
    assert!(
        r.warnings.iter().any(|w| w.contains("SIGKILL")),
        "{:?}",
        r.warnings
    );
    h.assert_tree_gone();
}

#[tokio::test]
async fn a_grandchild_left_running_is_cleaned_up_after_success() {
    let h = Harness::new();
    let r = h.run("@fake grandchild mode=linger\nspawn a helper").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert!(
        !h.grandchildren().is_empty(),
        "the fixture spawned a grandchild"
    );
    h.assert_tree_gone();
}

#[tokio::test]
async fn a_grandchild_holding_stdout_open_does_not_hold_the_task() {
    let h = Harness::new();
    let t = Instant::now();
    let r = h
        .run("@fake grandchild mode=hold_stdout\nspawn a helper")
        .await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    // Bounded drain (1.5 s) + grace (0.5 s) + generous slack; the grandchild sleeps 600 s.
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("kept its output open")),
        "{:?}",
        r.warnings
    );
    h.assert_tree_gone();
}

#[tokio::test]
async fn exit_without_a_result_line_is_a_crash_even_with_exit_code_zero() {
    let h = Harness::new();
    let r = h.run("@fake sigint_exit0\ninterrupted").await;
    assert_eq!(r.status, Status::Crashed, "{r:#?}");
    assert_eq!(r.exit_code, Some(0));
    assert!(
        r.warnings.iter().any(|w| w.contains("not success")),
        "{:?}",
        r.warnings
    );

    let r = h.run("@fake crash\nfall over").await;
    assert_eq!(r.status, Status::Crashed);
    assert_eq!(r.exit_code, Some(1));
    assert!(!r.stderr_tail.is_empty());
    h.assert_tree_gone();
}

#[tokio::test]
async fn noise_and_unknown_events_are_tolerated_and_reported() {
    let h = Harness::new();
    let r = h.run("@fake noise\nbe noisy").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert!(
        r.warnings.iter().any(|w| w.contains("not stream-json")),
        "{:?}",
        r.warnings
    );

    let r = h.run("@fake unknown_events\nfrom the future").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert!(
        r.warnings.iter().all(|w| !w.contains("unreadable")),
        "{:?}",
        r.warnings
    );
}

#[tokio::test]
async fn a_single_20_mb_record_is_read_whole() {
    let h = Harness::new();
    let r = h.run("@fake big_record mb=20\nbig answer").await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.warnings);
    assert_eq!(r.result.as_deref().map(str::len), Some(20 * 1024 * 1024));
}

#[tokio::test]
async fn a_record_over_the_cap_is_reported_not_a_crash_of_ours() {
    let h = Harness::with(|c| c.max_record_bytes = 1024 * 1024);
    let r = h.run("@fake big_record mb=2\nbig answer").await;
    // Both the assistant line and the result line were over the cap: the run has no
    // readable result — its own status, not a crash — and the warning says why.
    assert_eq!(r.status, Status::OutputTooLarge, "{r:#?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("exceeded the record cap")),
        "{:?}",
        r.warnings
    );
    let raw = std::fs::metadata(r.raw_output_path.unwrap()).unwrap();
    assert!(
        raw.len() > 4 * 1024 * 1024,
        "nothing is lost: the raw file has it all"
    );
}

#[tokio::test]
async fn a_megabyte_of_stderr_does_not_deadlock_and_only_a_tail_is_kept() {
    let h = Harness::new();
    let r = h.run("@fake stderr_flood kb=2048\nchatty").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    let cap = h.executor.config().tail_bytes;
    assert!(!r.stderr_tail.is_empty() && r.stderr_tail.len() <= cap);
}

#[tokio::test]
async fn each_error_outcome_of_the_cli_has_its_own_status() {
    let h = Harness::new();
    let cases = [
        ("max_turns", Status::MaxTurns),
        ("api_error status=400", Status::ApiError),
        ("rate_limited", Status::RateLimited),
        ("overloaded", Status::Overloaded),
        ("auth_failed", Status::AuthFailed),
        ("not_logged_in", Status::AuthFailed),
        ("usage_limit", Status::RateLimited),
        ("rate_limit_event", Status::RateLimited),
        ("budget", Status::BudgetExceeded),
        ("permission_denied", Status::Unverified),
    ];
    for (scenario, want) in cases {
        let r = h.run(&format!("@fake {scenario}\nthe task")).await;
        assert_eq!(r.status, want, "{scenario}: {r:#?}");
        if want != Status::Unverified {
            assert!(!r.warnings.is_empty(), "{scenario}: a reason is given");
        }
    }
}

#[tokio::test]
async fn usage_limits_say_when_they_reset() {
    let h = Harness::new();
    let r = h.run("@fake usage_limit resets=1900000000\nthe task").await;
    assert_eq!(r.status, Status::RateLimited);
    assert_eq!(r.resets_at.unwrap().timestamp(), 1_900_000_000);
    let r = h
        .run("@fake rate_limit_event resets=1900000500\nthe task")
        .await;
    assert_eq!(r.resets_at.unwrap().timestamp(), 1_900_000_500);
}

#[tokio::test]
async fn denied_writes_make_a_claimed_success_unverified() {
    let h = Harness::new();
    let r = h.run("@fake permission_denied\nwrite the file").await;
    assert_eq!(r.status, Status::Unverified);
    assert_eq!(r.permission_denials.len(), 1);
    assert_eq!(r.permission_denials[0].tool_name, "Write");
    assert!(r.files_written.is_empty());
    assert_eq!(r.result.as_deref(), Some("Done!"));
}

#[tokio::test]
async fn tools_and_files_written_come_from_successful_tool_uses_only() {
    let h = Harness::new();
    let root = h.root();
    let r = h
        .run(&format!(
            "@fake tools write={0}/a.txt edit={0}/b.txt failed={0}/c.txt\nedit things",
            root.display()
        ))
        .await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(
        r.files_written,
        vec![
            format!("{}/a.txt", root.display()),
            format!("{}/b.txt", root.display())
        ]
    );
    assert_eq!(r.tools_used.get("Write"), Some(&2));
    assert_eq!(r.tools_used.get("Edit"), Some(&1));
    assert_eq!(r.tools_used.get("Bash"), Some(&1));
}

#[tokio::test]
async fn an_empty_result_falls_back_to_the_last_assistant_text() {
    let h = Harness::new();
    let r = h.run("@fake empty_result\nanswer me").await;
    assert_eq!(r.status, Status::Succeeded);
    assert_eq!(r.result.as_deref(), Some("the real answer"));
}

#[tokio::test]
async fn structured_output_and_flags_reach_the_cli() {
    let h = Harness::new();
    let mut req = TaskRequest::new("@fake structured\nanswer in JSON");
    req.json_schema = Some(serde_json::json!({"type": "object"}));
    req.max_turns = Some(7);
    req.append_system_prompt = Some("--terse".into());
    req.allowed_tools = Some(vec!["Read".into(), "Bash(git log:*)".into()]);
    req.permission_mode = Some("plan".into());
    let r = h.run_request(req).await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(
        r.structured_output,
        Some(serde_json::json!({"answer": "42"}))
    );
    let flags = &h.invocations()[0]["flags"];
    assert_eq!(flags["max_turns"], "7");
    assert_eq!(flags["append_system_prompt"], "--terse");
    assert_eq!(flags["permission_mode"], "plan");
    assert_eq!(
        flags["allowed_tools"],
        serde_json::json!(["Read", "Bash(git log:*)"])
    );
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff_and_every_attempt_is_recorded() {
    let h = Harness::with(|c| {
        c.retry.max_retries = 2;
        c.retry.base_delay_ms = 50;
    });
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake flaky fail=2 status=529\ntry hard"))
        .await
        .unwrap();
    let r = h
        .executor
        .execute(spec, move |e: ProgressEvent| seen.lock().unwrap().push(e))
        .await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    let statuses: Vec<Status> = r.attempts.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [Status::Overloaded, Status::Overloaded, Status::Succeeded]
    );
    assert_eq!(h.invocations().len(), 3);
    let retries = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, ProgressEvent::Retrying { .. }))
        .count();
    assert_eq!(retries, 2);

    // Bounded: with one retry allowed, two failures end the execution.
    let h = Harness::with(|c| {
        c.retry.max_retries = 1;
        c.retry.base_delay_ms = 10;
    });
    let r = h.run("@fake flaky fail=5 status=429\ntry hard").await;
    assert_eq!(r.status, Status::RateLimited);
    assert_eq!(r.attempts.len(), 2);
}

#[tokio::test]
async fn a_missing_or_unstartable_claude_is_reported_as_such() {
    let h = Harness::with(|c| c.claude_bin = "/nonexistent/claude".into());
    let r = h.run("do something useful please").await;
    assert_eq!(r.status, Status::CliNotFound);
    assert!(
        r.warnings.iter().any(|w| w.contains("npm install")),
        "{:?}",
        r.warnings
    );

    let dir = tempfile::tempdir().unwrap();
    let not_exec = dir.path().join("claude");
    std::fs::write(&not_exec, "not a program").unwrap();
    let h = Harness::with(|c| c.claude_bin = not_exec.clone());
    let r = h.run("do something useful please").await;
    assert_eq!(r.status, Status::SpawnFailed, "{r:#?}");
}

#[tokio::test]
async fn cancelling_a_running_task_kills_its_tree() {
    let h = Harness::new();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake grandchild mode=hang\nrun forever"))
        .await
        .unwrap();
    let cancel = CancellationToken::new();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let started_tx = Mutex::new(Some(started_tx));
    let sink = move |e: ProgressEvent| {
        if matches!(e, ProgressEvent::Started { .. })
            && let Some(tx) = started_tx.lock().unwrap().take()
        {
            let _ = tx.send(());
        }
    };
    let exec = h.executor.clone();
    let c = cancel.clone();
    let task = tokio::spawn(async move { exec.execute_with_cancel(spec, sink, c).await });
    started_rx.await.unwrap();
    // Wait until the grandchild exists, so the tree really has two levels.
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.grandchildren().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!group_processes(h.last_pgid()).is_empty());
    cancel.cancel();
    let r = task.await.unwrap();
    assert_eq!(r.status, Status::Cancelled, "{r:#?}");
    h.assert_tree_gone();
}

#[tokio::test]
async fn a_cancelled_queued_task_never_starts_and_the_queue_is_fifo() {
    let h = Harness::new();
    let exec = &h.executor;
    let first = exec
        .prepare(TaskRequest::new("@fake slow secs=1\nfirst task"))
        .await
        .unwrap();
    let second = exec
        .prepare(TaskRequest::new("@fake success\nsecond task"))
        .await
        .unwrap();
    let third = exec
        .prepare(TaskRequest::new("@fake success\nthird task"))
        .await
        .unwrap();
    let cancel_second = CancellationToken::new();
    let (e1, e2, e3) = (exec.clone(), exec.clone(), exec.clone());
    let t1 = tokio::spawn(async move { e1.execute(first, NoProgress).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let c2 = cancel_second.clone();
    let t2 = tokio::spawn(async move { e2.execute_with_cancel(second, NoProgress, c2).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t3 = tokio::spawn(async move { e3.execute(third, NoProgress).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(exec.queue_counts(), (1, 2));
    cancel_second.cancel();
    let r2 = t2.await.unwrap();
    assert_eq!(r2.status, Status::Cancelled);
    let (r1, r3) = (t1.await.unwrap(), t3.await.unwrap());
    assert_eq!(
        (r1.status, r3.status),
        (Status::Succeeded, Status::Succeeded)
    );
    assert!(r3.started_at >= r1.finished_at, "one at a time");
    assert!(r3.queue_wait_ms > 0);
    let prompts: Vec<String> = h
        .invocations()
        .iter()
        .map(|v| {
            v["stdin"]
                .as_str()
                .unwrap()
                .lines()
                .nth(1)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        prompts,
        ["first task", "third task"],
        "the cancelled task never ran"
    );
}

#[tokio::test]
async fn shutdown_stops_running_tasks_and_waits_for_their_trees() {
    let h = Harness::new();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake hang\nrun forever"))
        .await
        .unwrap();
    let exec = h.executor.clone();
    let task = tokio::spawn(async move { exec.execute(spec, NoProgress).await });
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.invocations().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.executor.shutdown().await;
    let r = task.await.unwrap();
    assert_eq!(r.status, Status::Cancelled);
    h.assert_tree_gone();
}

#[tokio::test]
async fn progress_events_arrive_in_order_with_a_heartbeat_while_claude_is_silent() {
    // A real child process: tokio's paused time cannot stand in for the silence, so the
    // heartbeat is short instead (a silence of 1 s holds four periods of 200 ms).
    let h = Harness::with(|c| c.heartbeat_interval = Duration::from_millis(200));
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake slow secs=1\nthink for a while"))
        .await
        .unwrap();
    let r = h
        .executor
        .execute(spec, move |e: ProgressEvent| seen.lock().unwrap().push(e))
        .await;
    assert_eq!(r.status, Status::Succeeded);
    let events = events.lock().unwrap();
    assert!(
        matches!(events[0], ProgressEvent::Queued { position: 0 }),
        "{events:?}"
    );
    assert!(
        matches!(events[1], ProgressEvent::Started { .. }),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ProgressEvent::Heartbeat { .. })),
        "{events:?}"
    );
    assert!(matches!(
        events.last(),
        Some(ProgressEvent::Finished {
            status: Status::Succeeded
        })
    ));
}

mod monitoring {
    use super::*;
    use cc_executor::exec::registry::Phase;

    #[tokio::test]
    async fn submit_returns_at_once_and_the_result_equals_a_blocking_run() {
        let h = Harness::new();
        let spec = h
            .executor
            .prepare(TaskRequest::new("@fake slow secs=1.5\nsay all-good"))
            .await
            .unwrap();
        let t = Instant::now();
        let s = h.executor.submit(spec.clone(), NoProgress).await.unwrap();
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(s.queue_position, 0);
        assert_eq!(s.timeout_secs, spec.timeout.as_secs());
        let st = h.executor.status(s.execution_id).unwrap();
        assert!(
            matches!(st.phase, Phase::Queued | Phase::Starting | Phase::Running),
            "{st:?}"
        );
        assert!(st.result.is_none());

        let waited = h.executor.wait(s.execution_id).await.unwrap();
        let blocking = h.executor.execute(spec, NoProgress).await;
        assert_eq!(waited.status, blocking.status);
        assert_eq!(waited.result, blocking.result);
        assert_eq!(waited.tools_used, blocking.tools_used);
        let done = h.executor.status(s.execution_id).unwrap();
        assert_eq!(done.phase, Phase::Finished);
        assert_eq!(done.result.unwrap().execution_id, s.execution_id);
    }

    #[tokio::test]
    async fn watch_returns_early_on_a_change_and_on_finish() {
        let h = Harness::new();
        let spec = h
            .executor
            .prepare(TaskRequest::new("@fake slow secs=1\nthink"))
            .await
            .unwrap();
        let id = h
            .executor
            .submit(spec, NoProgress)
            .await
            .unwrap()
            .execution_id;
        let mut seen = h.executor.status(id).unwrap().version;
        let t = Instant::now();
        let mut phases = Vec::new();
        loop {
            let st = h
                .executor
                .watch(id, seen, Duration::from_secs(30))
                .await
                .unwrap();
            assert!(st.version > seen, "watch returned without a change");
            seen = st.version;
            phases.push(st.phase);
            if st.phase == Phase::Finished {
                assert!(st.result.is_some(), "finished comes with its result");
                break;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "returned on finish, not on the 30 s cap"
        );
        assert!(phases.contains(&Phase::Running), "{phases:?}");
        // A watch with nothing left to happen waits out its bound: on tokio's clock, paused
        // now that the task and its processes are gone, so the wait passes at once.
        tokio::time::pause();
        let t = tokio::time::Instant::now();
        let st = h
            .executor
            .watch(id, seen, Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(st.version, seen);
        assert!(t.elapsed() >= Duration::from_millis(250));
    }

    #[tokio::test]
    async fn cancel_reaches_queued_and_running_executions_and_is_harmless_when_finished() {
        let h = Harness::new();
        let running = h
            .executor
            .submit(
                h.executor
                    .prepare(TaskRequest::new("@fake hang\nforever"))
                    .await
                    .unwrap(),
                NoProgress,
            )
            .await
            .unwrap();
        let queued = h
            .executor
            .submit(
                h.executor
                    .prepare(TaskRequest::new("@fake success\nlater"))
                    .await
                    .unwrap(),
                NoProgress,
            )
            .await
            .unwrap();
        assert_eq!(queued.queue_position, 1);
        let st = h.executor.status(queued.execution_id).unwrap();
        assert_eq!((st.phase, st.queue_position), (Phase::Queued, Some(1)));

        let st = h.executor.cancel(queued.execution_id).await.unwrap();
        assert_eq!(
            (st.phase, st.status),
            (Phase::Finished, Some(Status::Cancelled))
        );

        while h.invocations().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let st = h.executor.cancel(running.execution_id).await.unwrap();
        assert_eq!(st.status, Some(Status::Cancelled));
        h.assert_tree_gone();
        assert_eq!(
            h.invocations().len(),
            1,
            "the queued execution never started"
        );

        let again = h.executor.cancel(running.execution_id).await.unwrap();
        assert_eq!(again.status, Some(Status::Cancelled));
        assert!(h.executor.cancel(uuid::Uuid::new_v4()).await.is_none());
        assert!(h.executor.wait(uuid::Uuid::new_v4()).await.is_none());
    }

    #[tokio::test]
    async fn status_tells_thinking_from_stalled_and_counts_tools() {
        let h = Harness::new();
        let root = h.root();
        let id = h
            .executor
            .submit(
                h.executor
                    .prepare(TaskRequest::new(format!(
                        "@fake tools write={0}/a edit={0}/b failed={0}/c pace_ms=200\nedit",
                        root.display()
                    )))
                    .await
                    .unwrap(),
                NoProgress,
            )
            .await
            .unwrap()
            .execution_id;
        let r = h.executor.wait(id).await.unwrap();
        assert_eq!(r.status, Status::Succeeded);
        let st = h.executor.status(id).unwrap();
        assert_eq!(st.tools_used.get("Write"), Some(&2));
        assert!(st.last_event.is_some() && st.last_event_ago_ms.is_some());
        assert_eq!(st.time_left_ms, None, "no deadline once finished");
        assert_eq!(h.executor.list().len(), 1);
    }
}

/// Big answers: memory bounded by the answer, and it comes back.
mod big_answers {
    use super::*;
    use cc_executor::store::{HISTORY_ANSWER_HEAD, HISTORY_ANSWER_MAX};

    #[tokio::test]
    async fn an_answer_too_big_for_the_history_stays_in_its_response_file_and_reads_back_whole() {
        let h = Harness::new();
        let bytes = 3 * 1024 * 1024;
        let r = h.run(&format!("@fake big_record bytes={bytes}\nbig")).await;
        assert_eq!(r.status, Status::Succeeded, "{:?}", r.warnings);
        let answer = r.result.clone().unwrap();
        assert!(answer.len() >= bytes && answer.len() > HISTORY_ANSWER_MAX);

        // The store keeps its beginning and a reference to the whole …
        let stored = h
            .executor
            .store()
            .get(r.execution_id)
            .await
            .unwrap()
            .unwrap();
        let kept = stored.result.result.as_deref().unwrap();
        assert!(kept.len() <= HISTORY_ANSWER_HEAD && answer.starts_with(kept));
        let reference = stored.answer_elsewhere.clone().unwrap();
        assert_eq!(reference.bytes, answer.len() as u64);

        // … and every reader gets the whole answer back.
        let full = h.executor.record(r.execution_id).await.unwrap().unwrap();
        assert_eq!(full.result.result.as_deref(), Some(answer.as_str()));
        assert!(full.answer_elsewhere.is_none());
        let waited = h.executor.wait(r.execution_id).await.unwrap();
        assert_eq!(waited.result.as_deref(), Some(answer.as_str()));

        // Not cached in memory (over the per-result budget), yet a lookup has it.
        let live = h.executor.status(r.execution_id).unwrap();
        assert!(live.result.is_none(), "a big result is not kept in memory");
        let looked = h.executor.lookup(r.execution_id).await.unwrap();
        assert_eq!(
            looked.result.unwrap().result.as_deref(),
            Some(answer.as_str())
        );

        // Verification accepts the record with its reference as matching the response file.
        let report = h
            .executor
            .verify(
                cc_executor::evidence::verify::Target::One(r.execution_id),
                false,
            )
            .await
            .unwrap();
        let text = serde_json::to_string(&report).unwrap();
        assert!(
            text.contains(r#""record_matches_response""#) && !text.contains("disagree"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_big_answer_only_on_the_assistant_line_is_read_back_from_the_raw_output() {
        // The CLI's known bug: an empty `result` while the model did answer. The answer is
        // over what the collector keeps in memory, so it comes back from the raw file.
        let h = Harness::new();
        let bytes = 2 * 1024 * 1024;
        let r = h
            .run(&format!("@fake empty_result bytes={bytes}\nbig"))
            .await;
        assert_eq!(r.status, Status::Succeeded, "{:?}", r.warnings);
        let answer = r.result.unwrap();
        assert_eq!(answer.len(), bytes);
        assert!(answer.starts_with("lorem ipsum"));
    }

    #[tokio::test]
    async fn small_results_stay_cached_big_ones_do_not() {
        let h = Harness::new();
        let small = h.run("@fake success text=tiny\nsmall").await;
        let big = h.run("@fake big_record bytes=1500000\nbig").await;
        assert!(
            h.executor
                .status(small.execution_id)
                .unwrap()
                .result
                .is_some()
        );
        assert!(
            h.executor
                .status(big.execution_id)
                .unwrap()
                .result
                .is_none()
        );
    }
}
