//! Conversation helpers for `Script::respond` closures.

use super::*;

// ---------------------------------------------------------------------------------------------
// Conversation helpers for `Script::respond` closures.

/// The request's system prompt (a string, or its blocks' text joined by "\n").
pub fn system_text(body: &Value) -> String {
    match body.get("system") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Is this a sub-agent's request (`Agent`/`Task` tool)? 2.1.331 marks them with
/// `cc_is_subagent=true` in the first system block (the billing header). They are main
/// requests for [`Script`] purposes: they consume scripted replies.
pub fn is_subagent_request(body: &Value) -> bool {
    system_text(body).contains("cc_is_subagent=true")
}

/// Text of a message's `content` (a string, or the `text` of its text blocks, joined by "\n").
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| match b["type"].as_str() {
                Some("text") => b["text"].as_str().map(str::to_string),
                Some("tool_result") => Some(content_text(&b["content"])),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Text of the last `user` message of a request (includes the CLI's `<system-reminder>` blocks
/// and tool results' text).
pub fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default()
}

/// All text of all messages of a request (to search the prompt for a marker).
pub fn all_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| content_text(&m["content"]))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// A `tool_result` block found in a request.
#[derive(Clone, Debug)]
pub struct ToolResult {
    pub tool_use_id: String,
    pub content: String,
    pub is_error: bool,
}

/// Every `tool_result` block in the request's messages, in order.
pub fn tool_results(body: &Value) -> Vec<ToolResult> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| ToolResult {
            tool_use_id: b["tool_use_id"].as_str().unwrap_or_default().to_string(),
            content: content_text(&b["content"]),
            is_error: b["is_error"].as_bool().unwrap_or(false),
        })
        .collect()
}
