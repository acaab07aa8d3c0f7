//! The durable shape of a run: what the store keeps, what `monitor_execution`, `runs show` and
//! `cc_execute_list` return. Everything needed to resume lives here; the results themselves
//! stay in the history (looked up by execution id), so there is one source of truth for them.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::result::Status;
use crate::types::task::TaskRequest;

/// What happens to the rest of the list when a task fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// Stop the run at the first failed task (the rest are `skipped`).
    #[default]
    Stop,
    /// Go on with the tasks that do not depend on the failed one; its dependants are `skipped`.
    Continue,
    /// A task rejected by its `accept` checks is repaired first (up to
    /// [`LIST_REPAIRS`] times, each repair a new execution); if it still fails, the run stops
    /// as with `stop`.
    Repair,
}

/// Repairs of one task under the failure policy `repair`.
pub const LIST_REPAIRS: u32 = 2;

impl FailurePolicy {
    /// The rest of the run stops at a task that failed for good.
    pub fn stops(self) -> bool {
        matches!(self, FailurePolicy::Stop | FailurePolicy::Repair)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailurePolicy::Stop => "stop",
            FailurePolicy::Continue => "continue",
            FailurePolicy::Repair => "repair",
        }
    }
}

/// Where one task of a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Not run yet (or to be run again after an interruption or a usage limit).
    Pending,
    /// Its execution is queued or running.
    Running,
    Succeeded,
    Failed,
    /// Not run: a task it depends on did not succeed, or the run stopped before it.
    Skipped,
    /// Its execution was cancelled; a resumed run runs it again.
    Cancelled,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Skipped => "skipped",
            TaskState::Cancelled => "cancelled",
        }
    }

    /// Still to be (re)run when the run goes on.
    pub fn is_unfinished(self) -> bool {
        matches!(
            self,
            TaskState::Pending | TaskState::Running | TaskState::Cancelled
        )
    }
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Created, not started yet.
    Pending,
    /// A task is running (or about to).
    Running,
    /// A task hit a usage limit; the run waits for the reset (`waiting_until`), then runs it again.
    WaitingForUsageReset,
    /// Every task succeeded.
    Succeeded,
    /// A task failed (policy `stop`), or the run ended with failed or skipped tasks (`continue`).
    Failed,
    /// The next task would have gone over `budget_usd`; resume with a higher budget to go on.
    BudgetExceeded,
    /// Cancelled by a caller, or the server shut down; resume to go on.
    Cancelled,
    /// Recorded as running, but the process driving it is gone (a crash): resume to go on.
    /// Never stored; reported when a stored `running` run has no live driver.
    Interrupted,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::WaitingForUsageReset => "waiting_for_usage_reset",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::BudgetExceeded => "budget_exceeded",
            RunState::Cancelled => "cancelled",
            RunState::Interrupted => "interrupted",
        }
    }

    /// Nothing left to do: a resume is refused.
    pub fn is_final(self) -> bool {
        matches!(self, RunState::Succeeded | RunState::Failed)
    }

    /// A driver is (or was, before a crash) working on it.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RunState::Pending | RunState::Running | RunState::WaitingForUsageReset
        )
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Settings every task of a run gets unless the server's policy says otherwise: the fields of
/// `cc_execute` that make sense for a whole list. Each field means what the field of the same
/// name in [`TaskRequest`] means, for every task; the fields carry no doc comments of their
/// own because those would be repeated, word for word, in the input schema of
/// `cc_execute_list`, next to the same text in `cc_execute`'s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::types::modes::PermissionMode>")]
    pub permission_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disallowed_tools: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_turns: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append_system_prompt: Option<String>,
}

