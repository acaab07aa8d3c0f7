//! JSON Schemas for tool inputs and outputs, cleaned for MCP hosts.
//!
//! schemars marks integers with formats such as `uint64` or `int32`, which are not JSON Schema
//! formats: Claude Code's validator warns about every one of them on every call (dozens of
//! stderr lines per run). The range is already expressed by `minimum`, so the format goes.

use std::sync::Arc;

use rmcp::model::JsonObject;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde_json::Value;

/// Input schema of a tool whose parameters are `T` (the deserialize contract).
pub fn input<T: JsonSchema>() -> Arc<JsonObject> {
    Arc::new(generate::<T>(SchemaSettings::draft2020_12()))
}

/// Output schema of a tool returning `T`: the serialize contract (what the server writes),
/// without the root's `title` and `description`, as MCP output schemas go.
pub fn output<T: JsonSchema>() -> Arc<JsonObject> {
    let mut schema = generate::<T>(SchemaSettings::draft2020_12().for_serialize());
    schema.remove("title");
    schema.remove("description");
    Arc::new(schema)
}

/// Generates the schema with the numeric formats dropped as it is built. Generating the
/// schemas of every tool is most of the server's start-up; doing it here (instead of through
/// rmcp's helpers, then cleaning a copy) spares two deep copies of each.
fn generate<T: JsonSchema>(settings: SchemaSettings) -> JsonObject {
    let generator = settings
        .with_transform(RecursiveTransform(drop_numeric_format))
        .into_generator();
    match generator.into_root_schema_for::<T>().to_value() {
        Value::Object(object) => object,
        // `true`/`false` schemas: the object form of the same.
        Value::Bool(true) => JsonObject::new(),
        _ => {
            let mut never = JsonObject::new();
            never.insert("not".into(), Value::Object(JsonObject::new()));
            never
        }
    }
}

/// Removes a non-standard numeric `format` (schemars adds `uint64`, `int32`, `double` …).
fn drop_numeric_format(schema: &mut Schema) {
    if let Some(obj) = schema.as_object_mut() {
        strip(obj);
    }
}

/// Removes non-standard numeric `format`s everywhere in the schema.
pub fn clean(mut schema: JsonObject) -> JsonObject {
    walk_object(&mut schema);
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
}

fn walk_object(obj: &mut JsonObject) {
    strip(obj);
    for v in obj.values_mut() {
        walk(v);
    }
}

fn walk(v: &mut Value) {
    match v {
        Value::Object(o) => walk_object(o),
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

    #[test]
    fn generated_schemas_have_no_numeric_formats_even_in_definitions() {
        let out = serde_json::to_string(&*output::<crate::runs::RunStatus>()).unwrap();
        assert!(out.contains("$defs") && out.contains("date-time"), "{out}");
        for f in ["uint", "int32", "int64", "double"] {
            assert!(!out.contains(&format!("\"format\":\"{f}")), "{f}: {out}");
        }
        let schema = output::<crate::runs::RunStatus>();
        assert!(!schema.contains_key("title") && !schema.contains_key("description"));
        assert_eq!(input::<crate::exec::spec::TaskRequest>()["type"], "object");
    }

    #[test]
    fn schemas_match_what_rmcp_would_generate_once_cleaned() {
        use rmcp::handler::server::common::schema_for_type;
        let ours = input::<crate::exec::spec::TaskRequest>();
        let theirs = clean((*schema_for_type::<crate::exec::spec::TaskRequest>()).clone());
        assert_eq!(*ours, theirs);
    }
}
