//! `$defs` in a generated schema: a definition used once is inlined, one used more than once
//! stays and is referenced, and "any JSON value" repeated in one schema becomes a definition
//! of its own (see the module docs of `schema`).

use rmcp::model::JsonObject;
use serde_json::Value;

/// Inlines every `$defs` entry referenced exactly once, drops unreferenced ones, and the
/// `$defs` object itself when it ends up empty.
pub(super) fn inline_single_use(root: &mut JsonObject) {
    loop {
        let Some(Value::Object(defs)) = root.get("$defs") else {
            return;
        };
        let mut counts: std::collections::BTreeMap<String, usize> =
            defs.keys().map(|k| (k.clone(), 0)).collect();
        count_refs(&Value::Object(root.clone()), &mut counts);
        let unused: Vec<String> = counts
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(k, _)| k.clone())
            .collect();
        let once: Option<String> = counts
            .iter()
            .find(|(name, n)| {
                **n == 1
                    && defs.get(name.as_str()).is_some_and(|d| {
                        let mut own = std::collections::BTreeMap::from([((*name).clone(), 0)]);
                        count_refs(d, &mut own);
                        own[name.as_str()] == 0
                    })
            })
            .map(|(k, _)| k.clone());
        let Some(Value::Object(defs)) = root.get_mut("$defs") else {
            return;
        };
        for name in &unused {
            defs.remove(name);
        }
        let Some(name) = once else {
            if defs.is_empty() {
                root.remove("$defs");
            }
            return;
        };
        let Some(Value::Object(def)) = defs.remove(&name) else {
            return;
        };
        let target = format!("#/$defs/{name}");
        replace_ref(root, &target, &def);
    }
}

fn count_refs(v: &Value, counts: &mut std::collections::BTreeMap<String, usize>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
                && let Some(n) = counts.get_mut(name)
            {
                *n += 1;
            }
            o.values().for_each(|v| count_refs(v, counts));
        }
        Value::Array(a) => a.iter().for_each(|v| count_refs(v, counts)),
        _ => {}
    }
}

/// Replaces the node `{"$ref": target, …}` with `def`, the node's other keys (its own
/// description) taking precedence.
fn replace_ref(node: &mut JsonObject, target: &str, def: &JsonObject) -> bool {
    if node.get("$ref").and_then(Value::as_str) == Some(target) {
        node.remove("$ref");
        for (k, v) in def {
            node.entry(k.clone()).or_insert_with(|| v.clone());
        }
        return true;
    }
    for v in node.values_mut() {
        if replace_in(v, target, def) {
            return true;
        }
    }
    false
}

fn replace_in(v: &mut Value, target: &str, def: &JsonObject) -> bool {
    match v {
        Value::Object(o) => replace_ref(o, target, def),
        Value::Array(a) => a.iter_mut().any(|v| replace_in(v, target, def)),
        _ => false,
    }
}

/// The `$defs` entry that [`share_any_value`] refers to.
const ANY_VALUE_DEF: &str = "json";

/// When "any JSON value" occurs more than once in a schema, defines it once in `$defs` and
/// refers to it (a result has several free-form fields; each copy is ~100 bytes).
pub(super) fn share_any_value(root: &mut JsonObject) {
    let any = super::any_value_branches();
    let mut count = 0;
    count_any(&Value::Object(root.clone()), &any, &mut count);
    if count < 2 {
        return;
    }
    let target = format!("#/$defs/{ANY_VALUE_DEF}");
    for v in root.values_mut() {
        refer_any(v, &any, &target);
    }
    let mut def = JsonObject::new();
    def.insert("anyOf".into(), any);
    if let Value::Object(defs) = root
        .entry("$defs")
        .or_insert_with(|| Value::Object(JsonObject::new()))
    {
        defs.insert(ANY_VALUE_DEF.into(), Value::Object(def));
    }
}

fn count_any(v: &Value, any: &Value, count: &mut usize) {
    match v {
        Value::Object(o) => {
            if o.get("anyOf") == Some(any) {
                *count += 1;
            }
            o.values().for_each(|v| count_any(v, any, count));
        }
        Value::Array(a) => a.iter().for_each(|v| count_any(v, any, count)),
        _ => {}
    }
}

fn refer_any(v: &mut Value, any: &Value, target: &str) {
    match v {
        Value::Object(o) => {
            if o.get("anyOf") == Some(any) {
                o.remove("anyOf");
                o.insert("$ref".into(), Value::String(target.into()));
            }
            o.values_mut().for_each(|v| refer_any(v, any, target));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| refer_any(v, any, target)),
        _ => {}
    }
}
