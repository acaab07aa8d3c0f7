//! Live progress of an execution, for whoever watches: MCP progress notifications, the
//! terminal, or a library caller. Sinks must not block: the executor calls them inline.

use std::time::Duration;

use crate::claude::collect::Notice;
use crate::exec::result::Status;

/// One thing that happened while an execution ran, in order. Serializable so that a pool
/// worker can hand its events to the orchestrator that follows the execution (`exec::remote`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
    /// Text the model wrote, as it arrives (one event per text block). A block longer than
    /// [`crate::claude::collect::TEXT_NOTICE_MAX`] is cut there (`truncated`); the whole
    /// answer is always in the result.
    Text {
        text: String,
        truncated: bool,
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
            Notice::Text { text, truncated } => ProgressEvent::Text { text, truncated },
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
            ProgressEvent::Text { text, .. } => {
                format!("says: {}", crate::types::text::truncate_chars(text, 120))
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

impl ProgressEvent {
    /// The event as JSON for network clients: `kind` (snake_case), `message` (as
    /// [`ProgressEvent::message`]) and the event's fields; durations in milliseconds.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let ms = |d: &Duration| d.as_millis().min(u64::MAX as u128) as u64;
        let mut v = match self {
            ProgressEvent::Queued { position } => json!({"kind": "queued", "position": position}),
            ProgressEvent::Started {
                attempt,
                session_id,
                model,
            } => json!({"kind": "started", "attempt": attempt, "session_id": session_id,
                        "model": model}),
            ProgressEvent::ToolUse { name, summary } => {
                json!({"kind": "tool_use", "name": name, "summary": summary})
            }
            ProgressEvent::ApiRetry {
                attempt,
                max_retries,
                error_status,
                error,
                delay_ms,
            } => json!({"kind": "api_retry", "attempt": attempt, "max_retries": max_retries,
                        "error_status": error_status, "error": error, "delay_ms": delay_ms}),
            ProgressEvent::PermissionDenied { tool_name } => {
                json!({"kind": "permission_denied", "tool_name": tool_name})
            }
            ProgressEvent::Text { text, truncated } => {
                json!({"kind": "text", "text": text, "truncated": truncated})
            }
            ProgressEvent::Heartbeat {
                elapsed,
                silent_for,
            } => json!({"kind": "heartbeat", "elapsed_ms": ms(elapsed),
                        "silent_for_ms": ms(silent_for)}),
            ProgressEvent::Retrying {
                next_attempt,
                after,
                delay,
            } => json!({"kind": "retrying", "next_attempt": next_attempt, "after": after,
                        "delay_ms": ms(delay)}),
            ProgressEvent::WaitingForReset {
                next_attempt,
                resets_at,
                delay,
            } => json!({"kind": "waiting_for_usage_reset", "next_attempt": next_attempt,
                        "resets_at": resets_at, "delay_ms": ms(delay)}),
            ProgressEvent::Paused { max_pause } => {
                json!({"kind": "paused", "max_pause_ms": ms(max_pause)})
            }
            ProgressEvent::Resumed { paused_total } => {
                json!({"kind": "resumed", "paused_total_ms": ms(paused_total)})
            }
            ProgressEvent::Finished { status } => json!({"kind": "finished", "status": status}),
        };
        if let serde_json::Value::Object(map) = &mut v {
            map.insert("message".into(), self.message().into());
        }
        v
    }

    /// Roughly what the event costs in memory, for the bounded event log (`exec/feed.rs`).
    pub(crate) fn approx_bytes(&self) -> usize {
        const BASE: usize = 96;
        BASE + match self {
            ProgressEvent::Started {
                session_id, model, ..
            } => session_id.as_ref().map_or(0, String::len) + model.as_ref().map_or(0, String::len),
            ProgressEvent::ToolUse { name, summary } => name.len() + summary.len(),
            ProgressEvent::ApiRetry { error, .. } => error.as_ref().map_or(0, String::len),
            ProgressEvent::PermissionDenied { tool_name } => tool_name.len(),
            ProgressEvent::Text { text, .. } => text.len(),
            ProgressEvent::Queued { .. }
            | ProgressEvent::Heartbeat { .. }
            | ProgressEvent::Retrying { .. }
            | ProgressEvent::WaitingForReset { .. }
            | ProgressEvent::Paused { .. }
            | ProgressEvent::Resumed { .. }
            | ProgressEvent::Finished { .. } => 0,
        }
    }

    /// Assistant text: for the event log and network clients; the MCP and terminal
    /// progress lines leave it out (the answer comes with the result).
    pub fn is_text(&self) -> bool {
        matches!(self, ProgressEvent::Text { .. })
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
