//! Failure policies, and references to earlier results, on both backends.

use super::*;

async fn stop_policy_stops_at_the_failed_task_and_skips_the_rest(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create(five_with_third_failing(), FailurePolicy::Stop)
        .await
        .unwrap();
    let run = h.run(run).await;
    assert_eq!(run.state, RunState::Failed, "{run:#?}");
    use TaskState::*;
    assert_eq!(
        states(&run),
        [
            ("t1", Succeeded),
            ("t2", Succeeded),
            ("t3", Failed),
            ("t4", Skipped),
            ("t5", Skipped)
        ]
    );
    assert!(
        run.reason.as_deref().unwrap().contains("`t3` failed"),
        "{:?}",
        run.reason
    );
    assert!(
        run.tasks[4]
            .error
            .as_deref()
            .unwrap()
            .contains("stopped after `t3`")
    );
    assert_eq!(h.prompts().len(), 3, "nothing after the failure ran");
    // Every execution is in the history, the failed one included.
    let failed = run.tasks[2].execution_id.unwrap();
    let rec = h.store.get(failed).await.unwrap().unwrap();
    assert_eq!(rec.result.status, Status::Crashed);
    assert!(run.cost_usd > 0.0);
    assert_eq!(run.done(), 5);
}

async fn continue_policy_skips_only_the_dependants_of_a_failed_task(b: Backend) {
    let h = Harness::new(b).await;
    let run = h
        .create(five_with_third_failing(), FailurePolicy::Continue)
        .await
        .unwrap();
    let run = h.run(run).await;
    use TaskState::*;
    assert_eq!(
        states(&run),
        [
            ("t1", Succeeded),
            ("t2", Succeeded),
            ("t3", Failed),
            ("t4", Skipped),
            ("t5", Succeeded)
        ]
    );
    assert_eq!(run.state, RunState::Failed);
    assert!(
        run.tasks[3]
            .error
            .as_deref()
            .unwrap()
            .contains("depends on `t3`")
    );
    assert_eq!(run.tasks[4].result_summary.as_deref(), Some("five"));
    assert_eq!(h.prompts().len(), 4, "the skipped task never ran");
}

async fn references_carry_earlier_results_and_files_into_later_tasks(b: Backend) {
    let h = Harness::new(b).await;
    let long = "x".repeat(500);
    let run = h
        .create(
            json!([
                {"id": "gen", "task": format!("@fake success text=\"the answer is 42 {long}\"\nthink")},
                {"id": "write", "task": "@fake tools write=notes.md\nwrite notes"},
                "@fake echo\nUse: {{tasks.gen.result}}\nFiles: {{tasks.write.files_written}}\nKeep {{other}} as is."
            ]),
            FailurePolicy::Stop,
        )
        .await
        .unwrap();
    assert_eq!(
        run.tasks[2].depends_on,
        ["gen", "write"],
        "references are dependencies"
    );
    let run = h.run(run).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let third = &h.prompts()[2];
    // The full answer (not the 200-character summary), the written path, other braces kept.
    assert!(
        third.contains(&format!("Use: the answer is 42 {long}\n")),
        "{third}"
    );
    assert!(
        third.contains("Files: ") && third.contains("notes.md"),
        "{third}"
    );
    assert!(third.contains("Keep {{other}} as is."), "{third}");
    assert!(!third.contains("{{tasks."), "{third}");
    // Verifying the run verifies every execution of its tasks.
    let report = h
        .runs
        .executor()
        .verify(
            cc_executor::evidence::verify::Target::One(run.run_id),
            false,
        )
        .await
        .unwrap();
    let ids: Vec<_> = report.executions.iter().map(|e| e.execution_id).collect();
    let expected: Vec<_> = run.tasks.iter().filter_map(|t| t.execution_id).collect();
    assert_eq!(ids, expected, "{report:#?}");
    assert!(report.notes[0].contains("3 task(s)"), "{:?}", report.notes);
    assert!(report.executions.iter().all(|e| e.response_file.is_some()));
}

on_both_backends!(
    stop_policy_stops_at_the_failed_task_and_skips_the_rest,
    continue_policy_skips_only_the_dependants_of_a_failed_task,
    references_carry_earlier_results_and_files_into_later_tasks;
    current_thread:
);
