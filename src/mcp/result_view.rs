//! An execution result as MCP answers carry it (`cc_execute`, its task-mode result,
//! `monitor_execution`): the full record less what a calling model never acts on.
//!
//! The record (`ExecutionResult`) also keeps the evidence a later check needs — the response
//! file's hash-chain link, the UUID echo, the SHA-256 of every file written, Claude Code's
//! transcript path — and diagnostics: each attempt, the CLI's own API retries, raw token
//! usage, the CLI's version and credential source, why the timeout was chosen (the immediate
//! answer of a `wait: false` call says that), and which execution a validator run judged. `verify_execution` checks the evidence, and the
//! whole record stays in the history, in the resource `cc-executor://executions/<id>` and in
//! `cc-executor run --json`. Leaving these fields out of MCP answers keeps every answer and
//! both output schemas that describe it smaller; the schemas leave out exactly the same
//! fields ([`strip_schema`]), so they stay exact.

use serde_json::Value;

/// Fields of the record that MCP answers leave out (see the module docs).
pub const OMITTED: [&str; 13] = [
    "attempts",
    "evidence",
    "uuid_echo",
    "written_files",
    "transcript_path",
    "usage",
    "api_key_source",
    "claude_version",
    "duration_api_ms",
    "signal",
    "api_retries",
    "timeout_basis",
    "validates",
];

/// The name schemars gives the record's schema in `$defs`.
pub const SCHEMA_NAME: &str = "ExecutionResult";

/// Removes the [`OMITTED`] fields from a serialized result.
pub fn strip(result: &mut Value) {
    if let Value::Object(map) = result {
        for key in OMITTED {
            map.remove(key);
        }
    }
}

/// Removes the [`OMITTED`] properties (and their `required` entries) from the record's
/// schema, wherever a generated schema defines it (`$defs`, before definitions are inlined).
pub fn strip_schema(root: &mut serde_json::Map<String, Value>) {
    let Some(Value::Object(def)) = root.get_mut("$defs").and_then(|d| d.get_mut(SCHEMA_NAME))
    else {
        return;
    };
    if let Some(Value::Object(props)) = def.get_mut("properties") {
        for key in OMITTED {
            props.remove(key);
        }
    }
    if let Some(Value::Array(required)) = def.get_mut("required") {
        required.retain(|r| r.as_str().is_none_or(|r| !OMITTED.contains(&r)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_and_schemas_lose_the_same_fields() {
        let mut v = json!({"execution_id": "x", "attempts": [], "evidence": {}, "result": "r"});
        strip(&mut v);
        assert_eq!(v, json!({"execution_id": "x", "result": "r"}));
        let schema = super::super::schema::output::<super::super::cc_execute::CcExecuteOutput>();
        // The finished result (the other branch is the `wait: false` handle).
        let text = serde_json::to_string(&schema["anyOf"][0]).unwrap_or_default();
        for key in OMITTED {
            assert!(!text.contains(&format!("\"{key}\"")), "{key} in {text}");
        }
        assert!(text.contains("\"files_written\""), "{text}");
    }
}
