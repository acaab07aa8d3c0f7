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

/// The events the executor cares about; everything else is [`Event::Unknown`]. Read by
/// [`parse_line`] (dispatching on `type`), not by a derived `Deserialize`: serde's internally
/// tagged enums buffer a whole line first, which for a 200 MB answer is one copy too many.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    System(SystemEvent),
    Assistant(MessageEvent),
    User(MessageEvent),
    Result(ResultEvent),
    RateLimit(RateLimitEvent),
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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageEvent {
    pub message: Option<Message>,
    /// Non-null for a sub-agent's line.
    pub parent_tool_use_id: Option<String>,
    pub session_id: Option<String>,
    /// `authentication_failed|billing_error|rate_limit|invalid_request|server_error|unknown`.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    pub id: Option<String>,
    /// `<synthetic>` marks text the CLI made itself (e.g. API error text).
    pub model: Option<String>,
    pub content: Vec<Block>,
}

/// Content blocks. A user line's content can be a bare string, which carries no blocks.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// A tool's result; its content (possibly a whole file) is not kept: only whether it
    /// failed matters here.
    ToolResult {
        tool_use_id: String,
        is_error: Option<bool>,
    },
    Other,
}

/// The last line of a run (absent when the process was killed).
#[derive(Debug, Clone, Default, PartialEq)]
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
    match wire::event(trimmed) {
        Ok(event) => Line::Event(Box::new(event)),
        Err(error) => {
            // Tell "not JSON" from "JSON of a shape we did not expect".
            match wire::kind(trimmed) {
                Ok(kind) => Line::Malformed {
                    kind: kind.unwrap_or_else(|| "<no type>".into()),
                    error: error.to_string(),
                },
                Err(_) => Line::NotJson(truncate_lossy(trimmed, 300)),
            }
        }
    }
}

/// The lines as they are on the wire, read without copying their big strings: texts and the
/// answer are borrowed as raw JSON from the line and unescaped once into their final `String`
/// ([`unescape`]). serde_json itself would unescape into a scratch buffer and copy from there,
/// so a 200 MB answer would briefly exist three times (line, scratch, string).
mod wire {
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde::de::Error as _;
    use serde_json::Value;
    use serde_json::value::RawValue;

    use super::{Block, Event, Message, MessageEvent, ResultEvent};
    use crate::claude::unescape;

