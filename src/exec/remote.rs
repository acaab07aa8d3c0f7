//! Placement `pool`: one execution's life when a worker runs it. Instead of pre-hooks and
//! attempts, the prepared task is enqueued in a pool queue (`crate::pool`) and followed:
//!
//! ```text
//! local line (arrival order) → enqueue (XADD: the stream id fixes its place) → follow the
//! execution's event stream into the caller's sink and the registry → its result → announce
//! ```
//!
//! The worker records the result in the shared history before it publishes it (the same
//! `persist` as a local execution), so here it is only announced; this process records only
//! what never reached a worker (withdrawn while queued, not enqueued at all). Its in-flight
//! journal entry covers it only until it is enqueued: from then on the queue holds it, and a
//! restart of this process leaves it to its worker. A cancel
//! withdraws a task no worker has claimed, else asks its worker over the control channel; a
//! pause or resume is forwarded the same way. Reading the event stream from its start, a
//! follower misses nothing, whenever it attaches.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Executor;
use super::assemble::early;
use super::execution::{Execution, announce, journal_written, persist, queue};
use super::progress::{ProgressEvent, ProgressSink};
use super::result::{ExecutionResult, Status};
use super::spec::{TaskRequest, TaskSpec};
use super::timeout::TimeoutBasis;
use crate::pool::{Control, LostPolicy, Pool, Withdrawn};
use crate::store::ExecutionRecord;

/// How often the follower reads the event stream (and a worker its control channel).
pub(crate) const POLL: Duration = Duration::from_millis(50);
/// How often a task waiting in its queue checks whether the pool is parked.
const PARK_CHECK: Duration = Duration::from_secs(1);
/// After asking a worker to cancel, how long (beyond the kill grace) to wait for its result.
const CANCEL_CONFIRM: Duration = Duration::from_secs(15);

/// A task as it travels through a pool queue: the request (re-validated by the worker against
/// its own policy, with the timeout chosen here) and what the history keeps about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Payload {
    pub(crate) request: TaskRequest,
    pub(crate) category: Option<String>,
    pub(crate) complexity: Option<String>,
    pub(crate) timeout_basis: TimeoutBasis,
    pub(crate) submitted_at: DateTime<Utc>,
    /// The orchestrator: host and pid.
    pub(crate) origin: String,
    /// Its place in a repair loop, or the execution it validates: the worker records it with
    /// the execution (the loop itself runs at the orchestrator, one pooled task per attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) link: Option<crate::types::task::SpecLink>,
}

/// One entry of an execution's event stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Wire {
    /// A worker took the task (`previous`: from a worker whose lease expired).
    Claimed {
        worker: String,
        fence: u64,
        previous: Option<String>,
    },
    Progress {
        event: ProgressEvent,
    },
    /// A worker found its fence superseded and stopped the task's process tree.
    Superseded {
        worker: String,
        fence: u64,
    },
    /// The result, already in the history.
    Result {
        worker: String,
        result: Box<ExecutionResult>,
    },
}

impl Wire {
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What the history keeps about a pooled task, from its payload (empty when unreadable).
pub(crate) fn record_text(payload: Option<&Payload>) -> super::store_task::TaskText<'_> {
    super::store_task::TaskText {
        text: payload.map_or("", |p| p.request.task.as_str()),
        cwd: payload.and_then(|p| p.request.cwd.as_deref()).unwrap_or(""),
        category: payload.and_then(|p| p.category.clone()),
        complexity: payload.and_then(|p| p.complexity.clone()),
        submitted_at: payload.map_or_else(Utc::now, |p| p.submitted_at),
    }
}

/// The request a worker re-validates: the spec as validated here, the timeout made explicit.
pub(crate) fn request_of(spec: &TaskSpec) -> TaskRequest {
    TaskRequest {
        task: spec.prompt.clone(),
        timeout_secs: i64::try_from(spec.timeout.as_secs()).ok(),
        cwd: Some(spec.cwd.display().to_string()),
        model: spec.model.clone(),
        permission_mode: Some(spec.permission_mode.as_str().to_string()),
        allowed_tools: Some(spec.allowed_tools.clone()).filter(|t| !t.is_empty()),
        disallowed_tools: Some(spec.disallowed_tools.clone()).filter(|t| !t.is_empty()),
        max_turns: spec.max_turns.map(i64::from),
        max_budget_usd: spec.max_budget_usd,
        append_system_prompt: spec.append_system_prompt.clone(),
        json_schema: spec.json_schema.clone(),
        resume_session_id: spec.resume_session_id.clone(),
        wait: None,
        // The checks run where the work was done, on the worker, after its attempt; repairs
        // are driven from here, each one its own pooled task.
        accept: spec.accept.as_ref().map(accept_request_of),
        repair: None,
    }
}

