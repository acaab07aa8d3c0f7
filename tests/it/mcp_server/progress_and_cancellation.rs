//! Progress notifications, cancellation, and calls queued one at a time.

use super::*;

/// A task list's progress goes out in order on the wire, before the response, and reaches the
/// number of tasks (`tests/it/mcp_runs.rs` sees notifications through rmcp's client, which may
/// hand them to its handler out of order, so the order is checked here, on the wire).
#[tokio::test(flavor = "multi_thread")]
async fn run_progress_on_the_wire_never_goes_back() {
    let server = Launch::new().start().await;
    let handle = server
        .send_to(
            "cc_execute_list",
            json!({"tasks": ["@fake success\none", "@fake success\ntwo", "@fake success\nthree"], "wait": true}),
            true,
        )
        .await;
    let (token, id) = (
        serde_json::to_value(&handle.progress_token).unwrap(),
        serde_json::to_value(&handle.id).unwrap(),
    );
    let result = server.response(handle).await;
    assert_eq!(structured(&result)["state"], "succeeded", "{result:?}");
    let (notes, response_at) = progress_and_response(&server.wire(), &token, &id);
    assert!(notes.len() >= 6, "{notes:?}");
    assert!(
        notes.iter().all(|(at, _, _)| *at < response_at),
        "{notes:?}"
    );
    assert!(
        notes.windows(2).all(|w| w[0].1 <= w[1].1),
        "progress went back on the wire: {notes:?}"
    );
    assert_eq!(notes.last().map(|n| n.1), Some(3.0), "{notes:?}");
}

#[tokio::test]
async fn progress_notifications_are_ordered_and_precede_the_response() {
    let server = Launch::new().start().await;

    // The tools scenario: init, four tool uses, success.
    let handle = server
        .send(
            json!({"task": "@fake tools\nMake the requested changes."}),
            true,
        )
        .await;
    let (token, id) = (
        serde_json::to_value(&handle.progress_token).unwrap(),
        serde_json::to_value(&handle.id).unwrap(),
    );
    let result = server.response(handle).await;
    assert_eq!(structured(&result)["status"], "succeeded", "{result:?}");
    let wire = server.wire();
    let (_, request) = wire
        .iter()
        .find(|(d, m)| *d == Dir::Sent && m["id"] == id)
        .expect("the request on the wire");
    assert_eq!(
        request["params"]["_meta"]["progressToken"], token,
        "{request}"
    );

    let messages = progress_messages(&server.wire(), &token, &id);
    let root = server.root.display().to_string();
    let expected = [
        "starting (no queue)".to_string(),
        "started: session ".to_string(),
        format!("tool: Write {root}/fake_claude_written.txt"),
        format!("tool: Edit {root}/fake_claude_edited.txt"),
        format!("tool: Write {root}/fake_claude_failed.txt"),
        "tool: Bash echo hello".to_string(),
        "finished: succeeded".to_string(),
    ];
    assert_eq!(messages.len(), expected.len(), "messages: {messages:#?}");
    for (got, want) in messages.iter().zip(&expected) {
        assert!(
            got.starts_with(want.as_str()),
            "got {got:?}, want {want:?} in {messages:#?}"
        );
    }
    assert!(
        messages[1].contains("model claude-sonnet-4-5"),
        "{messages:?}"
    );

    // The slow scenario: no tools, just start and finish.
    let handle = server
        .send(
            json!({"task": "@fake slow secs=0.5\nTake your time."}),
            true,
        )
        .await;
    let (token, id) = (
        serde_json::to_value(&handle.progress_token).unwrap(),
        serde_json::to_value(&handle.id).unwrap(),
    );
    let result = server.response(handle).await;
    assert_eq!(structured(&result)["status"], "succeeded", "{result:?}");
    let messages = progress_messages(&server.wire(), &token, &id);
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(messages[0], "starting (no queue)");
    assert!(messages[1].starts_with("started: session "), "{messages:?}");
    assert_eq!(messages[2], "finished: succeeded");

    // Without a progress token: the same work, no notifications at all.
    let before = server.wire_len();
    let handle = server
        .send(
            json!({"task": "@fake tools\nMake the requested changes."}),
            false,
        )
        .await;
    let id = serde_json::to_value(&handle.id).unwrap();
    let result = server.response(handle).await;
    assert_eq!(structured(&result)["status"], "succeeded", "{result:?}");
    let wire = server.wire();
    let (_, request) = wire[before..]
        .iter()
        .find(|(d, m)| *d == Dir::Sent && m["id"] == id)
        .expect("the request on the wire");
    assert!(
        request["params"]["_meta"].get("progressToken").is_none()
            && request["params"]["_meta"].get(NO_TOKEN_KEY).is_none(),
        "the request still carries a progress token: {request}"
    );
    let stray: Vec<&Value> = wire[before..]
        .iter()
        .filter(|(d, m)| *d == Dir::Received && m["method"] == "notifications/progress")
        .map(|(_, m)| m)
        .collect();
    assert!(stray.is_empty(), "progress without a token: {stray:?}");

    server.close().await;
}

