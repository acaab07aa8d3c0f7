//! Live progress as Server-Sent Events.
//!
//! **An execution** (`GET /executions/{id}/events`) is streamed from its event log
//! ([`crate::exec::Executor::events`]): every event once, in order, `id:` its sequence number,
//! `event:` its kind (`phase`, `tool_use`, `text`, `retrying`, …, `finished`), `data:` its JSON
//! ([`crate::exec::feed::FeedEvent::to_json`]); then one `event: result` with the full
//! `ExecutionResult`, and the stream ends. A client that reconnects with `Last-Event-ID` (every
//! `EventSource` does) or `?after=N` gets what came after that event and misses nothing the
//! log still holds; when memory bounds dropped some, an `event: missed` says how many.
//! An execution only the history knows gets its `result` alone.
//!
//! **A run** (`GET /runs/{id}/events`): `event: run` with its status (`RunStatus`) whenever
//! it has changed — looked at between tasks and whenever a task's events end (a run changes
//! at those points: a task started, finished, a usage-limit wait, the end) — each task's execution events as above with `task_id` and `execution_id` added to
//! the data and `id: <execution_id>:<seq>`, and `event: result` with the run and its results
//! once it has stopped. Reconnecting with the last such id resumes that task's events after it
//! (and the later tasks' from their start).
//!
//! Every stream sends a keep-alive comment while nothing happens, ends when the service shuts
//! down, and stops reading the log when the client goes away (reading costs the execution
//! nothing). A stream is fed by a task that writes into a small channel: a slow client holds
//! back only its own reader.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::Rest;
use super::openapi::Refusals;
use super::request::{bad_query, parse_id};
use super::types::ProblemDetails;
use crate::exec::feed::{EventStream, FeedItem};
use crate::exec::registry::Phase;
use crate::serve::problem::problem;

/// Events buffered per stream before the reader waits for the client.
const BUFFER: usize = 64;
/// A keep-alive comment after this long without an event (proxies cut idle streams).
const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// How long a run stream waits for the run to change before it looks again.
const RUN_POLL: Duration = Duration::from_secs(30);

/// `?after=N`: start after event `N` (what `Last-Event-ID` says, for clients that cannot set
/// headers).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AfterQuery {
    /// Start after this event id (`Last-Event-ID` wins when both are given).
    pub after: Option<String>,
}

type Tx = mpsc::Sender<Result<Event, Infallible>>;

/// The SSE response reading what `feed` writes.
fn sse(rest: &Rest, feed: impl FnOnce(Tx) -> tokio::task::JoinHandle<()>) -> Response {
    let (tx, rx) = mpsc::channel(BUFFER);
    let shutdown = rest.serve.shutdown_token().clone();
    let writer = feed(tx);
    // The stream ends when the feed is done (its sender dropped) or the service shuts down.
    let stream = futures_util::stream::unfold(
        (rx, shutdown, Some(writer)),
        |(mut rx, shutdown, writer)| async move {
            tokio::select! {
                item = rx.recv() => item.map(|i| (i, (rx, shutdown, writer))),
                _ = shutdown.cancelled() => {
                    if let Some(w) = &writer {
                        w.abort();
                    }
                    None
                }
            }
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// The id to start after: `Last-Event-ID`, else `?after=`.
fn last_event_id(headers: &HeaderMap, query: &AfterQuery) -> Option<String> {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| query.after.clone())
}

/// What both event streams take from a request: the id in the path (`what`: "an
/// execution", "a run") and where to resume — `Last-Event-ID`, else `?after=` — read by the
/// stream's own `parse` (`form` says what it expects, for the 400).
fn resume_point<T>(
    what: &str,
    id: &str,
    headers: &HeaderMap,
    query: Result<Query<AfterQuery>, QueryRejection>,
    parse: impl Fn(&str) -> Option<T>,
    form: &str,
) -> Result<(Uuid, Option<T>), Box<Response>> {
    let Query(query) = query.map_err(|e| Box::new(bad_query(e)))?;
    let id = parse_id(what, id).map_err(|r| Box::new(r.into_response()))?;
    let Some(text) = last_event_id(headers, &query) else {
        return Ok((id, None));
    };
    match parse(&text) {
        Some(at) => Ok((id, Some(at))),
        None => Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            format!("`Last-Event-ID`/`after` must be {form} (got `{text}`)"),
        ))),
    }
}

