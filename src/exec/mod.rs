//! The executor: one shared, in-process service that runs tasks in fresh `claude` processes,
//! strictly one after another (by default), and returns an honest [`ExecutionResult`].
//!
//! - [`spec`]: requests and their validation against the policy.
//! - [`queue`]: the FIFO queue.
//! - [`attempt`]: one run of `claude` (spawn, drain, deadline, kill).
//! - [`process`]: supervision of a task's processes: spawning, finding (by parentage and
//!   environment), stopping, reaping.
//! - [`timeout`]: which timeout a task runs with, and why.
//! - [`retry`]: backoff for transient outcomes.
//! - [`progress`]: live progress events.
//! - [`registry`]: live status of every execution (monitoring, long-poll, cancel).
//! - [`result`]: the structured result.
//!
//! Executions run as tasks owned by the executor, not inside the caller's future: a caller that
//! goes away cancels its execution (gracefully: SIGTERM, grace, SIGKILL) instead of dropping a
//! half-run process, and [`Executor::shutdown`] can stop and wait for all of them.

pub mod attempt;
pub mod probe;
pub mod process;
pub mod progress;
pub mod queue;
pub mod recover;
pub mod registry;
pub mod result;
pub mod retry;
pub mod spec;
pub mod timeout;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::claude::INSTALL_HINT;
use crate::claude::outcome::classify;
use crate::config::Config;
use crate::store::sqlite::SqliteStore;
use crate::store::{ExecutionRecord, HistoryStore, StoreError};
use attempt::{AttemptOutput, LaunchError};
use progress::{ProgressEvent, ProgressSink};
pub use queue::Reservation;
use queue::{Queue, Ticket};
use registry::{ExecutionStatus, Registry};
use result::{Attempt, ExecutionResult, Status};
use spec::{SpecError, TaskRequest, TaskSpec};

/// Why a task was not queued.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The in-flight journal could not be written: without it a crash could lose the
    /// execution, so its id is not given out and it is stopped.
    #[error(
        "not started: the execution could not be journaled in the history store, so a crash could lose it: {0}"
    )]
    Journal(#[source] Arc<StoreError>),
}

/// What [`Executor::submit_owned`] hands back.
struct Submitted {
    submission: Submission,
    /// The finished result, moved to whoever holds this.
    result: tokio::sync::oneshot::Receiver<ExecutionResult>,
    /// `Some` once the journal write is done (and how it went).
    journaled: tokio::sync::watch::Receiver<Option<Result<(), Arc<StoreError>>>>,
}

/// Errors creating an executor.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("data directory {path} is not usable: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Inner {
    config: Config,
    queue: Queue,
    registry: Registry,
    store: Arc<dyn HistoryStore>,
    /// Parent of every execution's token: cancelling it stops everything (shutdown).
    shutdown: CancellationToken,
    tracker: TaskTracker,
    started: Instant,
    /// Recent runs of the user's hooks (`get_hook_status`).
    hook_log: crate::evidence::hooks::HookLog,
}

/// Runs tasks; cheap to clone (shared state).
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("claude_bin", &self.inner.config.claude_bin)
            .field("queue", &self.inner.queue.counts())
            .finish()
    }
}

/// What a non-blocking submission returns at once.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Submission {
    pub execution_id: Uuid,
    /// Where the timeout came from: `explicit`, `default`, or `learned` (with the evidence).
    pub timeout_basis: timeout::TimeoutBasis,
    /// 0 when it starts at once, else its place in the FIFO queue (1 = next).
    pub queue_position: usize,
    /// The timeout this execution runs under.
    pub timeout_secs: u64,
}

/// The progress sink the executor puts in front of the caller's: it keeps the registry current.
struct Tracked {
    entry: Arc<registry::Entry>,
    next: Box<dyn ProgressSink>,
}

impl ProgressSink for Tracked {
    fn emit(&self, event: ProgressEvent) {
        self.entry.observe(&event);
        self.next.emit(event);
    }
}

impl Executor {
    /// Creates the executor, its data directory (owner-only) and the embedded history store
    /// in it. Use [`Executor::with_store`] for another store (e.g. from [`crate::store::open`]).
    pub fn new(config: Config) -> Result<Self, ExecutorError> {
        prepare_dir(&config.data_dir)?;
        let store = SqliteStore::open(&config.data_dir.join("history.sqlite3"))?;
        Self::with_store(config, Arc::new(store))
    }

