//! The MCP server end to end: the BUILT `cc-executor mcp` binary driven by rmcp's client over
//! stdio, with the fake claude (`examples/fake_claude/`) as the CLI.
//!
//! Every message the client receives (and every message it sends) is logged in wire order by a
//! thin transport wrapper ([`Tap`]): rmcp hands notifications to the client handler on spawned
//! tasks, so handler call order says nothing about wire order; the tap does.
//!
//! rmcp 3.11 puts a progress token on EVERY request it sends (`Peer::send_request_with_option`
//! always sets one), so "a call without a token" is made by marking the request with
//! [`NO_TOKEN_KEY`] in `_meta`; the tap removes the marker and the progress token before the
//! request goes on the wire, and the test checks the sent bytes.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientRequest, GetPromptRequestParams,
    ReadResourceRequestParams, Request, RequestMetaObject, ServerResult,
};
use rmcp::service::{
    PeerRequestOptions, RequestHandle, RunningService, RxJsonRpcMessage, ServiceError,
    TxJsonRpcMessage,
};
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::{TokioChildProcess, Transport};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::AsyncReadExt;

use crate::support::fixtures::{
    cc_executor_bin, fake_claude_bin, group_processes, wait_group_gone,
};

mod calls;
mod lifecycle;
mod progress_and_cancellation;
mod refusals;

/// The bundled orchestrator prompt, as the server must serve it.
const PROMPT_TEXT: &str = include_str!("../../../prompts/cc_execute.md");
const PROMPT_URI: &str = "cc-executor://prompts/cc_execute";
/// `_meta` marker: the tap strips it and the request's progress token before sending.
const NO_TOKEN_KEY: &str = "cc-executor-test/no-progress-token";
/// Upper bound for any single protocol exchange (generous: a loaded 2-core machine).
const STEP: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Wire tap
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Sent,
    Received,
}

type Wire = Arc<Mutex<Vec<(Dir, Value)>>>;

/// A client transport that logs every message in wire order and can drop progress tokens.
struct Tap<T> {
    inner: T,
    wire: Wire,
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for Tap<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let item = strip_marked_progress_token(item);
        let logged = serde_json::to_value(&item).unwrap_or(Value::Null);
        self.wire.lock().unwrap().push((Dir::Sent, logged));
        self.inner.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        let wire = self.wire.clone();
        let next = self.inner.receive();
        async move {
            let message = next.await;
            if let Some(m) = &message {
                let logged = serde_json::to_value(m).unwrap_or(Value::Null);
                wire.lock().unwrap().push((Dir::Received, logged));
            }
            message
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

fn strip_marked_progress_token(item: TxJsonRpcMessage<RoleClient>) -> TxJsonRpcMessage<RoleClient> {
    let Ok(mut v) = serde_json::to_value(&item) else {
        return item;
    };
    let Some(meta) = v
        .pointer_mut("/params/_meta")
        .and_then(Value::as_object_mut)
    else {
        return item;
    };
    if meta.remove(NO_TOKEN_KEY).is_none() {
        return item;
    }
    meta.remove("progressToken");
    serde_json::from_value(v).expect("the request decodes again without its progress token")
}

// ---------------------------------------------------------------------------------------------
// Server harness
// ---------------------------------------------------------------------------------------------

/// How to start the server.
struct Launch {
    args: Vec<String>,
    claude_bin: PathBuf,
    /// Spawn the child ourselves (to observe its exit) instead of through `TokioChildProcess`.
    own_child: bool,
}

impl Launch {
    fn new() -> Self {
        Launch {
            args: Vec::new(),
            claude_bin: fake_claude_bin(),
            own_child: false,
        }
    }

    fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    fn claude_bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.claude_bin = path.into();
        self
    }

    fn own_child(mut self) -> Self {
        self.own_child = true;
        self
    }

    async fn start(self) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["root", "data", "rec", "config"] {
            std::fs::create_dir(dir.path().join(sub)).expect("create test dirs");
        }
        let root = dir.path().join("root").canonicalize().expect("root");
        let mut cmd = tokio::process::Command::new(cc_executor_bin());
        // The process environment must not leak settings into the server under test.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CC_EXECUTOR_") {
                cmd.env_remove(key);
            }
        }
        cmd.arg("--claude-bin")
            .arg(&self.claude_bin)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--allowed-root")
            .arg(&root)
            .args(&self.args)
            .arg("mcp")
            .current_dir(&root)
            .env("FAKE_CLAUDE_RECORD_DIR", dir.path().join("rec"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("RUST_LOG", "warn,cc_executor=info");

        let wire: Wire = Arc::default();
        let stderr_text: Arc<Mutex<String>> = Arc::default();
        let (client, pid, child) = if self.own_child {
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            let mut child = cmd.spawn().expect("spawn cc-executor mcp");
            let pid = child.id().expect("server pid");
            collect_stderr(child.stderr.take(), stderr_text.clone());
            let stdout = child.stdout.take().expect("stdout");
            let stdin = child.stdin.take().expect("stdin");
            let tap = Tap {
                inner: AsyncRwTransport::<RoleClient, _, _>::new(stdout, stdin),
                wire: wire.clone(),
            };
            let client = tokio::time::timeout(STEP, ().serve(tap))
                .await
                .expect("MCP initialization timed out")
                .expect("MCP initialization");
            (client, pid, Some(child))
        } else {
            let (transport, stderr) = TokioChildProcess::builder(cmd)
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn cc-executor mcp");
            let pid = transport.id().expect("server pid");
            collect_stderr(stderr, stderr_text.clone());
            let tap = Tap {
                inner: transport,
                wire: wire.clone(),
            };
            let client = tokio::time::timeout(STEP, ().serve(tap))
                .await
                .expect("MCP initialization timed out")
                .expect("MCP initialization");
            (client, pid, None)
        };
        Server {
            client,
            wire,
            dir,
            root,
            pid,
            child,
            stderr: stderr_text,
        }
    }
}