impl TaskDefaults {
    /// The request for one task of the run.
    pub fn request(&self, task: String) -> TaskRequest {
        TaskRequest {
            task,
            timeout_secs: self.timeout_secs,
            cwd: self.cwd.clone(),
            model: self.model.clone(),
            permission_mode: self.permission_mode.clone(),
            allowed_tools: self.allowed_tools.clone(),
            disallowed_tools: self.disallowed_tools.clone(),
            max_turns: self.max_turns,
            append_system_prompt: self.append_system_prompt.clone(),
            ..Default::default()
        }
    }
}

/// One task of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunTask {
    pub id: String,
    /// 1-based position in the list.
    pub position: usize,
    /// The task text as given, with its `{{tasks.<id>.result}}` references unexpanded.
    pub task: String,
    /// Declared dependencies plus the tasks its text references.
    pub depends_on: Vec<String>,
    pub state: TaskState,
    /// The execution that decided its state (the latest one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<Uuid>,
    /// Every execution of this task, oldest first: interrupted ones and retries after a usage
    /// limit included.
    #[serde(default)]
    pub executions: Vec<Uuid>,
    /// Status of the latest execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The first 200 characters of its answer (the full text is in the history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_summary: Option<String>,
    #[serde(default)]
    pub files_written: Vec<String>,
    /// Cost of all its executions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Time of all its executions.
    pub duration_ms: u64,
    /// Acceptance checks of its executions (as `cc_execute`'s `accept`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<crate::types::accept::AcceptRequest>,
    /// Repairs run for it (failure policy `repair`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repairs: u32,
    /// Why it failed, was skipped or cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The process driving a run, so that a second process does not drive it at the same time
/// and a crashed driver can be told from a live one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunOwner {
    pub host: String,
    pub pid: u32,
    /// Start time of that process (clock ticks since boot, from `/proc`): a recycled pid is
    /// not mistaken for the driver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid_start: Option<u64>,
}

/// A task list run as one durable object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Run {
    pub run_id: Uuid,
    pub state: RunState,
    pub tasks: Vec<RunTask>,
    pub failure_policy: FailurePolicy,
    /// Cap on the cost of the whole run, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    /// Longest wait for a usage limit to reset before the task counts as failed, seconds.
    pub max_usage_wait_secs: u64,
    pub defaults: TaskDefaults,
    /// Cost of every execution of the run so far, USD.
    pub cost_usd: f64,
    /// Time of every execution of the run so far.
    pub duration_ms: u64,
    /// The task being run (or waited for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_task: Option<String>,
    /// Until when the run waits for a usage limit to reset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_until: Option<DateTime<Utc>>,
    /// Why the run ended as it did (or stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Where the list came from (a file path, or `mcp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<RunOwner>,
    /// Times the run was resumed.
    #[serde(default)]
    pub resumes: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Increases with every save; a store never replaces a newer revision with an older one.
    pub revision: u64,
}

impl Run {
    /// Tasks in a final state (succeeded, failed, skipped).
    pub fn done(&self) -> usize {
        self.tasks
            .iter()
            .filter(|t| !t.state.is_unfinished())
            .count()
    }

    pub fn count(&self, state: TaskState) -> usize {
        self.tasks.iter().filter(|t| t.state == state).count()
    }

    pub fn task(&self, id: &str) -> Option<&RunTask> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// A compact row for lists.
    pub fn summary(&self) -> RunSummary {
        RunSummary {
            run_id: self.run_id,
            state: self.state,
            total: self.tasks.len(),
            done: self.done(),
            succeeded: self.count(TaskState::Succeeded),
            failed: self.count(TaskState::Failed),
            skipped: self.count(TaskState::Skipped),
            current_task: self.current_task.clone(),
            cost_usd: self.cost_usd,
            budget_usd: self.budget_usd,
            source: self.source.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            reason: self.reason.clone(),
        }
    }
}

/// One line per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunSummary {
    pub run_id: Uuid,
    pub state: RunState,
    pub total: usize,
    /// Tasks in a final state.
    pub done: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    pub current_task: Option<String>,
    pub cost_usd: f64,
    pub budget_usd: Option<f64>,
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub reason: Option<String>,
}
