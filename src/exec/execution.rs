//! One execution's life, in the order it happens:
//!
//! ```text
//! queue → pre-hooks → attempts → observe → accept → persist → post-hooks → announce
//! ```
//!
//! "accept" runs the task's acceptance checks (`exec::accept`) after its queue slot is given
//! up, so a validator — itself an execution — can take a slot; their outcome is recorded.
//!
//! [`Executor::submit_owned`](super::Executor) gives the execution its id, its place in line,
//! its registry entry and its journal write, then spawns [`Execution::live`] on the executor's
//! task tracker: the life below runs as a task the executor owns (a caller that goes away
//! cancels it; a shutdown waits for it). Each step is one function here. Everything an
//! execution logs is inside its `execution` span (`execution_id`, task class), so a log line
//! can always be tied to its task.
//!
//! The order is the contract: the evidence and the history record are written before the
//! result is announced, so whoever is woken by "finished" finds the result, and a crash after
//! the announcement loses nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use super::assemble::{assemble, early, ms};
use super::attempt::{self, AttemptOutput, LaunchError};
use super::hooks::{self, HookContext, HookKind};
use super::pause::{HoldEnd, PauseControl, overdue_reason};
use super::progress::{ProgressEvent, ProgressSink};
use super::queue::{Slot, Ticket};
use super::registry::Entry;
use super::result::{ExecutionResult, Status};
use super::spec::TaskSpec;
use super::{Executor, retry};
use crate::claude::INSTALL_HINT;
use crate::claude::outcome::classify;
use crate::store::{ExecutionRecord, StoreError};

/// How the journal write of an execution went: `None` while it is being written.
pub(super) type Journaled = watch::Receiver<Option<Result<(), Arc<StoreError>>>>;

/// An execution that has been given its id and place, ready to live.
pub(super) struct Execution {
    pub(super) id: Uuid,
    pub(super) spec: TaskSpec,
    pub(super) ticket: Ticket,
    /// The caller's sink behind the registry's (see `Tracked` in the parent module).
    pub(super) sink: Arc<dyn ProgressSink>,
    /// Cancelled by `cancel_execution`, a caller that goes away, or shutdown.
    pub(super) cancel: CancellationToken,
    pub(super) entry: Arc<Entry>,
    pub(super) submitted_at: DateTime<Utc>,
    pub(super) journaled: Journaled,
}

/// What the history keeps about the task, taken before the prompt gets the UUID instruction.
struct Task {
    text: String,
    cwd: PathBuf,
    category: Option<String>,
    complexity: Option<String>,
}

impl Execution {
    /// The whole life, in its span; returns the result that was announced.
    pub(super) async fn live(self, executor: Executor) -> ExecutionResult {
        let span = tracing::info_span!(
            "execution",
            execution_id = %self.id,
            category = self.spec.category.as_deref().unwrap_or(""),
            complexity = self.spec.complexity.as_deref().unwrap_or(""),
        );
        // Beside the steps, for the whole life: "paused" and "resumed" go to the caller's sink
        // (every surface's notice of a pause comes from here), whichever step it happens in.
        let announcer = super::pause::announce(
            self.entry.clone(),
            self.sink.clone(),
            executor.inner.config.max_pause,
        );
        let life = self.steps(&executor);
        async move {
            tokio::select! {
                biased;
                result = life => result,
                never = announcer => match never {},
            }
        }
        .instrument(span)
        .await
    }

