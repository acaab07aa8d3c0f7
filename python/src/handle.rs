//! A running call seen from Python: its progress events, then its result (or its error), in
//! order, through one channel; and the switch that cancels it.
//!
//! The work runs on the shared runtime; the Python side only waits for the next item. The
//! sync API waits in short slices with the GIL released and checks for signals between them
//! (so Ctrl-C interrupts within a slice). The asyncio API takes items without waiting and is
//! woken through a socket its event loop watches (`Handle.wake_fd()`): the runtime's threads
//! write a byte there and never touch Python — a thread that took the GIL to wake the loop
//! could be caught by the interpreter's exit and abort the process. Either way the callback
//! runs in the caller's thread or event loop, in the order the events happened.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pyo3::prelude::*;
use tokio::sync::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::errors::BindError;
use crate::runtime::runtime;

/// One thing the work tells its caller, as JSON text (Python parses it with `json.loads`, the
/// cheapest way to hand over a nested value across the boundary).
#[derive(Debug)]
pub enum Item {
    Event(String),
    Done(String),
    Failed(BindError),
}

/// The two ends of a call's wake-up socket, made when an event loop asks for it.
struct Wake {
    /// The loop watches this end.
    reader: UnixStream,
    /// The work writes a byte here after each item.
    writer: UnixStream,
}

impl Wake {
    fn ring(&self) {
        // WouldBlock: the socket is full of unread bytes, so the loop is woken anyway.
        let _ = (&self.writer).write(&[1]);
    }
}

/// The sending half, held by the work (and cloned within it).
#[derive(Clone)]
pub struct Sender {
    // Declared before `closer`: when the last clone goes, the channel is closed first, then
    // the loop is woken to see it closed.
    tx: UnboundedSender<Item>,
    closer: Arc<Closer>,
}

/// Wakes the loop once the work has dropped every sender: a waiting loop then reads
/// "closed" instead of waiting for a byte that would never come.
struct Closer(Arc<OnceLock<Wake>>);

impl Drop for Closer {
    fn drop(&mut self) {
        if let Some(wake) = self.0.get() {
            wake.ring();
        }
    }
}

/// The caller is gone (it dropped its handle): nobody will read what is sent.
#[derive(Debug)]
pub struct Gone;

impl Sender {
    /// Queues an item, then wakes an event loop waiting for it (if one is).
    pub fn send(&self, item: Item) -> Result<(), Gone> {
        self.tx.send(item).map_err(|_| Gone)?;
        if let Some(wake) = self.closer.0.get() {
            wake.ring();
        }
        Ok(())
    }
}

/// A call in progress. Dropping it (e.g. the Python object is collected) cancels the work.
#[pyclass(module = "cc_executor._native", name = "Handle", frozen)]
pub struct Handle {
    rx: Arc<Mutex<UnboundedReceiver<Item>>>,
    wake: Arc<OnceLock<Wake>>,
    cancel: CancellationToken,
    _cancel_on_drop: DropGuard,
}

impl Handle {
    /// A handle, the sender for the work, and the token the work watches.
    pub fn new() -> (Handle, Sender, CancellationToken) {
        let (tx, rx) = unbounded_channel();
        let wake: Arc<OnceLock<Wake>> = Arc::new(OnceLock::new());
        let cancel = CancellationToken::new();
        let handle = Handle {
            rx: Arc::new(Mutex::new(rx)),
            wake: wake.clone(),
            cancel: cancel.clone(),
            _cancel_on_drop: cancel.clone().drop_guard(),
        };
        let closer = Arc::new(Closer(wake));
        (handle, Sender { tx, closer }, cancel)
    }
}

/// What `next` hands Python: `("event", json)`, `("done", json)`, or `("closed", "")` once
/// nothing more will come.
type Next = (&'static str, String);

fn to_next(item: Option<Item>) -> PyResult<Next> {
    match item {
        Some(Item::Event(s)) => Ok(("event", s)),
        Some(Item::Done(s)) => Ok(("done", s)),
        Some(Item::Failed(e)) => Err(e.into()),
        None => Ok(("closed", String::new())),
    }
}

#[pymethods]
impl Handle {
    /// The next item, waiting at most `timeout` seconds without the GIL; `None` when none
    /// came in time. With `check_signals`, a pending signal (Ctrl-C) raises here.
    #[pyo3(signature = (timeout, check_signals=true))]
    fn next(&self, py: Python<'_>, timeout: f64, check_signals: bool) -> PyResult<Option<Next>> {
        if check_signals {
            py.check_signals()?;
        }
        // Fast path: an item already there costs no thread switch.
        if let Ok(mut rx) = self.rx.try_lock() {
            match rx.try_recv() {
                Ok(item) => return to_next(Some(item)).map(Some),
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                    return to_next(None).map(Some);
                }
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {}
            }
        }
        // Any float is accepted (NaN waits not at all, infinities are clamped): no input may
        // panic here.
        let secs = if timeout.is_nan() {
            0.0
        } else {
            timeout.clamp(0.0, 3600.0)
        };
        if secs == 0.0 {
            // What the asyncio driver asks between wake-ups: nothing there yet.
            return Ok(None);
        }
        let wait = Duration::from_secs_f64(secs);
        let rt = runtime()?;
        let rx = self.rx.clone();
        let got = py.detach(|| {
            rt.block_on(async move {
                let mut rx = rx.lock().await;
                tokio::time::timeout(wait, rx.recv()).await
            })
        });
        match got {
            Ok(item) => to_next(item).map(Some),
            Err(_elapsed) => {
                if check_signals {
                    py.check_signals()?;
                }
                Ok(None)
            }
        }
    }

    /// A file descriptor that becomes readable whenever an item may be waiting (for an event
    /// loop's `add_reader`); read it empty with `clear_wake`. Made on first call;
    /// it lives as long as the handle, so the loop must stop watching it first.
    fn wake_fd(&self) -> PyResult<i32> {
        if let Some(wake) = self.wake.get() {
            return Ok(wake.reader.as_raw_fd());
        }
        let made = UnixStream::pair().and_then(|(reader, writer)| {
            reader.set_nonblocking(true)?;
            writer.set_nonblocking(true)?;
            Ok(Wake { reader, writer })
        });
        let wake = made.map_err(|e| {
            BindError::Internal(format!("cannot make the wake-up socket of a call: {e}"))
        })?;
        Ok(self.wake.get_or_init(|| wake).reader.as_raw_fd())
    }

    /// Reads the wake-up socket empty (called by the loop when it is readable).
    fn clear_wake(&self) {
        if let Some(wake) = self.wake.get() {
            let mut buf = [0u8; 256];
            // Ends at WouldBlock (empty), at 0 (cannot happen: the writer lives as long), or
            // on an error (nothing more to read either way).
            while let Ok(n) = (&wake.reader).read(&mut buf) {
                if n < buf.len() {
                    break;
                }
            }
        }
    }

    /// Asks the work to stop: a queued task never starts, a running one has its whole
    /// process tree stopped. The result (status `cancelled`) still comes through `next`.
    fn cancel(&self) {
        self.cancel.cancel();
    }
}
