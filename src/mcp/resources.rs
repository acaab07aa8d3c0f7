//! Executions and runs as MCP resources: `cc-executor://executions/{id}` (the execution's
//! status — with its full result once finished — exactly as `monitor_execution` reports it)
//! and `cc-executor://runs/{id}` (a task-list run). Clients that browse resources find the
//! executions and runs this server knows in `resources/list`, and the URI templates in
//! `resources/templates/list`; the bundled prompt stays a resource too.

use rmcp::ErrorData;
use rmcp::model::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate,
};
use uuid::Uuid;

use super::CcExecutorServer;

pub const EXECUTION_PREFIX: &str = "cc-executor://executions/";
pub const RUN_PREFIX: &str = "cc-executor://runs/";
const JSON: &str = "application/json";

pub fn templates() -> ListResourceTemplatesResult {
    let mut execution = ResourceTemplate::new(format!("{EXECUTION_PREFIX}{{id}}"), "execution")
        .with_description(
            "One execution: phase, status, timing, tools, cost — and its full result once finished",
        );
    execution.mime_type = Some(JSON.into());
    let mut run = ResourceTemplate::new(format!("{RUN_PREFIX}{{id}}"), "run").with_description(
        "One task-list run: its state, every task's state, execution id, result summary and cost",
    );
    run.mime_type = Some(JSON.into());
    ListResourceTemplatesResult::with_all_items(vec![execution, run])
}

impl CcExecutorServer {
    /// The prompt, then the executions and runs this process knows (newest last).
    pub(crate) fn resource_list(&self) -> ListResourcesResult {
        let mut items = super::prompt::list_resources().resources;
        for s in self.executor.list() {
            let mut r = Resource::new(
                format!("{EXECUTION_PREFIX}{}", s.execution_id),
                format!("execution {}", s.execution_id),
            )
            .with_description(s.task_preview.clone());
            r.mime_type = Some(JSON.into());
            items.push(r);
        }
        for s in self.runs.active() {
            let mut r = Resource::new(
                format!("{RUN_PREFIX}{}", s.run.run_id),
                format!("run {}", s.run.run_id),
            )
            .with_description(format!("{} task(s), {}", s.total, s.run.state));
            r.mime_type = Some(JSON.into());
            items.push(r);
        }
        ListResourcesResult::with_all_items(items)
    }

    pub(crate) async fn resource(&self, uri: &str) -> Result<ReadResourceResult, ErrorData> {
        let not_found = |why: String| ErrorData::resource_not_found(why, None);
        let json = |value: serde_json::Value| {
            Ok(ReadResourceResult::new(vec![
                ResourceContents::text(value.to_string(), uri).with_mime_type(JSON),
            ]))
        };
        if let Some(id) = uri.strip_prefix(EXECUTION_PREFIX) {
            let id = parse(id, uri)?;
            let status = self.executor.lookup(id).await.ok_or_else(|| {
                not_found(format!(
                    "unknown execution {id}: not in this server nor the history"
                ))
            })?;
            return json(serde_json::to_value(status).unwrap_or_default());
        }
        if let Some(id) = uri.strip_prefix(RUN_PREFIX) {
            let id = parse(id, uri)?;
            let status = self
                .runs
                .status(id)
                .await
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?
                .ok_or_else(|| not_found(format!("unknown run {id}: not in the history store")))?;
            return json(serde_json::to_value(status).unwrap_or_default());
        }
        super::prompt::read_resource(uri)
    }
}

fn parse(id: &str, uri: &str) -> Result<Uuid, ErrorData> {
    Uuid::parse_str(id).map_err(|_| {
        ErrorData::invalid_params(
            format!("`{uri}`: the id after the last `/` must be a UUID"),
            None,
        )
    })
}
