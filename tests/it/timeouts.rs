//! Which timeout a task without `timeout_secs` runs with: never less than the configured
//! default, raised only by a history that shows its class runs long, and always reported with
//! its basis — in the result, the submission, and on `cc-executor run`'s stderr. The issue's
//! reproduction: after quick runs, "Create a Python module that parses CSV files into dicts"
//! was killed at a learned 60 s floor, and `--default-timeout-secs 900` changed nothing.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin};
use cc_executor::exec::progress::NoProgress;
use cc_executor::exec::timeout::TimeoutKind;
use cc_executor::store::ExecutionRecord;
use cc_executor::{ExecutionResult, Executor, Status, TaskRequest};
use serde_json::Value;

type Harness = crate::support::fake_executor::FakeExecutor;

/// The task; the fake `claude` reads its scenario from the last line.
const TASK: &str = "Create a Python module that parses CSV files into dicts\n@fake success";

/// Records `n` runs of `task`'s class, each `secs` long.
async fn seed(exec: &Executor, task: &str, n: u64, secs: u64) {
    let spec = exec.prepare(TaskRequest::new(task)).await.unwrap();
    let records: Vec<ExecutionRecord> = (0..n)
        .map(|i| {
            let mut r = ExecutionResult::empty(uuid::Uuid::new_v4(), Status::Succeeded, vec![]);
            r.duration_ms = secs * 1000 + i * 10;
            ExecutionRecord::new(
                task,
                "/",
                spec.category.clone(),
                spec.complexity.clone(),
                chrono::Utc::now(),
                r,
            )
        })
        .collect();
    exec.store().record_batch(&records).await.unwrap();
}

fn basis(r: &ExecutionResult) -> Value {
    serde_json::to_value(r).unwrap()["timeout_basis"].clone()
}

#[tokio::test]
async fn quick_history_leaves_an_unspecified_timeout_at_the_default() {
    let h = Harness::new();
    seed(&h.executor, TASK, 8, 2).await;
    let spec = h.executor.prepare(TaskRequest::new(TASK)).await.unwrap();
    assert_eq!(spec.timeout.as_secs(), 600, "{:?}", spec.timeout_basis);
    assert_eq!(spec.timeout_basis.kind, TimeoutKind::Default);
    assert_eq!(
        spec.timeout_basis.samples,
        Some(8),
        "the evidence is reported"
    );

    let r = h.executor.execute(spec, NoProgress).await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.timeout_secs, Some(600));
    let b = basis(&r);
    assert_eq!(b["kind"], "default", "{b}");
    assert_eq!(b["samples"], 8, "{b}");
    assert!(b["p95_secs"].as_u64().unwrap() <= 3, "{b}");
}

#[tokio::test]
async fn a_class_known_to_run_long_gets_a_learned_timeout_with_its_evidence() {
    let h = Harness::new();
    seed(&h.executor, TASK, 20, 1200).await;
    let spec = h.executor.prepare(TaskRequest::new(TASK)).await.unwrap();
    assert_eq!(spec.timeout_basis.kind, TimeoutKind::Learned);
    assert!(spec.timeout.as_secs() >= 1800, "{:?}", spec.timeout);
    let submitted = h.executor.submit(spec.clone(), NoProgress).await.unwrap();
    assert_eq!(submitted.timeout_secs, spec.timeout.as_secs());
    assert_eq!(submitted.timeout_basis.kind, TimeoutKind::Learned);
    let r = h.executor.wait(submitted.execution_id).await.unwrap();
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.timeout_secs, Some(spec.timeout.as_secs()));
    let b = basis(&r);
    assert_eq!(b["kind"], "learned", "{b}");
    assert_eq!(b["samples"], 20, "{b}");
    assert!(b["p95_secs"].as_u64().unwrap() >= 1200, "{b}");
    assert_eq!(b["category"], spec.category.unwrap().as_str(), "{b}");
    assert_eq!(b["complexity"], spec.complexity.unwrap().as_str(), "{b}");
}

