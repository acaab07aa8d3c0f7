//! `cc_execute_list`: run a task list as one durable run (see [`crate::runs`]), or resume one.
//!
//! Non-blocking by default (`wait: false`): lists take long, and MCP hosts cut or background
//! long calls. The answer carries the `run_id` to follow with `monitor_execution` and stop with
//! `cancel_execution`. With `wait: true` the call returns the finished run and, when the
//! request has a progress token, sends a notification per task event (and the current task's
//! heartbeats) before it.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::CcExecutorServer;
use super::ids::parse_execution_id;
use crate::plan::validate::{TaskInput, parse_tasks};
use crate::runs::{
    FailurePolicy, ResumeOptions, Run, RunError, RunEvent, RunRequest, RunState, TaskDefaults,
};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteListInput {
    /// The tasks in order: prompts, or `{"id", "task", "depends_on": [ids], "accept"}` (`accept`
    /// as in `cc_execute`). A task may use
    /// `{{tasks.<id>.result}}` and `{{tasks.<id>.files_written}}` of an earlier task (and so
    /// depends on it). Required unless `resume_run_id` is given.
    #[serde(default)]
    #[schemars(with = "Option<Vec<TaskInput>>")]
    pub tasks: Option<Value>,
    /// `stop` (default) at the first failed task, `continue` with those not depending on it,
    /// or `repair` a rejected task (twice at most), then stop.
    #[serde(default)]
    pub failure_policy: Option<FailurePolicy>,
    /// Cap on the whole run's cost, USD (with `resume_run_id`: a new cap).
    #[schemars(extend("exclusiveMinimum" = 0))]
    #[serde(default)]
    pub budget_usd: Option<f64>,
    /// Options of `cc_execute` applied to every task.
    #[serde(default)]
    pub defaults: Option<TaskDefaults>,
    /// Longest wait for a usage limit to reset, seconds (default 21600).
    #[schemars(range(max = 86400))]
    #[serde(default)]
    pub max_usage_wait_secs: Option<u64>,
    /// `true`: answer when the run has finished. Default: at once, with the `run_id`.
    #[serde(default)]
    pub wait: Option<bool>,
    /// Continue this stopped run from its first unfinished task.
    #[serde(default)]
    pub resume_run_id: Option<String>,
    /// Resume even a run last driven from another host.
    #[serde(default)]
    pub force: Option<bool>,
}

/// What `cc_execute_list` returns.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExecuteListOutput {
    pub run_id: uuid::Uuid,
    pub state: RunState,
    /// Tasks in a final state, and in all.
    pub done: usize,
    pub total: usize,
    pub cost_usd: f64,
    /// What to call next (for `wait: false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
    pub run: super::run_view::RunView,
}

#[tool_router(router = cc_execute_list_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Runs a task list as one durable run: each task in a fresh Claude Code process, in
    /// order, stopping at the first failure, within an optional budget, waiting out usage
    /// limits. To run commands, tasks need
    /// `defaults.allowed_tools` (as in `cc_execute`). Answers with a `run_id` to follow with
    /// `monitor_execution`; `cancel_execution` stops it, `resume_run_id` continues it.
    #[tool(
        name = "cc_execute_list",
        title = "Run a task list as one durable run",
        input_schema = super::surface::placeholder(),
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    pub async fn cc_execute_list(
        &self,
        Parameters(input): Parameters<ExecuteListInput>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let wait = input.wait.unwrap_or(false);
        // The run's first task takes the place this call got on arrival.
        let place = super::arrival::take(&ctx);
        let run = match self.prepare_run(input).await {
            Ok(run) => run,
            Err(message) => return Ok(CallToolResult::error(vec![ContentBlock::text(message)])),
        };
        let total = run.tasks.len() as f64;
        if !wait {
            let id = self.runs.start_at(run, |_| {}, place);
            let status = self.runs.status(id).await.ok().flatten();
            let run = status.map(|s| s.run);
            return Ok(match run {
                Some(run) => output(&run, true),
                None => CallToolResult::error(vec![ContentBlock::text(format!(
                    "run {id} started but cannot be read back from the store"
                ))]),
            });
        }
        let forwarder = super::progress::Forwarder::new(
            &ctx,
            self.logging.threshold(&ctx),
            self.input_closed.clone(),
        );
        let tx = forwarder.sender();
        let done = std::sync::atomic::AtomicU64::new(0);
        let id = self.runs.start_at(
            run,
            move |e: RunEvent| {
                if let RunEvent::TaskFinished { .. } = e {
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let _ = tx.send(super::progress::Note::Step {
                    progress: Some(done.load(std::sync::atomic::Ordering::Relaxed) as f64),
                    total: Some(total),
                    message: e.message(),
                    level: super::logging::run_event_level(&e),
                });
            },
            place,
        );
        let finished = tokio::select! {
            r = self.runs.wait(id) => r,
            _ = ctx.ct.cancelled() => {
                let _ = self.runs.cancel(id).await;
                self.runs.wait(id).await
            }
        };
        forwarder.flush().await;
        Ok(match finished {
            Ok(run) => output(&run, false),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
        })
    }
}

