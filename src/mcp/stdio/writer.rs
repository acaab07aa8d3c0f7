//! The writer thread: every message goes out through one thread, serialized straight into
//! stdout (no second copy of a big answer as a string), in the order it was handed over, and
//! each answer written takes its request off the pending set so a shutdown stops waiting for
//! it. Once a write fails, stdout is treated as closed and later sends fail fast.

use std::io::{self, BufWriter, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::RoleServer;
use rmcp::model::JsonRpcMessage;
use rmcp::service::TxJsonRpcMessage;
use tokio::sync::oneshot;

use super::control::Pending;

/// What the writer thread writes.
pub(super) enum Out {
    Message(Box<TxJsonRpcMessage<RoleServer>>),
    /// An error reply built by the reader (`id` may be `null`, which rmcp's type cannot say).
    Raw(Vec<u8>),
}

/// One message and, when the sender waits for it, where to report the write's outcome.
pub(super) struct Job {
    out: Out,
    ack: Option<oneshot::Sender<io::Result<()>>>,
}

/// The sending half: hands messages to the writer thread in call order.
#[derive(Clone)]
pub(super) struct Writer {
    pub(super) tx: std::sync::mpsc::Sender<Job>,
    pub(super) broken: Arc<AtomicBool>,
}

impl Writer {
    /// Starts the thread writing to `out`.
    pub(super) fn spawn(
        out: Box<dyn Write + Send>,
        pending: Arc<Pending>,
    ) -> io::Result<(Writer, Finished)> {
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

    /// Queues `out`; the receiver gets the outcome once it is written.
    pub(super) fn send(&self, out: Out) -> oneshot::Receiver<io::Result<()>> {
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

    /// Queues an error reply of the reader's, without waiting for the outcome.
    pub(super) fn send_raw(&self, bytes: Vec<u8>) {
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
pub(super) struct Finished(pub(super) oneshot::Receiver<()>);
