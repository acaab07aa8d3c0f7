//! The REST API under `/api/v1`: the same executor, queue, runs and history as every other
//! surface, for clients that speak plain HTTP and JSON (curl, scripts, CI jobs).
//!
//! | file | what |
//! |---|---|
//! | [`executions`] | `POST /executions` (one task), status, result, history list, cancel |
//! | [`runs`] | `POST /runs` (a task list), the predecessor's `POST /execute`, status, result, cancel |
//! | [`events`] | `GET …/events`: Server-Sent Events from the execution's event log, or a run's |
//! | [`pause`] | `POST /executions/{id}/pause`, `/resume`: the process tree stopped, the clock too |
//! | [`service`] | `GET /health` (queue, store, `claude`, uptime) and `GET /auth/status` |
//! | [`openapi`] | `GET /openapi.json`: the OpenAPI 3.1 document of all of the above |
//! | [`request`] | reading bodies (413/400/422), ids (400), the submission rate (429) |
//! | [`types`] | the answers only this surface has (`Accepted`, `RunAccepted`, …) |
//!
//! Every error is `application/problem+json` (see [`super::problem`]) whose `detail` says what
//! to change. The routes are declared once, in [`routes`]: the router is built from that
//! table and a test checks that the OpenAPI document has exactly its entries.
//!
//! Submissions keep the one FIFO line's order: a request takes its place in line
//! ([`crate::exec::Executor::reserve`]) as soon as its body has been read and checked, with no
//! await in between, exactly as `/mcp` does for `cc_execute` — so tasks from REST and from MCP
//! queue together in the order their requests arrived.

pub mod events;
pub mod executions;
pub mod openapi;
pub mod pause;
pub mod request;
pub mod runs;
pub mod service;
pub mod types;

use std::sync::Arc;

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post};

use super::ServeState;
use crate::mcp::CcExecutorServer;

/// Where the REST API lives.
pub const PREFIX: &str = "/api/v1";

/// What the REST handlers share: the service's state and the MCP server over the same
/// executor, whose tools (history, cancel, pause, health) the REST answers reuse so both
/// surfaces answer alike — with this API's words for next steps ([`types::RestWords`]).
///
/// Cheap to clone on purpose: axum clones every route's state for each connection it accepts
/// (`Router::with_state` per connection), and the connection keeps that copy while it is open.
/// A `CcExecutorServer` by value (its tool table is a `HashMap`) was deep-copied once per route:
/// an idle connection cost the service 169 KiB instead of 32 (`tests/it/serve/memory.rs`).
#[derive(Clone)]
pub struct Rest {
    pub serve: ServeState,
    pub tools: Arc<CcExecutorServer>,
}

impl Rest {
    fn new(serve: ServeState) -> Rest {
        let tools = CcExecutorServer::with_runs(serve.runs().clone(), serve.executor().clone())
            .with_input_closed(serve.shutdown_token().clone())
            .with_service(Arc::new(super::status::InProcess::new(serve.clone())))
            .with_words(Arc::new(types::RestWords));
        Rest {
            serve,
            tools: Arc::new(tools),
        }
    }
}

/// One route of the API: method and path below [`PREFIX`] (axum's `{param}` syntax, which is
/// also OpenAPI's).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
}

/// Every route with its handler: the one table the router and [`routes`] come from.
fn table() -> Vec<(Method, &'static str, MethodRouter<Rest>)> {
    vec![
        (Method::POST, "/executions", post(executions::submit)),
        (Method::GET, "/executions", get(executions::list)),
        (Method::GET, "/executions/{id}", get(executions::status)),
        (
            Method::DELETE,
            "/executions/{id}",
            delete(executions::cancel),
        ),
        (
            Method::GET,
            "/executions/{id}/result",
            get(executions::result),
        ),
        (
            Method::GET,
            "/executions/{id}/events",
            get(events::execution),
        ),
        (Method::POST, "/executions/{id}/pause", post(pause::pause)),
        (Method::POST, "/executions/{id}/resume", post(pause::resume)),
        (Method::POST, "/runs", post(runs::submit)),
        (Method::POST, "/execute", post(runs::execute_alias)),
        (Method::GET, "/runs/{id}", get(runs::status)),
        (Method::DELETE, "/runs/{id}", delete(runs::cancel)),
        (Method::GET, "/runs/{id}/result", get(runs::result)),
        (Method::GET, "/runs/{id}/events", get(events::run)),
        (Method::GET, "/health", get(service::health)),
        (Method::GET, "/auth/status", get(service::auth_status)),
        (Method::GET, "/openapi.json", get(openapi::serve)),
    ]
}

/// Every route of the REST API (paths below [`PREFIX`]).
pub fn routes() -> Vec<Route> {
    table()
        .into_iter()
        .map(|(method, path, _)| Route { method, path })
        .collect()
}

/// `/api/v1/…` over `state`'s executor. Unknown paths below the prefix are a 404 problem.
pub fn router(state: ServeState) -> Router {
    let mut api = Router::new();
    for (_, path, handler) in table() {
        // Two methods on one path are two entries of the table: merge them.
        api = api.route(path, handler);
    }
    let api = api
        .fallback(request::not_found)
        .method_not_allowed_fallback(request::method_not_allowed)
        .with_state(Rest::new(state));
    Router::new().nest(PREFIX, api)
}
