//! Arrival order for tool calls that queue a task.
//!
//! The transport stamps each such `tools/call` as it reads it ([`stamper`]): the request takes
//! its place in the executor's FIFO line before rmcp spawns its handler. The handler takes the
//! place back out of the request's extensions ([`take`]) and submits at it. A request that
//! fails validation, or whose handler never runs, drops its place and the line moves on.
//!
//! Over HTTP (`cc-executor serve`) the service stamps a request once its body is read, before
//! rmcp sees it, and puts the place in the HTTP request's extensions ([`Arrival::reserve`]);
//! rmcp hands those to the handler inside `http::request::Parts`, where [`take`] finds it.

use std::sync::{Arc, Mutex};

use rmcp::RoleServer;
use rmcp::model::{ClientRequest, GetExtensions};
use rmcp::service::RequestContext;

use crate::exec::{Executor, Reservation};

/// The tools whose calls run tasks and so take a place in line on arrival.
pub const QUEUED_TOOLS: [&str; 2] = ["cc_execute", "cc_execute_list"];

/// A request's place in line, carried in its extensions (which must be `Clone`: the place
/// itself is taken once).
#[derive(Clone, Debug)]
pub struct Arrival(Arc<Mutex<Option<Reservation>>>);

impl Arrival {
    /// A place in the executor's line, taken now.
    pub fn reserve(executor: &Executor) -> Arrival {
        Arrival(Arc::new(Mutex::new(Some(executor.reserve()))))
    }
}

/// Does a call of the tool `name` run a task (and so take a place in line on arrival)?
pub fn is_queued_tool(name: &str) -> bool {
    QUEUED_TOOLS.contains(&name)
}

/// The transport's stamp: a place in line for every call of a [`QUEUED_TOOLS`] tool.
pub fn stamper(executor: Executor) -> super::stdio::Stamp {
    Box::new(move |request: &mut ClientRequest| stamp(&executor, request))
}

/// Gives `request` its place in line when it is a call that queues a task.
pub fn stamp(executor: &Executor, request: &mut ClientRequest) {
    if let ClientRequest::CallToolRequest(call) = request
        && QUEUED_TOOLS.contains(&call.params.name.as_ref())
    {
        request.extensions_mut().insert(Arrival::reserve(executor));
    }
}

/// The place in line this request took on arrival, if any (only once): stamped by the stdio
/// transport on the request itself, or by the HTTP service on the HTTP request.
pub fn take(context: &RequestContext<RoleServer>) -> Option<Reservation> {
    let arrival = context.extensions.get::<Arrival>().or_else(|| {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Arrival>())
    })?;
    arrival.0.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// The MCP session a request came in, over HTTP (its `Mcp-Session-Id` header): with a worker
/// pool each session's tasks are their own line ([`crate::exec::Executor::join_session_queue`]).
/// `None` on stdio (one server, one session: the process's queue) and for stateless HTTP
/// requests, which have no session and share the process's queue so their order holds.
pub fn http_session(context: &RequestContext<RoleServer>) -> Option<String> {
    let parts = context.extensions.get::<http::request::Parts>()?;
    let id = parts.headers.get("mcp-session-id")?.to_str().ok()?;
    // A queue name is plain (the configuration check's rule): keep what a session id may hold.
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    (!id.is_empty()).then_some(id)
}
