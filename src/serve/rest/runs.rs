//! Task lists over REST: `POST /runs` takes `cc_execute_list`'s arguments (a new list, or
//! `resume_run_id`), `POST /execute` the predecessor's `{tasks, timeout_per_task,
//! execution_id}`; both store and start the run and answer 202 at once. Status, result (409
//! while it is being driven) and cancel (the current task's process tree is stopped, nothing
//! more starts; the run stays resumable) follow the run by id.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rmcp::handler::server::wrapper::Parameters;
use uuid::Uuid;

use super::Rest;
use super::executions::{accepted, not_ready, tool_answer};
use super::openapi::{Refusals, SubmitRefusals};
use super::request::{admit, parse_id, parse_json, read_body};
use super::types::{ExecuteAlias, ProblemDetails, RunAccepted, RunResult, TaskResult, run_url};
use crate::exec::Reservation;
use crate::mcp::cancel_execution::CancelInput;
use crate::mcp::cc_execute_list::ExecuteListInput;
use crate::plan::validate::parse_tasks;
use crate::runs::{ResumeOptions, Run, RunError, RunRequest, RunStatus, TaskDefaults};
use crate::serve::problem::{Problem, problem};

/// Stores and starts a task list: `cc_execute_list`'s arguments (`tasks` as strings or
/// `{id, task, depends_on}`, `failure_policy`, `budget_usd`, `defaults`,
/// `max_usage_wait_secs`), or `resume_run_id` to go on with a stopped run. Checked first:
/// nothing is stored or run when the list is invalid. Its first task takes its place in the
/// FIFO line as the request arrives.
#[utoipa::path(
    post,
    path = "/api/v1/runs",
    tag = "runs",
    request_body(content = ExecuteListInput, description = "`cc_execute_list`'s arguments. `wait` must be absent or false."),
    responses(
        (status = 202, description = "Stored and started: follow it at the URLs", body = RunAccepted,
            headers(("Location" = String, description = "The run's status URL"))),
        (status = 400, description = "The body is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "`resume_run_id` names no run", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "The run to resume is finished or driven elsewhere", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "The list or a setting is refused (each problem named)", body = ProblemDetails, content_type = "application/problem+json"),
        SubmitRefusals,
    )
)]
pub async fn submit(State(rest): State<Rest>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_body(&rest.serve, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let input: ExecuteListInput = match parse_json(
        &bytes,
        "a task list (`{\"tasks\": [\"…\", \"…\"]}` with cc_execute_list's fields)",
    ) {
        Ok(i) => i,
        Err(r) => return r.into_response(),
    };
    if input.wait == Some(true) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "field `wait`: a REST submission always answers at once (202); leave `wait` out and \
             follow the run at its events_url or result_url",
        );
    }
    if let Some(r) = admit(&rest.serve, &headers, "task list") {
        return r;
    }
    let place = rest.serve.executor().reserve();
    let run = match prepare(&rest, input).await {
        Ok(run) => run,
        Err(r) => return r.into_response(),
    };
    start(&rest, run, place, None)
}

/// The predecessor's `POST /execute`: `{"tasks": ["…"], "timeout_per_task": 300,
/// "execution_id": "…"}` becomes a run of those prompts with that per-task timeout. The
/// answer is `POST /runs`'s, with the caller's `execution_id` echoed as
/// `client_execution_id`.
#[utoipa::path(
    post,
    path = "/api/v1/execute",
    tag = "runs",
    request_body(content = ExecuteAlias, description = "The predecessor's shape"),
    responses(
        (status = 202, description = "Stored and started", body = RunAccepted,
            headers(("Location" = String, description = "The run's status URL"))),
        (status = 400, description = "The body is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "The list or a setting is refused (each problem named)", body = ProblemDetails, content_type = "application/problem+json"),
        SubmitRefusals,
    )
)]
pub async fn execute_alias(State(rest): State<Rest>, headers: HeaderMap, body: Body) -> Response {
    let bytes = match read_body(&rest.serve, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let alias: ExecuteAlias = match parse_json(
        &bytes,
        "a task list (`{\"tasks\": [\"…\"], \"timeout_per_task\": 300}`)",
    ) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    if let Some(r) = admit(&rest.serve, &headers, "task list") {
        return r;
    }
    let place = rest.serve.executor().reserve();
    let input = ExecuteListInput {
        tasks: Some(serde_json::Value::from(alias.tasks)),
        failure_policy: None,
        budget_usd: None,
        defaults: Some(TaskDefaults {
            timeout_secs: alias.timeout_per_task,
            ..Default::default()
        }),
        max_usage_wait_secs: None,
        wait: None,
        resume_run_id: None,
        force: None,
    };
    let run = match prepare(&rest, input).await {
        Ok(run) => run,
        Err(r) => return r.into_response(),
    };
    start(&rest, run, place, alias.execution_id)
}

/// Starts `run` at `place` and answers 202.
fn start(rest: &Rest, run: Run, place: Reservation, client_id: Option<String>) -> Response {
    let id = rest.serve.runs().start_at(run.clone(), |_| {}, Some(place));
    accepted(&RunAccepted::new(&run, client_id), &run_url(id))
}

/// A new run from the input, or the resumed one; the problem otherwise.
async fn prepare(rest: &Rest, input: ExecuteListInput) -> Result<Run, Response> {
    let runs = rest.serve.runs();
    if let Some(text) = &input.resume_run_id {
        if input.tasks.is_some() {
            return Err(problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "give either `tasks` (a new run) or `resume_run_id` (go on with a stored run), not both",
            ));
        }
        let id = parse_id("a run", text).map_err(|p| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("field `resume_run_id`: {}", p.detail),
            )
            .into_response()
        })?;
        let options = ResumeOptions {
            budget_usd: input.budget_usd,
            force: input.force.unwrap_or(false),
        };
        return runs.resume(id, options).await.map_err(run_problem);
    }
    let Some(tasks) = &input.tasks else {
        return Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "field `tasks` is required (or `resume_run_id` to resume a run)",
        ));
    };
    let items = parse_tasks(tasks).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("- {}", e.message)).collect();
        problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "field `tasks`: the task list is not valid, nothing was started:\n{}",
                lines.join("\n")
            ),
        )
    })?;
    runs.create(RunRequest {
        tasks: items,
        failure_policy: input.failure_policy.unwrap_or_default(),
        budget_usd: input.budget_usd,
        defaults: input.defaults.unwrap_or_default(),
        max_usage_wait_secs: input.max_usage_wait_secs,
        source: Some("rest".into()),
    })
    .await
    .map_err(run_problem)
}

