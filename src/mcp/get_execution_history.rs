//! `get_execution_history`: recent executions with filters, plus statistics (count, success
//! rate, duration percentiles, cost) overall and per category/complexity. Read-only.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CcExecutorServer;
use crate::store::query::HistoryQuery;
use crate::store::{ExecutionSummary, HistoryStats};

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct HistoryOutput {
    /// Newest first.
    pub executions: Vec<ExecutionSummary>,
    /// Over every execution the filters match (not only the returned page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<HistoryStats>,
    /// `sqlite` or `redis`.
    pub store: String,
}

#[tool_router(router = get_execution_history_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Past executions, newest first, with statistics over every match (success rate, checked
    /// tasks passed first time or after repair, duration percentiles, cost; overall and per kind
    /// of task).
    #[tool(
        name = "get_execution_history",
        title = "Show past executions and their statistics",
        input_schema = super::surface::placeholder(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_execution_history(
        &self,
        Parameters(query): Parameters<HistoryQuery>,
    ) -> Result<CallToolResult, ErrorData> {
        let filter = match query.to_filter() {
            Ok(f) => f,
            Err(m) => return Ok(CallToolResult::error(vec![ContentBlock::text(m)])),
        };
        let store = self.executor.store();
        let records = match store.list(&filter).await {
            Ok(r) => r,
            Err(e) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(
                    e.to_string(),
                )]));
            }
        };
        let stats = if query.include_stats.unwrap_or(true) {
            match store.stats(&filter).await {
                Ok(s) => Some(s),
                Err(e) => {
                    return Ok(CallToolResult::error(vec![ContentBlock::text(
                        e.to_string(),
                    )]));
                }
            }
        } else {
            None
        };
        let out = HistoryOutput {
            executions: records.iter().map(|r| r.summary()).collect(),
            stats,
            store: store.health().await.backend,
        };
        let text = match &out.stats {
            Some(s) => format!(
                "{} execution(s) shown; {} match: {:.0}% succeeded, p50 {:.1}s, p90 {:.1}s, total ${:.4}",
                out.executions.len(),
                s.overall.count,
                s.overall.success_rate * 100.0,
                s.overall.duration_p50_ms as f64 / 1000.0,
                s.overall.duration_p90_ms as f64 / 1000.0,
                s.overall.total_cost_usd
            ),
            None => format!("{} execution(s) shown", out.executions.len()),
        };
        let mut result = CallToolResult::structured(serde_json::to_value(&out).unwrap_or_default());
        result.content.insert(0, ContentBlock::text(text));
        Ok(result)
    }
}