    async fn steps(self, executor: &Executor) -> ExecutionResult {
        if let Some(pool) = &executor.inner.pool {
            // Placement `pool`: a worker runs it; this process follows it (exec/remote.rs).
            return super::remote::steps(self, executor, pool).await;
        }
        let Execution {
            id,
            mut spec,
            ticket,
            sink,
            cancel,
            entry,
            submitted_at,
            mut journaled,
        } = self;
        let inner = &executor.inner;
        let config = &inner.config;
        let task = Task {
            text: spec.prompt.clone(),
            cwd: spec.cwd.clone(),
            category: spec.category.clone(),
            complexity: spec.complexity.clone(),
        };
        let (timeout_secs, timeout_basis) = (spec.timeout.as_secs(), spec.timeout_basis.clone());
        let (task_file, file_warning) = task_file(executor, id, &task.text);

        let pause = &entry.pause;
        let mut result = match queue(executor, id, &spec, ticket, &sink, &cancel, pause).await {
            Err(never_started) => never_started,
            Ok((_slot, queue_wait)) => {
                match pre_hooks(executor, id, &spec, task_file.as_deref(), &cancel).await {
                    Err(stopped) => stopped.queued(queue_wait),
                    Ok(hook_warnings) => {
                        if config.hooks.uuid_hook {
                            let structured = spec.json_schema.is_some();
                            spec.prompt
                                .push_str(&crate::evidence::uuid_hook::instruction(id, structured));
                        }
                        let mut warnings = spec.warnings.clone();
                        warnings.extend(hook_warnings);
                        let controls = attempt::Controls {
                            execution_id: id,
                            cancel: &cancel,
                            pause,
                        };
                        attempts(executor, controls, &spec, warnings, queue_wait, &sink).await
                    }
                }
                // The slot is given up here: the next task starts while this one is recorded.
            }
        };
        // Nothing runs any more: nothing to pause.
        pause.close();
        let paused = pause.state();
        if paused.pauses > 0 {
            result.warnings.push(format!(
                "paused {} time(s) for {:.1} s in total, on request; its time limit did not count that time",
                paused.pauses,
                paused.total.as_secs_f64()
            ));
        }
        result.warnings.extend(file_warning);
        result.timeout_secs = Some(timeout_secs);
        result.timeout_basis = Some(timeout_basis);
        observe(executor, &task.cwd, &mut result).await;
        super::accept::check(executor, &task.text, &spec, &mut result, &cancel).await;
        super::accept::link(id, &spec, &mut result);
        journal_written(&mut journaled, &mut result).await;
        let cwd = task.cwd.display().to_string();
        let mut record = ExecutionRecord::new(
            &task.text,
            &cwd,
            task.category,
            task.complexity,
            submitted_at,
            result,
        );
        if let Err(e) = persist(executor, &mut record).await {
            record
                .result
                .warnings
                .push(format!("not recorded in the history store: {e}"));
        }
        if let Some(task_file) = &task_file {
            post_hooks(executor, &record, task_file, &task.cwd).await;
        }
        announce(executor, &entry, &sink, record.result)
    }
}

/// The task text for hooks (`CC_EXECUTOR_TASK_FILE`), only when there are hooks. `Some` of
/// an empty path when it could not be written (the hooks still run, without it).
fn task_file(executor: &Executor, id: Uuid, task: &str) -> (Option<PathBuf>, Option<String>) {
    let config = &executor.inner.config;
    if config.hooks.pre_execute.is_empty() && config.hooks.post_execute.is_empty() {
        return (None, None);
    }
    match hooks::write_task_file(&config.data_dir, id, task) {
        Ok(p) => (Some(p), None),
        Err(e) => (
            Some(PathBuf::new()),
            Some(format!("hooks: cannot write the task file: {e}")),
        ),
    }
}

/// 1. Queue: waits for a slot in FIFO order, and — paused — holds it without starting until
///    resumed. `Err`: the result of an execution that never left the queue (cancelled while
///    waiting, or paused longer than `max_pause_secs`).
pub(super) async fn queue(
    executor: &Executor,
    id: Uuid,
    spec: &TaskSpec,
    ticket: Ticket,
    sink: &Arc<dyn ProgressSink>,
    cancel: &CancellationToken,
    pause: &PauseControl,
) -> Result<(Slot, std::time::Duration), ExecutionResult> {
    let max_pause = executor.inner.config.max_pause;
    let queued_at = Instant::now();
    let slot = match ticket {
        Ticket::Ready(slot) => {
            sink.emit(ProgressEvent::Queued { position: 0 });
            slot
        }
        Ticket::Waiting { position, slot } => {
            sink.emit(ProgressEvent::Queued { position });
            tokio::select! {
                s = slot => s.map_err(|_| early(id, spec, Status::Crashed, "internal error: the queue dropped this execution"))?,
                _ = cancel.cancelled() => {
                    executor.inner.queue.remove(id);
                    return Err(early(id, spec, Status::Cancelled, "cancelled while queued; it never started"));
                }
                _ = pause.overdue(max_pause) => {
                    executor.inner.queue.remove(id);
                    return Err(early(id, spec, Status::Cancelled, &format!("{}; it never started", overdue_reason(max_pause))));
                }
            }
        }
    };
    if let Err(end) = pause.hold(max_pause, cancel).await {
        return Err(never_started(id, spec, end, max_pause));
    }
    Ok((slot, queued_at.elapsed()))
}

