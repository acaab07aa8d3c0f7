//! `cc_execute`: run one task in a fresh Claude Code process and return the structured result.
//!
//! Progress notifications are sent only when the request carries a progress token, in order,
//! and all of them before the response. MCP cancellation (`notifications/cancelled`) cancels
//! the execution, which kills its process tree.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::CcExecutorServer;
use super::progress::Note;
use crate::exec::Submission;
use crate::exec::progress::ProgressEvent;
use crate::exec::result::{ExecutionResult, Status};
use crate::exec::spec::TaskRequest;

#[tool_router(router = cc_execute_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Runs one task in a fresh Claude Code process (`claude -p`) and returns its `status`,
    /// answer (`result`), files written, tools used, permission denials, cost and timing.
    /// Tasks run one at a time, in call order. The process sees nothing of this conversation:
    /// make `task` self-contained (goal, files, constraints, how to check).
    ///
    /// Permissions: by default (`acceptEdits`) a task may edit files but not run commands (a
    /// denied one makes the status `unverified`). To let it run something, list it in
    /// `allowed_tools`, e.g. `["Bash(pytest:*)"]`; `permission_mode` changes the baseline.
    ///
    /// Anything that may take over a minute: pass `wait: false` and follow the `execution_id`
    /// with `monitor_execution`. A status other than `succeeded` is an error result.
    #[tool(
        name = "cc_execute",
        title = "Run a task in a fresh Claude Code process",
        input_schema = super::surface::placeholder(),
        annotations(
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
        let wait = request.wait.unwrap_or(true);
        // Taken on arrival; dropped (the line moves on) if the request is refused below.
        let place = super::arrival::take(&ctx);
        let mut spec = match self.executor.prepare(request).await {
            Ok(spec) => spec,
            Err(e) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(
                    e.to_string(),
                )]));
            }
        };
        if let Some(session) = super::arrival::http_session(&ctx) {
            self.executor.join_session_queue(&mut spec, &session);
        }
        if !wait {
            return Ok(match self.executor.submit_at(spec, |_| {}, place).await {
                Ok(submission) => started_result(&submission),
                Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
            });
        }
        let forwarder = super::progress::Forwarder::new(
            &ctx,
            self.logging.threshold(&ctx),
            self.input_closed.clone(),
        );
        let tx = forwarder.sender();
        let sink = move |event: ProgressEvent| {
            let level = super::logging::event_level(&event);
            let _ = tx.send(Note::step(event.message(), level));
        };
        let result = self
            .executor
            .execute_at(spec, sink, ctx.ct.clone(), place)
            .await;
        log_warnings(&forwarder, &result);
        forwarder.flush().await;
        Ok(to_tool_result(result))
    }
}

/// The result's warnings as log messages (`warning`), after its progress steps.
pub(crate) fn log_warnings(forwarder: &super::progress::Forwarder, result: &ExecutionResult) {
    let tx = forwarder.sender();
    for w in &result.warnings {
        let _ = tx.send(Note::Log {
            level: super::logging::warning(),
            message: format!("cc_execute {}: {w}", result.execution_id),
        });
    }
}

/// What `cc_execute` returns with `wait: false`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Started {
    pub execution_id: uuid::Uuid,
    /// Always `started`.
    pub status: String,
    /// 0 when it started at once, else its place in the queue (1 = next).
    pub queue_position: usize,
    pub timeout_secs: u64,
    /// Where the timeout came from: `{"kind": "explicit" | "default" | "learned", …}`.
    pub timeout_basis: crate::exec::timeout::TimeoutBasis,
    pub next_step: String,
}

/// The tool's output: the full result, or (with `wait: false`) a handle to follow.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CcExecuteOutput {
    Finished(Box<ExecutionResult>),
    Started(Started),
}

/// The immediate answer to a non-blocking call.
fn started_result(s: &Submission) -> CallToolResult {
    let started = Started {
        execution_id: s.execution_id,
        status: "started".into(),
        queue_position: s.queue_position,
        timeout_secs: s.timeout_secs,
        timeout_basis: s.timeout_basis.clone(),
        next_step: format!(
            "call monitor_execution with execution_id {} and wait_secs up to 50 until phase is finished",
            s.execution_id
        ),
    };
    let mut out = CallToolResult::structured(serde_json::to_value(&started).unwrap_or_default());
    out.content.insert(
        0,
        ContentBlock::text(format!(
            "started execution {} ({}; timeout {}s)",
            s.execution_id,
            if s.queue_position == 0 {
                "running now".to_string()
            } else {
                format!("queue position {}", s.queue_position)
            },
            s.timeout_secs
        )),
    );
    out
}

/// Answers up to this size are shown whole in the text block; bigger ones are shown by their
/// head and tail, with where the whole answer is (structured content, the resource).
const INLINE_ANSWER_MAX: usize = 32 * 1024;
const HEAD_TAIL: usize = 1024;

/// The tool result of a finished execution: the full result as structured content (the answer
/// moved into it, not copied) and a text block with the summary and the answer — whole when it
/// is small, else its first and last KiB and where to read it all.
pub fn to_tool_result(mut result: ExecutionResult) -> CallToolResult {
    let answer = result.result.take();
    let mut text = format!("cc_execute {}: {}", result.execution_id, result.summary());
    if let Some(a) = &answer {
        text.push_str("\n\n");
        if a.len() <= INLINE_ANSWER_MAX {
            text.push_str(a);
        } else {
            let head = crate::claude::collect::truncate_chars(a, HEAD_TAIL);
            let mut tail_start = a.len() - HEAD_TAIL;
            while !a.is_char_boundary(tail_start) {
                tail_start += 1;
            }
            text.push_str(&format!(
                "{head}\n\n[… the answer is {} bytes; the whole of it is in the structured result (`result`) and in the resource cc-executor://executions/{} …]\n\n{}",
                a.len(),
                result.execution_id,
                &a[tail_start..]
            ));
        }
    }
    let is_error = result.status != Status::Succeeded;
    let mut value = serde_json::to_value(&result).unwrap_or_default();
    super::result_view::strip(&mut value);
    if let (Some(a), Value::Object(map)) = (answer, &mut value) {
        map.insert("result".into(), Value::String(a));
    }
    super::reply::structured(value, text, is_error)
}
