//! `check_websocket_status`: health of the execution service — the `claude` binary and its
//! version, the queue, uptime, the data dir. The WebSocket service is not part of this version,
//! and the answer says so.

use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CcExecutorServer;
use crate::exec::probe;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct HealthOutput {
    /// `ok`, or `degraded` when `claude` cannot be run or the store is degraded.
    pub status: String,
    pub server_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claude_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claude_version: Option<String>,
    /// Why `claude` cannot be run, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claude_error: Option<String>,
    pub running: usize,
    pub queued: usize,
    pub max_concurrent: usize,
    /// Task-list runs this server is driving.
    pub active_runs: usize,
    pub uptime_secs: u64,
    pub data_dir: String,
    /// The history store: backend, location, `ok`/`degraded`, outbox backlog.
    pub store: crate::store::StoreHealth,
    /// `not configured`: the WebSocket service is not part of this version.
    pub websocket: String,
}

#[tool_router(router = check_websocket_status_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Health of the execution service: whether the `claude` CLI can be run (or why not),
    /// executions running and queued, runs in progress, uptime, data directory and history
    /// store. Call it when tasks fail to start. (There is no WebSocket service.)
    #[tool(
        name = "check_websocket_status",
        title = "Check the execution service's health",
        input_schema = super::surface::placeholder(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    pub async fn check_websocket_status(&self) -> Result<CallToolResult, ErrorData> {
        let config = self.executor.config();
        let (claude_path, claude_version, claude_error) =
            match probe::probe(&config.claude_bin).await {
                Ok(info) => (
                    Some(info.path.display().to_string()),
                    Some(info.version),
                    None,
                ),
                Err(e) => (None, None, Some(e.to_string())),
            };
        let (running, queued) = self.executor.queue_counts();
        let store = self.executor.store().health().await;
        let healthy = claude_error.is_none() && store.state == "ok";
        let out = HealthOutput {
            status: if healthy { "ok" } else { "degraded" }.into(),
            server_version: env!("CARGO_PKG_VERSION").into(),
            claude_path,
            claude_version,
            claude_error,
            running,
            queued,
            max_concurrent: config.max_concurrent,
            active_runs: self.runs.active().len(),
            uptime_secs: self.executor.uptime().as_secs(),
            data_dir: config.data_dir.display().to_string(),
            store,
            websocket: "not configured".into(),
        };
        let text = format!(
            "{}: claude {}, {running} running, {queued} queued, {} run(s), up {}s; store {} {}; websocket not configured",
            out.status,
            out.claude_version.as_deref().unwrap_or("unavailable"),
            out.active_runs,
            out.uptime_secs,
            out.store.backend,
            out.store.state
        );
        let mut result = CallToolResult::structured(serde_json::to_value(&out).unwrap_or_default());
        result.content.insert(0, ContentBlock::text(text));
        Ok(result)
    }
}
