//! The loop that runs a run, task by task.
//!
//! Order: the first unfinished task in list order (validation guarantees dependencies point
//! backwards, so every dependency is settled by then). Before each task: dependencies must
//! have succeeded (else it is `skipped`), the budget must allow another task, and its
//! references are expanded from the history. Every transition is saved before the driver
//! waits on anything, so the stored run is never behind what really happened.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;

use super::template::{self, Field};
use super::{ActiveRun, RunEvent, RunService, RunSink, lock};
use crate::exec::progress::ProgressEvent;
use crate::exec::result::{ExecutionResult, Status};
use crate::runs::model::{Run, RunState, RunTask, TaskState};

pub(crate) struct Driver {
    pub(crate) service: RunService,
    pub(crate) active: Arc<ActiveRun>,
    pub(crate) sink: Arc<dyn RunSink>,
    /// The queue place reserved when the request that started this run arrived: its first
    /// task takes it, so the run starts in arrival order with single tasks sent beside it.
    pub(crate) place: std::sync::Mutex<Option<crate::exec::Reservation>>,
}

/// What the driver does after a task's execution.
enum Next {
    Continue,
    /// Wait for a usage limit to reset, then run the same task again.
    WaitUntil(chrono::DateTime<Utc>),
    Stop(RunState, String),
}

/// Adds an execution's cost and time to its task and its run.
pub(crate) fn account(
    task: &mut RunTask,
    run_cost: &mut f64,
    run_ms: &mut u64,
    r: &ExecutionResult,
) {
    // The task's own run and its validator's: budgets count both.
    let checks = r.acceptance.as_ref().and_then(|a| a.cost_usd);
    for c in [r.total_cost_usd, checks].into_iter().flatten() {
        *task.cost_usd.get_or_insert(0.0) += c;
        *run_cost += c;
    }
    task.duration_ms += r.duration_ms;
    *run_ms += r.duration_ms;
    task.status = Some(r.status);
    task.execution_id = Some(r.execution_id);
}

/// Marks a task succeeded with what its execution produced.
pub(crate) fn settle_success(task: &mut RunTask, r: &ExecutionResult) {
    task.state = TaskState::Succeeded;
    task.error = None;
    task.result_summary = r
        .result
        .as_deref()
        .map(|t| crate::claude::collect::truncate_chars(t, 200));
    task.files_written = r.files_written.clone();
    task.finished_at = Some(r.finished_at);
}

/// Why the budget does not allow another task, if it does not.
pub(crate) fn budget_stop(run: &Run) -> Option<String> {
    let cap = run.budget_usd?;
    let spent = run.cost_usd;
    if spent >= cap {
        return Some(format!(
            "the budget is spent: ${spent:.4} of ${cap:.4}; resume with a higher budget to go on"
        ));
    }
    let costs: Vec<f64> = run.tasks.iter().filter_map(|t| t.cost_usd).collect();
    if costs.is_empty() {
        return None;
    }
    let mean = costs.iter().sum::<f64>() / costs.len() as f64;
    (spent + mean > cap).then(|| {
        format!(
            "the next task would go over the budget: ${spent:.4} spent of ${cap:.4}, and a task has cost ${mean:.4} on average; resume with a higher budget to go on"
        )
    })
}

impl Driver {
    pub(super) fn run(&self) -> Run {
        self.active.snapshot()
    }

    /// Applies a change, saves the run (a new revision), wakes watchers.
    pub(super) async fn save(&self, change: impl FnOnce(&mut Run)) {
        let snapshot = {
            let mut run = lock(&self.active.run);
            change(&mut run);
            run.revision += 1;
            run.updated_at = Utc::now();
            run.clone()
        };
        if let Err(e) = self.service.executor.store().save_run(&snapshot).await {
            tracing::error!(run = %snapshot.run_id, "run state not saved: {e}");
        }
        self.active.version.send_modify(|v| *v += 1);
        self.service.bump_any();
    }

