//! The executor: one shared, in-process service that runs tasks in fresh `claude` processes,
//! strictly one after another (by default), and returns an honest [`ExecutionResult`].
//!
//! - [`spec`]: requests and their validation against the policy.
//! - [`queue`]: the FIFO queue.
//! - [`attempt`]: one run of `claude` (spawn, drain, deadline, kill).
//! - [`process`]: process groups, termination and reaping.
//! - [`retry`]: backoff for transient outcomes.
//! - [`progress`]: live progress events.
//! - [`result`]: the structured result.
//!
//! Executions run as tasks owned by the executor, not inside the caller's future: a caller that
//! goes away cancels its execution (gracefully: SIGTERM, grace, SIGKILL) instead of dropping a
//! half-run process, and [`Executor::shutdown`] can stop and wait for all of them.

pub mod attempt;
pub mod probe;
pub mod process;
pub mod progress;
pub mod queue;
pub mod result;
pub mod retry;
pub mod spec;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::claude::INSTALL_HINT;
use crate::claude::outcome::classify;
use crate::config::Config;
use attempt::{AttemptOutput, LaunchError};
use progress::{ProgressEvent, ProgressSink};
use queue::{Queue, Ticket};
use result::{Attempt, ExecutionResult, Status};
use spec::{SpecError, TaskRequest, TaskSpec};

/// Errors creating an executor.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("data directory {path} is not usable: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

struct Inner {
    config: Config,
    queue: Queue,
    /// Parent of every execution's token: cancelling it stops everything (shutdown).
    shutdown: CancellationToken,
    tracker: TaskTracker,
    started: Instant,
}

/// Runs tasks; cheap to clone (shared state).
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("claude_bin", &self.inner.config.claude_bin)
            .field("queue", &self.inner.queue.counts())
            .finish()
    }
}

