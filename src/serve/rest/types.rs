//! The answers only the REST surface has. Everything else it answers is a type the MCP tools
//! already return (`ExecutionStatus`, `ExecutionResult`, `RunStatus`, `CancelOutput`,
//! `HistoryOutput`, `HealthOutput`), so both surfaces say the same thing the same way.
//!
//! These derive `schemars::JsonSchema` like those types; the OpenAPI document takes every
//! schema from `schemars` (see [`super::openapi`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::exec::Submission;
use crate::exec::timeout::TimeoutBasis;
use crate::runs::{Run, RunState};

/// `202 Accepted` for one task: it has its place in the FIFO line (and is journaled, so it
/// survives a crash); follow it at the URLs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Accepted {
    pub execution_id: Uuid,
    /// 0 when it started at once, else its place in the queue (1 = next).
    pub queue_position: usize,
    pub timeout_secs: u64,
    /// Where the timeout came from: `{"kind": "explicit" | "default" | "learned", …}`.
    pub timeout_basis: TimeoutBasis,
    /// `GET`: its live status (`DELETE`: cancel it).
    pub status_url: String,
    /// `GET`: its events as Server-Sent Events, ending with its result.
    pub events_url: String,
    /// `GET`: its full result once finished (409 until then).
    pub result_url: String,
}

impl Accepted {
    pub fn new(s: &Submission) -> Accepted {
        let base = execution_url(s.execution_id);
        Accepted {
            execution_id: s.execution_id,
            queue_position: s.queue_position,
            timeout_secs: s.timeout_secs,
            timeout_basis: s.timeout_basis.clone(),
            events_url: format!("{base}/events"),
            result_url: format!("{base}/result"),
            status_url: base,
        }
    }
}

/// `202 Accepted` for a task list: the run is stored and started; follow it at the URLs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunAccepted {
    pub run_id: Uuid,
    pub state: RunState,
    /// Tasks in the run.
    pub total: usize,
    /// `GET`: the run's status, every task's state (`DELETE`: cancel it).
    pub status_url: String,
    /// `GET`: the run's progress as Server-Sent Events, ending with its result.
    pub events_url: String,
    /// `GET`: the run and every task's full result once it has stopped (409 until then).
    pub result_url: String,
    /// `POST /execute` only: the `execution_id` the request carried, echoed. The run has its
    /// own id (`run_id`), which every URL uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_execution_id: Option<String>,
}

impl RunAccepted {
    pub fn new(run: &Run, client_execution_id: Option<String>) -> RunAccepted {
        let base = run_url(run.run_id);
        RunAccepted {
            run_id: run.run_id,
            state: run.state,
            total: run.tasks.len(),
            events_url: format!("{base}/events"),
            result_url: format!("{base}/result"),
            status_url: base,
            client_execution_id,
        }
    }
}

/// The predecessor's `POST /execute` body, kept so its clients can move over: a list of task
/// prompts, a timeout for each, and an id of the caller's (echoed, see
/// [`RunAccepted::client_execution_id`]).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteAlias {
    /// The prompts, run in order, each in a fresh Claude Code process.
    pub tasks: Vec<String>,
    /// Timeout of each task in seconds (the run's `defaults.timeout_secs`).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_per_task: Option<i64>,
    /// The caller's own id for this request; echoed as `client_execution_id`.
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// A run that has stopped, with every task's full result.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RunResult {
    pub run_id: Uuid,
    pub state: RunState,
    pub run: Run,
    /// The full result of each task that ran, in task order.
    pub results: Vec<TaskResult>,
}

/// One task's execution in a [`RunResult`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TaskResult {
    pub task_id: String,
    pub execution_id: Uuid,
    /// `null` when the result is no longer held anywhere (its record was removed).
    pub result: Option<crate::exec::result::ExecutionResult>,
}

/// `GET /auth/status`: can Claude Code authenticate, and with what — never the credential.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AuthStatus {
    /// Tasks can authenticate: Claude Code has a login of its own, or gets an API key.
    pub authenticated: bool,
    /// Which credential tasks use, in words (`a Claude subscription login (max)`,
    /// `ANTHROPIC_API_KEY from the environment`, `nothing`).
    pub source: String,
    /// The whole decision: the `api_key` mode, where a key would come from, whether it is
    /// passed, Claude Code's own login (its kind, never a secret), and why.
    pub credential: crate::exec::probe::Credential,
}

/// The problem details of every error (RFC 9457, `application/problem+json`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProblemDetails {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase (`Not Found`).
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong and what to change.
    pub detail: String,
    /// 409 for a result that is not ready: the execution's status now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<crate::exec::registry::ExecutionStatus>,
    /// 409 for a run's result that is not ready: the run's status now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<crate::runs::RunStatus>,
}

/// `/api/v1/executions/{id}`.
pub fn execution_url(id: Uuid) -> String {
    format!("{}/executions/{id}", super::PREFIX)
}

/// `/api/v1/runs/{id}`.
pub fn run_url(id: Uuid) -> String {
    format!("{}/runs/{id}", super::PREFIX)
}

/// How REST answers name next steps: this API's routes, never the MCP tools whose answers
/// some routes reuse (see [`crate::exec::words`]).
pub struct RestWords;

impl crate::exec::words::Vocabulary for RestWords {
    fn resume(&self, id: Uuid) -> String {
        format!("POST {}/resume", execution_url(id))
    }
    fn follow(&self, id: Uuid) -> String {
        format!("GET {} (or its /events)", execution_url(id))
    }
    fn resume_run(&self, id: Uuid) -> String {
        format!(
            "POST {}/runs {{\"resume_run_id\": \"{id}\"}}",
            super::PREFIX
        )
    }
}
