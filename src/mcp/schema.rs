//! JSON Schemas of the tool surface: generated from the Rust types with schemars, then made
//! portable and compact for MCP hosts and the models behind them.
//!
//! What schemars writes is legal JSON Schema but costs hosts and models: a `title` naming a
//! Rust type on every object, a long description on every enum value, `uint64`-style formats
//! (not JSON Schema formats: Claude Code's validator warns about each one on every call),
//! nullable fields as type arrays (`["string", "null"]`, which clients that map schemas onto a
//! single-`type` dialect reject) and `{}` for "any JSON". [`input`] and [`output`] keep the
//! contract and drop the rest:
//!
//! - **Optional, not nullable.** Every tool output leaves out what is not known (the output
//!   types skip `None` when serialising), and an input field may be left out; so a property
//!   that is not `required` loses its `null` alternative. A `required` one that can be null
//!   (none today) would be written as `anyOf` of single types.
//! - **Enums as `enum`.** A closed set of strings is `{"type": "string", "enum": [...]}`; the
//!   per-value docs are left to the field's description (inputs) or to the README (outputs).
//!   Output schemas write descriptive labels and diagnostic codes as plain strings (see
//!   `LABELS`).
//! - **`required` where it says what every answer carries.** Output schemas keep it at their
//!   root (and at the root of each alternative) only.
//! - **Descriptions only where a model reads them.** Input properties keep theirs (with the
//!   source's line wrapping undone); output schemas, which clients use to check results, carry
//!   none.
//! - **Every schema says what it accepts.** "Any JSON value" (the CLI's `usage`, a tool's
//!   input, a `json_schema` answer) is `anyOf` of the five non-null types.
//! - **Shared, not repeated.** A definition used once is inlined; one used more than once
//!   stays in `$defs` and is referenced (`$ref` within the same tool's schema), and so does
//!   "any JSON value" when it occurs more than once.
//! - **Results as MCP answers carry them.** The execution record's evidence and diagnostics
//!   are left out of the schema as they are left out of the answers (see
//!   [`super::result_view`]).
//!
//! The served schemas are not generated at start-up: they are the checked-in
//! `src/mcp/tools.json` (see [`super::surface`]), which a test keeps equal to what this module
//! generates.

use rmcp::model::JsonObject;
use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

/// Which contract a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// What a caller may send (the deserialize contract); descriptions kept for the model.
    Input,
    /// What the server writes (the serialize contract); no descriptions.
    Output,
}

/// Input schema of a tool whose parameters are `T`.
pub fn input<T: JsonSchema>() -> JsonObject {
    let mut schema = generate::<T>(SchemaSettings::draft2020_12());
    finish(&mut schema, Side::Input);
    schema
}

/// Output schema of a tool returning `T`: an object at the root, as MCP requires.
pub fn output<T: JsonSchema>() -> JsonObject {
    output_of::<T>(None)
}

/// [`output`] as tool `tool` answers it: without the fields its answers leave out (see
/// [`super::trim`]).
pub fn output_of<T: JsonSchema>(tool: Option<&str>) -> JsonObject {
    let mut schema = generate::<T>(SchemaSettings::draft2020_12().for_serialize());
    super::result_view::strip_schema(&mut schema);
    if let Some(tool) = tool {
        super::trim::trim_schema(tool, &mut schema);
    }
    labels_as_strings(&mut schema, tool);
    finish(&mut schema, Side::Output);
    required_at_the_root_only(&mut schema);
    if !schema.contains_key("type") {
        // An untagged enum of objects (e.g. a result or a handle): say so at the root.
        let mut rooted = JsonObject::new();
        rooted.insert("type".into(), "object".into());
        rooted.append(&mut schema);
        schema = rooted;
    }
    schema
}

