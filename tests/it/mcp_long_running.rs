//! Long-running work over MCP, on the built binary with rmcp's client: `cc_execute` with
//! `wait: false`, `monitor_execution` long-polls, `cancel_execution`, the MCP Tasks extension
//! for clients that declare it, `pause_execution` (pause and resume), `check_websocket_status`,
//! and bad input to each.

use std::time::{Duration, Instant};

use crate::support::fixtures::wait_group_gone;
use crate::support::mcp_client::{Server, data, message, start};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, ClientCapabilities, ClientConfig,
    GetTaskParams, Implementation, RequestMetaObject, TaskPayload, TaskStatus,
};
use rmcp::service::{RoleClient, Service};
use serde_json::json;

/// The process group of the fake invocation whose prompt contains `marker`.
async fn pgid_of<S: Service<RoleClient>>(s: &Server<S>, marker: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = s
            .invocations()
            .into_iter()
            .find(|v| v["stdin"].as_str().unwrap_or("").contains(marker))
        {
            return v["pgid"].as_i64().unwrap() as i32;
        }
        assert!(Instant::now() < deadline, "the fake never ran {marker}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_false_returns_at_once_and_monitor_long_polls_to_the_same_result_as_blocking() {
    let s = start((), &[]).await;
    let task = "@fake tools pace_ms=300\nedit some files, slowly";
    let t = Instant::now();
    let started = s
        .call("cc_execute", json!({"task": task, "wait": false}))
        .await;
    let answered_in = t.elapsed();
    assert_eq!(data(&started)["status"], "started", "{started:?}");
    assert!(answered_in < Duration::from_secs(2), "{answered_in:?}");
    let id = data(&started)["execution_id"].as_str().unwrap().to_string();

    // Long-poll: every answer comes early (a change), never at the 40 s cap.
    let mut version = 0u64;
    let mut phases = Vec::new();
    let finished = loop {
        let t = Instant::now();
        let m = s
            .call(
                "monitor_execution",
                json!({"execution_id": id, "wait_secs": 40, "since_version": version}),
            )
            .await;
        assert!(m.is_error != Some(true), "{m:?}");
        let d = data(&m).clone();
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "returned on a change"
        );
        assert_eq!(d["changed"], true);
        version = d["version"].as_u64().unwrap();
        let e = &d["executions"][0];
        phases.push(e["phase"].as_str().unwrap().to_string());
        if e["phase"] == "finished" {
            break e.clone();
        }
        assert!(e["last_event"].is_string() || e["phase"] == "queued" || e["phase"] == "starting");
    };
    assert!(phases.iter().any(|p| p == "running"), "{phases:?}");
    let via_monitor = &finished["result"];
    assert_eq!(via_monitor["status"], "succeeded");

    let blocking = s.call("cc_execute", json!({"task": task})).await;
    let b = data(&blocking);
    for field in [
        "status",
        "result",
        "tools_used",
        "files_written",
        "num_turns",
    ] {
        assert_eq!(via_monitor[field], b[field], "{field}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_execution_stops_a_running_tree_and_a_queued_task_never_starts() {
    let s = start((), &[]).await;
    let running = s
        .call(
            "cc_execute",
            json!({"task": "@fake grandchild mode=hang\nrunning marker-r", "wait": false}),
        )
        .await;
    let queued = s
        .call(
            "cc_execute",
            json!({"task": "@fake success\nqueued marker-q", "wait": false}),
        )
        .await;
    assert_eq!(data(&queued)["queue_position"], 1);
    let (rid, qid) = (
        data(&running)["execution_id"].as_str().unwrap().to_string(),
        data(&queued)["execution_id"].as_str().unwrap().to_string(),
    );

    let c = s
        .call("cancel_execution", json!({"execution_id": qid}))
        .await;
    assert_eq!(data(&c)["outcome"], "cancelled");
    assert_eq!(data(&c)["status"], "cancelled");

    let pgid = pgid_of(&s, "marker-r").await;
    let c = s
        .call("cancel_execution", json!({"execution_id": rid}))
        .await;
    assert_eq!(data(&c)["outcome"], "cancelled", "{c:?}");
    assert_eq!(data(&c)["status"], "cancelled");
    let left = tokio::task::spawn_blocking(move || wait_group_gone(pgid, 10))
        .await
        .unwrap();
    assert!(left.is_empty(), "survivors: {left:?}");

    // Twice is harmless; the queued one never ran.
    let again = s
        .call("cancel_execution", json!({"execution_id": rid}))
        .await;
    assert_ne!(again.is_error, Some(true));
    assert_eq!(data(&again)["outcome"], "already_finished");
    assert!(
        s.invocations()
            .iter()
            .all(|v| !v["stdin"].as_str().unwrap().contains("marker-q"))
    );

    // The list shows both, finished.
    let all = s.call("monitor_execution", json!({})).await;
    let list = data(&all)["executions"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|e| e["phase"] == "finished"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_that_arrives_as_the_task_times_out_reports_the_timeout_not_a_cancel() {
    let s = start((), &[]).await;
    // Times out at 1 s; ignores SIGTERM, so it is still stopping (kill grace 500 ms) when the
    // cancel arrives: the cancel does not end it, the timeout already did.
    let started = s
        .call(
            "cc_execute",
            json!({"task": "@fake ignore_sigterm", "timeout_secs": 1, "wait": false}),
        )
        .await;
    let id = data(&started)["execution_id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let c = s
        .call("cancel_execution", json!({"execution_id": id}))
        .await;
    assert_eq!(data(&c)["status"], "timed_out", "{c:?}");
    assert_eq!(data(&c)["outcome"], "already_finished", "{c:?}");
    assert!(
        message(&c).contains("already finished: timed_out"),
        "{}",
        message(&c)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_ids_and_waits_get_clear_answers() {
    let s = start((), &[]).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for (tool, args, needle) in [
        (
            "monitor_execution",
            json!({"execution_id": unknown}),
            "unknown execution or run id",
        ),
        (
            "monitor_execution",
            json!({"execution_id": "not-a-uuid"}),
            "must be an execution id",
        ),
        ("monitor_execution", json!({"wait_secs": -1}), "wait_secs"),
        (
            "cancel_execution",
            json!({"execution_id": unknown}),
            "unknown execution or run id",
        ),
        (
            "cancel_execution",
            json!({"execution_id": "42"}),
            "must be an execution id",
        ),
    ] {
        let r = s.call(tool, args.clone()).await;
        assert_eq!(r.is_error, Some(true), "{tool} {args}");
        assert!(
            message(&r).contains(needle),
            "{tool} {args}: {}",
            message(&r)
        );
    }
    // Over the cap: clamped, and the answer says so.
    let t = Instant::now();
    let r = s.call("monitor_execution", json!({"wait_secs": 0.2})).await;
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(data(&r)["changed"], false);
    let started = s
        .call(
            "cc_execute",
            json!({"task": "@fake slow secs=0.5\nshort", "wait": false}),
        )
        .await;
    let id = data(&started)["execution_id"].as_str().unwrap().to_string();
    let r = s
        .call(
            "monitor_execution",
            json!({"execution_id": id, "wait_secs": 1000}),
        )
        .await;
    assert!(
        data(&r)["notes"][0].as_str().unwrap().contains("clamped"),
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_the_claude_binary_queue_and_store() {
    let s = start((), &[]).await;
    let r = s.call("check_websocket_status", json!({})).await;
    let d = data(&r);
    assert_eq!(d["status"], "ok", "{d}");
    assert_eq!(d["claude_version"], "2.1.331 (Claude Code)");
    // No `cc-executor serve` on this data dir (the service report: tests/it/serve/).
    assert_eq!(d["service"]["state"], "not running", "{d}");
    assert_eq!(d["store"]["backend"], "sqlite");
    assert_eq!(
        (d["running"].as_u64(), d["queued"].as_u64()),
        (Some(0), Some(0))
    );

    let s = start((), &["--claude-bin", "/nonexistent/claude"]).await;
    let d = data(&s.call("check_websocket_status", json!({})).await).clone();
    assert_eq!(d["status"], "degraded");
    assert!(d["claude_error"].as_str().unwrap().contains("npm install"));
}

#[tokio::test(flavor = "multi_thread")]
async fn history_is_served_with_statistics_and_validated_filters() {
    let s = start((), &[]).await;
    s.call("cc_execute", json!({"task": "@fake success\nfirst job"}))
        .await;
    s.call("cc_execute", json!({"task": "@fake max_turns\nsecond job"}))
        .await;
    let r = s.call("get_execution_history", json!({})).await;
    let d = data(&r);
    let rows = d["executions"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0]["task"].as_str().unwrap().contains("second job"),
        "newest first"
    );
    assert_eq!(d["stats"]["overall"]["count"], 2);
    assert_eq!(d["stats"]["overall"]["succeeded"], 1);
    let r = s
        .call(
            "get_execution_history",
            json!({"status": "succeeded", "include_stats": false}),
        )
        .await;
    assert_eq!(data(&r)["executions"].as_array().unwrap().len(), 1);
    assert!(data(&r)["stats"].is_null());
    let r = s
        .call("get_execution_history", json!({"since": "last tuesday"}))
        .await;
    assert_eq!(r.is_error, Some(true));
    assert!(message(&r).contains("`since` is not a time"));
}

/// `tools/call cc_execute` asking for a task: the request's own `_meta` declares the tasks
/// extension (declaring it at initialize is not asking).
fn task_call(args: serde_json::Value) -> CallToolRequestParams {
    let mut meta = RequestMetaObject::new();
    meta.set_client_capabilities(ClientCapabilities::builder().enable_tasks().build());
    let mut params = CallToolRequestParams::new("cc_execute")
        .with_arguments(serde_json::from_value(args).unwrap());
    params.meta = Some(meta);
    params
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_asks_for_a_task_gets_cc_execute_as_an_mcp_task() {
    let handler = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("tasks-test-client", "1.0"),
    );
    let s = start(handler, &[]).await;
    // Longer than the grace in which a task call may still answer with the result.
    let params = task_call(json!({"task": "@fake slow secs=2.5 text=TASK-OK\nwork"}));
    let created = match s.client.peer().call_tool_once(params).await.unwrap() {
        CallToolResponse::Task(t) => t,
        other => panic!("expected a task, got {other:?}"),
    };
    let task_id = created.task.task_id.clone();
    assert!(
        uuid::Uuid::parse_str(&task_id).is_ok(),
        "the task id is the execution id"
    );

    let deadline = Instant::now() + Duration::from_secs(30);
    let finished = loop {
        let got = s
            .client
            .peer()
            .get_task(GetTaskParams::new(task_id.clone()))
            .await
            .unwrap();
        if got.task.task.status != TaskStatus::Working {
            break got.task;
        }
        assert!(Instant::now() < deadline, "the task never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let TaskPayload::Completed { result } = finished.payload else {
        panic!("expected completed, got {:?}", finished.payload)
    };
    assert_eq!(result["structuredContent"]["result"], "TASK-OK");
    // The same execution is visible to the tools.
    let m = s
        .call("monitor_execution", json!({"execution_id": task_id}))
        .await;
    assert_eq!(data(&m)["executions"][0]["status"], "succeeded");

    // tasks/cancel stops a running task's tree.
    let params = task_call(json!({"task": "@fake hang\nmarker-task-hang"}));
    let CallToolResponse::Task(t) = s.client.peer().call_tool_once(params).await.unwrap() else {
        panic!("expected a task")
    };
    let pgid = pgid_of(&s, "marker-task-hang").await;
    s.client
        .peer()
        .cancel_task(CancelTaskParams::new(t.task.task_id.clone()))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = s
            .client
            .peer()
            .get_task(GetTaskParams::new(t.task.task_id.clone()))
            .await
            .unwrap();
        if got.task.task.status == TaskStatus::Cancelled {
            break;
        }
        assert!(Instant::now() < deadline, "never reported cancelled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left = tokio::task::spawn_blocking(move || wait_group_gone(pgid, 10))
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    assert!(
        s.client
            .peer()
            .get_task(GetTaskParams::new("nope"))
            .await
            .is_err(),
        "an unknown task id is an error"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pause_execution_stops_the_tree_and_resume_lets_it_finish() {
    // A client that speaks MCP Tasks: `tasks/get` on the paused execution says `working`.
    let handler = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("pause-test-client", "1.0"),
    );
    let s = start(handler, &["--max-pause-secs", "120"]).await;
    let started = s
        .call(
            "cc_execute",
            json!({"task": "@fake ticks n=15 every=0.1 grandchild=1\npause marker-p", "wait": false}),
        )
        .await;
    let id = data(&started)["execution_id"].as_str().unwrap().to_string();
    let pgid = pgid_of(&s, "marker-p").await;
    let steps = |m: &rmcp::model::CallToolResult| {
        data(m)["executions"][0]["tools_used"]["Bash"]
            .as_u64()
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while steps(
        &s.call("monitor_execution", json!({"execution_id": id}))
            .await,
    ) < 1
    {
        assert!(Instant::now() < deadline, "no step was made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let p = s.call("pause_execution", json!({"execution_id": id})).await;
    assert_ne!(p.is_error, Some(true), "{p:?}");
    assert_eq!(data(&p)["outcome"], "paused", "{p:?}");
    assert_eq!(data(&p)["phase"], "paused");
    assert!(message(&p).contains("within 120 s"), "{}", message(&p));
    let stopped = tokio::task::spawn_blocking(move || {
        crate::support::fixtures::eventually(Duration::from_secs(5), || {
            let group = crate::support::fixtures::group_processes(pgid);
            group.len() >= 2 && group.iter().all(|(_, state)| state == "T")
        })
    })
    .await
    .unwrap();
    assert!(
        stopped,
        "{:?}",
        crate::support::fixtures::group_processes(pgid)
    );
    let m = s
        .call("monitor_execution", json!({"execution_id": id}))
        .await;
    let e = &data(&m)["executions"][0];
    assert_eq!(e["phase"], "paused", "{e}");
    assert!(e["paused_at"].is_string(), "{e}");
    assert!(message(&m).contains("paused"), "{}", message(&m));
    let task = s
        .client
        .peer()
        .get_task(GetTaskParams::new(id.clone()))
        .await
        .unwrap();
    assert_eq!(task.task.task.status, TaskStatus::Working);
    assert!(
        task.task
            .task
            .status_message
            .as_deref()
            .is_some_and(|m| m.contains("paused")),
        "{task:?}"
    );

    let r = s
        .call(
            "pause_execution",
            json!({"execution_id": id, "resume": true}),
        )
        .await;
    assert_eq!(data(&r)["outcome"], "resumed", "{r:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        let m = s
            .call(
                "monitor_execution",
                json!({"execution_id": id, "wait_secs": 5}),
            )
            .await;
        if data(&m)["executions"][0]["phase"] == "finished" {
            break data(&m)["executions"][0].clone();
        }
        assert!(Instant::now() < deadline, "it never finished");
    };
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["tools_used"]["Bash"], 15, "{done}");
    let after = s.call("pause_execution", json!({"execution_id": id})).await;
    assert_eq!(data(&after)["outcome"], "already_finished", "{after:?}");
    let bad = s
        .call("pause_execution", json!({"execution_id": "nope"}))
        .await;
    assert_eq!(bad.is_error, Some(true));
}
