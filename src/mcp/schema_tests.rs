//! Unit tests of the schema pass (`schema.rs`).

use super::*;

fn obj(v: Value) -> JsonObject {
    match v {
        Value::Object(o) => o,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn numeric_formats_are_removed_at_any_depth_and_others_kept() {
    let schema = obj(json!({
        "type": "object",
        "properties": {
            "n": {"type": "integer", "format": "uint64", "minimum": 0},
            "when": {"type": "string", "format": "date-time"},
            "list": {"type": "array", "items": {"type": "integer", "format": "int32"}},
            "any": {"anyOf": [{"type": "number", "format": "double"}]}
        }
    }));
    let text = serde_json::to_string(&clean(schema)).unwrap();
    assert!(!text.contains("uint64") && !text.contains("int32") && !text.contains("double"));
    assert!(text.contains("date-time") && text.contains("minimum"));
}

#[test]
fn generated_schemas_have_no_numeric_formats_even_in_definitions() {
    let out = serde_json::to_string(&output::<crate::runs::RunStatus>()).unwrap();
    let inp = serde_json::to_string(&input::<crate::exec::spec::TaskRequest>()).unwrap();
    assert!(out.contains("$defs"), "{out}");
    assert!(inp.contains("\"minimum\""), "{inp}");
    for f in ["uint", "int32", "int64", "double"] {
        assert!(!out.contains(&format!("\"format\":\"{f}")), "{f}: {out}");
        assert!(!inp.contains(&format!("\"format\":\"{f}")), "{f}: {inp}");
    }
    let schema = output::<crate::runs::RunStatus>();
    assert!(!schema.contains_key("title") && !schema.contains_key("description"));
    assert_eq!(input::<crate::exec::spec::TaskRequest>()["type"], "object");
}

#[test]
fn optional_properties_lose_null_and_required_nullable_ones_become_any_of() {
    let mut s = obj(json!({
        "type": "object",
        "required": ["kept"],
        "properties": {
            "kept": {"type": ["integer", "null"], "minimum": 0, "description": "a"},
            "opt": {"type": ["string", "null"], "format": "date-time", "default": null},
            "opt_ref": {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}], "description": "b"},
            "opt_enum": {"type": ["string", "null"], "enum": ["a", "b", null]}
        },
        "$defs": {"X": {"type": "object", "properties": {"y": {"type": "string"}}}}
    }));
    finish(&mut s, Side::Input);
    assert_eq!(
        Value::Object(s),
        json!({
            "type": "object",
            "required": ["kept"],
            "properties": {
                "kept": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}],
                         "description": "a"},
                "opt": {"type": "string", "format": "date-time"},
                "opt_ref": {"type": "object", "properties": {"y": {"type": "string"}},
                            "description": "b"},
                "opt_enum": {"type": "string", "enum": ["a", "b"]}
            }
        })
    );
}

#[test]
fn documented_enums_become_plain_enums_and_outputs_lose_descriptions() {
    let mut s = obj(json!({
        "type": "object",
        "description": "root",
        "properties": {
            "status": {"$ref": "#/$defs/S"},
            "again": {"$ref": "#/$defs/S", "description": "same"}
        },
        "$defs": {"S": {"description": "A status", "oneOf": [
            {"type": "string", "const": "ok", "description": "fine"},
            {"type": "string", "enum": ["bad", "worse"]}
        ]}}
    }));
    finish(&mut s, Side::Output);
    assert_eq!(
        Value::Object(s),
        json!({
            "type": "object",
            "properties": {"status": {"$ref": "#/$defs/S"}, "again": {"$ref": "#/$defs/S"}},
            "$defs": {"S": {"type": "string", "enum": ["ok", "bad", "worse"]}}
        })
    );
}

#[test]
fn outputs_keep_shapes_not_value_ranges_or_formats_and_inputs_keep_both() {
    let node = json!({
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 0, "maximum": 9},
            "at": {"type": "string", "format": "date-time"},
            "format": {"type": "string"}
        },
        "required": ["n", "at", "format"]
    });
    let mut out = obj(node.clone());
    finish(&mut out, Side::Output);
    assert_eq!(
        Value::Object(out),
        json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer"},
                "at": {"type": "string"},
                "format": {"type": "string"}
            },
            "required": ["n", "at", "format"]
        })
    );
    let mut input = obj(node.clone());
    finish(&mut input, Side::Input);
    assert_eq!(Value::Object(input), node);
}

#[test]
fn an_untyped_value_becomes_any_non_null_value() {
    let mut s = obj(json!({"type": "object", "properties": {"v": {"description": "x"}}}));
    finish(&mut s, Side::Input);
    let v = &s["properties"]["v"];
    assert_eq!(v["description"], "x");
    assert_eq!(v["anyOf"].as_array().map(Vec::len), Some(5), "{v}");
    assert!(!v.to_string().contains("null"), "{v}");
}

#[test]
fn doc_comment_wrapping_is_undone_but_paragraphs_and_items_stay() {
    assert_eq!(
        unwrap_lines("One sentence that\nwraps.\n\nA list:\n- a\n- b\n  continued"),
        "One sentence that wraps.\n\nA list:\n- a\n- b continued"
    );
}

#[test]
fn the_output_root_is_an_object_even_for_an_untagged_enum() {
    let schema = output::<super::super::cc_execute::CcExecuteOutput>();
    assert_eq!(schema["type"], "object");
    assert!(schema["anyOf"].is_array(), "{schema:?}");
}