    pub(crate) async fn drive(self) {
        let id = self.run().run_id;
        self.save(|r| {
            r.state = RunState::Running;
            r.reason = None;
            r.owner = Some(super::owner::current());
        })
        .await;
        let (state, reason) = self.go().await;
        self.save(|r| {
            r.state = state;
            r.reason = reason.clone();
            r.current_task = None;
            r.waiting_until = None;
            if state.is_final() {
                r.finished_at = Some(Utc::now());
            }
        })
        .await;
        self.sink.emit(RunEvent::Finished { state, reason });
        self.service.finished(id);
    }

    /// Runs tasks until none is left or the run stops; returns its final state and why.
    async fn go(&self) -> (RunState, Option<String>) {
        let shutdown = self.service.executor.shutdown_token();
        loop {
            if self.active.cancel.is_cancelled() {
                return stopped_by(&shutdown, None);
            }
            let run = self.run();
            let Some(i) = run.tasks.iter().position(|t| t.state.is_unfinished()) else {
                return end_state(&run);
            };
            let task = &run.tasks[i];
            if let Some((dep, state)) = task.depends_on.iter().find_map(|d| {
                run.task(d)
                    .filter(|t| t.state != TaskState::Succeeded)
                    .map(|t| (d.clone(), t.state))
            }) {
                let why = format!("not run: it depends on `{dep}`, which {}", verb(state));
                self.skip(i, why).await;
                continue;
            }
            if let Some(why) = budget_stop(&run) {
                return (RunState::BudgetExceeded, Some(why));
            }
            let next = match self.run_task(i).await {
                Ok(result) => self.settle(i, &result, &shutdown).await,
                Err(why) => self.fail(i, why, None).await,
            };
            match next {
                Next::Continue => {}
                Next::Stop(state, why) => return (state, Some(why)),
                Next::WaitUntil(until) => {
                    let task_id = self.run().tasks[i].id.clone();
                    self.sink.emit(RunEvent::WaitingForUsageReset {
                        task_id: task_id.clone(),
                        until,
                    });
                    let delay = (until - Utc::now()).to_std().unwrap_or_default();
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = self.active.cancel.cancelled() => {
                            return stopped_by(&shutdown, Some(format!("while waiting for the usage limit to reset before `{task_id}`")));
                        }
                    }
                    self.save(|r| {
                        r.state = RunState::Running;
                        r.waiting_until = None;
                    })
                    .await;
                }
            }
        }
    }

    /// Expands the task's references, submits it, records it as running (saved), waits for
    /// its result. `Err`: it could not start (the reason is the task's error). `repair`: the
    /// loop's earlier executions and the last one's rejected result (none for the first).
    pub(super) async fn start_task(
        &self,
        i: usize,
        run: &Run,
        repair: Option<(Vec<uuid::Uuid>, Option<&ExecutionResult>)>,
    ) -> Result<ExecutionResult, String> {
        let exec = &self.service.executor;
        let task = &run.tasks[i];
        let mut text = self.expand(task, run).await?;
        // A repair is the same kind of work as the task: its class (what the predictor learns
        // durations by) is the task's, not that of a prompt full of test output.
        let mut class = None;
        if let Some((_, Some(rejected))) = &repair {
            class = Some(crate::plan::classify(&text));
            text = crate::exec::accept::repair::prompt(&text, rejected);
        }
        let mut request = run.defaults.request(text);
        request.accept = task.accept.clone();
        if let Some(cap) = run.budget_usd {
            // No single task may spend more than what is left — nor more than the server's
            // per-task ceiling, which would refuse it.
            let left = (cap - run.cost_usd).max(0.0001);
            let ceiling = exec.config().policy.max_budget_usd;
            request.max_budget_usd = Some(ceiling.map_or(left, |c| left.min(c)));
        }
        let mut spec = exec.prepare(request).await.map_err(|e| e.to_string())?;
        if let Some((earlier, _)) = repair {
            spec.link = Some(crate::types::task::SpecLink::Repair { earlier });
        }
        if let Some(c) = class {
            spec.category = Some(c.category.as_str().to_string());
            spec.complexity = Some(c.complexity.as_str().to_string());
        }
        // Pooled, a run is its own queue (unless the configuration names one): its task N+1
        // is enqueued only once task N has settled, since this driver waits for each.
        if exec.config().pool_queue.is_none() {
            spec.pool_queue = Some(format!("run-{}", run.run_id.simple()));
        }
        let task_id = task.id.clone();
        // The execution's progress is held back until `TaskStarted` is out (the execution
        // starts on the executor's task while this one is still saving), and its `Finished` is
        // left out: `TaskFinished` says that, and the executor announces `Finished` after the
        // result is available, so it could come after `TaskFinished` or the next task's start.
        // Emitting under the lock keeps the flush and later events in order.
        let held: Arc<std::sync::Mutex<Option<Vec<ProgressEvent>>>> =
            Arc::new(std::sync::Mutex::new(Some(Vec::new())));
        let forward = {
            let (sink, held, task_id) = (self.sink.clone(), held.clone(), task_id.clone());
            move |event: ProgressEvent| {
                if matches!(event, ProgressEvent::Finished { .. }) {
                    return;
                }
                let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
                match held.as_mut() {
                    Some(waiting) => waiting.push(event),
                    None => sink.emit(RunEvent::Execution {
                        task_id: task_id.clone(),
                        event,
                    }),
                }
            }
        };
        let place = self.place.lock().unwrap_or_else(|p| p.into_inner()).take();
        let submission = exec
            .submit_at(spec, forward, place)
            .await
            .map_err(|e| e.to_string())?;
        let eid = submission.execution_id;
        self.save(|r| {
            let t = &mut r.tasks[i];
            t.state = TaskState::Running;
            t.execution_id = Some(eid);
            t.executions.push(eid);
            t.status = None;
            t.error = None;
            t.started_at.get_or_insert_with(Utc::now);
            r.current_task = Some(task_id.clone());
        })
        .await;
        {
            let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
            self.sink.emit(RunEvent::TaskStarted {
                position: task.position,
                total: run.tasks.len(),
                task_id: task_id.clone(),
                execution_id: eid,
            });
            for event in held.take().unwrap_or_default() {
                self.sink.emit(RunEvent::Execution {
                    task_id: task_id.clone(),
                    event,
                });
            }
        }
        let result = tokio::select! {
            r = exec.wait(eid) => r,
            _ = self.active.cancel.cancelled() => {
                exec.cancel(eid).await;
                exec.wait(eid).await
            }
        };
        Ok(result.unwrap_or_else(|| {
            ExecutionResult::empty(
                eid,
                Status::Crashed,
                vec!["internal error: the execution was lost".into()],
            )
        }))
    }

    /// The task text with its references replaced by earlier tasks' results (full text, from
    /// the history) and written files.
    async fn expand(&self, task: &RunTask, run: &Run) -> Result<String, String> {
        let refs = template::references(&task.task)?;
        let mut results: HashMap<String, String> = HashMap::new();
        for r in &refs {
            let Some(dep) = run.task(&r.task_id) else {
                return Err(format!(
                    "`{{{{tasks.{}.…}}}}` names no task of this run",
                    r.task_id
                ));
            };
            if dep.state != TaskState::Succeeded {
                return Err(format!(
                    "it refers to the result of `{}`, which has not succeeded (it is {})",
                    dep.id, dep.state
                ));
            }
            if r.field == Field::Result && !results.contains_key(&dep.id) {
                let eid = dep
                    .execution_id
                    .ok_or_else(|| format!("task `{}` has no execution on record", dep.id))?;
                let record = self
                    .service
                    .executor
                    .record(eid)
                    .await
                    .map_err(|e| format!("the result of `{}` cannot be read: {e}", dep.id))?
                    .ok_or_else(|| {
                        format!(
                            "the result of `{}` (execution {eid}) is not in the history",
                            dep.id
                        )
                    })?;
                // The answer without its UUID echo: this task has its own id to echo.
                let answer = record.result.result.unwrap_or_default();
                results.insert(
                    dep.id.clone(),
                    crate::evidence::uuid_hook::strip_echo(&answer, eid),
                );
            }
        }
        template::expand(&task.task, |id, field| match field {
            Field::Result => Ok(results.get(id).cloned().unwrap_or_default()),
            Field::FilesWritten => Ok(template::files_text(
                run.task(id)
                    .map(|t| t.files_written.as_slice())
                    .unwrap_or(&[]),
            )),
        })
    }

    /// Folds an execution's result into the run and says what comes next.
    async fn settle(
        &self,
        i: usize,
        r: &ExecutionResult,
        shutdown: &tokio_util::sync::CancellationToken,
    ) -> Next {
        let run = self.run();
        let task_id = run.tasks[i].id.clone();
        let cancelled_run = self.active.cancel.is_cancelled();
        let usage_wait = match (r.status, r.resets_at) {
            (Status::RateLimited, Some(at)) => {
                let wait = (at - Utc::now()).num_seconds().max(0) as u64;
                Some((at, wait <= run.max_usage_wait_secs, wait))
            }
            _ => None,
        };
        let budget_hit = r.status == Status::BudgetExceeded && run.budget_usd.is_some();
        let mut next = Next::Continue;
        let mut detail = r.warnings.first().cloned();
        let max_wait = run.max_usage_wait_secs;
        self.save(|run| {
            let (task, cost, ms) = {
                let Run {
                    tasks,
                    cost_usd,
                    duration_ms,
                    ..
                } = run;
                (&mut tasks[i], cost_usd, duration_ms)
            };
            account(task, cost, ms, r);
            match r.status {
                Status::Succeeded => settle_success(task, r),
                Status::Cancelled => {
                    task.state = TaskState::Cancelled;
                    task.error = Some("its execution was cancelled".into());
                    task.finished_at = Some(Utc::now());
                    next = match stopped_by(
                        shutdown,
                        Some(format!("while `{task_id}` ran")),
                    ) {
                        (s, Some(why)) if cancelled_run || shutdown.is_cancelled() => {
                            Next::Stop(s, why)
                        }
                        _ => Next::Stop(
                            RunState::Cancelled,
                            format!(
                                "the execution of `{task_id}` was cancelled; resume to run it again"
                            ),
                        ),
                    };
                }
                _ if matches!(usage_wait, Some((_, true, _))) => {
                    let Some((at, _, _)) = usage_wait else {
                        return;
                    };
                    task.state = TaskState::Pending;
                    task.error = Some(format!(
                        "usage limit reached; run again after it resets at {}",
                        at.to_rfc3339()
                    ));
                    run.state = RunState::WaitingForUsageReset;
                    run.waiting_until = Some(at);
                    detail = task.error.clone();
                    next = Next::WaitUntil(at);
                }
                _ if budget_hit => {
                    task.state = TaskState::Pending;
                    task.error = Some(
                        "stopped at the run's budget; it runs again when the run is resumed with a higher budget".into(),
                    );
                    next = Next::Stop(
                        RunState::BudgetExceeded,
                        format!("`{task_id}` reached the rest of the run's budget"),
                    );
                }
                status => {
                    let mut why = format!("{status}: {}", r.warnings.first().map(String::as_str).unwrap_or("no detail"));
                    if let Some((at, false, wait)) = usage_wait {
                        why = format!(
                            "usage limit resets at {} (in {wait} s), later than the run waits (max_usage_wait_secs {max_wait})",
                            at.to_rfc3339()
                        );
                    }
                    task.state = TaskState::Failed;
                    task.error = Some(why.clone());
                    task.finished_at = Some(Utc::now());
                    detail = Some(why.clone());
                    if run.failure_policy.stops() {
                        skip_rest(run, &task_id);
                        next = Next::Stop(
                            RunState::Failed,
                            format!(
                                "task `{task_id}` failed ({why}); failure policy `{}`",
                                run.failure_policy.as_str()
                            ),
                        );
                    }
                }
            }
        })
        .await;
        let after = self.run();
        let t = &after.tasks[i];
        self.sink.emit(RunEvent::TaskFinished {
            task_id,
            state: t.state,
            status: Some(r.status),
            cost_usd: r.total_cost_usd,
            detail,
        });
        next
    }

    /// A task that could not start: failed, with the failure policy applied.
    async fn fail(&self, i: usize, why: String, status: Option<Status>) -> Next {
        let mut next = Next::Continue;
        let task_id = self.run().tasks[i].id.clone();
        self.save(|run| {
            let t = &mut run.tasks[i];
            t.state = TaskState::Failed;
            t.status = status;
            t.error = Some(why.clone());
            t.finished_at = Some(Utc::now());
            if run.failure_policy.stops() {
                skip_rest(run, &task_id);
                next = Next::Stop(
                    RunState::Failed,
                    format!(
                        "task `{task_id}` could not run: {why}; failure policy `{}`",
                        run.failure_policy.as_str()
                    ),
                );
            }
        })
        .await;
        self.sink.emit(RunEvent::TaskFinished {
            task_id,
            state: TaskState::Failed,
            status,
            cost_usd: None,
            detail: Some(why),
        });
        next
    }

    async fn skip(&self, i: usize, why: String) {
        let task_id = self.run().tasks[i].id.clone();
        self.save(|run| {
            let t = &mut run.tasks[i];
            t.state = TaskState::Skipped;
            t.error = Some(why.clone());
        })
        .await;
        self.sink.emit(RunEvent::TaskFinished {
            task_id,
            state: TaskState::Skipped,
            status: None,
            cost_usd: None,
            detail: Some(why),
        });
    }
}

