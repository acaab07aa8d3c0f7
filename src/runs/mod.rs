//! Task lists as durable *runs*: every task in a fresh `claude` process, one after another in
//! dependency order, through the executor's one FIFO queue — and a record in the history store
//! that is saved at every step, so a crash, a restart or a usage limit loses nothing that was
//! done and repeats nothing that succeeded.
//!
//! - [`model`]: the [`Run`] the store keeps (tasks, per-task state, execution ids, cost).
//! - [`template`]: `{{tasks.<id>.result}}` / `{{tasks.<id>.files_written}}` references.
//! - [`driver`]: the loop that runs a run: dependencies, failure policy, budget, usage-limit
//!   waits, cancellation.
//! - [`owner`]: which process drives a run, so a live driver is never doubled and a crashed
//!   one is recognised.
//! - `event.rs`: [`RunEvent`]s for progress displays and notifications, and the [`RunSink`]
//!   that receives them.
//! - `resume.rs`: [`RunService::resume`]: who may resume a run, and the recovery of the task
//!   that was running when its driver stopped.
//!
//! [`RunService`] is what the adapters use: `create` (validated like `validate_task_list`,
//! nothing starts when it fails), `start`, `resume`, `status`/`watch`, `cancel`, `wait`.
//!
//! ## Durability
//! A task's state becomes `running` — with its execution id — in the store *before* the
//! driver waits for it; its result is in the history (the executor records it) before the run
//! moves on. So after a crash the run shows exactly which task was interrupted; `resume` kills
//! what is left of that execution's process tree (found by its `CC_EXECUTOR_EXECUTION_ID`),
//! records it as `crashed` unless its result made it into the history, and runs it again.
//! Succeeded tasks are never run again.

pub mod driver;
mod event;
mod repair;
pub use crate::process::owner;
pub use crate::types::run as model;
mod resume;
pub mod template;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::exec::Executor;
use crate::exec::registry::ExecutionStatus;
use crate::exec::spec::SpecError;
use crate::plan::validate::{ErrorKind, TaskItem, ValidationError, ValidationReport};
use crate::store::StoreError;
pub use event::{RunEvent, RunSink};
pub use model::{
    FailurePolicy, Run, RunOwner, RunState, RunSummary, RunTask, TaskDefaults, TaskState,
};
use owner::Liveness;
pub use resume::ResumeOptions;

/// Default longest wait for a usage limit to reset (Claude's usage windows are 5 hours).
pub const DEFAULT_MAX_USAGE_WAIT_SECS: u64 = 6 * 3600;
/// The longest a run may be told to wait for a usage reset.
pub const MAX_USAGE_WAIT_SECS: u64 = 24 * 3600;

/// Why a run could not be created, resumed or cancelled. Each names what to do.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the task list is not valid, nothing was started:\n{}", describe(.0))]
    Invalid(Box<ValidationReport>),
    #[error("invalid `{field}`: {message}")]
    Setting {
        field: &'static str,
        message: String,
    },
    #[error("the run's task defaults are refused: {0}")]
    Defaults(#[from] SpecError),
    #[error("unknown run {0}: no such run in the history store")]
    Unknown(Uuid),
    #[error("run {id} is already finished ({state}); there is nothing to resume")]
    Finished { id: Uuid, state: RunState },
    #[error(
        "run {0} is already running in this server; there is nothing to resume: follow it as it runs"
    )]
    AlreadyActive(Uuid),
    #[error(
        "run {id} is being run by process {pid} on this host; cancel it there (or wait) before resuming"
    )]
    DrivenElsewhere { id: Uuid, pid: u32 },
    #[error(
        "run {id} was last run by process {pid} on host {host}, whose state cannot be checked from here; if that process is gone, resume with force"
    )]
    OtherHost { id: Uuid, pid: u32, host: String },
    #[error(
        "run {id} stopped at its budget (${spent:.4} spent of ${cap:.4}) and would stop again at once; resume it with a higher budget"
    )]
    BudgetSpent { id: Uuid, spent: f64, cap: f64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The validation errors, one per line, with positions and lines.
fn describe(report: &ValidationReport) -> String {
    report
        .errors
        .iter()
        .map(|e| {
            let mut at = String::new();
            if let Some(p) = e.position {
                at.push_str(&format!("task {p}"));
            }
            if let Some(l) = e.line {
                at.push_str(&format!(" (line {l})"));
            }
            if at.is_empty() {
                format!("- {}", e.message)
            } else {
                format!("- {at}: {}", e.message)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a new run needs.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub tasks: Vec<TaskItem>,
    pub failure_policy: FailurePolicy,
    pub budget_usd: Option<f64>,
    pub defaults: TaskDefaults,
    pub max_usage_wait_secs: Option<u64>,
    /// Where the list came from (a file path, `mcp`).
    pub source: Option<String>,
}

/// A run as monitoring reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunStatus {
    pub run: Run,
    /// Driven by this process right now.
    pub live: bool,
    /// Tasks in a final state, and in all.
    pub done: usize,
    pub total: usize,
    /// The live status of the current task's execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_execution: Option<ExecutionStatus>,
    /// Increases with every change of the run; pass it back to wait for the next one.
    pub version: u64,
}

/// A run driven by this process.
pub(crate) struct ActiveRun {
    run: Mutex<Run>,
    version: watch::Sender<u64>,
    cancel: CancellationToken,
    done: CancellationToken,
}

fn lock(m: &Mutex<Run>) -> MutexGuard<'_, Run> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ActiveRun {
    fn snapshot(&self) -> Run {
        lock(&self.run).clone()
    }
}

/// Runs task lists on an executor; cheap to clone (shared state).
#[derive(Clone)]
pub struct RunService {
    executor: Executor,
    active: Arc<Mutex<HashMap<Uuid, Arc<ActiveRun>>>>,
    /// Runs a `resume` has reserved until its `start`: two resumes of one run never both pass.
    claimed: Arc<Mutex<std::collections::HashSet<Uuid>>>,
    any: Arc<watch::Sender<u64>>,
}

impl std::fmt::Debug for RunService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunService")
            .field("active", &self.active_ids())
            .finish()
    }
}

