//! The JSON-RPC pieces the reader answers with: error codes, error replies (whose id may be
//! `null`, which rmcp's message type cannot say), request ids, and the methods MCP defines —
//! a bad call of one of those is "invalid params", not "unknown method".

use rmcp::model::RequestId;
use serde_json::Value;

pub(super) const PARSE_ERROR: i64 = -32700;
pub(super) const INVALID_REQUEST: i64 = -32600;
pub(super) const INVALID_PARAMS: i64 = -32602;

/// A JSON-RPC id: a string or an integer.
pub(super) fn request_id(v: &Value) -> Option<RequestId> {
    match v {
        Value::String(s) => Some(RequestId::String(s.as_str().into())),
        Value::Number(n) => n.as_i64().map(RequestId::Number),
        _ => None,
    }
}

/// `{"jsonrpc":"2.0","id":…,"error":{…}}`; the id is `null` when none could be read, as
/// JSON-RPC 2.0 requires for parse errors and invalid requests.
pub(super) fn error_reply(id: Option<&RequestId>, code: i64, message: &str) -> Vec<u8> {
    let id = match id {
        Some(id) => serde_json::to_value(id).unwrap_or(Value::Null),
        None => Value::Null,
    };
    let reply = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    });
    serde_json::to_vec(&reply).unwrap_or_default()
}

/// Why `params` do not fit `method`, as precisely as the typed params can say.
pub(super) fn params_error(method: &str, params: Option<&Value>) -> String {
    use rmcp::model::{CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams};
    let Some(params) = params else {
        return "`params` is missing".into();
    };
    let typed = match method {
        "tools/call" => serde_json::from_value::<CallToolRequestParams>(params.clone()).err(),
        "resources/read" => {
            serde_json::from_value::<ReadResourceRequestParams>(params.clone()).err()
        }
        "prompts/get" => serde_json::from_value::<GetPromptRequestParams>(params.clone()).err(),
        _ => None,
    };
    match typed {
        Some(e) => e.to_string(),
        None => "they do not have the shape the method takes".into(),
    }
}

/// Requests and notifications MCP defines (any protocol version this server speaks).
pub(super) fn is_standard_method(method: &str) -> bool {
    matches!(
        method,
        "initialize"
            | "ping"
            | "server/discover"
            | "prompts/get"
            | "prompts/list"
            | "resources/list"
            | "resources/read"
            | "resources/subscribe"
            | "resources/unsubscribe"
            | "resources/templates/list"
            | "subscriptions/listen"
            | "tools/call"
            | "tools/list"
            | "completion/complete"
            | "logging/setLevel"
            | "tasks/get"
            | "tasks/list"
            | "tasks/result"
            | "tasks/cancel"
            | "tasks/update"
    )
}