/// With policy `stop` (or `repair`): every task not run yet is skipped, saying why.
fn skip_rest(run: &mut Run, failed: &str) {
    let policy = run.failure_policy.as_str();
    for t in run
        .tasks
        .iter_mut()
        .filter(|t| t.state == TaskState::Pending)
    {
        t.state = TaskState::Skipped;
        t.error = Some(format!(
            "not run: the run stopped after `{failed}` failed (failure policy `{policy}`)"
        ));
    }
}

/// The state of a run that was stopped by a cancel: by a caller, or by a shutdown.
fn stopped_by(
    shutdown: &tokio_util::sync::CancellationToken,
    context: Option<String>,
) -> (RunState, Option<String>) {
    let who = if shutdown.is_cancelled() {
        "the server shut down"
    } else {
        "cancelled"
    };
    let when = context.map(|c| format!(" {c}")).unwrap_or_default();
    (
        RunState::Cancelled,
        Some(format!("{who}{when}; resume the run to go on")),
    )
}

/// The state of a run with no unfinished task left.
fn end_state(run: &Run) -> (RunState, Option<String>) {
    let failed = run.count(TaskState::Failed);
    let skipped = run.count(TaskState::Skipped);
    if failed + skipped == 0 {
        (RunState::Succeeded, None)
    } else {
        (
            RunState::Failed,
            Some(format!(
                "{failed} task(s) failed and {skipped} were skipped; the others succeeded"
            )),
        )
    }
}

