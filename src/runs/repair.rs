//! The failure policy `repair` in a run: a task its acceptance checks reject is run again —
//! a fresh process, a new execution linked to the first, told what the checks found — up to
//! [`LIST_REPAIRS`] times, before the run's policy (`stop`) applies. The driver follows each
//! execution by id, so the loop is the driver's (the executor's own loop is for callers that
//! wait for one result).

use super::RunEvent;
use super::driver::{Driver, account, budget_stop};
use crate::exec::progress::ProgressEvent;
use crate::exec::result::{ExecutionResult, Status};
use crate::runs::model::{FailurePolicy, Run};
use crate::types::run::LIST_REPAIRS;

impl Driver {
    /// Runs task `i`: once, or — under the failure policy `repair`, while its checks reject
    /// it and repairs and budget are left — again, each repair a new execution linked to the
    /// first, told what the checks found. The rejected attempts are accounted (cost, time,
    /// executions) here; the last one is the caller's to settle.
    pub(super) async fn run_task(&self, i: usize) -> Result<ExecutionResult, String> {
        let mut earlier: Vec<uuid::Uuid> = Vec::new();
        let mut last: Option<ExecutionResult> = None;
        loop {
            let run = self.run();
            let repairing =
                run.failure_policy == FailurePolicy::Repair && run.tasks[i].accept.is_some();
            let repair = repairing.then(|| (earlier.clone(), last.as_ref()));
            let result = self.start_task(i, &run, repair).await?;
            let repairs = earlier.len() as u32;
            if !repairing
                || result.status != Status::Rejected
                || repairs >= LIST_REPAIRS
                || self.active.cancel.is_cancelled()
            {
                return Ok(result);
            }
            // This attempt is over: its cost and time count, and the budget must allow more.
            self.save(|run| {
                let Run {
                    tasks,
                    cost_usd,
                    duration_ms,
                    ..
                } = run;
                account(&mut tasks[i], cost_usd, duration_ms, &result);
                tasks[i].repairs = repairs + 1;
            })
            .await;
            if budget_stop(&self.run()).is_some() {
                return Ok(result);
            }
            self.sink.emit(RunEvent::Execution {
                task_id: run.tasks[i].id.clone(),
                event: ProgressEvent::Retrying {
                    next_attempt: repairs + 2,
                    after: Status::Rejected,
                    delay: std::time::Duration::ZERO,
                },
            });
            earlier.push(result.execution_id);
            last = Some(result);
        }
    }
}
