//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout, written for this server
//! instead of rmcp's generic one for three reasons.
//!
//! - **Arrival order.** Requests are read by one task, in order, and each `tools/call` that
//!   will queue a task is stamped with its place in the executor's FIFO line *as it is read*
//!   (see [`super::arrival`]). rmcp then runs handlers concurrently; whichever validates
//!   first, they start in the order the client wrote them.
//! - **Every line gets an answer.** What cannot be parsed gets `-32700` (id `null`), a message
//!   of the wrong shape `-32600`, a known method with bad params `-32602` — with the request's
//!   id whenever one can be read — and the server keeps serving. rmcp's transport drops
//!   unparsable lines and over-long lines silently, and answers shape errors without the id.
//! - **Bounded memory for big answers.** Messages are serialized straight into stdout by one
//!   writer thread (no second copy of a 200 MB answer as a string), in the order `send` was
//!   called, and every request still unanswered is tracked so a shutdown can wait until each
//!   one read has been answered.

use std::collections::HashSet;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{ClientNotification, ClientRequest, JsonRpcMessage, RequestId};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::claude::framing::{Frame, LineFramer};

/// Largest message accepted on stdin. A task prompt is far below it; bigger lines are
/// answered with an error instead of being buffered.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Called for every request as it is read, in arrival order (before any handler runs).
pub type Stamp = Box<dyn Fn(&mut ClientRequest) + Send + Sync>;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;

/// Requests read and not yet answered.
#[derive(Default)]
struct Pending {
    ids: Mutex<HashSet<RequestId>>,
    changed: Notify,
}

impl Pending {
    fn ids(&self) -> std::sync::MutexGuard<'_, HashSet<RequestId>> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, id: RequestId) {
        self.ids().insert(id);
    }

    fn remove(&self, id: &RequestId) {
        if self.ids().remove(id) {
            self.changed.notify_waiters();
        }
    }

    fn count(&self) -> usize {
        self.ids().len()
    }
}

/// What the writer thread writes.
enum Out {
    Message(Box<TxJsonRpcMessage<RoleServer>>),
    /// An error reply built by the reader (`id` may be `null`, which rmcp's type cannot say).
    Raw(Vec<u8>),
}

struct Job {
    out: Out,
    ack: Option<oneshot::Sender<io::Result<()>>>,
}

/// The sending half: hands messages to the writer thread in call order.
#[derive(Clone)]
struct Writer {
    tx: std::sync::mpsc::Sender<Job>,
    broken: Arc<AtomicBool>,
}

impl Writer {
    fn spawn(out: Box<dyn Write + Send>, pending: Arc<Pending>) -> io::Result<(Writer, Finished)> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let broken = Arc::new(AtomicBool::new(false));
        let (done_tx, done_rx) = oneshot::channel();
        let flag = broken.clone();
        std::thread::Builder::new()
            .name("mcp-stdout".into())
            .spawn(move || {
                let mut w = BufWriter::with_capacity(64 * 1024, out);
                for job in rx {
                    let answered = match &job.out {
                        Out::Message(m) => match m.as_ref() {
                            JsonRpcMessage::Response(r) => Some(r.id.clone()),
                            JsonRpcMessage::Error(e) => e.id.clone(),
                            _ => None,
                        },
                        Out::Raw(_) => None,
                    };
                    let r = if flag.load(Ordering::Relaxed) {
                        Err(io::Error::new(
                            io::ErrorKind::BrokenPipe,
                            "stdout is closed",
                        ))
                    } else {
                        write_one(&mut w, &job.out)
                    };
                    if let Err(e) = &r {
                        tracing::warn!("cannot write to stdout: {e}");
                        flag.store(true, Ordering::Relaxed);
                    }
                    // Answered (or never answerable): a shutdown need not wait for it.
                    if let Some(id) = answered {
                        pending.remove(&id);
                    }
                    if let Some(ack) = job.ack {
                        let _ = ack.send(r);
                    }
                }
                let _ = w.flush();
                let _ = done_tx.send(());
            })?;
        Ok((Writer { tx, broken }, Finished(done_rx)))
    }

    fn send(&self, out: Out) -> oneshot::Receiver<io::Result<()>> {
        let (ack, rx) = oneshot::channel();
        if self
            .tx
            .send(Job {
                out,
                ack: Some(ack),
            })
            .is_err()
        {
            self.broken.store(true, Ordering::Relaxed);
        }
        rx
    }

    fn send_raw(&self, bytes: Vec<u8>) {
        let _ = self.tx.send(Job {
            out: Out::Raw(bytes),
            ack: None,
        });
    }
}

