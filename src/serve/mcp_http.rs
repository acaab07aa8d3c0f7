//! `/mcp`: MCP Streamable HTTP, with rmcp's own transport serving [`CcExecutorServer`] — the
//! same tools, prompts, resources, progress, logging, completions and MCP Tasks as stdio.
//!
//! - **Protocol versions.** Those of [`crate::mcp::SUPPORTED_PROTOCOL_VERSIONS`]: for
//!   2025-06-18 and 2025-11-25 a session per `initialize` (`Mcp-Session-Id`, closed by
//!   `DELETE` or after 5 minutes idle); 2026-07-28 requests are stateless (each request
//!   carries its version and capabilities in `_meta`, no session).
//! - **One server per session**, made by [`CcExecutorServer::for_session`]: the executor,
//!   the run service and MCP task hints are shared (a task created in one session is polled
//!   from another), the logging level is the session's own.
//! - **Arrival order.** A task-submitting request (`tools/call` of `cc_execute` or
//!   `cc_execute_list`) takes its place in the executor's line the moment its body has been
//!   read here, before rmcp parses it or spawns its handler (`stamp`). So tasks queue in the
//!   order their requests *arrived complete at the server*, whatever order the handlers then
//!   run in, and behind every task any other surface (or connection) submitted earlier. Two
//!   requests in flight at once on different connections are ordered by which body finished
//!   arriving first; a client that needs an order sends the next request after the previous
//!   one's response has begun (its id is out).
//! - **Ending a session.** `DELETE` answers 204 (rmcp says 202; clients expect 200/204), and
//!   404 for a session this service does not have (rmcp says 202 to that too).
//! - **Limits.** The body limit (413), then for a submission the per-token rate (429 with
//!   `Retry-After`), both before the request takes a place in line. `Host`, `Origin` and the
//!   token were checked by the layers outside (see [`super::router`]); rmcp's own Host/Origin
//!   checks are off because those layers do them for every route.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::Deserialize;

use super::ServeState;
use super::problem::{problem, too_many};
use crate::mcp::CcExecutorServer;
use crate::mcp::arrival::{Arrival, is_queued_tool};

/// The path of the MCP endpoint.
pub const PATH: &str = "/mcp";

/// `/mcp` over `state`'s executor.
pub fn router(state: ServeState) -> axum::Router {
    let prototype = CcExecutorServer::with_runs(state.runs().clone(), state.executor().clone())
        .with_input_closed(state.shutdown_token().clone())
        .with_service(Arc::new(super::status::InProcess::new(state.clone())));
    let config = StreamableHttpServerConfig::default()
        .with_cancellation_token(state.shutdown_token().child_token())
        .with_max_request_body_bytes(state.settings().max_body_bytes())
        .disable_allowed_hosts()
        .disable_allowed_origins();
    let sessions = Arc::new(LocalSessionManager::default());
    let service = StreamableHttpService::new(
        move || Ok(prototype.for_session()),
        sessions.clone(),
        config,
    );
    axum::Router::new()
        .route_service(PATH, service)
        .layer(axum::middleware::from_fn_with_state(state, stamp))
        .layer(axum::middleware::from_fn_with_state(sessions, end_session))
}

/// `DELETE /mcp`: 204 when it ended the session; 404 for a session this service does not
/// have (ended already, timed out, or from before a restart), as for any request naming one.
/// rmcp answers both with 202 Accepted, and clients (the Python SDK) log a warning for
/// anything but 200 or 204 on a DELETE that did what it asked.
async fn end_session(
    State(sessions): State<Arc<LocalSessionManager>>,
    req: Request,
    next: Next,
) -> Response {
    use rmcp::transport::streamable_http_server::SessionManager;
    if req.method() != Method::DELETE {
        return next.run(req).await;
    }
    if let Some(id) = req
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
    {
        let known = sessions.has_session(&Arc::from(id)).await.unwrap_or(true);
        if !known {
            return problem(
                StatusCode::NOT_FOUND,
                format!(
                    "no MCP session {id} here: it has ended (DELETE, 5 minutes idle, or a restart of the service); start a new one with initialize"
                ),
            );
        }
    }
    let mut response = next.run(req).await;
    if response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::NO_CONTENT;
        *response.body_mut() = Body::empty();
    }
    response
}

/// Just enough of a JSON-RPC message to see whether it submits a task.
#[derive(Deserialize)]
struct Peek {
    method: Option<String>,
    params: Option<PeekParams>,
}

#[derive(Deserialize)]
struct PeekParams {
    name: Option<String>,
}

/// The name of the tool a `tools/call` body calls, when that tool queues a task.
fn queued_call(body: &[u8]) -> Option<String> {
    let peek: Peek = serde_json::from_slice(body).ok()?;
    if peek.method.as_deref() != Some("tools/call") {
        return None;
    }
    peek.params?.name.filter(|n| is_queued_tool(n))
}

/// Reads the body (413 over the limit); for a task submission, checks the rate (429) and
/// takes the request's place in line; then hands the request on to rmcp.
async fn stamp(State(state): State<ServeState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let limit = state.settings().max_body_bytes();
    let too_large = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than {limit} bytes (serve.max_body_kib = {})",
                state.settings().max_body_kib
            ),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large();
    }
    let (mut parts, body) = req.into_parts();
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        // Over the limit while streaming (or the client went away: then nobody reads this).
        Err(_) => return too_large(),
    };
    if let Some(tool) = queued_call(&bytes) {
        if let Err(wait) = state.admit_submission(&super::auth::rate_key(&parts.headers)) {
            tracing::info!("refused: 429 for a {tool} call (submission rate)");
            return too_many(
                format!(
                    "too many task submissions: at most {} per minute (bursts of {}) per token \
                     (serve.submit_per_minute, serve.submit_burst); retry after the time in Retry-After",
                    state.settings().submit_per_minute,
                    state.settings().submit_burst
                ),
                wait,
            );
        }
        parts.extensions.insert(Arrival::reserve(state.executor()));
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_task_submitting_calls_are_stamped() {
        let call = |name: &str| {
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}","arguments":{{"task":"x"}}}}}}"#
            )
        };
        assert_eq!(
            queued_call(call("cc_execute").as_bytes()).as_deref(),
            Some("cc_execute")
        );
        assert!(queued_call(call("cc_execute_list").as_bytes()).is_some());
        assert!(queued_call(call("monitor_execution").as_bytes()).is_none());
        assert!(queued_call(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).is_none());
        assert!(queued_call(b"[1,2]").is_none());
        assert!(queued_call(b"not json").is_none());
    }
}
