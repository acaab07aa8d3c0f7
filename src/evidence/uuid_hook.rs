//! The built-in UUID hook: a short instruction appended to the prompt asking Claude to include
//! the execution's UUID in its answer, and the check of whether it came back.
//!
//! An echoed UUID proves little on its own (the predecessor's mistake was to treat it as the
//! whole verification): it shows that *this* answer came from a model that read *this* prompt,
//! so an answer cannot be pasted from another run or made up without the run. Whether the work
//! was done is what the other checks of [`super::verify`] are for.

use serde::de::{MapAccess, Visitor};
use serde_json::Value;
use uuid::Uuid;

use super::UuidEcho;

/// The key a JSON answer should end with.
pub const JSON_KEY: &str = "execution_uuid";

/// The text appended to the prompt (after a blank line). With a JSON Schema (`structured`)
/// the UUID must stay out of the structured output — an extra key could fail the schema and
/// make the CLI retry or give up — so the model is asked to put it in its final message.
pub fn instruction(id: Uuid, structured: bool) -> String {
    if structured {
        format!(
            "\n\n---\nExecution id: {id}\nInclude this execution id verbatim in your final text \
             message (for example on a last line `EXECUTION_UUID: {id}`). Do not add it to the \
             structured output."
        )
    } else {
        format!(
            "\n\n---\nExecution id: {id}\nInclude this execution id verbatim in your final answer \
             (for example on a last line `EXECUTION_UUID: {id}`). If your final answer is a JSON \
             object, add the key \"{JSON_KEY}\": \"{id}\" as its last key instead."
        )
    }
}

/// The answer without the lines that only echo execution `id` (`EXECUTION_UUID: <id>`, any
/// case): what a task list passes on to a later task, which has its own id to echo.
pub fn strip_echo(text: &str, id: Uuid) -> String {
    let line = format!("execution_uuid: {id}");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            let t = l.trim().trim_matches('`').trim();
            !t.eq_ignore_ascii_case(&line)
        })
        .collect();
    kept.join("\n").trim_end().to_string()
}

/// Checks the final answer (text, and structured output when there is one).
pub fn check(id: Uuid, text: Option<&str>, structured: Option<&Value>) -> UuidEcho {
    let wanted = id.to_string();
    let text = text.unwrap_or("");
    let structured_echo = structured.is_some_and(|v| v.to_string().contains(&wanted));
    let echoed = contains_ignore_ascii_case(text.as_bytes(), wanted.as_bytes()) || structured_echo;
    let (json_mode, last_key) = match json_object_keys(text) {
        Some(keys) => (
            true,
            Some(
                keys.last()
                    .is_some_and(|(k, v)| k == JSON_KEY && v.as_deref() == Some(wanted.as_str())),
            ),
        ),
        // Structured output arrives parsed, and `serde_json` maps do not keep key order: JSON
        // mode, but where the key was cannot be told (`None`, not a guess).
        None => (matches!(structured, Some(Value::Object(_))), None),
    };
    UuidEcho {
        uuid: id,
        echoed,
        json_mode,
        last_key,
    }
}

/// Whether `needle` (non-empty) occurs in `hay`, ASCII case ignored — without a lowercased
/// copy of the answer, which may be hundreds of MB.
fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    memchr::memchr2_iter(lo, up, hay).any(|i| {
        hay.get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// The keys of a JSON object answer, in the order they were written (with string values), when
/// the whole answer — optionally inside a ```json fence — is one JSON object. Read with a
/// visitor rather than through `serde_json::Value`, whose maps do not keep the order.
fn json_object_keys(text: &str) -> Option<Vec<(String, Option<String>)>> {
    let t = text.trim();
    let t = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|s| s.strip_suffix("```"))
        .map(str::trim)
        .unwrap_or(t);
    if !t.starts_with('{') {
        return None;
    }
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<(String, Option<String>)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut keys = Vec::new();
            while let Some(k) = map.next_key::<String>()? {
                let v: StringOrOther = map.next_value()?;
                keys.push((k, v.0));
            }
            Ok(keys)
        }
    }
    struct StringOrOther(Option<String>);
    impl<'de> serde::Deserialize<'de> for StringOrOther {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let v = Value::deserialize(d)?;
            Ok(StringOrOther(v.as_str().map(str::to_string)))
        }
    }
    let mut de = serde_json::Deserializer::from_str(t);
    let keys = serde::Deserializer::deserialize_map(&mut de, Keys).ok()?;
    de.end().ok()?;
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_on_answer_loses_only_its_own_echo_lines() {
        let id = Uuid::new_v4();
        let other = Uuid::new_v4();
        let text = format!(
            "Done.\nThe id {id} is mentioned here.\nEXECUTION_UUID: {other}\n`execution_uuid: {id}`\n"
        );
        let out = strip_echo(&text, id);
        assert_eq!(
            out,
            format!("Done.\nThe id {id} is mentioned here.\nEXECUTION_UUID: {other}")
        );
    }

    #[test]
    fn a_text_answer_with_the_uuid_is_echoed() {
        let id = Uuid::new_v4();
        let c = check(id, Some(&format!("Done.\nEXECUTION_UUID: {id}")), None);
        assert!(c.echoed && !c.json_mode && c.last_key.is_none());
        let c = check(id, Some("Done."), None);
        assert!(!c.echoed);
        let upper = id.to_string().to_uppercase();
        assert!(check(id, Some(&upper), None).echoed);
    }

    #[test]
    fn in_json_mode_the_uuid_must_be_the_last_key() {
        let id = Uuid::new_v4();
        let last = format!(r#"{{"z": 1, "a": "x", "{JSON_KEY}": "{id}"}}"#);
        let c = check(id, Some(&last), None);
        assert_eq!(
            (c.echoed, c.json_mode, c.last_key),
            (true, true, Some(true))
        );
        let first = format!("```json\n{{\"{JSON_KEY}\": \"{id}\", \"a\": 1}}\n```");
        let c = check(id, Some(&first), None);
        assert_eq!(
            (c.echoed, c.json_mode, c.last_key),
            (true, true, Some(false))
        );
        let c = check(id, Some("{not json"), None);
        assert!(!c.json_mode);
    }

    #[test]
    fn the_instruction_names_the_uuid_and_the_json_key() {
        let id = Uuid::new_v4();
        let i = instruction(id, false);
        assert!(i.contains(&id.to_string()) && i.contains(JSON_KEY));
        let s = instruction(id, true);
        assert!(
            s.contains(&id.to_string()) && s.contains("Do not add it to the structured output")
        );
    }
}
