//! `verify_execution`: checks one execution (by id) or the newest N against their evidence —
//! store record, response file hash, hash chain, UUID echo, Claude Code's transcript,
//! permission denials, files on disk — and returns every check with a verdict. Read-only.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::CcExecutorServer;
use crate::evidence::verify::{MAX_LAST_N, Target};

/// Input of `verify_execution`: an `execution_id`, or `last_n` (default 1 when neither).
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct VerifyInput {
    /// The execution, or a run (`run_id`: all its executions).
    pub execution_id: Option<String>,
    /// Verify the newest N executions instead (at most 100).
    #[schemars(range(min = 1))]
    pub last_n: Option<i64>,
    /// Also return the report as markdown.
    pub markdown: Option<bool>,
}

impl VerifyInput {
    /// The target, or a message saying what is wrong with the input.
    pub fn target(&self) -> Result<Target, String> {
        match (&self.execution_id, self.last_n) {
            (Some(_), Some(_)) => Err("give either `execution_id` or `last_n`, not both".into()),
            (Some(id), None) => super::ids::parse_execution_id("execution_id", id).map(Target::One),
            (None, Some(n)) if n < 1 => Err(format!(
                "`last_n` must be at least 1 (at most {MAX_LAST_N}), got {n}"
            )),
            (None, Some(n)) => Ok(Target::Last(usize::try_from(n).unwrap_or(usize::MAX))),
            (None, None) => Ok(Target::Last(1)),
        }
    }
}

#[tool_router(router = verify_execution_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Checks an execution against its evidence (history record, response file and hash
    /// chain, UUID echo, transcript, files still as written): `verified`, `unverified` (with
    /// reasons) or `tampered`. Default: the newest execution.
    #[tool(
        name = "verify_execution",
        title = "Verify an execution against its evidence",
        input_schema = super::surface::placeholder(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    pub async fn verify_execution(
        &self,
        Parameters(input): Parameters<VerifyInput>,
    ) -> Result<CallToolResult, ErrorData> {
        let target = match input.target() {
            Ok(t) => t,
            Err(m) => return Ok(CallToolResult::error(vec![ContentBlock::text(m)])),
        };
        let report = match self
            .executor
            .verify(target, input.markdown.unwrap_or(false))
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(
                    e.to_string(),
                )]));
            }
        };
        let mut text = format!(
            "{}: {} verified, {} unverified, {} tampered",
            report.verdict.as_str(),
            report.counts.verified,
            report.counts.unverified,
            report.counts.tampered
        );
        for e in report.executions.iter().filter(|e| !e.reasons.is_empty()) {
            text.push_str(&format!(
                "\n{} {}: {}",
                e.execution_id,
                e.verdict.as_str(),
                e.reasons.join("; ")
            ));
        }
        let mut result =
            CallToolResult::structured(serde_json::to_value(&report).unwrap_or_default());
        result.content.insert(0, ContentBlock::text(text));
        Ok(result)
    }
}