    #[derive(Deserialize)]
    struct Tag<'a> {
        #[serde(rename = "type", borrow, default)]
        kind: Option<Cow<'a, str>>,
    }

    /// The line's `type`, `None` when it has none; `Err` when it is not JSON.
    pub fn kind(line: &[u8]) -> serde_json::Result<Option<String>> {
        let tag: Tag<'_> = serde_json::from_slice(line)?;
        Ok(tag.kind.map(Cow::into_owned))
    }

    pub fn event(line: &[u8]) -> serde_json::Result<Event> {
        let tag: Tag<'_> = serde_json::from_slice(line)?;
        Ok(match tag.kind.as_deref() {
            None => return Err(serde_json::Error::missing_field("type")),
            Some("system") => Event::System(serde_json::from_slice(line)?),
            Some("assistant") => Event::Assistant(message(line)?),
            Some("user") => Event::User(message(line)?),
            Some("result") => Event::Result(result(line)?),
            Some("rate_limit_event") => Event::RateLimit(serde_json::from_slice(line)?),
            Some(_) => Event::Unknown,
        })
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct WireMessageEvent<'a> {
        #[serde(borrow)]
        message: Option<WireMessage<'a>>,
        parent_tool_use_id: Option<String>,
        session_id: Option<String>,
        error: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct WireMessage<'a> {
        id: Option<String>,
        model: Option<String>,
        #[serde(borrow)]
        content: Option<&'a RawValue>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct WireBlock<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<Cow<'a, str>>,
        #[serde(borrow)]
        text: Option<&'a RawValue>,
        id: Option<String>,
        name: Option<String>,
        #[serde(borrow)]
        input: Option<&'a RawValue>,
        tool_use_id: Option<String>,
        is_error: Option<bool>,
    }

    fn message(line: &[u8]) -> serde_json::Result<MessageEvent> {
        let w: WireMessageEvent<'_> = serde_json::from_slice(line)?;
        let message = match w.message {
            Some(m) => Some(Message {
                id: m.id,
                model: m.model,
                content: m.content.map(blocks).unwrap_or_default(),
            }),
            None => None,
        };
        Ok(MessageEvent {
            message,
            parent_tool_use_id: w.parent_tool_use_id,
            session_id: w.session_id,
            error: w.error,
        })
    }

    /// Tolerance: a string (or anything not a list) is text, and a block that cannot be read
    /// is [`Block::Other`] rather than a failure of the whole line.
    fn blocks(raw: &RawValue) -> Vec<Block> {
        let text = raw.get();
        if text.starts_with('"') {
            return vec![Block::Text {
                text: unescape::json_string(raw).unwrap_or_default(),
            }];
        }
        if !text.starts_with('[') {
            return Vec::new();
        }
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(text) else {
            return Vec::new();
        };
        items.into_iter().map(block).collect()
    }

    fn block(raw: &RawValue) -> Block {
        let Ok(b) = serde_json::from_str::<WireBlock<'_>>(raw.get()) else {
            return Block::Other;
        };
        match b.kind.as_deref() {
            Some("text") => match b.text {
                None => Block::Text {
                    text: String::new(),
                },
                Some(t) => match unescape::json_string(t) {
                    Some(text) => Block::Text { text },
                    None if t.get() == "null" => Block::Text {
                        text: String::new(),
                    },
                    None => Block::Other,
                },
            },
            Some("tool_use") => Block::ToolUse {
                id: b.id.unwrap_or_default(),
                name: b.name.unwrap_or_default(),
                input: match b.input {
                    Some(i) => serde_json::from_str(i.get()).unwrap_or(Value::Null),
                    None => Value::Null,
                },
            },
            Some("tool_result") => Block::ToolResult {
                tool_use_id: b.tool_use_id.unwrap_or_default(),
                is_error: b.is_error,
            },
            _ => Block::Other,
        }
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct WireResult<'a> {
        subtype: Option<String>,
        is_error: Option<bool>,
        #[serde(borrow)]
        result: Option<&'a RawValue>,
        errors: Vec<Value>,
        terminal_reason: Option<String>,
        api_error_status: Option<u16>,
        stop_reason: Option<String>,
        session_id: Option<String>,
        num_turns: Option<u32>,
        duration_ms: Option<u64>,
        duration_api_ms: Option<u64>,
        total_cost_usd: Option<f64>,
        usage: Option<Value>,
        #[serde(rename = "modelUsage")]
        model_usage: Option<BTreeMap<String, Value>>,
        permission_denials: Vec<Value>,
        #[serde(borrow)]
        structured_output: Option<&'a RawValue>,
    }

    fn result(line: &[u8]) -> serde_json::Result<ResultEvent> {
        let w: WireResult<'_> = serde_json::from_slice(line)?;
        let result = match w.result {
            None => None,
            Some(r) if r.get() == "null" => None,
            Some(r) => Some(unescape::json_string(r).ok_or_else(|| {
                serde_json::Error::custom("`result` is neither a string nor null")
            })?),
        };
        let structured_output = match w.structured_output {
            None => None,
            Some(r) if r.get() == "null" => None,
            Some(r) => Some(serde_json::from_str(r.get())?),
        };
        Ok(ResultEvent {
            subtype: w.subtype,
            is_error: w.is_error,
            result,
            errors: w.errors,
            terminal_reason: w.terminal_reason,
            api_error_status: w.api_error_status,
            stop_reason: w.stop_reason,
            session_id: w.session_id,
            num_turns: w.num_turns,
            duration_ms: w.duration_ms,
            duration_api_ms: w.duration_api_ms,
            total_cost_usd: w.total_cost_usd,
            usage: w.usage,
            model_usage: w.model_usage,
            permission_denials: w.permission_denials,
            structured_output,
        })
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