/// Closed sets that output schemas write as plain strings: descriptive labels (a task's
/// category and complexity, where a prediction comes from) and diagnostic codes that always
/// come with a `message` or `detail` saying the same in words. A caller acts on the message,
/// not the code; listing every value in every tool that reports one cost ~1.5 KB of the tool
/// list. Values a caller branches on — statuses, states, phases, verdicts, outcomes, methods,
/// risk levels — keep their `enum`.
const LABELS: [&str; 8] = [
    "CheckKind",
    "Category",
    "Complexity",
    "BasedOn",
    "SignalKind",
    "ErrorKind",
    "WarningKind",
    "PromptWarningKind",
];

/// Tools whose output writes an execution's status (and phase, and a run's state) as a plain
/// string: where it is not what the answer is about (`verify_execution`: the verdict;
/// `cancel_execution`: the outcome) or where the same tool's input already lists the values
/// (`get_execution_history`'s `status` filter). `cc_execute`, `monitor_execution` and
/// `cc_execute_list` keep the `enum`s.
const STATUS_AS_STRING: [&str; 3] = [
    "verify_execution",
    "cancel_execution",
    "get_execution_history",
];

/// Replaces the [`LABELS`] definitions (and, for the tools in [`STATUS_AS_STRING`], the
/// status) with `{"type": "string"}` (still exact: every value is a string).
fn labels_as_strings(root: &mut JsonObject, tool: Option<&str>) {
    let status = tool.is_some_and(|t| STATUS_AS_STRING.contains(&t));
    if let Some(Value::Object(defs)) = root.get_mut("$defs") {
        let states = ["Status", "Phase", "RunState"];
        for name in LABELS.iter().chain(states.iter().filter(|_| status)) {
            if let Some(def) = defs.get_mut(*name) {
                *def = json!({"type": "string"});
            }
        }
    }
}

/// Keeps `required` only where it says what every answer carries: at the root of an output
/// schema (and of each root alternative, e.g. a finished result or a handle). Below that an
/// object is described by its properties: which of them a nested object carries is the
/// types' business (and the README's), and repeating it cost ~2 KB of every tool list — the
/// room the acceptance checks needed. A looser nested contract never refuses a real answer.
fn required_at_the_root_only(root: &mut JsonObject) {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.remove("required");
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    for (key, v) in root.iter_mut() {
        match (key.as_str(), v) {
            ("required", _) => {}
            ("anyOf" | "oneOf", Value::Array(branches)) => {
                for b in branches {
                    if let Value::Object(b) = b {
                        for (k, v) in b.iter_mut() {
                            if k != "required" {
                                strip(v);
                            }
                        }
                    }
                }
            }
            (_, v) => strip(v),
        }
    }
}

/// The input schema of a tool that takes no arguments.
pub fn no_input() -> JsonObject {
    let mut schema = JsonObject::new();
    schema.insert("type".into(), "object".into());
    schema.insert("properties".into(), Value::Object(Map::new()));
    schema.insert("additionalProperties".into(), false.into());
    schema
}

/// Generates the schema with the numeric formats dropped as it is built.
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
        strip_numeric_format(obj);
    }
}

/// Removes non-standard numeric `format`s everywhere in the schema.
pub fn clean(mut schema: JsonObject) -> JsonObject {
    walk_formats(&mut schema);
    schema
}

