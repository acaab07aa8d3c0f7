//! Each execution's progress as a numbered, replayable event log: what a network client that
//! connects late, drops its connection or reattaches by id reads (the WebSocket protocol's
//! `process.*` notifications, the REST API's Server-Sent Events).
//!
//! A sink ([`super::progress::ProgressSink`]) sees events only while it is attached; the log
//! keeps them, numbered from 1, so a reader can say "everything after 41" and miss nothing
//! that is still held. Memory is bounded: a running execution keeps at most
//! [`LIVE_BYTES`] of events, a finished one at most [`FINISHED_BYTES`] (the registry keeps up
//! to a hundred finished executions); the oldest go first, and a reader that asked for events
//! no longer held is told how many it missed instead of silently skipping them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::exec::progress::ProgressEvent;

/// Events kept for a running execution (the largest single event, assistant text, is at most
/// [`crate::claude::collect::TEXT_NOTICE_MAX`]).
pub const LIVE_BYTES: usize = 4 * 1024 * 1024;
/// Events kept once the execution finished: its last moments and the `finished` event.
pub const FINISHED_BYTES: usize = 64 * 1024;

/// One event of an execution, numbered in order.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// 1 for the first event of the execution, then 2, 3, …
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub event: ProgressEvent,
}

impl FeedEvent {
    /// The event as JSON for network clients: `seq`, `at`, `kind`, a human `message` and the
    /// event's own fields (durations in milliseconds, times in RFC 3339).
    pub fn to_json(&self) -> Value {
        let mut v = self.event.to_json();
        if let Value::Object(map) = &mut v {
            map.insert("seq".into(), json!(self.seq));
            map.insert("at".into(), json!(self.at));
        }
        v
    }
}

/// What a reader gets next.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    Event(Arc<FeedEvent>),
    /// Events the log no longer held (memory bound); the reader continues after them.
    Missed {
        count: u64,
    },
}

#[derive(Default)]
struct Log {
    events: VecDeque<Arc<FeedEvent>>,
    bytes: usize,
    /// Sequence number of the last event appended (0: none yet).
    last_seq: u64,
    /// The execution finished: no event will follow the last one.
    closed: bool,
}

impl Log {
    fn first_seq(&self) -> u64 {
        self.events.front().map_or(self.last_seq + 1, |e| e.seq)
    }

    fn trim(&mut self, budget: usize) {
        // The newest event always stays, whatever its size: a reader must be able to see
        // that the execution finished.
        while self.bytes > budget && self.events.len() > 1 {
            if let Some(e) = self.events.pop_front() {
                self.bytes -= e.event.approx_bytes();
            }
        }
    }
}

/// The log of one execution and the signal that wakes its readers.
pub struct Feed {
    log: Mutex<Log>,
    last: watch::Sender<u64>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            log: Mutex::new(Log::default()),
            last: watch::Sender::new(0),
        }
    }
}

fn lock(m: &Mutex<Log>) -> MutexGuard<'_, Log> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Feed {
    /// Appends an event; the `finished` event closes the log.
    pub fn push(&self, event: &ProgressEvent) {
        let mut log = lock(&self.log);
        if log.closed {
            return;
        }
        log.last_seq += 1;
        let finished = matches!(event, ProgressEvent::Finished { .. });
        let e = Arc::new(FeedEvent {
            seq: log.last_seq,
            at: Utc::now(),
            event: event.clone(),
        });
        log.bytes += e.event.approx_bytes();
        log.events.push_back(e);
        log.closed = finished;
        log.trim(if finished { FINISHED_BYTES } else { LIVE_BYTES });
        let seq = log.last_seq;
        drop(log);
        self.last.send_replace(seq);
    }

    /// Sequence number of the last event so far (0: none).
    pub fn last_seq(&self) -> u64 {
        lock(&self.log).last_seq
    }

    fn next_after(&self, after: u64) -> Next {
        let log = lock(&self.log);
        let first = log.first_seq();
        if after + 1 < first {
            return Next::Item(
                FeedItem::Missed {
                    count: first - after - 1,
                },
                first - 1,
            );
        }
        let index = (after + 1 - first) as usize;
        match log.events.get(index) {
            Some(e) => Next::Item(FeedItem::Event(e.clone()), e.seq),
            None if log.closed => Next::End,
            None => Next::Wait,
        }
    }
}

enum Next {
    /// The item and the sequence number the reader has now seen up to.
    Item(FeedItem, u64),
    End,
    Wait,
}

/// Reads one execution's events in order, from a given point, waiting for new ones; ends after
/// the `finished` event. Dropping it costs the execution nothing.
pub struct EventStream {
    feed: Arc<Feed>,
    seen: u64,
    wake: watch::Receiver<u64>,
}

