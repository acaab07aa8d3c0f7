//! A running call seen from Python: its progress events, then its result (or its error), in
//! order, through one channel; and the switch that cancels it.
//!
//! The work runs on the shared runtime; the Python side only waits for the next item. The
//! sync API waits in short slices with the GIL released and checks for signals between them
//! (so Ctrl-C interrupts within a slice); the asyncio API awaits the same channel. Either way
//! the callback runs in the caller's thread or event loop, in the order the events happened.

use std::sync::Arc;
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

/// The sending half, held by the work.
pub type Sender = UnboundedSender<Item>;

/// A call in progress. Dropping it (e.g. the Python object is collected) cancels the work.
#[pyclass(module = "cc_executor._native", name = "Handle", frozen)]
pub struct Handle {
    rx: Arc<Mutex<UnboundedReceiver<Item>>>,
    cancel: CancellationToken,
    _cancel_on_drop: DropGuard,
}

impl Handle {
    /// A handle, the sender for the work, and the token the work watches.
    pub fn new() -> (Handle, Sender, CancellationToken) {
        let (tx, rx) = unbounded_channel();
        let cancel = CancellationToken::new();
        let handle = Handle {
            rx: Arc::new(Mutex::new(rx)),
            cancel: cancel.clone(),
            _cancel_on_drop: cancel.clone().drop_guard(),
        };
        (handle, tx, cancel)
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
        if let Ok(mut rx) = self.rx.try_lock()
            && let Ok(item) = rx.try_recv()
        {
            return to_next(Some(item)).map(Some);
        }
        // Any float is accepted (NaN waits not at all, infinities are clamped): no input may
        // panic here.
        let secs = if timeout.is_nan() {
            0.0
        } else {
            timeout.clamp(0.0, 3600.0)
        };
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

    /// The next item as an asyncio awaitable (on the running loop).
    fn next_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime()?;
        let rx = self.rx.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let item = rx.lock().await.recv().await;
            to_next(item)
        })
    }

    /// Asks the work to stop: a queued task never starts, a running one has its whole
    /// process tree stopped. The result (status `cancelled`) still comes through `next`.
    fn cancel(&self) {
        self.cancel.cancel();
    }
}
