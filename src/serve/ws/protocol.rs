//! The wire format of the WebSocket surface: JSON-RPC 2.0 in text frames, the error codes, and
//! the parameters of each method — parsed here, with the error a client gets for each mistake,
//! so the session loop only dispatches.
//!
//! Error codes: the JSON-RPC ones (`-32700` unparsable, id null; `-32600` not a request,
//! with the id when it could be read; `-32601` unknown method, named; `-32602` bad params,
//! with what to send instead) and this surface's own, `-32001` … `-32005` ([`code`]).

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::types::task::TaskRequest;

/// The error codes this surface answers with.
pub mod code {
    /// Not JSON (the id is `null`: it could not be read).
    pub const PARSE_ERROR: i64 = -32700;
    /// JSON, but not a JSON-RPC 2.0 request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method (the message names it and the methods there are).
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The params are wrong (including a task the policy refuses, and the old `command`).
    pub const INVALID_PARAMS: i64 = -32602;
    /// The server failed (e.g. a status could not be serialized).
    pub const INTERNAL_ERROR: i64 = -32603;
    /// No execution with this id is known here (nor in the history).
    pub const UNKNOWN_EXECUTION: i64 = -32001;
    /// The execution has already finished: nothing to cancel, pause or resume.
    pub const ALREADY_FINISHED: i64 = -32002;
    /// The operation is not available for this execution (another process runs it).
    pub const NOT_AVAILABLE: i64 = -32003;
    /// The task was valid but could not be queued (its journal entry could not be written).
    pub const SUBMIT_FAILED: i64 = -32004;
    /// Too many submissions for this token; `data.retry_after_secs` says when to try again.
    pub const RATE_LIMITED: i64 = -32005;
}

/// The methods a client may call.
pub const METHODS: [&str; 6] = [
    "execute",
    "control",
    "attach",
    "status",
    "hook_status",
    "ping",
];

/// A JSON-RPC error to send back: the request's id (`null` when it could not be read), the
/// code, a message that says what to do, and optional data.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub id: Value,
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(id: Value, code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            id,
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> RpcError {
        self.data = Some(data);
        self
    }

    /// The error response as a JSON text.
    pub fn to_text(&self) -> String {
        let mut error = json!({"code": self.code, "message": self.message});
        if let (Some(data), Value::Object(map)) = (&self.data, &mut error) {
            map.insert("data".into(), data.clone());
        }
        json!({"jsonrpc": "2.0", "id": self.id, "error": error}).to_string()
    }
}

/// A successful response as a JSON text.
pub fn response(id: &Value, result: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string()
}

/// A notification as a JSON text.
pub fn notification(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
}

/// What a text frame held.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A call that wants an answer.
    Request {
        id: Value,
        method: String,
        params: Map<String, Value>,
    },
    /// A call without an id: no answer (errors in it are not reported either, as JSON-RPC
    /// says; the app-level `ping` notification is answered with a `pong` notification).
    Notification {
        method: String,
        params: Map<String, Value>,
    },
    /// A response from the client (to nothing: the server sends no requests); ignored.
    Response,
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<Incoming, RpcError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        RpcError::new(
            Value::Null,
            code::PARSE_ERROR,
            format!("not JSON ({e}); send one JSON-RPC 2.0 object per text frame"),
        )
    })?;
    let Value::Object(mut obj) = value else {
        return Err(RpcError::new(
            Value::Null,
            code::INVALID_REQUEST,
            "a message must be one JSON-RPC 2.0 object (batches are not supported)",
        ));
    };
    let id = match obj.remove("id") {
        None => None,
        Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => Some(id),
        Some(other) => {
            return Err(RpcError::new(
                Value::Null,
                code::INVALID_REQUEST,
                format!("`id` must be a string or a number, not {other}"),
            ));
        }
    };
    let reply_id = id.clone().unwrap_or(Value::Null);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(RpcError::new(
            reply_id,
            code::INVALID_REQUEST,
            "`jsonrpc` must be \"2.0\"",
        ));
    }
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        None if obj.contains_key("result") || obj.contains_key("error") => {
            return Ok(Incoming::Response);
        }
        None => {
            return Err(RpcError::new(
                reply_id,
                code::INVALID_REQUEST,
                "a request needs a `method` (a string)",
            ));
        }
        Some(other) => {
            return Err(RpcError::new(
                reply_id,
                code::INVALID_REQUEST,
                format!("`method` must be a string, not {other}"),
            ));
        }
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => {
            return Err(RpcError::new(
                reply_id,
                code::INVALID_PARAMS,
                format!("the params of `{method}` must be an object (named params)"),
            ));
        }
    };
    Ok(match id {
        Some(id) => Incoming::Request { id, method, params },
        None => Incoming::Notification { method, params },
    })
}

