//! Task items: the shapes a caller writes (a string, or `{id?, task, depends_on?}`) and their
//! parsing into [`TaskItem`]s. Parsing never stops at the first bad item: every malformed one
//! is reported with its position and field, so one answer lists everything to fix.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ErrorKind, ValidationError, shown};
use crate::types::accept::AcceptRequest;

/// Longest id accepted (characters): ids appear in messages, markdown and paths of records.
pub const MAX_ID_CHARS: usize = 200;

/// Most problems reported for one malformed item.
const MAX_ITEM_ERRORS: usize = 5;

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
    /// Its acceptance checks (`cc_execute`'s `accept`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept: Option<AcceptRequest>,
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

/// A task with an id and dependencies. (The fields' meaning is told once, in the task
/// list's own description, not on each field: the model reads every tool's schema in every
/// session, and this shape appears in three tools.)
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskObject {
    // Default: its 1-based position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    // The prompt (self-contained).
    pub task: String,
    // Ids of earlier tasks that must succeed first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<String>>,
    // Acceptance checks, as `cc_execute`'s `accept` (written as a bare object: the list's
    // description points there, rather than repeating the schema in three tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub accept: Option<AcceptRequest>,
}

fn any_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object"})
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
                accept: item.accept,
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
                accept: None,
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
    let mut accept = None;
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
            "accept" => match serde_json::from_value::<AcceptRequest>(value.clone()) {
                Ok(a) => accept = Some(a),
                Err(e) => errors.push(item_error(
                    ErrorKind::MalformedTask,
                    position,
                    format!("task {position}: invalid `accept`: {e}"),
                )),
            },
            other => {
                unknown += 1;
                if unknown <= 3 {
                    errors.push(item_error(
                        ErrorKind::MalformedTask,
                        position,
                        format!(
                            "task {position}: unknown field `{}` (expected `id`, `task`, `depends_on`, `accept`)",
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
        accept,
    })
}