impl RunService {
    pub fn new(executor: Executor) -> Self {
        RunService {
            executor,
            active: Arc::default(),
            claimed: Arc::default(),
            any: Arc::new(watch::channel(0).0),
        }
    }

    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    fn active_ids(&self) -> Vec<Uuid> {
        self.active_map().keys().copied().collect()
    }

    fn active_map(&self) -> MutexGuard<'_, HashMap<Uuid, Arc<ActiveRun>>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get_active(&self, id: Uuid) -> Option<Arc<ActiveRun>> {
        self.active_map().get(&id).cloned()
    }

    /// Validates a task list (the same checks as `validate_task_list`, plus the references
    /// between tasks and the defaults against the policy) and stores it as a `pending` run.
    /// Nothing runs until [`Self::start`].
    pub async fn create(&self, request: RunRequest) -> Result<Run, RunError> {
        self.create_with_report(request).await.map(|(run, _)| run)
    }

    /// [`Self::create`], also returning the planner's report on the list as it will run — its
    /// warnings (a task that mentions another without depending on it, a vague task, …) are
    /// what `plan` shows, so a caller can show them before the run starts.
    pub async fn create_with_report(
        &self,
        request: RunRequest,
    ) -> Result<(Run, ValidationReport), RunError> {
        check_budget(request.budget_usd)?;
        let max_usage_wait_secs = match request.max_usage_wait_secs {
            None => DEFAULT_MAX_USAGE_WAIT_SECS,
            Some(s) if s <= MAX_USAGE_WAIT_SECS => s,
            Some(s) => {
                return Err(RunError::Setting {
                    field: "max_usage_wait_secs",
                    message: format!("{s} is over the limit of {MAX_USAGE_WAIT_SECS} (24 h)"),
                });
            }
        };
        // The defaults must be acceptable on their own: a policy refusal names the field now,
        // not at task 7 hours later.
        request
            .defaults
            .request("check".into())
            .validate(self.executor.config())?;

        let mut items = request.tasks;
        let mut errors = Vec::new();
        for item in &mut items {
            // Its checks must be acceptable now (a bad regex, a path outside the allowed
            // roots), not when the task has run.
            if let Some(accept) = &item.accept {
                let mut check = request.defaults.request("check".into());
                check.accept = Some(accept.clone());
                if let Err(e) = check.validate(self.executor.config()) {
                    errors.push(ValidationError {
                        kind: ErrorKind::MalformedTask,
                        message: format!("task {}: {e}", item.position),
                        position: Some(item.position),
                        task_id: Some(item.id.clone()),
                        line: item.line,
                        cycle: None,
                    });
                }
            }
            match template::references(&item.task) {
                Ok(refs) => {
                    for r in refs {
                        if !item.depends_on.contains(&r.task_id) {
                            item.depends_on.push(r.task_id);
                        }
                    }
                }
                Err(message) => errors.push(ValidationError {
                    kind: ErrorKind::InvalidReference,
                    message: format!("task {}: {message}", item.position),
                    position: Some(item.position),
                    task_id: Some(item.id.clone()),
                    line: item.line,
                    cycle: None,
                }),
            }
        }
        let mut report = self.executor.planner().validate_items(&items).await;
        if !errors.is_empty() {
            report.errors.extend(errors);
            report.valid = false;
        }
        if !report.valid {
            return Err(RunError::Invalid(Box::new(report)));
        }
        let now = Utc::now();
        let run = Run {
            run_id: Uuid::new_v4(),
            state: RunState::Pending,
            tasks: items
                .into_iter()
                .map(|i| RunTask {
                    id: i.id,
                    position: i.position,
                    task: i.task,
                    depends_on: i.depends_on,
                    state: TaskState::Pending,
                    execution_id: None,
                    executions: Vec::new(),
                    status: None,
                    result_summary: None,
                    files_written: Vec::new(),
                    cost_usd: None,
                    duration_ms: 0,
                    error: None,
                    started_at: None,
                    finished_at: None,
                    accept: i.accept,
                    repairs: 0,
                })
                .collect(),
            failure_policy: request.failure_policy,
            budget_usd: request.budget_usd,
            max_usage_wait_secs,
            defaults: request.defaults,
            cost_usd: 0.0,
            duration_ms: 0,
            current_task: None,
            waiting_until: None,
            reason: None,
            source: request.source,
            owner: Some(owner::current()),
            resumes: 0,
            created_at: now,
            updated_at: now,
            finished_at: None,
            revision: 1,
        };
        self.executor.store().save_run(&run).await?;
        Ok((run, report))
    }

    /// Starts driving a created or resumed run on the executor (a shutdown waits for it to
    /// record where it stopped). Returns at once.
    pub fn start(&self, run: Run, sink: impl RunSink) -> Uuid {
        self.start_at(run, sink, None)
    }

    /// [`RunService::start`] with the queue place reserved when the request arrived (see
    /// [`crate::exec::Executor::reserve`]): the run's first task starts in arrival order.
    pub fn start_at(
        &self,
        run: Run,
        sink: impl RunSink,
        place: Option<crate::exec::Reservation>,
    ) -> Uuid {
        let id = run.run_id;
        let active = Arc::new(ActiveRun {
            run: Mutex::new(run),
            version: watch::channel(1).0,
            cancel: self.executor.shutdown_token().child_token(),
            done: CancellationToken::new(),
        });
        self.active_map().insert(id, active.clone());
        self.release(id);
        self.any.send_modify(|v| *v += 1);
        let driver = driver::Driver {
            service: self.clone(),
            active,
            sink: Arc::new(sink),
            place: std::sync::Mutex::new(place),
        };
        self.executor.spawn_tracked(driver.drive());
        id
    }

    pub(crate) fn finished(&self, id: Uuid) {
        if let Some(a) = self.active_map().remove(&id) {
            a.done.cancel();
        }
        self.any.send_modify(|v| *v += 1);
    }

    pub(crate) fn bump_any(&self) {
        self.any.send_modify(|v| *v += 1);
    }

    /// Waits for a run driven by this process to stop, then returns it as stored. Runs of
    /// other processes are returned as they are.
    pub async fn wait(&self, id: Uuid) -> Result<Run, RunError> {
        if let Some(a) = self.get_active(id) {
            a.done.cancelled().await;
            return Ok(a.snapshot());
        }
        self.stored(id).await
    }

    async fn stored(&self, id: Uuid) -> Result<Run, RunError> {
        let run = self
            .executor
            .store()
            .get_run(id)
            .await?
            .ok_or(RunError::Unknown(id))?;
        Ok(with_liveness(run))
    }

    /// A run's status: live when this process drives it, else from the store (a run whose
    /// driver is gone is reported `interrupted`). `Ok(None)`: no such run.
    pub async fn status(&self, id: Uuid) -> Result<Option<RunStatus>, StoreError> {
        if let Some(a) = self.get_active(id) {
            return Ok(Some(self.live_status(&a)));
        }
        let Some(run) = self.executor.store().get_run(id).await? else {
            return Ok(None);
        };
        let run = with_liveness(run);
        Ok(Some(RunStatus {
            done: run.done(),
            total: run.tasks.len(),
            live: false,
            current_execution: None,
            version: 0,
            run,
        }))
    }

    fn live_status(&self, a: &ActiveRun) -> RunStatus {
        let run = a.snapshot();
        let current_execution = run
            .current_task
            .as_deref()
            .and_then(|t| run.task(t))
            .filter(|t| t.state == TaskState::Running)
            .and_then(|t| t.execution_id)
            .and_then(|e| self.executor.status(e));
        RunStatus {
            done: run.done(),
            total: run.tasks.len(),
            live: true,
            current_execution,
            version: *a.version.borrow(),
            run,
        }
    }

    /// Waits (at most `max`) until a run of this process changes after version `seen`.
    pub async fn watch(
        &self,
        id: Uuid,
        seen: u64,
        max: Duration,
    ) -> Result<Option<RunStatus>, StoreError> {
        if let Some(a) = self.get_active(id) {
            let mut rx = a.version.subscribe();
            let _ = tokio::time::timeout(max, async {
                tokio::select! {
                    _ = rx.wait_for(|v| *v > seen) => {}
                    _ = a.done.cancelled() => {}
                }
            })
            .await;
        }
        self.status(id).await
    }

    /// Runs this process drives now.
    pub fn active(&self) -> Vec<RunStatus> {
        let runs: Vec<_> = self.active_map().values().cloned().collect();
        let mut out: Vec<_> = runs.iter().map(|a| self.live_status(a)).collect();
        out.sort_by_key(|s| s.run.created_at);
        out
    }

    /// Changes with every change of any run of this process.
    pub fn any_version(&self) -> u64 {
        *self.any.borrow()
    }

    /// Waits (at most `max`) for any run of this process to change after `seen`.
    pub async fn watch_any(&self, seen: u64, max: Duration) -> u64 {
        let mut rx = self.any.subscribe();
        let _ = tokio::time::timeout(max, rx.wait_for(|v| *v > seen)).await;
        self.any_version()
    }

    /// Newest first.
    pub async fn list(&self, limit: usize) -> Result<Vec<RunSummary>, StoreError> {
        let runs = self.executor.store().list_runs(limit).await?;
        Ok(runs
            .into_iter()
            .map(|r| match self.get_active(r.run_id) {
                Some(a) => a.snapshot().summary(),
                None => with_liveness(r).summary(),
            })
            .collect())
    }

    /// Cancels a run: its current execution is stopped (process tree killed), nothing more
    /// starts, and the run is stored `cancelled` (resumable). A run whose driver crashed is
    /// marked cancelled directly. Finished runs are returned unchanged.
    pub async fn cancel(&self, id: Uuid) -> Result<RunStatus, RunError> {
        if let Some(a) = self.get_active(id) {
            a.cancel.cancel();
            let bound = self.executor.config().kill_grace + Duration::from_secs(15);
            let _ = tokio::time::timeout(bound, a.done.cancelled()).await;
            return Ok(self
                .status(id)
                .await?
                .unwrap_or_else(|| self.live_status(&a)));
        }
        let run = self.stored(id).await?;
        if run.state == RunState::Interrupted {
            let mut run = run;
            run.state = RunState::Cancelled;
            run.reason =
                Some("cancelled after its driver had stopped; resume to run the rest".into());
            run.revision += 1;
            run.updated_at = Utc::now();
            self.executor.store().save_run(&run).await?;
        } else if run.state.is_active()
            && let Some(o) = &run.owner
        {
            return Err(RunError::DrivenElsewhere { id, pid: o.pid });
        }
        self.status(id).await?.ok_or(RunError::Unknown(id))
    }
}

/// A stored `running` run whose driver is gone is `interrupted`.
fn with_liveness(mut run: Run) -> Run {
    if run.state.is_active()
        && let Some(o) = &run.owner
        && matches!(owner::liveness(o), Liveness::Gone | Liveness::Us)
    {
        run.reason = Some(format!(
            "the process that ran it (pid {}) is gone; resume it to go on",
            o.pid
        ));
        run.state = RunState::Interrupted;
    }
    run
}

fn check_budget(budget: Option<f64>) -> Result<(), RunError> {
    match budget {
        Some(b) if !b.is_finite() || b <= 0.0 => Err(RunError::Setting {
            field: "budget_usd",
            message: format!("must be a positive number of USD (got {b})"),
        }),
        _ => Ok(()),
    }
}
