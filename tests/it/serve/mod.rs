//! `cc-executor serve`, the network service, as its users meet it: the built binary on a free
//! port (port 0; the address is read from the state file it writes), the fake claude behind
//! it, and real clients in front — the Claude Code CLI (`claude mcp add --transport http`),
//! the TypeScript and Python SDKs, the official MCP conformance suite, and plain HTTP for the
//! refusals (401, 403, 421, 413, 429, 503).
//!
//! - [`safety`]: every refusal, with its status and reason.
//! - [`claude_host`]: the real `claude -p` calls `cc_execute` on the service over HTTP.
//! - [`clients`]: real MCP clients calling `cc_execute` with progress over HTTP.
//! - [`control`]: `cc-executor pause|resume|cancel ID` acting on the service's tasks.
//! - [`disconnect`]: a dropped HTTP connection is no cancel; `notifications/cancelled` is.
//! - [`conformance`]: the conformance suite's applicable server scenarios.
//! - [`lifecycle`]: start-up refusals, `serve status`, SIGTERM mid-task.
//! - [`queue`]: sessions share one FIFO line; a stdio server sees the service.
//! - [`memory`]: what an idle connection costs the service.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin};
use crate::support::interop::Sandbox;

mod claude_host;
mod clients;
mod conformance;
mod control;
mod disconnect;
mod lifecycle;
mod memory;
mod queue;
mod safety;

/// Longest a service takes to start (it opens its store first).
const START: Duration = Duration::from_secs(30);

/// A running `cc-executor serve` on its own sandbox; killed when dropped.
pub struct Service {
    child: Child,
    pub sandbox: Sandbox,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The token clients send (`None` with `--no-auth`).
    pub token: Option<String>,
    stderr: PathBuf,
}

impl Service {
    /// `cc-executor … serve --listen 127.0.0.1:0 EXTRA…` on a fresh sandbox, once it listens.
    pub fn start(extra: &[&str]) -> Service {
        Service::start_with(Sandbox::new(), &[], extra)
    }

    /// As [`Service::start`], with global flags before `serve` and a given sandbox.
    pub fn start_with(sandbox: Sandbox, global: &[&str], extra: &[&str]) -> Service {
        let stderr = sandbox.dir.path().join("serve.stderr");
        let mut cmd = Service::command(&sandbox, global);
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        let child = cmd.spawn().expect("start cc-executor serve");
        let mut service = Service {
            child,
            url: String::new(),
            token: None,
            stderr,
            sandbox,
        };
        let state = service.sandbox.data.join("serve").join("state.json");
        let deadline = Instant::now() + START;
        loop {
            if let Some(url) = std::fs::read_to_string(&state)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["url"].as_str().map(str::to_string))
            {
                service.url = url;
                break;
            }
            if let Ok(Some(status)) = service.child.try_wait() {
                panic!(
                    "serve exited {status} before listening\n{}",
                    service.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "serve did not start\n{}",
                service.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        if !extra.contains(&"--no-auth") {
            let given = extra
                .iter()
                .position(|a| *a == "--token")
                .map(|i| extra[i + 1].to_string());
            service.token = given.or_else(|| {
                std::fs::read_to_string(service.sandbox.data.join("serve").join("token"))
                    .ok()
                    .map(|t| t.trim().to_string())
            });
        }
        service
    }

    /// `cc-executor` with the sandbox's data dir, fake claude and allowed root, run in the root.
    pub fn command(sandbox: &Sandbox, global: &[&str]) -> Command {
        let mut cmd = Command::new(cc_executor_bin());
        cmd.arg("--claude-bin")
            .arg(fake_claude_bin())
            .arg("--data-dir")
            .arg(&sandbox.data)
            .arg("--allowed-root")
            .arg(&sandbox.root)
            .args(global)
            .current_dir(&sandbox.root)
            .env("FAKE_CLAUDE_RECORD_DIR", &sandbox.rec)
            .env("XDG_CONFIG_HOME", sandbox.root.join(".config-none"))
            .env("RUST_LOG", "info")
            .env_remove("CC_EXECUTOR_TOKEN");
        cmd
    }

    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.url)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the service wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `Authorization: Bearer TOKEN`.
    pub fn auth(&self) -> (String, String) {
        (
            "authorization".into(),
            format!("Bearer {}", self.token.as_deref().unwrap_or("")),
        )
    }

    /// Sends SIGTERM and waits for the exit (at most `limit`).
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("SIGTERM the service");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not exit within {limit:?} of SIGTERM\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One HTTP/1.1 exchange's answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Lowercased names.
    pub headers: BTreeMap<String, String>,
    /// The body as sent (chunk-size lines included when chunked).
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The body as JSON (a problem+json refusal, a JSON response).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.body.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// Sends one request to `base` (`http://ip:port`) on a new connection and reads the whole
/// answer (`Connection: close`). `Host` is the address unless `headers` names one.
pub fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Answer {
    let authority = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).expect("connect to the service");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("host: {authority}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send head");
    // A refusal may come (and the connection close) before the body is all sent.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// The headers of an MCP POST: JSON in, JSON or SSE out, plus `extra`.
pub fn mcp_headers(extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut h = vec![
        ("content-type".to_string(), "application/json".to_string()),
        (
            "accept".to_string(),
            "application/json, text/event-stream".to_string(),
        ),
    ];
    h.extend_from_slice(extra);
    h
}

/// An `initialize` request at 2025-06-18.
pub const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw-http-test","version":"1"}}}"#;

/// A `tools/call` of `tool` with `arguments` (JSON text).
pub fn tool_call(id: u64, tool: &str, arguments: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments}}}}}"#
    )
}

/// A session at 2025-06-18 over raw HTTP: `initialize`, `notifications/initialized`; returns
/// the headers every later request of the session carries.
pub fn open_session(service: &Service) -> Vec<(String, String)> {
    let answer = request(
        &service.url,
        "POST",
        "/mcp",
        &mcp_headers(&[service.auth()]),
        INITIALIZE.as_bytes(),
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    let session = answer
        .header("mcp-session-id")
        .unwrap_or_else(|| panic!("no session: {answer:?}"))
        .to_string();
    let headers = mcp_headers(&[
        service.auth(),
        ("mcp-session-id".into(), session),
        ("mcp-protocol-version".into(), "2025-06-18".into()),
    ]);
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let answer = request(&service.url, "POST", "/mcp", &headers, note.as_bytes());
    assert_eq!(answer.status, 202, "{answer:?}");
    headers
}
