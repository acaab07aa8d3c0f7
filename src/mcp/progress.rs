//! Notifications for a tool call: progress (`notifications/progress`, only when the request
//! carries a progress token) and log messages (`notifications/message`, only at or above the
//! level the client asked for, see [`super::logging`]) — in order, all before the response.
//!
//! [`Forwarder::flush`] waits until every note sent so far is on its way (not until the sink
//! that sends them is dropped: the executor may hold it a little longer), for at most
//! [`FLUSH_MAX`], and not at all once the input is closed: rmcp then delivers no more
//! notifications, and the response must not wait for them. Notes sent after the flush are
//! dropped (nothing may follow a response).
#![allow(deprecated)] // rmcp marks the logging types deprecated (SEP-2577); see `logging`.

use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam};
use rmcp::service::RequestContext;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Longest a response waits for its notifications to go out. Normally that takes
/// microseconds; a heavily loaded machine may need a few hundred milliseconds.
pub const FLUSH_MAX: Duration = Duration::from_secs(5);

/// One thing to tell the client.
pub(crate) enum Note {
    /// A step of the work: a progress notification, and a log message at `level`.
    Step {
        /// How far; `None`: the number of steps so far.
        progress: Option<f64>,
        /// Out of how much, when known.
        total: Option<f64>,
        message: String,
        level: LoggingLevel,
    },
    /// A log message only (e.g. a warning of the result).
    Log {
        level: LoggingLevel,
        message: String,
    },
    /// Everything before this has been sent ([`Forwarder::flush`]).
    Flushed(oneshot::Sender<()>),
}

impl Note {
    /// A step with a log level, counted (no `progress`/`total` of its own).
    pub fn step(message: String, level: LoggingLevel) -> Note {
        Note::Step {
            progress: None,
            total: None,
            message,
            level,
        }
    }
}

/// Sends [`Note`]s for one request.
pub(crate) struct Forwarder {
    tx: mpsc::UnboundedSender<Note>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Cancelled once the input is closed (notifications can no longer go out).
    input_closed: CancellationToken,
}

impl Forwarder {
    /// A forwarder for the request of `ctx`, logging at `threshold` and above (`None`: no log
    /// messages); without a progress token and a threshold, notes go nowhere.
    /// `input_closed`: cancelled once the transport's input is closed.
    pub fn new(
        ctx: &RequestContext<RoleServer>,
        threshold: Option<LoggingLevel>,
        input_closed: CancellationToken,
    ) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Note>();
        let token = ctx.meta.get_progress_token();
        let task = (token.is_some() || threshold.is_some()).then(|| {
            let peer = ctx.peer.clone();
            tokio::spawn(async move {
                let mut n = 0.0;
                while let Some(note) = rx.recv().await {
                    let (level, message) = match note {
                        Note::Step {
                            progress,
                            total,
                            message,
                            level,
                        } => {
                            n += 1.0;
                            if let Some(token) = &token {
                                let mut param = ProgressNotificationParam::new(
                                    token.clone(),
                                    progress.unwrap_or(n),
                                )
                                .with_message(message.clone());
                                if let Some(total) = total {
                                    param = param.with_total(total);
                                }
                                if let Err(e) = peer.notify_progress(param).await {
                                    tracing::debug!("progress notification not sent: {e}");
                                }
                            }
                            (level, message)
                        }
                        Note::Log { level, message } => (level, message),
                        Note::Flushed(ack) => {
                            let _ = ack.send(());
                            continue;
                        }
                    };
                    if super::logging::passes(level, threshold) {
                        let param = LoggingMessageNotificationParam::new(
                            level,
                            serde_json::Value::String(message),
                        )
                        .with_logger(super::logging::LOGGER);
                        if let Err(e) = peer.notify_logging_message(param).await {
                            tracing::debug!("log message not sent: {e}");
                        }
                    }
                }
            })
        });
        Forwarder {
            tx,
            task,
            input_closed,
        }
    }

    /// A sender for sinks (cheap to clone; sending never blocks).
    pub fn sender(&self) -> mpsc::UnboundedSender<Note> {
        self.tx.clone()
    }

    /// Waits until every note sent so far has gone out (at most [`FLUSH_MAX`], and not once
    /// the input is closed); notes sent later are dropped.
    pub async fn flush(self) {
        let Forwarder {
            tx,
            task,
            input_closed,
        } = self;
        let Some(task) = task else { return };
        let (ack, flushed) = oneshot::channel();
        let _ = tx.send(Note::Flushed(ack));
        drop(tx);
        tokio::select! {
            _ = flushed => {}
            _ = input_closed.cancelled() => {
                tracing::debug!("notifications abandoned: the input is closed");
            }
            _ = tokio::time::sleep(FLUSH_MAX) => {
                tracing::warn!("notifications abandoned: not sent within {FLUSH_MAX:?}");
            }
        }
        task.abort();
    }
}
