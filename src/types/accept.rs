//! Acceptance checks and bounded repair: what a caller asks to be checked after a task ran
//! ([`AcceptRequest`], [`RepairRequest`]: part of the wire shape), and what the checks found
//! ([`Acceptance`]) and how an execution relates to the others of its repair loop
//! ([`RepairLink`]): part of the result.
//!
//! "Did the step really do what was asked?" is a different question from "is this execution
//! real?" (the evidence): a task can run, be recorded and verified, and still leave failing
//! tests. The checks answer the first; a failed check makes the status `rejected`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Checks run after the task; any failing makes the status `rejected`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// Argv lists run in `cwd` (no shell); each must exit 0, e.g. `[["pytest","-q"]]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Vec<String>>,
    /// Per command, s (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_secs: Option<i64>,
    /// Paths (in `cwd`) that must exist; `matches`: a regex the content must match (`^`/`$` at
    /// line ends).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileCheck>,
    /// Criteria a fresh read-only Claude judges the work by (answers `{valid, reasons, fix}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<String>,
}

/// A file that must exist after the task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileCheck {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
}

/// Bounded repair of a rejected task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepairRequest {
    #[serde(default)]
    #[schemars(range(min = 0, max = 5))]
    pub max_attempts: i64,
}

/// What kind of check a [`CheckResult`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The answer's structured output against the task's `json_schema`.
    JsonSchema,
    File,
    Command,
    Validator,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::JsonSchema => "json_schema",
            CheckKind::File => "file",
            CheckKind::Command => "command",
            CheckKind::Validator => "validator",
        }
    }
}

/// One check and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    pub kind: CheckKind,
    pub passed: bool,
    /// What was checked and what was found: the command and its output's tail, the file and
    /// why it failed, the validator's reasons and its `fix` (what a repair is told).
    pub detail: String,
    pub duration_ms: u64,
    /// The validator's own execution (recorded and verifiable like any other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<Uuid>,
}

/// The checks of one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Acceptance {
    /// Every check passed.
    pub passed: bool,
    pub checks: Vec<CheckResult>,
    /// What the checks cost (the validator's run), USD: budgets count it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl Acceptance {
    /// The failed checks, one line each, for a repair prompt and for warnings.
    pub fn failures(&self) -> Vec<&CheckResult> {
        self.checks.iter().filter(|c| !c.passed).collect()
    }
}

/// How an execution belongs to a repair loop: how many repairs this one is, and every
/// execution of the loop up to it — the first (the one every attempt is linked to) first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RepairLink {
    /// 0 for the first execution; n for the n-th repair.
    pub repairs: u32,
    /// The loop's executions so far, oldest first, this one last.
    pub executions: Vec<Uuid>,
}

impl RepairLink {
    /// The loop's first execution.
    pub fn first(&self) -> Option<Uuid> {
        self.executions.first().copied()
    }
}
