//! Task-list validation (`validate_task_list`): is this list runnable, what will it take, and
//! what in it is risky.
//!
//! Input: a JSON array whose items are strings or `{id?, task, depends_on?}` objects. Ids are
//! strings (integers are accepted and become their decimal text, because YAML and hand-written
//! JSON say `id: 1`); a task without an id gets its 1-based position (`"1"`, `"2"`, …).
//! `depends_on` is a list of ids (a single id is accepted too).
//!
//! **Errors** (`valid` is false exactly when there is at least one): not a list, empty list,
//! malformed item (with its position and the field), empty task, invalid id, duplicate id,
//! unknown dependency, forward dependency, dependency cycle (with its path `a → b → a`, read
//! "a depends on b").
//!
//! **Forward dependencies are errors**, even when the graph is acyclic. Why: a list runs in
//! its written order (sequential execution is the default, and `run-list` resumes "from the
//! first unfinished task"); a task that depends on a later one would run before its
//! prerequisite. Rather than silently reorder what a person wrote, the report says which task
//! to move and, when the graph is acyclic, gives a `suggested_order` that satisfies every
//! dependency while staying as close as possible to the written one.
//!
//! **Warnings**: duplicate task texts, implicit references to other tasks ("task 3", "the
//! previous step", "the API from above", "as before", "after task 2") that are not declared
//! dependencies, and risky prompts (starting with `-`, interactive phrasing, too vague, over
//! the token limit, NUL bytes).
//!
//! Cost: `O(n log n)` in the number of tasks plus linear in the text scanned (each task's
//! scan is capped at [`super::text::SCAN_BYTES`]); ids and duplicate texts go through hash
//! maps, cycles through an iterative search, and predictions are computed once per class.
//!
//! In the code: `parse` turns JSON into task items, `list` checks the list as a
//! whole, `task` checks each task, `risk` sums up, and `report` holds the answer's types. This
//! module runs them in order and assesses each task (classification, prediction, method).

mod list;
mod parse;
mod report;
mod risk;
mod task;

use serde_json::Value;

use super::classify::classify_scan;
use super::complexity::recommend_method;
use super::graph::stable_order;
use super::predict::Predictor;
use super::text::{Scan, preview};

pub use list::MAX_CYCLES_REPORTED;
pub use parse::{MAX_ID_CHARS, TaskInput, TaskItem, TaskObject, parse_tasks, parse_tasks_lenient};
pub use report::{
    ErrorKind, Risk, RiskLevel, TaskAssessment, ValidationError, ValidationReport,
    ValidationWarning, WarningKind,
};

/// An id or key as shown in messages: long ones are cut, so a message stays readable.
fn shown(key: &str) -> String {
    preview(key, 40)
}

/// What validation computed, for the strategy to build on.
pub(crate) struct Analysis {
    pub report: ValidationReport,
    /// Per item (index into the items), the items it depends on (known ids only).
    pub deps: Vec<Vec<usize>>,
    /// Whether the known dependencies are free of cycles.
    pub acyclic: bool,
    /// Per item, why its method.
    pub method_reasons: Vec<String>,
}

/// Validates a task list given as JSON (what the MCP tool receives).
pub async fn validate_value(
    value: &Value,
    predictor: &Predictor<'_>,
    max_prompt_tokens: usize,
) -> ValidationReport {
    let (items, errors) = parse_tasks_lenient(value);
    let total = value.as_array().map_or(0, Vec::len);
    analyze(&items, errors, total, predictor, max_prompt_tokens)
        .await
        .report
}

/// Validates parsed task items (from [`parse_tasks`] or a task file).
pub async fn validate_tasks(
    items: &[TaskItem],
    predictor: &Predictor<'_>,
    max_prompt_tokens: usize,
) -> ValidationReport {
    analyze(items, Vec::new(), items.len(), predictor, max_prompt_tokens)
        .await
        .report
}

/// Validation of `items` (`errors`: what parsing already found; `total_tasks`: items in the
/// input, malformed ones included), with what the strategy needs beyond the report.
pub(crate) async fn analyze(
    items: &[TaskItem],
    mut errors: Vec<ValidationError>,
    total_tasks: usize,
    predictor: &Predictor<'_>,
    max_prompt_tokens: usize,
) -> Analysis {
    let n = items.len();
    let mut warnings: Vec<ValidationWarning> = Vec::new();
    let links = list::check_list(items, total_tasks, &mut errors);

    // Per task: scan once; classify, predict, method, prompt warnings, references.
    let mut checks = task::TaskChecks::new(n);
    let mut tasks = Vec::with_capacity(n);
    let mut method_reasons = Vec::with_capacity(n);
    for (i, item) in items.iter().enumerate() {
        let scan = Scan::new(&item.task);
        checks.check(items, &links, i, &scan, max_prompt_tokens, &mut warnings);

        let classification = classify_scan(&scan);
        if item.accept.is_none() && crate::plan::checks::writes_code(classification.category) {
            warnings.push(ValidationWarning {
                kind: WarningKind::NoAcceptanceCheck,
                message: format!(
                    "task {} changes code but has no acceptance check: add `accept` (e.g. the command that runs its tests) so that failing work ends `rejected`, not `succeeded`",
                    item.position
                ),
                position: item.position,
                task_id: item.id.clone(),
                line: item.line,
            });
        }
        let prediction = predictor.predict_for(&classification).await;
        let (method, reason) = recommend_method(&classification, &scan);
        method_reasons.push(reason);
        tasks.push(TaskAssessment {
            position: item.position,
            id: item.id.clone(),
            depends_on: item.depends_on.clone(),
            category: classification.category,
            complexity: classification.complexity,
            score: classification.score,
            predicted_secs: prediction.predicted_secs,
            median_secs: prediction.median_secs,
            suggested_timeout_secs: prediction.suggested_timeout_secs,
            based_on: prediction.based_on,
            recommended_method: method,
        });
    }

    let list::Links {
        deps,
        forward,
        acyclic,
        ..
    } = links;
    let estimated_total_secs: u64 = tasks.iter().map(|t| t.predicted_secs).sum();
    let estimated_typical_secs: u64 = tasks.iter().map(|t| t.median_secs).sum();
    let total_timeout_secs: u64 = tasks.iter().map(|t| t.suggested_timeout_secs).sum();
    let suggested_order = (forward && acyclic)
        .then(|| stable_order(&deps))
        .flatten()
        .map(|order| order.into_iter().map(|u| items[u].id.clone()).collect());
    let risk = risk::assess_risk(&errors, &warnings, &tasks, estimated_total_secs);

    let report = ValidationReport {
        valid: errors.is_empty(),
        total_tasks,
        errors,
        warnings,
        tasks,
        estimated_total_secs,
        estimated_total_minutes: (estimated_total_secs as f64 / 6.0).round() / 10.0,
        estimated_typical_secs,
        total_timeout_secs,
        risk,
        suggested_order,
    };
    Analysis {
        report,
        deps,
        acyclic,
        method_reasons,
    }
}
