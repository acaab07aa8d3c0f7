//! Shutdown control: the requests read and not yet answered, and the server's handle to end
//! input, wait for answers and wait for stdout to drain — so a shutdown answers everything it
//! has read before the process exits.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rmcp::model::RequestId;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::writer::Finished;

/// Requests read and not yet answered.
#[derive(Default)]
pub(super) struct Pending {
    ids: Mutex<HashSet<RequestId>>,
    changed: Notify,
}

impl Pending {
    fn ids(&self) -> MutexGuard<'_, HashSet<RequestId>> {
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn add(&self, id: RequestId) {
        self.ids().insert(id);
    }

    pub(super) fn remove(&self, id: &RequestId) {
        if self.ids().remove(id) {
            self.changed.notify_waiters();
        }
    }

    pub(super) fn count(&self) -> usize {
        self.ids().len()
    }
}

/// The server's handle on the transport: end of input, shutdown, draining.
pub struct Control {
    pub(super) eof: CancellationToken,
    pub(super) stop_reading: CancellationToken,
    pub(super) input_closed: CancellationToken,
    pub(super) pending: Arc<Pending>,
    pub(super) finished: Mutex<Option<Finished>>,
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
