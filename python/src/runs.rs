//! Task lists as durable runs: `cc_execute_list` and `resume_run`.
//!
//! A run is created and driven by the library's [`cc_executor::runs::RunService`] exactly as
//! the MCP tool `cc_execute_list` does it (same validation, same store, same FIFO line for its
//! tasks); the result is the tool's structured output with the whole run record. Events (only
//! when the caller has a progress callback) are the run's and each task's, in order: see
//! [`crate::events`].

use std::sync::Arc;

use pyo3::prelude::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cc_executor::exec::queue::Reservation;
use cc_executor::plan::validate::parse_tasks;
use cc_executor::runs::{
    FailurePolicy, ResumeOptions, Run, RunError, RunEvent, RunRequest, RunService, TaskDefaults,
};

use crate::config::PyConfig;
use crate::errors::BindError;
use crate::events;
use crate::handle::{Handle, Item, Sender};
use crate::runtime::{Shared, runtime};

/// The `cc_execute_list` tool's answer for a finished run, as JSON text — with the whole run
/// record as `run` (the MCP tool sends a compact view to save the model's context; a Python
/// caller gets every task's position, prompt, timing and executions).
fn output_json(run: &Run) -> Result<String, BindError> {
    let out = json!({
        "run_id": run.run_id,
        "state": run.state,
        "done": run.done(),
        "total": run.tasks.len(),
        "cost_usd": run.cost_usd,
        "run": run,
    });
    serde_json::to_string(&out)
        .map_err(|e| BindError::Internal(format!("cannot serialize the run: {e}")))
}

fn parse_json(field: &str, text: &str) -> Result<Value, BindError> {
    serde_json::from_str(text)
        .map_err(|e| BindError::Argument(format!("invalid `{field}`: not JSON: {e}")))
}

/// What to start: a new run or a stored one to resume.
enum Start {
    New(Box<RunRequest>),
    Resume(Uuid, ResumeOptions),
}

/// Starts a new run from a task list (JSON text: strings or `{"id", "task", "depends_on"}`
/// objects) and returns its handle; nothing runs when the list is invalid.
#[pyfunction]
#[pyo3(signature = (
    config, tasks, *, on_failure="stop", budget_usd=None, defaults=None,
    max_usage_wait_secs=None, events=false
))]
#[allow(clippy::too_many_arguments)]
pub fn start_list(
    py: Python<'_>,
    config: &PyConfig,
    tasks: &str,
    on_failure: &str,
    budget_usd: Option<f64>,
    defaults: Option<&str>,
    max_usage_wait_secs: Option<u64>,
    events: bool,
) -> PyResult<Handle> {
    let failure_policy = match on_failure {
        "stop" => FailurePolicy::Stop,
        "continue" => FailurePolicy::Continue,
        "repair" => FailurePolicy::Repair,
        other => {
            return Err(BindError::Argument(format!(
                "invalid `on_failure`: expected \"stop\", \"continue\" or \"repair\", got {other:?}"
            ))
            .into());
        }
    };
    let value = parse_json("tasks", tasks)?;
    // The MCP tool's words for an invalid list (every problem, one per line).
    let items = parse_tasks(&value).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("- {}", e.message)).collect();
        BindError::Task(format!(
            "the task list is not valid, nothing was started:\n{}",
            lines.join("\n")
        ))
    })?;
    let defaults: TaskDefaults = match defaults {
        None => TaskDefaults::default(),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| BindError::Argument(format!("invalid `defaults`: {e}")))?,
    };
    let request = RunRequest {
        tasks: items,
        failure_policy,
        budget_usd,
        defaults,
        max_usage_wait_secs,
        source: Some("python".into()),
    };
    start(py, config, Start::New(Box::new(request)), events)
}

/// Resumes a stored run (interrupted, cancelled, or stopped by its budget) from its first
/// unfinished task; succeeded tasks are not run again.
#[pyfunction]
#[pyo3(signature = (config, run_id, *, budget_usd=None, force=false, events=false))]
pub fn start_resume(
    py: Python<'_>,
    config: &PyConfig,
    run_id: &str,
    budget_usd: Option<f64>,
    force: bool,
    events: bool,
) -> PyResult<Handle> {
    let id = Uuid::parse_str(run_id.trim()).map_err(|_| {
        BindError::Argument(format!(
            "invalid `run_id`: not a run id (a UUID): {run_id:?}"
        ))
    })?;
    start(
        py,
        config,
        Start::Resume(id, ResumeOptions { budget_usd, force }),
        events,
    )
}

fn start(py: Python<'_>, config: &PyConfig, what: Start, events: bool) -> PyResult<Handle> {
    let shared = config.shared(py)?;
    let place = shared.executor.reserve();
    let (handle, tx, cancel) = Handle::new();
    runtime()?.spawn(async move {
        let item = match drive(&shared, what, place, events, &tx, &cancel).await {
            Ok(json) => Item::Done(json),
            Err(e) => Item::Failed(e),
        };
        let _ = tx.send(item);
    });
    Ok(handle)
}

async fn drive(
    shared: &Arc<Shared>,
    what: Start,
    place: Reservation,
    events: bool,
    tx: &Sender,
    cancel: &CancellationToken,
) -> Result<String, BindError> {
    let runs = &shared.runs;
    let run = match what {
        Start::New(request) => runs.create(*request).await?,
        Start::Resume(id, options) => runs.resume(id, options).await?,
    };
    let id = run.run_id;
    if !events {
        let id = runs.start_at(run, |_: RunEvent| {}, Some(place));
        return output_json(&wait_or_cancel(runs, id, cancel).await?);
    }
    let (sink, run_events) = events::run_sink(shared.executor.clone());
    let mut forwarder = events::RunForwarder::new(run_events, tx.clone(), &run);
    runs.start_at(run, sink, Some(place));
    let finished = forwarder
        .forward_until(wait_or_cancel(runs, id, cancel))
        .await;
    output_json(&finished?)
}

/// Waits for the run to stop; cancelling the call cancels the run (its current task's process
/// tree is stopped; the run is saved as cancelled and can be resumed).
async fn wait_or_cancel(
    runs: &RunService,
    id: Uuid,
    cancel: &CancellationToken,
) -> Result<Run, RunError> {
    tokio::select! {
        r = runs.wait(id) => r,
        _ = cancel.cancelled() => {
            let _ = runs.cancel(id).await;
            runs.wait(id).await
        }
    }
}
