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

/// What the fake API answers to one `/v1/messages` request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// One text block, `stop_reason: end_turn`.
    Text(String),
    /// One `tool_use` block (fresh `toolu_fake_N` id), `stop_reason: tool_use`.
    ToolUse { name: String, input: Value },
    /// A text block followed by a `tool_use` block in the same message, `stop_reason: tool_use`.
    TextAndToolUse {
        text: String,
        name: String,
        input: Value,
    },
    /// Arbitrary content blocks as in a non-streaming `Message` (`text`, `tool_use`, `thinking`).
    /// `tool_use` blocks without an `id` get a fresh one.
    Blocks {
        content: Vec<Value>,
        stop_reason: String,
    },
    /// A plain HTTP answer (errors): this status, these extra headers, this JSON body.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Value,
    },
    /// Wait, then answer with `reply`.
    Delayed { delay: Duration, reply: Box<Reply> },
    /// Never answer (no status line, no headers): the request hangs until the client gives up
    /// or the `FakeApi` is dropped.
    Hang,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Text(text.into())
    }

    pub fn tool_use(name: impl Into<String>, input: Value) -> Reply {
        Reply::ToolUse {
            name: name.into(),
            input,
        }
    }

    pub fn text_and_tool_use(
        text: impl Into<String>,
        name: impl Into<String>,
        input: Value,
    ) -> Reply {
        Reply::TextAndToolUse {
            text: text.into(),
            name: name.into(),
            input,
        }
    }

    /// A `Write` tool use (`file_path` may be relative; the CLI resolves it against its cwd).
    pub fn write_file(file_path: impl Into<String>, content: impl Into<String>) -> Reply {
        Reply::tool_use(
            "Write",
            json!({"file_path": file_path.into(), "content": content.into()}),
        )
    }

    /// A `Bash` tool use.
    pub fn bash(command: impl Into<String>) -> Reply {
        Reply::tool_use(
            "Bash",
            json!({"command": command.into(), "description": "fake API command"}),
        )
    }

    /// An error shaped like Anthropic's: `{"type":"error","error":{"type":…,"message":…}}` with
    /// the error type that matches `status` (400 invalid_request_error, 401 authentication_error,
    /// 403 permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error,
    /// 500 api_error, 529 overloaded_error) and a `request-id` header. No `retry-after`.
    pub fn api_error(status: u16, message: impl Into<String>) -> Reply {
        Reply::Http {
            status,
            headers: vec![("request-id".into(), "req_fake_error".into())],
            body: json!({
                "type": "error",
                "error": {"type": error_type_for(status), "message": message.into()},
                "request_id": "req_fake_error",
            }),
        }
    }

    /// A 429 `rate_limit_error` with `retry-after: <secs>` and `anthropic-ratelimit-*` headers
    /// saying the request budget is exhausted.
    pub fn rate_limited(retry_after_secs: u64) -> Reply {
        let mut reply = Reply::api_error(
            429,
            "Number of request tokens has exceeded your per-minute rate limit (fake)",
        );
        if let Reply::Http { headers, .. } = &mut reply {
            let reset = chrono_like_reset(retry_after_secs);
            headers.extend([
                ("retry-after".to_string(), retry_after_secs.to_string()),
                ("anthropic-ratelimit-requests-limit".into(), "50".into()),
                ("anthropic-ratelimit-requests-remaining".into(), "0".into()),
                ("anthropic-ratelimit-requests-reset".into(), reset),
            ]);
        }
        reply
    }

    /// `reply`, after `delay`.
    pub fn delayed(delay: Duration, reply: Reply) -> Reply {
        Reply::Delayed {
            delay,
            reply: Box::new(reply),
        }
    }
}

