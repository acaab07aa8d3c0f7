//! Resuming a stored run: who may resume it (not a finished run, not one a live process
//! drives, not one that would stop at its budget again at once), and the recovery of the task
//! that was running when its driver stopped — its leftover processes are killed, and it counts
//! as done only if its result reached the history; otherwise it runs again. Succeeded tasks
//! are never run again.

use chrono::Utc;
use uuid::Uuid;

use super::owner::{self, Liveness};
use super::{Run, RunError, RunService, RunState, TaskState, check_budget, driver};
use crate::exec::result::Status;

/// Changes a resume may make.
#[derive(Debug, Clone, Default)]
pub struct ResumeOptions {
    /// A new budget (e.g. after `budget_exceeded`).
    pub budget_usd: Option<f64>,
    /// Resume even when the last driver ran on another host and may still be alive.
    pub force: bool,
}

impl RunService {
    /// Prepares a stored run to go on from its first unfinished task: refuses finished runs
    /// and runs a live process drives; settles the task that was running when its driver
    /// stopped (kills what is left of its process tree; takes its result if the history has
    /// it, else records the execution as `crashed` and runs the task again). Follow with
    /// [`Self::start`]; until then the run is reserved for this caller (a second resume is
    /// refused as already running).
    pub async fn resume(&self, id: Uuid, options: ResumeOptions) -> Result<Run, RunError> {
        {
            let active = self.active_map();
            let mut claimed = self.claimed.lock().unwrap_or_else(|p| p.into_inner());
            if active.contains_key(&id) || !claimed.insert(id) {
                return Err(RunError::AlreadyActive(id));
            }
        }
        let result = self.settle_for_resume(id, options).await;
        if result.is_err() {
            self.release(id);
        }
        result
    }

    /// Ends the reservation a `resume` made (its `start` took over, or it failed).
    pub(super) fn release(&self, id: Uuid) {
        self.claimed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    async fn settle_for_resume(&self, id: Uuid, options: ResumeOptions) -> Result<Run, RunError> {
        let store = self.executor.store().clone();
        let mut run = store.get_run(id).await?.ok_or(RunError::Unknown(id))?;
        if run.state.is_final() {
            return Err(RunError::Finished {
                id,
                state: run.state,
            });
        }
        if run.state.is_active()
            && let Some(o) = &run.owner
        {
            match owner::liveness(o) {
                Liveness::Alive => return Err(RunError::DrivenElsewhere { id, pid: o.pid }),
                Liveness::Unknown if !options.force => {
                    return Err(RunError::OtherHost {
                        id,
                        pid: o.pid,
                        host: o.host.clone(),
                    });
                }
                _ => {}
            }
        }
        if options.budget_usd.is_some() {
            check_budget(options.budget_usd)?;
            run.budget_usd = options.budget_usd;
        }
        // Going on under the same cap would stop again at once.
        if run.state == RunState::BudgetExceeded
            && let Some(cap) = run.budget_usd
            && driver::budget_stop(&run).is_some()
        {
            return Err(RunError::BudgetSpent {
                id,
                spent: run.cost_usd,
                cap,
            });
        }
        self.recover_interrupted(&mut run).await?;
        run.state = RunState::Pending;
        run.reason = None;
        run.finished_at = None;
        run.waiting_until = None;
        run.current_task = None;
        run.resumes += 1;
        run.owner = Some(owner::current());
        run.revision += 1;
        run.updated_at = Utc::now();
        store.save_run(&run).await?;
        Ok(run)
    }

    /// Makes every task that was cancelled or running when the run stopped ready to go on: a
    /// cancelled task runs again; a running one is settled from the history (its leftover
    /// process tree killed) and counts as done only if it succeeded.
    async fn recover_interrupted(&self, run: &mut Run) -> Result<(), RunError> {
        let cwd = run.defaults.cwd.clone().unwrap_or_else(|| {
            self.executor
                .config()
                .policy
                .default_cwd
                .display()
                .to_string()
        });
        for task in &mut run.tasks {
            if task.state == TaskState::Cancelled {
                task.state = TaskState::Pending;
                continue;
            }
            if task.state != TaskState::Running {
                continue;
            }
            let Some(eid) = task.execution_id else {
                task.state = TaskState::Pending;
                continue;
            };
            let known = crate::exec::recover::Known {
                task: task.task.clone(),
                cwd: cwd.clone(),
                started_at: task.started_at,
            };
            // Its leftovers are killed; it is recorded `interrupted` unless its result reached
            // the history before the crash (then that result counts).
            let record = self.executor.settle_interrupted(eid, known).await?;
            let r = &record.result;
            driver::account(task, &mut run.cost_usd, &mut run.duration_ms, r);
            if r.status == Status::Succeeded {
                driver::settle_success(task, r);
            } else {
                task.state = TaskState::Pending;
                task.error = Some(format!(
                    "its execution {eid} ended {} when the run was interrupted; run again",
                    r.status
                ));
            }
        }
        Ok(())
    }
}
