//! The reader task: reads stdin in order, frames it into lines (over-long ones are answered,
//! not buffered), and turns each line into a message for rmcp or an error answer with the
//! request's id when one can be read. Each request is stamped (its place in the executor's
//! line) and marked pending as it is read — before any handler runs.

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::model::{ClientNotification, ClientRequest, JsonRpcMessage};
use rmcp::service::RxJsonRpcMessage;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Stamp;
use super::control::Pending;
use super::jsonrpc::{
    INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, error_reply, is_standard_method, params_error,
    request_id,
};
use super::tools_list::ToolsList;
use super::writer::Writer;
use crate::claude::framing::{Frame, LineFramer};

/// The reading side of the transport (one per connection, run on its own task).
pub(super) struct Reader {
    /// Largest line read (bytes); longer ones are answered with an error.
    pub(super) limit: usize,
    /// To rmcp's service loop.
    pub(super) tx: mpsc::Sender<RxJsonRpcMessage<RoleServer>>,
    /// For error answers, which never reach rmcp.
    pub(super) writer: Writer,
    pub(super) stamp: Stamp,
    pub(super) pending: Arc<Pending>,
    /// Plain `tools/list` requests, answered here from the pre-serialized list.
    pub(super) tools_list: ToolsList,
}

/// What one line turned into.
enum Decoded {
    Message(Box<RxJsonRpcMessage<RoleServer>>),
    /// An error reply for the client; nothing goes to rmcp.
    Reply(Vec<u8>),
    /// Blank lines, and notifications that cannot be answered (JSON-RPC never answers them).
    Skip,
}

