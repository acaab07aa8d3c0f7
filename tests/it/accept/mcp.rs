//! `accept` and `repair` over MCP: the built server, the fake `claude`.

use serde_json::json;

use crate::support::mcp_client::{data, message, start};

#[tokio::test]
async fn cc_execute_repairs_a_rejected_task_and_answers_with_its_acceptance() {
    let s = start((), &[]).await;
    let r = s
        .call(
            "cc_execute",
            json!({
                "task": "@fake repairable\nwrite out.txt",
                "accept": {"commands": [["grep", "good", "out.txt"]], "files": [{"path": "out.txt"}]},
                "repair": {"max_attempts": 1}
            }),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", message(&r));
    let d = data(&r);
    assert_eq!(d["status"], "succeeded", "{d:#}");
    assert_eq!(d["acceptance"]["passed"], true, "{d:#}");
    assert_eq!(d["acceptance"]["checks"][0]["kind"], "file");
    assert_eq!(d["acceptance"]["checks"][1]["kind"], "command");
    assert_eq!(d["repair"]["repairs"], 1, "{d:#}");
    let first = d["repair"]["executions"][0].as_str().unwrap().to_string();

    // The first attempt is in the history, `rejected`, with the check's output.
    let h = s
        .call("get_execution_history", json!({"status": "rejected"}))
        .await;
    let rows = data(&h)["executions"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["execution_id"], first.as_str());

    // Without repairs the status is `rejected`, an error result that says why.
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake success", "accept": {"files": [{"path": "nope.txt"}]}}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    assert_eq!(data(&r)["status"], "rejected");
    assert!(
        message(&r).contains("acceptance check(s) failed"),
        "{}",
        message(&r)
    );

    // Refusals: a check outside the allowed roots, a repair without waiting.
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake success", "accept": {"files": [{"path": "/etc/hostname"}]}}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    assert!(
        message(&r).contains("policy.allowed_roots"),
        "{}",
        message(&r)
    );
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake success", "wait": false,
                   "accept": {"commands": [["true"]]}, "repair": {"max_attempts": 1}}),
        )
        .await;
    assert_eq!(r.is_error, Some(true));
    assert!(
        message(&r).contains("`repair` needs a call that waits"),
        "{}",
        message(&r)
    );
    // And it says how to follow a repair loop without waiting.
    assert!(
        message(&r).contains("one-task list with the failure policy `repair`"),
        "{}",
        message(&r)
    );
}

#[tokio::test]
async fn cc_execute_list_with_failure_policy_repair_repairs_a_rejected_task() {
    let s = start((), &[]).await;
    let r = s
        .call(
            "cc_execute_list",
            json!({
                "tasks": [{"id": "w", "task": "@fake repairable\nwrite out.txt",
                           "accept": {"commands": [["grep", "good", "out.txt"]]}}],
                "failure_policy": "repair",
                "wait": true
            }),
        )
        .await;
    assert_eq!(r.is_error, Some(false), "{}", message(&r));
    let d = data(&r);
    assert_eq!(d["state"], "succeeded", "{d:#}");
    assert_eq!(d["run"]["tasks"][0]["state"], "succeeded");
    // Two executions of the task, both recorded: the rejected first and its repair.
    let h = s.call("get_execution_history", json!({})).await;
    let statuses: Vec<&str> = data(&h)["executions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert_eq!(statuses, ["succeeded", "rejected"], "{statuses:?}");
}