fn strip_numeric_format(obj: &mut JsonObject) {
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

fn walk_formats(obj: &mut JsonObject) {
    strip_numeric_format(obj);
    for v in obj.values_mut() {
        match v {
            Value::Object(o) => walk_formats(o),
            Value::Array(a) => a.iter_mut().for_each(|v| {
                if let Value::Object(o) = v {
                    walk_formats(o)
                }
            }),
            _ => {}
        }
    }
}

/// Keywords that hold one subschema.
const ONE_SUBSCHEMA: [&str; 7] = [
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
];
/// Keywords that hold a list of subschemas.
const SUBSCHEMA_LISTS: [&str; 4] = ["anyOf", "oneOf", "allOf", "prefixItems"];
/// Keywords that hold a map of named subschemas.
const SUBSCHEMA_MAPS: [&str; 3] = ["properties", "patternProperties", "$defs"];
/// Keywords that only annotate: a schema with nothing else accepts anything.
const ANNOTATIONS: [&str; 7] = [
    "description",
    "title",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Keywords an output schema leaves out (see [`tidy`]).
const OUTPUT_ONLY_NOISE: [&str; 6] = [
    "description",
    "default",
    "examples",
    "minimum",
    "maximum",
    "format",
];

/// The whole pass over a generated schema (see the module docs).
fn finish(root: &mut JsonObject, side: Side) {
    for key in ["$schema", "title", "description"] {
        root.remove(key);
    }
    tidy(root, side, false);
    inline_single_use(root);
    share_any_value(root);
}

/// Tidies one schema object and everything below it. `property`: the schema of an object's
/// property (in inputs, the one place a description is kept: a type's own doc comment speaks
/// to Rust readers, and the property that uses it says what the model needs).
fn tidy(node: &mut JsonObject, side: Side, property: bool) {
    node.remove("title");
    if side == Side::Output {
        // An output schema tells a client the shape it receives; descriptions, value ranges
        // and string formats of values this server produces are bytes every session pays
        // for and no client needs.
        for key in OUTPUT_ONLY_NOISE {
            node.remove(key);
        }
    } else {
        if !property {
            node.remove("description");
        }
        if node.get("default").is_some_and(Value::is_null) {
            node.remove("default");
        }
        if let Some(Value::String(d)) = node.get_mut("description") {
            *d = unwrap_lines(d);
        }
    }
    // A property that may be left out is never null (see the module docs).
    let required: Vec<String> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(props)) = node.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            if !required.contains(name)
                && let Value::Object(p) = prop
            {
                drop_null(p);
            }
        }
    }
    split_type_union(node);
    enum_of_consts(node);
    for key in ONE_SUBSCHEMA {
        if let Some(Value::Object(sub)) = node.get_mut(key) {
            tidy(sub, side, false);
        }
    }
    for key in SUBSCHEMA_LISTS {
        if let Some(Value::Array(list)) = node.get_mut(key) {
            for sub in list.iter_mut() {
                if let Value::Object(sub) = sub {
                    tidy(sub, side, false);
                }
            }
        }
    }
    for key in SUBSCHEMA_MAPS {
        if let Some(Value::Object(map)) = node.get_mut(key) {
            for sub in map.values_mut() {
                if let Value::Object(sub) = sub {
                    tidy(sub, side, key == "properties");
                }
            }
        }
    }
    if !constrains(node) {
        any_value(node);
    }
}

/// Removes the `null` alternative of a schema: from a type array, an `enum`, an `anyOf`/`oneOf`
/// (a lone remaining branch is merged into the node), and a `null` default.
fn drop_null(node: &mut JsonObject) {
    if node.get("default").is_some_and(Value::is_null) {
        node.remove("default");
    }
    if let Some(Value::Array(types)) = node.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let single = types.remove(0);
            node.insert("type".into(), single);
        }
    }
    if let Some(Value::Array(values)) = node.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = node.get_mut(key) else {
            continue;
        };
        branches.retain(|b| b.get("type").is_none_or(|t| t != "null"));
        if branches.len() == 1
            && let Some(Value::Object(branch)) = branches.pop()
        {
            node.remove(key);
            for (k, v) in branch {
                // The node's own annotations (its description) win over the branch's.
                node.entry(k).or_insert(v);
            }
        }
    }
}

