//! Typed, tolerant stream-json events.
//!
//! New CLI versions add message types and fields almost every release, so every field is
//! optional, unknown `type`s become [`Event::Unknown`], and unknown fields are ignored. A line
//! that is not JSON at all is a diagnostic, not an error of the run.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// One stdout line, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Event(Box<Event>),
    /// Not a JSON object (CLI warnings, stray prints); kept as a diagnostic.
    NotJson(String),
    /// A JSON object whose known fields had an unexpected shape.
    Malformed {
        kind: String,
        error: String,
    },
    Blank,
}

/// The events the executor cares about; everything else is [`Event::Unknown`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "system")]
    System(SystemEvent),
    #[serde(rename = "assistant")]
    Assistant(MessageEvent),
    #[serde(rename = "user")]
    User(MessageEvent),
    #[serde(rename = "result")]
    Result(ResultEvent),
    #[serde(rename = "rate_limit_event")]
    RateLimit(RateLimitEvent),
    #[serde(other)]
    Unknown,
}

/// `system` lines: `init`, `api_retry`, `permission_denied` and many we ignore.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SystemEvent {
    pub subtype: Option<String>,
    pub session_id: Option<String>,
    pub model: Option<String>,
    pub cwd: Option<String>,
    pub claude_code_version: Option<String>,
    #[serde(rename = "apiKeySource")]
    pub api_key_source: Option<String>,
    #[serde(rename = "permissionMode")]
    pub permission_mode: Option<String>,
    // api_retry
    pub attempt: Option<u32>,
    pub max_retries: Option<u32>,
    pub retry_delay_ms: Option<f64>,
    pub error_status: Option<u16>,
    pub error: Option<Value>,
    // permission_denied
    pub tool_name: Option<String>,
    pub tool_use_id: Option<String>,
    pub message: Option<Value>,
}

/// `assistant` and `user` lines share a shape: a message with content blocks.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct MessageEvent {
    pub message: Option<Message>,
    /// Non-null for a sub-agent's line.
    pub parent_tool_use_id: Option<String>,
    pub session_id: Option<String>,
    /// `authentication_failed|billing_error|rate_limit|invalid_request|server_error|unknown`.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Message {
    pub id: Option<String>,
    /// `<synthetic>` marks text the CLI made itself (e.g. API error text).
    pub model: Option<String>,
    #[serde(deserialize_with = "content_blocks")]
    pub content: Vec<Block>,
}

/// Content blocks. A user line's content can be a bare string, which carries no blocks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum Block {
    #[serde(rename = "text")]
    Text {
        #[serde(default)]
        text: String,
    },
    #[serde(rename = "tool_use")]
    ToolUse {
        #[serde(default)]
        id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        input: Value,
    },
    #[serde(rename = "tool_result")]
    ToolResult {
        #[serde(default)]
        tool_use_id: String,
        #[serde(default)]
        is_error: Option<bool>,
        #[serde(default)]
        content: Value,
    },
    #[serde(other)]
    Other,
}

fn content_blocks<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Block>, D::Error> {
    // Tolerance: a string (or anything not a list) is text, and a block we cannot read is
    // skipped rather than failing the whole line.
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap_or(Block::Other))
            .collect(),
        Value::String(text) => vec![Block::Text { text }],
        _ => Vec::new(),
    })
}

