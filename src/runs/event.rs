//! What a run tells whoever watches it (progress bars, MCP notifications): one event per
//! thing that happened, each with a one-line message for people.

use chrono::Utc;
use uuid::Uuid;

use super::{RunState, TaskState};
use crate::exec::progress::ProgressEvent;
use crate::exec::result::Status;

/// One thing that happened in a run, for progress displays and notifications.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    TaskStarted {
        position: usize,
        total: usize,
        task_id: String,
        execution_id: Uuid,
    },
    /// Progress of the current task's execution.
    Execution {
        task_id: String,
        event: ProgressEvent,
    },
    TaskFinished {
        task_id: String,
        state: TaskState,
        status: Option<Status>,
        cost_usd: Option<f64>,
        detail: Option<String>,
    },
    WaitingForUsageReset {
        task_id: String,
        until: chrono::DateTime<Utc>,
    },
    Finished {
        state: RunState,
        reason: Option<String>,
    },
}

impl RunEvent {
    /// One line for people.
    pub fn message(&self) -> String {
        match self {
            RunEvent::TaskStarted {
                position,
                total,
                task_id,
                execution_id,
            } => format!("task {position}/{total} `{task_id}` started (execution {execution_id})"),
            RunEvent::Execution { task_id, event } => format!("`{task_id}`: {}", event.message()),
            RunEvent::TaskFinished {
                task_id,
                state,
                status,
                cost_usd,
                detail,
            } => {
                let mut s = format!("task `{task_id}` {state}");
                if let Some(st) = status.filter(|s| s.as_str() != state.as_str()) {
                    s.push_str(&format!(" ({st})"));
                }
                if let Some(c) = cost_usd {
                    s.push_str(&format!(", ${c:.4}"));
                }
                if let Some(d) = detail {
                    s.push_str(&format!(" — {d}"));
                }
                s
            }
            RunEvent::WaitingForUsageReset { task_id, until } => format!(
                "usage limit: waiting until {} to run `{task_id}` again",
                until.to_rfc3339()
            ),
            RunEvent::Finished { state, reason } => match reason {
                Some(r) => format!("run {state}: {r}"),
                None => format!("run {state}"),
            },
        }
    }
}

/// Receives run events; must not block.
pub trait RunSink: Send + Sync + 'static {
    fn emit(&self, event: RunEvent);
}

impl<F: Fn(RunEvent) + Send + Sync + 'static> RunSink for F {
    fn emit(&self, event: RunEvent) {
        self(event)
    }
}
