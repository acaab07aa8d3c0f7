//! `POST /executions/{id}/pause` and `/resume`: the task's process group is stopped (state
//! `T`) while paused, the status says `paused`, the events say `paused` and `resumed`, and
//! after the resume it finishes as it would have.

use super::{Service, curl, parse_sse};
use crate::support::fixtures::{eventually_async, process_state};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_task_is_stopped_until_resumed_then_finishes() {
    let s = Service::start(&[]).await;
    let r = curl(&[
        "-d",
        r#"{"task":"@fake slow secs=2"}"#,
        &s.api("/executions"),
    ])
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["execution_id"].as_str().unwrap().to_string();
    let pid = s.invocation(1).await["pid"].as_i64().unwrap() as i32;

    let paused = curl(&["-X", "POST", &s.api(&format!("/executions/{id}/pause"))]).await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(paused.json()["outcome"], "paused", "{}", paused.body);
    // It says how to resume in this API's terms (the route), never with an MCP tool.
    let message = paused.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains(&format!("POST /api/v1/executions/{id}/resume")),
        "{message}"
    );
    super::assert_names_no_mcp_tool(&paused.body);
    let stopped = eventually_async(std::time::Duration::from_secs(10), || {
        process_state(pid) == Some('T')
    })
    .await;
    assert!(
        stopped,
        "the task's process is not stopped: {:?}",
        process_state(pid)
    );
    let status = curl(&[&s.api(&format!("/executions/{id}"))]).await.json();
    assert_eq!(status["phase"], "paused", "{status}");
    let again = curl(&["-X", "POST", &s.api(&format!("/executions/{id}/pause"))]).await;
    assert_eq!(again.json()["outcome"], "already_paused", "{}", again.body);

    let resumed = curl(&["-X", "POST", &s.api(&format!("/executions/{id}/resume"))]).await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert_eq!(resumed.json()["outcome"], "resumed", "{}", resumed.body);
    let events = curl(&["-N", &s.api(&format!("/executions/{id}/events"))]).await;
    let events = parse_sse(&events.body);
    let kinds: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    let p = kinds
        .iter()
        .position(|k| *k == "paused")
        .expect("a paused event");
    let q = kinds
        .iter()
        .position(|k| *k == "resumed")
        .expect("a resumed event");
    assert!(p < q, "{kinds:?}");
    let result = events.last().unwrap();
    assert_eq!(result.event, "result");
    assert_eq!(result.data["status"], "succeeded", "{}", result.data);

    // Finished: nothing to pause, said plainly; an unknown id is a 404.
    let late = curl(&["-X", "POST", &s.api(&format!("/executions/{id}/pause"))]).await;
    assert_eq!(late.json()["outcome"], "already_finished", "{}", late.body);
    let unknown = uuid::Uuid::new_v4();
    let missing = curl(&[
        "-X",
        "POST",
        &s.api(&format!("/executions/{unknown}/resume")),
    ])
    .await;
    assert_eq!(missing.status, 404);
}