impl CcExecutorServer {
    /// A new run from the input, or the resumed one. `Err`: the message for the caller.
    async fn prepare_run(&self, input: ExecuteListInput) -> Result<Run, String> {
        let err = |e: RunError| e.to_string();
        if let Some(text) = &input.resume_run_id {
            if input.tasks.is_some() {
                return Err(
                    "give either `tasks` (a new run) or `resume_run_id` (go on with a stored run), not both"
                        .into(),
                );
            }
            let id = parse_execution_id("resume_run_id", text)?;
            return self
                .runs
                .resume(
                    id,
                    ResumeOptions {
                        budget_usd: input.budget_usd,
                        force: input.force.unwrap_or(false),
                    },
                )
                .await
                .map_err(err);
        }
        let Some(tasks) = &input.tasks else {
            return Err("`tasks` is required (or `resume_run_id` to resume a run)".into());
        };
        let items = parse_tasks(tasks).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(|e| format!("- {}", e.message)).collect();
            format!(
                "the task list is not valid, nothing was started:\n{}",
                lines.join("\n")
            )
        })?;
        self.runs
            .create(RunRequest {
                tasks: items,
                failure_policy: input.failure_policy.unwrap_or_default(),
                budget_usd: input.budget_usd,
                defaults: input.defaults.unwrap_or_default(),
                max_usage_wait_secs: input.max_usage_wait_secs,
                source: Some("mcp".into()),
            })
            .await
            .map_err(err)
    }
}

/// Structured run plus a short text. A finished run that did not succeed is an `isError`
/// result, like a failed `cc_execute`.
fn output(run: &Run, started: bool) -> CallToolResult {
    let out = ExecuteListOutput {
        run_id: run.run_id,
        state: run.state,
        done: run.done(),
        total: run.tasks.len(),
        cost_usd: run.cost_usd,
        next_step: started.then(|| {
            format!(
                "call monitor_execution with execution_id {} and wait_secs up to 50 until the run's state is no longer running",
                run.run_id
            )
        }),
        run: run.into(),
    };
    let value = serde_json::to_value(&out).unwrap_or_default();
    let failed = !started && run.state != RunState::Succeeded;
    let mut result = if failed {
        CallToolResult::structured_error(value)
    } else {
        CallToolResult::structured(value)
    };
    let mut text = if started {
        format!("started run {} ({} task(s))", run.run_id, run.tasks.len())
    } else {
        format!(
            "run {} {}: {}/{} task(s) done, ${:.4}",
            run.run_id,
            run.state,
            run.done(),
            run.tasks.len(),
            run.cost_usd
        )
    };
    if let Some(r) = &run.reason {
        text.push_str(&format!(" — {r}"));
    }
    for t in &run.tasks {
        if !started {
            text.push_str(&format!("\n- `{}` {}", t.id, t.state));
            if let Some(e) = &t.error {
                text.push_str(&format!(": {e}"));
            }
        }
    }
    result.content.insert(0, ContentBlock::text(text));
    result
}
