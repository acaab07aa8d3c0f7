//! `DELETE` really cancels: the task's whole process group is gone, its result says
//! `cancelled`, and a cancelled run starts nothing more.

use super::{Service, curl};
use crate::support::fixtures::wait_group_gone;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_running_execution_kills_its_process_group() {
    let s = Service::start(&[]).await;
    let r = curl(&["-d", r#"{"task":"@fake hang"}"#, &s.api("/executions")]).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["execution_id"].as_str().unwrap().to_string();
    let pgid = s.invocation(1).await["pgid"].as_i64().unwrap() as i32;
    assert!(!crate::support::fixtures::group_processes(pgid).is_empty());

    // Still running: its result is not there yet, and the 409 says where it is.
    let early = curl(&[&s.api(&format!("/executions/{id}/result"))]).await;
    assert_eq!(early.status, 409, "{}", early.body);
    assert_eq!(
        early.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(early.json()["execution"]["execution_id"], id.as_str());

    let cancel = curl(&["-X", "DELETE", &s.api(&format!("/executions/{id}"))]).await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    let out = cancel.json();
    assert_eq!(out["outcome"], "cancelled", "{out}");
    assert_eq!(out["status"], "cancelled");
    let left = wait_group_gone(pgid, 10);
    assert!(left.is_empty(), "processes left after the cancel: {left:?}");

    let result = curl(&[&s.api(&format!("/executions/{id}/result"))]).await;
    assert_eq!(result.status, 200);
    assert_eq!(result.json()["status"], "cancelled");
    // A second cancel changes nothing and says so.
    let again = curl(&["-X", "DELETE", &s.api(&format!("/executions/{id}"))]).await;
    assert_eq!(again.json()["outcome"], "already_finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_run_stops_its_task_and_starts_no_other() {
    let s = Service::start(&[]).await;
    let r = curl(&[
        "-d",
        r#"{"tasks":["@fake hang","@fake success"]}"#,
        &s.api("/runs"),
    ])
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let run = r.json()["run_id"].as_str().unwrap().to_string();
    let pgid = s.invocation(1).await["pgid"].as_i64().unwrap() as i32;

    let early = curl(&[&s.api(&format!("/runs/{run}/result"))]).await;
    assert_eq!(early.status, 409, "{}", early.body);
    assert_eq!(early.json()["run"]["run"]["run_id"], run.as_str());

    let cancel = curl(&["-X", "DELETE", &s.api(&format!("/runs/{run}"))]).await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    let out = cancel.json();
    assert_eq!(out["outcome"], "cancelled", "{out}");
    assert_eq!(out["state"], "cancelled");
    // It says how to resume the run in this API's terms, not with an MCP tool.
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "POST /api/v1/runs {{\"resume_run_id\": \"{run}\"}}"
        )),
        "{message}"
    );
    super::assert_names_no_mcp_tool(&cancel.body);
    assert!(wait_group_gone(pgid, 10).is_empty());

    let result = curl(&[&s.api(&format!("/runs/{run}/result"))]).await;
    assert_eq!(result.status, 200, "{}", result.body);
    let result = result.json();
    assert_eq!(result["state"], "cancelled");
    assert_eq!(result["results"][0]["result"]["status"], "cancelled");
    assert_eq!(s.invocations().len(), 1, "the second task never started");
}
