//! Resuming a cancelled run, and refusing invalid lists, on both backends.

use super::*;

async fn a_cancelled_run_resumes_without_repeating_finished_tasks(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create(
            json!([
                "@fake success\none",
                "@fake slow secs=2\ntwo",
                "@fake success\nthree"
            ]),
            FailurePolicy::Stop,
        )
        .await
        .unwrap();
    let id = h.runs.start(run, |_| {});
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.prompts().len() < 2 {
        assert!(Instant::now() < deadline, "task two never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t = Instant::now();
    let status = h.runs.cancel(id).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(status.run.state, RunState::Cancelled, "{:#?}", status.run);
    assert_eq!(status.run.tasks[1].state, TaskState::Cancelled);
    assert_eq!(status.run.tasks[2].state, TaskState::Pending);

    // Two resumes at once: exactly one wins.
    let (a, b) = tokio::join!(
        h.runs.resume(id, ResumeOptions::default()),
        h.runs.resume(id, ResumeOptions::default())
    );
    let (resumed, lost) = match (a, b) {
        (Ok(r), Err(e)) | (Err(e), Ok(r)) => (r, e),
        other => panic!("exactly one resume must win: {other:?}"),
    };
    assert!(matches!(lost, RunError::AlreadyActive(_)), "{lost}");
    assert_eq!(resumed.resumes, 1);
    let done = h.run(resumed).await;
    assert_eq!(done.run_id, id);
    assert_eq!(done.state, RunState::Succeeded, "{done:#?}");
    let prompts = h.prompts();
    assert_eq!(prompts.iter().filter(|p| p.contains("\none")).count(), 1);
    assert_eq!(prompts.iter().filter(|p| p.contains("\ntwo")).count(), 2);
    assert_eq!(done.tasks[1].executions.len(), 2);
    // A finished run cannot be resumed.
    let e = h
        .runs
        .resume(id, ResumeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, RunError::Finished { .. }), "{e}");
    assert!(e.to_string().contains("already finished"), "{e}");
}

async fn invalid_lists_are_refused_before_anything_runs(b: Backend) {
    let h = Harness::new(b).await;
    let e = h
        .create(
            json!([
                {"id": "a", "task": "do a", "depends_on": ["b"]},
                {"id": "b", "task": "do b", "depends_on": ["a"]}
            ]),
            FailurePolicy::Stop,
        )
        .await
        .unwrap_err();
    let RunError::Invalid(report) = &e else {
        panic!("{e}")
    };
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.kind == ErrorKind::ForwardDependency || e.kind == ErrorKind::Cycle),
        "{report:#?}"
    );
    assert!(e.to_string().contains("nothing was started"), "{e}");

    // A reference to a task that does not exist, and a malformed one.
    let e = h
        .create(json!(["use {{tasks.nope.result}}"]), FailurePolicy::Stop)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
    let e = h
        .create(
            json!(["first", "use {{tasks.1.cost}}"]),
            FailurePolicy::Stop,
        )
        .await
        .unwrap_err();
    let RunError::Invalid(report) = &e else {
        panic!("{e}")
    };
    assert_eq!(
        report.errors[0].kind,
        ErrorKind::InvalidReference,
        "{report:#?}"
    );
    // A bad budget and defaults the policy refuses.
    let e = h
        .create_with(json!(["x"]), |r| r.budget_usd = Some(-1.0))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("budget_usd"), "{e}");
    let e = h
        .create_with(json!(["x"]), |r| r.defaults.cwd = Some("/".into()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cwd"), "{e}");
    assert!(h.prompts().is_empty());
    assert!(
        h.store.list_runs(10).await.unwrap().is_empty(),
        "nothing stored"
    );

    let e = h
        .runs
        .resume(uuid::Uuid::new_v4(), ResumeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, RunError::Unknown(_)), "{e}");
}

on_both_backends!(
    a_cancelled_run_resumes_without_repeating_finished_tasks,
    invalid_lists_are_refused_before_anything_runs;
    current_thread:
);