/// A params error of the request `id`.
fn bad(id: &Value, message: impl Into<String>) -> RpcError {
    RpcError::new(id.clone(), code::INVALID_PARAMS, message)
}

/// `execute`'s params: the task request and whether a dropped connection cancels it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteParams {
    pub request: TaskRequest,
    pub cancel_on_disconnect: bool,
}

/// Reads `execute`'s params: `task` and the `cc_execute` options (`TaskRequest`'s fields),
/// the predecessor's `timeout` (seconds) as an alias of `timeout_secs`, and
/// `cancel_on_disconnect`. The predecessor's `command` is refused with what to send instead.
pub fn execute_params(
    id: &Value,
    mut params: Map<String, Value>,
) -> Result<ExecuteParams, RpcError> {
    if params.contains_key("command") {
        return Err(bad(
            id,
            "`command` is not supported: cc-executor never runs shell commands. Send the work as \
             a prompt for Claude Code instead: {\"task\": \"<prompt>\"} (e.g. {\"task\": \"Run the \
             tests with pytest and fix what fails\", \"allowed_tools\": [\"Bash(pytest:*)\"]})",
        )
        .with_data(json!({"expected": {"task": "<prompt>"}})));
    }
    let cancel_on_disconnect = match params.remove("cancel_on_disconnect") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(other) => {
            return Err(bad(
                id,
                format!("`cancel_on_disconnect` must be true or false, not {other}"),
            ));
        }
    };
    if let Some(timeout) = params.remove("timeout") {
        if params.contains_key("timeout_secs") {
            return Err(bad(
                id,
                "give `timeout_secs` or its old name `timeout`, not both",
            ));
        }
        let secs = match &timeout {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| f.ceil() as i64)
            }),
            _ => None,
        };
        let Some(secs) = secs else {
            return Err(bad(
                id,
                format!("`timeout` must be a number of seconds, not {timeout}"),
            ));
        };
        params.insert("timeout_secs".into(), json!(secs));
    }
    if !params.contains_key("task") {
        return Err(bad(
            id,
            "`task` is required: the prompt for a fresh Claude Code process, e.g. {\"task\": \
             \"Summarise README.md in three bullet points\"}",
        ));
    }
    let request: TaskRequest = serde_json::from_value(Value::Object(params))
        .map_err(|e| bad(id, format!("invalid `execute` params: {e}")))?;
    Ok(ExecuteParams {
        request,
        cancel_on_disconnect,
    })
}

/// What `control` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlKind {
    Pause,
    Resume,
    Cancel,
}

impl ControlKind {
    /// The result's `status` and the notification's suffix (`process.<it>`).
    pub fn done(self) -> &'static str {
        match self {
            ControlKind::Pause => "paused",
            ControlKind::Resume => "resumed",
            ControlKind::Cancel => "canceled",
        }
    }
}

/// `control`'s params: `type` (`PAUSE`, `RESUME`, `CANCEL`, any case) and an optional
/// `execution_id`.
pub fn control_params(
    id: &Value,
    params: &Map<String, Value>,
) -> Result<(ControlKind, Option<Uuid>), RpcError> {
    let kind = match params.get("type").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("pause") => ControlKind::Pause,
        Some(t) if t.eq_ignore_ascii_case("resume") => ControlKind::Resume,
        Some(t) if t.eq_ignore_ascii_case("cancel") => ControlKind::Cancel,
        Some(t) => {
            return Err(bad(
                id,
                format!("`type` must be PAUSE, RESUME or CANCEL, not `{t}`"),
            ));
        }
        None => return Err(bad(id, "`type` (PAUSE, RESUME or CANCEL) is required")),
    };
    Ok((kind, optional_id(id, params)?))
}

/// The `execution_id` param, if given.
pub fn optional_id(id: &Value, params: &Map<String, Value>) -> Result<Option<Uuid>, RpcError> {
    match params.get("execution_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Uuid::parse_str(s.trim()).map(Some).map_err(|_| {
            bad(
                id,
                format!("`execution_id` `{s}` is not an execution id (a UUID from `execute`)"),
            )
        }),
        Some(other) => Err(bad(
            id,
            format!("`execution_id` must be a string (a UUID), not {other}"),
        )),
    }
}