impl EventStream {
    /// Events after `after` (0: from the first).
    pub(crate) fn new(feed: Arc<Feed>, after: u64) -> Self {
        let wake = feed.last.subscribe();
        EventStream {
            feed,
            seen: after,
            wake,
        }
    }

    /// The next item, waiting for it if the execution is still going; `None` once the
    /// `finished` event has been read.
    pub async fn next(&mut self) -> Option<FeedItem> {
        loop {
            // Mark the signal seen *before* reading the log, so an event appended after the
            // read still wakes the wait below.
            self.wake.borrow_and_update();
            match self.feed.next_after(self.seen) {
                Next::Item(item, seen) => {
                    self.seen = seen;
                    return Some(item);
                }
                Next::End => return None,
                Next::Wait => {
                    if self.wake.changed().await.is_err() {
                        return None;
                    }
                }
            }
        }
    }

    /// The next item if one is already there, without waiting.
    pub fn try_next(&mut self) -> Option<FeedItem> {
        match self.feed.next_after(self.seen) {
            Next::Item(item, seen) => {
                self.seen = seen;
                Some(item)
            }
            Next::End | Next::Wait => None,
        }
    }

    /// Sequence number of the last event read (a client can reattach after it).
    pub fn seen(&self) -> u64 {
        self.seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::result::Status;
    use std::time::Duration;

    fn tool(n: usize) -> ProgressEvent {
        ProgressEvent::ToolUse {
            name: "Bash".into(),
            summary: format!("step {n}"),
        }
    }

    fn finished() -> ProgressEvent {
        ProgressEvent::Finished {
            status: Status::Succeeded,
        }
    }

    async fn drain(s: &mut EventStream) -> Vec<FeedItem> {
        let mut out = Vec::new();
        while let Some(i) = s.next().await {
            out.push(i);
        }
        out
    }

    fn seqs(items: &[FeedItem]) -> Vec<u64> {
        items
            .iter()
            .filter_map(|i| match i {
                FeedItem::Event(e) => Some(e.seq),
                FeedItem::Missed { .. } => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_late_reader_replays_every_event_in_order_and_ends_at_finished() {
        let feed = Arc::new(Feed::default());
        for n in 0..3 {
            feed.push(&tool(n));
        }
        feed.push(&finished());
        feed.push(&tool(9)); // nothing follows "finished"
        let items = drain(&mut EventStream::new(feed.clone(), 0)).await;
        assert_eq!(seqs(&items), vec![1, 2, 3, 4]);
        let FeedItem::Event(last) = &items[3] else {
            panic!("{items:?}")
        };
        assert!(matches!(last.event, ProgressEvent::Finished { .. }));
    }

    #[tokio::test]
    async fn a_reattaching_reader_gets_only_what_came_after_its_last_event() {
        let feed = Arc::new(Feed::default());
        for n in 0..5 {
            feed.push(&tool(n));
        }
        feed.push(&finished());
        assert_eq!(
            seqs(&drain(&mut EventStream::new(feed, 3)).await),
            vec![4, 5, 6]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_live_reader_wakes_for_each_new_event() {
        let feed = Arc::new(Feed::default());
        let mut stream = EventStream::new(feed.clone(), 0);
        let writer = tokio::spawn({
            let feed = feed.clone();
            async move {
                for n in 0..3 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    feed.push(&tool(n));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                feed.push(&finished());
            }
        });
        assert_eq!(seqs(&drain(&mut stream).await), vec![1, 2, 3, 4]);
        assert_eq!(stream.seen(), 4);
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn memory_is_bounded_and_a_reader_is_told_what_it_missed() {
        let feed = Arc::new(Feed::default());
        let big = ProgressEvent::Text {
            text: "x".repeat(1024 * 1024),
            truncated: false,
        };
        for _ in 0..10 {
            feed.push(&big);
        }
        assert!(lock(&feed.log).bytes <= LIVE_BYTES);
        feed.push(&finished());
        assert!(lock(&feed.log).bytes <= FINISHED_BYTES);
        let items = drain(&mut EventStream::new(feed, 0)).await;
        assert_eq!(items[0], FeedItem::Missed { count: 10 });
        assert_eq!(seqs(&items), vec![11]);
    }

    #[test]
    fn events_serialize_with_their_number_kind_and_fields() {
        let e = FeedEvent {
            seq: 7,
            at: Utc::now(),
            event: ProgressEvent::Retrying {
                next_attempt: 2,
                after: Status::Overloaded,
                delay: Duration::from_millis(1500),
            },
        };
        let v = e.to_json();
        assert_eq!(v["seq"], 7);
        assert_eq!(v["kind"], "retrying");
        assert_eq!(v["next_attempt"], 2);
        assert_eq!(v["after"], "overloaded");
        assert_eq!(v["delay_ms"], 1500);
        assert!(v["message"].as_str().unwrap().contains("retrying"));
    }
}
