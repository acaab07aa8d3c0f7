//! The methods: `execute`, `control`, `attach`, `status`, `hook_status` (`ping` is answered
//! in the session loop).
//!
//! Each reads its params at once — errors are answered before anything happens — and runs
//! what has to wait on a task of its own, which queues the answer on the connection's
//! outgoing queue. `execute` takes its place in the executor's FIFO line before that task
//! starts, so tasks queue in the order their frames were read.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::notify;
use super::protocol::{self, ControlKind, RpcError, code};
use super::session::Shared;
use crate::exec::pause::PauseError;
use crate::exec::registry::Phase;

/// Queues `text` on the connection (dropped if the connection is gone).
async fn send(shared: &Shared, text: String) {
    let _ = shared.out.send(text).await;
}

/// Starts forwarding `id`'s events after `after` to this connection.
fn follow(shared: &Arc<Shared>, id: Uuid, after: u64, cancel_on_disconnect: bool) {
    let Some(stop) = shared.follow(id, cancel_on_disconnect) else {
        return;
    };
    shared.forwarders.spawn(notify::forward(
        shared.state.executor().clone(),
        id,
        after,
        shared.out.clone(),
        stop,
    ));
}

/// `execute`: validate, pass the rate limit, take a place in line (now), then — on a task —
/// prepare (the policy, exactly as `cc_execute`), submit at that place, answer
/// `{status: "started", execution_id, …}` and forward the execution's events.
pub(super) fn execute(
    shared: &Arc<Shared>,
    id: &Value,
    params: Map<String, Value>,
) -> Result<(), RpcError> {
    let params = protocol::execute_params(id, params)?;
    let state = &shared.state;
    if let Err(wait) = state.admit_submission(&shared.rate_key) {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        tracing::info!(session = %shared.session_id, "refused an execute: submission rate");
        return Err(RpcError::new(
            id.clone(),
            code::RATE_LIMITED,
            format!(
                "too many task submissions: at most {} per minute (bursts of {}) per token \
                 (serve.submit_per_minute, serve.submit_burst); retry after {secs} s",
                state.settings().submit_per_minute,
                state.settings().submit_burst
            ),
        )
        .with_data(json!({"retry_after_secs": secs})));
    }
    // The place in line, taken as the frame is read; dropped (the line moves on) if the task
    // is refused below.
    let place = state.executor().reserve();
    let shared = shared.clone();
    let id = id.clone();
    tokio::spawn(async move {
        let executor = shared.state.executor();
        let spec = match executor.prepare(params.request).await {
            Ok(mut spec) => {
                // With a worker pool, each connection's tasks are their own line.
                executor.join_session_queue(&mut spec, &shared.session_id.simple().to_string());
                spec
            }
            Err(e) => {
                let e = RpcError::new(id, code::INVALID_PARAMS, e.to_string());
                return send(&shared, e.to_text()).await;
            }
        };
        let submission = match executor.submit_at(spec, |_| {}, Some(place)).await {
            Ok(s) => s,
            Err(e) => {
                let e = RpcError::new(id, code::SUBMIT_FAILED, e.to_string());
                return send(&shared, e.to_text()).await;
            }
        };
        let execution_id = submission.execution_id;
        tracing::info!(session = %shared.session_id, %execution_id, "execute: queued");
        let answer = json!({
            "status": "started",
            "execution_id": execution_id,
            "queue_position": submission.queue_position,
            "timeout_secs": submission.timeout_secs,
            "timeout_basis": submission.timeout_basis,
            "cancel_on_disconnect": params.cancel_on_disconnect,
        });
        send(&shared, protocol::response(&id, answer)).await;
        follow(&shared, execution_id, 0, params.cancel_on_disconnect);
    });
    Ok(())
}

