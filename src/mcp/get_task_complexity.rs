//! `get_task_complexity`: classify one task and predict its duration and timeout from the
//! history (read-only).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};

use super::CcExecutorServer;
use crate::plan::TaskComplexityRequest;

#[tool_router(router = get_task_complexity_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Sizes up a task before it runs: category, complexity (1–10, and why), a duration and
    /// `timeout_secs` learned from similar past runs, `cc_execute` or `direct`, and prompt
    /// warnings (e.g. context a fresh process lacks).
    #[tool(
        name = "get_task_complexity",
        title = "Size up a task before running it",
        input_schema = super::surface::placeholder(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_task_complexity(
        &self,
        Parameters(req): Parameters<TaskComplexityRequest>,
    ) -> Result<CallToolResult, ErrorData> {
        let planner = self.executor.planner();
        let answer = planner.task_complexity(&req.task).await;
        let text = format!(
            "{} / {} (score {}): predicted {}s, suggested timeout {}s (based on {}, confidence {:.2}); method {}",
            answer.classification.category,
            answer.classification.complexity,
            answer.classification.score,
            answer.prediction.predicted_secs,
            answer.prediction.suggested_timeout_secs,
            answer.prediction.based_on,
            answer.prediction.confidence,
            answer.recommended_method,
        );
        let mut result =
            CallToolResult::structured(serde_json::to_value(&answer).unwrap_or_default());
        result.content.insert(0, ContentBlock::text(text));
        Ok(result)
    }
}
