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

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::Hasher;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::classify::{Category, Complexity, classify_scan};
use super::complexity::{Method, PromptWarningKind, prompt_warnings, recommend_method};
use super::graph::{Reach, find_cycles, stable_order};
use super::predict::{BasedOn, Predictor};
use super::references::{Target, find_references};
use super::text::{Scan, preview};

/// Longest id accepted (characters): ids appear in messages, markdown and paths of records.
pub const MAX_ID_CHARS: usize = 200;

/// Most cycles reported; one is enough to act on, a few help, thousands help nobody.
pub const MAX_CYCLES_REPORTED: usize = 20;

/// Most problems reported for one malformed item.
const MAX_ITEM_ERRORS: usize = 5;

/// Tasks visited when checking whether a task depends on another through a chain of declared
/// dependencies (see [`Reach::depends_on`]).
const REACH_BUDGET: usize = 512;

/// One task of a list, as the planner works with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaskItem {
    /// 1-based position in the list.
    pub position: usize,
    /// The id given, or the position as text when none was.
    pub id: String,
    /// Whether `id` was assigned from the position.
    #[serde(default)]
    pub id_assigned: bool,
    /// The prompt.
    pub task: String,
    /// Ids this task depends on.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Line in the source file, when it came from a markdown file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// A task as a caller writes it: a string, or an object. (This is the JSON Schema of one item
/// of a task list; parsing goes through [`parse_tasks`], which accepts the same shapes and
/// reports every problem with the task's position.)
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum TaskInput {
    /// Just the prompt; its id is its 1-based position.
    Text(String),
    Object(TaskObject),
}

/// A task with an id and dependencies.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskObject {
    /// Unique id (default: the 1-based position as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The prompt for a fresh Claude Code process; self-contained.
    pub task: String,
    /// Ids of earlier tasks this one needs (they must succeed first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for TaskInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        match parse_item(&value, 1) {
            Ok(item) if value.is_string() => Ok(TaskInput::Text(item.task)),
            Ok(item) => Ok(TaskInput::Object(TaskObject {
                id: (!item.id_assigned).then_some(item.id),
                task: item.task,
                depends_on: value
                    .get("depends_on")
                    .is_some_and(|d| !d.is_null())
                    .then_some(item.depends_on),
            })),
            Err(errors) => Err(serde::de::Error::custom(
                errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }
}

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
    fn new(kind: ErrorKind, message: String) -> Self {
        ValidationError {
            kind,
            message,
            position: None,
            task_id: None,
            line: None,
            cycle: None,
        }
    }

    fn at(kind: ErrorKind, item: &TaskItem, message: String) -> Self {
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

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a task list; every malformed item is reported with its position.
pub fn parse_tasks(value: &Value) -> Result<Vec<TaskItem>, Vec<ValidationError>> {
    let (items, errors) = parse_tasks_lenient(value);
    if errors.is_empty() {
        Ok(items)
    } else {
        Err(errors)
    }
}

/// Parses what can be parsed: the well-formed items (keeping their positions) and an error for
/// each malformed one. Never recurses into the values (a deeply nested item is reported by its
/// type, not walked).
pub fn parse_tasks_lenient(value: &Value) -> (Vec<TaskItem>, Vec<ValidationError>) {
    let Value::Array(list) = value else {
        return (
            Vec::new(),
            vec![ValidationError::new(
                ErrorKind::NotAList,
                format!(
                    "expected a list of tasks (an array of strings or {{id, task, depends_on}} objects), got {}",
                    type_name(value)
                ),
            )],
        );
    };
    let mut items = Vec::with_capacity(list.len());
    let mut errors = Vec::new();
    for (i, v) in list.iter().enumerate() {
        match parse_item(v, i + 1) {
            Ok(item) => items.push(item),
            Err(e) => errors.extend(e),
        }
    }
    (items, errors)
}

fn item_error(kind: ErrorKind, position: usize, message: String) -> ValidationError {
    ValidationError {
        position: Some(position),
        ..ValidationError::new(kind, message)
    }
}

fn shown(key: &str) -> String {
    preview(key, 40)
}

/// An id from a JSON value: a string, or an integer written as one.
fn id_from(v: &Value, position: usize, field: &str) -> Result<String, ValidationError> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        other => {
            return Err(item_error(
                ErrorKind::MalformedTask,
                position,
                format!(
                    "task {position}: `{field}` must be a string id (got {})",
                    type_name(other)
                ),
            ));
        }
    };
    if text.is_empty() {
        return Err(item_error(
            ErrorKind::InvalidId,
            position,
            format!("task {position}: `{field}` is empty"),
        ));
    }
    if text.chars().count() > MAX_ID_CHARS {
        return Err(item_error(
            ErrorKind::InvalidId,
            position,
            format!("task {position}: `{field}` is longer than {MAX_ID_CHARS} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(item_error(
            ErrorKind::InvalidId,
            position,
            format!("task {position}: `{field}` contains control characters"),
        ));
    }
    Ok(text)
}

