//! One task over REST: submit it (`POST /executions`, 202 at once), read its status (with an
//! optional long-poll), its full result (409 until it has finished), the history, and cancel
//! it (`DELETE`: queued, it never starts; running, its whole process tree is stopped).
//!
//! Status and result come from the executor's own lookups (live registry, else the history,
//! else the in-flight journal), which `monitor_execution` uses too; the history list and the
//! cancel are the MCP tools' own answers (`get_execution_history`, `cancel_execution`).

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::handler::server::wrapper::Parameters;
use serde::Deserialize;
use uuid::Uuid;

use super::Rest;
use super::openapi::{Refusals, SubmitRefusals};
use super::request::{admit, bad_query, parse_id, parse_json, read_body};
use super::types::{Accepted, ProblemDetails, execution_url};
use crate::exec::registry::{ExecutionStatus, Phase};
use crate::exec::spec::TaskRequest;
use crate::mcp::cancel_execution::CancelInput;
use crate::mcp::monitor_execution::MAX_WAIT_SECS;
use crate::serve::problem::problem;
use crate::store::query::HistoryQuery;

/// Submits one task: the body is `cc_execute`'s arguments, validated the same way (the policy
/// bounds it; a refusal names the setting). It takes its place in the one FIFO line as the
/// request arrives and is journaled before its id is given out.
#[utoipa::path(
    post,
    path = "/api/v1/executions",
    tag = "executions",
    request_body(content = TaskRequest, description = "The task: `cc_execute`'s fields. `wait` must be absent or false: REST answers at once."),
    responses(
        (status = 202, description = "Queued (or started): follow it at the URLs", body = Accepted,
            headers(("Location" = String, description = "The execution's status URL"))),
        (status = 400, description = "The body is not JSON", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "The task is refused: the field or policy setting is named", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 503, description = "The task could not be journaled (the history store failed)", body = ProblemDetails, content_type = "application/problem+json"),
        SubmitRefusals,
    )
)]
pub async fn submit(State(rest): State<Rest>, headers: HeaderMap, body: Body) -> Response {
    let state = &rest.serve;
    let bytes = match read_body(state, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let request: TaskRequest = match parse_json(
        &bytes,
        "a task (`{\"task\": \"…\"}` with cc_execute's fields)",
    ) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    if request.wait == Some(true) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "field `wait`: a REST submission always answers at once (202); leave `wait` out and \
             follow the execution at its events_url or result_url",
        );
    }
    if let Some(r) = admit(state, &headers, "task") {
        return r;
    }
    // Its place in line, taken now: nothing above awaited since the body was read.
    let place = state.executor().reserve();
    let spec = match state.executor().prepare(request).await {
        Ok(spec) => spec,
        Err(e) => return problem(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    match state.executor().submit_at(spec, |_| {}, Some(place)).await {
        Ok(submission) => accepted(
            &Accepted::new(&submission),
            &execution_url(submission.execution_id),
        ),
        Err(e @ crate::exec::SubmitError::RepairNeedsWait) => {
            problem(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
        Err(e) => problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// `202 Accepted` with `Location`.
pub(super) fn accepted<T: serde::Serialize>(body: &T, location: &str) -> Response {
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// `?wait_secs=&since_version=`: a long-poll, as `monitor_execution` has.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// Wait up to this many seconds (at most 50) for the execution to change before answering.
    pub wait_secs: Option<f64>,
    /// With `wait_secs`: wait for a change after this `version` (from the previous answer).
    pub since_version: Option<u64>,
}

/// An execution's live status: phase, place in the queue, time elapsed and left, the last
/// thing it did, tools used, cost so far; the full result once finished. The same JSON
/// `monitor_execution` reports for one execution.
#[utoipa::path(
    get,
    path = "/api/v1/executions/{id}",
    tag = "executions",
    params(("id" = Uuid, Path, description = "The execution id"), StatusQuery),
    responses(
        (status = 200, description = "Its status", body = ExecutionStatus),
        (status = 400, description = "Not an id, or a bad wait", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such execution", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn status(
    State(rest): State<Rest>,
    Path(id): Path<String>,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Response {
    let Query(query) = match query {
        Ok(q) => q,
        Err(e) => return bad_query(e),
    };
    let id = match parse_id("an execution", &id) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let wait = match query.wait_secs {
        None => Duration::ZERO,
        Some(w) if !w.is_finite() || w < 0.0 => {
            return problem(
                StatusCode::BAD_REQUEST,
                format!("`wait_secs` must be between 0 and {MAX_WAIT_SECS} (got {w})"),
            );
        }
        Some(w) => Duration::from_secs_f64(w.min(MAX_WAIT_SECS)),
    };
    let exec = rest.serve.executor();
    let Some(now) = exec.lookup(id).await else {
        return unknown_execution(&rest, id).await;
    };
    let seen = query.since_version.unwrap_or(now.version);
    let status = if wait.is_zero() || now.phase == Phase::Finished || now.version > seen {
        now
    } else {
        tokio::select! {
            s = exec.watch(id, seen, wait) => s.unwrap_or(now),
            _ = rest.serve.shutdown_token().cancelled() => now,
        }
    };
    Json(status).into_response()
}

/// The full `ExecutionResult` of a finished execution (also of one only the history knows);
/// 409 with its status while it is still queued or running.
#[utoipa::path(
    get,
    path = "/api/v1/executions/{id}/result",
    tag = "executions",
    params(("id" = Uuid, Path, description = "The execution id")),
    responses(
        (status = 200, description = "The full result", body = crate::exec::result::ExecutionResult),
        (status = 400, description = "Not an id", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such execution", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Not finished yet: `execution` is its status now", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn result(State(rest): State<Rest>, Path(id): Path<String>) -> Response {
    let id = match parse_id("an execution", &id) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let Some(mut now) = rest.serve.executor().lookup(id).await else {
        return unknown_execution(&rest, id).await;
    };
    if now.phase != Phase::Finished {
        let detail = format!(
            "execution {id} has not finished (phase {}); follow it at {}/events, or ask again later",
            serde_json::to_value(now.phase)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            execution_url(id)
        );
        return not_ready(detail, Some(now), None);
    }
    match now.result.take() {
        Some(result) => Json(result).into_response(),
        None => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "execution {id} finished but its result could not be read from the history store; see the service's log"
            ),
        ),
    }
}

/// 409 with the status of what is not ready yet.
pub(super) fn not_ready(
    detail: String,
    execution: Option<ExecutionStatus>,
    run: Option<crate::runs::RunStatus>,
) -> Response {
    let body = ProblemDetails {
        kind: "about:blank".into(),
        title: "Conflict".into(),
        status: StatusCode::CONFLICT.as_u16(),
        detail,
        execution,
        run,
    };
    let mut response = (StatusCode::CONFLICT, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::serve::problem::PROBLEM_JSON),
    );
    response
}

/// 404 for an id no execution has; says so when it is a run's.
pub(super) async fn unknown_execution(rest: &Rest, id: Uuid) -> Response {
    if let Ok(Some(_)) = rest.serve.runs().status(id).await {
        return problem(
            StatusCode::NOT_FOUND,
            format!(
                "{id} is a run, not an execution: use {}",
                super::types::run_url(id)
            ),
        );
    }
    problem(
        StatusCode::NOT_FOUND,
        format!(
            "unknown execution {id}: it never ran on this server's data dir, or its record was removed"
        ),
    )
}

/// Past executions, newest first, with statistics: `get_execution_history`'s answer. The
/// query takes its arguments (`limit`, `status`, `since`, `until`, `search`, `include_stats`).
#[utoipa::path(
    get,
    path = "/api/v1/executions",
    tag = "executions",
    params(
        ("limit" = Option<i64>, Query, description = "How many, newest first (default 20, at most 500)"),
        ("status" = Option<String>, Query, description = "Only executions that ended with this status"),
        ("since" = Option<String>, Query, description = "Finished at or after: RFC 3339, a date, or an age (`12h`, `7d`)"),
        ("until" = Option<String>, Query, description = "Finished at or before (the same forms)"),
        ("search" = Option<String>, Query, description = "Text in the task (case-insensitive)"),
        ("include_stats" = Option<bool>, Query, description = "Statistics over every match (default true)"),
    ),
    responses(
        (status = 200, description = "The executions and statistics", body = crate::mcp::get_execution_history::HistoryOutput),
        (status = 400, description = "A query parameter is wrong (named)", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn list(
    State(rest): State<Rest>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Response {
    let Query(query) = match query {
        Ok(q) => q,
        Err(e) => return bad_query(e),
    };
    tool_answer(
        rest.tools.get_execution_history(Parameters(query)).await,
        StatusCode::BAD_REQUEST,
    )
}

/// Cancels an execution: a queued one never starts; a running one has its whole process tree
/// stopped (SIGTERM, grace, SIGKILL). Answers `cancel_execution`'s outcome (`cancelled`,
/// `already_finished` or `stopping`) and the final status.
#[utoipa::path(
    delete,
    path = "/api/v1/executions/{id}",
    tag = "executions",
    params(("id" = Uuid, Path, description = "The execution id")),
    responses(
        (status = 200, description = "What the cancel did", body = crate::mcp::cancel_execution::CancelOutput),
        (status = 400, description = "Not an id", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such execution", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn cancel(State(rest): State<Rest>, Path(id): Path<String>) -> Response {
    let id = match parse_id("an execution", &id) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    if rest.serve.executor().lookup(id).await.is_none() {
        return unknown_execution(&rest, id).await;
    }
    let input = CancelInput {
        execution_id: Some(id.to_string()),
        run_id: None,
    };
    tool_answer(
        rest.tools.cancel_execution(Parameters(input)).await,
        StatusCode::CONFLICT,
    )
}

/// An MCP tool's answer as a REST response: its structured content (200), or its error text
/// as a problem with `error_status`.
pub(super) fn tool_answer(
    answer: Result<rmcp::model::CallToolResult, rmcp::ErrorData>,
    error_status: StatusCode,
) -> Response {
    let result = match answer {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, e.message.to_string()),
    };
    if result.is_error == Some(true) || result.structured_content.is_none() {
        let text: Vec<String> = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect();
        return problem(error_status, text.join("\n"));
    }
    Json(result.structured_content.unwrap_or_default()).into_response()
}
