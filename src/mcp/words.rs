//! How the MCP server names next steps in its answers: its own tools (see
//! [`crate::exec::words`]; the REST API and the CLI have vocabularies of their own).

use uuid::Uuid;

use crate::exec::words::Vocabulary;

/// The MCP tools' names for resuming, following and resuming a run.
pub struct McpWords;

impl Vocabulary for McpWords {
    fn resume(&self, _id: Uuid) -> String {
        "pause_execution resume: true".into()
    }
    fn follow(&self, _id: Uuid) -> String {
        "monitor_execution".into()
    }
    fn resume_run(&self, _id: Uuid) -> String {
        "cc_execute_list resume_run_id".into()
    }
}