/// Keeps the server's stderr (its logs) for failure messages; never lets the pipe fill up.
fn collect_stderr<R>(stderr: Option<R>, into: Arc<Mutex<String>>)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let Some(mut stderr) = stderr else { return };
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = stderr.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let mut s = into.lock().unwrap();
            s.push_str(&String::from_utf8_lossy(&buf[..n]));
            if s.len() > 64 * 1024 {
                let cut = s.len() - 32 * 1024;
                let cut = (cut..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                s.replace_range(..cut, "…");
            }
        }
    });
}

struct Server {
    client: RunningService<RoleClient, ()>,
    wire: Wire,
    dir: TempDir,
    /// Allowed root and the server's cwd (canonical).
    root: PathBuf,
    pid: u32,
    child: Option<tokio::process::Child>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn wire(&self) -> Vec<(Dir, Value)> {
        self.wire.lock().unwrap().clone()
    }

    fn wire_len(&self) -> usize {
        self.wire.lock().unwrap().len()
    }

    /// Awaits `fut` for at most `limit`, panicking with the server's stderr otherwise.
    async fn within<F: Future>(&self, limit: Duration, what: &str, fut: F) -> F::Output {
        match tokio::time::timeout(limit, fut).await {
            Ok(v) => v,
            Err(_) => panic!(
                "{what}: no answer within {limit:?}\n--- server stderr ---\n{}",
                self.stderr()
            ),
        }
    }

    fn params(arguments: Value) -> CallToolRequestParams {
        let Value::Object(map) = arguments else {
            panic!("tool arguments must be a JSON object")
        };
        CallToolRequestParams::new("cc_execute").with_arguments(map)
    }

    /// `tools/call cc_execute` through rmcp's high-level helper.
    async fn call(&self, arguments: Value) -> Result<CallToolResult, ServiceError> {
        let what = format!("cc_execute {arguments:.200}");
        self.within(STEP, &what, self.client.call_tool(Self::params(arguments)))
            .await
    }

    /// A call that must come back as a tool result (not a protocol error).
    async fn call_ok(&self, arguments: Value) -> CallToolResult {
        let shown = arguments.to_string();
        match self.call(arguments).await {
            Ok(r) => r,
            Err(e) => panic!(
                "cc_execute {:.200} failed at the protocol level: {e}\n--- server stderr ---\n{}",
                shown,
                self.stderr()
            ),
        }
    }