/// The request form of validated checks, for the worker to validate again under its policy.
fn accept_request_of(plan: &crate::types::task::AcceptPlan) -> crate::types::accept::AcceptRequest {
    crate::types::accept::AcceptRequest {
        commands: plan.commands.clone(),
        timeout_secs: i64::try_from(plan.command_timeout.as_secs()).ok(),
        files: plan
            .files
            .iter()
            .map(|(path, matches)| crate::types::accept::FileCheck {
                path: path.display().to_string(),
                matches: matches.clone(),
            })
            .collect(),
        validator: plan.validator.clone(),
    }
}

/// How following ended: a result recorded by a worker, or one only this process knows.
enum Settled {
    There(ExecutionResult),
    Here(ExecutionResult),
}

/// The life of a pooled execution (see the module documentation).
pub(super) async fn steps(ex: Execution, executor: &Executor, pool: &Pool) -> ExecutionResult {
    let Execution {
        id,
        spec,
        ticket,
        sink,
        cancel,
        entry,
        submitted_at,
        mut journaled,
    } = ex;
    let inner = &executor.inner;
    let config = &inner.config;
    let queue_name = spec
        .pool_queue
        .clone()
        .or_else(|| config.pool_queue.clone())
        .unwrap_or_else(|| inner.session_queue.clone());
    let pause = &entry.pause;
    let settled = match queue(executor, id, &spec, ticket, &sink, &cancel, pause).await {
        Err(never_started) => Settled::Here(never_started),
        Ok((slot, _)) => {
            let payload = Payload {
                request: request_of(&spec),
                category: spec.category.clone(),
                complexity: spec.complexity.clone(),
                timeout_basis: spec.timeout_basis.clone(),
                submitted_at,
                origin: format!(
                    "{}:{}",
                    crate::process::owner::current().host,
                    std::process::id()
                ),
                link: spec.link.clone(),
            };
            let payload = serde_json::to_string(&payload).unwrap_or_default();
            let lost = if spec.idempotent {
                LostPolicy::Retry
            } else {
                LostPolicy::Lost
            };
            let enqueued = pool.enqueue(&queue_name, id, &payload, lost).await;
            // The next arrival may be enqueued now: its stream id comes after this one.
            drop(slot);
            match enqueued {
                Err(e) => Settled::Here(early(
                    id,
                    &spec,
                    Status::SpawnFailed,
                    &format!("not placed in the worker pool: {e}"),
                )),
                Ok(stream_id) => {
                    tracing::info!(queue = %queue_name, %stream_id, "enqueued in the worker pool");
                    // Durable in the pool's queue from here (and in its worker's journal once
                    // claimed): this process's journal entry leaves, so that a restart of this
                    // process neither records it `interrupted` nor kills its processes — a
                    // worker, maybe on this very host, runs it and records it.
                    let journal = journaled
                        .wait_for(Option::is_some)
                        .await
                        .ok()
                        .and_then(|v| v.clone());
                    if matches!(journal, Some(Ok(())))
                        && let Err(e) = inner.store.inflight_remove(id).await
                    {
                        tracing::warn!("journal entry not removed after enqueueing: {e}");
                    }
                    let place = Place {
                        pool,
                        id,
                        queue: &queue_name,
                        stream_id: &stream_id,
                    };
                    follow(place, executor, &spec, &sink, &cancel, pause).await
                }
            }
        }
    };
    pause.close();
    let mut result = match settled {
        Settled::There(result) => {
            // Recorded by its worker (this process's journal entry left at the enqueue).
            let mut result = result;
            journal_written(&mut journaled, &mut result).await;
            result
        }
        Settled::Here(mut result) => {
            result.timeout_secs = Some(spec.timeout.as_secs());
            result.timeout_basis = Some(spec.timeout_basis.clone());
            journal_written(&mut journaled, &mut result).await;
            let cwd = spec.cwd.display().to_string();
            let mut record = ExecutionRecord::new(
                &spec.prompt,
                &cwd,
                spec.category.clone(),
                spec.complexity.clone(),
                submitted_at,
                result,
            );
            if let Err(e) = persist(executor, &mut record).await {
                record
                    .result
                    .warnings
                    .push(format!("not recorded in the history store: {e}"));
            }
            record.result
        }
    };
    result.execution_id = id;
    announce(executor, &entry, &sink, result)
}

/// Where a pooled task waits.
struct Place<'a> {
    pool: &'a Pool,
    id: Uuid,
    queue: &'a str,
    stream_id: &'a str,
}