/// An execution's events, then its result.
#[utoipa::path(
    get,
    path = "/api/v1/executions/{id}/events",
    tag = "executions",
    params(
        ("id" = Uuid, Path, description = "The execution id"),
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event (sent by reconnecting EventSource clients)"),
        AfterQuery,
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `id:` the event's number, `event:` its kind, `data:` its JSON (the `ExecutionEvent` schema); an `event: missed` (`{count}`) when events were dropped by memory bounds; last an `event: result` whose data is the `ExecutionResult`", content_type = "text/event-stream", body = String),
        (status = 400, description = "Not an id, or a bad `Last-Event-ID`/`after`", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such execution", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "In flight in another process: ask that one", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn execution(
    State(rest): State<Rest>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<AfterQuery>, QueryRejection>,
) -> Response {
    let resume = |text: &str| text.parse::<u64>().ok();
    let (id, after) = match resume_point(
        "an execution",
        &id,
        &headers,
        query,
        resume,
        "an event number from this stream",
    ) {
        Ok((id, after)) => (id, after.unwrap_or(0)),
        Err(r) => return *r,
    };
    let executor = rest.serve.executor().clone();
    if let Some(stream) = executor.events(id, after) {
        return sse(&rest, |tx| {
            tokio::spawn(async move {
                if forward(&tx, stream, None).await {
                    send_result(&tx, &executor, id).await;
                }
            })
        });
    }
    match executor.lookup(id).await {
        None => super::executions::unknown_execution(&rest, id).await,
        Some(s) if s.phase != Phase::Finished => problem(
            StatusCode::CONFLICT,
            format!(
                "execution {id} is in flight in another process; its events are there: {}",
                s.last_event.unwrap_or_default()
            ),
        ),
        // Known only from the history: its log is gone, its result is not.
        Some(_) => sse(&rest, |tx| {
            tokio::spawn(async move { send_result(&tx, &executor, id).await })
        }),
    }
}

/// The task and execution a run's execution events belong to.
struct Tag<'a> {
    task_id: &'a str,
    execution_id: Uuid,
}

/// Forwards every item of `stream` until it ends (`true`) or the client goes (`false`).
async fn forward(tx: &Tx, mut stream: EventStream, tag: Option<Tag<'_>>) -> bool {
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = tx.closed() => return false,
        };
        let Some(item) = item else {
            return true;
        };
        let (kind, mut data) = match item {
            FeedItem::Event(e) => {
                let data = e.to_json();
                let kind = data
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("event")
                    .to_string();
                (kind, data)
            }
            FeedItem::Missed { count } => (
                "missed".to_string(),
                json!({
                    "count": count,
                    "message": format!("{count} earlier event(s) are no longer held (memory bound); the stream goes on after them"),
                }),
            ),
        };
        let seq = stream.seen();
        let id = match &tag {
            Some(t) => {
                if let Value::Object(map) = &mut data {
                    map.insert("task_id".into(), json!(t.task_id));
                    map.insert("execution_id".into(), json!(t.execution_id));
                }
                format!("{}:{seq}", t.execution_id)
            }
            None => seq.to_string(),
        };
        let event = Event::default().id(id).event(kind);
        let event = match event.json_data(&data) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("an event could not be encoded: {e}");
                continue;
            }
        };
        if tx.send(Ok(event)).await.is_err() {
            return false;
        }
    }
}

/// `event: result` with the execution's full result (or a note that it cannot be read).
async fn send_result(tx: &Tx, executor: &crate::exec::Executor, id: Uuid) {
    let result = executor.lookup(id).await.and_then(|s| s.result);
    let data = match result {
        Some(r) => serde_json::to_value(&r).unwrap_or_default(),
        None => {
            json!({"execution_id": id, "error": "the result could not be read from the history store"})
        }
    };
    if let Ok(event) = Event::default().event("result").json_data(&data) {
        let _ = tx.send(Ok(event)).await;
    }
}