    /// Sends `tools/call cc_execute` and returns the handle (id, progress token, cancel).
    async fn send(&self, arguments: Value, with_token: bool) -> RequestHandle<RoleClient> {
        self.send_to("cc_execute", arguments, with_token).await
    }

    /// Sends `tools/call <tool>` and returns the handle (id, progress token, cancel).
    async fn send_to(
        &self,
        tool: &'static str,
        arguments: Value,
        with_token: bool,
    ) -> RequestHandle<RoleClient> {
        let Value::Object(map) = arguments else {
            panic!("tool arguments must be a JSON object")
        };
        let params = CallToolRequestParams::new(tool).with_arguments(map);
        let mut options = PeerRequestOptions::no_options();
        if !with_token {
            let mut meta = RequestMetaObject::new();
            meta.insert(NO_TOKEN_KEY.to_string(), Value::Bool(true));
            options = options.with_meta(meta);
        }
        let request = ClientRequest::CallToolRequest(Request::new(params));
        self.within(
            STEP,
            "send tools/call",
            self.client
                .peer()
                .send_cancellable_request(request, options),
        )
        .await
        .expect("send tools/call")
    }

    async fn response(&self, handle: RequestHandle<RoleClient>) -> CallToolResult {
        match self
            .within(STEP, "tools/call response", handle.await_response())
            .await
        {
            Ok(ServerResult::CallToolResult(r)) => r,
            other => panic!(
                "expected a CallToolResult, got {other:?}\n--- server stderr ---\n{}",
                self.stderr()
            ),
        }
    }

    fn record_dir(&self) -> PathBuf {
        self.dir.path().join("rec")
    }

