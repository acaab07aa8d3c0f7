//! `/ws/mcp` (and `/ws`): the predecessor's WebSocket JSON-RPC protocol over the one executor,
//! so its clients can move over — `execute` a task, follow it as `process.*` notifications,
//! `control` it (PAUSE, RESUME, CANCEL), reattach to it by id after a dropped connection.
//!
//! - [`protocol`]: JSON-RPC framing, error codes, each method's params (`execute` takes a
//!   `task`, never a shell `command`).
//! - [`session`]: one connection — reading, writing, keep-alive, close codes, what a drop does.
//! - [`methods`]: `execute`, `control`, `attach`, `status`, `hook_status`.
//! - [`notify`]: an execution's event log as `process.started` / `process.output` /
//!   `error.rate_limit_exceeded` / `process.completed`.
//!
//! **The handshake** passes the same layers as every route (see [`super::router`]): the
//! connection limit, `Host` and `Origin` (421/403 — a browser page from an origin not allowed
//! cannot open the socket), and the token (401). The token comes as `Authorization: Bearer
//! <token>`, or — for browsers, whose WebSocket API cannot set headers — as a subprotocol
//! `bearer.<token>` next to [`PROTOCOL`] (`new WebSocket(url, ["jsonrpc", "bearer." +
//! token])`); the server selects `jsonrpc`, never echoing the token. A `?token=` query is not
//! accepted: URLs end up in proxy logs and browser history.
//!
//! **Limits.** A message over `serve.max_body_kib` closes the connection with 1009; task
//! submissions pass the per-token rate limit (`-32005`, with `retry_after_secs`).

pub mod methods;
pub mod notify;
pub mod protocol;
pub mod session;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;

use super::ServeState;

/// The endpoint.
pub const PATH: &str = "/ws/mcp";
/// Its short alias.
pub const ALIAS: &str = "/ws";
/// The subprotocol the server selects when a client offers it (browsers that pass the token as
/// a second subprotocol must offer this one too, or the browser fails the handshake).
pub const PROTOCOL: &str = "jsonrpc";

/// Bytes read from a connection at a time.
const READ_BUFFER: usize = 16 * 1024;

/// `/ws/mcp` and `/ws` over `state`'s executor.
pub fn router(state: ServeState) -> axum::Router {
    axum::Router::new()
        .route(PATH, get(upgrade))
        .route(ALIAS, get(upgrade))
        .with_state(state)
}

/// The handshake (the token, Host and Origin were checked by the layers outside).
async fn upgrade(
    State(state): State<ServeState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let limit = state.settings().max_body_bytes();
    let rate_key = super::auth::rate_key(&headers);
    ws.protocols([PROTOCOL])
        // 16 KiB instead of tungstenite's 128 KiB per connection: JSON-RPC requests are small
        // and a larger one still reads (in more steps), while hundreds of idle connections
        // cost an eighth of the memory.
        .read_buffer_size(READ_BUFFER)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| async move {
            // Tracked by the executor, whose shutdown waits for it: at SIGTERM the connection
            // sends its executions' last notifications and its close frame (1001) before the
            // process exits, instead of being cut.
            let executor = state.executor().clone();
            executor.spawn_tracked(session::run(socket, state, rate_key));
        })
}
