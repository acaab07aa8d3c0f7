//! The REST API (`/api/v1`) of a real `cc-executor serve` (the built binary, the fake
//! `claude`, a port the kernel picks), driven by the real `curl` binary and by `reqwest`:
//! submitting tasks and task lists, following them over Server-Sent Events (and reconnecting
//! with `Last-Event-ID`), cancelling them (their process groups gone), results, every refusal
//! as a problem, one FIFO line with the MCP surface, and the OpenAPI document checked against
//! the router and against real answers.
#![allow(dead_code)]

mod cancel;
mod fifo;
mod openapi;
mod pause;
mod refusals;
mod streams;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::fixtures::{cc_executor_bin, eventually_async, fake_claude_bin, invocations};

/// The token the tests' services run with.
pub const TOKEN: &str = "rest-tests-token-0123456789";

/// A running `cc-executor serve` in its own directory; stopped (SIGTERM, then waited for) when
/// dropped.
pub struct Service {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Service {
    /// Starts the service with the fake `claude`, `extra` flags after `serve`.
    pub async fn start(extra: &[&str]) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let child = Command::new(cc_executor_bin())
            .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
            .arg("--data-dir")
            .arg(root.join("data"))
            .arg("--allowed-root")
            .arg(&root)
            .args(["--kill-grace-ms", "500"])
            .args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN])
            .args(extra)
            .current_dir(&root)
            .env("FAKE_CLAUDE_RECORD_DIR", root.join("rec"))
            .env("FAKE_CLAUDE_STATE_DIR", root.join("state"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("HOME", &root)
            .env_remove("REDIS_URL")
            .env_remove("ANTHROPIC_API_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(root.join("serve.log")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let state = root.join("data/serve/state.json");
        let started = eventually_async(Duration::from_secs(30), || {
            std::fs::read_to_string(&state)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some()
        })
        .await;
        let log = std::fs::read_to_string(root.join("serve.log")).unwrap_or_default();
        assert!(started, "the service did not start: {log}");
        let file: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        let url = file["url"].as_str().unwrap().to_string();
        Service { child, url, dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    /// `http://…/api/v1` + `path`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.url)
    }

    /// What the fake `claude` was run with, in order.
    pub fn invocations(&self) -> Vec<Value> {
        invocations(&self.root().join("rec"))
    }

    /// The service's log so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("serve.log")).unwrap_or_default()
    }

    /// A reqwest client and `Authorization` header value.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap()
    }

    /// Waits until the fake `claude` has been run `n` times; its `n`th invocation.
    pub async fn invocation(&self, n: usize) -> Value {
        let rec = self.root().join("rec");
        let found =
            eventually_async(Duration::from_secs(30), || invocations(&rec).len() >= n).await;
        assert!(
            found,
            "the fake claude was not run {n} time(s); log: {}",
            self.log()
        );
        invocations(&rec).swap_remove(n - 1)
    }
}

impl Service {
    /// Sends SIGTERM (the service shuts down as `serve` does on a signal); does not wait.
    pub fn terminate(&self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        for _ in 0..500 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `curl` got: the status, the headers (lower-case names) and the body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Is there a `curl` binary? (`scripts/provision` installs it.)
pub fn curl_bin() -> &'static str {
    let ok = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the tests need the curl binary: scripts/provision installs it"
    );
    "curl"
}

/// Runs `curl -sS -i` with the token and `args`; the reply.
pub async fn curl(args: &[&str]) -> Reply {
    curl_as(Some(TOKEN), args).await
}

/// Runs `curl -sS -i` with `token` (if any) and `args`.
pub async fn curl_as(token: Option<&str>, args: &[&str]) -> Reply {
    let mut cmd = tokio::process::Command::new(curl_bin());
    cmd.args(["-sS", "-i", "--max-time", "60"]);
    if let Some(t) = token {
        cmd.arg("-H").arg(format!("Authorization: Bearer {t}"));
    }
    let out = cmd.args(args).output().await.unwrap();
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_reply(&String::from_utf8_lossy(&out.stdout))
}

/// Splits `curl -i` output into status, headers and body (skipping `100 Continue`).
fn parse_reply(text: &str) -> Reply {
    let mut rest = text;
    loop {
        let (head, body) = rest.split_once("\r\n\r\n").expect("an HTTP response");
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status");
        if (100..200).contains(&status) {
            rest = body;
            continue;
        }
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        return Reply {
            status,
            headers,
            body: body.to_string(),
        };
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
pub struct Sse {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

/// The events of an SSE body (comments skipped).
pub fn parse_sse(body: &str) -> Vec<Sse> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|block| {
            let mut id = None;
            let mut event = "message".to_string();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if data.is_empty() {
                return None;
            }
            Some(Sse {
                id,
                event,
                data: serde_json::from_str(&data).unwrap_or(Value::String(data)),
            })
        })
        .collect()
}

/// Fails when `text` (a REST answer) names one of the MCP tools: a REST client cannot call
/// them, so its answers point to this API's routes instead. The names come from the checked-in
/// tool list.
pub fn assert_names_no_mcp_tool(text: &str) {
    let tools: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mcp/tools.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.len() > 10, "{names:?}");
    for name in names {
        assert!(
            !text.contains(name),
            "a REST answer names the MCP tool {name}: {text}"
        );
    }
}
