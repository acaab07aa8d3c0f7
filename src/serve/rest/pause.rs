//! `POST /executions/{id}/pause` and `/resume`: the whole process tree stopped (SIGSTOP) or
//! continued (SIGCONT), the deadline and the stall watchdog standing still while it is
//! paused; a queued execution keeps its place and does not start until resumed. The answer is
//! `pause_execution`'s (`paused`, `already_paused`, `resumed`, `not_paused`,
//! `already_finished`, with the phase and the time paused so far).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rmcp::handler::server::wrapper::Parameters;

use super::Rest;
use super::executions::{tool_answer, unknown_execution};
use super::openapi::Refusals;
use super::request::parse_id;
use super::types::ProblemDetails;
use crate::mcp::pause_execution::PauseInput;

/// Pauses an execution (see the module docs); a pause longer than `max_pause_secs` cancels it.
#[utoipa::path(
    post,
    path = "/api/v1/executions/{id}/pause",
    tag = "executions",
    params(("id" = Uuid, Path, description = "The execution id")),
    responses(
        (status = 200, description = "What the pause did", body = crate::mcp::pause_execution::PauseOutput),
        (status = 400, description = "Not an id", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such execution", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Run by another process: only it can stop its processes", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn pause(State(rest): State<Rest>, Path(id): Path<String>) -> Response {
    set_paused(rest, id, false).await
}

/// Resumes a paused execution; its deadline lies later by the time it was paused.
#[utoipa::path(
    post,
    path = "/api/v1/executions/{id}/resume",
    tag = "executions",
    params(("id" = Uuid, Path, description = "The execution id")),
    responses(
        (status = 200, description = "What the resume did", body = crate::mcp::pause_execution::PauseOutput),
        (status = 400, description = "Not an id", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such execution", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "Run by another process: only it can continue its processes", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn resume(State(rest): State<Rest>, Path(id): Path<String>) -> Response {
    set_paused(rest, id, true).await
}

async fn set_paused(rest: Rest, id: String, resume: bool) -> Response {
    let id = match parse_id("an execution", &id) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    if rest.serve.executor().lookup(id).await.is_none() {
        return unknown_execution(&rest, id).await;
    }
    let input = PauseInput {
        execution_id: id.to_string(),
        resume,
    };
    tool_answer(
        rest.tools.pause_execution(Parameters(input)).await,
        StatusCode::CONFLICT,
    )
}
