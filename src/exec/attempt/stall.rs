//! The stall watchdog's helpers: how often the tree is looked at, and the account of a stall
//! (what was last heard from the CLI, and when).

use std::time::{Duration, Instant};

use crate::claude::events::Line;
use crate::config::Config;

/// How often the tree is walked: with the heartbeat, or — when the stall watchdog is on and
/// short — four times per stall period, so a stall is noticed within a quarter of it late.
/// An interval whose first tick is one `period` from now.
pub(super) fn every(period: Duration) -> tokio::time::Interval {
    tokio::time::interval_at(tokio::time::Instant::now() + period, period)
}

pub(super) fn watch_interval(config: &Config) -> Duration {
    let mut every = config.heartbeat_interval;
    if !config.stall_timeout.is_zero() {
        every = every.min(config.stall_timeout / 4);
    }
    every.max(Duration::from_millis(100))
}

/// What was last heard from the CLI, for the account of a stall.
#[derive(Default)]
pub(super) struct LastSeen {
    /// The kind of the last stdout record and when it arrived.
    pub(super) line: Option<(String, Instant)>,
    /// The last progress message (started, tool use, API retry, …).
    pub(super) progress: Option<String>,
}

impl LastSeen {
    pub(super) fn describe(&self, started: Instant) -> String {
        let line = match &self.line {
            Some((kind, at)) => format!(
                "the last event was {kind}, {:.1} s after the start",
                at.duration_since(started).as_secs_f64()
            ),
            None => "nothing was printed at all".to_string(),
        };
        match &self.progress {
            Some(p) => format!("stalled: {line} (last progress: {p})"),
            None => format!("stalled: {line}"),
        }
    }
}

/// A short name for a stdout record.
pub(super) fn describe(line: &Line) -> String {
    use crate::claude::events::Event;
    match line {
        Line::Event(e) => match e.as_ref() {
            Event::System(s) => format!("system/{}", s.subtype.as_deref().unwrap_or("?")),
            Event::Assistant(_) => "an assistant message".into(),
            Event::User(_) => "a tool result".into(),
            Event::Result(_) => "the result".into(),
            Event::RateLimit(_) => "a rate_limit_event".into(),
            Event::Unknown => "an event of an unknown type".into(),
        },
        Line::NotJson(_) => "a line that is not JSON".into(),
        Line::Malformed { kind, .. } => format!("a malformed {kind} event"),
        Line::Blank => "a blank line".into(),
    }
}