    /// Every fake claude invocation so far, in order.
    fn invocations(&self) -> Vec<Value> {
        let path = self.record_dir().join("invocations.jsonl");
        let Ok(text) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("invocations.jsonl line"))
            .collect()
    }

    /// Waits for an invocation of `scenario` whose prompt contains `marker`.
    async fn wait_invocation(&self, scenario: &str, marker: &str) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(rec) = self.invocations().into_iter().find(|r| {
                r["scenario"] == scenario && r["stdin"].as_str().unwrap_or("").contains(marker)
            }) {
                return rec;
            }
            if Instant::now() > deadline {
                panic!(
                    "fake claude `{scenario}` ({marker}) never started; invocations: {:?}\n--- server stderr ---\n{}",
                    self.invocations(),
                    self.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the first progress notification carrying `token`; returns its message.
    async fn first_progress(&self, token: &Value) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            let found = self.wire().into_iter().find_map(|(d, m)| {
                (d == Dir::Received
                    && m["method"] == "notifications/progress"
                    && &m["params"]["progressToken"] == token)
                    .then(|| m["params"]["message"].as_str().unwrap_or("").to_string())
            });
            if let Some(message) = found {
                return message;
            }
            if Instant::now() > deadline {
                panic!(
                    "no progress for token {token}\n--- server stderr ---\n{}",
                    self.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until the fake's process group is completely gone; panics with what is left.
    async fn assert_group_gone(&self, pgid: i32, what: &str) {
        let left = tokio::task::spawn_blocking(move || wait_group_gone(pgid, 15))
            .await
            .expect("wait_group_gone");
        assert!(
            left.is_empty(),
            "{what}: process group {pgid} still has {left:?}\n--- server stderr ---\n{}",
            self.stderr()
        );
    }

    /// Waits for our own child (the server) to exit.
    async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().expect("own_child launch");
        match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => status.expect("wait for the server"),
            Err(_) => panic!(
                "the server (pid {}) did not exit within {limit:?}\n--- server stderr ---\n{}",
                self.pid,
                self.stderr.lock().unwrap()
            ),
        }
    }

    /// Closes the connection and lets the server go.
    async fn close(self) {
        let Server { client, .. } = self;
        let _ = tokio::time::timeout(STEP, client.cancel()).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Result helpers
// ---------------------------------------------------------------------------------------------

fn structured(r: &CallToolResult) -> &Value {
    r.structured_content
        .as_ref()
        .unwrap_or_else(|| panic!("no structured content in {r:?}"))
}

fn is_error(r: &CallToolResult) -> bool {
    r.is_error == Some(true)
}

/// All text blocks of a tool result.
fn text_of(r: &CallToolResult) -> String {
    let v = serde_json::to_value(r).expect("serialize CallToolResult");
    v["content"]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The message of a refused call, whichever way it was refused: a JSON-RPC error, or a tool
/// result with `isError` (rmcp 3.11 turns argument-deserialization errors into the latter).
fn refusal(outcome: &Result<CallToolResult, ServiceError>) -> String {
    match outcome {
        Err(ServiceError::McpError(e)) => format!("JSON-RPC error {}: {}", e.code.0, e.message),
        Err(other) => panic!("expected a refusal, got transport error {other}"),
        Ok(r) => {
            assert!(
                is_error(r),
                "expected a refusal, got a successful result: {r:?}"
            );
            text_of(r)
        }
    }
}

/// The object schema of a finished execution inside the tool's output schema: the root itself,
/// or the `anyOf`/`oneOf` branch (possibly a `$ref` into `$defs`) with `execution_id` and
/// `status` (the output may also have other shapes, e.g. a "started" handle).
fn execution_result_schema(output: &Value) -> Value {
    let resolve = |s: &Value| -> Value {
        match s["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
            Some(path) => output
                .pointer(&format!("/{path}"))
                .cloned()
                .unwrap_or(Value::Null),
            None => s.clone(),
        }
    };
    let is_result = |s: &Value| {
        s["properties"]["execution_id"].is_object()
            && s["properties"]["status"].is_object()
            && s["properties"]["finished_at"].is_object()
    };
    if is_result(output) {
        return output.clone();
    }
    ["anyOf", "oneOf"]
        .iter()
        .filter_map(|k| output[*k].as_array())
        .flatten()
        .map(resolve)
        .find(is_result)
        .unwrap_or_else(|| panic!("no execution-result shape in the output schema: {output}"))
}

fn timestamp(v: &Value, key: &str) -> DateTime<Utc> {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` missing in {v}"))
        .parse()
        .unwrap_or_else(|e| panic!("`{key}` in {v} is not RFC 3339: {e}"))
}

/// (progress, message) of the progress notifications carrying `token`, with their wire
/// positions, and the wire position of the response to request `id`.
fn progress_and_response(
    wire: &[(Dir, Value)],
    token: &Value,
    id: &Value,
) -> (Vec<(usize, f64, String)>, usize) {
    let mut notes = Vec::new();
    let mut response = None;
    for (i, (dir, m)) in wire.iter().enumerate() {
        if *dir != Dir::Received {
            continue;
        }
        if m["method"] == "notifications/progress" && &m["params"]["progressToken"] == token {
            notes.push((
                i,
                m["params"]["progress"].as_f64().expect("numeric progress"),
                m["params"]["message"].as_str().unwrap_or("").to_string(),
            ));
        }
        if &m["id"] == id && (m.get("result").is_some() || m.get("error").is_some()) {
            response = Some(i);
        }
    }
    (
        notes,
        response.unwrap_or_else(|| panic!("no response to request {id} on the wire")),
    )
}

/// The messages of the progress notifications for one request, checked: all of them before
/// its response, `progress` strictly increasing. Heartbeats (which only a very slow machine
/// would produce here) are left out.
fn progress_messages(wire: &[(Dir, Value)], token: &Value, id: &Value) -> Vec<String> {
    let (notes, response_at) = progress_and_response(wire, token, id);
    assert!(
        notes.iter().all(|(at, _, _)| *at < response_at),
        "a progress notification came after the response (at {response_at}): {notes:?}"
    );
    for pair in notes.windows(2) {
        assert!(pair[0].1 < pair[1].1, "progress not increasing: {notes:?}");
    }
    notes
        .into_iter()
        .map(|(_, _, m)| m)
        .filter(|m| !m.starts_with("still running"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------