/// The result of an execution whose wait while paused ended in a cancel, before it started.
fn never_started(id: Uuid, spec: &TaskSpec, end: HoldEnd, max_pause: Duration) -> ExecutionResult {
    let why = match end {
        HoldEnd::Cancelled => "cancelled while paused; it never started".to_string(),
        HoldEnd::Overdue => format!("{}; it never started", overdue_reason(max_pause)),
    };
    early(id, spec, Status::Cancelled, &why)
}

/// Why the pre-hooks stopped a task before it started.
struct Stopped(ExecutionResult);

impl Stopped {
    fn queued(mut self, queue_wait: std::time::Duration) -> ExecutionResult {
        self.0.queue_wait_ms = ms(queue_wait);
        self.0
    }
}

/// 2. Pre-hooks: the user's `pre_execute` commands, in its slot, before `claude` starts.
///    `Ok`: their warnings; `Err`: cancelled meanwhile, or vetoed (exit 2).
async fn pre_hooks(
    executor: &Executor,
    id: Uuid,
    spec: &TaskSpec,
    task_file: Option<&Path>,
    cancel: &CancellationToken,
) -> Result<Vec<String>, Stopped> {
    let config = &executor.inner.config;
    let Some(task_file) = task_file.filter(|_| !config.hooks.pre_execute.is_empty()) else {
        return Ok(Vec::new());
    };
    let input = serde_json::json!({
        "event": "pre_execute",
        "execution_id": id,
        "task": spec.prompt,
        "cwd": spec.cwd,
        "model": spec.model,
        "permission_mode": spec.permission_mode,
        "timeout_secs": spec.timeout.as_secs(),
    });
    let ctx = HookContext {
        execution_id: id,
        task_file,
        cwd: &spec.cwd,
        response_file: None,
    };
    let ran = hooks::run_all(
        HookKind::PreExecute,
        &config.hooks,
        &executor.inner.hook_log,
        &ctx,
        input.to_string().as_bytes(),
        cancel,
    )
    .await;
    if ran.cancelled {
        return Err(Stopped(early(
            id,
            spec,
            Status::Cancelled,
            "cancelled while a pre_execute hook ran; the task never started",
        )));
    }
    let Some(reason) = ran.veto else {
        return Ok(ran.warnings);
    };
    let mut warnings = spec.warnings.clone();
    warnings.extend(ran.warnings);
    warnings.push(format!("rejected by a pre_execute hook: {reason}"));
    Err(Stopped(ExecutionResult::empty(
        id,
        Status::RejectedByHook,
        warnings,
    )))
}

