//! `cc-executor worker`: takes tasks from the pool's queues (`crate::pool`) and runs them with
//! the same executor as a local task — process groups, deadlines, the stall watchdog,
//! evidence, hooks — under this machine's own configuration and policy (a task the policy
//! refuses is recorded as refused, not run).
//!
//! For each claimed task: its lease is renewed every third of the lease; a renewal that finds
//! the fence superseded (the lease expired, another worker took the task over) cancels the
//! execution, which stops its whole process tree, and says so in the event stream and the
//! history. Control requests (cancel, pause, resume) are read from the execution's control
//! channel every 50 ms. Events go to the execution's event stream in order; the result is
//! published only after the executor recorded it in the (shared) history. A task taken over
//! from a worker that disappeared is recorded `interrupted` ("lost") unless it is declared
//! idempotent (lost policy `retry`), then it runs again. A usage limit with a reset time
//! parks the whole pool until the reset (`Pool::park`): no worker claims before it, so no
//! other worker burns attempts on the account.
//!
//! Drain: once `drain` is cancelled (SIGTERM) no new task is claimed; the running ones finish
//! and are settled, then the worker leaves the registry. Nothing is dropped: a worker killed
//! harder than that loses its tasks to the lease, as above.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::exec::Executor;
use crate::exec::progress::ProgressEvent;
use crate::exec::remote::{Payload, Wire, record_text};
use crate::pool::{Claim, Control, LostPolicy, Pool, WorkerInfo};
use crate::types::result::{ExecutionResult, Status};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Its consumer name in the pool (unique per worker process).
    pub name: String,
    /// Tasks it runs at once (from different queues: a queue has one in flight at a time).
    pub slots: usize,
    /// Queues it serves; empty: every queue.
    pub queues: Vec<String>,
    /// A claim lapses this long after its last renewal.
    pub lease: Duration,
    /// Pause between claim attempts when there was nothing to do.
    pub poll: Duration,
}