/// The `execution_id` param, required.
pub fn required_id(id: &Value, params: &Map<String, Value>) -> Result<Uuid, RpcError> {
    optional_id(id, params)?.ok_or_else(|| bad(id, "`execution_id` is required"))
}

/// A non-negative integer param (`after_seq`, `limit`), `default` when absent.
pub fn count_param(
    id: &Value,
    params: &Map<String, Value>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, RpcError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().filter(|n| *n <= max).ok_or_else(|| {
            bad(
                id,
                format!("`{name}` must be an integer from 0 to {max}, not {v}"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn unparsable_and_malformed_messages_get_the_right_codes_and_ids() {
        let e = parse("{not json").unwrap_err();
        assert_eq!((e.code, e.id.clone()), (code::PARSE_ERROR, Value::Null));
        assert_eq!(parse("[1]").unwrap_err().code, code::INVALID_REQUEST);
        let e = parse(r#"{"jsonrpc":"2.0","id":7}"#).unwrap_err();
        assert_eq!((e.code, e.id), (code::INVALID_REQUEST, json!(7)));
        let e = parse(r#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#).unwrap_err();
        assert_eq!((e.code, e.id), (code::INVALID_REQUEST, json!("a")));
        let e = parse(r#"{"jsonrpc":"2.0","id":3,"method":"execute","params":[1]}"#).unwrap_err();
        assert_eq!((e.code, e.id), (code::INVALID_PARAMS, json!(3)));
        let e = parse(r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#).unwrap_err();
        assert_eq!((e.code, e.id), (code::INVALID_REQUEST, Value::Null));
        assert_eq!(
            parse(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#).unwrap(),
            Incoming::Response
        );
        assert!(matches!(
            parse(r#"{"jsonrpc":"2.0","method":"ping"}"#).unwrap(),
            Incoming::Notification { .. }
        ));
        let text = e_text();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["data"]["x"], 1);
    }

    fn e_text() -> String {
        RpcError::new(json!(1), code::RATE_LIMITED, "slow down")
            .with_data(json!({"x": 1}))
            .to_text()
    }

    #[test]
    fn execute_takes_a_task_the_old_timeout_and_refuses_command() {
        let id = json!(1);
        let p = execute_params(
            &id,
            params(json!({"task": "hi", "timeout": 2.5, "cancel_on_disconnect": true, "model": "sonnet"})),
        )
        .unwrap();
        assert_eq!(p.request.task, "hi");
        assert_eq!(p.request.timeout_secs, Some(3));
        assert_eq!(p.request.model.as_deref(), Some("sonnet"));
        assert!(p.cancel_on_disconnect);
        let e = execute_params(&id, params(json!({"command": "ls -la"}))).unwrap_err();
        assert_eq!(e.code, code::INVALID_PARAMS);
        assert!(
            e.message.contains("{\"task\": \"<prompt>\"}"),
            "{}",
            e.message
        );
        let e = execute_params(&id, params(json!({}))).unwrap_err();
        assert!(e.message.contains("`task` is required"));
        let e = execute_params(&id, params(json!({"task": "x", "bogus": 1}))).unwrap_err();
        assert!(e.message.contains("bogus"), "{}", e.message);
        let e = execute_params(
            &id,
            params(json!({"task": "x", "timeout": 1, "timeout_secs": 2})),
        )
        .unwrap_err();
        assert!(e.message.contains("not both"));
    }

    #[test]
    fn control_types_are_case_insensitive_and_ids_are_checked() {
        let id = json!(1);
        let (k, e) = control_params(&id, &params(json!({"type": "cancel"}))).unwrap();
        assert_eq!((k, e), (ControlKind::Cancel, None));
        let u = Uuid::new_v4();
        let (k, e) = control_params(
            &id,
            &params(json!({"type": "Pause", "execution_id": u.to_string()})),
        )
        .unwrap();
        assert_eq!((k, e), (ControlKind::Pause, Some(u)));
        assert!(control_params(&id, &params(json!({"type": "STOP"}))).is_err());
        assert!(
            control_params(&id, &params(json!({"type": "RESUME", "execution_id": "x"})))
                .unwrap_err()
                .message
                .contains("not an execution id")
        );
        assert_eq!(
            count_param(
                &id,
                &params(json!({"after_seq": 5})),
                "after_seq",
                0,
                u64::MAX
            )
            .unwrap(),
            5
        );
        assert!(count_param(&id, &params(json!({"after_seq": -1})), "after_seq", 0, 9).is_err());
    }
}
