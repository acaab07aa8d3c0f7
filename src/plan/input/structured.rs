//! JSON and YAML task files. Both read into a JSON value — a list of tasks, or an object whose
//! only key is `tasks` holding one — so the tasks are parsed and checked exactly as the MCP
//! tools' input is ([`parse_tasks`]).

use serde_json::Value;

use super::{InputError, InputFormat, no_tasks};
use crate::plan::validate::{ErrorKind, TaskItem, ValidationError, parse_tasks};

/// The tasks of a JSON file.
pub(super) fn parse_json(text: &str) -> Result<Vec<TaskItem>, InputError> {
    let format = InputFormat::Json;
    if text.trim().is_empty() {
        return Err(no_tasks(format, "the file is empty"));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| InputError::Syntax {
        format,
        line: e.line().max(1),
        column: Some(e.column().max(1)),
        message: strip_position(&e.to_string()),
    })?;
    from_value(&value, format)
}

/// The tasks of a YAML file.
pub(super) fn parse_yaml(text: &str) -> Result<Vec<TaskItem>, InputError> {
    let format = InputFormat::Yaml;
    if text.trim().is_empty() {
        return Err(no_tasks(format, "the file is empty"));
    }
    let value: Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let loc = e.location();
        InputError::Syntax {
            format,
            line: loc.as_ref().map_or(1, |l| l.line().max(1)),
            column: loc.as_ref().map(|l| l.column().max(1)),
            message: strip_position(&e.to_string()),
        }
    })?;
    from_value(&value, format)
}

/// Parser messages end with " at line L column C"; the error already says where.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn from_value(value: &Value, format: InputFormat) -> Result<Vec<TaskItem>, InputError> {
    let list = match value {
        Value::Object(map) => match map.get("tasks") {
            Some(list) if map.len() == 1 => list,
            _ => {
                return Err(InputError::Tasks {
                    format,
                    errors: vec![ValidationError {
                        kind: ErrorKind::NotAList,
                        message: "expected a list of tasks, or an object with only a `tasks` list"
                            .into(),
                        position: None,
                        task_id: None,
                        line: None,
                        cycle: None,
                    }],
                });
            }
        },
        other => other,
    };
    if list.is_null() {
        return Err(no_tasks(format, "the document is empty"));
    }
    parse_tasks(list).map_err(|errors| InputError::Tasks { format, errors })
}