fn parse_item(v: &Value, position: usize) -> Result<TaskItem, Vec<ValidationError>> {
    let object: &Map<String, Value> = match v {
        Value::String(s) => {
            return Ok(TaskItem {
                position,
                id: position.to_string(),
                id_assigned: true,
                task: s.clone(),
                depends_on: Vec::new(),
                line: None,
            });
        }
        Value::Object(m) => m,
        other => {
            return Err(vec![item_error(
                ErrorKind::MalformedTask,
                position,
                format!(
                    "task {position} is {}; each task is a string or an object {{\"id\"?, \"task\", \"depends_on\"?}}",
                    type_name(other)
                ),
            )]);
        }
    };
    let mut errors = Vec::new();
    let mut id = None;
    let mut task = None;
    let mut depends_on = Vec::new();
    let mut unknown = 0usize;
    for (key, value) in object {
        match key.as_str() {
            "id" => match id_from(value, position, "id") {
                Ok(i) => id = Some(i),
                Err(e) => errors.push(e),
            },
            "task" => match value {
                Value::String(s) => task = Some(s.clone()),
                other => errors.push(item_error(
                    ErrorKind::MalformedTask,
                    position,
                    format!(
                        "task {position}: `task` must be a string (the prompt), got {}",
                        type_name(other)
                    ),
                )),
            },
            "depends_on" => match value {
                Value::Null => {}
                Value::Array(list) => {
                    for (j, d) in list.iter().enumerate() {
                        match id_from(d, position, &format!("depends_on[{j}]")) {
                            Ok(dep) => depends_on.push(dep),
                            Err(e) if errors.len() < MAX_ITEM_ERRORS => errors.push(e),
                            Err(_) => {}
                        }
                    }
                }
                single => match id_from(single, position, "depends_on") {
                    Ok(dep) => depends_on.push(dep),
                    Err(e) => errors.push(e),
                },
            },
            other => {
                unknown += 1;
                if unknown <= 3 {
                    errors.push(item_error(
                        ErrorKind::MalformedTask,
                        position,
                        format!(
                            "task {position}: unknown field `{}` (expected `id`, `task`, `depends_on`)",
                            shown(other)
                        ),
                    ));
                }
            }
        }
    }
    if unknown > 3 {
        errors.push(item_error(
            ErrorKind::MalformedTask,
            position,
            format!("task {position}: {} more unknown fields", unknown - 3),
        ));
    }
    if task.is_none() && !object.contains_key("task") {
        errors.push(item_error(
            ErrorKind::MalformedTask,
            position,
            format!("task {position} has no `task` field (the prompt)"),
        ));
    }
    if !errors.is_empty() {
        errors.truncate(MAX_ITEM_ERRORS);
        return Err(errors);
    }
    let (id, id_assigned) = match id {
        Some(i) => (i, false),
        None => (position.to_string(), true),
    };
    Ok(TaskItem {
        position,
        id,
        id_assigned,
        task: task.unwrap_or_default(),
        depends_on,
        line: None,
    })
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

/// Identity of a task text for duplicate detection: its scanned words (lower case,
/// punctuation and spacing ignored) plus the raw bytes beyond the scan window, as a SipHash
/// and a length. Two different texts colliding on both is a 2⁻⁶⁴ event, and the result is
/// only a warning — so no second, unbounded comparison of the full texts.
fn duplicate_key(text: &str, scan: &Scan) -> (u64, usize) {
    let mut h = DefaultHasher::new();
    h.write(scan.norm.as_bytes());
    let tail = &text[super::text::scan_window(text).len()..];
    h.write(tail.as_bytes());
    (h.finish(), scan.norm.len() + tail.len())
}

/// Cycle path text: ids joined by ` → `, the middle elided when long.
fn cycle_text(ids: &[String]) -> String {
    const SHOW: usize = 12;
    if ids.len() <= SHOW {
        return ids.join(" → ");
    }
    format!(
        "{} → … ({} more) … → {}",
        ids[..SHOW / 2].join(" → "),
        ids.len() - SHOW,
        ids[ids.len() - SHOW / 2..].join(" → ")
    )
}

pub(crate) async fn analyze(
    items: &[TaskItem],
    mut errors: Vec<ValidationError>,
    total_tasks: usize,
    predictor: &Predictor<'_>,
    max_prompt_tokens: usize,
) -> Analysis {
    let n = items.len();
    let mut warnings: Vec<ValidationWarning> = Vec::new();
    let warn = |warnings: &mut Vec<ValidationWarning>, kind, item: &TaskItem, message| {
        warnings.push(ValidationWarning {
            kind,
            message,
            position: item.position,
            task_id: item.id.clone(),
            line: item.line,
        })
    };

    if total_tasks == 0 && errors.is_empty() {
        errors.push(ValidationError::new(
            ErrorKind::EmptyList,
            "the task list is empty: give at least one task".into(),
        ));
    }

    // Ids.
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(n);
    for (i, item) in items.iter().enumerate() {
        if let Some(&first) = by_id.get(item.id.as_str()) {
            let how = if item.id_assigned || items[first].id_assigned {
                " (tasks without an id get their position as id)"
            } else {
                ""
            };
            errors.push(ValidationError::at(
                ErrorKind::DuplicateId,
                item,
                format!(
                    "task {} has id `{}`, already used by task {}{how}",
                    item.position,
                    shown(&item.id),
                    items[first].position
                ),
            ));
        } else {
            by_id.insert(item.id.as_str(), i);
        }
    }

    // Empty texts, dependencies.
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n);
    let mut forward = false;
    for (i, item) in items.iter().enumerate() {
        if item.task.trim().is_empty() {
            errors.push(ValidationError::at(
                ErrorKind::EmptyTask,
                item,
                format!("task {} is empty", item.position),
            ));
        }
        let mut mine: Vec<usize> = Vec::with_capacity(item.depends_on.len());
        let mut seen: HashSet<&str> = HashSet::with_capacity(item.depends_on.len());
        for dep in &item.depends_on {
            if !seen.insert(dep.as_str()) {
                continue;
            }
            match by_id.get(dep.as_str()) {
                None => errors.push(ValidationError::at(
                    ErrorKind::UnknownDependency,
                    item,
                    format!(
                        "task {} depends on `{}`, but no task has that id",
                        item.position,
                        shown(dep)
                    ),
                )),
                Some(&j) => {
                    if j > i {
                        forward = true;
                        errors.push(ValidationError::at(
                            ErrorKind::ForwardDependency,
                            item,
                            format!(
                                "task {} (`{}`) depends on task {} (`{}`), which comes later in the list; tasks run in list order, so move task {} before task {}",
                                item.position,
                                shown(&item.id),
                                items[j].position,
                                shown(&items[j].id),
                                items[j].position,
                                item.position
                            ),
                        ));
                    }
                    mine.push(j);
                }
            }
        }
        deps.push(mine);
    }

    // Cycles (over every known edge, forward ones included).
    let cycles = find_cycles(&deps, MAX_CYCLES_REPORTED + 1);
    let acyclic = cycles.is_empty();
    for (k, cycle) in cycles.iter().enumerate() {
        if k == MAX_CYCLES_REPORTED {
            errors.push(ValidationError::new(
                ErrorKind::Cycle,
                format!("more than {MAX_CYCLES_REPORTED} dependency cycles; fix these first"),
            ));
            break;
        }
        let ids: Vec<String> = cycle.iter().map(|&u| items[u].id.clone()).collect();
        let first = &items[cycle[0]];
        errors.push(ValidationError {
            cycle: Some(ids.clone()),
            ..ValidationError::at(
                ErrorKind::Cycle,
                first,
                format!(
                    "dependency cycle: {} (a → b reads \"a depends on b\"); no order can satisfy it",
                    cycle_text(&ids)
                ),
            )
        })
    }

    // Per task: scan once; classify, predict, method, prompt warnings, references.
    let mut text_seen: HashMap<(u64, usize), usize> = HashMap::with_capacity(n);
    let mut reach = Reach::new(n);
    let mut tasks = Vec::with_capacity(n);
    let mut method_reasons = Vec::with_capacity(n);
    for (i, item) in items.iter().enumerate() {
        let scan = Scan::new(&item.task);

        if !item.task.trim().is_empty() {
            let first = *text_seen
                .entry(duplicate_key(&item.task, &scan))
                .or_insert(i);
            if first != i {
                warn(
                    &mut warnings,
                    WarningKind::DuplicateTask,
                    item,
                    format!(
                        "task {} repeats task {} (same text): it will run twice",
                        item.position, items[first].position
                    ),
                );
            }
        }

        for w in prompt_warnings(&item.task, &scan, max_prompt_tokens) {
            if item.task.trim().is_empty() && w.kind == PromptWarningKind::TooVague {
                continue; // already an error
            }
            warn(
                &mut warnings,
                w.kind.into(),
                item,
                format!("task {}: {}", item.position, w.message),
            );
        }

        implicit_references(items, &deps, &by_id, i, &scan, &mut reach, &mut warnings);

        let classification = classify_scan(&scan);
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

    let estimated_total_secs: u64 = tasks.iter().map(|t| t.predicted_secs).sum();
    let estimated_typical_secs: u64 = tasks.iter().map(|t| t.median_secs).sum();
    let total_timeout_secs: u64 = tasks.iter().map(|t| t.suggested_timeout_secs).sum();
    let suggested_order = (forward && acyclic)
        .then(|| stable_order(&deps))
        .flatten()
        .map(|order| order.into_iter().map(|u| items[u].id.clone()).collect());
    let risk = assess_risk(&errors, &warnings, &tasks, estimated_total_secs);

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

/// Warnings for references in task `i` that its declared dependencies do not cover.
fn implicit_references(
    items: &[TaskItem],
    deps: &[Vec<usize>],
    by_id: &HashMap<&str, usize>,
    i: usize,
    scan: &Scan,
    reach: &mut Reach,
    warnings: &mut Vec<ValidationWarning>,
) {
    let item = &items[i];
    let mut push = |message: String| {
        warnings.push(ValidationWarning {
            kind: WarningKind::ImplicitReference,
            message,
            position: item.position,
            task_id: item.id.clone(),
            line: item.line,
        })
    };
    let mut warned_targets: HashSet<usize> = HashSet::new();
    let mut warned_earlier = false;
    for r in find_references(scan) {
        match r.target {
            Target::Number(num) => {
                let target = by_id.get(num.to_string().as_str()).copied().or_else(|| {
                    usize::try_from(num)
                        .ok()
                        .filter(|p| (1..=items.len()).contains(p))
                        .and_then(|p| items.binary_search_by_key(&p, |t| t.position).ok())
                });
                match target {
                    None => {
                        if warned_targets.insert(usize::MAX) {
                            push(format!(
                                "task {} mentions `{}`, but no task has that id or position",
                                item.position, r.phrase
                            ));
                        }
                    }
                    Some(t) if t == i => {}
                    Some(t) if t > i => {
                        if warned_targets.insert(t) {
                            push(format!(
                                "task {} mentions `{}` (task `{}`), which runs later; a task cannot use a later task's result — reorder the tasks or rephrase",
                                item.position,
                                r.phrase,
                                shown(&items[t].id)
                            ));
                        }
                    }
                    Some(t) => {
                        if reach.depends_on(deps, i, t, REACH_BUDGET) != Some(true)
                            && warned_targets.insert(t)
                        {
                            push(format!(
                                "task {} mentions `{}` but does not depend on it: add \"depends_on\": [\"{}\"] so it is ordered and skipped if that task fails, and say what it should use — each task runs in a fresh process",
                                item.position,
                                r.phrase,
                                shown(&items[t].id)
                            ));
                        }
                    }
                }
            }
            Target::Earlier if !warned_earlier => {
                if i == 0 {
                    warned_earlier = true;
                    push(format!(
                        "task {} refers to earlier work (`{}`) but is the first task; a fresh process has not seen any earlier work",
                        item.position, r.phrase
                    ));
                } else if deps[i].is_empty() {
                    warned_earlier = true;
                    push(format!(
                        "task {} refers to earlier work (`{}`) but declares no dependency: add \"depends_on\" (probably [\"{}\"]) and name what it should use — each task runs in a fresh process",
                        item.position,
                        r.phrase,
                        shown(&items[i - 1].id)
                    ));
                }
            }
            Target::Earlier => {}
        }
    }
}

fn assess_risk(
    errors: &[ValidationError],
    warnings: &[ValidationWarning],
    tasks: &[TaskAssessment],
    total_secs: u64,
) -> Risk {
    let mut level = RiskLevel::Low;
    let mut reasons = Vec::new();
    let mut raise = |l: RiskLevel, why: String| {
        level = level.max(l);
        reasons.push(why);
    };
    let count = |k: WarningKind| warnings.iter().filter(|w| w.kind == k).count();

    if !errors.is_empty() {
        raise(
            RiskLevel::High,
            format!("{} error(s): the list cannot run as written", errors.len()),
        );
    }
    let refused = count(WarningKind::TooLong) + count(WarningKind::ContainsNul);
    if refused > 0 {
        raise(
            RiskLevel::High,
            format!("{refused} task(s) would be refused by cc_execute (too long or NUL bytes)"),
        );
    }
    let extreme = tasks
        .iter()
        .filter(|t| t.complexity == Complexity::Extreme)
        .count();
    let high = tasks
        .iter()
        .filter(|t| t.complexity == Complexity::High)
        .count();
    match extreme {
        0 => {}
        1..=2 => raise(
            RiskLevel::Medium,
            format!("{extreme} extreme task(s): consider splitting them"),
        ),
        _ => raise(
            RiskLevel::High,
            format!("{extreme} extreme tasks: split them into smaller steps"),
        ),
    }
    if high > 3 {
        raise(RiskLevel::Medium, format!("{high} high-complexity tasks"));
    }
    let hours = total_secs as f64 / 3600.0;
    if total_secs > 4 * 3600 {
        raise(
            RiskLevel::High,
            format!("about {hours:.1} h in total (sum of predictions)"),
        );
    } else if total_secs > 3600 {
        raise(
            RiskLevel::Medium,
            format!("about {hours:.1} h in total (sum of predictions)"),
        );
    }
    let risky = count(WarningKind::Interactive) + count(WarningKind::LeadingDash);
    if risky > 0 {
        raise(
            RiskLevel::Medium,
            format!("{risky} prompt(s) with interactive phrasing or a leading `-`"),
        );
    }
    let refs = count(WarningKind::ImplicitReference);
    if refs > 0 {
        raise(
            RiskLevel::Medium,
            format!("{refs} reference(s) to other tasks that are not declared dependencies"),
        );
    }
    let dups = count(WarningKind::DuplicateTask);
    if dups > 0 {
        raise(RiskLevel::Medium, format!("{dups} duplicate task(s)"));
    }
    let vague = count(WarningKind::TooVague);
    if vague > 0 {
        raise(RiskLevel::Medium, format!("{vague} vague task(s)"));
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "no errors and no risky prompts; {} task(s), about {:.0} min in total",
            tasks.len(),
            total_secs as f64 / 60.0
        ));
    }
    Risk { level, reasons }
}
