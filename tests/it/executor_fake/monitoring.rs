//! Monitoring: submit, watch, cancel and status of executions.

use super::*;
use cc_executor::exec::registry::Phase;

#[tokio::test]
async fn submit_returns_at_once_and_the_result_equals_a_blocking_run() {
    let h = Harness::new();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake slow secs=1.5\nsay all-good"))
        .await
        .unwrap();
    let t = Instant::now();
    let s = h.executor.submit(spec.clone(), NoProgress).await.unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(s.queue_position, 0);
    assert_eq!(s.timeout_secs, spec.timeout.as_secs());
    let st = h.executor.status(s.execution_id).unwrap();
    assert!(
        matches!(st.phase, Phase::Queued | Phase::Starting | Phase::Running),
        "{st:?}"
    );
    assert!(st.result.is_none());

    let waited = h.executor.wait(s.execution_id).await.unwrap();
    let blocking = h.executor.execute(spec, NoProgress).await;
    assert_eq!(waited.status, blocking.status);
    assert_eq!(waited.result, blocking.result);
    assert_eq!(waited.tools_used, blocking.tools_used);
    let done = h.executor.status(s.execution_id).unwrap();
    assert_eq!(done.phase, Phase::Finished);
    assert_eq!(done.result.unwrap().execution_id, s.execution_id);
}

#[tokio::test]
async fn watch_returns_early_on_a_change_and_on_finish() {
    let h = Harness::new();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake slow secs=1\nthink"))
        .await
        .unwrap();
    let id = h
        .executor
        .submit(spec, NoProgress)
        .await
        .unwrap()
        .execution_id;
    // The task may already be running when its id comes back (the fake answers within
    // milliseconds): the phase it is in then counts as seen.
    let first = h.executor.status(id).unwrap();
    let mut seen = first.version;
    let t = Instant::now();
    let mut phases = vec![first.phase];
    loop {
        let st = h
            .executor
            .watch(id, seen, Duration::from_secs(30))
            .await
            .unwrap();
        assert!(st.version > seen, "watch returned without a change");
        seen = st.version;
        phases.push(st.phase);
        if st.phase == Phase::Finished {
            assert!(st.result.is_some(), "finished comes with its result");
            break;
        }
    }
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "returned on finish, not on the 30 s cap"
    );
    assert!(phases.contains(&Phase::Running), "{phases:?}");
    // A watch with nothing left to happen waits out its bound: on tokio's clock, paused
    // now that the task and its processes are gone, so the wait passes at once.
    tokio::time::pause();
    let t = tokio::time::Instant::now();
    let st = h
        .executor
        .watch(id, seen, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(st.version, seen);
    assert!(t.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn cancel_reaches_queued_and_running_executions_and_is_harmless_when_finished() {
    let h = Harness::new();
    let running = h
        .executor
        .submit(
            h.executor
                .prepare(TaskRequest::new("@fake hang\nforever"))
                .await
                .unwrap(),
            NoProgress,
        )
        .await
        .unwrap();
    let queued = h
        .executor
        .submit(
            h.executor
                .prepare(TaskRequest::new("@fake success\nlater"))
                .await
                .unwrap(),
            NoProgress,
        )
        .await
        .unwrap();
    assert_eq!(queued.queue_position, 1);
    let st = h.executor.status(queued.execution_id).unwrap();
    assert_eq!((st.phase, st.queue_position), (Phase::Queued, Some(1)));

    let st = h.executor.cancel(queued.execution_id).await.unwrap();
    assert_eq!(
        (st.phase, st.status),
        (Phase::Finished, Some(Status::Cancelled))
    );

    while h.invocations().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let st = h.executor.cancel(running.execution_id).await.unwrap();
    assert_eq!(st.status, Some(Status::Cancelled));
    h.assert_tree_gone();
    assert_eq!(
        h.invocations().len(),
        1,
        "the queued execution never started"
    );

    let again = h.executor.cancel(running.execution_id).await.unwrap();
    assert_eq!(again.status, Some(Status::Cancelled));
    assert!(h.executor.cancel(uuid::Uuid::new_v4()).await.is_none());
    assert!(h.executor.wait(uuid::Uuid::new_v4()).await.is_none());
}

#[tokio::test]
async fn status_tells_thinking_from_stalled_and_counts_tools() {
    let h = Harness::new();
    let root = h.root();
    let id = h
        .executor
        .submit(
            h.executor
                .prepare(TaskRequest::new(format!(
                    "@fake tools write={0}/a edit={0}/b failed={0}/c pace_ms=200\nedit",
                    root.display()
                )))
                .await
                .unwrap(),
            NoProgress,
        )
        .await
        .unwrap()
        .execution_id;
    let r = h.executor.wait(id).await.unwrap();
    assert_eq!(r.status, Status::Succeeded);
    let st = h.executor.status(id).unwrap();
    assert_eq!(st.tools_used.get("Write"), Some(&2));
    assert!(st.last_event.is_some() && st.last_event_ago_ms.is_some());
    assert_eq!(st.time_left_ms, None, "no deadline once finished");
    assert_eq!(h.executor.list().len(), 1);
}