/// A run error as the problem its kind is.
fn run_problem(e: RunError) -> Response {
    let status = match &e {
        RunError::Invalid(_) | RunError::Setting { .. } | RunError::Defaults(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        RunError::Unknown(_) => StatusCode::NOT_FOUND,
        RunError::Finished { .. }
        | RunError::AlreadyActive(_)
        | RunError::DrivenElsewhere { .. }
        | RunError::OtherHost { .. }
        | RunError::BudgetSpent { .. } => StatusCode::CONFLICT,
        RunError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    problem(status, e.to_string())
}

/// The run's status, or the problem: 400 for a bad id, 404 for an unknown one.
async fn lookup(rest: &Rest, id: &str) -> Result<RunStatus, Response> {
    let id = parse_id("a run", id).map_err(IntoResponse::into_response)?;
    match rest.serve.runs().status(id).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(unknown_run(rest, id).await),
        Err(e) => Err(problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
    }
}

async fn unknown_run(rest: &Rest, id: Uuid) -> Response {
    if rest.serve.executor().status(id).is_some() {
        return problem(
            StatusCode::NOT_FOUND,
            format!(
                "{id} is an execution, not a run: use {}",
                super::types::execution_url(id)
            ),
        );
    }
    problem(
        StatusCode::NOT_FOUND,
        format!("unknown run {id}: no such run in the history store"),
    )
}

/// A run's status: its state, every task's state, the current task's live execution,
/// done/total, cost so far. `monitor_execution`'s run entry.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}",
    tag = "runs",
    params(("id" = Uuid, Path, description = "The run id")),
    responses(
        (status = 200, description = "Its status", body = RunStatus),
        (status = 400, description = "Not an id", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such run", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn status(State(rest): State<Rest>, Path(id): Path<String>) -> Response {
    match lookup(&rest, &id).await {
        Ok(s) => Json(s).into_response(),
        Err(r) => r,
    }
}

/// A run that has stopped (succeeded, failed, cancelled, over budget, interrupted), with
/// every task's full result; 409 with its status while it is still being driven.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}/result",
    tag = "runs",
    params(("id" = Uuid, Path, description = "The run id")),
    responses(
        (status = 200, description = "The run and its results", body = RunResult),
        (status = 400, description = "Not an id", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such run", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Still running: `run` is its status now", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn result(State(rest): State<Rest>, Path(id): Path<String>) -> Response {
    let status = match lookup(&rest, &id).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if status.live || status.run.state.is_active() {
        let detail = format!(
            "run {} has not stopped ({}, {}/{} task(s) done); follow it at {}/events, or ask again later",
            status.run.run_id,
            status.run.state,
            status.done,
            status.total,
            run_url(status.run.run_id)
        );
        return not_ready(detail, None, Some(status));
    }
    Json(run_result(&rest, status.run).await).into_response()
}

/// The run with each task's full result (from the executor: memory, else the history).
pub(super) async fn run_result(rest: &Rest, run: Run) -> RunResult {
    let mut results = Vec::new();
    for task in &run.tasks {
        if let Some(eid) = task.execution_id {
            let result = rest
                .serve
                .executor()
                .lookup(eid)
                .await
                .and_then(|s| s.result);
            results.push(TaskResult {
                task_id: task.id.clone(),
                execution_id: eid,
                result,
            });
        }
    }
    RunResult {
        run_id: run.run_id,
        state: run.state,
        run,
        results,
    }
}

/// Cancels a run: its current task's process tree is stopped, nothing more starts, and it is
/// stored `cancelled` (resumable with `POST /runs` `{"resume_run_id": …}`). Answers
/// `cancel_execution`'s outcome for a run.
#[utoipa::path(
    delete,
    path = "/api/v1/runs/{id}",
    tag = "runs",
    params(("id" = Uuid, Path, description = "The run id")),
    responses(
        (status = 200, description = "What the cancel did", body = crate::mcp::cancel_execution::CancelOutput),
        (status = 400, description = "Not an id", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such run", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Driven by another process", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn cancel(State(rest): State<Rest>, Path(id): Path<String>) -> Response {
    let status = match lookup(&rest, &id).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let input = CancelInput {
        execution_id: None,
        run_id: Some(status.run.run_id.to_string()),
    };
    tool_answer(
        rest.tools.cancel_execution(Parameters(input)).await,
        StatusCode::CONFLICT,
    )
}
