//! One WebSocket connection: the loop that reads frames, answers what it can at once, hands
//! the rest to tasks of their own, writes what those tasks queue, pings, and closes with a
//! code that says why.
//!
//! One task owns the socket (no split halves): it reads, writes the outgoing queue, and sends
//! the keep-alive pings. Requests that wait (validating and queueing a task, cancelling one,
//! reading the history) run on tasks of their own and queue their answers, so a slow one never
//! holds up the reading of the next frame — and an `execute` takes its place in the FIFO line
//! here, as its frame is read, before its task runs. The outgoing queue is bounded: a client
//! that does not read slows its forwarders down (the event log keeps what they have not sent
//! yet, within its own bound) instead of growing the server's memory.
//!
//! Closing: the client closes, or goes silent past `serve.ws_idle_secs` (1001), or sends a message
//! over the size limit (1009), or the server shuts down (1001: once the executions it follows
//! have been stopped and their `process.completed` sent). Never the reserved 1006. Then
//! the connection's forwarders stop, and its executions started with `cancel_on_disconnect`
//! are cancelled; the others run on, to be reattached by id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use super::protocol::{self, Incoming, RpcError, code};
use crate::serve::ServeState;

/// How often the server pings at most (with the default `serve.ws_idle_secs`, 60 s: every
/// 20 s; a shorter idle limit pings at a third of it, so a client that answers pings is never
/// taken for a silent one).
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// Messages waiting to be written to one connection.
const OUTGOING: usize = 64;
/// How long a close handshake may take before the socket is dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// An execution this connection started or attached to.
pub(super) struct Followed {
    pub cancel_on_disconnect: bool,
    /// Stops this connection's forwarder of it (a second `attach` replaces the first).
    pub forwarder: CancellationToken,
}

/// What the connection's tasks share.
pub(super) struct Shared {
    pub state: ServeState,
    pub session_id: Uuid,
    /// The key this connection's submissions are rate-limited under (a digest of its token).
    pub rate_key: String,
    pub out: mpsc::Sender<String>,
    /// Cancelled when the connection ends: its forwarders stop.
    pub closed: CancellationToken,
    /// The forwarders of this connection: at shutdown the connection closes once they have
    /// sent their executions' `process.completed`.
    pub forwarders: TaskTracker,
    followed: Mutex<FollowedSet>,
}

#[derive(Default)]
struct FollowedSet {
    by_id: HashMap<Uuid, Followed>,
    /// The connection has ended: nothing more is followed (a late `execute` answer that
    /// arrives now cancels its execution if it asked for that).
    ended: bool,
}

impl Shared {
    fn followed(&self) -> MutexGuard<'_, FollowedSet> {
        self.followed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows `id` on this connection and returns the token that stops its forwarder, or
    /// `None` when the connection has already ended (then an execution that asked to be
    /// cancelled with its connection is cancelled now).
    pub fn follow(&self, id: Uuid, cancel_on_disconnect: bool) -> Option<CancellationToken> {
        let mut f = self.followed();
        if f.ended {
            drop(f);
            if cancel_on_disconnect {
                self.cancel_later(id);
            }
            return None;
        }
        // Finished executions need no entry any more (keeps the map small on a long-lived
        // connection).
        let executor = self.state.executor();
        f.by_id.retain(|other, _| {
            executor
                .status(*other)
                .is_some_and(|s| s.phase != crate::exec::registry::Phase::Finished)
        });
        let forwarder = self.closed.child_token();
        let previous = f.by_id.insert(
            id,
            Followed {
                cancel_on_disconnect,
                forwarder: forwarder.clone(),
            },
        );
        if let Some(p) = previous {
            p.forwarder.cancel();
            if p.cancel_on_disconnect
                && let Some(now) = f.by_id.get_mut(&id)
            {
                now.cancel_on_disconnect = true;
            }
        }
        Some(forwarder)
    }

    /// The executions this connection follows that have not finished.
    pub fn live(&self) -> Vec<Uuid> {
        let executor = self.state.executor();
        let mut ids: Vec<Uuid> = self
            .followed()
            .by_id
            .keys()
            .copied()
            .filter(|id| {
                executor
                    .status(*id)
                    .is_some_and(|s| s.phase != crate::exec::registry::Phase::Finished)
            })
            .collect();
        ids.sort();
        ids
    }

    fn cancel_later(&self, id: Uuid) {
        let executor = self.state.executor().clone();
        tokio::spawn(async move {
            tracing::info!(%id, "connection closed: cancelling (cancel_on_disconnect)");
            executor.cancel(id).await;
        });
    }

    /// The connection ended: stop forwarding, cancel what asked for it.
    fn end(&self) {
        let taken = {
            let mut f = self.followed();
            f.ended = true;
            std::mem::take(&mut f.by_id)
        };
        self.closed.cancel();
        for (id, followed) in taken {
            if followed.cancel_on_disconnect {
                self.cancel_later(id);
            }
        }
    }
}

/// Runs one connection until it closes.
pub async fn run(mut socket: WebSocket, state: ServeState, rate_key: String) {
    let session_id = Uuid::new_v4();
    let (out, mut queued) = mpsc::channel::<String>(OUTGOING);
    let shared = Arc::new(Shared {
        state: state.clone(),
        session_id,
        rate_key,
        out,
        closed: CancellationToken::new(),
        forwarders: TaskTracker::new(),
        followed: Mutex::default(),
    });
    tracing::info!(session = %session_id, "websocket connected");
    let hello = protocol::notification(
        "connected",
        json!({"session_id": session_id, "version": env!("CARGO_PKG_VERSION"),
               "capabilities": ["execute", "control", "stream", "reattach"]}),
    );
    let why = if socket.send(Message::Text(hello.into())).await.is_err() {
        "gone before the greeting".to_string()
    } else {
        serve(&mut socket, &shared, &mut queued).await
    };
    shared.end();
    tracing::info!(session = %session_id, "websocket closed: {why}");
}

