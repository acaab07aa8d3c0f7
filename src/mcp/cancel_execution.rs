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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// The execution to cancel.
    pub execution_id: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CancelOutput {
    /// `cancelled` when this call stopped it; `already_finished` when there was nothing to stop.
    pub outcome: String,
    pub message: String,
    /// Its final state (with the result).
    pub execution: ExecutionStatus,
}

#[tool_router(router = cancel_execution_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Cancels an execution: a queued one never starts; a running one has its whole process
    /// tree stopped. Returns the final state. Cancelling a finished execution changes nothing.
    #[tool(
        name = "cancel_execution",
        output_schema = super::schema::output::<CancelOutput>(),
        input_schema = super::schema::input::<CancelInput>(),
        annotations(destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    pub async fn cancel_execution(
        &self,
        Parameters(input): Parameters<CancelInput>,
    ) -> Result<CallToolResult, ErrorData> {
        let id = match parse_execution_id("execution_id", &input.execution_id) {
            Ok(id) => id,
            Err(m) => return Ok(CallToolResult::error(vec![ContentBlock::text(m)])),
        };
        let Some(before) = self.executor.lookup(id).await else {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                "unknown execution id {id}: it never ran on this server, or it finished long ago"
            ))]));
        };
        let was_finished = before.phase == Phase::Finished;
        let after = self.executor.cancel(id).await.unwrap_or(before);
        let (outcome, message) = if was_finished {
            (
                "already_finished",
                format!(
                    "execution {id} had already finished ({}); nothing to cancel",
                    after.status.map(Status::as_str).unwrap_or("unknown")
                ),
            )
        } else {
            (
                "cancelled",
                format!(
                    "execution {id} was stopped; final status: {}",
                    after.status.map(Status::as_str).unwrap_or("still stopping")
                ),
            )
        };
        let out = CancelOutput {
            outcome: outcome.into(),
            message: message.clone(),
            execution: after,
        };
        let mut result = CallToolResult::structured(serde_json::to_value(&out).unwrap_or_default());
        result.content.insert(0, ContentBlock::text(message));
        Ok(result)
    }
}
