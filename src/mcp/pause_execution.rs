//! `pause_execution`: pause a running or queued execution — its whole process tree stopped
//! (SIGSTOP), its time limit and stall watchdog standing still — or resume it with
//! `resume: true` (see [`crate::exec::pause`]). One tool for both directions keeps the tool
//! list small; the answer says what changed and where the execution stands.
//!
//! A finished execution (or one whose run is over and is being recorded) gets the outcome
//! `already_finished`, as `cancel_execution` answers: a clear answer, not a failure of the
//! tool. An unknown id, or one another server runs, is a tool error with the reason.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CcExecutorServer;
use super::ids::parse_execution_id;
use crate::exec::pause::{PauseError, PauseReport};
use crate::exec::registry::Phase;
use crate::exec::words::{Vocabulary, pause_message};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseInput {
    /// The execution to pause or resume.
    pub execution_id: String,
    /// Resume it instead of pausing it.
    #[serde(default)]
    pub resume: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PauseOutput {
    /// `paused`, `already_paused`, `resumed`, `not_paused` or `already_finished`.
    pub outcome: String,
    pub message: String,
    pub execution_id: uuid::Uuid,
    pub phase: Phase,
    /// Time paused so far; not counted against its timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_ms: Option<u64>,
}

#[tool_router(router = pause_execution_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Pauses an execution (its process tree stops; so does its time limit), or resumes it
    /// with `resume: true`. A pause over the server's `max_pause_secs` cancels it.
    #[tool(
        name = "pause_execution",
        title = "Pause or resume an execution",
        input_schema = super::surface::placeholder(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn pause_execution(
        &self,
        Parameters(input): Parameters<PauseInput>,
    ) -> Result<CallToolResult, ErrorData> {
        let id = match parse_execution_id("execution_id", &input.execution_id) {
            Ok(id) => id,
            Err(m) => return Ok(CallToolResult::error(vec![ContentBlock::text(m)])),
        };
        let done = if input.resume {
            self.executor.resume(id).await
        } else {
            self.executor.pause(id).await
        };
        Ok(match done {
            Ok(report) => answer(
                id,
                &report,
                self.executor.config().max_pause,
                self.words.as_ref(),
            ),
            Err(e @ (PauseError::Finished { .. } | PauseError::Closed { .. })) => {
                let out = PauseOutput {
                    outcome: "already_finished".into(),
                    message: e.to_string(),
                    execution_id: id,
                    phase: Phase::Finished,
                    paused_ms: None,
                };
                structured(out)
            }
            Err(PauseError::Unknown(_)) => {
                CallToolResult::error(vec![ContentBlock::text(self.unknown(id).await)])
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
        })
    }
}

impl CcExecutorServer {
    /// The message for an id that is no execution here: a run's id names the execution to
    /// pause instead (a run is paused through the task it runs; between tasks there is none).
    async fn unknown(&self, id: uuid::Uuid) -> String {
        match self.runs.status(id).await {
            Ok(Some(run)) => match run.current_execution {
                Some(e) => format!(
                    "{id} is a run; pause the task it is running: execution_id {}",
                    e.execution_id
                ),
                None => format!(
                    "{id} is a run ({}) with no task running now; there is nothing to pause (cancel_execution stops a run)",
                    run.run.state
                ),
            },
            _ => PauseError::Unknown(id).to_string(),
        }
    }
}

fn structured(out: PauseOutput) -> CallToolResult {
    let message = out.message.clone();
    let mut result = CallToolResult::structured(serde_json::to_value(&out).unwrap_or_default());
    result.content.insert(0, ContentBlock::text(message));
    result
}

fn answer(
    id: uuid::Uuid,
    report: &PauseReport,
    max_pause: std::time::Duration,
    words: &dyn Vocabulary,
) -> CallToolResult {
    let status = &report.status;
    let message = pause_message(
        id,
        report.change,
        status.paused_ms,
        report.settled,
        Some(max_pause),
        words,
    );
    structured(PauseOutput {
        outcome: report.change.as_str().to_string(),
        message,
        execution_id: id,
        phase: status.phase,
        paused_ms: status.paused_ms,
    })
}
