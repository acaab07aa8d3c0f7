//! The process tree: deadlines, grandchildren, cancellation, the queue, shutdown, progress.

use super::*;

#[tokio::test]
async fn a_hanging_claude_is_killed_at_the_deadline_with_its_whole_tree() {
    let h = Harness::new();
    let mut req = TaskRequest::new("@fake grandchild mode=hang\nrun forever");
    req.timeout_secs = Some(1);
    let t = Instant::now();
    let r = h.run_request(req).await;
    assert_eq!(r.status, Status::TimedOut, "{r:#?}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert!(
        r.warnings.iter().any(|w| w.contains("1s timeout")),
        "{:?}",
        r.warnings
    );
    assert!(r.session_id.is_some(), "partial output is kept");
    h.assert_tree_gone();
}

#[tokio::test]
async fn a_claude_that_ignores_sigterm_is_sigkilled_after_the_grace_period() {
    let h = Harness::with(|c| c.kill_grace = Duration::from_millis(300));
    let mut req = TaskRequest::new("@fake ignore_sigterm\nrun forever");
    req.timeout_secs = Some(1);
    let r = h.run_request(req).await;
    assert_eq!(r.status, Status::TimedOut);
    assert_eq!(r.signal, Some(9), "{r:#?}");
    assert!(
        r.warnings.iter().any(|w| w.contains("SIGKILL")),
        "{:?}",
        r.warnings
    );
    h.assert_tree_gone();
}

#[tokio::test]
async fn a_grandchild_left_running_is_cleaned_up_after_success() {
    let h = Harness::new();
    let r = h.run("@fake grandchild mode=linger\nspawn a helper").await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert!(
        !h.grandchildren().is_empty(),
        "the fixture spawned a grandchild"
    );
    h.assert_tree_gone();
}

#[tokio::test]
async fn a_grandchild_holding_stdout_open_does_not_hold_the_task() {
    let h = Harness::new();
    let t = Instant::now();
    let r = h
        .run("@fake grandchild mode=hold_stdout\nspawn a helper")
        .await;
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    // Bounded drain (1.5 s) + grace (0.5 s) + generous slack; the grandchild sleeps 600 s.
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("kept its output open")),
        "{:?}",
        r.warnings
    );
    h.assert_tree_gone();
}

#[tokio::test]
async fn cancelling_a_running_task_kills_its_tree() {
    let h = Harness::new();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake grandchild mode=hang\nrun forever"))
        .await
        .unwrap();
    let cancel = CancellationToken::new();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let started_tx = Mutex::new(Some(started_tx));
    let sink = move |e: ProgressEvent| {
        if matches!(e, ProgressEvent::Started { .. })
            && let Some(tx) = started_tx.lock().unwrap().take()
        {
            let _ = tx.send(());
        }
    };
    let exec = h.executor.clone();
    let c = cancel.clone();
    let task = tokio::spawn(async move { exec.execute_with_cancel(spec, sink, c).await });
    started_rx.await.unwrap();
    // Wait until the grandchild exists, so the tree really has two levels.
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.grandchildren().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!group_processes(h.last_pgid()).is_empty());
    cancel.cancel();
    let r = task.await.unwrap();
    assert_eq!(r.status, Status::Cancelled, "{r:#?}");
    h.assert_tree_gone();
}

#[tokio::test]
async fn a_cancelled_queued_task_never_starts_and_the_queue_is_fifo() {
    let h = Harness::new();
    let exec = &h.executor;
    let first = exec
        .prepare(TaskRequest::new("@fake slow secs=1\nfirst task"))
        .await
        .unwrap();
    let second = exec
        .prepare(TaskRequest::new("@fake success\nsecond task"))
        .await
        .unwrap();
    let third = exec
        .prepare(TaskRequest::new("@fake success\nthird task"))
        .await
        .unwrap();
    let cancel_second = CancellationToken::new();
    let (e1, e2, e3) = (exec.clone(), exec.clone(), exec.clone());
    let t1 = tokio::spawn(async move { e1.execute(first, NoProgress).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let c2 = cancel_second.clone();
    let t2 = tokio::spawn(async move { e2.execute_with_cancel(second, NoProgress, c2).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t3 = tokio::spawn(async move { e3.execute(third, NoProgress).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(exec.queue_counts(), (1, 2));
    cancel_second.cancel();
    let r2 = t2.await.unwrap();
    assert_eq!(r2.status, Status::Cancelled);
    let (r1, r3) = (t1.await.unwrap(), t3.await.unwrap());
    assert_eq!(
        (r1.status, r3.status),
        (Status::Succeeded, Status::Succeeded)
    );
    assert!(r3.started_at >= r1.finished_at, "one at a time");
    assert!(r3.queue_wait_ms > 0);
    let prompts: Vec<String> = h
        .invocations()
        .iter()
        .map(|v| {
            v["stdin"]
                .as_str()
                .unwrap()
                .lines()
                .nth(1)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        prompts,
        ["first task", "third task"],
        "the cancelled task never ran"
    );
}

#[tokio::test]
async fn shutdown_stops_running_tasks_and_waits_for_their_trees() {
    let h = Harness::new();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake hang\nrun forever"))
        .await
        .unwrap();
    let exec = h.executor.clone();
    let task = tokio::spawn(async move { exec.execute(spec, NoProgress).await });
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.invocations().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.executor.shutdown().await;
    let r = task.await.unwrap();
    assert_eq!(r.status, Status::Cancelled);
    h.assert_tree_gone();
}

#[tokio::test]
async fn progress_events_arrive_in_order_with_a_heartbeat_while_claude_is_silent() {
    // A real child process: tokio's paused time cannot stand in for the silence, so the
    // heartbeat is short instead (a silence of 1 s holds four periods of 200 ms).
    let h = Harness::with(|c| c.heartbeat_interval = Duration::from_millis(200));
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake slow secs=1\nthink for a while"))
        .await
        .unwrap();
    let r = h
        .executor
        .execute(spec, move |e: ProgressEvent| seen.lock().unwrap().push(e))
        .await;
    assert_eq!(r.status, Status::Succeeded);
    let events = events.lock().unwrap();
    assert!(
        matches!(events[0], ProgressEvent::Queued { position: 0 }),
        "{events:?}"
    );
    assert!(
        matches!(events[1], ProgressEvent::Started { .. }),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ProgressEvent::Heartbeat { .. })),
        "{events:?}"
    );
    assert!(matches!(
        events.last(),
        Some(ProgressEvent::Finished {
            status: Status::Succeeded
        })
    ));
}