/// A run's progress: its status on every change, each task's events, then its result.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{id}/events",
    tag = "runs",
    params(
        ("id" = Uuid, Path, description = "The run id"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event (`<execution_id>:<seq>`)"),
        AfterQuery,
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `event: run` (data: `RunStatus`) on every change; each task's execution events (`id: <execution_id>:<seq>`, `event:` the kind, data with `task_id` and `execution_id`); last `event: result` (data: `RunResult`)", content_type = "text/event-stream", body = String),
        (status = 400, description = "Not an id, or a bad `Last-Event-ID`/`after`", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "No such run", body = ProblemDetails, content_type = "application/problem+json"),
        Refusals,
    )
)]
pub async fn run(
    State(rest): State<Rest>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<AfterQuery>, QueryRejection>,
) -> Response {
    let (id, resume) = match resume_point(
        "a run",
        &id,
        &headers,
        query,
        parse_run_event_id,
        "an id from this stream, `<execution_id>:<seq>`",
    ) {
        Ok(found) => found,
        Err(r) => return *r,
    };
    match rest.serve.runs().status(id).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return problem(
                StatusCode::NOT_FOUND,
                format!("unknown run {id}: no such run in the history store"),
            );
        }
        Err(e) => return problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
    let rest2 = rest.clone();
    sse(&rest, move |tx| {
        tokio::spawn(async move { run_feed(rest2, id, resume, tx).await })
    })
}

/// `<execution_id>:<seq>`.
fn parse_run_event_id(text: &str) -> Option<(Uuid, u64)> {
    let (eid, seq) = text.split_once(':')?;
    Some((Uuid::parse_str(eid).ok()?, seq.parse().ok()?))
}

async fn run_feed(rest: Rest, id: Uuid, resume: Option<(Uuid, u64)>, tx: Tx) {
    let runs = rest.serve.runs();
    let executor = rest.serve.executor();
    // The run as last sent: a change of anything in it is sent, nothing else.
    let mut sent: Option<crate::runs::Run> = None;
    let mut streamed: HashSet<Uuid> = HashSet::new();
    // On a resume, the tasks before the one the client had reached were streamed already.
    let mut skip_before = None;
    loop {
        let status = match runs.status(id).await {
            Ok(Some(s)) => s,
            Ok(None) | Err(_) => return,
        };
        if sent.as_ref() != Some(&status.run) {
            sent = Some(status.run.clone());
            if !send_json(&tx, "run", &status).await {
                return;
            }
        }
        if let (Some((eid, _)), None) = (resume, skip_before) {
            skip_before = status
                .run
                .tasks
                .iter()
                .find(|t| t.execution_id == Some(eid) || t.executions.contains(&eid))
                .map(|t| t.position);
        }
        for task in &status.run.tasks {
            let Some(eid) = task.execution_id else {
                continue;
            };
            if streamed.contains(&eid) || skip_before.is_some_and(|p| task.position < p) {
                continue;
            }
            let after = match resume {
                Some((r, seq)) if r == eid => seq,
                _ => 0,
            };
            streamed.insert(eid);
            if let Some(stream) = executor.events(eid, after) {
                let tag = Tag {
                    task_id: &task.id,
                    execution_id: eid,
                };
                if !forward(&tx, stream, Some(tag)).await {
                    return;
                }
            }
        }
        if !status.live && !status.run.state.is_active() {
            let result = super::runs::run_result(&rest, status.run).await;
            send_json(&tx, "result", &result).await;
            return;
        }
        if !status.live {
            // Driven by another process: nothing more to see from here.
            return;
        }
        tokio::select! {
            _ = runs.watch(id, status.version, RUN_POLL) => {}
            _ = tx.closed() => return,
        }
    }
}

/// Sends `event: <kind>` with `value` as its data; `false` when the client has gone.
async fn send_json<T: serde::Serialize>(tx: &Tx, kind: &str, value: &T) -> bool {
    match Event::default().event(kind).json_data(value) {
        Ok(event) => tx.send(Ok(event)).await.is_ok(),
        Err(e) => {
            tracing::warn!("an event could not be encoded: {e}");
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_event_ids_name_the_execution_and_the_event() {
        let id = Uuid::new_v4();
        assert_eq!(parse_run_event_id(&format!("{id}:7")), Some((id, 7)));
        assert_eq!(parse_run_event_id("7"), None);
        assert_eq!(parse_run_event_id(&format!("{id}:x")), None);
        assert_eq!(parse_run_event_id("nope:7"), None);
    }
}
