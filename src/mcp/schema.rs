//! JSON Schemas for tool inputs and outputs, cleaned for MCP hosts.
//!
//! schemars marks integers with formats such as `uint64` or `int32`, which are not JSON Schema
//! formats: Claude Code's validator warns about every one of them on every call (dozens of
//! stderr lines per run). The range is already expressed by `minimum`, so the format goes.

use std::sync::Arc;

use rmcp::handler::server::common::{schema_for_output, schema_for_type};
use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde_json::Value;

/// Input schema of a tool whose parameters are `T`.
pub fn input<T: JsonSchema + std::any::Any>() -> Arc<JsonObject> {
    Arc::new(clean((*schema_for_type::<T>()).clone()))
}

/// Output schema of a tool returning `T`.
pub fn output<T: JsonSchema + std::any::Any>() -> Arc<JsonObject> {
    Arc::new(clean((*schema_for_output::<T>()).clone()))
}

/// Removes non-standard numeric `format`s everywhere in the schema.
pub fn clean(mut schema: JsonObject) -> JsonObject {
    strip(&mut schema);
    schema
}

fn strip(obj: &mut JsonObject) {
    if let Some(Value::String(f)) = obj.get("format")
        && matches!(
            f.as_str(),
            "uint"
                | "uint8"
                | "uint16"
                | "uint32"
                | "uint64"
                | "int"
                | "int8"
                | "int16"
                | "int32"
                | "int64"
                | "double"
                | "float"
        )
    {
        obj.remove("format");
    }
    for v in obj.values_mut() {
        walk(v);
    }
}

fn walk(v: &mut Value) {
    match v {
        Value::Object(o) => strip(o),
        Value::Array(a) => a.iter_mut().for_each(walk),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_formats_are_removed_at_any_depth_and_others_kept() {
        let schema: JsonObject = serde_json::from_value(serde_json::json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer", "format": "uint64", "minimum": 0},
                "when": {"type": "string", "format": "date-time"},
                "list": {"type": "array", "items": {"type": "integer", "format": "int32"}},
                "any": {"anyOf": [{"type": "number", "format": "double"}]}
            }
        }))
        .unwrap();
        let text = serde_json::to_string(&clean(schema)).unwrap();
        assert!(!text.contains("uint64") && !text.contains("int32") && !text.contains("double"));
        assert!(text.contains("date-time") && text.contains("minimum"));
    }
}
