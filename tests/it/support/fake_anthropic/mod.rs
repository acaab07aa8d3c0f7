//! A fake Anthropic Messages API on loopback, for running the real Claude Code CLI offline.
//!
//! ```ignore
//! let api = FakeApi::start(Script::sequence(vec![
//!     Reply::write_file("out.txt", "hello"),
//!     Reply::text("Done"),
//! ])).await;
//! // run the CLI with ANTHROPIC_BASE_URL = api.base_url (see `real_claude::IsolatedEnv`)
//! assert_eq!(api.main_requests().len(), 2);
//! ```
//!
//! * The server runs on its own thread with its own Tokio runtime, so it keeps answering even
//!   while the test thread blocks (std `Command::output()`, a current-thread `#[tokio::test]`…).
//!   It is bound to `127.0.0.1:0` and stops when the [`FakeApi`] is dropped.
//! * `POST /v1/messages` (any query, e.g. `?beta=true`) answers with the SSE event stream the
//!   CLI asks for (`"stream": true`: `message_start`, `ping`, `content_block_start/delta/stop`,
//!   `message_delta` with `stop_reason` + `usage`, `message_stop`), or a plain JSON `Message`
//!   when `stream` is absent/false.
//! * `POST /v1/messages/count_tokens` answers `{"input_tokens": N}`.
//! * Anything else is recorded (see [`FakeApi::unknown_requests`]), printed to stderr, and
//!   answered with an Anthropic-style 404 `not_found_error`.
//!
//! Side requests: a `/v1/messages` request that is not a turn of the main conversation
//! (title/summary generation, quota probes, Bash-prefix checks… — see [`is_side_request`]) is
//! answered by the script's *side* responder and does not consume a scripted reply. Observed on
//! Claude Code 2.1.331 with `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` in `-p` mode: none are
//! sent; every request is a main turn (see `tests/it/real_cli_fake_api.rs`).
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};

mod conversation;
mod replies;
mod server;

pub use conversation::*;
pub use replies::*;
use server::handle;

/// How the fake API classified a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// `/v1/messages`, a turn of the main conversation (answered by the script's main responder).
    Main,
    /// `/v1/messages`, a side request (answered by the side responder).
    Side,
    /// `/v1/messages/count_tokens`.
    CountTokens,
    /// Anything else (answered 404).
    Unknown,
}

/// One HTTP request the fake API received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub kind: RequestKind,
    pub method: String,
    /// Path plus query, e.g. `/v1/messages?beta=true`.
    pub uri: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as JSON; `Value::Null` if empty, `Value::String` if not JSON.
    pub body: Value,
    /// Since the server started.
    pub at: Duration,
    /// HTTP status answered (0 for `Reply::Hang`, which never answers).
    pub status: u16,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    script: Script,
    log: Mutex<Vec<Recorded>>,
    started: Instant,
    next_id: AtomicUsize,
}

/// A running fake API; stops when dropped.
pub struct FakeApi {
    /// `http://127.0.0.1:PORT` — the value for `ANTHROPIC_BASE_URL`.
    pub base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeApi {
    /// Start serving `script` (callable from any `#[tokio::test]` flavor).
    pub async fn start(script: Script) -> FakeApi {
        FakeApi::start_blocking(script)
    }

    /// Start serving `script` from synchronous code.
    pub fn start_blocking(script: Script) -> FakeApi {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("set_nonblocking");
        let addr = listener.local_addr().expect("local_addr");
        let shared = Arc::new(Shared {
            script,
            log: Mutex::new(Vec::new()),
            started: Instant::now(),
            next_id: AtomicUsize::new(1),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        std::thread::Builder::new()
            .name(format!("fake-anthropic-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("fake API runtime");
                rt.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    tokio::select! {
                        r = axum::serve(listener, app) => r.expect("fake API server"),
                        _ = rx => {}
                    }
                });
                // Dropping the runtime aborts in-flight (e.g. hanging) requests.
                rt.shutdown_background();
            })
            .expect("spawn fake API thread");
        FakeApi {
            base_url: format!("http://{addr}"),
            shared,
            shutdown: Some(tx),
        }
    }

    /// Every `/v1/messages` request body (main and side), in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        self.bodies(|k| matches!(k, RequestKind::Main | RequestKind::Side))
    }

    /// The main-conversation `/v1/messages` request bodies, in arrival order.
    pub fn main_requests(&self) -> Vec<Value> {
        self.bodies(|k| k == RequestKind::Main)
    }

    /// Side `/v1/messages` request bodies (see [`is_side_request`]).
    pub fn side_requests(&self) -> Vec<Value> {
        self.bodies(|k| k == RequestKind::Side)
    }

    /// Requests to endpoints the fake does not implement.
    pub fn unknown_requests(&self) -> Vec<Recorded> {
        self.log()
            .into_iter()
            .filter(|r| r.kind == RequestKind::Unknown)
            .collect()
    }

    /// Every request received, in arrival order.
    pub fn log(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    fn bodies(&self, keep: impl Fn(RequestKind) -> bool) -> Vec<Value> {
        self.shared
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| keep(r.kind))
            .map(|r| r.body.clone())
            .collect()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Is this `/v1/messages` body a side request rather than a turn of the main conversation?
///
/// Claude Code's main turns always carry its agent system prompt (a block starting "You are a
/// Claude agent" / "You are Claude Code") *and* the `tools` array (possibly empty with
/// `--tools ""`) — side queries (title generation, Bash prefix checks, quota probes) are sent
/// with a different, short system prompt and no tools. With
/// `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1` in `-p` mode, 2.1.331 sent none in our tests.
pub fn is_side_request(body: &Value) -> bool {
    let system = system_text(body);
    let agent_prompt =
        system.contains("You are a Claude agent") || system.contains("You are Claude Code");
    !(agent_prompt && body.get("tools").is_some())
}
