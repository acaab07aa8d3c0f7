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

/// The bundled orchestrator prompt, as the server must serve it.
const PROMPT_TEXT: &str = include_str!("../../prompts/cc_execute.md");
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
        let mut options = PeerRequestOptions::no_options();
        if !with_token {
            let mut meta = RequestMetaObject::new();
            meta.insert(NO_TOKEN_KEY.to_string(), Value::Bool(true));
            options = options.with_meta(meta);
        }
        let request = ClientRequest::CallToolRequest(Request::new(Self::params(arguments)));
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

#[tokio::test]
async fn lists_the_tool_prompt_and_resource_with_schemas_and_server_info() {
    let server = Launch::new().start().await;

    let info = server
        .client
        .peer_info()
        .expect("server info after initialize");
    let implementation = info.server_info.as_ref().expect("serverInfo");
    assert_eq!(implementation.name, "cc-executor");
    assert_eq!(implementation.version, env!("CARGO_PKG_VERSION"));

    let tools = server
        .within(STEP, "tools/list", server.client.list_all_tools())
        .await
        .expect("tools/list");
    let tool = tools
        .iter()
        .find(|t| t.name == "cc_execute")
        .unwrap_or_else(|| panic!("cc_execute is not listed: {tools:?}"));
    let tool = serde_json::to_value(tool).expect("tool as JSON");
    let input = &tool["inputSchema"];
    assert_eq!(input["type"], "object", "{input}");
    assert!(
        input["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("task"))),
        "`task` must be required: {input}"
    );
    assert!(input["properties"]["task"].is_object(), "{input}");
    for optional in ["timeout_secs", "cwd", "model", "permission_mode"] {
        assert!(
            input["properties"][optional].is_object(),
            "`{optional}` missing from the input schema: {input}"
        );
    }
    let output = &tool["outputSchema"];
    assert_eq!(output["type"], "object", "output schema: {output}");
    let result_schema = execution_result_schema(output);
    for field in ["status", "execution_id", "result", "warnings", "started_at"] {
        assert!(
            result_schema["properties"][field].is_object(),
            "`{field}` missing from the result schema: {result_schema}"
        );
    }
    assert!(
        tool["description"]
            .as_str()
            .is_some_and(|d| d.contains("fresh Claude Code process")),
        "{tool}"
    );

    let prompts = server
        .within(STEP, "prompts/list", server.client.list_all_prompts())
        .await
        .expect("prompts/list");
    assert!(
        prompts.iter().any(|p| p.name == "cc_execute"),
        "prompt cc_execute not listed: {prompts:?}"
    );
    let prompt = server
        .within(
            STEP,
            "prompts/get",
            server
                .client
                .get_prompt(GetPromptRequestParams::new("cc_execute")),
        )
        .await
        .expect("prompts/get cc_execute");
    let prompt = serde_json::to_value(&prompt).expect("prompt as JSON");
    assert_eq!(
        prompt["messages"][0]["content"]["text"], PROMPT_TEXT,
        "prompt text"
    );
    let unknown = server
        .within(
            STEP,
            "prompts/get nope",
            server
                .client
                .get_prompt(GetPromptRequestParams::new("nope")),
        )
        .await;
    assert!(
        matches!(&unknown, Err(ServiceError::McpError(e)) if e.message.contains("nope")),
        "unknown prompt: {unknown:?}"
    );

    let resources = server
        .within(STEP, "resources/list", server.client.list_all_resources())
        .await
        .expect("resources/list");
    let resources = serde_json::to_value(&resources).expect("resources as JSON");
    assert!(
        resources
            .as_array()
            .is_some_and(|rs| rs.iter().any(|r| r["uri"] == PROMPT_URI)),
        "resource {PROMPT_URI} not listed: {resources}"
    );
    let read = server
        .within(
            STEP,
            "resources/read",
            server
                .client
                .read_resource(ReadResourceRequestParams::new(PROMPT_URI)),
        )
        .await
        .expect("resources/read");
    let read = serde_json::to_value(&read).expect("resource as JSON");
    assert_eq!(read["contents"][0]["uri"], PROMPT_URI, "{read}");
    assert_eq!(read["contents"][0]["mimeType"], "text/markdown", "{read}");
    assert_eq!(read["contents"][0]["text"], PROMPT_TEXT, "resource text");

    server.close().await;
}

#[tokio::test]
async fn results_are_structured_and_failures_set_is_error() {
    let server = Launch::new().start().await;
    let tools = server
        .within(STEP, "tools/list", server.client.list_all_tools())
        .await
        .expect("tools/list");
    let output_schema = serde_json::to_value(
        tools
            .iter()
            .find(|t| t.name == "cc_execute")
            .and_then(|t| t.output_schema.clone())
            .expect("cc_execute output schema"),
    )
    .unwrap();
    let result_schema = execution_result_schema(&output_schema);
    let schema_fields: Vec<&String> = result_schema["properties"]
        .as_object()
        .expect("schema properties")
        .keys()
        .collect();

    let ok = server
        .call_ok(json!({"task": "@fake success text=hello-from-mcp\nSay hello, please."}))
        .await;
    assert!(!is_error(&ok), "success must not be an error: {ok:?}");
    let s = structured(&ok);
    assert_eq!(s["status"], "succeeded", "{s}");
    assert_eq!(s["result"], "hello-from-mcp", "{s}");
    let id = s["execution_id"].as_str().expect("execution_id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "execution_id {id}");
    assert!(
        timestamp(s, "started_at") <= timestamp(s, "finished_at"),
        "{s}"
    );
    // The structured content has exactly the shape the output schema announces.
    let fields = s.as_object().expect("structured content is an object");
    for key in fields.keys() {
        assert!(
            schema_fields.contains(&key),
            "`{key}` is not in the output schema"
        );
    }
    for required in result_schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().unwrap();
        assert!(
            fields.contains_key(required),
            "required `{required}` missing: {s}"
        );
    }
    let text = text_of(&ok);
    assert!(
        text.contains(&format!("cc_execute {id}: succeeded")) && text.contains("hello-from-mcp"),
        "text content: {text}"
    );
    let inv = server.wait_invocation("success", "hello-from-mcp").await;
    // The task verbatim, then the UUID hook's instruction (on by default; tests/it/evidence.rs).
    let stdin = inv["stdin"].as_str().unwrap();
    assert!(
        stdin.starts_with(
            "@fake success text=hello-from-mcp\nSay hello, please.\n\n---\nExecution id: "
        ),
        "{stdin}"
    );
    assert_eq!(inv["cwd"], server.root.to_str().unwrap(), "default cwd");

    let failed = server
        .call_ok(json!({"task": "@fake max_turns\nList the files, please.", "max_turns": 1}))
        .await;
    assert!(is_error(&failed), "max_turns must set isError: {failed:?}");
    let f = structured(&failed);
    assert_eq!(f["status"], "max_turns", "{f}");
    assert!(
        f["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w.as_str().unwrap_or("").contains("turns"))),
        "{f}"
    );
    assert!(text_of(&failed).contains("max_turns"), "{failed:?}");

    server.close().await;
}

#[tokio::test]
async fn progress_notifications_are_ordered_and_precede_the_response() {
    let server = Launch::new().start().await;

    // The tools scenario: init, four tool uses, success.
    let handle = server
        .send(
            json!({"task": "@fake tools\nMake the requested changes."}),
            true,
        )
        .await;
    let (token, id) = (
        serde_json::to_value(&handle.progress_token).unwrap(),
        serde_json::to_value(&handle.id).unwrap(),
    );
    let result = server.response(handle).await;
    assert_eq!(structured(&result)["status"], "succeeded", "{result:?}");
    let wire = server.wire();
    let (_, request) = wire
        .iter()
        .find(|(d, m)| *d == Dir::Sent && m["id"] == id)
        .expect("the request on the wire");
    assert_eq!(
        request["params"]["_meta"]["progressToken"], token,
        "{request}"
    );

    let messages = progress_messages(&server.wire(), &token, &id);
    let root = server.root.display().to_string();
    let expected = [
        "starting (no queue)".to_string(),
        "started: session ".to_string(),
        format!("tool: Write {root}/fake_claude_written.txt"),
        format!("tool: Edit {root}/fake_claude_edited.txt"),
        format!("tool: Write {root}/fake_claude_failed.txt"),
        "tool: Bash echo hello".to_string(),
        "finished: succeeded".to_string(),
    ];
    assert_eq!(messages.len(), expected.len(), "messages: {messages:#?}");
    for (got, want) in messages.iter().zip(&expected) {
        assert!(
            got.starts_with(want.as_str()),
            "got {got:?}, want {want:?} in {messages:#?}"
        );
    }
    assert!(
        messages[1].contains("model claude-sonnet-4-5"),
        "{messages:?}"
    );

    // The slow scenario: no tools, just start and finish.
    let handle = server
        .send(
            json!({"task": "@fake slow secs=0.5\nTake your time."}),
            true,
        )
        .await;
    let (token, id) = (
        serde_json::to_value(&handle.progress_token).unwrap(),
        serde_json::to_value(&handle.id).unwrap(),
    );
    let result = server.response(handle).await;
    assert_eq!(structured(&result)["status"], "succeeded", "{result:?}");
    let messages = progress_messages(&server.wire(), &token, &id);
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(messages[0], "starting (no queue)");
    assert!(messages[1].starts_with("started: session "), "{messages:?}");
    assert_eq!(messages[2], "finished: succeeded");

    // Without a progress token: the same work, no notifications at all.
    let before = server.wire_len();
    let handle = server
        .send(
            json!({"task": "@fake tools\nMake the requested changes."}),
            false,
        )
        .await;
    let id = serde_json::to_value(&handle.id).unwrap();
    let result = server.response(handle).await;
    assert_eq!(structured(&result)["status"], "succeeded", "{result:?}");
    let wire = server.wire();
    let (_, request) = wire[before..]
        .iter()
        .find(|(d, m)| *d == Dir::Sent && m["id"] == id)
        .expect("the request on the wire");
    assert!(
        request["params"]["_meta"].get("progressToken").is_none()
            && request["params"]["_meta"].get(NO_TOKEN_KEY).is_none(),
        "the request still carries a progress token: {request}"
    );
    let stray: Vec<&Value> = wire[before..]
        .iter()
        .filter(|(d, m)| *d == Dir::Received && m["method"] == "notifications/progress")
        .map(|(_, m)| m)
        .collect();
    assert!(stray.is_empty(), "progress without a token: {stray:?}");

    server.close().await;
}

#[tokio::test]
async fn cancelling_a_call_kills_the_process_group_and_the_server_keeps_serving() {
    let server = Launch::new()
        .args(&["--kill-grace-ms", "300"])
        .start()
        .await;

    // 1. RequestHandle::cancel: sends notifications/cancelled for a hanging task.
    let handle = server
        .send(
            json!({"task": "@fake hang\nWait for it (cancel test 1)."}),
            true,
        )
        .await;
    let cancelled_id = serde_json::to_value(&handle.id).unwrap();
    let rec = server.wait_invocation("hang", "cancel test 1").await;
    let pgid = rec["pgid"].as_i64().expect("pgid") as i32;
    assert_eq!(
        rec["pid"].as_i64(),
        Some(pgid as i64),
        "the fake leads its own group"
    );
    assert!(!group_processes(pgid).is_empty(), "the fake is running");
    server
        .within(STEP, "cancel", handle.cancel(Some("test cancels".into())))
        .await
        .expect("send notifications/cancelled");
    server
        .assert_group_gone(pgid, "after RequestHandle::cancel")
        .await;
    assert!(
        server.wire().iter().any(|(d, m)| *d == Dir::Sent
            && m["method"] == "notifications/cancelled"
            && m["params"]["requestId"] == cancelled_id),
        "no notifications/cancelled was sent"
    );

    // 2. Dropping the call future (rmcp sends notifications/cancelled on drop); the fake
    //    ignores SIGTERM, so the process group must be SIGKILLed after the grace period.
    {
        // Boxed, so that `drop` below really drops it (a `tokio::pin!`ned future lives on).
        let mut call = Box::pin(
            server.call(json!({"task": "@fake ignore_sigterm\nStubborn (cancel test 2)."})),
        );
        let rec = tokio::select! {
            r = &mut call => panic!("the stubborn call returned: {r:?}"),
            rec = server.wait_invocation("ignore_sigterm", "cancel test 2") => rec,
        };
        let pgid = rec["pgid"].as_i64().expect("pgid") as i32;
        assert!(!group_processes(pgid).is_empty(), "the fake is running");
        drop(call);
        let cancellations = |wire: &[(Dir, Value)]| {
            wire.iter()
                .filter(|(d, m)| *d == Dir::Sent && m["method"] == "notifications/cancelled")
                .count()
        };
        let deadline = Instant::now() + STEP;
        while cancellations(&server.wire()) < 2 {
            assert!(
                Instant::now() < deadline,
                "dropping the call sent no notifications/cancelled"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
            .assert_group_gone(pgid, "after dropping the call")
            .await;
    }

    // The server still answers.
    let after = server
        .call_ok(json!({"task": "@fake success text=after-cancel\nStill there?"}))
        .await;
    assert_eq!(structured(&after)["status"], "succeeded", "{after:?}");
    assert_eq!(structured(&after)["result"], "after-cancel");

    server.close().await;
}

#[tokio::test]
async fn concurrent_calls_run_one_at_a_time_in_fifo_order() {
    const N: usize = 5;
    let server = Launch::new().start().await;

    // All five are in flight at once. The send order is made unambiguous without timing
    // assumptions: call i+1 goes out once call i has reported that it joined the queue (its
    // first progress notification), which takes milliseconds while job 0 runs for a second.
    let mut handles = Vec::new();
    for i in 0..N {
        let task = format!("@fake slow secs=1 text=job-{i}\nThis is job number {i}.");
        let handle = server.send(json!({ "task": task }), true).await;
        let token = serde_json::to_value(&handle.progress_token).unwrap();
        let first = server.first_progress(&token).await;
        let expected = if i == 0 {
            "starting (no queue)".to_string()
        } else {
            format!("queued (position {i})")
        };
        assert_eq!(first, expected, "call {i}");
        handles.push(handle);
    }
    let results = server
        .within(
            Duration::from_secs(25),
            "five queued calls",
            futures::future::join_all(handles.into_iter().map(|h| server.response(h))),
        )
        .await;

    let mut runs = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let s = structured(r).clone();
        assert_eq!(s["status"], "succeeded", "call {i}: {s}");
        assert_eq!(s["result"], format!("job-{i}"), "call {i}: {s}");
        runs.push((timestamp(&s, "started_at"), timestamp(&s, "finished_at"), s));
    }

    // The fake saw the jobs in send order.
    let invocations = server.invocations();
    let order: Vec<String> = invocations
        .iter()
        .map(|r| r["options"]["text"].as_str().unwrap_or("?").to_string())
        .collect();
    let expected: Vec<String> = (0..N).map(|i| format!("job-{i}")).collect();
    assert_eq!(order, expected, "invocation order");

    // No two overlapped: each ended before the next started (results' own timestamps and the
    // fake's start time).
    for i in 0..N - 1 {
        let (_, end, _) = &runs[i];
        let (next_start, _, _) = &runs[i + 1];
        assert!(
            end <= next_start,
            "job {i} ended at {end} after job {} started at {next_start}",
            i + 1
        );
        let next_spawned_ms = invocations[i + 1]["time_ms"].as_i64().expect("time_ms");
        assert!(
            end.timestamp_millis() <= next_spawned_ms,
            "job {} was spawned ({next_spawned_ms} ms) before job {i} finished ({end})",
            i + 1
        );
    }
    // Everybody but the first waited in the queue.
    for (i, (_, _, s)) in runs.iter().enumerate().skip(1) {
        assert!(
            s["queue_wait_ms"].as_u64().unwrap_or(0) > 0,
            "job {i} did not wait: {s}"
        );
    }

    server.close().await;
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_the_server_keeps_serving() {
    let server = Launch::new()
        .args(&["--allowed-models", "sonnet"])
        .start()
        .await;
    let outside = tempfile::tempdir().expect("tempdir");
    let task = "@fake success text=fine\nDo the thing, please.";

    let refused = async |arguments: Value| -> String {
        let shown = format!("{arguments:.120}");
        let outcome = server.call(arguments).await;
        let message = refusal(&outcome);
        eprintln!("{shown} -> {message}");
        message
    };

    // Missing `task`: rmcp 3.11 answers argument-deserialization errors with an isError result
    // (not a JSON-RPC invalid-params error); either way the message must name the field.
    let m = refused(json!({})).await;
    assert!(m.contains("`task`"), "{m}");

    let m = refused(json!({"task": "   "})).await;
    assert!(m.contains("`task`") && m.contains("empty"), "{m}");

    for t in [0i64, -5, 10_000_000] {
        let m = refused(json!({"task": task, "timeout_secs": t})).await;
        assert!(
            m.contains("timeout_secs") && m.contains(&format!("got {t}")),
            "timeout {t}: {m}"
        );
    }

    let missing = server.root.join("does-not-exist");
    let m = refused(json!({"task": task, "cwd": missing})).await;
    assert!(
        m.contains("`cwd`") && m.contains("not an existing directory"),
        "{m}"
    );

    let m = refused(json!({"task": task, "cwd": outside.path()})).await;
    assert!(
        m.contains("`cwd`") && m.contains("policy.allowed_roots"),
        "{m}"
    );

    let m = refused(json!({"task": task, "permission_mode": "bypassPermissions"})).await;
    assert!(
        m.contains("`permission_mode`") && m.contains("policy.allow_bypass_permissions"),
        "{m}"
    );

    let m = refused(json!({"task": task, "model": "opus"})).await;
    assert!(
        m.contains("`model`") && m.contains("policy.allowed_models") && m.contains("sonnet"),
        "{m}"
    );

    let huge = format!("@fake success\n{}", "x".repeat(1_000_000));
    let estimate = huge.chars().count().div_ceil(4);
    let m = refused(json!({ "task": huge })).await;
    assert!(
        m.contains(&format!("about {estimate} tokens")) && m.contains("limit"),
        "{m}"
    );

    let m = refused(json!({"task": task, "bogus_field": 1})).await;
    assert!(m.contains("bogus_field"), "{m}");

    assert!(
        server.invocations().is_empty(),
        "a refused request ran claude: {:?}",
        server.invocations()
    );

    let ok = server
        .call_ok(json!({"task": task, "model": "sonnet"}))
        .await;
    assert!(!is_error(&ok), "{ok:?}");
    assert_eq!(structured(&ok)["status"], "succeeded", "{ok:?}");
    assert_eq!(structured(&ok)["result"], "fine");
    let inv = server.wait_invocation("success", "Do the thing").await;
    assert!(
        inv["argv"].as_array().is_some_and(|a| a
            .iter()
            .any(|x| x.as_str().unwrap_or("").contains("sonnet"))),
        "the model reaches claude: {inv}"
    );

    server.close().await;
}

#[tokio::test]
async fn missing_claude_binary_gives_cli_not_found_with_an_install_hint() {
    let server = Launch::new()
        .claude_bin("/nonexistent/claude")
        .start()
        .await;
    let r = server
        .call_ok(json!({"task": "@fake success\nAnything at all, please."}))
        .await;
    assert!(is_error(&r), "{r:?}");
    let s = structured(&r);
    assert_eq!(s["status"], "cli_not_found", "{s}");
    let warnings = s["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap_or("");
            w.contains("/nonexistent/claude")
                && w.contains("npm install -g @anthropic-ai/claude-code")
        }),
        "no install hint in {warnings:?}"
    );
    server.close().await;
}

#[tokio::test]
async fn stdin_eof_stops_the_server_and_the_running_task() {
    let mut server = Launch::new().own_child().start().await;
    let handle = server
        .send(
            json!({"task": "@fake hang\nHang until EOF (eof test)."}),
            true,
        )
        .await;
    let rec = server.wait_invocation("hang", "eof test").await;
    let pgid = rec["pgid"].as_i64().expect("pgid") as i32;
    assert!(!group_processes(pgid).is_empty(), "the fake is running");

    // Close the connection without cancelling the request: the server sees EOF on stdin.
    let started = Instant::now();
    let closed = tokio::time::timeout(STEP, server.client.close()).await;
    assert!(closed.is_ok(), "closing the client timed out");
    drop(handle);
    let status = server.wait_exit(Duration::from_secs(15)).await;
    eprintln!(
        "server exited {status} {:?} after stdin EOF",
        started.elapsed()
    );
    // Promptly: rmcp alone would give the in-flight call 5 s after EOF before stopping it.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "shutdown after EOF took {:?}",
        started.elapsed()
    );
    assert!(status.success(), "server exit status {status}");
    server.assert_group_gone(pgid, "after stdin EOF").await;
    assert_no_cancellation_sent(&server.wire());
}

/// The lifecycle tests must stop the task by EOF/signal alone, not by MCP cancellation.
fn assert_no_cancellation_sent(wire: &[(Dir, Value)]) {
    let cancels: Vec<&Value> = wire
        .iter()
        .filter(|(d, m)| *d == Dir::Sent && m["method"] == "notifications/cancelled")
        .map(|(_, m)| m)
        .collect();
    assert!(cancels.is_empty(), "the client sent {cancels:?}");
}

#[tokio::test]
async fn sigterm_stops_the_server_and_the_running_task() {
    let mut server = Launch::new()
        .own_child()
        .args(&["--kill-grace-ms", "300"])
        .start()
        .await;
    let handle = server
        .send(
            json!({"task": "@fake ignore_sigterm\nStubborn until SIGTERM (sigterm test)."}),
            true,
        )
        .await;
    let rec = server
        .wait_invocation("ignore_sigterm", "sigterm test")
        .await;
    let pgid = rec["pgid"].as_i64().expect("pgid") as i32;
    assert!(!group_processes(pgid).is_empty(), "the fake is running");

    let started = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM the server");
    let status = server.wait_exit(Duration::from_secs(15)).await;
    eprintln!(
        "server exited {status} {:?} after SIGTERM",
        started.elapsed()
    );
    assert!(status.success(), "server exit status {status}");
    server
        .assert_group_gone(pgid, "after SIGTERM to the server")
        .await;
    assert_no_cancellation_sent(&server.wire());
    drop(handle);
}

#[tokio::test]
async fn an_answer_goes_out_once_whole_in_the_structured_result_and_summarised_in_the_text() {
    let s = Launch::new().start().await;
    // A small answer: one text block with the summary and the whole answer; no JSON dump.
    let r = s
        .call_ok(json!({"task": "@fake success text=short-answer"}))
        .await;
    assert_eq!(r.content.len(), 1, "{r:?}");
    assert!(text_of(&r).contains("short-answer"));
    assert_eq!(structured(&r)["result"], "short-answer");

    // A big one: the text shows its head and tail and says where the whole is.
    let r = s
        .call_ok(json!({"task": "@fake big_record bytes=200000"}))
        .await;
    let answer = structured(&r)["result"].as_str().unwrap().to_string();
    assert_eq!(answer.len(), 200_000);
    assert_eq!(r.content.len(), 1, "{r:?}");
    let text = text_of(&r);
    assert!(text.len() < 8 * 1024, "{} bytes of text", text.len());
    assert!(text.contains(&answer[..200]));
    assert!(text.contains(&answer[answer.len() - 200..]));
    let id = structured(&r)["execution_id"].as_str().unwrap();
    assert!(
        text.contains(&format!("cc-executor://executions/{id}")),
        "{text}"
    );
}
