//! A run as MCP results show it: what a caller following a run acts on — its state, progress,
//! cost, why it stopped, and each task's state, status, execution, files and answer in brief.
//!
//! The durable run record (`crate::types::run::Run`) also holds what only the driver needs
//! (defaults, owner, revision, timestamps, dependencies, every retry's execution id); sending
//! it with every `monitor_execution` poll and in every `cc_execute_list` answer cost each
//! session a large output schema and each poll its bytes. The full record stays available as
//! its resource (`cc-executor://runs/<id>`) and through `cc-executor runs show`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::types::result::Status;
use crate::types::run::{Run, RunState, TaskState};

/// The compact view of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunView {
    pub run_id: Uuid,
    pub state: RunState,
    /// Cost of every execution of the run so far, USD.
    pub cost_usd: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    /// The task being run (or waited for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_task: Option<String>,
    /// Until when the run waits for a usage limit to reset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_until: Option<DateTime<Utc>>,
    /// Why the run ended as it did (or stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub tasks: Vec<TaskView>,
}

/// One task of a run, in brief.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskView {
    pub id: String,
    pub state: TaskState,
    /// Status of its latest execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Its latest execution (for `monitor_execution`, `verify_execution`, the history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<Uuid>,
    /// The first 200 characters of its answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_summary: Option<String>,
    /// The files it wrote (left out when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files_written: Vec<String>,
    /// Why it failed, was skipped or cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<&Run> for RunView {
    fn from(run: &Run) -> Self {
        RunView {
            run_id: run.run_id,
            state: run.state,
            cost_usd: run.cost_usd,
            budget_usd: run.budget_usd,
            current_task: run.current_task.clone(),
            waiting_until: run.waiting_until,
            reason: run.reason.clone(),
            tasks: run
                .tasks
                .iter()
                .map(|t| TaskView {
                    id: t.id.clone(),
                    state: t.state,
                    status: t.status,
                    execution_id: t.execution_id,
                    result_summary: t.result_summary.clone(),
                    files_written: t.files_written.clone(),
                    error: t.error.clone(),
                })
                .collect(),
        }
    }
}