#[tokio::test]
async fn cancelling_a_call_kills_the_process_group_and_the_server_keeps_serving() {
    let server = Launch::new()
        .args(&["--kill-grace-ms", "300"])
        .start()
        .await;

    // 1. RequestHandle::cancel: sends notifications/cancelled for a hanging task.
    let handle = server
        .send(
            json!({"task": "@fake hang\nWait for it (cancel test 1)."}),
            true,
        )
        .await;
    let cancelled_id = serde_json::to_value(&handle.id).unwrap();
    let rec = server.wait_invocation("hang", "cancel test 1").await;
    let pgid = rec["pgid"].as_i64().expect("pgid") as i32;
    assert_eq!(
        rec["pid"].as_i64(),
        Some(pgid as i64),
        "the fake leads its own group"
    );
    assert!(!group_processes(pgid).is_empty(), "the fake is running");
    server
        .within(STEP, "cancel", handle.cancel(Some("test cancels".into())))
        .await
        .expect("send notifications/cancelled");
    server
        .assert_group_gone(pgid, "after RequestHandle::cancel")
        .await;
    assert!(
        server.wire().iter().any(|(d, m)| *d == Dir::Sent
            && m["method"] == "notifications/cancelled"
            && m["params"]["requestId"] == cancelled_id),
        "no notifications/cancelled was sent"
    );

    // 2. Dropping the call future (rmcp sends notifications/cancelled on drop); the fake
    //    ignores SIGTERM, so the process group must be SIGKILLed after the grace period.
    {
        // Boxed, so that `drop` below really drops it (a `tokio::pin!`ned future lives on).
        let mut call = Box::pin(
            server.call(json!({"task": "@fake ignore_sigterm\nStubborn (cancel test 2)."})),
        );
        let rec = tokio::select! {
            r = &mut call => panic!("the stubborn call returned: {r:?}"),
            rec = server.wait_invocation("ignore_sigterm", "cancel test 2") => rec,
        };
        let pgid = rec["pgid"].as_i64().expect("pgid") as i32;
        assert!(!group_processes(pgid).is_empty(), "the fake is running");
        drop(call);
        let cancellations = |wire: &[(Dir, Value)]| {
            wire.iter()
                .filter(|(d, m)| *d == Dir::Sent && m["method"] == "notifications/cancelled")
                .count()
        };
        let deadline = Instant::now() + STEP;
        while cancellations(&server.wire()) < 2 {
            assert!(
                Instant::now() < deadline,
                "dropping the call sent no notifications/cancelled"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
            .assert_group_gone(pgid, "after dropping the call")
            .await;
    }

    // The server still answers.
    let after = server
        .call_ok(json!({"task": "@fake success text=after-cancel\nStill there?"}))
        .await;
    assert_eq!(structured(&after)["status"], "succeeded", "{after:?}");
    assert_eq!(structured(&after)["result"], "after-cancel");

    server.close().await;
}

#[tokio::test]
async fn concurrent_calls_run_one_at_a_time_in_fifo_order() {
    const N: usize = 5;
    let server = Launch::new().start().await;

    // All five are in flight at once. The send order is made unambiguous without timing
    // assumptions: call i+1 goes out once call i has reported that it joined the queue (its
    // first progress notification), which takes milliseconds while job 0 runs for a second.
    let mut handles = Vec::new();
    for i in 0..N {
        let task = format!("@fake slow secs=1 text=job-{i}\nThis is job number {i}.");
        let handle = server.send(json!({ "task": task }), true).await;
        let token = serde_json::to_value(&handle.progress_token).unwrap();
        let first = server.first_progress(&token).await;
        let expected = if i == 0 {
            "starting (no queue)".to_string()
        } else {
            format!("queued (position {i})")
        };
        assert_eq!(first, expected, "call {i}");
        handles.push(handle);
    }
    let results = server
        .within(
            Duration::from_secs(25),
            "five queued calls",
            futures::future::join_all(handles.into_iter().map(|h| server.response(h))),
        )
        .await;

    let mut runs = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let s = structured(r).clone();
        assert_eq!(s["status"], "succeeded", "call {i}: {s}");
        assert_eq!(s["result"], format!("job-{i}"), "call {i}: {s}");
        runs.push((timestamp(&s, "started_at"), timestamp(&s, "finished_at"), s));
    }

    // The fake saw the jobs in send order.
    let invocations = server.invocations();
    let order: Vec<String> = invocations
        .iter()
        .map(|r| r["options"]["text"].as_str().unwrap_or("?").to_string())
        .collect();
    let expected: Vec<String> = (0..N).map(|i| format!("job-{i}")).collect();
    assert_eq!(order, expected, "invocation order");

    // No two overlapped: each ended before the next started (results' own timestamps and the
    // fake's start time).
    for i in 0..N - 1 {
        let (_, end, _) = &runs[i];
        let (next_start, _, _) = &runs[i + 1];
        assert!(
            end <= next_start,
            "job {i} ended at {end} after job {} started at {next_start}",
            i + 1
        );
        let next_spawned_ms = invocations[i + 1]["time_ms"].as_i64().expect("time_ms");
        assert!(
            end.timestamp_millis() <= next_spawned_ms,
            "job {} was spawned ({next_spawned_ms} ms) before job {i} finished ({end})",
            i + 1
        );
    }
    // Everybody but the first waited in the queue.
    for (i, (_, _, s)) in runs.iter().enumerate().skip(1) {
        assert!(
            s["queue_wait_ms"].as_u64().unwrap_or(0) > 0,
            "job {i} did not wait: {s}"
        );
    }

    server.close().await;
}
