//! `get_hook_status`: the built-in hooks and their state, the configured `pre_execute` /
//! `post_execute` commands with their settings, and recent hook runs with failure counts.
//! Read-only.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CcExecutorServer;

/// Largest `limit`.
const MAX_RUNS: i64 = 200;

#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct HookStatusInput {
    /// How many recent hook runs to return (default 20).
    #[schemars(range(min = 0, max = 200))]
    pub limit: Option<i64>,
}

#[tool_router(router = get_hook_status_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Which hooks run around each task (the built-in UUID check, configured
    /// `pre_execute`/`post_execute` commands) and their recent runs and counts.
    #[tool(
        name = "get_hook_status",
        title = "Show the hooks and their recent runs",
        input_schema = super::surface::placeholder(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_hook_status(
        &self,
        Parameters(input): Parameters<HookStatusInput>,
    ) -> Result<CallToolResult, ErrorData> {
        let limit = match input.limit {
            None => 20,
            Some(n) if (0..=MAX_RUNS).contains(&n) => n as usize,
            Some(n) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(format!(
                    "`limit` must be between 0 and {MAX_RUNS}, got {n}"
                ))]));
            }
        };
        let status = self.executor.hook_status(limit);
        let text = format!(
            "uuid hook {}; {} configured hook(s); {} run(s), {} failure(s), {} timeout(s), {} veto(es)",
            if status.builtin.iter().any(|b| b.enabled) {
                "on"
            } else {
                "off"
            },
            status.configured.len(),
            status.counts.runs,
            status.counts.failures,
            status.counts.timeouts,
            status.counts.vetoes
        );
        let mut result =
            CallToolResult::structured(serde_json::to_value(&status).unwrap_or_default());
        result.content.insert(0, ContentBlock::text(text));
        Ok(result)
    }
}
