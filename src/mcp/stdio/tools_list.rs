//! `tools/list` answered by the reader straight from the pre-serialized tool list: every host
//! asks for it right after the handshake, and going through rmcp meant parsing the checked-in
//! JSON into `Tool` structs and serializing them back — the largest part of the cold start
//! after the process itself.
//!
//! Only the plain case is answered here: a session that did the `initialize` handshake with a
//! protocol version before 2026-07-28 (whose `tools/list` result is exactly `{"tools": [...]}`)
//! and has sent `notifications/initialized` (so the client has read the `initialize` answer
//! and the two answers cannot cross), and a request without a cursor or `_meta`. Everything
//! else — the 2026-07-28 lifecycle with its per-request metadata and cache hints, a second
//! `initialize`, a page cursor — goes to rmcp as before, which answers from the same list.

use std::sync::atomic::{AtomicU8, Ordering};

use rmcp::RoleServer;
use rmcp::model::{ClientNotification, ClientRequest, JsonRpcMessage, ProtocolVersion, RequestId};
use rmcp::service::RxJsonRpcMessage;

/// No `initialize` yet.
const WAITING: u8 = 0;
/// A plain `initialize` was read; waiting for `notifications/initialized`.
const INITIALIZING: u8 = 1;
/// Plain `tools/list` requests are answered here.
const READY: u8 = 2;
/// This session is left entirely to rmcp.
const OFF: u8 = 3;

/// Protocol versions whose `tools/list` result has no fields but `tools`.
const PLAIN: [ProtocolVersion; 2] = [ProtocolVersion::V_2025_06_18, ProtocolVersion::V_2025_11_25];

/// The fast path of one connection.
pub(super) struct ToolsList {
    /// The tool array as JSON (`None`: never answer here).
    tools: Option<&'static str>,
    state: AtomicU8,
}

impl ToolsList {
    pub(super) fn new(tools: Option<&'static str>) -> Self {
        ToolsList {
            tools,
            state: AtomicU8::new(WAITING),
        }
    }

    /// Follows the session's lifecycle through `message` (read in order) and returns the whole
    /// answer when `message` is a `tools/list` request answered here.
    pub(super) fn answer(&self, message: &RxJsonRpcMessage<RoleServer>) -> Option<Vec<u8>> {
        let tools = self.tools?;
        match message {
            JsonRpcMessage::Request(r) => match &r.request {
                ClientRequest::InitializeRequest(init) => {
                    let plain = PLAIN.contains(&init.params.protocol_version);
                    let first = self.state.load(Ordering::Relaxed) == WAITING;
                    let next = if plain && first { INITIALIZING } else { OFF };
                    self.state.store(next, Ordering::Relaxed);
                    None
                }
                ClientRequest::ListToolsRequest(list)
                    if self.state.load(Ordering::Relaxed) == READY
                        && list
                            .params
                            .as_ref()
                            .is_none_or(|p| p.cursor.is_none() && p.meta.is_none()) =>
                {
                    Some(reply(&r.id, tools))
                }
                _ => None,
            },
            JsonRpcMessage::Notification(n)
                if matches!(
                    n.notification,
                    ClientNotification::InitializedNotification(_)
                ) =>
            {
                let _ = self.state.compare_exchange(
                    INITIALIZING,
                    READY,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
                None
            }
            _ => None,
        }
    }
}

/// `{"jsonrpc":"2.0","id":…,"result":{"tools":[…]}}`, the tool array copied as it is.
pub(super) fn reply(id: &RequestId, tools: &str) -> Vec<u8> {
    let id = serde_json::to_vec(id).unwrap_or_else(|_| b"null".to_vec());
    let tools = tools.trim_end().as_bytes();
    let mut out = Vec::with_capacity(tools.len() + id.len() + 48);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(&id);
    out.extend_from_slice(br#","result":{"tools":"#);
    out.extend_from_slice(tools);
    out.extend_from_slice(b"}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn message(v: Value) -> RxJsonRpcMessage<RoleServer> {
        serde_json::from_value(v).unwrap()
    }

    fn initialize(version: &str) -> RxJsonRpcMessage<RoleServer> {
        message(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}}),
        )
    }

    fn initialized() -> RxJsonRpcMessage<RoleServer> {
        message(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    }

    fn list(params: Option<Value>) -> RxJsonRpcMessage<RoleServer> {
        let mut m = json!({"jsonrpc": "2.0", "id": "a", "method": "tools/list"});
        if let Some(p) = params {
            m["params"] = p;
        }
        message(m)
    }

    #[test]
    fn the_reply_is_what_rmcp_would_send_for_a_plain_session() {
        let tools = crate::mcp::surface::TOOLS_JSON;
        let ours: Value = serde_json::from_slice(&reply(&RequestId::Number(7), tools)).unwrap();
        let mut listed =
            rmcp::model::ServerResult::ListToolsResult(crate::mcp::surface::list(false).unwrap());
        // What rmcp does to every result for a peer before 2026-07-28.
        listed.strip_result_type_for_legacy_peer();
        let theirs = serde_json::to_value(rmcp::model::ServerJsonRpcMessage::response(
            listed,
            RequestId::Number(7),
        ))
        .unwrap();
        assert!(ours == theirs, "the fast reply differs from rmcp's");
    }

    #[test]
    fn only_a_plain_initialized_session_is_answered_here() {
        let fast = ToolsList::new(Some("[]"));
        assert!(fast.answer(&list(None)).is_none(), "before initialize");
        assert!(fast.answer(&initialize("2025-06-18")).is_none());
        assert!(fast.answer(&list(None)).is_none(), "before initialized");
        assert!(fast.answer(&initialized()).is_none());
        let r: Value = serde_json::from_slice(&fast.answer(&list(None)).unwrap()).unwrap();
        assert_eq!(
            r,
            json!({"jsonrpc": "2.0", "id": "a", "result": {"tools": []}})
        );
        assert!(fast.answer(&list(Some(json!({})))).is_some());
        assert!(fast.answer(&list(Some(json!({"cursor": "x"})))).is_none());
        // A second initialize leaves the session to rmcp.
        assert!(fast.answer(&initialize("2025-06-18")).is_none());
        assert!(fast.answer(&list(None)).is_none());

        let later = ToolsList::new(Some("[]"));
        later.answer(&initialize("2026-07-28"));
        later.answer(&initialized());
        assert!(
            later.answer(&list(None)).is_none(),
            "2026-07-28 goes to rmcp"
        );
        let off = ToolsList::new(None);
        off.answer(&initialize("2025-06-18"));
        off.answer(&initialized());
        assert!(off.answer(&list(None)).is_none());
    }
}
