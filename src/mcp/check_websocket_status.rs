//! `check_websocket_status`: health of the execution service — the `claude` binary and its
//! version, the queue, uptime, the data dir — and of the network service (`cc-executor
//! serve`): where it listens, its surfaces, connections and uptime when this process is it;
//! from a stdio server, whether one runs on this data dir (its state file, then a probe of its
//! `/health`). What the network service is, is told by a [`NetworkService`] the adapter that
//! starts the server gives it (the `serve` layer sits above this one).

use std::sync::Arc;

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
    /// The network service (`cc-executor serve`).
    pub service: ServiceReport,
}

/// The network service as seen from here.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ServiceReport {
    /// `running` (this process), `running elsewhere`, `not running`, `unreachable`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `mcp` (`/mcp`).
    pub surfaces: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// Tells `check_websocket_status` about the network service.
#[async_trait::async_trait]
pub trait NetworkService: Send + Sync {
    async fn report(&self) -> ServiceReport;
}

/// The service a server reports: the one given, or none known.
pub(crate) async fn report(service: Option<&Arc<dyn NetworkService>>) -> ServiceReport {
    match service {
        Some(s) => s.report().await,
        None => ServiceReport {
            state: "not running".into(),
            ..Default::default()
        },
    }
}

#[tool_router(router = check_websocket_status_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Health of the service: can `claude` run (or why not), executions running and queued,
    /// uptime, the history store, and the network service (`cc-executor serve`) if one runs.
    /// Call it when tasks fail to start.
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
        let service = report(self.service.as_ref()).await;
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
            service,
        };
        let text = format!(
            "{}: claude {}, {running} running, {queued} queued, {} run(s), up {}s; store {} {}; service {}{}",
            out.status,
            out.claude_version.as_deref().unwrap_or("unavailable"),
            out.active_runs,
            out.uptime_secs,
            out.store.backend,
            out.store.state,
            out.service.state,
            out.service
                .url
                .as_deref()
                .map(|u| format!(" at {u} ({})", out.service.surfaces.join(", ")))
                .unwrap_or_default()
        );
        let mut result = CallToolResult::structured(serde_json::to_value(&out).unwrap_or_default());
        result.content.insert(0, ContentBlock::text(text));
        Ok(result)
    }
}
