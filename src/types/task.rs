//! A task as a caller writes it ([`TaskRequest`], the wire shape every adapter shares) and as
//! the executor runs it ([`TaskSpec`], validated against the policy by `exec::spec`).

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::modes::PermissionMode;
use super::timeout::TimeoutBasis;

/// One task, as a caller writes it. Only `task` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    /// The prompt for a fresh Claude Code process. Self-contained: it sees nothing of this
    /// conversation, so say what to do, where, and how to tell that it is done.
    pub task: String,
    /// Hard limit in seconds; the task's processes are killed when it passes. Default: the
    /// server's default timeout (600 s unless configured), raised for kinds of task that its
    /// history shows need longer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_secs: Option<i64>,
    /// Working directory, inside the server's allowed roots. Default: the server's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Model name or alias (e.g. `sonnet`, `opus`), if the server allows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// What the task may do without asking; anything else is denied. `acceptEdits` (the usual
    /// default): read and edit files, no other commands. `default`/`manual`: read only.
    /// `plan`: read-only analysis. `dontAsk`: only what `allowed_tools` allows. `auto`: a
    /// classifier approves actions (needs an eligible account). `bypassPermissions`:
    /// everything (only if the server allows it). Leave it out unless the default does not
    /// fit; to let a task run particular commands, use `allowed_tools` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<PermissionMode>")]
    pub permission_mode: Option<String>,
    /// Tools the task may use without asking, on top of `permission_mode`. A task that must
    /// run commands needs them here, e.g. `["Bash(pytest:*)"]`, `["Bash(npm test:*)",
    /// "Bash(git status)"]`, `["WebFetch"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<Vec<String>>,
    /// Tools the task may never use, e.g. `["Bash(git push:*)", "WebSearch"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disallowed_tools: Option<Vec<String>>,
    /// Stop after this many agent turns (status `max_turns`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_turns: Option<i64>,
    /// Stop when the task's API cost reaches this many USD (status `budget_exceeded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub max_budget_usd: Option<f64>,
    /// Text appended to Claude Code's system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append_system_prompt: Option<String>,
    /// A JSON Schema the final answer must satisfy; the parsed answer comes back as
    /// `structured_output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<serde_json::Map<String, Value>>")]
    pub json_schema: Option<Value>,
    /// Continue an earlier Claude Code session (a result's `session_id`) instead of starting
    /// fresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_session_id: Option<String>,
    /// `true` (default): answer when the task has finished. `false`: answer at once with an
    /// `execution_id`; follow it with `monitor_execution` (`wait_secs` up to 50) and stop it
    /// with `cancel_execution`. Use `false` for anything that may take over a minute: hosts
    /// cut or background long calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<bool>,
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
}

/// Rough token estimate (4 characters per token), the same rule everywhere.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}
