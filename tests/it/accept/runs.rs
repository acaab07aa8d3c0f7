//! Task lists with `accept` on their tasks and the failure policy `repair`, with the fake
//! `claude`.

use cc_executor::Status;
use cc_executor::plan::validate::parse_tasks;
use cc_executor::runs::{
    FailurePolicy, Run, RunError, RunRequest, RunService, RunState, TaskState,
};
use serde_json::{Value, json};

type Harness = crate::support::fake_executor::FakeExecutor;

async fn run(h: &Harness, tasks: Value, policy: FailurePolicy) -> Result<Run, RunError> {
    let runs = RunService::new(h.executor.clone());
    let run = runs
        .create(RunRequest {
            tasks: parse_tasks(&tasks).unwrap(),
            failure_policy: policy,
            ..Default::default()
        })
        .await?;
    let id = runs.start(run, |_| {});
    Ok(runs.wait(id).await.unwrap())
}

fn checked_task(fixes: bool) -> Value {
    let fixes = if fixes { "" } else { " fixes=0" };
    json!({"id": "write", "task": format!("@fake repairable{fixes}\nwrite out.txt"),
           "accept": {"commands": [["grep", "good", "out.txt"]]}})
}

#[tokio::test]
async fn the_repair_policy_repairs_a_rejected_task_and_the_run_goes_on() {
    let h = Harness::new();
    let tasks = json!([checked_task(true), {"id": "next", "task": "@fake success\nthen this"}]);
    let run = run(&h, tasks, FailurePolicy::Repair).await.unwrap();
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let t = &run.tasks[0];
    assert_eq!(
        (t.state, t.repairs, t.executions.len()),
        (TaskState::Succeeded, 1, 2),
        "{t:#?}"
    );
    assert_eq!(t.execution_id, t.executions.last().copied());
    // Both attempts are in the history, linked; both cost.
    let first = h.executor.record(t.executions[0]).await.unwrap().unwrap();
    let last = h.executor.record(t.executions[1]).await.unwrap().unwrap();
    // The repair is recorded as the same kind of work (the predictor learns from both).
    assert_eq!(
        (&first.category, &first.complexity),
        (&last.category, &last.complexity)
    );
    let (first, last) = (first.result, last.result);
    assert_eq!(first.status, Status::Rejected);
    assert_eq!(last.status, Status::Succeeded);
    assert_eq!(last.repair.unwrap().executions[0], first.execution_id);
    let both = first.total_cost_usd.unwrap() + last.total_cost_usd.unwrap();
    assert!((t.cost_usd.unwrap() - both).abs() < 1e-9, "{t:#?}");
    assert_eq!(run.tasks[1].state, TaskState::Succeeded);
}

#[tokio::test]
async fn a_task_still_rejected_after_its_repairs_stops_the_run() {
    let h = Harness::new();
    let tasks = json!([checked_task(false), {"id": "next", "task": "@fake success\nthen this"}]);
    let run = run(&h, tasks, FailurePolicy::Repair).await.unwrap();
    assert_eq!(run.state, RunState::Failed, "{run:#?}");
    let t = &run.tasks[0];
    assert_eq!(t.state, TaskState::Failed);
    assert_eq!(t.status, Some(Status::Rejected));
    assert_eq!((t.repairs, t.executions.len()), (2, 3), "{t:#?}");
    assert_eq!(run.tasks[1].state, TaskState::Skipped);
    assert!(
        run.reason
            .as_deref()
            .unwrap()
            .contains("failure policy `repair`"),
        "{:?}",
        run.reason
    );
}

#[tokio::test]
async fn under_stop_a_rejected_task_fails_without_a_repair_and_bad_checks_refuse_the_list() {
    let h = Harness::new();
    let run = run(&h, json!([checked_task(true)]), FailurePolicy::Stop)
        .await
        .unwrap();
    let t = &run.tasks[0];
    assert_eq!(
        (t.state, t.status, t.executions.len()),
        (TaskState::Failed, Some(Status::Rejected), 1)
    );

    let bad = json!([{"task": "x", "accept": {"files": [{"path": "/etc/hostname"}]}}]);
    let e = run_err(&h, bad).await;
    assert!(
        e.contains("task 1") && e.contains("policy.allowed_roots"),
        "{e}"
    );
    let malformed = json!([{"task": "x", "accept": {"commandz": []}}]);
    let e = parse_tasks(&malformed).unwrap_err();
    assert!(e[0].message.contains("invalid `accept`"), "{e:?}");
}

async fn run_err(h: &Harness, tasks: Value) -> String {
    run(h, tasks, FailurePolicy::Repair)
        .await
        .unwrap_err()
        .to_string()
}