fn write_one(w: &mut impl Write, out: &Out) -> io::Result<()> {
    match out {
        Out::Message(m) => serde_json::to_writer(&mut *w, m.as_ref()).map_err(io::Error::from)?,
        Out::Raw(bytes) => w.write_all(bytes)?,
    }
    w.write_all(b"\n")?;
    w.flush()
}

/// Resolves when the writer thread has written everything and exited.
struct Finished(oneshot::Receiver<()>);

/// The transport rmcp serves on.
pub struct StdioTransport {
    rx: mpsc::Receiver<RxJsonRpcMessage<RoleServer>>,
    writer: Writer,
}

/// The server's handle on the transport: end of input, shutdown, draining.
pub struct Control {
    eof: CancellationToken,
    stop_reading: CancellationToken,
    input_closed: CancellationToken,
    pending: Arc<Pending>,
    finished: Mutex<Option<Finished>>,
}

impl StdioTransport {
    /// Starts reading `input` (on a task) and writing to `output` (on a thread).
    pub fn start(
        input: impl AsyncRead + Unpin + Send + 'static,
        output: Box<dyn Write + Send>,
        max_message_bytes: usize,
        stamp: Stamp,
    ) -> io::Result<(StdioTransport, Control)> {
        let pending = Arc::new(Pending::default());
        let (writer, finished) = Writer::spawn(output, pending.clone())?;
        let (tx, rx) = mpsc::channel(64);
        let eof = CancellationToken::new();
        let stop_reading = CancellationToken::new();
        let input_closed = CancellationToken::new();
        let reader = Reader {
            limit: max_message_bytes,
            tx,
            writer: writer.clone(),
            stamp,
            pending: pending.clone(),
        };
        let (closed, at_eof, stop) = (input_closed.clone(), eof.clone(), stop_reading.clone());
        tokio::spawn(async move {
            let _closed = closed.drop_guard();
            reader.run(input, at_eof, stop).await;
        });
        Ok((
            StdioTransport { rx, writer },
            Control {
                eof,
                stop_reading,
                input_closed,
                pending,
                finished: Mutex::new(Some(finished)),
            },
        ))
    }
}

impl Transport<RoleServer> for StdioTransport {
    type Error = io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        // Queued now, so messages go out in the order `send` was called.
        let ack = self.writer.send(Out::Message(Box::new(item)));
        async move {
            ack.await.unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the stdout writer has stopped",
                ))
            })
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        // Cancel-safe: rmcp polls this inside a `select!`; a message is never half-read here.
        self.rx.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.rx.close();
        Ok(())
    }
}

impl Control {
    /// Cancelled when the client closes stdin.
    pub fn eof(&self) -> CancellationToken {
        self.eof.clone()
    }

    /// Cancelled once the reader has stopped, whatever the reason (end of input, a read
    /// error, [`Control::stop_reading`], the service gone): rmcp then delivers no more
    /// notifications, so nothing should wait for them.
    pub fn input_closed(&self) -> CancellationToken {
        self.input_closed.clone()
    }

    /// Stops reading: rmcp sees the input end, answers what it has read, and finishes.
    pub fn stop_reading(&self) {
        self.stop_reading.cancel();
    }

    /// Requests read and not yet answered.
    pub fn unanswered(&self) -> usize {
        self.pending.count()
    }

    /// Waits (at most `max`) until every request read so far has been answered.
    pub async fn answered(&self, max: Duration) -> bool {
        let wait = async {
            loop {
                let changed = self.pending.changed.notified();
                if self.pending.count() == 0 {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(max, wait).await.is_ok()
    }

    /// Waits (at most `max`) until everything sent has reached stdout. Call it after the
    /// service has finished (the transport, and so the last sender, is gone).
    pub async fn flushed(&self, max: Duration) {
        let finished = self
            .finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(Finished(rx)) = finished {
            let _ = tokio::time::timeout(max, rx).await;
        }
    }
}

struct Reader {
    limit: usize,
    tx: mpsc::Sender<RxJsonRpcMessage<RoleServer>>,
    writer: Writer,
    stamp: Stamp,
    pending: Arc<Pending>,
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
    async fn run(
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

/// A JSON-RPC id: a string or an integer.
fn request_id(v: &Value) -> Option<RequestId> {
    match v {
        Value::String(s) => Some(RequestId::String(s.as_str().into())),
        Value::Number(n) => n.as_i64().map(RequestId::Number),
        _ => None,
    }
}

/// `{"jsonrpc":"2.0","id":…,"error":{…}}`; the id is `null` when none could be read, as
/// JSON-RPC 2.0 requires for parse errors and invalid requests.
fn error_reply(id: Option<&RequestId>, code: i64, message: &str) -> Vec<u8> {
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
fn params_error(method: &str, params: Option<&Value>) -> String {
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
fn is_standard_method(method: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
