//! The executor: one shared, in-process service that runs tasks in fresh `claude` processes,
//! strictly one after another (by default), and returns an honest [`ExecutionResult`].
//!
//! - [`spec`]: requests and their validation against the policy.
//! - [`queue`]: the FIFO queue.
//! - `execution`: one execution's life, step by step (queue → pre-hooks → attempts → observe →
//!   accept → persist → post-hooks → announce), and `assemble`: its result from its attempts.
//! - `accept`: acceptance checks (`accept`: commands, files, a validator) and the bounded
//!   repair loop (`repair`) that [`Executor::execute_at`] runs.
//! - `status`: reading executions (live, from the history, from the in-flight journal).
//! - [`attempt`]: one run of `claude` (spawn, drain, deadline, kill).
//! - [`hooks`]: the user's `pre_execute` / `post_execute` commands.
//! - [`process`]: supervision of a task's processes: spawning, finding (by parentage and
//!   environment), stopping, reaping.
//! - [`timeout`]: which timeout a task runs with, and why.
//! - [`retry`]: backoff for transient outcomes.
//! - [`progress`]: live progress events.
//! - [`registry`]: live status of every execution (monitoring, long-poll, cancel).
//! - [`pause`]: pausing and resuming an execution ([`Executor::pause`], [`Executor::resume`]):
//!   its process tree stopped, its clocks with it.
//! - [`result`]: the structured result.
//!
//! Executions run as tasks owned by the executor, not inside the caller's future: a caller that
//! goes away cancels its execution (gracefully: SIGTERM, grace, SIGKILL) instead of dropping a
//! half-run process, and [`Executor::shutdown`] can stop and wait for all of them.

pub(crate) mod accept;
mod assemble;
pub mod attempt;
mod execution;
pub mod feed;
pub mod hooks;
pub mod pause;
pub mod probe;
pub mod progress;
pub mod queue;
pub mod recover;
pub mod registry;
pub(crate) mod remote;
pub mod retry;
pub(crate) mod side_command;
pub mod spec;
mod status;
pub mod timeout;
pub mod words;

// Moved to the layers below; kept at their old paths for library users.
pub use crate::process;
pub use crate::types::result;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::config::Config;
use crate::store::sqlite::SqliteStore;
use crate::store::{HistoryStore, StoreError};
use progress::{ProgressEvent, ProgressSink};
pub use queue::Reservation;
use queue::{Queue, Ticket};
use registry::{ExecutionStatus, Registry};
use result::{ExecutionResult, Status};
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
    /// `repair` asks for a loop of executions: only a call that waits for the end gets its
    /// last result, so a non-blocking submission refuses it rather than drop it silently.
    #[error(
        "`repair` needs a call that waits for the result (`wait: true`): each repair is a new execution, and only the end of the loop says which one passed; to follow a repair loop without waiting, submit the task as a one-task list with the failure policy `repair` (a run, followed like any other)"
    )]
    RepairNeedsWait,
}

