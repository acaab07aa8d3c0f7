//! Task-list runs over MCP, on the built binary with rmcp's client: `cc_execute_list` returns
//! a `run_id` at once, `monitor_execution` long-polls the run to its end, `cancel_execution`
//! stops it, `resume_run_id` finishes it without repeating succeeded tasks; `wait: true` with
//! a progress token streams per-task notifications; bad input is an `isError` result.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::mcp_client::{data, message, start};
use rmcp::ClientHandler;
use rmcp::model::{ClientRequest, ProgressNotificationParam, Request, ServerResult};
use rmcp::service::PeerRequestOptions;
use rmcp::service::{NotificationContext, RoleClient};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn a_run_started_without_waiting_is_followed_to_its_end_by_long_polls() {
    let s = start((), &[]).await;
    let started = s
        .call(
            "cc_execute_list",
            json!({"tasks": [
                {"id": "one", "task": "@fake success text=first-answer\nfirst"},
                {"id": "two", "task": "@fake echo pace_ms=200\nsaw: {{tasks.one.result}}"}
            ]}),
        )
        .await;
    assert_ne!(started.is_error, Some(true), "{started:?}");
    let d = data(&started);
    let run_id = d["run_id"].as_str().unwrap().to_string();
    assert_eq!(d["total"], 2);
    assert!(
        d["next_step"]
            .as_str()
            .unwrap()
            .contains("monitor_execution")
    );

    let mut version = 0u64;
    let mut seen_states = Vec::new();
    let run = loop {
        let m = s
            .call(
                "monitor_execution",
                json!({"run_id": run_id, "wait_secs": 20, "since_version": version}),
            )
            .await;
        assert_ne!(m.is_error, Some(true), "{m:?}");
        let d = data(&m).clone();
        let run = d["runs"][0].clone();
        version = run["version"].as_u64().unwrap();
        seen_states.push(run["run"]["state"].as_str().unwrap().to_string());
        if !["pending", "running"].contains(&run["run"]["state"].as_str().unwrap()) {
            assert!(
                message(&m).contains(&format!("run {run_id} succeeded")),
                "{}",
                message(&m)
            );
            break run;
        }
    };
    assert_eq!(run["run"]["state"], "succeeded", "{run:#}");
    assert_eq!(run["done"], 2);
    assert!(run["run"]["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(
        seen_states.iter().any(|s| s == "running"),
        "{seen_states:?}"
    );
    let stdin = s.invocations()[1]["stdin"].as_str().unwrap().to_string();
    assert!(stdin.contains("saw: first-answer"), "{stdin}");

    // The same id through `execution_id` works too; finished runs read back from the store.
    let m = s
        .call("monitor_execution", json!({"execution_id": run_id}))
        .await;
    assert_eq!(data(&m)["runs"][0]["run"]["state"], "succeeded");
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_execution_stops_a_run_and_resume_run_id_finishes_it() {
    let s = start((), &[]).await;
    let started = s
        .call(
            "cc_execute_list",
            json!({"tasks": ["@fake success\nalpha", "@fake slow secs=3\nbeta", "@fake success\ngamma"]}),
        )
        .await;
    let run_id = data(&started)["run_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.invocations().len() < 2 {
        assert!(Instant::now() < deadline, "beta never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let health = s.call("check_websocket_status", json!({})).await;
    assert_eq!(data(&health)["active_runs"], 1, "{health:?}");
    let all = s.call("monitor_execution", json!({})).await;
    assert_eq!(data(&all)["runs"][0]["run"]["run_id"], run_id.as_str());
    // A run is paused through the task it runs: the answer names it.
    let p = s
        .call("pause_execution", json!({"execution_id": run_id}))
        .await;
    assert_eq!(p.is_error, Some(true), "{p:?}");
    assert!(
        message(&p).contains("is a run; pause the task it is running: execution_id"),
        "{}",
        message(&p)
    );
    let c = s.call("cancel_execution", json!({"run_id": run_id})).await;
    assert_ne!(c.is_error, Some(true), "{c:?}");
    let d = data(&c);
    assert_eq!(d["outcome"], "cancelled");
    assert_eq!(d["state"], "cancelled", "{d:#}");
    assert_eq!(d["run_id"], run_id.as_str());
    // The answer is compact; the run's tasks are one monitor_execution away.
    let m = s.call("monitor_execution", json!({"run_id": run_id})).await;
    assert_eq!(data(&m)["runs"][0]["run"]["tasks"][1]["state"], "cancelled");
    assert!(message(&c).contains("resume"), "{}", message(&c));

    // Resume and wait: only beta and gamma run.
    let done = s
        .call(
            "cc_execute_list",
            json!({"resume_run_id": run_id, "wait": true}),
        )
        .await;
    assert_ne!(done.is_error, Some(true), "{done:?}");
    assert_eq!(data(&done)["state"], "succeeded");
    let stdins: Vec<String> = s
        .invocations()
        .iter()
        .map(|v| v["stdin"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        stdins
            .iter()
            .filter(|x| x.lines().any(|l| l == "alpha"))
            .count(),
        1
    );
    assert_eq!(
        stdins
            .iter()
            .filter(|x| x.lines().any(|l| l == "beta"))
            .count(),
        2
    );

    // Cancelling it now changes nothing; resuming it again is an error.
    let c = s
        .call("cancel_execution", json!({"execution_id": run_id}))
        .await;
    assert_eq!(data(&c)["outcome"], "already_finished");
    let again = s
        .call("cc_execute_list", json!({"resume_run_id": run_id}))
        .await;
    assert_eq!(again.is_error, Some(true));
    assert!(
        message(&again).contains("already finished"),
        "{}",
        message(&again)
    );
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<ProgressNotificationParam>>>);

impl ClientHandler for Recorder {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.0.lock().unwrap().push(params);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_true_streams_progress_per_task_and_a_failed_run_is_an_error_result() {
    let recorder = Recorder::default();
    let s = start(recorder.clone(), &[]).await;
    // rmcp's client puts a progress token on every cancellable request.
    let params = rmcp::model::CallToolRequestParams::new("cc_execute_list").with_arguments(
        serde_json::from_value(json!({
            "tasks": ["@fake success\nfine", "@fake exit_code code=3\nbroken", "@fake success\nnever"],
            "wait": true
        }))
        .unwrap(),
    );
    let request = ClientRequest::CallToolRequest(Request::new(params));
    let handle = s
        .client
        .peer()
        .send_cancellable_request(request, PeerRequestOptions::no_options())
        .await
        .unwrap();
    let r = match handle.await_response().await.unwrap() {
        ServerResult::CallToolResult(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(r.is_error, Some(true), "a failed run is an error result");
    let d = data(&r);
    assert_eq!(d["state"], "failed");
    let states: Vec<&str> = d["run"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["succeeded", "failed", "skipped"]);
    let text = message(&r);
    assert!(text.contains("`2` failed"), "{text}");
    // rmcp's client hands each notification to the recorder on a task of its own, so the
    // last ones may be recorded just after the response is: wait for them (the wire order
    // is checked elsewhere, see below).
    let wanted = |notes: &[ProgressNotificationParam]| {
        let has = |s: &str| {
            notes
                .iter()
                .any(|n| n.message.as_deref().is_some_and(|m| m.contains(s)))
        };
        has("task 1/3 `1` started") && has("task `2` failed")
    };
    for _ in 0..500 {
        if wanted(&recorder.0.lock().unwrap()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let notes = recorder.0.lock().unwrap().clone();
    let messages: Vec<String> = notes.iter().filter_map(|n| n.message.clone()).collect();
    assert!(
        messages.iter().any(|m| m.contains("task 1/3 `1` started")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("task `2` failed")),
        "{messages:#?}"
    );
    assert!(notes.iter().all(|n| n.total == Some(3.0)));
    // Their order is checked on the wire (`mcp_server::progress_and_cancellation::
    // run_progress_on_the_wire_never_goes_back`): rmcp's client hands notifications to this
    // recorder on tasks of their own, so the order they are recorded in is not wire order.
    assert!(notes.iter().all(|n| n.progress <= 3.0), "{notes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_to_the_run_tools_is_an_error_result_and_runs_nothing() {
    let s = start((), &[]).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "`tasks` is required"),
        (json!({"tasks": []}), "nothing was started"),
        (
            json!({"tasks": [{"id": "a", "task": "x", "depends_on": ["a"]}]}),
            "nothing was started",
        ),
        (json!({"tasks": [42]}), "not valid"),
        (json!({"tasks": ["x"], "budget_usd": 0}), "budget_usd"),
        (
            json!({"tasks": ["x"], "resume_run_id": "5d8c1a2e-0000-4000-8000-000000000000"}),
            "not both",
        ),
        (json!({"resume_run_id": "not-a-uuid"}), "resume_run_id"),
        (
            json!({"resume_run_id": "5d8c1a2e-0000-4000-8000-000000000000"}),
            "unknown run",
        ),
        (json!({"tasks": ["x"], "defaults": {"cwd": "/"}}), "cwd"),
        (
            json!({"tasks": ["x"], "max_usage_wait_secs": 999999}),
            "max_usage_wait_secs",
        ),
    ];
    for (args, expected) in cases {
        let r = s.call("cc_execute_list", args.clone()).await;
        assert_eq!(r.is_error, Some(true), "{args}: {r:?}");
        assert!(message(&r).contains(expected), "{args}: {}", message(&r));
    }
    for (tool, args) in [
        (
            "monitor_execution",
            json!({"run_id": "5d8c1a2e-0000-4000-8000-000000000000"}),
        ),
        (
            "cancel_execution",
            json!({"run_id": "5d8c1a2e-0000-4000-8000-000000000000"}),
        ),
        ("cancel_execution", json!({})),
        (
            "monitor_execution",
            json!({"run_id": "x", "execution_id": "y"}),
        ),
    ] {
        let r = s.call(tool, args.clone()).await;
        assert_eq!(r.is_error, Some(true), "{tool} {args}: {r:?}");
    }
    assert!(s.invocations().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_shuts_down_records_where_its_run_stopped() {
    let s = start((), &[]).await;
    let started = s
        .call(
            "cc_execute_list",
            json!({"tasks": ["@fake success\nfirst", "@fake hang\nsecond", "@fake success\nthird"]}),
        )
        .await;
    let run_id: uuid::Uuid = data(&started)["run_id"].as_str().unwrap().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.invocations().len() < 2 {
        assert!(Instant::now() < deadline, "the second task never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let root = s.root();
    let hung = s.invocations()[1]["pgid"].as_i64().unwrap() as i32;
    // The client goes away: stdin closes, the server stops its work and exits.
    let crate::support::mcp_client::Server { client, dir } = s;
    client.cancel().await.unwrap();
    let store =
        cc_executor::store::sqlite::SqliteStore::open(&root.join("data/history.sqlite3")).unwrap();
    use cc_executor::store::RunStore;
    let deadline = Instant::now() + Duration::from_secs(20);
    let run = loop {
        let run = store.get_run(run_id).await.unwrap().unwrap();
        if run.state.as_str() == "cancelled" {
            break run;
        }
        assert!(Instant::now() < deadline, "never recorded: {run:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        run.reason
            .as_deref()
            .unwrap()
            .contains("the server shut down"),
        "{:?}",
        run.reason
    );
    assert_eq!(run.tasks[0].state.as_str(), "succeeded");
    assert_eq!(run.tasks[1].state.as_str(), "cancelled");
    assert_eq!(run.tasks[2].state.as_str(), "pending");
    assert!(
        crate::support::fixtures::wait_group_gone(hung, 10).is_empty(),
        "the hung task's processes survived the shutdown"
    );
    drop(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn executions_and_runs_are_readable_as_resources() {
    use rmcp::model::{ReadResourceRequestParams, ResourceContents};
    let s = start((), &[]).await;
    let done = s
        .call(
            "cc_execute_list",
            json!({"tasks": ["@fake success text=resource-answer\nshow me"], "wait": true}),
        )
        .await;
    let run_id = data(&done)["run_id"].as_str().unwrap().to_string();
    let execution_id = data(&done)["run"]["tasks"][0]["execution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let peer = s.client.peer();

    let templates = peer.list_resource_templates(None).await.unwrap();
    let uris: Vec<&str> = templates
        .resource_templates
        .iter()
        .map(|t| t.uri_template.as_str())
        .collect();
    assert_eq!(
        uris,
        ["cc-executor://executions/{id}", "cc-executor://runs/{id}"]
    );
    let listed = peer.list_resources(None).await.unwrap();
    let listed: Vec<&str> = listed.resources.iter().map(|r| r.uri.as_str()).collect();
    assert!(
        listed.contains(&"cc-executor://prompts/cc_execute"),
        "{listed:?}"
    );
    assert!(
        listed.contains(&format!("cc-executor://executions/{execution_id}").as_str()),
        "{listed:?}"
    );

    let read = |uri: String| async move {
        let r = peer
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .unwrap();
        match &r.contents[0] {
            ResourceContents::TextResourceContents {
                text, mime_type, ..
            } => {
                assert_eq!(mime_type.as_deref(), Some("application/json"));
                serde_json::from_str::<Value>(text).unwrap()
            }
            other => panic!("{other:?}"),
        }
    };
    let execution = read(format!("cc-executor://executions/{execution_id}")).await;
    assert_eq!(execution["phase"], "finished");
    assert_eq!(execution["result"]["result"], "resource-answer");
    let run = read(format!("cc-executor://runs/{run_id}")).await;
    assert_eq!(run["run"]["state"], "succeeded");
    assert_eq!(run["done"], 1);

    for bad in [
        "cc-executor://runs/5d8c1a2e-0000-4000-8000-000000000000".to_string(),
        "cc-executor://executions/not-a-uuid".to_string(),
        "cc-executor://nothing".to_string(),
    ] {
        let e = peer
            .read_resource(ReadResourceRequestParams::new(bad.clone()))
            .await;
        assert!(e.is_err(), "{bad}: {e:?}");
    }
}