/// The loop; returns why the connection ended (for the log).
async fn serve(
    socket: &mut WebSocket,
    shared: &Arc<Shared>,
    queued: &mut mpsc::Receiver<String>,
) -> String {
    let shutdown = shared.state.shutdown_token().clone();
    let stopping = shared.state.executor().shutdown_token();
    let mut draining = false;
    let idle_limit = shared.state.settings().ws_idle();
    let every = PING_EVERY.min(idle_limit / 3);
    let mut ping = tokio::time::interval_at(Instant::now() + every, every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => {
                close(socket, close_code::AWAY, "the server is shutting down").await;
                return "server shutdown".into();
            }
            // The server stops its executions: let this connection's forwarders send their
            // `process.completed` (status `cancelled`), then close.
            _ = stopping.cancelled(), if !draining => {
                draining = true;
                shared.forwarders.close();
            }
            _ = shared.forwarders.wait(), if draining => {
                while let Ok(message) = queued.try_recv() {
                    if socket.send(Message::Text(message.into())).await.is_err() {
                        return "write failed".into();
                    }
                }
                close(socket, close_code::AWAY, "the server is shutting down").await;
                return "server shutdown".into();
            }
            frame = socket.recv() => {
                heard = Instant::now();
                match frame {
                    None => return "the client went away".into(),
                    Some(Err(e)) => {
                        if let Some(reason) = too_big(&e, shared.state.settings()) {
                            close(socket, close_code::SIZE, &reason).await;
                            return reason;
                        }
                        return format!("read failed: {e}");
                    }
                    Some(Ok(Message::Text(text))) => {
                        if let Some(answer) = handle(shared, text.as_str())
                            && socket.send(Message::Text(answer.into())).await.is_err()
                        {
                            return "write failed".into();
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let e = RpcError::new(Value::Null, code::INVALID_REQUEST,
                            "binary frames are not read: send JSON-RPC 2.0 as text frames");
                        if socket.send(Message::Text(e.to_text().into())).await.is_err() {
                            return "write failed".into();
                        }
                    }
                    // Pongs (answers to our pings) only count as being heard from; pings are
                    // answered by the WebSocket layer; a close is answered by it too, and the
                    // next read ends the loop.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Close(_))) => {}
                }
            }
            Some(message) = queued.recv() => {
                if socket.send(Message::Text(message.into())).await.is_err() {
                    return "write failed".into();
                }
            }
            _ = ping.tick() => {
                if heard.elapsed() > idle_limit {
                    let reason = format!(
                        "nothing heard from the client for {} s (not even a pong)",
                        idle_limit.as_secs()
                    );
                    close(socket, close_code::AWAY, &reason).await;
                    return reason;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return "write failed".into();
                }
            }
        }
    }
}

/// The reason for a 1009 close when `e` is a message over the size limit (tungstenite's
/// capacity error, somewhere in axum's error's sources).
fn too_big(e: &axum::Error, settings: &crate::config::ServeConfig) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(tungstenite::Error::Capacity(c)) = s.downcast_ref::<tungstenite::Error>() {
            return Some(format!(
                "message too large ({c}); the limit is {} KiB (serve.max_body_kib)",
                settings.max_body_kib
            ));
        }
        source = s.source();
    }
    None
}

/// Sends a close frame with `code` and `reason` (cut to the 123 bytes a close frame holds),
/// then waits briefly for the client's close so it reads ours before the socket drops.
async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let reason = crate::types::text::truncate_chars(reason, 100);
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

/// Handles one text frame: an answer to write now, or `None` (notifications, responses, and
/// requests whose answer a task of their own will queue).
fn handle(shared: &Arc<Shared>, text: &str) -> Option<String> {
    let (id, method, params) = match protocol::parse(text) {
        Err(e) => return Some(e.to_text()),
        Ok(Incoming::Response) => return None,
        Ok(Incoming::Notification { method, .. }) => {
            // The predecessor's keep-alive, as a notification: answered in kind.
            return (method == "ping").then(|| protocol::notification("pong", json!({})));
        }
        Ok(Incoming::Request { id, method, params }) => (id, method, params),
    };
    match dispatch(shared, &id, &method, params) {
        Ok(Some(result)) => Some(protocol::response(&id, result)),
        Ok(None) => None,
        Err(e) => Some(e.to_text()),
    }
}

/// Runs a request: `Ok(Some)` is answered now, `Ok(None)` by a task.
fn dispatch(
    shared: &Arc<Shared>,
    id: &Value,
    method: &str,
    params: Map<String, Value>,
) -> Result<Option<Value>, RpcError> {
    match method {
        "ping" => Ok(Some(json!("pong"))),
        "execute" => super::methods::execute(shared, id, params).map(|()| None),
        "control" => super::methods::control(shared, id, &params).map(|()| None),
        "attach" => super::methods::attach(shared, id, &params).map(|()| None),
        "status" => super::methods::status(shared, id, &params).map(|()| None),
        "hook_status" => super::methods::hook_status(shared, id, &params).map(Some),
        other => Err(RpcError::new(
            id.clone(),
            code::METHOD_NOT_FOUND,
            format!(
                "no method `{other}`; this server has: {}",
                protocol::METHODS.join(", ")
            ),
        )),
    }
}
