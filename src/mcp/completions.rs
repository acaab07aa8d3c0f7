//! `completion/complete`: values for the arguments that have a closed set.
//!
//! MCP completes the arguments of prompts (`ref/prompt`) and the variables of resource
//! templates (`ref/resource`) — not tool arguments. The bundled prompt takes no arguments, so
//! what completes here are the `{id}`s of the two templates: `cc-executor://executions/{id}`
//! (the executions this process knows, then the newest in the history) and
//! `cc-executor://runs/{id}` (the runs in progress here, then the newest stored), newest
//! first, those starting with what was typed (case-insensitive). Anything else completes to
//! nothing; an unknown prompt or template is an invalid-params error.

use rmcp::ErrorData;
use rmcp::model::{CompleteRequestParams, CompleteResult, CompletionInfo, Reference};

use super::CcExecutorServer;
use super::prompt::PROMPT_NAME;
use super::resources::{EXECUTION_PREFIX, RUN_PREFIX};
use crate::store::HistoryFilter;

/// How many stored executions or runs are looked at (the newest).
const RECENT: usize = 50;

impl CcExecutorServer {
    pub(crate) async fn completions(
        &self,
        request: &CompleteRequestParams,
    ) -> Result<CompleteResult, ErrorData> {
        let typed = request.argument.value.to_lowercase();
        let candidates = match &request.r#ref {
            Reference::Prompt(p) if p.name == PROMPT_NAME => Vec::new(),
            Reference::Prompt(p) => {
                return Err(ErrorData::invalid_params(
                    format!(
                        "unknown prompt `{}`; the only prompt is `{PROMPT_NAME}`",
                        p.name
                    ),
                    None,
                ));
            }
            Reference::Resource(r) if request.argument.name != "id" => {
                template_of(&r.uri)?;
                Vec::new()
            }
            Reference::Resource(r) => match template_of(&r.uri)? {
                Template::Execution => self.execution_ids().await,
                Template::Run => self.run_ids().await,
            },
            _ => Vec::new(),
        };
        let mut values: Vec<String> = Vec::new();
        for id in candidates {
            if id.to_lowercase().starts_with(&typed) && !values.contains(&id) {
                values.push(id);
            }
        }
        Ok(CompleteResult::new(page(values)))
    }

    /// Execution ids, newest first: this process's, then the history's.
    async fn execution_ids(&self) -> Vec<String> {
        let mut live = self.executor.list();
        live.sort_by_key(|s| std::cmp::Reverse(s.submitted_at));
        let mut ids: Vec<String> = live.iter().map(|s| s.execution_id.to_string()).collect();
        let filter = HistoryFilter {
            limit: RECENT,
            ..HistoryFilter::default()
        };
        match self.executor.store().list(&filter).await {
            Ok(records) => ids.extend(records.iter().map(|r| r.execution_id.to_string())),
            Err(e) => tracing::debug!("completion: the history cannot be read: {e}"),
        }
        ids
    }

    /// Run ids, newest first: the runs in progress here, then the stored ones.
    async fn run_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .runs
            .active()
            .iter()
            .map(|s| s.run.run_id.to_string())
            .collect();
        match self.runs.list(RECENT).await {
            Ok(runs) => ids.extend(runs.iter().map(|r| r.run_id.to_string())),
            Err(e) => tracing::debug!("completion: the runs cannot be read: {e}"),
        }
        ids
    }
}

enum Template {
    Execution,
    Run,
}

fn template_of(uri: &str) -> Result<Template, ErrorData> {
    if uri == format!("{EXECUTION_PREFIX}{{id}}") {
        Ok(Template::Execution)
    } else if uri == format!("{RUN_PREFIX}{{id}}") {
        Ok(Template::Run)
    } else {
        Err(ErrorData::invalid_params(
            format!(
                "unknown resource template `{uri}`; the templates are `{EXECUTION_PREFIX}{{id}}` and `{RUN_PREFIX}{{id}}`"
            ),
            None,
        ))
    }
}

/// At most 100 values (the spec's limit), with the total and whether there are more.
fn page(mut values: Vec<String>) -> CompletionInfo {
    let total = values.len();
    values.truncate(CompletionInfo::MAX_VALUES);
    let more = total > values.len();
    let total = Some(u32::try_from(total).unwrap_or(u32::MAX));
    CompletionInfo::with_pagination(values, total, more).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_holds_at_most_a_hundred_values_and_says_how_many_there_are() {
        let p = page((0..150).map(|i| i.to_string()).collect());
        assert_eq!(p.values.len(), 100);
        assert_eq!(p.total, Some(150));
        assert_eq!(p.has_more, Some(true));
        let p = page(vec!["a".into()]);
        assert_eq!((p.total, p.has_more), (Some(1), Some(false)));
    }

    #[test]
    fn only_the_two_templates_complete() {
        assert!(matches!(
            template_of("cc-executor://executions/{id}"),
            Ok(Template::Execution)
        ));
        assert!(matches!(
            template_of("cc-executor://runs/{id}"),
            Ok(Template::Run)
        ));
        assert!(template_of("cc-executor://prompts/cc_execute").is_err());
    }
}
