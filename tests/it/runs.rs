//! Task lists as durable runs, against the fake `claude` fixture, on both store backends
//! (embedded SQLite and a real `redis-server`): failure policies, references between tasks,
//! the budget cap, usage-limit waits, cancel and resume, and lists that must be refused before
//! anything runs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin, pid_exists};
use crate::support::redis_server::RedisServer;
use cc_executor::plan::validate::{ErrorKind, parse_tasks};
use cc_executor::runs::{
    FailurePolicy, ResumeOptions, Run, RunError, RunEvent, RunRequest, RunService, RunState,
    TaskState,
};
use cc_executor::store::HistoryStore;
use cc_executor::store::redis::RedisStore;
use cc_executor::store::sqlite::SqliteStore;
use cc_executor::{Config, Executor, Status};
use serde_json::{Value, json};

struct Harness {
    dir: tempfile::TempDir,
    runs: RunService,
    store: Arc<dyn HistoryStore>,
    _redis: Option<RedisServer>,
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Redis,
}

impl Harness {
    async fn new(backend: Backend) -> Self {
        Self::with(backend, |_| {}).await
    }

    async fn with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let mut config = crate::support::fixtures::fake_claude_config(&root);
        // Usage limits are the run's to wait out, not the executor's.
        config.retry.max_reset_wait_ms = 0;
        tweak(&mut config);
        std::fs::create_dir_all(root.join("data")).unwrap();
        let (store, redis): (Arc<dyn HistoryStore>, _) = match backend {
            Backend::Sqlite => (
                Arc::new(SqliteStore::open(&root.join("data/history.sqlite3")).unwrap()),
                None,
            ),
            Backend::Redis => {
                let server = RedisServer::start();
                let store = RedisStore::open(
                    &server.url(),
                    "cc_runs",
                    30,
                    root.join("data/outbox.sqlite3"),
                )
                .await
                .unwrap();
                (Arc::new(store), Some(server))
            }
        };
        let executor = Executor::with_store(config, store.clone()).unwrap();
        Harness {
            dir,
            runs: RunService::new(executor),
            store,
            _redis: redis,
        }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    async fn create(&self, tasks: Value, policy: FailurePolicy) -> Result<Run, RunError> {
        self.create_with(tasks, |r| r.failure_policy = policy).await
    }

    async fn create_with(
        &self,
        tasks: Value,
        tweak: impl FnOnce(&mut RunRequest),
    ) -> Result<Run, RunError> {
        let mut request = RunRequest {
            tasks: parse_tasks(&tasks).unwrap(),
            ..Default::default()
        };
        tweak(&mut request);
        self.runs.create(request).await
    }

    /// Starts a run and waits for it; the stored run must be what the driver ended with.
    async fn run(&self, run: Run) -> Run {
        let id = self.runs.start(run, |_| {});
        let done = tokio::time::timeout(Duration::from_secs(60), self.runs.wait(id))
            .await
            .expect("the run finishes")
            .unwrap();
        let stored = self.store.get_run(id).await.unwrap().unwrap();
        assert_eq!(stored, done, "the store has the final state");
        done
    }