impl WorkerOptions {
    /// Defaults: one slot, every queue, a 10 s lease, 50 ms between idle claims, named after
    /// the host and pid.
    pub fn new() -> Self {
        let me = crate::process::owner::current();
        WorkerOptions {
            name: format!(
                "{}-{}-{}",
                me.host,
                me.pid,
                &uuid::Uuid::new_v4().simple().to_string()[..6]
            ),
            slots: 1,
            queues: Vec::new(),
            lease: Duration::from_secs(10),
            poll: Duration::from_millis(50),
        }
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// What a worker did, when it stopped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkerReport {
    /// Tasks it ran to a result it published.
    pub ran: usize,
    /// Tasks it found lost (their worker's lease expired) and recorded as lost.
    pub recorded_lost: usize,
    /// Tasks it stopped because another worker had taken them over.
    pub superseded: usize,
}

#[derive(Default)]
struct Counters {
    ran: AtomicUsize,
    lost: AtomicUsize,
    superseded: AtomicUsize,
    busy: AtomicUsize,
    /// Wakes the heartbeat: the load changed, say so now.
    changed: tokio::sync::Notify,
}

/// Runs the worker until `drain` is cancelled and its running tasks are settled.
pub async fn run(
    executor: Executor,
    pool: Pool,
    opts: WorkerOptions,
    drain: CancellationToken,
) -> WorkerReport {
    let counters = Arc::new(Counters::default());
    let draining = Arc::new(AtomicBool::new(false));
    let started_ms = chrono::Utc::now().timestamp_millis();
    let heartbeat = {
        let (pool, opts, counters, draining) = (
            pool.clone(),
            opts.clone(),
            counters.clone(),
            draining.clone(),
        );
        tokio::spawn(async move {
            let every = (opts.lease / 3).max(Duration::from_millis(100));
            loop {
                let me = crate::process::owner::current();
                let info = WorkerInfo {
                    name: opts.name.clone(),
                    host: me.host.clone(),
                    pid: me.pid,
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    slots: opts.slots,
                    busy: counters.busy.load(Ordering::SeqCst),
                    draining: draining.load(Ordering::SeqCst),
                    started_ms,
                    heartbeat_ms: chrono::Utc::now().timestamp_millis(),
                };
                if let Err(e) = pool.heartbeat(&info, every * 3).await {
                    tracing::warn!("worker heartbeat not recorded: {e}");
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = counters.changed.notified() => {}
                }
            }
        })
    };
    let mut tasks = tokio::task::JoinSet::new();
    let mut failing = false;
    tracing::info!(worker = %opts.name, slots = opts.slots, queues = ?opts.queues, pool = %pool.location(), "worker started");
    while !drain.is_cancelled() {
        while tasks.try_join_next().is_some() {}
        let mut wait = opts.poll;
        if counters.busy.load(Ordering::SeqCst) < opts.slots.max(1) {
            match pool.claim(&opts.name, &opts.queues, opts.lease).await {
                Ok(Some(claim)) => {
                    failing = false;
                    counters.busy.fetch_add(1, Ordering::SeqCst);
                    counters.changed.notify_one();
                    let (executor, pool, opts, counters) = (
                        executor.clone(),
                        pool.clone(),
                        opts.clone(),
                        counters.clone(),
                    );
                    let span = tracing::info_span!("pool_task", execution_id = %claim.execution_id, queue = %claim.queue, fence = claim.fence);
                    tasks.spawn(
                        async move {
                            handle(&executor, &pool, &opts, claim, &counters).await;
                            counters.busy.fetch_sub(1, Ordering::SeqCst);
                            counters.changed.notify_one();
                        }
                        .instrument(span),
                    );
                    continue;
                }
                Ok(None) => failing = false,
                Err(e) => {
                    if !failing {
                        tracing::warn!("cannot claim from the worker pool (retrying): {e}");
                    }
                    failing = true;
                    wait = Duration::from_millis(500);
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = drain.cancelled() => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    draining.store(true, Ordering::SeqCst);
    tracing::info!(worker = %opts.name, running = tasks.len(), "draining: finishing the running tasks, claiming nothing new");
    while tasks.join_next().await.is_some() {}
    heartbeat.abort();
    if let Err(e) = pool.deregister(&opts.name).await {
        tracing::warn!("worker not removed from the registry: {e}");
    }
    WorkerReport {
        ran: counters.ran.load(Ordering::SeqCst),
        recorded_lost: counters.lost.load(Ordering::SeqCst),
        superseded: counters.superseded.load(Ordering::SeqCst),
    }
}

/// Publishes an entry of the execution's event stream; a failure is logged (the result is
/// what matters, and it is in the history either way).
async fn publish(pool: &Pool, id: uuid::Uuid, wire: &Wire) {
    if let Err(e) = pool.publish(id, &wire.to_json()).await {
        tracing::warn!(execution_id = %id, "event not published to the pool: {e}");
    }
}

/// One claimed task, from claim to settle.
async fn handle(
    executor: &Executor,
    pool: &Pool,
    opts: &WorkerOptions,
    claim: Claim,
    counters: &Counters,
) {
    let id = claim.execution_id;
    publish(
        pool,
        id,
        &Wire::Claimed {
            worker: opts.name.clone(),
            fence: claim.fence,
            previous: claim.previous.clone(),
        },
    )
    .await;
    let payload: Result<Payload, _> = serde_json::from_str(&claim.payload);
    let result = match (&claim.previous, claim.lost_policy, payload) {
        (_, _, Err(e)) => {
            let r = ExecutionResult::empty(
                id,
                Status::Crashed,
                vec![format!(
                    "the pool task could not be read ({e}); it never ran"
                )],
            );
            Some(executor.record_result(&record_text(None), r).await)
        }
        (Some(previous), LostPolicy::Lost, Ok(p)) => {
            tracing::warn!(execution_id = %id, %previous, "a pool task was lost: its worker stopped renewing its lease");
            counters.lost.fetch_add(1, Ordering::SeqCst);
            let r = ExecutionResult::empty(
                id,
                Status::Interrupted,
                vec![format!(
                    "lost: pool worker `{previous}` stopped renewing its lease while it ran this task (it died, stopped or lost the network); recorded by `{}`, not run again (lost policy `lost`: a half-done task may have changed files)",
                    opts.name
                )],
            );
            Some(executor.record_result(&record_text(Some(&p)), r).await)
        }
        (previous, _, Ok(p)) => {
            run_claimed(
                executor,
                pool,
                opts,
                &claim,
                previous.as_deref(),
                p,
                counters,
            )
            .await
        }
    };
    let Some(result) = result else {
        // Superseded: the worker that holds the fence now settles it.
        return;
    };
    publish(
        pool,
        id,
        &Wire::Result {
            worker: opts.name.clone(),
            result: Box::new(result),
        },
    )
    .await;
    match pool.settle(&claim).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(execution_id = %id, "settled by another worker: this one's fence was superseded at the end")
        }
        Err(e) => {
            tracing::warn!(execution_id = %id, "not settled (its lease will lapse and the next claim records it): {e}")
        }
    }
}

/// Runs a claimed task; `None` when this worker was superseded while it ran (its tree is
/// stopped, and the history says so).
async fn run_claimed(
    executor: &Executor,
    pool: &Pool,
    opts: &WorkerOptions,
    claim: &Claim,
    previous: Option<&str>,
    payload: Payload,
    counters: &Counters,
) -> Option<ExecutionResult> {
    let id = claim.execution_id;
    let text = record_text(Some(&payload));
    let mut spec = match payload.request.clone().validate(executor.config()) {
        Ok(spec) => spec,
        Err(e) => {
            let r = ExecutionResult::empty(
                id,
                Status::SpawnFailed,
                vec![format!(
                    "refused by the policy of pool worker `{}`: {e}; it never ran",
                    opts.name
                )],
            );
            return Some(executor.record_result(&text, r).await);
        }
    };
    spec.category = payload.category.clone();
    spec.complexity = payload.complexity.clone();
    spec.timeout_basis = payload.timeout_basis.clone();
    spec.link = payload.link.clone();
    if let Some(previous) = previous {
        spec.warnings.push(format!(
            "run again: pool worker `{previous}` lost it (lost policy `retry`: declared idempotent)"
        ));
    }
    let cancel = CancellationToken::new();
    let superseded = Arc::new(AtomicBool::new(false));
    let (events, mut rx) = mpsc::unbounded_channel::<ProgressEvent>();
    let publisher = {
        let pool = pool.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                publish(&pool, id, &Wire::Progress { event }).await;
            }
        })
    };
    let guard = CancellationToken::new();
    let renewer = tokio::spawn(renew(
        pool.clone(),
        claim.clone(),
        opts.lease,
        cancel.clone(),
        superseded.clone(),
        guard.clone(),
    ));
    let controller = tokio::spawn(controls(
        pool.clone(),
        executor.clone(),
        id,
        cancel.clone(),
        guard.clone(),
    ));
    let sink = {
        let pool = pool.clone();
        move |event: ProgressEvent| {
            if let ProgressEvent::WaitingForReset { resets_at, .. } = &event {
                // No other worker burns attempts on the account until it resets.
                let (pool, at) = (pool.clone(), *resets_at);
                tokio::spawn(async move { park(&pool, at).await });
            }
            let _ = events.send(event);
        }
    };
    let mut result = executor.execute_as(id, spec, sink, cancel).await;
    if let (Status::RateLimited, Some(at)) = (result.status, result.resets_at) {
        park(pool, at).await;
    }
    guard.cancel();
    let _ = renewer.await;
    let _ = controller.await;
    let _ = publisher.await;
    if superseded.load(Ordering::SeqCst) {
        counters.superseded.fetch_add(1, Ordering::SeqCst);
        tracing::warn!(execution_id = %id, fence = claim.fence, "superseded: the lease lapsed and another worker took the task over; its process tree was stopped");
        publish(
            pool,
            id,
            &Wire::Superseded {
                worker: opts.name.clone(),
                fence: claim.fence,
            },
        )
        .await;
        result.status = Status::Interrupted;
        result.warnings.push(format!(
            "superseded: pool worker `{}` (fence {}) could not renew its lease in time and another worker took the task over; it stopped its own process tree",
            opts.name, claim.fence
        ));
        executor.record_result(&text, result).await;
        return None;
    }
    counters.ran.fetch_add(1, Ordering::SeqCst);
    Some(result)
}

