//! `cc_execute`: run one task in a fresh Claude Code process and return the structured result.
//!
//! Progress notifications are sent only when the request carries a progress token, in order,
//! and all of them before the response. MCP cancellation (`notifications/cancelled`) cancels
//! the execution, which kills its process tree.

use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ProgressNotificationParam};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use tokio::sync::mpsc;

use super::CcExecutorServer;
use crate::exec::progress::ProgressEvent;
use crate::exec::result::{ExecutionResult, Status};
use crate::exec::spec::TaskRequest;

#[tool_router(router = cc_execute_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Runs one task in a fresh Claude Code process (`claude -p`) with a clean context, after
    /// any earlier calls have finished (FIFO), and returns what happened: status, final answer,
    /// files written, tools used, permission denials, cost and timing. The task must be
    /// self-contained: the process sees nothing of your conversation.
    #[tool(
        name = "cc_execute",
        output_schema = schema_for_output::<ExecutionResult>(),
        annotations(
            title = "Run a task in a fresh Claude Code process",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    pub async fn cc_execute(
        &self,
        Parameters(request): Parameters<TaskRequest>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let spec = match self.executor.prepare(request) {
            Ok(spec) => spec,
            Err(e) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(
                    e.to_string(),
                )]));
            }
        };
        let (tx, mut rx) = mpsc::unbounded_channel::<ProgressEvent>();
        let forwarder = ctx.meta.get_progress_token().map(|token| {
            let peer = ctx.peer.clone();
            tokio::spawn(async move {
                let mut n = 0.0;
                while let Some(event) = rx.recv().await {
                    n += 1.0;
                    let param = ProgressNotificationParam::new(token.clone(), n)
                        .with_message(event.message());
                    if let Err(e) = peer.notify_progress(param).await {
                        tracing::debug!("progress notification not sent: {e}");
                    }
                }
            })
        });
        let sink = move |event: ProgressEvent| {
            let _ = tx.send(event);
        };
        let result = self
            .executor
            .execute_with_cancel(spec, sink, ctx.ct.clone())
            .await;
        if let Some(f) = forwarder {
            let _ = f.await; // every progress notification goes out before the response
        }
        Ok(to_tool_result(&result))
    }
}

/// Structured content (the full result) plus a short text for people and models.
pub fn to_tool_result(result: &ExecutionResult) -> CallToolResult {
    let value = serde_json::to_value(result).unwrap_or_default();
    let mut out = if result.status == Status::Succeeded {
        CallToolResult::structured(value)
    } else {
        CallToolResult::structured_error(value)
    };
    let mut text = format!("cc_execute {}: {}", result.execution_id, result.summary());
    if let Some(answer) = &result.result {
        text.push_str("\n\n");
        text.push_str(answer);
    }
    out.content.insert(0, ContentBlock::text(text));
    out
}
