//! Live progress of an execution, for whoever watches: MCP progress notifications, the
//! terminal, or a library caller. Sinks must not block: the executor calls them inline.

use std::time::Duration;

use crate::claude::collect::Notice;
use crate::exec::result::Status;

/// One thing that happened while an execution ran, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressEvent {
    /// Joined the queue; `position` 1 is next in line, 0 means a slot was free.
    Queued {
        position: usize,
    },
    /// A `claude` process started and introduced itself (its init line).
    Started {
        attempt: u32,
        session_id: Option<String>,
        model: Option<String>,
    },
    ToolUse {
        name: String,
        summary: String,
    },
    /// The CLI is retrying an API call on its own.
    ApiRetry {
        attempt: u32,
        max_retries: Option<u32>,
        error_status: Option<u16>,
        error: Option<String>,
        delay_ms: Option<u64>,
    },
    PermissionDenied {
        tool_name: String,
    },
    /// Nothing heard from Claude for `silent_for` (long silences are normal while it thinks).
    Heartbeat {
        elapsed: Duration,
        silent_for: Duration,
    },
    /// We are about to run the task again after a transient failure.
    Retrying {
        next_attempt: u32,
        after: Status,
        delay: Duration,
    },
    /// A usage limit was hit; we wait for its reset, then try again.
    WaitingForReset {
        next_attempt: u32,
        resets_at: chrono::DateTime<chrono::Utc>,
        delay: Duration,
    },
    /// Paused on request (`Executor::pause`): its process tree is stopped (or, queued, it will
    /// not start) and its time limit does not count; cancelled if not resumed within
    /// `max_pause`.
    Paused {
        max_pause: Duration,
    },
    /// Resumed on request; `paused_total`: all the time it has been paused so far.
    Resumed {
        paused_total: Duration,
    },
    Finished {
        status: Status,
    },
}

impl ProgressEvent {
    pub(crate) fn from_notice(attempt: u32, n: Notice) -> ProgressEvent {
        match n {
            Notice::Started { session_id, model } => ProgressEvent::Started {
                attempt,
                session_id,
                model,
            },
            Notice::ToolUse { name, summary } => ProgressEvent::ToolUse { name, summary },
            Notice::ApiRetry {
                attempt,
                max_retries,
                error_status,
                error,
                delay_ms,
            } => ProgressEvent::ApiRetry {
                attempt,
                max_retries,
                error_status,
                error,
                delay_ms,
            },
            Notice::PermissionDenied { tool_name } => ProgressEvent::PermissionDenied { tool_name },
        }
    }

    /// A short human-readable line.
    pub fn message(&self) -> String {
        match self {
            ProgressEvent::Queued { position: 0 } => "starting (no queue)".to_string(),
            ProgressEvent::Queued { position } => format!("queued (position {position})"),
            ProgressEvent::Started {
                attempt,
                session_id,
                model,
            } => format!(
                "started{}: session {}, model {}",
                if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                },
                session_id.as_deref().unwrap_or("?"),
                model.as_deref().unwrap_or("?")
            ),
            ProgressEvent::ToolUse { name, summary } if summary.is_empty() => {
                format!("tool: {name}")
            }
            ProgressEvent::ToolUse { name, summary } => format!("tool: {name} {summary}"),
            ProgressEvent::ApiRetry {
                attempt,
                max_retries,
                error_status,
                error,
                delay_ms,
            } => format!(
                "API retry {attempt}{} ({}{}){}",
                max_retries.map(|m| format!("/{m}")).unwrap_or_default(),
                error.as_deref().unwrap_or("error"),
                error_status
                    .map(|s| format!(", HTTP {s}"))
                    .unwrap_or_default(),
                delay_ms
                    .map(|d| format!(" in {:.1}s", d as f64 / 1000.0))
                    .unwrap_or_default()
            ),
            ProgressEvent::PermissionDenied { tool_name } => {
                format!("permission denied: {tool_name}")
            }
            ProgressEvent::Heartbeat {
                elapsed,
                silent_for,
            } => format!(
                "still running ({}s elapsed, {}s since the last event)",
                elapsed.as_secs(),
                silent_for.as_secs()
            ),
            ProgressEvent::Retrying {
                next_attempt,
                after,
                delay,
            } => format!(
                "{after}; retrying (attempt {next_attempt}) in {:.1}s",
                delay.as_secs_f64()
            ),
            ProgressEvent::WaitingForReset {
                next_attempt,
                resets_at,
                delay,
            } => format!(
                "usage limit; waiting {:.0}s until it resets at {} (then attempt {next_attempt})",
                delay.as_secs_f64(),
                resets_at.format("%H:%M:%S UTC")
            ),
            ProgressEvent::Paused { max_pause } => format!(
                "paused; its time limit is not counting (cancelled unless resumed within {} s)",
                max_pause.as_secs()
            ),
            ProgressEvent::Resumed { paused_total } => format!(
                "resumed after {:.1} s paused in total",
                paused_total.as_secs_f64()
            ),
            ProgressEvent::Finished { status } => format!("finished: {status}"),
        }
    }
}

/// Receives progress events. Implemented for closures.
pub trait ProgressSink: Send + Sync + 'static {
    fn emit(&self, event: ProgressEvent);
}

impl<F: Fn(ProgressEvent) + Send + Sync + 'static> ProgressSink for F {
    fn emit(&self, event: ProgressEvent) {
        self(event)
    }
}

/// Discards progress.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn emit(&self, _: ProgressEvent) {}
}
