//! `suggest_execution_strategy`: a per-task plan with dependency waves, as data and markdown
//! (read-only).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};

use super::CcExecutorServer;
use crate::plan::TaskListRequest;

#[tool_router(router = suggest_execution_strategy_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Plans a task list: each task's method (`cc_execute` or `direct`), timeout and
    /// dependencies; the dependency graph as ordered waves (tasks still run one at a time);
    /// tips; and the plan as markdown.
    #[tool(
        name = "suggest_execution_strategy",
        title = "Plan how to run a task list",
        input_schema = super::surface::placeholder(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    pub async fn suggest_execution_strategy(
        &self,
        Parameters(req): Parameters<TaskListRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        let planner = self.executor.planner();
        let strategy = planner.strategy(&req.tasks).await;
        let text = strategy.markdown.clone();
        let mut result =
            CallToolResult::structured(serde_json::to_value(&strategy).unwrap_or_default());
        result.content.insert(0, ContentBlock::text(text));
        Ok(result)
    }
}
