//! Bounded repair: a task rejected by its checks is run again — a fresh process, a new
//! execution linked to the first (`repair`), the failures (and the validator's `fix`) added to
//! its prompt — until it passes or `max_attempts` repairs are spent. The budget
//! (`max_budget_usd`) covers every attempt and every validator run: each repair may spend only
//! what is left.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::exec::Executor;
use crate::exec::progress::{ProgressEvent, ProgressSink};
use crate::exec::queue::Reservation;
use crate::types::result::{ExecutionResult, Status};
use crate::types::task::{SpecLink, TaskSpec};

/// Most characters of check failures carried into a repair prompt.
const FAILURES_SHOWN: usize = 6000;

/// The prompt of a repair: the task as first given, then what the checks of the attempt
/// before found.
pub(crate) fn prompt(task: &str, rejected: &ExecutionResult) -> String {
    let mut failures = String::new();
    if let Some(acceptance) = &rejected.acceptance {
        for c in acceptance.failures() {
            failures.push_str(&format!(
                "- {} check failed: {}\n",
                c.kind.as_str(),
                c.detail
            ));
        }
    }
    let failures = crate::types::text::truncate_chars(&failures, FAILURES_SHOWN);
    format!(
        "{task}\n\n---\nA previous attempt at this task (execution {}) was rejected by its acceptance checks:\n{failures}\nThe work of that attempt is still in place. Fix what these checks report, so that they pass, and finish the task.",
        rejected.execution_id
    )
}

/// What the attempts so far have cost, USD (the task runs and their validators).
fn cost_of(r: &ExecutionResult) -> f64 {
    r.total_cost_usd.unwrap_or(0.0)
        + r.acceptance
            .as_ref()
            .and_then(|a| a.cost_usd)
            .unwrap_or(0.0)
}

/// Runs `spec`, then repairs it while it is `rejected` and repairs are left. Every attempt is
/// its own execution, queued like any other (the first at `place`); the result returned is the
/// last attempt's, whose `repair` lists them all.
pub(crate) async fn run(
    executor: &Executor,
    spec: TaskSpec,
    sink: impl ProgressSink,
    cancel: CancellationToken,
    place: Option<Reservation>,
) -> ExecutionResult {
    let sink: Arc<dyn ProgressSink> = Arc::new(sink);
    // Each attempt announces its own end; the caller hears "finished" once, for the last.
    let forward = {
        let sink = sink.clone();
        move |e: ProgressEvent| {
            if !matches!(e, ProgressEvent::Finished { .. }) {
                sink.emit(e);
            }
        }
    };
    let forward = Arc::new(forward);
    let task = spec.prompt.clone();
    let budget = spec.max_budget_usd;
    let max = spec.repair_max;
    let mut earlier: Vec<Uuid> = Vec::new();
    let mut spent = 0.0;
    let mut attempt = spec.clone();
    attempt.link = Some(SpecLink::Repair {
        earlier: Vec::new(),
    });
    let mut place = place;
    loop {
        let f = forward.clone();
        let result = executor
            .execute_once(attempt, move |e| f(e), cancel.clone(), place.take())
            .await;
        spent += cost_of(&result);
        earlier.push(result.execution_id);
        let repairs = earlier.len() as u32 - 1;
        if result.status != Status::Rejected || repairs >= max || cancel.is_cancelled() {
            return finish(result, &sink, repairs, max);
        }
        let left = budget.map(|b| b - spent);
        if let Some(left) = left
            && left <= 0.0
        {
            let mut result = finish(result, &sink, repairs, max);
            result.warnings.push(format!(
                "no repair: `max_budget_usd` ({:.4}) is spent by the attempts so far (${spent:.4})",
                budget.unwrap_or_default()
            ));
            return result;
        }
        sink.emit(ProgressEvent::Retrying {
            next_attempt: repairs + 2,
            after: Status::Rejected,
            delay: Duration::ZERO,
        });
        attempt = spec.clone();
        attempt.prompt = prompt(&task, &result);
        attempt.max_budget_usd = left;
        attempt.link = Some(SpecLink::Repair {
            earlier: earlier.clone(),
        });
    }
}

/// The last attempt's result, with a word on how the loop went; "finished" to the caller.
fn finish(
    mut result: ExecutionResult,
    sink: &Arc<dyn ProgressSink>,
    repairs: u32,
    max: u32,
) -> ExecutionResult {
    if result.status == Status::Rejected && repairs >= max && max > 0 {
        result.warnings.push(format!(
            "still rejected after {repairs} repair(s), the most allowed"
        ));
    } else if repairs > 0 && result.status == Status::Succeeded {
        result
            .warnings
            .push(format!("accepted after {repairs} repair(s)"));
    }
    sink.emit(ProgressEvent::Finished {
        status: result.status,
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::accept::{Acceptance, CheckKind, CheckResult};

    #[test]
    fn a_repair_prompt_carries_the_task_and_only_the_failures() {
        let mut r = ExecutionResult::empty(Uuid::new_v4(), Status::Rejected, vec![]);
        let check = |passed, detail: &str| CheckResult {
            kind: CheckKind::Command,
            passed,
            detail: detail.into(),
            duration_ms: 1,
            execution_id: None,
        };
        r.acceptance = Some(Acceptance {
            passed: false,
            checks: vec![
                check(true, "`ls` exited 0"),
                check(false, "`pytest -q` exited 1; output:\nE assert 3 == 4"),
            ],
            cost_usd: None,
        });
        let p = prompt("write add()", &r);
        assert!(p.starts_with("write add()\n"));
        assert!(p.contains("E assert 3 == 4") && p.contains(&r.execution_id.to_string()));
        assert!(!p.contains("`ls` exited 0"));
    }
}