/// Parks the pool until a usage limit resets, saying so.
async fn park(pool: &Pool, until: chrono::DateTime<chrono::Utc>) {
    match pool.park(until).await {
        Ok(()) => tracing::warn!(%until, "usage limit: the pool is parked until it resets"),
        Err(e) => tracing::warn!("usage limit not shared with the pool: {e}"),
    }
}

/// Renews a claim's lease every third of it until `done`; superseded (or unable to renew for
/// a whole lease: it cannot know it still holds it), it cancels the execution.
async fn renew(
    pool: Pool,
    claim: Claim,
    lease: Duration,
    cancel: CancellationToken,
    superseded: Arc<AtomicBool>,
    done: CancellationToken,
) {
    let every = (lease / 3).max(Duration::from_millis(50));
    let mut renewed = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = done.cancelled() => return,
        }
        match pool.renew(&claim, lease).await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => {
                superseded.store(true, Ordering::SeqCst);
                cancel.cancel();
                return;
            }
            Err(e) if renewed.elapsed() >= lease => {
                tracing::warn!("lease not renewed for a whole lease ({e}): stopping the task");
                superseded.store(true, Ordering::SeqCst);
                cancel.cancel();
                return;
            }
            Err(e) => tracing::warn!("lease not renewed yet: {e}"),
        }
    }
}

/// Reads the execution's control channel until `done`.
async fn controls(
    pool: Pool,
    executor: Executor,
    id: uuid::Uuid,
    cancel: CancellationToken,
    done: CancellationToken,
) {
    let mut after = "0".to_string();
    loop {
        match pool.controls(id, &after).await {
            Ok(list) => {
                for (entry, control) in list {
                    after = entry;
                    match control {
                        Control::Cancel => cancel.cancel(),
                        Control::Pause => {
                            let _ = executor.pause(id).await;
                        }
                        Control::Resume => {
                            let _ = executor.resume(id).await;
                        }
                    }
                }
            }
            Err(e) => tracing::debug!("control channel not read: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(crate::exec::remote::POLL) => {}
            _ = done.cancelled() => return,
        }
    }
}