impl Executor {
    /// Creates the executor and its data directory (owner-only).
    pub fn new(config: Config) -> Result<Self, ExecutorError> {
        prepare_dir(&config.data_dir)?;
        prepare_dir(&config.data_dir.join("raw"))?;
        process::become_subreaper();
        Ok(Executor {
            inner: Arc::new(Inner {
                queue: Queue::new(config.max_concurrent),
                config,
                shutdown: CancellationToken::new(),
                tracker: TaskTracker::new(),
                started: Instant::now(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// (running, waiting)
    pub fn queue_counts(&self) -> (usize, usize) {
        self.inner.queue.counts()
    }

    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Validates a request against the configuration and policy.
    pub fn prepare(&self, request: TaskRequest) -> Result<TaskSpec, SpecError> {
        request.validate(&self.inner.config)
    }

    /// Runs a task to completion.
    pub async fn execute(&self, spec: TaskSpec, sink: impl ProgressSink) -> ExecutionResult {
        self.execute_with_cancel(spec, sink, CancellationToken::new())
            .await
    }

    /// Runs a task to completion; cancelling `cancel` (or dropping this future) stops it and
    /// kills its process tree.
    pub async fn execute_with_cancel(
        &self,
        spec: TaskSpec,
        sink: impl ProgressSink,
        cancel: CancellationToken,
    ) -> ExecutionResult {
        let id = Uuid::new_v4();
        let token = self.inner.shutdown.child_token();
        // The caller's token and our child token both stop the execution.
        let linked = token.clone();
        let watcher = tokio::spawn(async move {
            cancel.cancelled().await;
            linked.cancel();
        });
        let _stop_on_drop = token.clone().drop_guard();
        let this = self.clone();
        let sink: Arc<dyn ProgressSink> = Arc::new(sink);
        let handle = self
            .inner
            .tracker
            .spawn(async move { this.run(id, spec, sink, token).await });
        let result = match handle.await {
            Ok(r) => r,
            Err(e) => ExecutionResult::empty(
                id,
                Status::Crashed,
                vec![format!("internal error: the execution task failed: {e}")],
            ),
        };
        watcher.abort();
        result
    }

    /// Stops every execution (queued ones never start; running ones are terminated) and
    /// waits until all their processes are gone.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }

    async fn run(
        &self,
        id: Uuid,
        spec: TaskSpec,
        sink: Arc<dyn ProgressSink>,
        cancel: CancellationToken,
    ) -> ExecutionResult {
        let config = &self.inner.config;
        let queued_at = Instant::now();
        let _slot = match self.inner.queue.enqueue(id) {
            Ticket::Ready(slot) => {
                sink.emit(ProgressEvent::Queued { position: 0 });
                slot
            }
            Ticket::Waiting { position, slot } => {
                sink.emit(ProgressEvent::Queued { position });
                tokio::select! {
                    s = slot => match s {
                        Ok(s) => s,
                        Err(_) => return self.finish_early(id, &spec, &sink, Status::Crashed, "internal error: the queue dropped this execution"),
                    },
                    _ = cancel.cancelled() => {
                        self.inner.queue.remove(id);
                        return self.finish_early(id, &spec, &sink, Status::Cancelled, "cancelled while queued; it never started");
                    }
                }
            }
        };
        let queue_wait = queued_at.elapsed();

        let mut attempts: Vec<(AttemptOutput, Status)> = Vec::new();
        let mut warnings = spec.warnings.clone();
        let run_started = Instant::now();
        let mut number = 1u32;
        loop {
            let raw = config
                .data_dir
                .join("raw")
                .join(format!("{id}.{number}.jsonl"));
            let out = match attempt::run(config, &spec, raw, number, &sink, &cancel).await {
                Ok(out) => out,
                Err(e) => {
                    let status = match e {
                        LaunchError::NotFound(_) => Status::CliNotFound,
                        LaunchError::Spawn { .. } => Status::SpawnFailed,
                    };
                    let message = match status {
                        Status::CliNotFound => format!("{e}: {INSTALL_HINT}"),
                        _ => e.to_string(),
                    };
                    warnings.push(message);
                    let mut r = ExecutionResult::empty(id, status, warnings);
                    r.queue_wait_ms = ms(queue_wait);
                    sink.emit(ProgressEvent::Finished { status });
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
            attempts.push((out, status));
            let Some(delay) = delay else {
                let mut r = assemble(id, attempts, warnings, queue_wait, run_started);
                r.resets_at = verdict.resets_at;
                sink.emit(ProgressEvent::Finished { status: r.status });
                return r;
            };
            number += 1;
            sink.emit(ProgressEvent::Retrying {
                next_attempt: number,
                after: status,
                delay,
            });
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.cancelled() => {
                    warnings.push("cancelled while waiting to retry".into());
                    let mut r = assemble(id, attempts, warnings, queue_wait, run_started);
                    r.status = Status::Cancelled;
                    sink.emit(ProgressEvent::Finished { status: r.status });
                    return r;
                }
            }
        }
    }

    fn finish_early(
        &self,
        id: Uuid,
        spec: &TaskSpec,
        sink: &Arc<dyn ProgressSink>,
        status: Status,
        why: &str,
    ) -> ExecutionResult {
        let mut warnings = spec.warnings.clone();
        warnings.push(why.to_string());
        sink.emit(ProgressEvent::Finished { status });
        ExecutionResult::empty(id, status, warnings)
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// Builds the result from every attempt; the last one decides the status and the answer.
fn assemble(
    id: Uuid,
    attempts: Vec<(AttemptOutput, Status)>,
    mut warnings: Vec<String>,
    queue_wait: Duration,
    run_started: Instant,
) -> ExecutionResult {
    let started_at = attempts
        .first()
        .map(|(a, _)| a.started_at)
        .unwrap_or_else(Utc::now);
    let mut records = Vec::new();
    let mut api_retries = 0;
    let mut total_cost: Option<f64> = None;
    for (i, (a, status)) in attempts.iter().enumerate() {
        let c = &a.collector;
        let cost = c.result.as_ref().and_then(|r| r.total_cost_usd);
        if let Some(cost) = cost {
            *total_cost.get_or_insert(0.0) += cost;
        }
        api_retries += c.api_retries;
        records.push(Attempt {
            number: i as u32 + 1,
            status: *status,
            started_at: a.started_at,
            duration_ms: ms(a.duration),
            exit_code: a.exit_code,
            signal: a.signal,
            session_id: c.session_id.clone(),
            api_retries: c.api_retries,
            cost_usd: cost,
        });
    }
    let Some((last, status)) = attempts.into_iter().last() else {
        return ExecutionResult::empty(id, Status::Crashed, warnings);
    };
    warnings.extend(last.warnings);
    let c = last.collector;
    if c.diagnostic_count > 0 {
        warnings.push(format!(
            "{} stdout line(s) were not stream-json events (first: {})",
            c.diagnostic_count,
            c.diagnostics.first().map(String::as_str).unwrap_or("")
        ));
    }
    let r = c.result.clone().unwrap_or_default();
    // The CLI sometimes ends with an empty result while the model did answer.
    let text = r
        .result
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| c.last_assistant_text.clone())
        .or_else(|| c.synthetic_text.clone());
    ExecutionResult {
        execution_id: id,
        status,
        result: text,
        structured_output: r.structured_output,
        session_id: c.session_id,
        model: c.model.or_else(|| {
            r.model_usage
                .as_ref()
                .and_then(|m: &BTreeMap<String, _>| m.keys().next().cloned())
        }),
        claude_version: c.claude_version,
        api_key_source: c.api_key_source,
        num_turns: r.num_turns,
        duration_ms: ms(run_started.elapsed()),
        duration_api_ms: r.duration_api_ms,
        queue_wait_ms: ms(queue_wait),
        total_cost_usd: total_cost,
        usage: r.usage,
        tools_used: c.tools_used,
        files_written: c.files_written,
        permission_denials: c.permission_denials,
        api_retries,
        attempts: records,
        exit_code: last.exit_code,
        signal: last.signal,
        stderr_tail: last.stderr_tail,
        resets_at: None,
        warnings,
        raw_output_path: last.raw_output_path.map(|p| p.display().to_string()),
        started_at,
        finished_at: Utc::now(),
    }
}

/// Creates `dir` with owner-only permissions and checks that it is writable.
fn prepare_dir(dir: &Path) -> Result<(), ExecutorError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let err = |source| ExecutorError::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    let meta = std::fs::metadata(dir).map_err(err)?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(err)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}
