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

/// The event log behind `serve`'s WebSocket and SSE streams: every event of an execution,
/// numbered, replayable from any point, the model's text included (which the caller's sink,
/// like MCP progress, does not get).
#[tokio::test]
async fn an_executions_events_replay_in_order_from_any_point_with_the_models_text() {
    use cc_executor::exec::feed::FeedItem;
    let h = Harness::new();
    let spec = h
        .executor
        .prepare(TaskRequest::new("@fake tools\nchange things"))
        .await
        .unwrap();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let heard = heard.clone();
        move |e: ProgressEvent| heard.lock().unwrap().push(e)
    };
    let id = h.executor.submit(spec, sink).await.unwrap().execution_id;
    // A reader attached while it runs and one that comes after it finished see the same.
    let mut live = h.executor.events(id, 0).expect("known here");
    let mut seen_live = Vec::new();
    while let Some(item) = live.next().await {
        let FeedItem::Event(e) = item else {
            panic!("nothing is missed: {item:?}")
        };
        seen_live.push(e);
    }
    let mut late = h.executor.events(id, 0).unwrap();
    let mut seen_late = Vec::new();
    while let Some(FeedItem::Event(e)) = late.next().await {
        seen_late.push(e);
    }
    assert_eq!(seen_live, seen_late);

    let seqs: Vec<u64> = seen_live.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let kinds: Vec<String> = seen_live
        .iter()
        .map(|e| e.to_json()["kind"].as_str().unwrap().to_string())
        .collect();
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("{k}: {kinds:?}"))
    };
    assert!(pos("queued") < pos("started"));
    assert!(
        pos("started") < pos("text") && pos("text") < pos("tool_use"),
        "{kinds:?}"
    );
    assert_eq!(kinds.last().map(String::as_str), Some("finished"));
    let text = &seen_live[pos("text")].to_json();
    assert_eq!(text["text"], "I'll make the requested changes.");

    // Reattaching after event k gives exactly the rest.
    let k = 2;
    let mut rest = h.executor.events(id, k).unwrap();
    let mut after = Vec::new();
    while let Some(FeedItem::Event(e)) = rest.next().await {
        after.push(e.seq);
    }
    assert_eq!(after, seqs[k as usize..].to_vec());

    // The caller's sink got every event but the text. (It hears "finished" just after the
    // log has it.)
    let not_text = seen_live.iter().filter(|e| !e.event.is_text()).count();
    let t = Instant::now();
    while heard.lock().unwrap().len() < not_text && t.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let heard = heard.lock().unwrap();
    assert!(!heard.iter().any(ProgressEvent::is_text), "{heard:?}");
    assert_eq!(heard.len(), not_text);
    assert!(h.executor.events(uuid::Uuid::new_v4(), 0).is_none());
}