fn verb(state: TaskState) -> &'static str {
    match state {
        TaskState::Failed => "failed",
        TaskState::Skipped => "was skipped",
        TaskState::Cancelled => "was cancelled",
        _ => "has not succeeded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_budget_stops_before_the_task_that_would_go_over_it() {
        let mut run: Run = serde_json::from_value(serde_json::json!({
            "run_id": Uuid::nil(), "state": "running", "tasks": [], "failure_policy": "stop",
            "budget_usd": 1.0, "max_usage_wait_secs": 60, "defaults": {}, "cost_usd": 0.0,
            "duration_ms": 0, "current_task": null, "waiting_until": null, "reason": null,
            "source": null, "owner": null, "created_at": Utc::now(), "updated_at": Utc::now(),
            "finished_at": null, "revision": 1
        }))
        .unwrap();
        assert_eq!(budget_stop(&run), None, "nothing spent, nothing known");
        let task = |cost| RunTask {
            id: "t".into(),
            position: 1,
            task: "x".into(),
            depends_on: vec![],
            state: TaskState::Succeeded,
            execution_id: None,
            executions: vec![],
            status: None,
            result_summary: None,
            files_written: vec![],
            cost_usd: Some(cost),
            duration_ms: 0,
            error: None,
            started_at: None,
            finished_at: None,
            accept: None,
            repairs: 0,
        };
        run.tasks = vec![task(0.4)];
        run.cost_usd = 0.4;
        assert_eq!(budget_stop(&run), None, "0.4 + 0.4 fits in 1.0");
        run.tasks.push(task(0.4));
        run.cost_usd = 0.8;
        let why = budget_stop(&run).unwrap();
        assert!(why.contains("would go over"), "{why}");
        run.cost_usd = 1.0;
        assert!(budget_stop(&run).unwrap().contains("spent"));
    }
}