    /// Creates the executor with the given history store.
    pub fn with_store(config: Config, store: Arc<dyn HistoryStore>) -> Result<Self, ExecutorError> {
        prepare_dir(&config.data_dir)?;
        let raw = config.data_dir.join("raw");
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&raw)
            .map_err(|source| ExecutorError::DataDir { path: raw, source })?;
        Ok(Executor {
            inner: Arc::new(Inner {
                queue: Queue::new(config.max_concurrent),
                registry: Registry::default(),
                store,
                config,
                shutdown: CancellationToken::new(),
                tracker: TaskTracker::new(),
                started: Instant::now(),
                hook_log: Default::default(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// (running, waiting)
    pub fn queue_counts(&self) -> (usize, usize) {
        self.inner.queue.counts()
    }

    /// The planner over this executor's history and configuration: the one estimator the
    /// executor, the MCP planning tools and `plan FILE` all use.
    pub fn planner(&self) -> crate::plan::Planner<'_> {
        crate::plan::Planner::new(
            Some(&*self.inner.store),
            crate::plan::PlanConfig::from_config(&self.inner.config),
        )
    }

    /// The history store every execution is recorded in.
    pub fn store(&self) -> &Arc<dyn HistoryStore> {
        &self.inner.store
    }

    /// The built-in and configured hooks, and the most recent `limit` hook runs.
    pub fn hook_status(&self, limit: usize) -> crate::evidence::hooks::HookStatus {
        crate::evidence::hooks::status(&self.inner.config.hooks, &self.inner.hook_log, limit)
    }

    /// Verifies executions against their evidence (see [`crate::evidence::verify`]).
    pub async fn verify(
        &self,
        target: crate::evidence::verify::Target,
        markdown: bool,
    ) -> Result<crate::evidence::verify::VerifyReport, crate::evidence::verify::VerifyError> {
        crate::evidence::verify::verify(
            &self.inner.config.data_dir,
            &*self.inner.store,
            target,
            markdown,
        )
        .await
    }

    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Validates a request against the configuration and policy, classifies it (recorded
    /// with the execution, so predictions learn from every run) and, when it names no
    /// timeout, chooses one: the configured default, raised when the history shows the task's
    /// class runs longer (see [`timeout`]).
    pub async fn prepare(&self, request: TaskRequest) -> Result<TaskSpec, SpecError> {
        let config = &self.inner.config;
        let explicit = request.timeout_secs.is_some();
        let mut spec = request.validate(config)?;
        let classification = crate::plan::classify(&spec.prompt);
        spec.category = Some(classification.category.as_str().to_string());
        spec.complexity = Some(classification.complexity.as_str().to_string());
        if !explicit && config.learned_timeouts {
            let p = self
                .planner()
                .predictor()
                .predict_for(&classification)
                .await;
            (spec.timeout, spec.timeout_basis) = timeout::from_prediction(config, &p);
        }
        Ok(spec)
    }

    /// Takes a place in the FIFO line for a request that has just arrived. Adapters call it
    /// where they read a request off their transport, before validating it, and hand it to
    /// [`Executor::submit_at`]: requests then start in the order they arrived, however long
    /// each took to validate. Dropping it unused gives the place up.
    pub fn reserve(&self) -> Reservation {
        self.inner.queue.reserve()
    }

    /// Queues a task and returns once it is journaled (durable), without waiting for it to
    /// run. Its place in the FIFO order is fixed when this future is first polled. Follow it
    /// with [`Executor::wait`], [`Executor::status`], [`Executor::cancel`].
    pub async fn submit(
        &self,
        spec: TaskSpec,
        sink: impl ProgressSink,
    ) -> Result<Submission, SubmitError> {
        self.submit_at(spec, sink, None).await
    }

    /// Queues a task at the place reserved when its request arrived (or, without one, at the
    /// end of the line). Before the id is given out, the execution is written to the store's
    /// in-flight journal — so an acknowledged execution is never lost: if this process dies,
    /// the next one on the data dir records it as `interrupted` (see
    /// [`Executor::recover_interrupted`]). `Err`: it could not be journaled and never ran.
    pub async fn submit_at(
        &self,
        spec: TaskSpec,
        sink: impl ProgressSink,
        place: Option<Reservation>,
    ) -> Result<Submission, SubmitError> {
        let submitted = self.submit_owned(spec, sink, place);
        let id = submitted.submission.execution_id;
        // The id goes out only once the execution is journaled.
        let mut journaled = submitted.journaled;
        let outcome = journaled
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|v| v.clone());
        match outcome {
            Some(Ok(())) => Ok(submitted.submission),
            Some(Err(e)) => {
                self.stop_unjournaled(id);
                Err(SubmitError::Journal(e))
            }
            None => {
                self.stop_unjournaled(id);
                Err(SubmitError::Journal(Arc::new(StoreError::Internal(
                    "the journal write was abandoned".into(),
                ))))
            }
        }
    }

    /// Stops an execution whose id could not be journaled (it is never given out).
    fn stop_unjournaled(&self, id: Uuid) {
        if let Some(entry) = self.inner.registry.get(id) {
            entry.cancel.cancel();
        }
    }

    /// Queues a task (its place in line is fixed now, synchronously) and starts writing its
    /// in-flight journal entry beside it. [`Executor::submit_at`] waits for the entry before
    /// it gives the id out; [`Executor::execute_at`] does not need to — nobody learns the id
    /// before the result, and the execution waits for its entry before it is recorded — so a
    /// blocking call does not pay the journal's disk flush on its path. The finished result is
    /// moved into `result` (its owner gets it without a copy).
    fn submit_owned(
        &self,
        spec: TaskSpec,
        sink: impl ProgressSink,
        place: Option<Reservation>,
    ) -> Submitted {
        let place = place.unwrap_or_else(|| self.inner.queue.reserve());
        let id = Uuid::new_v4();
        let journal = crate::store::InFlight {
            execution_id: id,
            task: spec.prompt.clone(),
            cwd: spec.cwd.display().to_string(),
            category: spec.category.clone(),
            complexity: spec.complexity.clone(),
            timeout_secs: spec.timeout.as_secs(),
            submitted_at: Utc::now(),
            owner: crate::runs::owner::current(),
        };
        let submitted_at = journal.submitted_at;
        let (journaled_tx, journaled) = tokio::sync::watch::channel(None);
        {
            let store = self.inner.store.clone();
            self.inner.tracker.spawn(async move {
                let r = store.inflight_add(&journal).await.map_err(Arc::new);
                if let Err(e) = &r {
                    tracing::error!(%id, "execution not journaled: {e}");
                }
                let _ = journaled_tx.send(Some(r));
            });
        }
        let token = self.inner.shutdown.child_token();
        let entry = self
            .inner
            .registry
            .register(id, &spec.prompt, spec.timeout, token.clone());
        let submission = Submission {
            execution_id: id,
            timeout_basis: spec.timeout_basis.clone(),
            queue_position: 0,
            timeout_secs: spec.timeout.as_secs(),
        };
        let ticket = self.inner.queue.enqueue(id, Some(place));
        let queue_position = match &ticket {
            Ticket::Ready(_) => 0,
            Ticket::Waiting { position, .. } => *position,
        };
        let sink: Arc<dyn ProgressSink> = Arc::new(Tracked {
            entry: entry.clone(),
            next: Box::new(sink),
        });
        let this = self.clone();
        let (owner_tx, owner_rx) = tokio::sync::oneshot::channel();
        let mut journal_done = journaled.clone();
        self.inner.tracker.spawn(async move {
            let (task, cwd) = (spec.prompt.clone(), spec.cwd.display().to_string());
            let (category, complexity) = (spec.category.clone(), spec.complexity.clone());
            let (timeout_secs, timeout_basis) =
                (spec.timeout.as_secs(), spec.timeout_basis.clone());
            let cwd_path = spec.cwd.clone();
            let hooks = &this.inner.config.hooks;
            let data_dir = this.inner.config.data_dir.clone();
            // The task text for hooks (`CC_EXECUTOR_TASK_FILE`), only when there are hooks.
            let mut hook_warnings = Vec::new();
            let task_file = if hooks.pre_execute.is_empty() && hooks.post_execute.is_empty() {
                None
            } else {
                match crate::evidence::hooks::write_task_file(&data_dir, id, &task) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        hook_warnings.push(format!("hooks: cannot write the task file: {e}"));
                        Some(PathBuf::new())
                    }
                }
            };
            let mut result = this
                .run(id, spec, ticket, &sink, token, task_file.as_deref())
                .await;
            result.warnings.extend(hook_warnings);
            result.timeout_secs = Some(timeout_secs);
            result.timeout_basis = Some(timeout_basis);
            this.observe_outcome(&cwd_path, &mut result).await;
            // Evidence first (response file, chain link, receipt), so the record carries its
            // link; then the history, then the registry: recorded before it is announced, so
            // whoever is woken by "finished" finds the result and a crash loses nothing. The
            // result moves through the record (no copy) and out again.
            // Its journal entry is in before its record (which removes the entry) is written.
            let journal = journal_done
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|v| v.clone());
            if let Some(Err(e)) = journal {
                result.warnings.push(format!(
                    "not journaled while it ran (a crash of the server would have lost it): {e}"
                ));
            }
            let mut record =
                ExecutionRecord::new(&task, &cwd, category, complexity, submitted_at, result);
            if let Err(e) = this.persist(&mut record).await {
                record
                    .result
                    .warnings
                    .push(format!("not recorded in the history store: {e}"));
            }
            if let Some(task_file) = &task_file {
                // Post hooks see the recorded execution (with its evidence) and run before the
                // result is announced, so a caller that gets the result knows they have run.
                if !this.inner.config.hooks.post_execute.is_empty() {
                    let input = serde_json::json!({
                        "event": "post_execute",
                        "execution": record,
                    });
                    let ctx = crate::evidence::hooks::HookContext {
                        execution_id: id,
                        task_file,
                        cwd: &cwd_path,
                        response_file: record
                            .result
                            .evidence
                            .as_ref()
                            .map(|e| e.response_file.as_str()),
                    };
                    // Bounded by the hook timeout; a server shutdown stops them at once.
                    crate::evidence::hooks::run_all(
                        crate::evidence::hooks::HookKind::PostExecute,
                        &this.inner.config.hooks,
                        &this.inner.hook_log,
                        &ctx,
                        input.to_string().as_bytes(),
                        &this.inner.shutdown,
                    )
                    .await;
                }
                if !task_file.as_os_str().is_empty() {
                    let _ = std::fs::remove_file(task_file);
                }
            }
            let result = record.result;
            this.inner.registry.finish(&entry, &result);
            sink.emit(ProgressEvent::Finished {
                status: result.status,
            });
            // The owner (if it still waits) takes the result; else it is dropped here.
            let _ = owner_tx.send(result);
        });
        Submitted {
            submission: Submission {
                queue_position,
                ..submission
            },
            result: owner_rx,
            journaled,
        }
    }

    /// Runs a task to completion.
    pub async fn execute(&self, spec: TaskSpec, sink: impl ProgressSink) -> ExecutionResult {
        self.execute_with_cancel(spec, sink, CancellationToken::new())
            .await
    }

    /// Runs a task to completion; cancelling `cancel` (or dropping this future) stops it and
    /// kills its process tree.
    pub async fn execute_with_cancel(
        &self,
        spec: TaskSpec,
        sink: impl ProgressSink,
        cancel: CancellationToken,
    ) -> ExecutionResult {
        self.execute_at(spec, sink, cancel, None).await
    }

    /// [`Executor::execute_with_cancel`] at the place reserved when the request arrived.
    pub async fn execute_at(
        &self,
        spec: TaskSpec,
        sink: impl ProgressSink,
        cancel: CancellationToken,
        place: Option<Reservation>,
    ) -> ExecutionResult {
        let submitted = self.submit_owned(spec, sink, place);
        let (id, owned) = (submitted.submission.execution_id, submitted.result);
        let Some(entry) = self.inner.registry.get(id) else {
            return ExecutionResult::empty(
                id,
                Status::Crashed,
                vec!["internal error: execution not registered".into()],
            );
        };
        let stop = entry.cancel.clone();
        let _stop_on_drop = stop.clone().drop_guard();
        let lost = || {
            ExecutionResult::empty(
                id,
                Status::Crashed,
                vec!["internal error: the execution ended without a result".into()],
            )
        };
        tokio::pin!(owned);
        tokio::select! {
            r = &mut owned => r.unwrap_or_else(|_| lost()),
            _ = cancel.cancelled() => {
                stop.cancel();
                owned.await.unwrap_or_else(|_| lost())
            }
        }
    }

    /// Waits for an execution to finish; `None` for an unknown id. Executions of earlier runs
    /// of the server, and results too big to keep in memory, come from the history.
    pub async fn wait(&self, id: Uuid) -> Option<ExecutionResult> {
        let Some(entry) = self.inner.registry.get(id) else {
            return self.history_record(id).await.map(|r| r.result);
        };
        loop {
            let seen = entry.version();
            if entry.is_finished() {
                return match entry.result() {
                    Some(r) => Some((*r).clone()),
                    None => self.history_record(id).await.map(|r| r.result),
                };
            }
            entry.changed_since(seen, Duration::from_secs(3600)).await;
        }
    }

    /// The live status of one execution of this process.
    pub fn status(&self, id: Uuid) -> Option<ExecutionStatus> {
        let entry = self.inner.registry.get(id)?;
        Some(entry.snapshot(self.inner.queue.position(id)))
    }

    /// The status of an execution of this process, or else of an earlier one from the history
    /// (so results survive a restart).
    pub async fn lookup(&self, id: Uuid) -> Option<ExecutionStatus> {
        if let Some(s) = self.status(id) {
            return Some(self.with_result(s).await);
        }
        if let Some(r) = self.history_record(id).await {
            return Some(ExecutionStatus::from_record(&r));
        }
        self.in_flight_elsewhere(id).await
    }

    /// An execution in the in-flight journal but not in this process: one another live
    /// process runs (reported as such), or one a dead process left — settled now, so a caller
    /// asking right after a restart gets `interrupted`, not "unknown".
    async fn in_flight_elsewhere(&self, id: Uuid) -> Option<ExecutionStatus> {
        let entry = match self.inner.store.inflight_get(id).await {
            Ok(e) => e?,
            Err(e) => {
                tracing::warn!(%id, "in-flight journal lookup failed: {e}");
                return None;
            }
        };
        use crate::runs::owner::{Liveness, liveness};
        if liveness(&entry.owner) == Liveness::Gone {
            match self.recover_interrupted().await {
                Ok(_) => {}
                Err(e) => tracing::warn!(%id, "could not settle an interrupted execution: {e}"),
            }
            if let Some(r) = self.history_record(id).await {
                return Some(ExecutionStatus::from_record(&r));
            }
        }
        Some(ExecutionStatus::elsewhere(&entry))
    }

    async fn history_record(&self, id: Uuid) -> Option<ExecutionRecord> {
        match self.record(id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%id, "history lookup failed: {e}");
                None
            }
        }
    }

    /// An execution's record from the history, with its whole answer: one too big for the
    /// store (see [`crate::store::AnswerRef`]) is read back from its response file.
    pub async fn record(&self, id: Uuid) -> Result<Option<ExecutionRecord>, StoreError> {
        let Some(mut record) = self.inner.store.get(id).await? else {
            return Ok(None);
        };
        if record.answer_elsewhere.is_some() {
            self.load_answer(&mut record).await;
        }
        Ok(Some(record))
    }

    async fn load_answer(&self, record: &mut ExecutionRecord) {
        let Some(path) = record
            .result
            .evidence
            .as_ref()
            .map(|e| PathBuf::from(&e.response_file))
        else {
            return;
        };
        let read = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || crate::evidence::artifacts::read_answer(&path))
                .await
                .unwrap_or_else(|e| Err(io::Error::other(e.to_string())))
        };
        let why = match read {
            Ok(Some(answer)) => {
                if record.restore_answer(answer) {
                    return;
                }
                "it is not the answer the history names (edited?)".to_string()
            }
            Ok(None) => "it has no answer".to_string(),
            Err(e) => e.to_string(),
        };
        let bytes = record.answer_elsewhere.as_ref().map_or(0, |a| a.bytes);
        record.result.warnings.push(format!(
            "the whole answer ({bytes} bytes) could not be read from {}: {why}; only its beginning is shown",
            path.display()
        ));
    }

    /// Every execution this process knows (active ones and up to 100 recent finished ones),
    /// oldest first.
    pub fn list(&self) -> Vec<ExecutionStatus> {
        self.inner
            .registry
            .all()
            .iter()
            .map(|e| e.snapshot(self.inner.queue.position(e.id)))
            .collect()
    }

    /// Waits (at most `max`) until execution `id` changes after version `seen`, then returns
    /// its status. `None` for an unknown id.
    pub async fn watch(&self, id: Uuid, seen: u64, max: Duration) -> Option<ExecutionStatus> {
        let entry = self.inner.registry.get(id)?;
        entry.changed_since(seen, max).await;
        Some(self.with_result(self.status(id)?).await)
    }

    /// A finished execution's status with its result: from memory when cached, else read
    /// back from the history (big results are not kept in memory).
    async fn with_result(&self, mut s: ExecutionStatus) -> ExecutionStatus {
        if s.phase == registry::Phase::Finished && s.result.is_none() {
            s.result = self.history_record(s.execution_id).await.map(|r| r.result);
        }
        s
    }

    /// Waits (at most `max`) until any execution changes after `seen` (see [`Self::any_version`]).
    pub async fn watch_any(&self, seen: u64, max: Duration) -> u64 {
        self.inner.registry.any_changed_since(seen, max).await
    }

    pub fn any_version(&self) -> u64 {
        self.inner.registry.any_version()
    }

    /// Cancels a queued execution (it never starts) or a running one (its process tree is
    /// stopped), waits until it has finished, and returns its final status. Cancelling a
    /// finished execution changes nothing. `None` for an unknown id.
    pub async fn cancel(&self, id: Uuid) -> Option<ExecutionStatus> {
        let Some(entry) = self.inner.registry.get(id) else {
            return self.lookup(id).await;
        };
        if !entry.is_finished() {
            entry.cancel.cancel();
            let bound = self.inner.config.kill_grace + Duration::from_secs(10);
            let _ = tokio::time::timeout(bound, self.wait(id)).await;
        }
        self.status(id)
    }

    /// Writes an execution's evidence (response file, chain link, receipt) and then its
    /// history record — the one way every execution is recorded. A failure to write the
    /// evidence is a warning in the record (the history still gets it); a failure to store
    /// the record is the error.
    async fn persist(&self, record: &mut ExecutionRecord) -> Result<(), StoreError> {
        let id = record.execution_id;
        let data_dir = &self.inner.config.data_dir;
        let store = &self.inner.store;
        // The record moves into each writer and back (`take`): it is never copied.
        let take = |r: &mut ExecutionRecord| std::mem::replace(r, ExecutionRecord::lost(id));
        let (written, draft) =
            crate::evidence::artifacts::write_response(data_dir, take(record)).await;
        *record = written;
        let draft = match draft {
            Ok(draft) => Some(draft),
            Err(e) => {
                tracing::error!(%id, "evidence not written: {e}");
                record
                    .result
                    .warnings
                    .push(format!("evidence not written: {e}"));
                None
            }
        };
        if let Some(draft) = draft {
            // The file is on disk before its link exists; the link and the record that carries
            // it are stored together (one commit on SQLite). A big answer stays in the file:
            // the store keeps its beginning and a reference.
            let big = record.stash_big_answer();
            let (stored_record, stored) = store.record_linked(take(record), draft).await;
            *record = stored_record;
            if let Some(answer) = big {
                record.result.result = Some(answer);
                record.answer_elsewhere = None;
            }
            match stored {
                Ok(()) => {
                    if let Err(e) =
                        crate::evidence::artifacts::write_receipt(data_dir, record).await
                    {
                        tracing::warn!(%id, "receipt not written: {e}");
                        record
                            .result
                            .warnings
                            .push(format!("receipt not written: {e}"));
                    }
                    return Ok(());
                }
                Err(e) => {
                    tracing::error!(%id, "evidence chain link not written: {e}");
                    record
                        .result
                        .warnings
                        .push(format!("evidence not linked into the chain: {e}"));
                }
            }
        }
        store.record(record).await.map_err(|e| {
            tracing::error!(%id, "execution not recorded in the history: {e}");
            e
        })
    }

    /// Runs `work` as part of this executor: [`Executor::shutdown`] waits for it. Task-list
    /// drivers use it, so a shutdown lets them record where their run stopped.
    pub fn spawn_tracked<F>(&self, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inner.tracker.spawn(work);
    }

    /// Cancelled when the executor shuts down.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// Stops every execution (queued ones never start; running ones are terminated) and
    /// waits until all their processes are gone.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }

    /// What the evidence needs from a finished run: the UUID echo (when the hook was on and
    /// `claude` ran), where Claude Code's transcript is, and hashes of files whose written
    /// content the events did not carry.
    async fn observe_outcome(&self, cwd: &Path, result: &mut ExecutionResult) {
        let config = &self.inner.config;
        if config.hooks.uuid_hook && !result.attempts.is_empty() {
            let echo = crate::evidence::uuid_hook::check(
                result.execution_id,
                result.result.as_deref(),
                result.structured_output.as_ref(),
            );
            if !echo.echoed && result.status == Status::Succeeded {
                result.warnings.push(
                    "the answer does not echo the execution UUID (uuid hook): it cannot be tied to this run".into(),
                );
            }
            result.uuid_echo = Some(echo);
        }
        if let Some(session) = &result.session_id {
            result.transcript_path =
                crate::evidence::transcript_path(&config.child_env, cwd, session)
                    .map(|p| p.display().to_string());
        }
        if result.written_files.iter().any(|f| f.sha256.is_none()) {
            let mut files = std::mem::take(&mut result.written_files);
            result.written_files = tokio::task::spawn_blocking(move || {
                crate::evidence::files::hash_after_run(&mut files);
                files
            })
            .await
            .unwrap_or_default();
        }
    }

    async fn run(
        &self,
        id: Uuid,
        mut spec: TaskSpec,
        ticket: Ticket,
        sink: &Arc<dyn ProgressSink>,
        cancel: CancellationToken,
        task_file: Option<&Path>,
    ) -> ExecutionResult {
        let config = &self.inner.config;
        let entry = self.inner.registry.get(id);
        let queued_at = Instant::now();
        let _slot = match ticket {
            Ticket::Ready(slot) => {
                sink.emit(ProgressEvent::Queued { position: 0 });
                slot
            }
            Ticket::Waiting { position, slot } => {
                sink.emit(ProgressEvent::Queued { position });
                tokio::select! {
                    s = slot => match s {
                        Ok(s) => s,
                        Err(_) => return early(id, &spec, Status::Crashed, "internal error: the queue dropped this execution"),
                    },
                    _ = cancel.cancelled() => {
                        self.inner.queue.remove(id);
                        return early(id, &spec, Status::Cancelled, "cancelled while queued; it never started");
                    }
                }
            }
        };
        let queue_wait = queued_at.elapsed();
        let mut warnings = spec.warnings.clone();

        if let Some(task_file) = task_file
            && !config.hooks.pre_execute.is_empty()
        {
            let input = serde_json::json!({
                "event": "pre_execute",
                "execution_id": id,
                "task": spec.prompt,
                "cwd": spec.cwd,
                "model": spec.model,
                "permission_mode": spec.permission_mode,
                "timeout_secs": spec.timeout.as_secs(),
            });
            let ctx = crate::evidence::hooks::HookContext {
                execution_id: id,
                task_file,
                cwd: &spec.cwd,
                response_file: None,
            };
            let hooks = crate::evidence::hooks::run_all(
                crate::evidence::hooks::HookKind::PreExecute,
                &config.hooks,
                &self.inner.hook_log,
                &ctx,
                input.to_string().as_bytes(),
                &cancel,
            )
            .await;
            if hooks.cancelled {
                return early(
                    id,
                    &spec,
                    Status::Cancelled,
                    "cancelled while a pre_execute hook ran; the task never started",
                );
            }
            let (veto, hook_warnings) = (hooks.veto, hooks.warnings);
            warnings.extend(hook_warnings);
            if let Some(reason) = veto {
                warnings.push(format!("rejected by a pre_execute hook: {reason}"));
                let mut r = ExecutionResult::empty(id, Status::RejectedByHook, warnings);
                r.queue_wait_ms = ms(queue_wait);
                return r;
            }
        }
        if config.hooks.uuid_hook {
            let structured = spec.json_schema.is_some();
            spec.prompt
                .push_str(&crate::evidence::uuid_hook::instruction(id, structured));
        }

        let mut attempts: Vec<(AttemptOutput, Status)> = Vec::new();
        let run_started = Instant::now();
        let mut number = 1u32;
        let mut cost_so_far: Option<f64> = None;
        loop {
            if let Some(e) = &entry {
                e.attempt_starting(number, cost_so_far);
            }
            let raw = config
                .data_dir
                .join("raw")
                .join(format!("{id}.{number}.jsonl"));
            let out = match attempt::run(config, id, &spec, raw, number, sink, &cancel).await {
                Ok(out) => out,
                Err(e) => {
                    let status = match e {
                        LaunchError::NotFound(_) => Status::CliNotFound,
                        LaunchError::Spawn { .. } => Status::SpawnFailed,
                    };
                    let message = match status {
                        Status::CliNotFound => format!("{e}: {INSTALL_HINT}"),
                        _ => e.to_string(),
                    };
                    warnings.push(message);
                    let mut r = ExecutionResult::empty(id, status, warnings);
                    r.queue_wait_ms = ms(queue_wait);
                    return r;
                }
            };
            let verdict = classify(&out.collector, out.termination, spec.timeout.as_secs());
            let status = verdict.status;
            let delay = retry::next_delay(&config.retry, number, status, verdict.resets_at);
            if let Some(reason) = verdict.reason {
                warnings.push(if number > 1 {
                    format!("attempt {number}: {reason}")
                } else {
                    reason
                });
            }
            if let Some(c) = out.collector.result.as_ref().and_then(|r| r.total_cost_usd) {
                *cost_so_far.get_or_insert(0.0) += c;
            }
            attempts.push((out, status));
            let Some(delay) = delay else {
                let mut r = assemble(
                    id,
                    &spec.cwd,
                    config.max_record_bytes,
                    attempts,
                    warnings,
                    queue_wait,
                    run_started,
                );
                r.resets_at = verdict.resets_at;
                return r;
            };
            number += 1;
            sink.emit(match verdict.resets_at {
                Some(resets_at) => ProgressEvent::WaitingForReset {
                    next_attempt: number,
                    resets_at,
                    delay,
                },
                None => ProgressEvent::Retrying {
                    next_attempt: number,
                    after: status,
                    delay,
                },
            });
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.cancelled() => {
                    warnings.push("cancelled while waiting to retry".into());
                    let mut r = assemble(id, &spec.cwd, config.max_record_bytes, attempts, warnings, queue_wait, run_started);
                    r.status = Status::Cancelled;
                    return r;
                }
            }
        }
    }
}