/// `"type": ["string", "null"]` → `"anyOf": [{"type": "string"}, {"type": "null"}]`, with the
/// type's own keywords in its branch and the annotations left on the node.
fn split_type_union(node: &mut JsonObject) {
    let Some(Value::Array(types)) = node.get("type") else {
        return;
    };
    let types = types.clone();
    node.remove("type");
    let keywords: Vec<String> = node
        .keys()
        .filter(|k| !ANNOTATIONS.contains(&k.as_str()))
        .cloned()
        .collect();
    let mut constraints = JsonObject::new();
    for k in keywords {
        if let Some(v) = node.remove(&k) {
            constraints.insert(k, v);
        }
    }
    let branches: Vec<Value> = types
        .into_iter()
        .map(|t| {
            let mut branch = JsonObject::new();
            if t != "null" {
                for (k, v) in &constraints {
                    if type_keyword_applies(k, &t) {
                        let mut v = v.clone();
                        if k == "enum"
                            && let Value::Array(values) = &mut v
                        {
                            values.retain(|x| !x.is_null());
                        }
                        branch.insert(k.clone(), v);
                    }
                }
            }
            branch.insert("type".into(), t);
            Value::Object(branch)
        })
        .collect();
    node.insert("anyOf".into(), Value::Array(branches));
}

/// Whether keyword `k` constrains values of JSON type `t` (so belongs in that type's branch).
fn type_keyword_applies(k: &str, t: &Value) -> bool {
    let t = t.as_str().unwrap_or("");
    match k {
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf" => {
            t == "integer" || t == "number"
        }
        "minLength" | "maxLength" | "pattern" | "format" => t == "string",
        "items" | "prefixItems" | "minItems" | "maxItems" | "uniqueItems" => t == "array",
        "properties"
        | "required"
        | "additionalProperties"
        | "patternProperties"
        | "propertyNames"
        | "minProperties"
        | "maxProperties" => t == "object",
        _ => true,
    }
}

/// `oneOf`/`anyOf` whose branches are all string constants (schemars writes documented enum
/// values this way) → `{"type": "string", "enum": [...]}`.
fn enum_of_consts(node: &mut JsonObject) {
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(branches)) = node.get(key) else {
            continue;
        };
        let mut values = Vec::new();
        for b in branches {
            let Some(b) = b.as_object() else { return };
            if b.keys().any(|k| {
                !ANNOTATIONS.contains(&k.as_str())
                    && !matches!(k.as_str(), "type" | "const" | "enum")
            }) || b.get("type").is_some_and(|t| t != "string")
            {
                return;
            }
            match (b.get("const"), b.get("enum")) {
                (Some(Value::String(c)), None) => values.push(Value::String(c.clone())),
                (None, Some(Value::Array(e))) if e.iter().all(Value::is_string) => {
                    values.extend(e.iter().cloned())
                }
                _ => return,
            }
        }
        node.remove(key);
        node.insert("type".into(), "string".into());
        node.insert("enum".into(), Value::Array(values));
        return;
    }
}

/// Whether a schema object constrains the value at all (an annotation-only object accepts
/// anything, which hosts cannot map onto a type).
fn constrains(node: &JsonObject) -> bool {
    node.keys().any(|k| !ANNOTATIONS.contains(&k.as_str()))
}

/// "Any JSON value but null" in portable terms: one type per branch.
pub(super) fn any_value_branches() -> Value {
    json!([
        {"type": "object"},
        {"type": "array"},
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"}
    ])
}

/// Makes an annotation-only schema say "any JSON value but null" in portable terms.
fn any_value(node: &mut JsonObject) {
    node.insert("anyOf".into(), any_value_branches());
}

/// Undoes the line wrapping of doc comments: single newlines become spaces; paragraph breaks
/// and list items stay.
pub(crate) fn unwrap_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim_end();
        if i > 0 {
            let prev_blank = lines[i - 1].trim().is_empty();
            let item = line.trim_start().starts_with("- ");
            if line.is_empty() || prev_blank || item {
                out.push('\n');
            } else {
                out.push(' ');
            }
        }
        out.push_str(if out.ends_with(' ') {
            line.trim_start()
        } else {
            line
        });
    }
    out
}

#[path = "schema_defs.rs"]
mod defs;
use defs::{inline_single_use, share_any_value};

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
