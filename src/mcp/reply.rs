//! Tool results: structured content (what the output schema describes) plus one text block
//! written for people and models. The structured content is not repeated as JSON text: a
//! result carries its data once (a 200 MB answer must not go out three times).

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

/// `value` as structured content, `text` as the one text block; `is_error` for "the tool ran
/// but what it did failed".
pub fn structured(value: Value, text: String, is_error: bool) -> CallToolResult {
    let mut out = if is_error {
        CallToolResult::error(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(text)])
    };
    out.structured_content = Some(value);
    out
}
