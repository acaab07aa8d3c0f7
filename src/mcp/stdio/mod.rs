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
//!
//! - **A cheap tool list.** A plain `tools/list` is answered by the reader from the
//!   pre-serialized list: nothing is parsed or serialized again (see `tools_list`).
//!
//! In the code: `reader` reads, frames, decodes and stamps; `jsonrpc` builds the error answers;
//! `tools_list` answers plain tool-list requests; `writer` is the stdout thread; `control`
//! tracks unanswered requests and drives shutdown.
//! This module wires them together into the [`Transport`] rmcp serves on.

mod control;
mod jsonrpc;
mod reader;
mod tools_list;
mod writer;

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use rmcp::RoleServer;
use rmcp::model::ClientRequest;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::io::AsyncRead;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use control::Control;
use control::Pending;
use reader::Reader;
use writer::{Out, Writer};

/// Largest message accepted on stdin. A task prompt is far below it; bigger lines are
/// answered with an error instead of being buffered.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Called for every request as it is read, in arrival order (before any handler runs).
pub type Stamp = Box<dyn Fn(&mut ClientRequest) + Send + Sync>;

/// The transport rmcp serves on.
pub struct StdioTransport {
    rx: mpsc::Receiver<RxJsonRpcMessage<RoleServer>>,
    writer: Writer,
}

impl StdioTransport {
    /// Starts reading `input` (on a task) and writing to `output` (on a thread). `tools_json`:
    /// the served tool array as JSON, for answering plain `tools/list` requests without rmcp
    /// (see `tools_list`); `None` leaves them all to rmcp.
    pub fn start(
        input: impl AsyncRead + Unpin + Send + 'static,
        output: Box<dyn Write + Send>,
        max_message_bytes: usize,
        stamp: Stamp,
        tools_json: Option<&'static str>,
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
            tools_list: tools_list::ToolsList::new(tools_json),
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
