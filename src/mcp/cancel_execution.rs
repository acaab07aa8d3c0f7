//! `cancel_execution`: stop a queued execution (it never starts) or a running one (its whole
//! process tree is stopped: SIGTERM, grace, SIGKILL) and return its final state. Cancelling a
//! finished execution is a harmless, clear answer.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CcExecutorServer;
use super::ids::parse_execution_id;
use crate::exec::registry::{ExecutionStatus, Phase};
use crate::exec::result::Status;
use crate::exec::words::{CancelOutcome, cancel_message, run_cancel_message};
use crate::runs::RunStatus;
use crate::types::run::RunState;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// The execution or run to cancel.
    #[serde(default)]
    pub execution_id: Option<String>,
    /// A run to cancel (same as `execution_id`).
    #[serde(default)]
    pub run_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CancelOutput {
    /// `cancelled` when this call stopped it; `already_finished` when it had ended on its own
    /// (its status says how); `stopping` when it has not stopped yet.
    pub outcome: String,
    pub message: String,
    /// The execution stopped (for a run: the task that was running, if any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<uuid::Uuid>,
    /// Its final status once it has ended (its whole result: `monitor_execution`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Its phase while it is still stopping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// For a run: its id and state after the cancel (resumable with `cc_execute_list`
    /// `resume_run_id`), and how many of its tasks are done. Its tasks: `monitor_execution`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<RunState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
}

impl CancelOutput {
    /// A compact answer: what happened and the final state; the full execution or run is one
    /// `monitor_execution` away (a cancel is about stopping, not reading results).
    fn new(outcome: &str, message: &str, execution: Option<&ExecutionStatus>) -> Self {
        let finished = execution.is_some_and(|e| e.phase == Phase::Finished);
        CancelOutput {
            outcome: outcome.into(),
            message: message.into(),
            execution_id: execution.map(|e| e.execution_id),
            status: execution.and_then(|e| e.status),
            phase: execution.filter(|_| !finished).map(|e| e.phase),
            run_id: None,
            state: None,
            done: None,
            total: None,
        }
    }

    fn with_run(mut self, run: &RunStatus) -> Self {
        self.run_id = Some(run.run.run_id);
        self.state = Some(run.run.state);
        self.done = Some(run.done);
        self.total = Some(run.total);
        self
    }
}

#[tool_router(router = cancel_execution_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Stops an execution or a run (a running task's whole process tree) and says what
    /// happened (`outcome`). A cancelled run can be resumed (`cc_execute_list`, `resume_run_id`).
    #[tool(
        name = "cancel_execution",
        title = "Stop an execution or a run",
        input_schema = super::surface::placeholder(),
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn cancel_execution(
        &self,
        Parameters(input): Parameters<CancelInput>,
    ) -> Result<CallToolResult, ErrorData> {
        let parsed = match (&input.execution_id, &input.run_id) {
            (Some(t), None) => parse_execution_id("execution_id", t),
            (None, Some(t)) => parse_execution_id("run_id", t),
            _ => Err("give exactly one of `execution_id` and `run_id`".to_string()),
        };
        let id = match parsed {
            Ok(id) => id,
            Err(m) => return Ok(CallToolResult::error(vec![ContentBlock::text(m)])),
        };
        if input.run_id.is_some() || self.executor.status(id).is_none() {
            match self.runs.status(id).await {
                Ok(Some(before)) => return Ok(self.cancel_run(id, before).await),
                Ok(None) => {}
                Err(e) => {
                    return Ok(CallToolResult::error(vec![ContentBlock::text(
                        e.to_string(),
                    )]));
                }
            }
        }
        let Some(before) = self.executor.lookup(id).await else {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "unknown execution or run id {id}: it never ran on this server, or it finished long ago"
            ))]));
        };
        let was_finished = before.phase == Phase::Finished;
        let after = self.executor.cancel(id).await.unwrap_or(before);
        // What really happened decides the answer (see `CancelOutcome::of`).
        let outcome = CancelOutcome::of(was_finished, &after);
        let message = cancel_message(id, outcome, after.status, self.words.as_ref());
        let outcome = outcome.as_str();
        let out = CancelOutput::new(outcome, &message, Some(&after));
        let mut result = CallToolResult::structured(serde_json::to_value(&out).unwrap_or_default());
        result.content.insert(0, ContentBlock::text(message));
        Ok(result)
    }
}

impl CcExecutorServer {
    async fn cancel_run(&self, id: uuid::Uuid, before: RunStatus) -> CallToolResult {
        if before.run.state.is_final() {
            let (state, done, total) = (before.run.state, before.done, before.total);
            let message = run_cancel_message(id, false, state, done, total, self.words.as_ref());
            return cancel_output("already_finished", message, before);
        }
        match self.runs.cancel(id).await {
            Ok(after) => {
                let (state, done, total) = (after.run.state, after.done, after.total);
                let message = run_cancel_message(id, true, state, done, total, self.words.as_ref());
                cancel_output("cancelled", message, after)
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
        }
    }
}

fn cancel_output(outcome: &str, message: String, run: RunStatus) -> CallToolResult {
    let out = CancelOutput::new(outcome, &message, run.current_execution.as_ref()).with_run(&run);
    let mut result = CallToolResult::structured(serde_json::to_value(&out).unwrap_or_default());
    result.content.insert(0, ContentBlock::text(message));
    result
}