/// Follows the execution's event stream until its result, forwarding progress to the sink
/// and cancel/pause/resume to its worker.
async fn follow(
    place: Place<'_>,
    executor: &Executor,
    spec: &TaskSpec,
    sink: &Arc<dyn ProgressSink>,
    cancel: &CancellationToken,
    pause: &super::pause::PauseControl,
) -> Settled {
    let Place {
        pool,
        id,
        queue,
        stream_id,
    } = place;
    let mut after = "0".to_string();
    let mut cancel_sent = false;
    let mut give_up: Option<Instant> = None;
    let mut paused_sent = false;
    let mut failing_since: Option<Instant> = None;
    // Until a worker claims it: whether the pool is parked (a usage limit), checked once a
    // second, and the reset last reported to the caller.
    let mut claimed = false;
    let mut parked_checked: Option<Instant> = None;
    let mut parked_said: Option<i64> = None;
    loop {
        match pool.events(id, &after, 500).await {
            Ok(entries) => {
                if let Some(since) = failing_since.take() {
                    tracing::info!(
                        "worker pool reachable again after {:.1} s",
                        since.elapsed().as_secs_f64()
                    );
                }
                for (entry_id, json) in entries {
                    after = entry_id;
                    match serde_json::from_str::<Wire>(&json) {
                        Ok(Wire::Progress { event }) => {
                            // "finished" is announced here, once the result is in; the
                            // worker's own (local) queue position means nothing here.
                            if !matches!(
                                event,
                                ProgressEvent::Finished { .. } | ProgressEvent::Queued { .. }
                            ) {
                                sink.emit(event);
                            }
                        }
                        Ok(Wire::Result { result, worker }) => {
                            tracing::info!(%worker, status = ?result.status, "result from the worker pool");
                            return Settled::There(*result);
                        }
                        Ok(Wire::Claimed {
                            worker,
                            fence,
                            previous,
                        }) => {
                            claimed = true;
                            tracing::info!(%worker, fence, ?previous, "claimed by a pool worker");
                        }
                        Ok(Wire::Superseded { worker, fence }) => {
                            tracing::warn!(%worker, fence, "a pool worker was superseded (its lease expired) and stopped the task");
                        }
                        Err(e) => tracing::warn!("unreadable pool event: {e}"),
                    }
                }
            }
            Err(e) => {
                if failing_since.is_none() {
                    tracing::warn!("cannot read the execution's events from the pool: {e}");
                    failing_since = Some(Instant::now());
                }
            }
        }
        if !claimed && parked_checked.is_none_or(|t| t.elapsed() >= PARK_CHECK) {
            parked_checked = Some(Instant::now());
            if let Ok(Some(ms)) = pool.parked_until().await
                && parked_said != Some(ms)
                && let Some(resets_at) = DateTime::<Utc>::from_timestamp_millis(ms)
            {
                parked_said = Some(ms);
                sink.emit(ProgressEvent::WaitingForReset {
                    next_attempt: 1,
                    resets_at,
                    delay: (resets_at - Utc::now()).to_std().unwrap_or_default(),
                });
            }
        }
        if cancel.is_cancelled() && !cancel_sent {
            match pool.withdraw(queue, stream_id).await {
                Ok(Withdrawn::Yes) => {
                    return Settled::Here(early(
                        id,
                        spec,
                        Status::Cancelled,
                        "cancelled while queued in the worker pool; it never started",
                    ));
                }
                Ok(_) => match pool.control(id, Control::Cancel).await {
                    Ok(()) => {
                        cancel_sent = true;
                        let grace = executor.inner.config.kill_grace;
                        give_up = Some(Instant::now() + grace + CANCEL_CONFIRM);
                    }
                    Err(e) => tracing::warn!("cancel not sent to the worker yet: {e}"),
                },
                Err(e) => tracing::warn!("cancel not sent to the worker pool yet: {e}"),
            }
        }
        let paused = pause.state().is_paused();
        if paused != paused_sent && !cancel_sent {
            let control = if paused {
                Control::Pause
            } else {
                Control::Resume
            };
            match pool.control(id, control).await {
                Ok(()) => paused_sent = paused,
                Err(e) => tracing::warn!("{control:?} not sent to the worker yet: {e}"),
            }
        }
        if give_up.is_some_and(|t| Instant::now() > t) {
            return Settled::Here(early(
                id,
                spec,
                Status::Cancelled,
                "cancelled; the pool worker running it did not confirm (it may be unreachable)",
            ));
        }
        let mut pause_changes = pause.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = cancel.cancelled(), if !cancel_sent => {}
            _ = pause_changes.changed() => {}
        }
    }
}
