//! An execution's events as the predecessor's notifications, and the task that forwards them
//! to one connection.
//!
//! Every event of the execution's log ([`crate::exec::feed`]) becomes notifications carrying
//! its `seq`, in `seq` order:
//!
//! | event | notification |
//! |---|---|
//! | `started` (a `claude` process began) | `process.started` |
//! | `finished` | `process.completed` (status, exit code, time, the full result) |
//! | the model's text | `process.output`, chunked over [`CHUNK_BYTES`] |
//! | any other (queued, tool use, API retry, retry, heartbeat, denial, usage-limit wait) | `process.output` |
//! | a usage-limit wait, a 429 API retry or a retry after `rate_limited` | also `error.rate_limit_exceeded` |
//! | events the log no longer held | `process.missed` (how many) |
//!
//! So a client that keeps the last `seq` it saw whole can reattach after it and miss nothing
//! the server still holds.

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::protocol::notification;
use crate::exec::Executor;
use crate::exec::feed::{FeedEvent, FeedItem};
use crate::exec::progress::ProgressEvent;
use crate::exec::registry::Phase;
use crate::types::result::{ExecutionResult, Status};

/// Text longer than this goes out in chunks (`chunk_index` from 0, `total_chunks`).
pub const CHUNK_BYTES: usize = 64 * 1024;

/// `text` in pieces of at most `max` bytes, cut on character boundaries.
pub fn chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        let mut end = max;
        while end > 0 && !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end == 0 {
            // A character wider than `max` (only for a tiny `max`): take it whole.
            end = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out.push(rest);
    out
}

/// `process.output` for one event (text chunked), and `error.rate_limit_exceeded` after it
/// for the rate-limit kinds. Not for `started` and `finished`, which have notifications of
/// their own.
pub fn output_notifications(id: Uuid, e: &FeedEvent) -> Vec<String> {
    let mut event = e.to_json();
    let mut out = Vec::new();
    match &e.event {
        ProgressEvent::Text { text, truncated } => {
            // The text travels in `data` only (not twice).
            if let Value::Object(map) = &mut event {
                map.remove("text");
            }
            let pieces = chunks(text, CHUNK_BYTES);
            let total = pieces.len();
            for (i, piece) in pieces.into_iter().enumerate() {
                let (index, of) = if total > 1 {
                    (json!(i), json!(total))
                } else {
                    (Value::Null, Value::Null)
                };
                out.push(notification(
                    "process.output",
                    json!({"execution_id": id, "type": "stdout", "data": piece, "event": event,
                           "seq": e.seq, "truncated": truncated, "chunk_index": index,
                           "total_chunks": of}),
                ));
            }
        }
        other => {
            out.push(notification(
                "process.output",
                json!({"execution_id": id, "type": "stdout", "data": other.message(),
                       "event": event, "seq": e.seq, "truncated": false, "chunk_index": null,
                       "total_chunks": null}),
            ));
            if let Some(limit) = rate_limit(id, e) {
                out.push(limit);
            }
        }
    }
    out
}

/// `error.rate_limit_exceeded` for a usage-limit wait (`usage_limit`, with `reset_timestamp`
/// in epoch seconds) or a 429 (`rate_limit_429`): the CLI's own API retry on HTTP 429, or our
/// retry after an attempt ended `rate_limited`.
fn rate_limit(id: Uuid, e: &FeedEvent) -> Option<String> {
    let (error_type, reset, retry_after_ms) = match &e.event {
        ProgressEvent::WaitingForReset {
            resets_at, delay, ..
        } => (
            "usage_limit",
            json!(resets_at.timestamp()),
            delay.as_millis() as u64,
        ),
        ProgressEvent::ApiRetry {
            error_status: Some(429),
            delay_ms,
            ..
        } => ("rate_limit_429", Value::Null, delay_ms.unwrap_or(0)),
        ProgressEvent::Retrying {
            after: Status::RateLimited,
            delay,
            ..
        } => ("rate_limit_429", Value::Null, delay.as_millis() as u64),
        _ => return None,
    };
    Some(notification(
        "error.rate_limit_exceeded",
        json!({"execution_id": id, "error_type": error_type, "reset_timestamp": reset,
               "retry_after_ms": retry_after_ms, "message": e.event.message(),
               "seq": e.seq, "event": e.to_json()}),
    ))
}

/// `process.started` for a `started` event.
fn started(id: Uuid, e: &FeedEvent) -> String {
    let (attempt, session_id, model) = match &e.event {
        ProgressEvent::Started {
            attempt,
            session_id,
            model,
        } => (json!(attempt), json!(session_id), json!(model)),
        _ => (Value::Null, Value::Null, Value::Null),
    };
    notification(
        "process.started",
        json!({"execution_id": id, "seq": e.seq, "attempt": attempt, "session_id": session_id,
               "model": model, "event": e.to_json()}),
    )
}

/// `process.completed`: our status, the exit code, the time it took (seconds) and the full
/// result as `cc_execute` returns it. `seq` is the `finished` event's (null when the
/// execution is known only from the history).
pub fn completed(
    id: Uuid,
    seq: Option<u64>,
    status: Option<Status>,
    r: Option<&ExecutionResult>,
) -> String {
    let status = r.map(|r| r.status).or(status);
    notification(
        "process.completed",
        json!({"execution_id": id, "seq": seq, "status": status,
               "exit_code": r.and_then(|r| r.exit_code),
               "execution_time": r.map(|r| r.duration_ms as f64 / 1000.0),
               "result": r.and_then(|r| serde_json::to_value(r).ok())}),
    )
}

