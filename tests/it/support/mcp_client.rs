//! The built `cc-executor mcp` with the fake claude, driven by rmcp's client: what the MCP
//! tool tests share.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult};
use rmcp::service::{RoleClient, RunningService, Service};
use rmcp::transport::TokioChildProcess;
use serde_json::Value;

use super::fixtures::{cc_executor_bin, fake_claude_bin};

pub struct Server<S: Service<RoleClient>> {
    pub client: RunningService<RoleClient, S>,
    pub dir: tempfile::TempDir,
}

/// Starts the server in a fresh directory (data dir, allowed root, invocation records).
pub async fn start<S: Service<RoleClient>>(handler: S, extra: &[&str]) -> Server<S> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let mut cmd = tokio::process::Command::new(cc_executor_bin());
    cmd.env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
        .arg("--data-dir")
        .arg(root.join("data"))
        .arg("--allowed-root")
        .arg(&root)
        .args(["--kill-grace-ms", "500"])
        .args(extra)
        .arg("mcp")
        .current_dir(&root)
        .env("FAKE_CLAUDE_RECORD_DIR", root.join("rec"))
        .env("FAKE_CLAUDE_STATE_DIR", root.join("state"))
        .env("XDG_CONFIG_HOME", root.join("config"))
        .env_remove("REDIS_URL");
    let transport = TokioChildProcess::new(cmd).unwrap();
    let client = tokio::time::timeout(Duration::from_secs(20), handler.serve(transport))
        .await
        .expect("initialize in time")
        .expect("initialize");
    Server { client, dir }
}

impl<S: Service<RoleClient>> Server<S> {
    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    pub async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        let params = CallToolRequestParams::new(tool.to_string())
            .with_arguments(serde_json::from_value(args).unwrap());
        match self.client.peer().call_tool_once(params).await.unwrap() {
            CallToolResponse::Complete(r) => r,
            other => panic!("expected a tool result, got {other:?}"),
        }
    }

    /// What the fake claude was invoked with, in order.
    pub fn invocations(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("rec/invocations.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

pub fn data(r: &CallToolResult) -> &Value {
    r.structured_content.as_ref().expect("structured content")
}

pub fn message(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}