/// 3. Attempts: runs `claude` until an attempt's outcome is final, retrying transient ones
///    (rate limits, overload, usage-limit resets) with backoff; the result is assembled from
///    every attempt.
async fn attempts(
    executor: &Executor,
    controls: attempt::Controls<'_>,
    spec: &TaskSpec,
    mut warnings: Vec<String>,
    queue_wait: std::time::Duration,
    sink: &Arc<dyn ProgressSink>,
) -> ExecutionResult {
    let attempt::Controls {
        execution_id: id,
        cancel,
        pause,
    } = controls;
    let config = &executor.inner.config;
    let entry = executor.inner.registry.get(id);
    let mut attempts: Vec<(AttemptOutput, Status)> = Vec::new();
    let run_started = Instant::now();
    let mut number = 1u32;
    let mut cost_so_far: Option<f64> = None;
    loop {
        // Paused before it started, or between attempts: the next `claude` waits.
        if let Err(end) = pause.hold(config.max_pause, cancel).await {
            warnings.push(match end {
                HoldEnd::Cancelled => "cancelled while paused between attempts".to_string(),
                HoldEnd::Overdue => overdue_reason(config.max_pause),
            });
            if attempts.is_empty() {
                let mut r = ExecutionResult::empty(id, Status::Cancelled, warnings);
                r.queue_wait_ms = ms(queue_wait);
                return r;
            }
            let mut r = assemble(
                id,
                &spec.cwd,
                config.max_record_bytes,
                attempts,
                warnings,
                queue_wait,
                run_started,
            );
            r.status = Status::Cancelled;
            return r;
        }
        if let Some(e) = &entry {
            e.attempt_starting(number, cost_so_far);
        }
        let raw = config
            .data_dir
            .join("raw")
            .join(format!("{id}.{number}.jsonl"));
        let controls = attempt::Controls {
            execution_id: id,
            cancel,
            pause,
        };
        let out = match attempt::run(config, controls, spec, raw, number, sink).await {
            Ok(out) => out,
            Err(e) => {
                let status = match e {
                    LaunchError::NotFound(_) => Status::CliNotFound,
                    LaunchError::Spawn { .. } => Status::SpawnFailed,
                };
                warnings.push(match status {
                    Status::CliNotFound => format!("{e}: {INSTALL_HINT}"),
                    _ => e.to_string(),
                });
                let mut r = ExecutionResult::empty(id, status, warnings);
                r.queue_wait_ms = ms(queue_wait);
                return r;
            }
        };
        let verdict = classify(&out.collector, out.termination, spec.timeout.as_secs());
        let status = verdict.status;
        let delay = retry::next_delay(&config.retry, number, status, verdict.resets_at);
        if let Some(reason) = verdict.reason {
            warnings.push(if number > 1 {
                format!("attempt {number}: {reason}")
            } else {
                reason
            });
        }
        if let Some(c) = out.collector.result.as_ref().and_then(|r| r.total_cost_usd) {
            *cost_so_far.get_or_insert(0.0) += c;
        }
        attempts.push((out, status));
        let assembled = |attempts, warnings| {
            assemble(
                id,
                &spec.cwd,
                config.max_record_bytes,
                attempts,
                warnings,
                queue_wait,
                run_started,
            )
        };
        let Some(delay) = delay else {
            let mut r = assembled(attempts, warnings);
            r.resets_at = verdict.resets_at;
            return r;
        };
        number += 1;
        sink.emit(match verdict.resets_at {
            Some(resets_at) => ProgressEvent::WaitingForReset {
                next_attempt: number,
                resets_at,
                delay,
            },
            None => ProgressEvent::Retrying {
                next_attempt: number,
                after: status,
                delay,
            },
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cancel.cancelled() => {
                warnings.push("cancelled while waiting to retry".into());
                let mut r = assembled(attempts, warnings);
                r.status = Status::Cancelled;
                return r;
            }
        }
    }
}

/// 4. Observe: what the evidence needs from a finished run — the UUID echo (when the hook was
///    on and `claude` ran), where Claude Code's transcript is, and hashes of files whose
///    written content the events did not carry.
async fn observe(executor: &Executor, cwd: &Path, result: &mut ExecutionResult) {
    let config = &executor.inner.config;
    if config.hooks.uuid_hook && !result.attempts.is_empty() {
        let echo = crate::evidence::uuid_hook::check(
            result.execution_id,
            result.result.as_deref(),
            result.structured_output.as_ref(),
        );
        if !echo.echoed && result.status == Status::Succeeded {
            result.warnings.push(
                "the answer does not echo the execution UUID (uuid hook): it cannot be tied to this run".into(),
            );
        }
        result.uuid_echo = Some(echo);
    }
    if let Some(session) = &result.session_id {
        result.transcript_path = crate::evidence::transcript_path(&config.child_env, cwd, session)
            .map(|p| p.display().to_string());
    }
    if result.written_files.iter().any(|f| f.sha256.is_none()) {
        let mut files = std::mem::take(&mut result.written_files);
        result.written_files = tokio::task::spawn_blocking(move || {
            crate::evidence::files::hash_after_run(&mut files);
            files
        })
        .await
        .unwrap_or_default();
    }
}

/// Waits until the execution's journal entry is in (its record, which removes the entry, must
/// come after it); a failed journal write becomes a warning.
pub(super) async fn journal_written(journaled: &mut Journaled, result: &mut ExecutionResult) {
    let journal = journaled
        .wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|v| v.clone());
    if let Some(Err(e)) = journal {
        result.warnings.push(format!(
            "not journaled while it ran (a crash of the server would have lost it): {e}"
        ));
    }
}

