//! The budget cap and usage limits, on both backends.

use super::*;

async fn the_budget_cap_stops_the_run_before_it_is_exceeded(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create_with(
            json!([
                "@fake success cost=0.4\none",
                "@fake success cost=0.4\ntwo",
                "@fake success cost=0.4\nthree",
                "@fake success cost=0.4\nfour"
            ]),
            |r| r.budget_usd = Some(1.0),
        )
        .await
        .unwrap();
    let run = h.run(run).await;
    assert_eq!(run.state, RunState::BudgetExceeded, "{run:#?}");
    assert_eq!(run.count(TaskState::Succeeded), 2);
    assert_eq!(
        run.count(TaskState::Pending),
        2,
        "the rest can run after a resume"
    );
    assert!((run.cost_usd - 0.8).abs() < 1e-9, "{}", run.cost_usd);
    assert!(
        run.reason.as_deref().unwrap().contains("budget"),
        "{:?}",
        run.reason
    );
    assert_eq!(h.prompts().len(), 2);
    // Each task ran with what was left of the budget as its own ceiling.
    let invocations: Vec<Value> =
        std::fs::read_to_string(h.root().join("record/invocations.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let argv = invocations[1]["argv"].to_string();
    assert!(argv.contains("--max-budget-usd=0.6"), "{argv}");

    // Resuming without a higher budget is refused; with one, the rest runs (and only the rest).
    let e = h
        .runs
        .resume(run.run_id, ResumeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, RunError::BudgetSpent { .. }), "{e}");
    assert!(e.to_string().contains("higher budget"), "{e}");
    let resumed = h
        .runs
        .resume(
            run.run_id,
            ResumeOptions {
                budget_usd: Some(5.0),
                force: false,
            },
        )
        .await
        .unwrap();
    let done = h.run(resumed).await;
    assert_eq!(done.state, RunState::Succeeded, "{done:#?}");
    assert_eq!(h.prompts().len(), 4);
}

async fn a_run_budget_above_the_per_task_ceiling_runs_each_task_within_the_ceiling(b: Backend) {
    let h = Harness::with(b, |c| c.policy.max_budget_usd = Some(0.5)).await;
    let run = h
        .create_with(json!(["@fake success\none", "@fake success\ntwo"]), |r| {
            r.budget_usd = Some(10.0)
        })
        .await
        .unwrap();
    let run = h.run(run).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let argv = std::fs::read_to_string(h.root().join("record/invocations.jsonl")).unwrap();
    assert!(argv.contains("--max-budget-usd=0.5"), "{argv}");
}

async fn a_usage_limit_is_waited_out_then_the_task_runs_again(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create(
            json!(["@fake flaky fail=1 fail_with=usage_limit resets_in=2 key=limit text=after-reset\nwork", "@fake success text=next\nnext"]),
            FailurePolicy::Stop,
        )
        .await
        .unwrap();
    let sleeping = Arc::new(tokio::sync::Notify::new());
    let signal = sleeping.clone();
    let id = h.runs.start(run, move |e| {
        if matches!(e, RunEvent::WaitingForUsageReset { .. }) {
            signal.notify_one();
        }
    });
    // The wait is visible while it lasts.
    let deadline = Instant::now() + Duration::from_secs(10);
    let waiting = loop {
        let s = h.runs.status(id).await.unwrap().unwrap();
        if s.run.state == RunState::WaitingForUsageReset {
            break s;
        }
        assert!(Instant::now() < deadline, "never waited: {:#?}", s.run);
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(waiting.run.waiting_until.is_some());
    assert_eq!(waiting.run.tasks[0].state, TaskState::Pending);
    // The wait itself (up to 2 s, until the reset the fake reported) is the run driver's own
    // sleep on tokio's clock, with no process running: pausing the clock for a moment and
    // moving it past the reset ends it at once. Only for that moment: a real `claude` runs
    // before and after, and while it runs a paused clock would jump to its deadlines. The
    // runtime is current-thread (the clock can only be paused there), so when the driver's
    // event has reached us, the driver has also started its sleep (same poll, nothing awaited
    // in between).
    sleeping.notified().await;
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(3)).await;
    tokio::time::resume();
    let run = tokio::time::timeout(Duration::from_secs(30), h.runs.wait(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let t = &run.tasks[0];
    assert_eq!(t.executions.len(), 2, "the limited execution and the retry");
    assert_eq!(t.result_summary.as_deref(), Some("after-reset"));
    let first = h.store.get(t.executions[0]).await.unwrap().unwrap();
    assert_eq!(first.result.status, Status::RateLimited);
    assert!(first.result.resets_at.is_some());
}

async fn a_usage_limit_beyond_the_maximum_wait_fails_the_task(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create_with(json!(["@fake usage_limit resets_in=7200\nwork"]), |r| {
            r.max_usage_wait_secs = Some(60)
        })
        .await
        .unwrap();
    let run = h.run(run).await;
    assert_eq!(run.state, RunState::Failed);
    let e = run.tasks[0].error.as_deref().unwrap();
    assert!(e.contains("max_usage_wait_secs 60"), "{e}");
}

on_both_backends!(
    a_run_budget_above_the_per_task_ceiling_runs_each_task_within_the_ceiling,
    the_budget_cap_stops_the_run_before_it_is_exceeded,
    a_usage_limit_beyond_the_maximum_wait_fails_the_task;
    current_thread: a_usage_limit_is_waited_out_then_the_task_runs_again,
);
