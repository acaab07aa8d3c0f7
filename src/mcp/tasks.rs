//! The MCP Tasks extension (SEP-2663): when a client declares the tasks capability,
//! `cc_execute` is materialised as a task whose id is the execution id. `tasks/get` and
//! `tasks/cancel` map onto the same executions as `monitor_execution` and `cancel_execution`;
//! clients without the capability get the normal blocking (or `wait: false`) behaviour.

use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CreateTaskResult, DetailedTask, GetTaskResult, Task,
    TaskPayload, TaskStatus,
};
use rmcp::service::RequestContext;

use super::CcExecutorServer;
use super::cc_execute::to_tool_result;
use super::ids::parse_execution_id;
use crate::exec::Executor;
use crate::exec::registry::Phase;
use crate::exec::result::Status;
use crate::exec::spec::TaskRequest;

/// Suggested polling interval for `tasks/get`.
const POLL_INTERVAL_MS: u64 = 2000;

impl CcExecutorServer {
    /// `Some(response)` when this call becomes a task: `cc_execute`, from a client that
    /// declared tasks, with valid arguments. Invalid arguments fall through to the normal path,
    /// which reports them.
    pub(crate) async fn start_as_task(
        &self,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Option<CallToolResponse> {
        let tasks = context
            .client_capabilities()
            .is_some_and(|caps| caps.supports_tasks());
        if !tasks || request.name != "cc_execute" {
            return None;
        }
        let args = serde_json::Value::Object(request.arguments.clone().unwrap_or_default());
        let req: TaskRequest = serde_json::from_value(args).ok()?;
        let spec = self.executor.prepare(req).await.ok()?;
        let place = super::arrival::take(context);
        let submission = self.executor.submit_at(spec, |_| {}, place).await.ok()?;
        let status = self.executor.status(submission.execution_id)?;
        let created = status.submitted_at.to_rfc3339();
        let task = Task::new(
            submission.execution_id.to_string(),
            TaskStatus::Working,
            created.clone(),
            created,
        )
        .with_poll_interval_ms(POLL_INTERVAL_MS)
        .with_status_message(if submission.queue_position == 0 {
            "running".to_string()
        } else {
            format!("queued at position {}", submission.queue_position)
        });
        Some(CallToolResponse::Task(CreateTaskResult::new(task)))
    }
}

fn unknown(task_id: &str) -> ErrorData {
    ErrorData::invalid_params(format!("unknown task `{task_id}`"), None)
}

/// `tasks/get`: the execution's state; the `cc_execute` tool result once finished.
pub async fn get_task(executor: &Executor, task_id: &str) -> Result<GetTaskResult, ErrorData> {
    let id =
        parse_execution_id("taskId", task_id).map_err(|m| ErrorData::invalid_params(m, None))?;
    let status = executor.lookup(id).await.ok_or_else(|| unknown(task_id))?;
    let payload = match (&status.phase, &status.result) {
        (Phase::Finished, Some(r)) if r.status == Status::Cancelled => TaskPayload::Cancelled,
        (Phase::Finished, Some(r)) => match serde_json::to_value(to_tool_result(r.clone())) {
            Ok(serde_json::Value::Object(result)) => TaskPayload::Completed { result },
            _ => TaskPayload::Working,
        },
        _ => TaskPayload::Working,
    };
    let mut task = Task::new(
        task_id,
        payload.status(),
        status.submitted_at.to_rfc3339(),
        chrono::Utc::now().to_rfc3339(),
    )
    .with_poll_interval_ms(POLL_INTERVAL_MS);
    if let Some(event) = &status.last_event {
        task = task.with_status_message(event.clone());
    }
    Ok(GetTaskResult::new(DetailedTask::new(task, payload)))
}

/// `tasks/cancel`: cooperative; the process tree is stopped in the background and `tasks/get`
/// reports `cancelled` once it is gone.
pub fn cancel_task(executor: &Executor, task_id: &str) -> Result<(), ErrorData> {
    let id =
        parse_execution_id("taskId", task_id).map_err(|m| ErrorData::invalid_params(m, None))?;
    executor.status(id).ok_or_else(|| unknown(task_id))?;
    let executor = executor.clone();
    tokio::spawn(async move { executor.cancel(id).await });
    Ok(())
}