/// 5. Persist: the evidence (response file, chain link, receipt) and then the history record
///    — the one way every execution is recorded. A failure to write the evidence is a warning
///    in the record (the history still gets it); a failure to store the record is the error.
pub(super) async fn persist(
    executor: &Executor,
    record: &mut ExecutionRecord,
) -> Result<(), StoreError> {
    let id = record.execution_id;
    let data_dir = &executor.inner.config.data_dir;
    let store = &executor.inner.store;
    // The record moves into each writer and back (`take`): it is never copied.
    let take = |r: &mut ExecutionRecord| std::mem::replace(r, ExecutionRecord::lost(id));
    let (written, draft) = crate::evidence::artifacts::write_response(data_dir, take(record)).await;
    *record = written;
    let draft = match draft {
        Ok(draft) => Some(draft),
        Err(e) => {
            tracing::error!("evidence not written: {e}");
            record
                .result
                .warnings
                .push(format!("evidence not written: {e}"));
            None
        }
    };
    if let Some(draft) = draft {
        // The file is on disk before its link exists; the link and the record that carries
        // it are stored together (one commit on SQLite). A big answer stays in the file: the
        // store keeps its beginning and a reference.
        let big = record.stash_big_answer();
        let (stored_record, stored) = store.record_linked(take(record), draft).await;
        *record = stored_record;
        if let Some(answer) = big {
            record.result.result = Some(answer);
            record.answer_elsewhere = None;
        }
        match stored {
            Ok(()) => {
                if let Err(e) = crate::evidence::artifacts::write_receipt(data_dir, record).await {
                    tracing::warn!("receipt not written: {e}");
                    record
                        .result
                        .warnings
                        .push(format!("receipt not written: {e}"));
                }
                return Ok(());
            }
            Err(e) => {
                tracing::error!("evidence chain link not written: {e}");
                record
                    .result
                    .warnings
                    .push(format!("evidence not linked into the chain: {e}"));
            }
        }
    }
    store.record(record).await.map_err(|e| {
        tracing::error!("execution not recorded in the history: {e}");
        e
    })
}

/// 6. Post-hooks: the user's `post_execute` commands see the recorded execution (with its
///    evidence) and run before the result is announced, so a caller that gets the result knows
///    they have run. Bounded by the hook timeout; a server shutdown stops them at once.
async fn post_hooks(executor: &Executor, record: &ExecutionRecord, task_file: &Path, cwd: &Path) {
    let config = &executor.inner.config;
    if !config.hooks.post_execute.is_empty() {
        let input = serde_json::json!({
            "event": "post_execute",
            "execution": record,
        });
        let ctx = HookContext {
            execution_id: record.execution_id,
            task_file,
            cwd,
            response_file: record
                .result
                .evidence
                .as_ref()
                .map(|e| e.response_file.as_str()),
        };
        hooks::run_all(
            HookKind::PostExecute,
            &config.hooks,
            &executor.inner.hook_log,
            &ctx,
            input.to_string().as_bytes(),
            &executor.inner.shutdown,
        )
        .await;
    }
    if !task_file.as_os_str().is_empty() {
        let _ = std::fs::remove_file(task_file);
    }
}

/// 7. Announce: the registry learns the result (waking long-polls and waiters), then the
///    caller's sink hears "finished".
pub(super) fn announce(
    executor: &Executor,
    entry: &Arc<Entry>,
    sink: &Arc<dyn ProgressSink>,
    result: ExecutionResult,
) -> ExecutionResult {
    executor.inner.registry.finish(entry, &result);
    sink.emit(ProgressEvent::Finished {
        status: result.status,
    });
    result
}
