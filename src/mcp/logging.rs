//! The `logging` capability: what a task does (the progress steps) and what went wrong with it
//! (the result's warnings) as `notifications/message`, at the level the client asked for.
//!
//! - **2025-06-18 and 2025-11-25**: the session's level is set with `logging/setLevel`; until
//!   the client sets one, nothing is logged (the spec leaves the default to the server, and a
//!   client that never asked gets no traffic it did not ask for).
//! - **2026-07-28**: there is no session level (`logging/setLevel` is not a method of that
//!   version: `-32601`); each request opts in with `_meta["io.modelcontextprotocol/logLevel"]`,
//!   and a request without it gets no log messages.
//!
//! Messages are sent in order with the request's progress notifications and before its
//! response (the `progress` module sends both). rmcp marks logging deprecated (SEP-2577
//! deprecates it in favour of other channels), but every protocol version this server speaks
//! still has it, so this module allows the deprecated items.
#![allow(deprecated)]

use std::sync::{Arc, Mutex};

use rmcp::model::{LoggingLevel, ProtocolVersion};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};

use crate::exec::progress::ProgressEvent;
use crate::exec::result::Status;
use crate::runs::{RunEvent, RunState, TaskState};

/// The logger name on every message.
pub const LOGGER: &str = "cc-executor";

/// The session's level (`logging/setLevel`), shared by every request of the connection.
#[derive(Clone, Default)]
pub struct SessionLevel(Arc<Mutex<Option<LoggingLevel>>>);

impl SessionLevel {
    fn get(&self) -> Option<LoggingLevel> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, level: LoggingLevel) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(level);
    }

    /// `logging/setLevel`: sets the session's level. On 2026-07-28 the method does not exist
    /// (logging is requested per request there), so a request of that version is refused as an
    /// unknown method.
    pub fn set_level(
        &self,
        level: LoggingLevel,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if is_per_request(ctx) {
            return Err(ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                "logging/setLevel is not a method of protocol 2026-07-28: ask for log messages \
                 per request with _meta[\"io.modelcontextprotocol/logLevel\"]",
                None,
            ));
        }
        self.set(level);
        Ok(())
    }

    /// The lowest level this request's log messages may have; `None`: none may be sent.
    pub fn threshold(&self, ctx: &RequestContext<RoleServer>) -> Option<LoggingLevel> {
        if is_per_request(ctx) {
            ctx.meta.log_level()
        } else {
            self.get()
        }
    }
}

/// Does this request follow 2026-07-28, where logging is opted into per request?
fn is_per_request(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

/// `warning` (for modules that do not allow rmcp's deprecated logging items themselves).
pub fn warning() -> LoggingLevel {
    LoggingLevel::Warning
}

/// Severity rank, lowest first (RFC 5424 order, as the spec lists them).
pub fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// Is a message at `level` sent to a request whose threshold is `threshold`?
pub fn passes(level: LoggingLevel, threshold: Option<LoggingLevel>) -> bool {
    threshold.is_some_and(|t| rank(level) >= rank(t))
}

/// The level a progress step is logged at: the usual steps are `info`, heartbeats `debug`,
/// retries and pauses `notice`, what may cost the work (denied tools, usage-limit waits) `warning`, and
/// an execution that ended other than `succeeded` `error` (`cancelled`: `notice`).
pub fn event_level(event: &ProgressEvent) -> LoggingLevel {
    match event {
        ProgressEvent::Queued { .. }
        | ProgressEvent::Started { .. }
        | ProgressEvent::ToolUse { .. } => LoggingLevel::Info,
        ProgressEvent::Heartbeat { .. } | ProgressEvent::Text { .. } => LoggingLevel::Debug,
        ProgressEvent::ApiRetry { .. }
        | ProgressEvent::Retrying { .. }
        | ProgressEvent::Paused { .. }
        | ProgressEvent::Resumed { .. } => LoggingLevel::Notice,
        ProgressEvent::PermissionDenied { .. } | ProgressEvent::WaitingForReset { .. } => {
            LoggingLevel::Warning
        }
        ProgressEvent::Finished { status } => status_level(*status),
    }
}

/// The level of "finished with `status`".
pub fn status_level(status: Status) -> LoggingLevel {
    match status {
        Status::Succeeded => LoggingLevel::Info,
        Status::Cancelled => LoggingLevel::Notice,
        _ => LoggingLevel::Error,
    }
}

/// The level a run event is logged at: a task that did not succeed is `error` (skipped:
/// `warning`, cancelled: `notice`), a usage-limit wait `warning`, the rest as their step.
pub fn run_event_level(event: &RunEvent) -> LoggingLevel {
    match event {
        RunEvent::TaskStarted { .. } => LoggingLevel::Info,
        RunEvent::Execution { event, .. } => event_level(event),
        RunEvent::TaskFinished { state, .. } => match state {
            TaskState::Failed => LoggingLevel::Error,
            TaskState::Skipped => LoggingLevel::Warning,
            TaskState::Cancelled => LoggingLevel::Notice,
            _ => LoggingLevel::Info,
        },
        RunEvent::WaitingForUsageReset { .. } => LoggingLevel::Warning,
        RunEvent::Finished { state, .. } => match state {
            RunState::Succeeded => LoggingLevel::Info,
            RunState::Cancelled => LoggingLevel::Notice,
            _ => LoggingLevel::Error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_lets_its_level_and_the_more_severe_ones_through() {
        assert!(!passes(LoggingLevel::Emergency, None), "no level: nothing");
        assert!(passes(LoggingLevel::Warning, Some(LoggingLevel::Warning)));
        assert!(passes(LoggingLevel::Error, Some(LoggingLevel::Warning)));
        assert!(!passes(LoggingLevel::Info, Some(LoggingLevel::Warning)));
        assert!(passes(LoggingLevel::Debug, Some(LoggingLevel::Debug)));
        let all = [
            LoggingLevel::Debug,
            LoggingLevel::Info,
            LoggingLevel::Notice,
            LoggingLevel::Warning,
            LoggingLevel::Error,
            LoggingLevel::Critical,
            LoggingLevel::Alert,
            LoggingLevel::Emergency,
        ];
        for pair in all.windows(2) {
            assert!(rank(pair[0]) < rank(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn steps_are_logged_by_what_they_mean() {
        assert_eq!(
            event_level(&ProgressEvent::Queued { position: 0 }),
            LoggingLevel::Info
        );
        assert_eq!(
            event_level(&ProgressEvent::Heartbeat {
                elapsed: std::time::Duration::from_secs(30),
                silent_for: std::time::Duration::from_secs(15),
            }),
            LoggingLevel::Debug
        );
        assert_eq!(
            event_level(&ProgressEvent::PermissionDenied {
                tool_name: "Write".into()
            }),
            LoggingLevel::Warning
        );
        assert_eq!(
            event_level(&ProgressEvent::Finished {
                status: Status::Succeeded
            }),
            LoggingLevel::Info
        );
        assert_eq!(
            event_level(&ProgressEvent::Finished {
                status: Status::TimedOut
            }),
            LoggingLevel::Error
        );
        assert_eq!(status_level(Status::Cancelled), LoggingLevel::Notice);
    }
}
