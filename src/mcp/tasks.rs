//! The MCP Tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`): `cc_execute` as a task
//! whose id is the execution id; `tasks/get` and `tasks/cancel` map onto the same executions as
//! `monitor_execution` and `cancel_execution`.
//!
//! **A task only when the request asks for one.** Task creation is server-directed, but only
//! for a request that declares the extension in its *own* client capabilities
//! (`_meta["io.modelcontextprotocol/clientCapabilities"]`), which is how a client that polls
//! says so. A client that declared the extension only at `initialize` (the MCP Inspector does,
//! then never polls a plain `tools/call`) gets the normal call: blocking, with progress. No
//! tool here requires task execution, so nothing else makes a call a task.
//!
//! **Never slower than a plain call.** A task call waits up to [`TASK_GRACE`] for the
//! execution to finish; if it does, the answer is the finished result itself, not a handle to
//! poll. Otherwise the handle suggests a poll interval from the predicted duration
//! ([`poll_interval`]), and so does every `tasks/get` while it runs.
//!
//! **A paused execution is `working`**, with a status message that says it is paused. Not
//! `input_required`: that status tells the client the server waits for *its* input and sends
//! it to `tasks/result` to receive the request (an elicitation) — there is none; a pause is
//! ended by a `pause_execution` call, or by `max_pause_secs`. The task is still in progress,
//! only stopped for a while, which is what `working` says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ErrorData;
use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CreateTaskResult,
    DetailedTask, GetTaskResult, Task, TaskPayload, TaskStatus,
};
use rmcp::service::RequestContext;
use uuid::Uuid;

use super::CcExecutorServer;
use super::cc_execute::to_tool_result;
use super::ids::parse_execution_id;
use super::progress::{Forwarder, Note};
use crate::exec::Executor;
use crate::exec::progress::ProgressEvent;
use crate::exec::registry::Phase;
use crate::exec::result::Status;
use crate::exec::spec::TaskRequest;

/// How long a task call waits for its execution before it answers with a handle.
pub const TASK_GRACE: Duration = Duration::from_secs(1);

/// Bounds of the suggested poll interval.
const POLL_MIN: Duration = Duration::from_millis(500);
const POLL_MAX: Duration = Duration::from_secs(5);

/// Suggested `tasks/get` interval when nothing is predicted (a task of an earlier process).
const POLL_DEFAULT: Duration = Duration::from_secs(2);

/// Most predictions kept for running tasks; finished ones are dropped first.
const HINTS_MAX: usize = 4096;

/// The poll interval to suggest for a task predicted to take `predicted` (its median) that
/// has run for `elapsed` (queue included): a quarter of the time predicted to be left, so a
/// short task is looked at soon after it should be done; once it is overdue, a twentieth of
/// its age (it is taking long; checking often does not make it finish). Always between
/// 0.5 s and 5 s.
pub fn poll_interval(predicted: Duration, elapsed: Duration) -> Duration {
    let wait = match predicted.checked_sub(elapsed) {
        Some(left) if !left.is_zero() => left / 4,
        _ => elapsed / 20,
    };
    wait.clamp(POLL_MIN, POLL_MAX)
}

/// Predicted durations of the tasks this process created, for their poll intervals.
#[derive(Clone, Default)]
pub struct TaskHints(Arc<Mutex<HashMap<Uuid, Duration>>>);

impl TaskHints {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Duration>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, executor: &Executor, id: Uuid, predicted: Duration) {
        let mut map = self.map();
        if map.len() >= HINTS_MAX {
            // Tasks that finished (or this process no longer knows) need no hint.
            map.retain(|id, _| {
                executor
                    .status(*id)
                    .is_some_and(|s| s.phase != Phase::Finished)
            });
        }
        if map.len() < HINTS_MAX {
            map.insert(id, predicted);
        }
    }

    fn get(&self, id: Uuid) -> Option<Duration> {
        self.map().get(&id).copied()
    }

    fn forget(&self, id: Uuid) {
        self.map().remove(&id);
    }
}

/// Does this request ask for a task? Only when it declares the tasks extension in its own
/// `_meta` client capabilities (see the module docs).
pub fn wants_task(context: &RequestContext<RoleServer>) -> bool {
    context
        .meta
        .client_capabilities()
        .is_some_and(|caps| caps.supports_tasks())
}

fn error_result(message: String) -> CallToolResponse {
    CallToolResponse::Complete(CallToolResult::error(vec![ContentBlock::text(message)]))
}