/// The result of an execution that never ran `claude`.
fn early(id: Uuid, spec: &TaskSpec, status: Status, why: &str) -> ExecutionResult {
    let mut warnings = spec.warnings.clone();
    warnings.push(why.to_string());
    ExecutionResult::empty(id, status, warnings)
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// Builds the result from every attempt; the last one decides the status and the answer.
#[allow(clippy::too_many_arguments)]
fn assemble(
    id: Uuid,
    cwd: &Path,
    max_record_bytes: usize,
    attempts: Vec<(AttemptOutput, Status)>,
    mut warnings: Vec<String>,
    queue_wait: Duration,
    run_started: Instant,
) -> ExecutionResult {
    let started_at = attempts
        .first()
        .map(|(a, _)| a.started_at)
        .unwrap_or_else(Utc::now);
    let mut records = Vec::new();
    let mut api_retries = 0;
    let mut total_cost: Option<f64> = None;
    for (i, (a, status)) in attempts.iter().enumerate() {
        let c = &a.collector;
        let cost = c.result.as_ref().and_then(|r| r.total_cost_usd);
        if let Some(cost) = cost {
            *total_cost.get_or_insert(0.0) += cost;
        }
        api_retries += c.api_retries;
        records.push(Attempt {
            number: i as u32 + 1,
            status: *status,
            started_at: a.started_at,
            duration_ms: ms(a.duration),
            exit_code: a.exit_code,
            signal: a.signal,
            session_id: c.session_id.clone(),
            api_retries: c.api_retries,
            cost_usd: cost,
        });
    }
    let Some((last, status)) = attempts.into_iter().last() else {
        return ExecutionResult::empty(id, Status::Crashed, warnings);
    };
    warnings.extend(last.warnings);
    let mut c = last.collector;
    if c.diagnostic_count > 0 {
        warnings.push(format!(
            "{} stdout line(s) were not stream-json events (first: {})",
            c.diagnostic_count,
            c.diagnostics.first().map(String::as_str).unwrap_or("")
        ));
    }
    let mut r = c.result.take().unwrap_or_default();
    // The CLI sometimes ends with an empty result while the model did answer: then the last
    // assistant text is the answer (read back from the raw output when it was too big to keep).
    let text = r
        .result
        .take()
        .filter(|t| !t.is_empty())
        .or_else(|| c.last_assistant_text.take())
        .or_else(|| {
            let (path, at) = (last.raw_output_path.as_ref()?, c.last_assistant_at?);
            match attempt::read_assistant_text(path, at, max_record_bytes) {
                Ok(text) => text,
                Err(e) => {
                    warnings.push(format!(
                        "the answer could not be read back from {}: {e}",
                        path.display()
                    ));
                    None
                }
            }
        })
        .or_else(|| c.synthetic_text.take());
    ExecutionResult {
        execution_id: id,
        status,
        result: text,
        structured_output: r.structured_output,
        session_id: c.session_id,
        model: c.model.or_else(|| {
            r.model_usage
                .as_ref()
                .and_then(|m: &BTreeMap<String, _>| m.keys().next().cloned())
        }),
        claude_version: c.claude_version,
        api_key_source: c.api_key_source,
        num_turns: r.num_turns,
        duration_ms: ms(run_started.elapsed()),
        duration_api_ms: r.duration_api_ms,
        queue_wait_ms: ms(queue_wait),
        total_cost_usd: total_cost,
        usage: r.usage,
        tools_used: c.tools_used,
        written_files: crate::evidence::files::from_run(cwd, &c.files_written, &c.write_content),
        files_written: c.files_written,
        permission_denials: c.permission_denials,
        api_retries,
        attempts: records,
        exit_code: last.exit_code,
        signal: last.signal,
        stderr_tail: last.stderr_tail,
        resets_at: None,
        warnings,
        raw_output_path: last.raw_output_path.map(|p| p.display().to_string()),
        timeout_secs: None,
        timeout_basis: None,
        started_at,
        finished_at: Utc::now(),
        uuid_echo: None,
        transcript_path: None,
        evidence: None,
    }
}

/// Creates the data directory owner-only and checks that it is writable: adapters call it
/// before they open a store, so an unusable data dir is one clear error at start-up (naming
/// the directory) rather than a store error about a file inside it.
pub fn prepare_data_dir(dir: &Path) -> Result<(), ExecutorError> {
    prepare_dir(dir)
}

/// Creates `dir` with owner-only permissions and checks that it is writable.
fn prepare_dir(dir: &Path) -> Result<(), ExecutorError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let err = |source| ExecutorError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    let meta = std::fs::metadata(dir).map_err(err)?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(err)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}
