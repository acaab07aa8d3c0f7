//! One task: `cc_execute`, `execute` and their asyncio versions start here.
//!
//! The request is the MCP tool's [`TaskRequest`], validated by the library; the result is the
//! library's [`cc_executor::ExecutionResult`] serialized as the MCP tool's structured result
//! (the same JSON). Progress is the execution's event log ([`Executor::events`]), read from
//! its first event, so the caller sees every event in order — the model's text included.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use cc_executor::exec::progress::NoProgress;
use cc_executor::exec::queue::Reservation;
use cc_executor::{Executor, TaskRequest};

use crate::config::PyConfig;
use crate::errors::BindError;
use crate::events;
use crate::handle::{Handle, Item, Sender};
use crate::runtime::{Shared, runtime};

/// `timeout` in seconds as Python gives it (an int or a float) → whole seconds, rounded up
/// (a task given 0.5 s gets 1 s, not 0).
fn timeout_secs(timeout: Option<f64>) -> Result<Option<i64>, BindError> {
    match timeout {
        None => Ok(None),
        Some(t) if !t.is_finite() || t <= 0.0 => Err(BindError::Task(format!(
            "invalid `timeout`: must be a positive number of seconds, got {t}"
        ))),
        // Finite and positive: the cast saturates at i64::MAX, which validation refuses
        // with its own message (over the policy's maximum).
        Some(t) => Ok(Some(t.ceil() as i64)),
    }
}

fn path_text(field: &str, path: Option<PathBuf>) -> Result<Option<String>, BindError> {
    path.map(|p| {
        p.to_str().map(str::to_owned).ok_or_else(|| {
            BindError::Task(format!("invalid `{field}`: the path is not valid UTF-8"))
        })
    })
    .transpose()
}

/// Starts one task and returns its handle at once. The task's place in the FIFO line is
/// taken here, while the caller still holds the GIL: calls from several threads queue in the
/// order they were made, as MCP calls queue in the order they arrive.
#[pyfunction]
#[pyo3(signature = (
    config, task, *, timeout=None, cwd=None, model=None, permission_mode=None,
    allowed_tools=None, disallowed_tools=None, max_turns=None, max_budget_usd=None,
    append_system_prompt=None, json_schema=None, accept=None, repair=None, events=false
))]
#[allow(clippy::too_many_arguments)]
pub fn start_task(
    py: Python<'_>,
    config: &PyConfig,
    task: String,
    timeout: Option<f64>,
    cwd: Option<PathBuf>,
    model: Option<String>,
    permission_mode: Option<String>,
    allowed_tools: Option<Vec<String>>,
    disallowed_tools: Option<Vec<String>>,
    max_turns: Option<i64>,
    max_budget_usd: Option<f64>,
    append_system_prompt: Option<String>,
    json_schema: Option<String>,
    accept: Option<String>,
    repair: Option<i64>,
    events: bool,
) -> PyResult<Handle> {
    let json_schema = match json_schema {
        None => None,
        Some(text) => Some(
            serde_json::from_str::<Value>(&text)
                .map_err(|e| BindError::Task(format!("invalid `json_schema`: not JSON: {e}")))?,
        ),
    };
    // `accept` is the MCP tool's object, as JSON text: the library names a bad field.
    let accept = match accept {
        None => None,
        Some(text) => Some(
            serde_json::from_str::<cc_executor::types::accept::AcceptRequest>(&text)
                .map_err(|e| BindError::Task(format!("invalid `accept`: {e}")))?,
        ),
    };
    let repair = repair.map(|n| cc_executor::types::accept::RepairRequest { max_attempts: n });
    let request = TaskRequest {
        timeout_secs: timeout_secs(timeout)?,
        cwd: path_text("cwd", cwd)?,
        model,
        permission_mode,
        allowed_tools,
        disallowed_tools,
        max_turns,
        max_budget_usd,
        append_system_prompt,
        json_schema,
        accept,
        repair,
        ..TaskRequest::new(task)
    };
    let shared = config.shared(py)?;
    let place = shared.executor.reserve();
    let (handle, tx, cancel) = Handle::new();
    runtime()?.spawn(run_task(shared, request, place, events, tx, cancel));
    Ok(handle)
}

async fn run_task(
    shared: Arc<Shared>,
    request: TaskRequest,
    place: Reservation,
    events: bool,
    tx: Sender,
    cancel: tokio_util::sync::CancellationToken,
) {
    let executor = &shared.executor;
    let item = match execute(executor, request, place, events, &tx, &cancel).await {
        Ok(json) => Item::Done(json),
        Err(e) => Item::Failed(e),
    };
    // Err: the caller is gone (it dropped its handle); the result is in the history anyway.
    let _ = tx.send(item);
}

/// Validates, queues, forwards the events, and returns the result as JSON text.
async fn execute(
    executor: &Executor,
    request: TaskRequest,
    place: Reservation,
    events: bool,
    tx: &Sender,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<String, BindError> {
    // Refused here: the place is dropped with the error and the line moves on.
    let spec = executor.prepare(request).await?;
    if !events {
        // No progress wanted: the library's own call, which owns cancellation (the token
        // stops the execution and its tree) and hands the result over without a registry
        // round trip — the cheapest path, what a Rust caller uses.
        let result = executor
            .execute_at(spec, NoProgress, cancel.clone(), Some(place))
            .await;
        return serde_json::to_string(&result)
            .map_err(|e| BindError::Internal(format!("cannot serialize the result: {e}")));
    }
    let submission = executor.submit_at(spec, NoProgress, Some(place)).await?;
    let id = submission.execution_id;
    // Cancelling the handle (Ctrl-C, `task.cancel()`, a dropped handle) cancels the
    // execution, which stops its process tree; the result then says `cancelled`.
    let watcher = {
        let executor = executor.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            cancel.cancelled().await;
            executor.cancel(id).await;
        })
    };
    if events {
        forward_events(executor, id, tx).await;
    }
    let result = executor.wait(id).await;
    watcher.abort();
    let result = result
        .ok_or_else(|| BindError::Internal(format!("execution {id} ended without a result")))?;
    serde_json::to_string(&result)
        .map_err(|e| BindError::Internal(format!("cannot serialize the result: {e}")))
}

/// Every event of the execution, in order, until its `finished` event.
async fn forward_events(executor: &Executor, id: Uuid, tx: &Sender) {
    let Some(mut stream) = executor.events(id, 0) else {
        return;
    };
    while let Some(item) = stream.next().await {
        let map = events::feed_json(&item, id);
        if tx
            .send(Item::Event(Value::Object(map).to_string()))
            .is_err()
        {
            return;
        }
    }
}
