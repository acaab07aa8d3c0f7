//! `monitor_execution`: live status of one execution or of all of them, with an optional
//! long-poll that returns as soon as something changes (phase, tool use, retry, finish).
//!
//! `wait_secs` is capped at [`MAX_WAIT_SECS`] — below every host's tool-call limit (Claude Code
//! backgrounds calls after ~120 s, others cut at 60 s). A larger value is clamped (and said so
//! in `notes`); a negative one is an error.

use std::time::{Duration, Instant};

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::CcExecutorServer;
use super::ids::parse_execution_id;
use super::run_view::RunView;
use crate::exec::registry::{ExecutionStatus, Phase};
use crate::runs::RunStatus;

/// Longest long-poll.
pub const MAX_WAIT_SECS: f64 = 50.0;
/// Finished executions listed when no id is given.
const RECENT_FINISHED: usize = 10;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitorInput {
    /// The execution or run to watch (default: all active and recent ones).
    #[serde(default)]
    pub execution_id: Option<String>,
    /// A run to watch (same as `execution_id`).
    #[serde(default)]
    pub run_id: Option<String>,
    /// Wait up to this many seconds (at most 50) for a change before answering.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub wait_secs: Option<f64>,
    /// The previous answer's `version`: wait for a change after it, so none is missed.
    #[serde(default)]
    pub since_version: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct MonitorOutput {
    /// The requested execution, or all active and recent ones (oldest first). For a run: the
    /// execution of its current task, if one is running.
    pub executions: Vec<ExecutionStatus>,
    /// The requested run (state, per-task states, current task, done/total, cost so far), or
    /// every run in progress in this server.
    pub runs: Vec<MonitorRun>,
    /// Executions running now.
    pub running: usize,
    /// Executions waiting in the queue.
    pub queued: usize,
    /// How long this call waited.
    pub waited_ms: u64,
    /// Whether something changed during the wait (false: the wait ran out).
    pub changed: bool,
    /// Pass back as `since_version` to wait for the next change.
    pub version: u64,
    pub notes: Vec<String>,
}

/// A run as `monitor_execution` reports it: the compact view and where it stands.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct MonitorRun {
    pub run: RunView,
    /// Driven by this process right now.
    pub live: bool,
    /// Tasks in a final state, and in all.
    pub done: usize,
    pub total: usize,
    /// The live status of the current task's execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_execution: Option<ExecutionStatus>,
    /// Pass back as `since_version` to wait for the run's next change.
    pub version: u64,
}

impl From<RunStatus> for MonitorRun {
    fn from(s: RunStatus) -> Self {
        MonitorRun {
            run: RunView::from(&s.run),
            live: s.live,
            done: s.done,
            total: s.total,
            current_execution: s.current_execution,
            version: s.version,
        }
    }
}

#[tool_router(router = monitor_execution_router, vis = "pub(crate)")]
impl CcExecutorServer {
    /// Follows an execution (`cc_execute` with `wait: false`) or a run (`cc_execute_list`):
    /// phase, queue place, time left, last event, cost so far, the result once finished; for a
    /// run, each task's state. Call it with `wait_secs: 50` and the last answer's
    /// `since_version` until the execution is `finished` or the run's state is final. Without
    /// an id: all active and recent ones.
    #[tool(
        name = "monitor_execution",
        title = "Follow an execution or a run",
        input_schema = super::surface::placeholder(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    pub async fn monitor_execution(
        &self,
        Parameters(input): Parameters<MonitorInput>,
    ) -> Result<CallToolResult, ErrorData> {
        match self.monitor(input).await {
            Ok(out) => Ok(structured(&out)),
            Err(message) => Ok(CallToolResult::error(vec![ContentBlock::text(message)])),
        }
    }
}

impl CcExecutorServer {
    async fn monitor(&self, input: MonitorInput) -> Result<MonitorOutput, String> {
        let mut notes = Vec::new();
        let wait = match input.wait_secs {
            None => Duration::ZERO,
            Some(w) if !w.is_finite() || w < 0.0 => {
                return Err(format!(
                    "`wait_secs` must be between 0 and {MAX_WAIT_SECS} (got {w})"
                ));
            }
            Some(w) if w > MAX_WAIT_SECS => {
                notes.push(format!(
                    "wait_secs {w} was clamped to {MAX_WAIT_SECS}: longer calls are cut or backgrounded by MCP hosts"
                ));
                Duration::from_secs_f64(MAX_WAIT_SECS)
            }
            Some(w) => Duration::from_secs_f64(w),
        };
        let t0 = Instant::now();
        let exec = &self.executor;
        let target = match (&input.execution_id, &input.run_id) {
            (Some(_), Some(_)) => {
                return Err("give `execution_id` or `run_id`, not both".into());
            }
            (Some(text), None) => Some(parse_execution_id("execution_id", text)?),
            (None, Some(text)) => Some(parse_execution_id("run_id", text)?),
            (None, None) => None,
        };
        let mut runs = Vec::new();
        let (executions, changed, version) = match target {
            Some(id) if input.run_id.is_some() || exec.status(id).is_none() => {
                match self.monitor_run(id, wait, input.since_version).await? {
                    Some((run, changed)) => {
                        let version = run.version;
                        let current: Vec<ExecutionStatus> =
                            run.current_execution.iter().cloned().collect();
                        runs.push(run.into());
                        (current, changed, version)
                    }
                    None => self.monitor_one(id, wait, input.since_version).await?,
                }
            }
            Some(id) => self.monitor_one(id, wait, input.since_version).await?,
            None => {
                let seen = input.since_version.unwrap_or_else(|| self.any_version());
                let version = if wait.is_zero() {
                    self.any_version()
                } else {
                    self.watch_any(seen, wait).await
                };
                let mut all = exec.list();
                let finished: Vec<usize> = all
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.phase == Phase::Finished)
                    .map(|(i, _)| i)
                    .collect();
                if finished.len() > RECENT_FINISHED {
                    let drop: Vec<usize> = finished[..finished.len() - RECENT_FINISHED].to_vec();
                    let mut i = 0;
                    all.retain(|_| {
                        let keep = !drop.contains(&i);
                        i += 1;
                        keep
                    });
                }
                // A list can be long: leave the full results to per-id calls.
                for s in &mut all {
                    s.result = None;
                }
                runs = self.runs.active().into_iter().map(Into::into).collect();
                (all, version > seen, version)
            }
        };
        let (running, queued) = exec.queue_counts();
        Ok(MonitorOutput {
            executions,
            runs,
            running,
            queued,
            waited_ms: t0.elapsed().as_millis() as u64,
            changed,
            version,
            notes,
        })
    }

