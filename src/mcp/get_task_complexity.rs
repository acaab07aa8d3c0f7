//! `get_task_complexity`: classify one task and predict its duration and timeout from the
//! history (read-only).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};

use super::CcExecutorServer;
use crate::plan::{TaskComplexity, TaskComplexityRequest};

#[tool_router(router = get_task_complexity_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Classifies a task — category, complexity, 1–10 score and the signals behind them — and
    /// predicts its duration and a timeout from the history of similar executions (saying what
    /// the prediction is based on and how confident it is), the recommended method
    /// (`cc_execute` or `direct`) and warnings about the prompt.
    #[tool(
        name = "get_task_complexity",
        output_schema = super::schema::output::<TaskComplexity>(),
        input_schema = super::schema::input::<TaskComplexityRequest>(),
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
