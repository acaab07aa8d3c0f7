//! `validate_task_list`: deterministic pre-flight check of a task list (read-only).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};

use super::CcExecutorServer;
use crate::plan::TaskListRequest;

#[tool_router(router = validate_task_list_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Checks a task list as `cc_execute_list` would: errors (empty tasks, duplicate ids, bad
    /// dependencies, cycles), warnings (e.g. "the previous step", which a fresh process cannot
    /// follow), each task's complexity, the estimated time and risk.
    #[tool(
        name = "validate_task_list",
        title = "Check a task list before running it",
        input_schema = super::surface::placeholder(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    pub async fn validate_task_list(
        &self,
        Parameters(req): Parameters<TaskListRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        let planner = self.executor.planner();
        let report = planner.validate(&req.tasks).await;
        let text = format!(
            "{}: {} task(s), {} error(s), {} warning(s), about {} min, risk {}",
            if report.valid { "valid" } else { "invalid" },
            report.total_tasks,
            report.errors.len(),
            report.warnings.len(),
            report.estimated_total_minutes,
            report.risk.level
        );
        let mut result =
            CallToolResult::structured(serde_json::to_value(&report).unwrap_or_default());
        result.content.insert(0, ContentBlock::text(text));
        Ok(result)
    }
}