impl Reader {
    /// Reads until the input ends or cannot be read (then cancels `eof`), `stop` is
    /// cancelled, or the service is gone.
    pub(super) async fn run(
        self,
        mut input: impl AsyncRead + Unpin,
        eof: CancellationToken,
        stop: CancellationToken,
    ) {
        let mut framer = LineFramer::new(self.limit);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = tokio::select! {
                r = input.read(&mut buf) => match r {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!("cannot read stdin: {e}");
                        0
                    }
                },
                _ = stop.cancelled() => return,
            };
            let mut decoded = Vec::new();
            {
                let mut emit = |frame: Frame<'_>| decoded.push(self.decode(frame));
                if n == 0 {
                    framer.finish(&mut emit);
                } else {
                    framer.push(&buf[..n], &mut emit);
                }
            }
            for d in decoded {
                match d {
                    Decoded::Message(m) => {
                        if self.tx.send(*m).await.is_err() {
                            return; // the service has stopped
                        }
                    }
                    Decoded::Reply(bytes) => self.writer.send_raw(bytes),
                    Decoded::Skip => {}
                }
            }
            if n == 0 {
                eof.cancel();
                return;
            }
        }
    }

    fn decode(&self, frame: Frame<'_>) -> Decoded {
        let line = match frame {
            Frame::Line(line) => line,
            Frame::Oversize { len } => {
                return Decoded::Reply(error_reply(
                    None,
                    INVALID_REQUEST,
                    &format!(
                        "Invalid Request: the message is {len} bytes, over the limit of {} bytes; it was not read",
                        self.limit
                    ),
                ));
            }
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Decoded::Skip;
        }
        let value: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(e) => {
                return Decoded::Reply(error_reply(
                    None,
                    PARSE_ERROR,
                    &format!("Parse error: {e}"),
                ));
            }
        };
        let obj = match &value {
            Value::Object(obj) => obj,
            Value::Array(_) => {
                return Decoded::Reply(error_reply(
                    None,
                    INVALID_REQUEST,
                    "Invalid Request: MCP does not use JSON-RPC batches; send one message per line",
                ));
            }
            _ => {
                return Decoded::Reply(error_reply(
                    None,
                    INVALID_REQUEST,
                    "Invalid Request: a JSON-RPC message is an object",
                ));
            }
        };
        let id = obj.get("id").and_then(request_id);
        let method = obj.get("method").and_then(Value::as_str);
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            if id.is_none() && method.is_some() {
                return Decoded::Skip; // a notification: never answered
            }
            return Decoded::Reply(error_reply(
                id.as_ref(),
                INVALID_REQUEST,
                "Invalid Request: `jsonrpc` must be \"2.0\"",
            ));
        }
        match serde_json::from_value::<RxJsonRpcMessage<RoleServer>>(value.clone()) {
            Ok(mut message) => {
                if let Some(reply) = self.tools_list.answer(&message) {
                    return Decoded::Reply(reply);
                }
                if let JsonRpcMessage::Request(r) = &mut message {
                    if let ClientRequest::CustomRequest(c) = &r.request
                        && is_standard_method(&c.method)
                    {
                        // rmcp falls back to "custom" when params do not fit: that is a bad
                        // call of a method that exists, not an unknown method.
                        let why = params_error(&c.method, obj.get("params"));
                        return Decoded::Reply(error_reply(
                            Some(&r.id),
                            INVALID_PARAMS,
                            &format!("Invalid params for `{}`: {why}", c.method),
                        ));
                    }
                    (self.stamp)(&mut r.request);
                    self.pending.add(r.id.clone());
                }
                if let JsonRpcMessage::Notification(n) = &message
                    && let ClientNotification::CancelledNotification(c) = &n.notification
                    && let Some(request_id) = &c.params.request_id
                {
                    // A cancelled request is never answered (rmcp drops its response).
                    self.pending.remove(request_id);
                }
                Decoded::Message(Box::new(message))
            }
            Err(e) => match (id, method) {
                // A notification gets no answer, even a malformed one.
                (None, Some(_)) => {
                    tracing::debug!("ignoring a notification that does not parse: {e}");
                    Decoded::Skip
                }
                // A malformed response of the client's: answering it would be another error.
                (Some(_), None) if obj.contains_key("result") || obj.contains_key("error") => {
                    tracing::warn!("ignoring a response that does not parse: {e}");
                    Decoded::Skip
                }
                (Some(id), Some(m)) if is_standard_method(m) => Decoded::Reply(error_reply(
                    Some(&id),
                    INVALID_PARAMS,
                    &format!("Invalid params for `{m}`: {e}"),
                )),
                (id, _) => Decoded::Reply(error_reply(
                    id.as_ref(),
                    INVALID_REQUEST,
                    &format!("Invalid Request: {e}"),
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::writer::Job;
    use super::*;
    use rmcp::model::RequestId;

    fn reader() -> (Reader, std::sync::mpsc::Receiver<Job>) {
        let (tx, _rx) = mpsc::channel(4);
        let (wtx, wrx) = std::sync::mpsc::channel();
        let r = Reader {
            limit: 1024,
            tx,
            writer: Writer {
                tx: wtx,
                broken: Arc::default(),
            },
            stamp: Box::new(|_| {}),
            pending: Arc::default(),
            tools_list: ToolsList::new(None),
        };
        (r, wrx)
    }

    fn reply(d: Decoded) -> Value {
        match d {
            Decoded::Reply(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Decoded::Message(m) => panic!("expected an error reply, got {m:?}"),
            Decoded::Skip => panic!("expected an error reply, got nothing"),
        }
    }

    fn line(s: &[u8]) -> Frame<'_> {
        Frame::Line(s)
    }

    #[test]
    fn what_cannot_be_parsed_is_a_parse_error_with_a_null_id() {
        let (r, _w) = reader();
        for bad in [
            &b"{not json"[..],
            b"\xff\xfe garbage",
            br#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"s":"\ud800"}}"#,
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/li"#,
        ] {
            let v = reply(r.decode(line(bad)));
            assert_eq!(v["error"]["code"], -32700, "{v}");
            assert_eq!(v["id"], Value::Null);
        }
    }

    #[test]
    fn a_bad_call_of_a_known_method_is_invalid_params_with_its_id() {
        let (r, _w) = reader();
        for bad in [
            &br#"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#[..],
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"x","arguments":[]}}"#,
        ] {
            let v = reply(r.decode(line(bad)));
            assert_eq!(v["error"]["code"], -32602, "{v}");
            assert_eq!(v["id"], 3);
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("tools/call")
            );
        }
    }

    #[test]
    fn a_malformed_request_keeps_its_id() {
        let (r, _w) = reader();
        let v = reply(r.decode(line(br#"{"id":"abc","method":"tools/list"}"#)));
        assert_eq!(v["error"]["code"], -32600, "{v}");
        assert_eq!(v["id"], "abc");
        let v = reply(r.decode(line(br#"{"jsonrpc":"2.0","id":9}"#)));
        assert_eq!(v["error"]["code"], -32600, "{v}");
        assert_eq!(v["id"], 9);
        let v = reply(r.decode(line(b"[1,2]")));
        assert_eq!(v["error"]["code"], -32600);
        assert_eq!(v["id"], Value::Null);
    }

    #[test]
    fn an_oversize_line_is_answered_not_dropped() {
        let (r, _w) = reader();
        let v = reply(r.decode(Frame::Oversize { len: 5000 }));
        assert_eq!(v["error"]["code"], -32600);
        assert!(v["error"]["message"].as_str().unwrap().contains("5000"));
    }

    #[test]
    fn notifications_and_blank_lines_get_no_answer() {
        let (r, _w) = reader();
        assert!(matches!(r.decode(line(b"   ")), Decoded::Skip));
        assert!(matches!(
            r.decode(line(
                br#"{"jsonrpc":"2.0","method":"notifications/bogus","params":5}"#
            )),
            Decoded::Skip
        ));
    }

    #[test]
    fn a_good_request_goes_to_the_service_and_is_tracked_until_answered() {
        let (r, _w) = reader();
        let d = r.decode(line(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
        ));
        assert!(matches!(d, Decoded::Message(_)));
        assert_eq!(r.pending.count(), 1);
        r.pending.remove(&RequestId::Number(1));
        assert_eq!(r.pending.count(), 0);
    }
}
