//! What MCP answers of the planning and history tools leave out of their structured content,
//! and so out of their output schemas: fields that repeat the answer's text block or the
//! request, or that only the CLI's reports use.
//!
//! The library's reports (`ValidationReport`, `ExecutionStrategy`, `TaskComplexity`, the
//! history rows) are also what `cc-executor plan` and `history --json` print, in full. Over
//! MCP every field costs twice — in each answer and in the tool list every session reads — so
//! each tool's answer is trimmed here, in one place ([`trim_value`], applied to every tool
//! result by the server), and its schema the same way ([`trim_schema`], applied when the tool
//! list is generated): the schema stays exact.

use serde_json::{Map, Value};

/// One trim: in tool `tool`, at `path` (property names from the root, `[]` for the items of
/// an array; `""` for the root), leave out `fields`.
pub struct Trim {
    pub tool: &'static str,
    pub path: &'static str,
    pub fields: &'static [&'static str],
}

/// Every trim (see the module docs for why each field can go).
pub const TRIMS: &[Trim] = &[
    // The text block is the plan as markdown, with the errors, warnings and risk;
    // `validate_task_list` returns those as data.
    Trim {
        tool: "suggest_execution_strategy",
        path: "",
        fields: &["markdown", "errors", "warnings", "risk"],
    },
    // Per task: the plan (method, timeout, dependencies, wave); its position and text are the
    // request's, its classification is `validate_task_list`'s and `get_task_complexity`'s.
    Trim {
        tool: "suggest_execution_strategy",
        path: "tasks[]",
        fields: &[
            "position",
            "task_preview",
            "category",
            "complexity",
            "based_on",
        ],
    },
    // `elapsed_ms` says how long ago it was submitted.
    Trim {
        tool: "monitor_execution",
        path: "executions[]",
        fields: &["submitted_at"],
    },
    Trim {
        tool: "monitor_execution",
        path: "runs[].current_execution",
        fields: &["submitted_at"],
    },
    // Derivable totals, and per task what the request said (position, dependencies) or what
    // `get_task_complexity` and `suggest_execution_strategy` tell in detail.
    Trim {
        tool: "validate_task_list",
        path: "",
        fields: &[
            "estimated_total_minutes",
            "estimated_typical_secs",
            "total_timeout_secs",
        ],
    },
    Trim {
        tool: "validate_task_list",
        path: "tasks[]",
        fields: &[
            "position",
            "depends_on",
            "score",
            "median_secs",
            "based_on",
            "recommended_method",
        ],
    },
    // A history row says what ran and how it ended; the rest is in the record
    // (`cc-executor history show`, the resource `cc-executor://executions/<id>`).
    Trim {
        tool: "get_execution_history",
        path: "executions[]",
        fields: &[
            "cwd",
            "submitted_at",
            "queue_wait_ms",
            "attempts",
            "exit_code",
            "input_tokens",
            "output_tokens",
        ],
    },
    // The hashes behind a file's state are evidence for `cc-executor verify`'s report; the
    // state says what they show.
    Trim {
        tool: "verify_execution",
        path: "executions[].files[]",
        fields: &["sha256_now", "sha256_written"],
    },
    // The prediction repeats the classification's category and complexity.
    Trim {
        tool: "get_task_complexity",
        path: "prediction",
        fields: &["category", "complexity", "median_secs"],
    },
];

fn trims(tool: &str) -> impl Iterator<Item = &'static Trim> + '_ {
    TRIMS.iter().filter(move |t| t.tool == tool)
}

/// Leaves the trimmed fields out of a structured result of `tool`.
pub fn trim_value(tool: &str, value: &mut Value) {
    for t in trims(tool) {
        let steps: Vec<&str> = t.path.split('.').filter(|s| !s.is_empty()).collect();
        trim_at(value, &steps, t.fields);
    }
}