/// What [`Executor::submit_owned`] hands back.
struct Submitted {
    submission: Submission,
    /// The finished result, moved to whoever holds this.
    result: tokio::sync::oneshot::Receiver<ExecutionResult>,
    /// `Some` once the journal write is done (and how it went).
    journaled: execution::Journaled,
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
    /// `placement = pool` with a Redis URL that cannot be used.
    #[error(transparent)]
    Pool(#[from] crate::pool::PoolError),
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
    /// Held by a recovery pass (see [`Executor::recover_interrupted`]).
    recovering: tokio::sync::Mutex<()>,
    /// Recent runs of the user's hooks (`get_hook_status`).
    hook_log: crate::exec::hooks::HookLog,
    /// `placement = pool`: where tasks are enqueued instead of run here.
    pool: Option<crate::pool::Pool>,
    /// The pool queue of this executor's own tasks (unless a task or the config names one).
    session_queue: String,
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
    /// The registry (and its event log) sees every event; the caller's sink every event but
    /// the model's text, which only readers of [`Executor::events`] ask for.
    fn emit(&self, event: ProgressEvent) {
        self.entry.observe(&event);
        if !event.is_text() {
            self.next.emit(event);
        }
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
        let pool = match (&config.placement, &config.redis_url) {
            (crate::config::Placement::Pool, Some(url)) => Some(crate::pool::Pool::connect(
                url,
                &config.redis_prefix,
                config.redis_retention_days,
            )?),
            _ => None,
        };
        // Pooled, the local line only orders the enqueueing (one at a time, in arrival order);
        // the pool's queues decide what runs.
        let slots = if pool.is_some() {
            1
        } else {
            config.max_concurrent
        };
        Ok(Executor {
            inner: Arc::new(Inner {
                queue: Queue::new(slots),
                pool,
                session_queue: format!("session-{}", Uuid::new_v4().simple()),
                registry: Registry::default(),
                store,
                config,
                shutdown: CancellationToken::new(),
                tracker: TaskTracker::new(),
                started: Instant::now(),
                recovering: tokio::sync::Mutex::new(()),
                hook_log: Default::default(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// (running, waiting): the executions of this executor in each state.
    pub fn queue_counts(&self) -> (usize, usize) {
        if self.inner.pool.is_none() {
            return self.inner.queue.counts();
        }
        // Pooled, the local line only hands tasks over (a task gives its slot up once it is
        // enqueued): count what each execution's events say — waiting until a worker starts
        // it, then running.
        let mut counts = (0, 0);
        for entry in self.inner.registry.all() {
            match entry.phase() {
                registry::Phase::Finished => {}
                registry::Phase::Queued => counts.1 += 1,
                _ => counts.0 += 1,
            }
        }
        counts
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
    pub fn hook_status(&self, limit: usize) -> crate::exec::hooks::HookStatus {
        crate::exec::hooks::status(&self.inner.config.hooks, &self.inner.hook_log, limit)
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

    /// With `placement = pool`, `spec` joins the queue of the adapter's `session` (an MCP
    /// session over HTTP, a WebSocket connection): each session is its own line, as each
    /// stdio server is (its process's queue). A queue the task or the configuration names
    /// wins; task-list runs have their own. Without a pool the name is carried and unused.
    pub fn join_session_queue(&self, spec: &mut TaskSpec, session: &str) {
        if spec.pool_queue.is_none() && self.inner.config.pool_queue.is_none() {
            spec.pool_queue = Some(format!("session-{session}"));
        }
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
        if spec.repair_max > 0 {
            return Err(SubmitError::RepairNeedsWait);
        }
        let submitted = self.submit_owned(None, spec, sink, place);
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
        id: Option<Uuid>,
        spec: TaskSpec,
        sink: impl ProgressSink,
        place: Option<Reservation>,
    ) -> Submitted {
        let place = place.unwrap_or_else(|| self.inner.queue.reserve());
        let id = id.unwrap_or_else(Uuid::new_v4);
        let journal = crate::store::InFlight {
            execution_id: id,
            task: spec.prompt.clone(),
            cwd: spec.cwd.display().to_string(),
            category: spec.category.clone(),
            complexity: spec.complexity.clone(),
            timeout_secs: spec.timeout.as_secs(),
            submitted_at: Utc::now(),
            owner: crate::process::owner::current(),
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
        let execution = execution::Execution {
            id,
            spec,
            ticket,
            sink,
            cancel: token,
            entry,
            submitted_at,
            journaled: journaled.clone(),
        };
        let this = self.clone();
        let (owner_tx, owner_rx) = tokio::sync::oneshot::channel();
        self.inner.tracker.spawn(async move {
            let result = execution.live(this).await;
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

    /// [`Executor::execute_with_cancel`] at the place reserved when the request arrived. With
    /// repairs allowed (`repair`), a rejected task is run again, each repair a new execution
    /// linked to the first; the last attempt's result is returned (see `accept::repair`).
    pub async fn execute_at(
        &self,
        spec: TaskSpec,
        sink: impl ProgressSink,
        cancel: CancellationToken,
        place: Option<Reservation>,
    ) -> ExecutionResult {
        if spec.repair_max > 0 {
            return accept::repair::run(self, spec, sink, cancel, place).await;
        }
        self.execute_once(spec, sink, cancel, place).await
    }

    /// One execution to its end, at `place` (no repair loop).
    pub(crate) async fn execute_once(
        &self,
        spec: TaskSpec,
        sink: impl ProgressSink,
        cancel: CancellationToken,
        place: Option<Reservation>,
    ) -> ExecutionResult {
        self.execute_owned(None, spec, sink, cancel, place).await
    }

    /// Runs a task to completion under the execution id an orchestrator gave out: how a pool
    /// worker runs a task it claimed, so the history, the evidence and the UUID hook all name
    /// the id the caller holds.
    pub(crate) async fn execute_as(
        &self,
        id: Uuid,
        spec: TaskSpec,
        sink: impl ProgressSink,
        cancel: CancellationToken,
    ) -> ExecutionResult {
        self.execute_owned(Some(id), spec, sink, cancel, None).await
    }

    /// Records a result this executor did not run itself (a pool worker recording a task
    /// another worker lost), the one way every execution is recorded (evidence, then history).
    pub(crate) async fn record_result(
        &self,
        task: &store_task::TaskText<'_>,
        result: ExecutionResult,
    ) -> ExecutionResult {
        let mut record = crate::store::ExecutionRecord::new(
            task.text,
            task.cwd,
            task.category.clone(),
            task.complexity.clone(),
            task.submitted_at,
            result,
        );
        if let Err(e) = execution::persist(self, &mut record).await {
            record
                .result
                .warnings
                .push(format!("not recorded in the history store: {e}"));
        }
        record.result
    }

    async fn execute_owned(
        &self,
        id: Option<Uuid>,
        spec: TaskSpec,
        sink: impl ProgressSink,
        cancel: CancellationToken,
        place: Option<Reservation>,
    ) -> ExecutionResult {
        let submitted = self.submit_owned(id, spec, sink, place);
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
    /// The events of an execution of this process, in order, after `after` (0: from its
    /// first), waiting for new ones until it finishes — including the model's text as it
    /// streams. `None` when this process does not know the id (never submitted here, or
    /// finished long ago: its record is in the history). Memory is bounded; a reader that
    /// asks for events no longer held is told how many it missed (see [`feed`]).
    pub fn events(&self, id: Uuid, after: u64) -> Option<feed::EventStream> {
        let entry = self.inner.registry.get(id)?;
        Some(feed::EventStream::new(entry.feed.clone(), after))
    }

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
}

/// What the history keeps about a task, for [`Executor::record_result`].
pub(crate) mod store_task {
    /// The task's text and where it ran, as its record keeps them.
    pub(crate) struct TaskText<'a> {
        pub(crate) text: &'a str,
        pub(crate) cwd: &'a str,
        pub(crate) category: Option<String>,
        pub(crate) complexity: Option<String>,
        pub(crate) submitted_at: chrono::DateTime<chrono::Utc>,
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