/// The execution a `control` is about: the one named, else this connection's only live one.
fn target(shared: &Shared, id: &Value, named: Option<Uuid>) -> Result<Uuid, RpcError> {
    if let Some(named) = named {
        return Ok(named);
    }
    let live = shared.live();
    match live.as_slice() {
        [one] => Ok(*one),
        [] => Err(RpcError::new(
            id.clone(),
            code::INVALID_PARAMS,
            "this connection has no live execution: name one with `execution_id`",
        )),
        many => Err(RpcError::new(
            id.clone(),
            code::INVALID_PARAMS,
            format!(
                "this connection has {} live executions: name one with `execution_id` ({})",
                many.len(),
                many.iter()
                    .map(Uuid::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_data(json!({"execution_ids": many}))),
    }
}

/// `control`: CANCEL stops the execution and its whole process tree (answered once it is
/// gone; its `process.completed`, status `cancelled`, follows or has already gone out). PAUSE
/// stops the tree (SIGSTOP) with its deadline and stall watchdog standing still; RESUME
/// continues it (`Executor::pause`/`resume`, as every surface).
pub(super) fn control(
    shared: &Arc<Shared>,
    id: &Value,
    params: &Map<String, Value>,
) -> Result<(), RpcError> {
    let (kind, named) = protocol::control_params(id, params)?;
    let execution_id = target(shared, id, named)?;
    let shared = shared.clone();
    let id = id.clone();
    tokio::spawn(async move {
        match kind {
            ControlKind::Cancel => cancel(&shared, id, execution_id).await,
            ControlKind::Pause | ControlKind::Resume => {
                pause(&shared, id, execution_id, kind).await;
            }
        }
    });
    Ok(())
}

/// The answer and the `process.<done>` notification of a control that did its job.
async fn controlled(
    shared: &Shared,
    id: &Value,
    execution_id: Uuid,
    kind: ControlKind,
    extra: Value,
) {
    let done = kind.done();
    let mut answer = json!({"status": done, "execution_id": execution_id});
    let mut note = json!({"execution_id": execution_id});
    if let (Value::Object(a), Value::Object(n), Value::Object(x)) = (&mut answer, &mut note, extra)
    {
        for (k, v) in x {
            n.insert(k.clone(), v.clone());
            a.insert(k, v);
        }
    }
    tracing::info!(session = %shared.session_id, %execution_id, "control: {done}");
    send(shared, protocol::response(id, answer)).await;
    send(
        shared,
        protocol::notification(&format!("process.{done}"), note),
    )
    .await;
}

async fn cancel(shared: &Shared, id: Value, execution_id: Uuid) {
    let executor = shared.state.executor();
    if let Some(s) = executor.status(execution_id)
        && s.phase == Phase::Finished
    {
        return send(shared, finished_error(id, execution_id, s.status)).await;
    }
    match executor.cancel(execution_id).await {
        None => send(shared, unknown(id, execution_id)).await,
        Some(s) if s.phase != Phase::Finished => {
            // Known only from the journal: another process runs it.
            let e = RpcError::new(
                id,
                code::NOT_AVAILABLE,
                format!(
                    "execution {execution_id} is not run by this server: {}",
                    s.last_event.unwrap_or_default()
                ),
            );
            send(shared, e.to_text()).await
        }
        Some(s) => {
            let extra = json!({"final_status": s.status});
            controlled(shared, &id, execution_id, ControlKind::Cancel, extra).await;
        }
    }
}

async fn pause(shared: &Shared, id: Value, execution_id: Uuid, kind: ControlKind) {
    let executor = shared.state.executor();
    let outcome = if kind == ControlKind::Pause {
        executor.pause(execution_id).await
    } else {
        executor.resume(execution_id).await
    };
    match outcome {
        Ok(report) => {
            // `change` says whether anything changed (`paused`, `already_paused`, `resumed`,
            // `not_paused`); `settled`: the tree followed within the bound.
            let extra = json!({"change": report.change.as_str(), "settled": report.settled,
                               "phase": report.status.phase});
            controlled(shared, &id, execution_id, kind, extra).await;
        }
        Err(e) => {
            let code = match &e {
                PauseError::Unknown(_) => code::UNKNOWN_EXECUTION,
                PauseError::Finished { .. } | PauseError::Closed { .. } => code::ALREADY_FINISHED,
                PauseError::Elsewhere { .. } => code::NOT_AVAILABLE,
            };
            send(shared, RpcError::new(id, code, e.to_string()).to_text()).await;
        }
    }
}

fn unknown(id: Value, execution_id: Uuid) -> String {
    RpcError::new(
        id,
        code::UNKNOWN_EXECUTION,
        format!(
            "unknown execution id {execution_id}: it never ran on this server (nor is it in its history)"
        ),
    )
    .to_text()
}

fn finished_error(
    id: Value,
    execution_id: Uuid,
    status: Option<crate::types::result::Status>,
) -> String {
    let status = status.map_or("unknown", |s| s.as_str());
    RpcError::new(
        id,
        code::ALREADY_FINISHED,
        format!(
            "execution {execution_id} already finished ({status}); there is nothing to control"
        ),
    )
    .with_data(json!({"status": status}))
    .to_text()
}

/// `attach`: follow an execution's events after `after_seq` (default 0: all the log still
/// holds), then live; a finished one gets its `process.completed`.
pub(super) fn attach(
    shared: &Arc<Shared>,
    id: &Value,
    params: &Map<String, Value>,
) -> Result<(), RpcError> {
    let execution_id = protocol::required_id(id, params)?;
    let after = protocol::count_param(id, params, "after_seq", 0, u64::MAX)?;
    let shared = shared.clone();
    let id = id.clone();
    tokio::spawn(async move {
        let executor = shared.state.executor();
        let Some(s) = executor.lookup(execution_id).await else {
            return send(&shared, unknown(id, execution_id)).await;
        };
        let held = executor.status(execution_id).is_some();
        if !held && s.phase != Phase::Finished {
            let e = RpcError::new(
                id,
                code::NOT_AVAILABLE,
                format!(
                    "execution {execution_id} is not run by this server: {}",
                    s.last_event.unwrap_or_default()
                ),
            );
            return send(&shared, e.to_text()).await;
        }
        let answer = json!({"status": "attached", "execution_id": execution_id,
                            "after_seq": after, "phase": s.phase});
        send(&shared, protocol::response(&id, answer)).await;
        follow(&shared, execution_id, after, false);
    });
    Ok(())
}

/// `status`: the execution's status as `monitor_execution` reports it (live, or from the
/// history; with the result once finished).
pub(super) fn status(
    shared: &Arc<Shared>,
    id: &Value,
    params: &Map<String, Value>,
) -> Result<(), RpcError> {
    let execution_id = protocol::required_id(id, params)?;
    let shared = shared.clone();
    let id = id.clone();
    tokio::spawn(async move {
        let text = match shared.state.executor().lookup(execution_id).await {
            None => unknown(id, execution_id),
            Some(s) => match serde_json::to_value(&s) {
                Ok(v) => protocol::response(&id, v),
                Err(e) => RpcError::new(id, code::INTERNAL_ERROR, e.to_string()).to_text(),
            },
        };
        send(&shared, text).await;
    });
    Ok(())
}

/// `hook_status`: the hooks and their recent runs (`limit`, default 20, at most 200), as
/// `get_hook_status` reports them.
pub(super) fn hook_status(
    shared: &Arc<Shared>,
    id: &Value,
    params: &Map<String, Value>,
) -> Result<Value, RpcError> {
    let limit = protocol::count_param(id, params, "limit", 20, 200)?;
    serde_json::to_value(shared.state.executor().hook_status(limit as usize))
        .map_err(|e| RpcError::new(id.clone(), code::INTERNAL_ERROR, e.to_string()))
}