/// Anthropic's error `type` for an HTTP status.
pub fn error_type_for(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// RFC 3339 UTC time `secs` from now, without pulling chrono into the tests.
fn chrono_like_reset(secs: u64) -> String {
    let t = std::time::SystemTime::now() + Duration::from_secs(secs);
    let epoch = t
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (days, rem) = (epoch / 86_400, epoch % 86_400);
    // Civil-from-days (Howard Hinnant).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

type Responder = Arc<dyn Fn(&Value) -> Reply + Send + Sync>;

/// Decides the reply for each `/v1/messages` request.
#[derive(Clone)]
pub struct Script {
    main: Responder,
    side: Responder,
}

impl Script {
    /// Main request N (0-based, side requests not counted) gets `replies[N]`; the last reply
    /// repeats. Panics on an empty list.
    pub fn sequence(replies: Vec<Reply>) -> Script {
        assert!(
            !replies.is_empty(),
            "Script::sequence needs at least one reply"
        );
        let next = AtomicUsize::new(0);
        Script::respond(move |_| {
            let i = next.fetch_add(1, Ordering::SeqCst);
            replies[i.min(replies.len() - 1)].clone()
        })
    }

    /// Always the same text.
    pub fn text(text: impl Into<String>) -> Script {
        Script::sequence(vec![Reply::text(text)])
    }

    /// Always the same reply (e.g. an error).
    pub fn always(reply: Reply) -> Script {
        Script::sequence(vec![reply])
    }

    /// A closure sees each main request body and picks the reply (see the conversation helpers
    /// [`last_user_text`], [`all_text`], [`tool_results`]).
    pub fn respond(f: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> Script {
        Script {
            main: Arc::new(f),
            side: Arc::new(|_| Reply::text("Fake side reply")),
        }
    }

    /// Replace the responder for side requests (default: the text "Fake side reply").
    pub fn with_side(mut self, f: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> Script {
        self.side = Arc::new(f);
        self
    }
}

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

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    let path = uri.path().trim_end_matches('/');
    let kind = match (method.clone(), path) {
        (Method::POST, "/v1/messages") if is_side_request(&body) => RequestKind::Side,
        (Method::POST, "/v1/messages") => RequestKind::Main,
        (Method::POST, "/v1/messages/count_tokens") => RequestKind::CountTokens,
        _ => RequestKind::Unknown,
    };
    let index = {
        let mut log = shared.log.lock().unwrap();
        log.push(Recorded {
            kind,
            method: method.to_string(),
            uri: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_string(), |p| p.to_string()),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.clone(),
            at: shared.started.elapsed(),
            status: 0,
        });
        log.len() - 1
    };
    let set_status = |status: u16| shared.log.lock().unwrap()[index].status = status;

    let reply = match kind {
        RequestKind::Main => (shared.script.main)(&body),
        RequestKind::Side => (shared.script.side)(&body),
        RequestKind::CountTokens => {
            set_status(200);
            return json_response(200, &[], &json!({"input_tokens": estimate_tokens(&bytes)}));
        }
        RequestKind::Unknown => {
            eprintln!("fake_anthropic: unknown request {method} {uri} body={body}");
            set_status(404);
            return json_response(
                404,
                &[],
                &json!({"type": "error", "error": {"type": "not_found_error",
                    "message": format!("fake API: no route for {method} {uri}")}}),
            );
        }
    };
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("claude-fake")
        .to_string();
    let input_tokens = estimate_tokens(&bytes);
    let response = render(&shared, reply, stream, &model, input_tokens).await;
    set_status(response.status().as_u16());
    response
}

fn estimate_tokens(bytes: &[u8]) -> u64 {
    (bytes.len() as u64 / 4).max(1)
}

fn json_response(status: u16, headers: &[(String, String)], body: &Value) -> Response {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(body.to_string())).unwrap()
}

async fn render(
    shared: &Shared,
    mut reply: Reply,
    stream: bool,
    model: &str,
    input_tokens: u64,
) -> Response {
    loop {
        match reply {
            Reply::Delayed {
                delay,
                reply: inner,
            } => {
                tokio::time::sleep(delay).await;
                reply = *inner;
            }
            Reply::Hang => std::future::pending::<()>().await,
            Reply::Http {
                status,
                headers,
                body,
            } => return json_response(status, &headers, &body),
            other => {
                let (content, stop_reason) = content_of(shared, other);
                let id = format!(
                    "msg_fake_{:04}",
                    shared.next_id.fetch_add(1, Ordering::SeqCst)
                );
                let output_tokens =
                    (serde_json::to_string(&content).unwrap_or_default().len() as u64 / 4).max(1);
                return if stream {
                    sse_response(
                        &id,
                        model,
                        &content,
                        &stop_reason,
                        input_tokens,
                        output_tokens,
                    )
                } else {
                    json_response(
                        200,
                        &[],
                        &json!({
                            "id": id, "type": "message", "role": "assistant", "model": model,
                            "content": content, "stop_reason": stop_reason, "stop_sequence": null,
                            "usage": usage(input_tokens, output_tokens),
                        }),
                    )
                };
            }
        }
    }
}

fn usage(input_tokens: u64, output_tokens: u64) -> Value {
    json!({
        "input_tokens": input_tokens, "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
        "service_tier": "standard",
    })
}

/// Content blocks and stop reason of a message reply; assigns `tool_use` ids.
fn content_of(shared: &Shared, reply: Reply) -> (Vec<Value>, String) {
    let tool_id = || {
        format!(
            "toolu_fake_{:04}",
            shared.next_id.fetch_add(1, Ordering::SeqCst)
        )
    };
    let tool = |name: String, input: Value| json!({"type": "tool_use", "id": tool_id(), "name": name, "input": input});
    match reply {
        Reply::Text(text) => (
            vec![json!({"type": "text", "text": text})],
            "end_turn".into(),
        ),
        Reply::ToolUse { name, input } => (vec![tool(name, input)], "tool_use".into()),
        Reply::TextAndToolUse { text, name, input } => (
            vec![json!({"type": "text", "text": text}), tool(name, input)],
            "tool_use".into(),
        ),
        Reply::Blocks {
            mut content,
            stop_reason,
        } => {
            for block in &mut content {
                if block["type"] == "tool_use" && block.get("id").is_none() {
                    block["id"] = Value::String(tool_id());
                }
            }
            (content, stop_reason)
        }
        Reply::Http { .. } | Reply::Delayed { .. } | Reply::Hang => unreachable!(),
    }
}

/// The SSE event stream of a streaming Messages response, split the way the real API does it.
fn sse_response(
    id: &str,
    model: &str,
    content: &[Value],
    stop_reason: &str,
    input_tokens: u64,
    output_tokens: u64,
) -> Response {
    let mut events: Vec<(&str, Value)> = Vec::new();
    events.push((
        "message_start",
        json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": usage(input_tokens, 1)}}),
    ));
    events.push(("ping", json!({"type": "ping"})));
    for (index, block) in content.iter().enumerate() {
        let (start, deltas): (Value, Vec<Value>) = match block["type"].as_str() {
            Some("text") => (
                json!({"type": "text", "text": ""}),
                chunks(block["text"].as_str().unwrap_or_default())
                    .map(|t| json!({"type": "text_delta", "text": t}))
                    .collect(),
            ),
            Some("thinking") => (
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                chunks(block["thinking"].as_str().unwrap_or_default())
                    .map(|t| json!({"type": "thinking_delta", "thinking": t}))
                    .chain(std::iter::once(
                        json!({"type": "signature_delta", "signature": "fake-signature"}),
                    ))
                    .collect(),
            ),
            Some("tool_use") => {
                let input = block["input"].to_string();
                (
                    json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                    chunks(&input)
                        .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
                        .collect(),
                )
            }
            _ => (block.clone(), Vec::new()),
        };
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for delta in deltas {
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    events.push((
        "message_delta",
        json!({"type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": output_tokens}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));

    let frames: Vec<Result<String, std::convert::Infallible>> = events
        .into_iter()
        .map(|(event, data)| Ok(format!("event: {event}\ndata: {data}\n\n")))
        .collect();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("request-id", format!("req_{id}"))
        .body(Body::from_stream(futures::stream::iter(frames)))
        .unwrap()
}

/// Split text into deltas of at most 64 chars (on char boundaries), like a real stream.
fn chunks(s: &str) -> impl Iterator<Item = String> + '_ {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(64);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        rest = tail;
        Some(head.to_string())
    })
}

// ---------------------------------------------------------------------------------------------
// Conversation helpers for `Script::respond` closures.

/// The request's system prompt (a string, or its blocks' text joined by "\n").
pub fn system_text(body: &Value) -> String {
    match body.get("system") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Is this a sub-agent's request (`Agent`/`Task` tool)? 2.1.331 marks them with
/// `cc_is_subagent=true` in the first system block (the billing header). They are main
/// requests for [`Script`] purposes: they consume scripted replies.
pub fn is_subagent_request(body: &Value) -> bool {
    system_text(body).contains("cc_is_subagent=true")
}

/// Text of a message's `content` (a string, or the `text` of its text blocks, joined by "\n").
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| match b["type"].as_str() {
                Some("text") => b["text"].as_str().map(str::to_string),
                Some("tool_result") => Some(content_text(&b["content"])),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Text of the last `user` message of a request (includes the CLI's `<system-reminder>` blocks
/// and tool results' text).
pub fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default()
}

/// All text of all messages of a request (to search the prompt for a marker).
pub fn all_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| content_text(&m["content"]))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// A `tool_result` block found in a request.
#[derive(Clone, Debug)]
pub struct ToolResult {
    pub tool_use_id: String,
    pub content: String,
    pub is_error: bool,
}

/// Every `tool_result` block in the request's messages, in order.
pub fn tool_results(body: &Value) -> Vec<ToolResult> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| ToolResult {
            tool_use_id: b["tool_use_id"].as_str().unwrap_or_default().to_string(),
            content: content_text(&b["content"]),
            is_error: b["is_error"].as_bool().unwrap_or(false),
        })
        .collect()
}