    /// Executions and runs of this server change independently; the list view's version is
    /// the sum of both counters (each only grows).
    fn any_version(&self) -> u64 {
        self.executor.any_version() + self.runs.any_version()
    }

    async fn watch_any(&self, seen: u64, max: Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + max;
        loop {
            let (e, r) = (self.executor.any_version(), self.runs.any_version());
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if e + r > seen || left.is_zero() {
                return e + r;
            }
            tokio::select! {
                _ = self.executor.watch_any(e, left) => {}
                _ = self.runs.watch_any(r, left) => {}
            }
        }
    }

    /// A run's status, after a long-poll for its next change. `None`: no such run.
    async fn monitor_run(
        &self,
        id: uuid::Uuid,
        wait: Duration,
        since: Option<u64>,
    ) -> Result<Option<(RunStatus, bool)>, String> {
        let now = self.runs.status(id).await.map_err(|e| e.to_string())?;
        let Some(now) = now else {
            return Ok(None);
        };
        let seen = since.unwrap_or(now.version);
        let status = if wait.is_zero() || !now.live || now.version > seen {
            now
        } else {
            self.runs
                .watch(id, seen, wait)
                .await
                .map_err(|e| e.to_string())?
                .unwrap_or(now)
        };
        let changed = status.version > seen;
        Ok(Some((status, changed)))
    }

    async fn monitor_one(
        &self,
        id: uuid::Uuid,
        wait: Duration,
        since: Option<u64>,
    ) -> Result<(Vec<ExecutionStatus>, bool, u64), String> {
        let exec = &self.executor;
        let now = exec.lookup(id).await.ok_or_else(|| {
            format!(
                "unknown execution or run id {id}: it never ran on this server, or it finished long ago"
            )
        })?;
        let seen = since.unwrap_or(now.version);
        let status = if wait.is_zero() || now.phase == Phase::Finished || now.version > seen {
            now
        } else {
            exec.watch(id, seen, wait).await.unwrap_or(now)
        };
        let changed = status.version > seen;
        let version = status.version;
        Ok((vec![status], changed, version))
    }
}

/// Structured content plus a one-line text per execution.
fn structured(out: &MonitorOutput) -> CallToolResult {
    let mut value = serde_json::to_value(out).unwrap_or_default();
    // Results as MCP answers carry them (the schema says the same).
    if let Some(Value::Array(executions)) = value.get_mut("executions") {
        for e in executions {
            if let Some(r) = e.get_mut("result") {
                super::result_view::strip(r);
            }
        }
    }
    if let Some(Value::Array(runs)) = value.get_mut("runs") {
        for r in runs {
            if let Some(r) = r
                .get_mut("current_execution")
                .and_then(|e| e.get_mut("result"))
            {
                super::result_view::strip(r);
            }
        }
    }
    let mut result = CallToolResult::structured(value);
    let lines: Vec<String> = out
        .executions
        .iter()
        .map(|s| {
            let state = match (s.phase, s.status) {
                (Phase::Finished, Some(status)) => status.to_string(),
                (Phase::Queued, _) => format!("queued at {}", s.queue_position.unwrap_or(0)),
                (phase, _) => serde_json::to_value(phase)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            };
            format!(
                "{} {state}, {:.0}s elapsed{}",
                s.execution_id,
                s.elapsed_ms as f64 / 1000.0,
                s.last_event
                    .as_ref()
                    .map(|e| format!(", last: {e}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let mut lines = lines;
    for r in &out.runs {
        let run = &r.run;
        lines.insert(
            0,
            format!(
                "run {} {}: {}/{} done, ${:.4}{}{}",
                run.run_id,
                run.state,
                r.done,
                r.total,
                run.cost_usd,
                run.current_task
                    .as_ref()
                    .map(|t| format!(", current task `{t}`"))
                    .unwrap_or_default(),
                run.reason
                    .as_ref()
                    .map(|t| format!(" — {t}"))
                    .unwrap_or_default()
            ),
        );
    }
    let text = if lines.is_empty() {
        "no executions".to_string()
    } else {
        lines.join("\n")
    };
    result.content.insert(0, ContentBlock::text(text));
    result
}
