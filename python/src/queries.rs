//! The read-only operations: history, export, verify, and the planner's answers about a task
//! or a task list. Each does what its MCP tool (or CLI command, for export) does, with the
//! same library calls, and returns the tool's structured result as JSON text.
//!
//! They are quick, so each runs to completion with the GIL released; `cc_executor.aio` runs
//! them in a worker thread.

use std::future::Future;

use pyo3::prelude::*;
use serde::Serialize;
use serde_json::Value;

use cc_executor::cli::history::{ExportFormat, all_records, export};
use cc_executor::evidence::verify::VerifyError;
use cc_executor::mcp::get_execution_history::HistoryOutput;
use cc_executor::mcp::verify_execution::VerifyInput;
use cc_executor::store::query::HistoryQuery;

use crate::config::PyConfig;
use crate::errors::BindError;
use crate::runtime::{Shared, runtime};

/// Runs `work` on the shared runtime with the GIL released.
fn block_on<T, F, Fut>(py: Python<'_>, config: &PyConfig, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(std::sync::Arc<Shared>) -> Fut + Send,
    Fut: Future<Output = Result<T, BindError>> + Send,
{
    let shared = config.shared(py)?;
    let rt = runtime()?;
    Ok(py.detach(|| rt.block_on(work(shared)))?)
}

fn to_json(value: &impl Serialize) -> Result<String, BindError> {
    serde_json::to_string(value)
        .map_err(|e| BindError::Internal(format!("cannot serialize the answer: {e}")))
}

fn parse_tasks_json(text: &str) -> Result<Value, BindError> {
    serde_json::from_str(text)
        .map_err(|e| BindError::Argument(format!("invalid `tasks`: not JSON: {e}")))
}

/// `get_execution_history`: newest first, with statistics over every match.
#[pyfunction]
#[pyo3(signature = (config, *, limit=None, status=None, since=None, until=None, search=None, include_stats=true))]
#[allow(clippy::too_many_arguments)]
pub fn history(
    py: Python<'_>,
    config: &PyConfig,
    limit: Option<i64>,
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
    search: Option<String>,
    include_stats: bool,
) -> PyResult<String> {
    let query = HistoryQuery {
        limit,
        status,
        since,
        until,
        search,
        include_stats: Some(include_stats),
    };
    let filter = query.to_filter().map_err(BindError::Argument)?;
    block_on(py, config, |shared| async move {
        let store = shared.executor.store();
        let records = store.list(&filter).await?;
        let stats = if include_stats {
            Some(store.stats(&filter).await?)
        } else {
            None
        };
        to_json(&HistoryOutput {
            executions: records.iter().map(|r| r.summary()).collect(),
            stats,
            store: store.health().await.backend,
        })
    })
}

/// `cc-executor history export`: full records, oldest first, as JSON (an array), JSON Lines
/// or CSV — the CLI's writer, so the files are byte for byte what the CLI writes.
#[pyfunction]
#[pyo3(signature = (config, *, format="json", limit=None, status=None, since=None, until=None, search=None))]
#[allow(clippy::too_many_arguments)]
pub fn export_history(
    py: Python<'_>,
    config: &PyConfig,
    format: &str,
    limit: Option<i64>,
    status: Option<String>,
    since: Option<String>,
    until: Option<String>,
    search: Option<String>,
) -> PyResult<String> {
    let format = match format {
        "json" => ExportFormat::Json,
        "jsonl" => ExportFormat::Jsonl,
        "csv" => ExportFormat::Csv,
        other => {
            return Err(BindError::Argument(format!(
                "invalid `format`: expected \"json\", \"jsonl\" or \"csv\", got {other:?}"
            ))
            .into());
        }
    };
    let query = HistoryQuery {
        limit,
        status,
        since,
        until,
        search,
        include_stats: None,
    };
    let filter = query.to_filter().map_err(BindError::Argument)?;
    block_on(py, config, |shared| async move {
        let store = shared.executor.store();
        let records = match limit {
            // The newest `limit`, written oldest first like a full export.
            Some(_) => {
                let mut page = store.list(&filter).await?;
                page.reverse();
                page
            }
            None => all_records(store.as_ref(), filter)
                .await
                .map_err(|e| BindError::Store(e.to_string()))?,
        };
        let mut out = Vec::new();
        export(&records, format, &mut out)
            .map_err(|e| BindError::Internal(format!("cannot write the export: {e}")))?;
        String::from_utf8(out)
            .map_err(|e| BindError::Internal(format!("the export is not UTF-8: {e}")))
    })
}

/// `verify_execution`: one execution (or every execution of a run), or the newest `last_n`.
#[pyfunction]
#[pyo3(signature = (config, execution_id=None, *, last_n=None, markdown=false))]
pub fn verify(
    py: Python<'_>,
    config: &PyConfig,
    execution_id: Option<String>,
    last_n: Option<i64>,
    markdown: bool,
) -> PyResult<String> {
    let input = VerifyInput {
        execution_id,
        last_n,
        markdown: Some(markdown),
    };
    let target = input.target().map_err(BindError::Argument)?;
    block_on(py, config, |shared| async move {
        let report = shared
            .executor
            .verify(target, markdown)
            .await
            .map_err(|e| match e {
                VerifyError::Store(s) => BindError::Store(s.to_string()),
                other => BindError::Argument(other.to_string()),
            })?;
        to_json(&report)
    })
}

/// `get_task_complexity`: classification, predicted duration and timeout from the history,
/// the recommended method and warnings about the prompt.
#[pyfunction]
pub fn task_complexity(py: Python<'_>, config: &PyConfig, task: String) -> PyResult<String> {
    block_on(py, config, |shared| async move {
        to_json(&shared.executor.planner().task_complexity(&task).await)
    })
}

/// `validate_task_list`: errors, warnings, estimates and risk (`valid` is false exactly when
/// there is an error; an invalid list is an answer here, not an exception).
#[pyfunction]
pub fn validate_tasks(py: Python<'_>, config: &PyConfig, tasks: &str) -> PyResult<String> {
    let value = parse_tasks_json(tasks)?;
    block_on(py, config, |shared| async move {
        to_json(&shared.executor.planner().validate(&value).await)
    })
}

/// `suggest_execution_strategy`: methods, timeouts, dependency waves and the plan as markdown.
#[pyfunction]
pub fn strategy(py: Python<'_>, config: &PyConfig, tasks: &str) -> PyResult<String> {
    let value = parse_tasks_json(tasks)?;
    block_on(py, config, |shared| async move {
        to_json(&shared.executor.planner().strategy(&value).await)
    })
}