    /// The prompts the fake received, in order.
    fn prompts(&self) -> Vec<String> {
        std::fs::read_to_string(self.root().join("record/invocations.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter_map(|v| v["stdin"].as_str().map(str::to_string))
            .collect()
    }
}

fn states(run: &Run) -> Vec<(&str, TaskState)> {
    run.tasks.iter().map(|t| (t.id.as_str(), t.state)).collect()
}

fn five_with_third_failing() -> Value {
    json!([
        {"id": "t1", "task": "@fake success text=one\nstep one"},
        {"id": "t2", "task": "@fake success text=two\nstep two"},
        {"id": "t3", "task": "@fake exit_code code=1\nstep three fails"},
        {"id": "t4", "task": "@fake success text=four\nstep four needs three", "depends_on": ["t3"]},
        {"id": "t5", "task": "@fake success text=five\nstep five stands alone"}
    ])
}

async fn stop_policy_stops_at_the_failed_task_and_skips_the_rest(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create(five_with_third_failing(), FailurePolicy::Stop)
        .await
        .unwrap();
    let run = h.run(run).await;
    assert_eq!(run.state, RunState::Failed, "{run:#?}");
    use TaskState::*;
    assert_eq!(
        states(&run),
        [
            ("t1", Succeeded),
            ("t2", Succeeded),
            ("t3", Failed),
            ("t4", Skipped),
            ("t5", Skipped)
        ]
    );
    assert!(
        run.reason.as_deref().unwrap().contains("`t3` failed"),
        "{:?}",
        run.reason
    );
    assert!(
        run.tasks[4]
            .error
            .as_deref()
            .unwrap()
            .contains("stopped after `t3`")
    );
    assert_eq!(h.prompts().len(), 3, "nothing after the failure ran");
    // Every execution is in the history, the failed one included.
    let failed = run.tasks[2].execution_id.unwrap();
    let rec = h.store.get(failed).await.unwrap().unwrap();
    assert_eq!(rec.result.status, Status::Crashed);
    assert!(run.cost_usd > 0.0);
    assert_eq!(run.done(), 5);
}

async fn continue_policy_skips_only_the_dependants_of_a_failed_task(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create(five_with_third_failing(), FailurePolicy::Continue)
        .await
        .unwrap();
    let run = h.run(run).await;
    use TaskState::*;
    assert_eq!(
        states(&run),
        [
            ("t1", Succeeded),
            ("t2", Succeeded),
            ("t3", Failed),
            ("t4", Skipped),
            ("t5", Succeeded)
        ]
    );
    assert_eq!(run.state, RunState::Failed);
    assert!(
        run.tasks[3]
            .error
            .as_deref()
            .unwrap()
            .contains("depends on `t3`")
    );
    assert_eq!(run.tasks[4].result_summary.as_deref(), Some("five"));
    assert_eq!(h.prompts().len(), 4, "the skipped task never ran");
}

async fn references_carry_earlier_results_and_files_into_later_tasks(b: Backend) {
    let h = Harness::new(b).await;
    let long = "x".repeat(500);
    let run = h
        .create(
            json!([
                {"id": "gen", "task": format!("@fake success text=\"the answer is 42 {long}\"\nthink")},
                {"id": "write", "task": "@fake tools write=notes.md\nwrite notes"},
                "@fake echo\nUse: {{tasks.gen.result}}\nFiles: {{tasks.write.files_written}}\nKeep {{other}} as is."
            ]),
            FailurePolicy::Stop,
        )
        .await
        .unwrap();
    assert_eq!(
        run.tasks[2].depends_on,
        ["gen", "write"],
        "references are dependencies"
    );
    let run = h.run(run).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let third = &h.prompts()[2];
    // The full answer (not the 200-character summary), the written path, other braces kept.
    assert!(
        third.contains(&format!("Use: the answer is 42 {long}\n")),
        "{third}"
    );
    assert!(
        third.contains("Files: ") && third.contains("notes.md"),
        "{third}"
    );
    assert!(third.contains("Keep {{other}} as is."), "{third}");
    assert!(!third.contains("{{tasks."), "{third}");
    // Verifying the run verifies every execution of its tasks.
    let report = h
        .runs
        .executor()
        .verify(
            cc_executor::evidence::verify::Target::One(run.run_id),
            false,
        )
        .await
        .unwrap();
    let ids: Vec<_> = report.executions.iter().map(|e| e.execution_id).collect();
    let expected: Vec<_> = run.tasks.iter().filter_map(|t| t.execution_id).collect();
    assert_eq!(ids, expected, "{report:#?}");
    assert!(report.notes[0].contains("3 task(s)"), "{:?}", report.notes);
    assert!(report.executions.iter().all(|e| e.response_file.is_some()));
}

async fn the_budget_cap_stops_the_run_before_it_is_exceeded(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create_with(
            json!([
                "@fake success cost=0.4\none",
                "@fake success cost=0.4\ntwo",
                "@fake success cost=0.4\nthree",
                "@fake success cost=0.4\nfour"
            ]),
            |r| r.budget_usd = Some(1.0),
        )
        .await
        .unwrap();
    let run = h.run(run).await;
    assert_eq!(run.state, RunState::BudgetExceeded, "{run:#?}");
    assert_eq!(run.count(TaskState::Succeeded), 2);
    assert_eq!(
        run.count(TaskState::Pending),
        2,
        "the rest can run after a resume"
    );
    assert!((run.cost_usd - 0.8).abs() < 1e-9, "{}", run.cost_usd);
    assert!(
        run.reason.as_deref().unwrap().contains("budget"),
        "{:?}",
        run.reason
    );
    assert_eq!(h.prompts().len(), 2);
    // Each task ran with what was left of the budget as its own ceiling.
    let invocations: Vec<Value> =
        std::fs::read_to_string(h.root().join("record/invocations.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let argv = invocations[1]["argv"].to_string();
    assert!(argv.contains("--max-budget-usd=0.6"), "{argv}");

    // Resuming without a higher budget is refused; with one, the rest runs (and only the rest).
    let e = h
        .runs
        .resume(run.run_id, ResumeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, RunError::BudgetSpent { .. }), "{e}");
    assert!(e.to_string().contains("higher budget"), "{e}");
    let resumed = h
        .runs
        .resume(
            run.run_id,
            ResumeOptions {
                budget_usd: Some(5.0),
                force: false,
            },
        )
        .await
        .unwrap();
    let done = h.run(resumed).await;
    assert_eq!(done.state, RunState::Succeeded, "{done:#?}");
    assert_eq!(h.prompts().len(), 4);
}

async fn a_run_budget_above_the_per_task_ceiling_runs_each_task_within_the_ceiling(b: Backend) {
    let h = Harness::with(b, |c| c.policy.max_budget_usd = Some(0.5)).await;
    let run = h
        .create_with(json!(["@fake success\none", "@fake success\ntwo"]), |r| {
            r.budget_usd = Some(10.0)
        })
        .await
        .unwrap();
    let run = h.run(run).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let argv = std::fs::read_to_string(h.root().join("record/invocations.jsonl")).unwrap();
    assert!(argv.contains("--max-budget-usd=0.5"), "{argv}");
}

async fn a_usage_limit_is_waited_out_then_the_task_runs_again(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create(
            json!(["@fake flaky fail=1 fail_with=usage_limit resets_in=2 key=limit text=after-reset\nwork", "@fake success text=next\nnext"]),
            FailurePolicy::Stop,
        )
        .await
        .unwrap();
    let sleeping = Arc::new(tokio::sync::Notify::new());
    let signal = sleeping.clone();
    let id = h.runs.start(run, move |e| {
        if matches!(e, RunEvent::WaitingForUsageReset { .. }) {
            signal.notify_one();
        }
    });
    // The wait is visible while it lasts.
    let deadline = Instant::now() + Duration::from_secs(10);
    let waiting = loop {
        let s = h.runs.status(id).await.unwrap().unwrap();
        if s.run.state == RunState::WaitingForUsageReset {
            break s;
        }
        assert!(Instant::now() < deadline, "never waited: {:#?}", s.run);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(waiting.run.waiting_until.is_some());
    assert_eq!(waiting.run.tasks[0].state, TaskState::Pending);
    // The wait itself (up to 2 s, until the reset the fake reported) is the run driver's own
    // sleep on tokio's clock, with no process running: pausing the clock for a moment and
    // moving it past the reset ends it at once. Only for that moment: a real `claude` runs
    // before and after, and while it runs a paused clock would jump to its deadlines. The
    // runtime is current-thread (the clock can only be paused there), so when the driver's
    // event has reached us, the driver has also started its sleep (same poll, nothing awaited
    // in between).
    sleeping.notified().await;
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(3)).await;
    tokio::time::resume();
    let run = tokio::time::timeout(Duration::from_secs(30), h.runs.wait(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let t = &run.tasks[0];
    assert_eq!(t.executions.len(), 2, "the limited execution and the retry");
    assert_eq!(t.result_summary.as_deref(), Some("after-reset"));
    let first = h.store.get(t.executions[0]).await.unwrap().unwrap();
    assert_eq!(first.result.status, Status::RateLimited);
    assert!(first.result.resets_at.is_some());
}

async fn a_usage_limit_beyond_the_maximum_wait_fails_the_task(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create_with(json!(["@fake usage_limit resets_in=7200\nwork"]), |r| {
            r.max_usage_wait_secs = Some(60)
        })
        .await
        .unwrap();
    let run = h.run(run).await;
    assert_eq!(run.state, RunState::Failed);
    let e = run.tasks[0].error.as_deref().unwrap();
    assert!(e.contains("max_usage_wait_secs 60"), "{e}");
}

async fn a_cancelled_run_resumes_without_repeating_finished_tasks(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create(
            json!([
                "@fake success\none",
                "@fake slow secs=2\ntwo",
                "@fake success\nthree"
            ]),
            FailurePolicy::Stop,
        )
        .await
        .unwrap();
    let id = h.runs.start(run, |_| {});
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.prompts().len() < 2 {
        assert!(Instant::now() < deadline, "task two never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t = Instant::now();
    let status = h.runs.cancel(id).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(status.run.state, RunState::Cancelled, "{:#?}", status.run);
    assert_eq!(status.run.tasks[1].state, TaskState::Cancelled);
    assert_eq!(status.run.tasks[2].state, TaskState::Pending);

    // Two resumes at once: exactly one wins.
    let (a, b) = tokio::join!(
        h.runs.resume(id, ResumeOptions::default()),
        h.runs.resume(id, ResumeOptions::default())
    );
    let (resumed, lost) = match (a, b) {
        (Ok(r), Err(e)) | (Err(e), Ok(r)) => (r, e),
        other => panic!("exactly one resume must win: {other:?}"),
    };
    assert!(matches!(lost, RunError::AlreadyActive(_)), "{lost}");
    assert_eq!(resumed.resumes, 1);
    let done = h.run(resumed).await;
    assert_eq!(done.run_id, id);
    assert_eq!(done.state, RunState::Succeeded, "{done:#?}");
    let prompts = h.prompts();
    assert_eq!(prompts.iter().filter(|p| p.contains("\none")).count(), 1);
    assert_eq!(prompts.iter().filter(|p| p.contains("\ntwo")).count(), 2);
    assert_eq!(done.tasks[1].executions.len(), 2);
    // A finished run cannot be resumed.
    let e = h
        .runs
        .resume(id, ResumeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, RunError::Finished { .. }), "{e}");
    assert!(e.to_string().contains("already finished"), "{e}");
}

async fn invalid_lists_are_refused_before_anything_runs(b: Backend) {
    let h = Harness::new(b).await;
    let e = h
        .create(
            json!([
                {"id": "a", "task": "do a", "depends_on": ["b"]},
                {"id": "b", "task": "do b", "depends_on": ["a"]}
            ]),
            FailurePolicy::Stop,
        )
        .await
        .unwrap_err();
    let RunError::Invalid(report) = &e else {
        panic!("{e}")
    };
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.kind == ErrorKind::ForwardDependency || e.kind == ErrorKind::Cycle),
        "{report:#?}"
    );
    assert!(e.to_string().contains("nothing was started"), "{e}");

    // A reference to a task that does not exist, and a malformed one.
    let e = h
        .create(json!(["use {{tasks.nope.result}}"]), FailurePolicy::Stop)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    let e = h
        .create(
            json!(["first", "use {{tasks.1.cost}}"]),
            FailurePolicy::Stop,
        )
        .await
        .unwrap_err();
    let RunError::Invalid(report) = &e else {
        panic!("{e}")
    };
    assert_eq!(
        report.errors[0].kind,
        ErrorKind::InvalidReference,
        "{report:#?}"
    );
    // A bad budget and defaults the policy refuses.
    let e = h
        .create_with(json!(["x"]), |r| r.budget_usd = Some(-1.0))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("budget_usd"), "{e}");
    let e = h
        .create_with(json!(["x"]), |r| r.defaults.cwd = Some("/".into()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cwd"), "{e}");
    assert!(h.prompts().is_empty());
    assert!(
        h.store.list_runs(10).await.unwrap().is_empty(),
        "nothing stored"
    );

    let e = h
        .runs
        .resume(uuid::Uuid::new_v4(), ResumeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, RunError::Unknown(_)), "{e}");
}

/// Generates each test for both backends, on a multi-thread runtime — or, for the ones after
/// `current_thread:`, a current-thread one (where tokio's clock can be paused).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)? ; current_thread: $($ct:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[tokio::test(flavor = "multi_thread")] async fn $name() { super::$name(super::Backend::Sqlite).await } )*
            $( #[tokio::test] async fn $ct() { super::$ct(super::Backend::Sqlite).await } )*
        }
        mod on_redis {
            $( #[tokio::test(flavor = "multi_thread")] async fn $name() { super::$name(super::Backend::Redis).await } )*
            $( #[tokio::test] async fn $ct() { super::$ct(super::Backend::Redis).await } )*
        }
    };
}

on_both_backends!(
    a_run_budget_above_the_per_task_ceiling_runs_each_task_within_the_ceiling,
    stop_policy_stops_at_the_failed_task_and_skips_the_rest,
    continue_policy_skips_only_the_dependants_of_a_failed_task,
    references_carry_earlier_results_and_files_into_later_tasks,
    the_budget_cap_stops_the_run_before_it_is_exceeded,
    a_usage_limit_beyond_the_maximum_wait_fails_the_task,
    a_cancelled_run_resumes_without_repeating_finished_tasks,
    invalid_lists_are_refused_before_anything_runs;
    current_thread: a_usage_limit_is_waited_out_then_the_task_runs_again,
);

// ---- The CLI: `run-list`, `runs`, a crash in the middle of a run, and bad input ----------

/// `cc-executor` with the fake claude, a data dir and an allowed root in `root`.
fn cli_command(root: &Path, redis: Option<&str>) -> Command {
    let mut cmd = Command::new(cc_executor_bin());
    cmd.current_dir(root)
        .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
        .env("CC_EXECUTOR_DATA_DIR", root.join("data"))
        .env("CC_EXECUTOR_ALLOWED_ROOTS", root)
        .env("FAKE_CLAUDE_RECORD_DIR", root.join("record"))
        .env("XDG_CONFIG_HOME", root.join("config"))
        .env_remove("REDIS_URL")
        .stdin(Stdio::null());
    if let Some(url) = redis {
        cmd.env("REDIS_URL", url);
    }
    cmd
}

fn cli(root: &Path, redis: Option<&str>, args: &[&str]) -> Output {
    cli_command(root, redis).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn invocations(root: &Path) -> Vec<Value> {
    std::fs::read_to_string(root.join("record/invocations.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The issue's crash test: SIGKILL `cc-executor` in the middle of task 2 of 4, then resume:
/// tasks 2–4 run exactly once more, task 1 never again, the interrupted execution is in the
/// history as `crashed`, and what was left of it is killed. Task 2's `claude` dies with the
/// server (parent-death signal); the grandchild it started in a session of its own does not,
/// and is what the resume must find and kill.
fn a_run_killed_mid_task_resumes_where_it_stopped(redis: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(
        root.join("list.md"),
        "# Release\n\n1. @fake success text=one-done\n   first\n2. @fake grandchild mode=setsid secs=60 wait=8\n   second\n3. @fake success\n   third\n4. @fake success\n   fourth\n",
    )
    .unwrap();
    let mut child = cli_command(&root, redis)
        .args(["run-list", "list.md"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let run_id = loop {
        let line = lines.next().expect("run id line").unwrap();
        if let Some(rest) = line.strip_prefix("cc-executor: run ") {
            break rest.split(':').next().unwrap().to_string();
        }
    };
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    let deadline = Instant::now() + Duration::from_secs(20);
    while invocations(&root).len() < 2 {
        assert!(Instant::now() < deadline, "task 2 never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    let claude = invocations(&root)[1]["pid"].as_i64().unwrap() as i32;
    let pids = root.join(format!("record/{claude}.pids"));
    let orphan: i32 = std::fs::read_to_string(&pids)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while pid_exists(claude) && !is_zombie(claude) {
        assert!(
            Instant::now() < deadline,
            "the interrupted claude {claude} outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        pid_exists(orphan) && !is_zombie(orphan),
        "the grandchild in its own session outlives the server (until the resume)"
    );

    let show = cli(&root, redis, &["runs", "show", &run_id, "--json"]);
    assert!(show.status.success(), "{}", text(&show.stderr));
    let stored: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(stored["state"], "interrupted", "{stored:#}");
    assert_eq!(stored["tasks"][0]["state"], "succeeded");
    assert_eq!(stored["tasks"][1]["state"], "running");
    let interrupted = stored["tasks"][1]["execution_id"]
        .as_str()
        .unwrap()
        .to_string();

    let resumed = cli(&root, redis, &["run-list", "--resume", &run_id, "--json"]);
    assert!(
        resumed.status.success(),
        "{}\n{}",
        text(&resumed.stdout),
        text(&resumed.stderr)
    );
    let run: Value = serde_json::from_slice(&resumed.stdout).unwrap();
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert_eq!(run["resumes"], 1);
    let stdins: Vec<String> = invocations(&root)
        .iter()
        .map(|v| v["stdin"].as_str().unwrap().to_string())
        .collect();
    let count = |word: &str| {
        stdins
            .iter()
            .filter(|s| s.lines().any(|l| l.trim() == word))
            .count()
    };
    assert_eq!(
        (
            count("first"),
            count("second"),
            count("third"),
            count("fourth")
        ),
        (1, 2, 1, 1),
        "{stdins:#?}"
    );
    let executions = run["tasks"][1]["executions"].as_array().unwrap();
    assert_eq!(executions.len(), 2);
    assert_eq!(executions[0], interrupted.as_str());

    // The history shows the interrupted attempt, and that its leftover was killed.
    let hist = cli(&root, redis, &["history", "show", &interrupted, "--json"]);
    assert!(hist.status.success(), "{}", text(&hist.stderr));
    let rec: Value = serde_json::from_slice(&hist.stdout).unwrap();
    let result = &rec["result"];
    assert_eq!(result["status"], "interrupted", "{rec:#}");
    let warnings = result["warnings"].to_string();
    assert!(warnings.contains("interrupted"), "{warnings}");
    assert!(
        warnings.contains("1 leftover process(es) killed"),
        "{warnings}"
    );
    // It has evidence like any execution: verification finds it intact, and not verified.
    let verify = cli(&root, redis, &["verify", &interrupted, "--json"]);
    let report: Value = serde_json::from_slice(&verify.stdout).unwrap();
    let v = &report["executions"][0];
    assert_eq!(v["verdict"], "unverified", "{report:#}");
    assert!(v["response_file"].is_string(), "{report:#}");
    assert!(
        v["reasons"].to_string().contains("interrupted"),
        "{report:#}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while pid_exists(orphan) && !is_zombie(orphan) {
        assert!(
            Instant::now() < deadline,
            "the leftover {orphan} still runs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Now it is finished: a second resume is refused.
    let again = cli(&root, redis, &["run-list", "--resume", &run_id]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already finished"),
        "{}",
        text(&again.stderr)
    );
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

#[test]
fn crash_and_resume_on_sqlite() {
    a_run_killed_mid_task_resumes_where_it_stopped(None);
}

#[test]
fn crash_and_resume_on_redis() {
    let server = RedisServer::start();
    a_run_killed_mid_task_resumes_where_it_stopped(Some(&server.url()));
}

#[test]
fn run_list_and_runs_from_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(
        root.join("list.yaml"),
        "- id: a\n  task: \"@fake success text=alpha\\nfirst\"\n- id: b\n  task: \"@fake echo\\ngot {{tasks.a.result}}\"\n",
    )
    .unwrap();
    let out = cli(&root, None, &["run-list", "list.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("succeeded: 2/2 task(s) done"), "{stdout}");
    assert!(stdout.contains("got alpha"), "{stdout}");
    let list = cli(&root, None, &["runs", "list", "--json"]);
    let runs: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(runs[0]["state"], "succeeded");
    assert_eq!(runs[0]["total"], 2);
    assert!(runs[0]["source"].as_str().unwrap().ends_with("list.yaml"));
    let human = text(&cli(&root, None, &["runs", "list"]).stdout);
    assert!(
        human.contains("succeeded") && human.contains("2/2"),
        "{human}"
    );
}

#[test]
fn bad_input_to_run_list_is_a_clear_error_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    // Not valid JSON: the error names the line.
    std::fs::write(
        root.join("broken.json"),
        "[\n  \"one\",\n  \"two\"\n  \"three\"\n]\n",
    )
    .unwrap();
    let out = cli(&root, None, &["run-list", "broken.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("broken.json") && err.contains("line 4"),
        "{err}"
    );
    // Not valid YAML (line and column), and a markdown file without a list.
    std::fs::write(
        root.join("broken.yaml"),
        "- id: a\n  task: \"x\"\n- id: b\n  task: [unclosed\n",
    )
    .unwrap();
    let out = cli(&root, None, &["run-list", "broken.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("invalid YAML at line 5"), "{err}");
    std::fs::write(root.join("prose.md"), "# Title\n\nJust prose, no list.\n").unwrap();
    let out = cli(&root, None, &["run-list", "prose.md"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no tasks found"),
        "{}",
        text(&out.stderr)
    );
    // A cycle: every validation error is listed, nothing starts.
    std::fs::write(
        root.join("cycle.json"),
        r#"[{"id":"a","task":"do a","depends_on":["b"]},{"id":"b","task":"do b","depends_on":["a"]}]"#,
    )
    .unwrap();
    let out = cli(&root, None, &["run-list", "cycle.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("not valid, nothing was started"), "{err}");
    assert!(err.contains("task 1"), "{err}");
    // Unknown and malformed run ids.
    let unknown = uuid::Uuid::new_v4().to_string();
    let out = cli(&root, None, &["run-list", "--resume", &unknown]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown run"),
        "{}",
        text(&out.stderr)
    );
    let out = cli(&root, None, &["run-list", "--resume", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("UUID"), "{}", text(&out.stderr));
    let out = cli(&root, None, &["runs", "show", &unknown]);
    assert_eq!(out.status.code(), Some(1));
    // A file and --resume together, and neither.
    let out = cli(
        &root,
        None,
        &["run-list", "cycle.json", "--resume", &unknown],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = cli(&root, None, &["run-list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(invocations(&root).is_empty());
}
