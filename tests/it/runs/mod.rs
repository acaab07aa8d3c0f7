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

mod cli;
mod limits;
mod policies;
mod resume_and_validation;