#[tokio::test]
async fn an_explicit_timeout_always_wins() {
    let long = Harness::new();
    seed(&long.executor, TASK, 20, 1200).await;
    let quick = Harness::new();
    seed(&quick.executor, TASK, 20, 1).await;
    for (h, secs) in [(&long, 42), (&quick, 5), (&quick, 3000)] {
        let mut req = TaskRequest::new(TASK);
        req.timeout_secs = Some(secs);
        let spec = h.executor.prepare(req).await.unwrap();
        assert_eq!(
            (spec.timeout.as_secs(), spec.timeout_basis.kind),
            (secs as u64, TimeoutKind::Explicit)
        );
    }
}

#[tokio::test]
async fn learned_timeouts_off_in_the_config_means_the_default() {
    let h = Harness::with(|c| c.learned_timeouts = false);
    seed(&h.executor, TASK, 20, 1200).await;
    let spec = h.executor.prepare(TaskRequest::new(TASK)).await.unwrap();
    assert_eq!(
        (spec.timeout.as_secs(), spec.timeout_basis.kind),
        (600, TimeoutKind::Default)
    );
    assert!(
        spec.timeout_basis
            .detail
            .contains("learned_timeouts is off"),
        "{:?}",
        spec.timeout_basis
    );
}

// ---- The binary: flags, environment, and what `run` prints ----------------------------------

/// A data dir whose history holds `n` runs of the task's class, each `secs` long.
async fn seeded_root(n: u64, secs: u64) -> tempfile::TempDir {
    let h = Harness::new();
    seed(&h.executor, TASK, n, secs).await;
    h.dir
}

fn run_cli(root: &Path, args: &[&str], env: &[(&str, &str)]) -> (Value, String) {
    let mut cmd = Command::new(cc_executor_bin());
    cmd.current_dir(root)
        .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
        .env("CC_EXECUTOR_DATA_DIR", root.join("data"))
        .env("CC_EXECUTOR_ALLOWED_ROOTS", root)
        .env("XDG_CONFIG_HOME", root.join("config"))
        .env_remove("REDIS_URL")
        .env_remove("CC_EXECUTOR_LEARNED_TIMEOUTS")
        .env_remove("CC_EXECUTOR_TIMEOUT_SECS")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .args(args)
        .args(["run", "--json", "--", TASK]);
    let out: Output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

#[tokio::test]
async fn the_cli_says_which_timeout_it_chose_and_its_flags_and_variables_decide() {
    let long = seeded_root(20, 1200).await;
    let (r, stderr) = run_cli(long.path(), &[], &[]);
    assert_eq!(r["timeout_basis"]["kind"], "learned", "{r:#}");
    assert!(r["timeout_secs"].as_u64().unwrap() >= 1800, "{r:#}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("cc-executor: timeout "))
        .unwrap_or_else(|| panic!("no timeout line in {stderr}"));
    assert!(
        line.contains("learned") && line.contains("20 recent"),
        "{line}"
    );

    for (args, env) in [
        (&["--learned-timeouts=false"][..], &[][..]),
        (&[][..], &[("CC_EXECUTOR_LEARNED_TIMEOUTS", "false")][..]),
    ] {
        let (r, stderr) = run_cli(long.path(), args, env);
        assert_eq!(r["timeout_basis"]["kind"], "default", "{args:?} {env:?}");
        assert_eq!(r["timeout_secs"], 600);
        assert!(
            stderr.contains(
                "cc-executor: timeout 600 s: default_timeout_secs (learned_timeouts is off)"
            ),
            "{stderr}"
        );
    }
    // A flag beats its variable.
    let (r, _) = run_cli(
        long.path(),
        &["--learned-timeouts"],
        &[("CC_EXECUTOR_LEARNED_TIMEOUTS", "false")],
    );
    assert_eq!(r["timeout_basis"]["kind"], "learned");

    // The issue: after quick runs, --default-timeout-secs 900 must be the timeout.
    let quick = seeded_root(8, 2).await;
    let (r, stderr) = run_cli(quick.path(), &["--default-timeout-secs", "900"], &[]);
    assert_eq!(r["timeout_secs"], 900, "{r:#}");
    assert_eq!(r["timeout_basis"]["kind"], "default");
    assert_eq!(r["timeout_basis"]["samples"], 8);
    assert!(stderr.contains("cc-executor: timeout 900 s"), "{stderr}");
}