fn trim_at(value: &mut Value, steps: &[&str], fields: &[&str]) {
    let Some((step, rest)) = steps.split_first() else {
        if let Value::Object(map) = value {
            for f in fields {
                map.remove(*f);
            }
        }
        return;
    };
    let (name, each) = match step.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (*step, false),
    };
    let Some(child) = value.get_mut(name) else {
        return;
    };
    if each {
        if let Value::Array(items) = child {
            for item in items {
                trim_at(item, rest, fields);
            }
        }
    } else {
        trim_at(child, rest, fields);
    }
}

/// Leaves the trimmed properties (and their `required` entries) out of the output schema of
/// `tool`, as schemars generated it (before definitions are inlined).
pub fn trim_schema(tool: &str, root: &mut Map<String, Value>) {
    let mut whole = Value::Object(std::mem::take(root));
    for t in trims(tool) {
        if let Some(pointer) = locate(&whole, t.path)
            && let Some(Value::Object(node)) = whole.pointer_mut(&pointer)
        {
            remove_props(node, t.fields);
        }
    }
    if let Value::Object(map) = whole {
        *root = map;
    }
}

/// The JSON pointer of the object schema at `path`: walked down by property name, through
/// array items and into `$defs` entries (a `$ref`, or an `anyOf` of it and `null`). A trim
/// changes a definition wherever the tool's schema uses it: the trimmed types are the tools'
/// own report types.
fn locate(root: &Value, path: &str) -> Option<String> {
    let steps: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
    let mut pointer = String::new();
    let mut node = root;
    for step in &steps {
        let (name, each) = match step.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (*step, false),
        };
        node = node.get("properties")?.get(name)?;
        pointer.push_str("/properties/");
        pointer.push_str(name);
        if each {
            node = node.get("items")?;
            pointer.push_str("/items");
        }
        if let Some(def) = definition(node, root) {
            pointer = format!("/$defs/{def}");
            node = root.get("$defs")?.get(def)?;
        }
    }
    Some(pointer)
}

/// The `$defs` entry a schema node stands for, if any.
fn definition<'a>(node: &'a Value, root: &Value) -> Option<&'a str> {
    let name_of = |n: &'a Value| {
        n.get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .filter(|name| root.get("$defs").and_then(|d| d.get(*name)).is_some())
    };
    name_of(node).or_else(|| node.get("anyOf")?.as_array()?.iter().find_map(name_of))
}

fn remove_props(node: &mut Map<String, Value>, fields: &[&str]) {
    if let Some(Value::Object(props)) = node.get_mut("properties") {
        for f in fields {
            props.remove(*f);
        }
    }
    if let Some(Value::Array(required)) = node.get_mut("required") {
        required.retain(|r| r.as_str().is_none_or(|r| !fields.contains(&r)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_lose_the_fields_at_their_paths() {
        let mut v = json!({"tasks": [{"id": "a", "score": 3}, {"id": "b", "score": 1}],
                           "estimated_total_minutes": 1.5, "valid": true});
        trim_value("validate_task_list", &mut v);
        assert_eq!(
            v,
            json!({"tasks": [{"id": "a"}, {"id": "b"}], "valid": true})
        );
        let mut other = json!({"tasks": [{"score": 3}]});
        trim_value("cc_execute", &mut other);
        assert_eq!(other, json!({"tasks": [{"score": 3}]}));
    }

    #[test]
    fn every_trim_finds_its_fields_in_the_schema() {
        for t in TRIMS {
            let (Some(full), Some(trimmed)) = (
                super::super::surface::output_schema(t.tool, false),
                super::super::surface::output_schema(t.tool, true),
            ) else {
                panic!("{}: no such tool", t.tool);
            };
            let before = serde_json::to_string(&full).unwrap_or_default();
            let after = serde_json::to_string(&trimmed).unwrap_or_default();
            for f in t.fields {
                let key = format!("\"{f}\"");
                assert!(
                    before.matches(&key).count() > after.matches(&key).count(),
                    "{}: `{}` at `{}` was not trimmed",
                    t.tool,
                    f,
                    t.path
                );
            }
        }
    }
}