/// The last line of a run (absent when the process was killed).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ResultEvent {
    pub subtype: Option<String>,
    pub is_error: Option<bool>,
    pub result: Option<String>,
    pub errors: Vec<Value>,
    pub terminal_reason: Option<String>,
    pub api_error_status: Option<u16>,
    pub stop_reason: Option<String>,
    pub session_id: Option<String>,
    pub num_turns: Option<u32>,
    pub duration_ms: Option<u64>,
    pub duration_api_ms: Option<u64>,
    pub total_cost_usd: Option<f64>,
    pub usage: Option<Value>,
    #[serde(rename = "modelUsage")]
    pub model_usage: Option<BTreeMap<String, Value>>,
    pub permission_denials: Vec<Value>,
    pub structured_output: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RateLimitEvent {
    pub rate_limit_info: Option<RateLimitInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RateLimitInfo {
    /// `allowed | allowed_warning | rejected`.
    pub status: Option<String>,
    #[serde(rename = "resetsAt")]
    pub resets_at: Option<i64>,
    #[serde(rename = "rateLimitType")]
    pub rate_limit_type: Option<String>,
}

/// Parses one stdout line. Never fails: every line becomes something the caller can report.
pub fn parse_line(line: &[u8]) -> Line {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return Line::Blank;
    }
    if trimmed[0] != b'{' {
        return Line::NotJson(truncate_lossy(trimmed, 300));
    }
    match serde_json::from_slice::<Event>(trimmed) {
        Ok(event) => Line::Event(Box::new(event)),
        Err(error) => {
            // Tell "not JSON" from "JSON of a shape we did not expect".
            match serde_json::from_slice::<Value>(trimmed) {
                Ok(v) => Line::Malformed {
                    kind: v
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("<no type>")
                        .to_string(),
                    error: error.to_string(),
                },
                Err(_) => Line::NotJson(truncate_lossy(trimmed, 300)),
            }
        }
    }
}

fn truncate_lossy(bytes: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned();
    if bytes.len() > max {
        format!("{s}… ({} bytes)", bytes.len())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        match parse_line(json.as_bytes()) {
            Line::Event(e) => *e,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn init_line_fields() {
        let e = event(
            r#"{"type":"system","subtype":"init","session_id":"s1","model":"m","apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.331","tools":["Write"],"new_field":{"x":1}}"#,
        );
        let Event::System(s) = e else { panic!() };
        assert_eq!(s.subtype.as_deref(), Some("init"));
        assert_eq!(s.session_id.as_deref(), Some("s1"));
        assert_eq!(s.api_key_source.as_deref(), Some("ANTHROPIC_API_KEY"));
        assert_eq!(s.claude_code_version.as_deref(), Some("2.1.331"));
    }

    #[test]
    fn result_line_with_type_not_first() {
        let e = event(
            r#"{"subtype":"success","is_error":false,"result":"hi","num_turns":1,"total_cost_usd":0.01,"permission_denials":[],"type":"result"}"#,
        );
        let Event::Result(r) = e else { panic!() };
        assert_eq!(r.result.as_deref(), Some("hi"));
        assert_eq!(r.is_error, Some(false));
    }

    #[test]
    fn unknown_types_blocks_and_fields_are_tolerated() {
        assert_eq!(event(r#"{"type":"brand_new","x":1}"#), Event::Unknown);
        let e = event(
            r#"{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"…"},{"type":"tool_use","id":"t1","name":"Write","input":{"file_path":"/a"}},{"type":"text"}]}}"#,
        );
        let Event::Assistant(m) = e else { panic!() };
        let blocks = m.message.unwrap().content;
        assert_eq!(blocks[0], Block::Other);
        assert!(matches!(&blocks[1], Block::ToolUse { name, .. } if name == "Write"));
        assert_eq!(
            blocks[2],
            Block::Text {
                text: String::new()
            }
        );
    }

    #[test]
    fn user_content_may_be_a_plain_string() {
        let Event::User(m) =
            event(r#"{"type":"user","message":{"content":"[Request interrupted by user]"}}"#)
        else {
            panic!()
        };
        assert_eq!(
            m.message.unwrap().content,
            vec![Block::Text {
                text: "[Request interrupted by user]".into()
            }]
        );
    }

    #[test]
    fn noise_and_wrong_shapes_are_diagnostics() {
        assert_eq!(parse_line(b"  "), Line::Blank);
        assert!(matches!(parse_line(b"Warning: x"), Line::NotJson(s) if s == "Warning: x"));
        assert!(matches!(parse_line(b"{not json"), Line::NotJson(_)));
        assert!(matches!(
            parse_line(br#"{"type":"result","num_turns":"three"}"#),
            Line::Malformed { kind, .. } if kind == "result"
        ));
    }
}