/// Forwards execution `id`'s events after `after` to `out` until its `process.completed`
/// (or until `stop`, or the connection is gone). An execution this process no longer holds in
/// memory but the history knows gets its `process.completed` at once.
pub async fn forward(
    executor: Executor,
    id: Uuid,
    after: u64,
    out: mpsc::Sender<String>,
    stop: CancellationToken,
) {
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = forward_all(&executor, id, after, &out) => {}
    }
}

async fn forward_all(executor: &Executor, id: Uuid, after: u64, out: &mpsc::Sender<String>) {
    let Some(mut stream) = executor.events(id, after) else {
        if let Some(s) = executor.lookup(id).await
            && s.phase == Phase::Finished
        {
            let _ = out
                .send(completed(id, None, s.status, s.result.as_ref()))
                .await;
        }
        return;
    };
    while let Some(item) = stream.next().await {
        let messages = match item {
            FeedItem::Missed { count } => vec![notification(
                "process.missed",
                json!({"execution_id": id, "missed": count, "resumes_after_seq": stream.seen(),
                       "message": format!("{count} event(s) were no longer held (the server keeps a bounded log per execution); the next one follows")}),
            )],
            FeedItem::Event(e) => match &e.event {
                ProgressEvent::Started { .. } => vec![started(id, &e)],
                ProgressEvent::Finished { status } => {
                    let result = executor.wait(id).await;
                    vec![completed(id, Some(e.seq), Some(*status), result.as_ref())]
                }
                _ => output_notifications(id, &e),
            },
        };
        for m in messages {
            if out.send(m).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn event(seq: u64, event: ProgressEvent) -> FeedEvent {
        FeedEvent {
            seq,
            at: chrono::Utc::now(),
            event,
        }
    }

    fn parsed(texts: &[String]) -> Vec<Value> {
        texts
            .iter()
            .map(|t| serde_json::from_str(t).unwrap())
            .collect()
    }

    #[test]
    fn chunks_cut_on_character_boundaries_and_join_back() {
        let text = "é".repeat(100);
        let pieces = chunks(&text, 7);
        assert!(pieces.iter().all(|p| p.len() <= 7));
        assert_eq!(pieces.concat(), text);
        assert_eq!(chunks("short", 64), vec!["short"]);
        assert_eq!(chunks("", 64), vec![""]);
    }

    #[test]
    fn long_text_goes_out_in_numbered_chunks_with_one_seq() {
        let id = Uuid::new_v4();
        let text = "x".repeat(CHUNK_BYTES * 2 + 10);
        let n = parsed(&output_notifications(
            id,
            &event(
                4,
                ProgressEvent::Text {
                    text: text.clone(),
                    truncated: false,
                },
            ),
        ));
        assert_eq!(n.len(), 3);
        let mut joined = String::new();
        for (i, m) in n.iter().enumerate() {
            assert_eq!(m["method"], "process.output");
            assert_eq!(m["params"]["seq"], 4);
            assert_eq!(m["params"]["chunk_index"], i);
            assert_eq!(m["params"]["total_chunks"], 3);
            assert!(m["params"]["event"].get("text").is_none());
            joined.push_str(m["params"]["data"].as_str().unwrap());
        }
        assert_eq!(joined, text);
        let short = parsed(&output_notifications(
            id,
            &event(
                5,
                ProgressEvent::Text {
                    text: "hi".into(),
                    truncated: false,
                },
            ),
        ));
        assert_eq!(short.len(), 1);
        assert!(short[0]["params"]["chunk_index"].is_null());
    }

    #[test]
    fn usage_limits_and_429s_are_also_rate_limit_notifications() {
        let id = Uuid::new_v4();
        let resets_at = chrono::Utc::now() + chrono::Duration::seconds(90);
        let n = parsed(&output_notifications(
            id,
            &event(
                2,
                ProgressEvent::WaitingForReset {
                    next_attempt: 2,
                    resets_at,
                    delay: Duration::from_secs(90),
                },
            ),
        ));
        assert_eq!(n[0]["method"], "process.output");
        assert_eq!(n[1]["method"], "error.rate_limit_exceeded");
        assert_eq!(n[1]["params"]["error_type"], "usage_limit");
        assert_eq!(n[1]["params"]["reset_timestamp"], resets_at.timestamp());
        let n = parsed(&output_notifications(
            id,
            &event(
                3,
                ProgressEvent::ApiRetry {
                    attempt: 1,
                    max_retries: Some(10),
                    error_status: Some(429),
                    error: Some("rate_limit".into()),
                    delay_ms: Some(500),
                },
            ),
        ));
        assert_eq!(n[1]["params"]["error_type"], "rate_limit_429");
        let n = output_notifications(
            id,
            &event(
                4,
                ProgressEvent::ToolUse {
                    name: "Read".into(),
                    summary: "a.txt".into(),
                },
            ),
        );
        assert_eq!(n.len(), 1);
    }

    #[test]
    fn completed_carries_our_status_and_the_whole_result() {
        let id = Uuid::new_v4();
        let mut r = ExecutionResult::empty(id, Status::Succeeded, vec![]);
        r.exit_code = Some(0);
        r.duration_ms = 1500;
        r.result = Some("the answer".into());
        let v: Value = serde_json::from_str(&completed(id, Some(9), None, Some(&r))).unwrap();
        assert_eq!(v["params"]["status"], "succeeded");
        assert_eq!(v["params"]["exit_code"], 0);
        assert_eq!(v["params"]["execution_time"], 1.5);
        assert_eq!(v["params"]["result"]["result"], "the answer");
        assert_eq!(v["params"]["seq"], 9);
    }
}
