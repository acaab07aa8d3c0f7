//! What a validation answers with: typed errors and warnings with where they are, the
//! per-task assessment, the risk and the report that holds them. Data only — the checks that
//! fill them are in the sibling modules — so consumers (the MCP tools, `plan`, `run-list`, the
//! runs module) name them without depending on how they are computed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::TaskItem;
use crate::plan::classify::{Category, Complexity};
use crate::plan::complexity::{Method, PromptWarningKind};
use crate::plan::predict::BasedOn;

/// What is wrong with a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is not a list of tasks.
    NotAList,
    /// The list has no tasks.
    EmptyList,
    /// An item is neither a string nor a well-formed task object.
    MalformedTask,
    /// A task's text is empty or only whitespace.
    EmptyTask,
    /// An id is empty, too long or contains control characters.
    InvalidId,
    /// Two tasks have the same id.
    DuplicateId,
    /// A dependency names no task of the list.
    UnknownDependency,
    /// A task depends on a later task of the list.
    ForwardDependency,
    /// Dependencies form a cycle (a task depending on itself included).
    Cycle,
    /// A `{{tasks.<id>.…}}` reference in a task text is malformed (task-list runs).
    InvalidReference,
}

/// One error, with where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    pub kind: ErrorKind,
    pub message: String,
    /// 1-based position of the task concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Line in the source file (markdown files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// For `cycle`: the ids along the cycle, first = last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle: Option<Vec<String>>,
}

impl ValidationError {
    pub(super) fn new(kind: ErrorKind, message: String) -> Self {
        ValidationError {
            kind,
            message,
            position: None,
            task_id: None,
            line: None,
            cycle: None,
        }
    }

    pub(super) fn at(kind: ErrorKind, item: &TaskItem, message: String) -> Self {
        ValidationError {
            kind,
            message,
            position: Some(item.position),
            task_id: Some(item.id.clone()),
            line: item.line,
            cycle: None,
        }
    }
}

/// What is risky in a list (it can still run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The same task text appears more than once.
    DuplicateTask,
    /// A task refers to another task or to earlier work without declaring the dependency.
    ImplicitReference,
    LeadingDash,
    Interactive,
    TooVague,
    TooLong,
    ContainsNul,
    /// A task that changes code has no `accept` check: it can succeed with failing tests.
    NoAcceptanceCheck,
}

impl From<PromptWarningKind> for WarningKind {
    fn from(k: PromptWarningKind) -> Self {
        match k {
            PromptWarningKind::LeadingDash => WarningKind::LeadingDash,
            PromptWarningKind::Interactive => WarningKind::Interactive,
            PromptWarningKind::TooVague => WarningKind::TooVague,
            PromptWarningKind::TooLong => WarningKind::TooLong,
            PromptWarningKind::ContainsNul => WarningKind::ContainsNul,
            PromptWarningKind::MissingContext => WarningKind::ImplicitReference,
        }
    }
}

/// One warning, with where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValidationWarning {
    pub kind: WarningKind,
    pub message: String,
    pub position: usize,
    pub task_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// Overall risk of running the list.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    /// The spelling used in JSON and in text (`low`, `medium`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

impl std::fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The risk level and what raised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Risk {
    pub level: RiskLevel,
    pub reasons: Vec<String>,
}

/// The planner's view of one task of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskAssessment {
    pub position: usize,
    pub id: String,
    pub depends_on: Vec<String>,
    pub category: Category,
    pub complexity: Complexity,
    pub score: u8,
    pub predicted_secs: u64,
    pub median_secs: u64,
    pub suggested_timeout_secs: u64,
    pub based_on: BasedOn,
    pub recommended_method: Method,
}

/// The answer of `validate_task_list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValidationReport {
    /// False exactly when `errors` is not empty.
    pub valid: bool,
    /// Items in the input list (malformed ones included).
    pub total_tasks: usize,
    pub errors: Vec<ValidationError>,
    pub warnings: Vec<ValidationWarning>,
    /// Every well-formed task, in list order.
    pub tasks: Vec<TaskAssessment>,
    /// Sum of the predicted (high-percentile) durations: a conservative estimate of the whole run.
    pub estimated_total_secs: u64,
    /// The same in minutes (one decimal).
    pub estimated_total_minutes: f64,
    /// Sum of the median durations: what the run typically takes.
    pub estimated_typical_secs: u64,
    /// Sum of the suggested timeouts: the longest the run can take before every task is cut.
    pub total_timeout_secs: u64,
    pub risk: Risk,
    /// When some dependencies point forward but there is no cycle: an order (ids) that
    /// satisfies every dependency, as close to the written one as possible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_order: Option<Vec<String>>,
}
