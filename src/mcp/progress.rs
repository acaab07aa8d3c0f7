//! Progress notifications for a tool call: sent only when the request carries a progress
//! token, in order, and all of them before the response — but never holding the response
//! once the client is gone.

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::ProgressNotificationParam;
use rmcp::service::RequestContext;
use tokio::sync::mpsc;

/// One notification: how far (`progress`; `None`: the number of steps so far), out of how
/// much (`total`, when known), and what.
pub(crate) struct Step {
    pub progress: Option<f64>,
    pub total: Option<f64>,
    pub message: String,
}

/// Sends [`Step`]s as `notifications/progress` for one request.
pub(crate) struct Forwarder {
    tx: mpsc::UnboundedSender<Step>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Forwarder {
    /// A forwarder for the request of `ctx`; without a progress token, steps go nowhere.
    pub fn new(ctx: &RequestContext<RoleServer>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Step>();
        let task = ctx.meta.get_progress_token().map(|token| {
            let peer = ctx.peer.clone();
            tokio::spawn(async move {
                let mut n = 0.0;
                while let Some(step) = rx.recv().await {
                    n += 1.0;
                    let progress = step.progress.unwrap_or(n);
                    let mut param = ProgressNotificationParam::new(token.clone(), progress)
                        .with_message(step.message);
                    if let Some(total) = step.total {
                        param = param.with_total(total);
                    }
                    if let Err(e) = peer.notify_progress(param).await {
                        tracing::debug!("progress notification not sent: {e}");
                    }
                }
            })
        });
        Forwarder { tx, task }
    }

    /// A sender for sinks (cheap to clone; sending never blocks).
    pub fn sender(&self) -> mpsc::UnboundedSender<Step> {
        self.tx.clone()
    }

    /// Waits until every step sent so far has gone out. Normally that takes microseconds;
    /// once the client has gone (stdin closed) rmcp no longer delivers notifications, and the
    /// response must not wait for them.
    pub async fn flush(self) {
        let Forwarder { tx, task } = self;
        drop(tx);
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_millis(250), task)
                .await
                .is_err()
            {
                abort.abort();
                tracing::debug!("progress notifications abandoned: the client is gone");
            }
        }
    }
}
