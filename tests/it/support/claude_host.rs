//! The real Claude Code CLI as the MCP HOST of the built `cc-executor mcp`: what the tests that
//! script its model on the fake API share (`tests/it/claude_orchestrator.rs`,
//! `tests/it/pool/claude_host.rs`).
//!
//! * [`write_mcp_config`] — the `--mcp-config` file that makes the CLI start our server.
//! * [`is_host_request`] — tells the host's requests from those of worker CLIs.
//! * [`last_tool_result`], [`json_objects`] — what the model saw of our tools' answers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::fake_anthropic::tool_results;
use super::fixtures::cc_executor_bin;
use super::real_claude::IsolatedEnv;

/// The server name in the mcp-config; Claude Code names its tools `mcp__<server>__<tool>`.
pub const SERVER: &str = "cc-executor";

/// Writes `<env root>/mcp-config.json`: one stdio server, [`SERVER`], running the built
/// `cc-executor` with `args` (global options and the `mcp` subcommand).
pub fn write_mcp_config<I, S>(env: &IsolatedEnv, args: I) -> PathBuf
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    let config = json!({
        "mcpServers": {
            SERVER: {
                "type": "stdio",
                "command": cc_executor_bin(),
                "args": args,
            }
        }
    });
    let path = env.root().join("mcp-config.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).expect("write mcp config");
    path
}

/// Is this request from the host (it offers our MCP tools) rather than from a worker CLI?
pub fn is_host_request(body: &Value) -> bool {
    body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["name"].as_str().is_some_and(|n| n.starts_with("mcp__")))
}

/// Every `tool_use` id → tool name in the request's assistant messages.
pub fn tool_names_by_id(body: &Value) -> HashMap<String, String> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "assistant")
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .filter(|b| b["type"] == "tool_use")
        .map(|b| {
            (
                b["id"].as_str().unwrap_or_default().to_string(),
                b["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The last tool result of the request: (tool name, content as the model sees it, is_error).
pub fn last_tool_result(body: &Value) -> Option<(String, String, bool)> {
    let names = tool_names_by_id(body);
    tool_results(body).last().map(|r| {
        (
            names.get(&r.tool_use_id).cloned().unwrap_or_default(),
            r.content.clone(),
            r.is_error,
        )
    })
}

/// JSON objects in a tool result as the model sees it: the whole text, or single lines.
pub fn json_objects(text: &str) -> Vec<Value> {
    std::iter::once(text)
        .chain(text.lines())
        .filter_map(|t| match serde_json::from_str::<Value>(t.trim()) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => None,
        })
        .collect()
}
