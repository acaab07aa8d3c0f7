//! A task as a caller writes it ([`TaskRequest`], the wire shape every adapter shares) and as
//! the executor runs it ([`TaskSpec`], validated against the policy by `exec::spec`).

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::accept::{AcceptRequest, RepairRequest};
use super::modes::PermissionMode;
use super::timeout::TimeoutBasis;

/// One task, as a caller writes it. Only `task` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    /// The prompt. Self-contained: say what to do, where, and how to tell it is done.
    pub task: String,
    /// Hard limit, seconds (default: the server's, 600 s, or more for kinds of task that took
    /// longer before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_secs: Option<i64>,
    /// Working directory, inside the server's allowed roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Model name or alias (e.g. `sonnet`), if the server allows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// What the task may do unasked; the rest is denied. `acceptEdits` (usual default): edit
    /// files, no commands. `default`/`manual`/`plan`: read only. `dontAsk`: only
    /// `allowed_tools`. `auto`: a classifier decides. `bypassPermissions`: everything, if the
    /// server allows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<PermissionMode>")]
    pub permission_mode: Option<String>,
    /// Tools allowed beyond `permission_mode`; commands go here, e.g. `["Bash(pytest:*)"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<Vec<String>>,
    /// Tools never allowed, e.g. `["Bash(git push:*)"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disallowed_tools: Option<Vec<String>>,
    /// Stop after this many agent turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_turns: Option<i64>,
    /// Stop when the API cost reaches this many USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub max_budget_usd: Option<f64>,
    /// Text appended to Claude Code's system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append_system_prompt: Option<String>,
    /// A JSON Schema the answer must follow; parsed into `structured_output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub json_schema: Option<Value>,
    /// Continue an earlier session (a result's `session_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_session_id: Option<String>,
    /// `false`: answer at once with an `execution_id` for `monitor_execution`; default `true`:
    /// when finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
    /// Checks after the task; one failing makes it `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<AcceptRequest>,
    /// On `rejected`, re-run up to `max_attempts` times, failures added to the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<RepairRequest>,
}

impl TaskRequest {
    pub fn new(task: impl Into<String>) -> Self {
        TaskRequest {
            task: task.into(),
            ..Default::default()
        }
    }
}

/// A validated task: within policy, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    pub prompt: String,
    pub timeout: Duration,
    pub cwd: PathBuf,
    pub model: Option<String>,
    pub permission_mode: PermissionMode,
    pub allowed_tools: Vec<String>,
    pub disallowed_tools: Vec<String>,
    pub max_turns: Option<u32>,
    pub max_budget_usd: Option<f64>,
    pub append_system_prompt: Option<String>,
    pub json_schema: Option<Value>,
    pub resume_session_id: Option<String>,
    /// Things worth telling the caller that do not stop the task.
    pub warnings: Vec<String>,
    /// The planner's classification, recorded with the execution so predictions learn.
    pub category: Option<String>,
    pub complexity: Option<String>,
    /// Where `timeout` came from (chosen by `exec::timeout`).
    pub timeout_basis: TimeoutBasis,
    /// With `placement = pool`: the queue it joins (`None`: the configured or the process's
    /// own). Task-list runs set one per run.
    pub pool_queue: Option<String>,
    /// Safe to run again from the start: a pool task whose worker was lost is re-run
    /// (lost policy `retry`) instead of being recorded as lost.
    pub idempotent: bool,
    /// The checks run after the task (validated: commands, files, validator).
    pub accept: Option<AcceptPlan>,
    /// Repairs allowed after a rejection (0: none).
    pub repair_max: u32,
    /// Where this execution stands in a repair loop or as a validator (set by the executor).
    pub link: Option<SpecLink>,
}

/// Validated acceptance checks.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptPlan {
    pub commands: Vec<Vec<String>>,
    pub command_timeout: Duration,
    /// Paths resolved against the task's cwd, with the pattern as given (compiled when checked).
    pub files: Vec<(PathBuf, Option<String>)>,
    pub validator: Option<String>,
    /// Permission mode of the validator's process (read-only).
    pub validator_mode: PermissionMode,
}

/// How an execution relates to others, recorded with it. Serializable because a pooled task
/// carries it to the worker that runs and records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecLink {
    /// A repair (or the first run) of a loop: the executions before it, oldest first.
    Repair { earlier: Vec<uuid::Uuid> },
    /// The validator of this execution.
    Validates(uuid::Uuid),
}

/// Rough token estimate (4 characters per token), the same rule everywhere.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}