impl CcExecutorServer {
    /// `Some(response)` when this call is answered as a task: `cc_execute`, from a request
    /// that asks for a task, with arguments that parse and without `wait: false` (which asks
    /// for the tool's own handle). Arguments that do not parse fall through to the normal
    /// path, which reports them. The response is the finished result when the execution ends
    /// within [`TASK_GRACE`], else the task handle.
    pub(crate) async fn start_as_task(
        &self,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Option<CallToolResponse> {
        if request.name != "cc_execute" || !wants_task(context) {
            return None;
        }
        let args = serde_json::Value::Object(request.arguments.clone().unwrap_or_default());
        let req: TaskRequest = serde_json::from_value(args).ok()?;
        if req.wait == Some(false) {
            return None;
        }
        // Taken on arrival; dropped (the line moves on) if the request is refused below.
        let place = super::arrival::take(context);
        let mut spec = match self.executor.prepare(req).await {
            Ok(spec) => spec,
            Err(e) => return Some(error_result(e.to_string())),
        };
        if let Some(session) = super::arrival::http_session(context) {
            self.executor.join_session_queue(&mut spec, &session);
        }
        let classification = crate::plan::classify(&spec.prompt);
        let predicted = self
            .executor
            .planner()
            .predictor()
            .predict_for(&classification)
            .await;
        let predicted = Duration::from_secs(predicted.median_secs);

        // Progress and log messages go to the call while it may still answer with the result;
        // once it answers with a handle they stop (nothing may follow a response).
        let forwarder = Forwarder::new(
            context,
            self.logging.threshold(context),
            self.input_closed.clone(),
        );
        let gate = Arc::new(Mutex::new(Some(forwarder.sender())));
        let sink = {
            let gate = gate.clone();
            move |event: ProgressEvent| {
                let gate = gate.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(tx) = gate.as_ref() {
                    let level = super::logging::event_level(&event);
                    let _ = tx.send(Note::step(event.message(), level));
                }
            }
        };
        let submission = match self.executor.submit_at(spec, sink, place).await {
            Ok(s) => s,
            Err(e) => return Some(error_result(e.to_string())),
        };
        let id = submission.execution_id;
        let finished = tokio::select! {
            r = tokio::time::timeout(TASK_GRACE, self.executor.wait(id)) => r.ok().flatten(),
            _ = context.ct.cancelled() => {
                // The client gave up on the call before it learnt the id: stop the execution.
                let executor = self.executor.clone();
                tokio::spawn(async move { executor.cancel(id).await });
                None
            }
        };
        if let Some(result) = &finished {
            super::cc_execute::log_warnings(&forwarder, result);
        }
        gate.lock().unwrap_or_else(|p| p.into_inner()).take();
        forwarder.flush().await;
        if let Some(result) = finished {
            return Some(CallToolResponse::Complete(to_tool_result(result)));
        }

        let status = self.executor.status(id);
        let created = status
            .as_ref()
            .map_or_else(chrono::Utc::now, |s| s.submitted_at)
            .to_rfc3339();
        let elapsed = status
            .as_ref()
            .map_or(TASK_GRACE, |s| Duration::from_millis(s.elapsed_ms));
        self.task_hints.insert(&self.executor, id, predicted);
        let poll = poll_interval(predicted, elapsed);
        tracing::debug!("cc_execute {id}: answered with a task handle (poll every {poll:?})");
        let task = Task::new(
            id.to_string(),
            TaskStatus::Working,
            created,
            chrono::Utc::now().to_rfc3339(),
        )
        .with_poll_interval_ms(millis(poll))
        .with_status_message(match status.and_then(|s| s.queue_position) {
            Some(n) if n > 0 => format!("queued at position {n}"),
            _ => "running".to_string(),
        });
        Some(CallToolResponse::Task(CreateTaskResult::new(task)))
    }

    /// `tasks/get`: the execution's state; the `cc_execute` tool result once finished.
    pub(crate) async fn get_task(&self, task_id: &str) -> Result<GetTaskResult, ErrorData> {
        let id = parse_execution_id("taskId", task_id)
            .map_err(|m| ErrorData::invalid_params(m, None))?;
        let status = self
            .executor
            .lookup(id)
            .await
            .ok_or_else(|| unknown(task_id))?;
        let payload = match (&status.phase, &status.result) {
            (Phase::Finished, Some(r)) if r.status == Status::Cancelled => TaskPayload::Cancelled,
            (Phase::Finished, Some(r)) => match serde_json::to_value(to_tool_result(r.clone())) {
                Ok(serde_json::Value::Object(result)) => TaskPayload::Completed { result },
                _ => TaskPayload::Working,
            },
            _ => TaskPayload::Working,
        };
        let interval = match (&payload, self.task_hints.get(id)) {
            (TaskPayload::Working, Some(predicted)) => {
                poll_interval(predicted, Duration::from_millis(status.elapsed_ms))
            }
            (TaskPayload::Working, None) => POLL_DEFAULT,
            _ => {
                self.task_hints.forget(id);
                POLL_DEFAULT
            }
        };
        let mut task = Task::new(
            task_id,
            payload.status(),
            status.submitted_at.to_rfc3339(),
            chrono::Utc::now().to_rfc3339(),
        )
        .with_poll_interval_ms(millis(interval));
        if status.phase == Phase::Paused {
            task = task.with_status_message(
                "paused (its time limit is not counting); resume it with pause_execution resume: true",
            );
        } else if let Some(event) = &status.last_event {
            task = task.with_status_message(event.clone());
        }
        Ok(GetTaskResult::new(DetailedTask::new(task, payload)))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn unknown(task_id: &str) -> ErrorData {
    ErrorData::invalid_params(format!("unknown task `{task_id}`"), None)
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

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_poll_interval_follows_the_time_predicted_to_be_left() {
        // A 10 s task, 1 s in: a quarter of the 9 s left.
        assert_eq!(poll_interval(S(10), S(1)), MS(2250));
        // Nearly done: soon, but never more often than every 0.5 s.
        assert_eq!(poll_interval(S(10), MS(9_900)), POLL_MIN);
        // A long task: never less often than every 5 s.
        assert_eq!(poll_interval(S(1200), S(1)), POLL_MAX);
        // Overdue: backs off with its age, within the same bounds.
        assert_eq!(poll_interval(S(10), S(40)), S(2));
        assert_eq!(poll_interval(S(10), S(10)), POLL_MIN);
        assert_eq!(poll_interval(S(10), S(3600)), POLL_MAX);
        // Nothing predicted: treated as overdue from the start.
        assert_eq!(poll_interval(S(0), S(1)), POLL_MIN);
    }
}
