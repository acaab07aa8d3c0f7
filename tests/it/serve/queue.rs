//! One executor, one line: tasks submitted over different HTTP sessions queue behind each
//! other in the order they arrived; and a stdio server on the same data dir reports the
//! service (`check_websocket_status`), found by its state file and a probe of `/health`.

use serde_json::json;

use super::*;
use crate::support::fixtures::invocations;
use crate::support::mcp_client::{data, start};

/// The `queue_position` in a `wait: false` answer (SSE body, JSON escaped or not).
fn queue_position(answer: &Answer) -> u64 {
    let body = answer.body.replace("\\\"", "\"");
    body.split("\"queue_position\":")
        .nth(1)
        .and_then(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no queue_position: {answer:?}"))
}

#[test]
fn sessions_share_one_fifo_line() {
    let service = Service::start(&[]);
    let first = open_session(&service);
    let second = open_session(&service);
    let submit = |session: &[(String, String)], id: u64, task: &str| {
        let call = tool_call(
            id,
            "cc_execute",
            &json!({"task": task, "wait": false}).to_string(),
        );
        let a = request(&service.url, "POST", "/mcp", session, call.as_bytes());
        assert_eq!(a.status, 200, "{a:?}");
        a
    };
    // A task that hangs holds the one slot while the others queue behind it, across sessions;
    // cancelling it lets them run.
    let a = submit(&first, 2, "@fake hang\nqueue marker A");
    let a_id: String = a
        .body
        .split("started execution ")
        .nth(1)
        .map(|rest| rest.chars().take(36).collect())
        .unwrap_or_else(|| panic!("no execution id: {a:?}"));
    let b = submit(&second, 2, "@fake success text=B\nqueue marker B");
    let c = submit(&first, 3, "@fake success text=C\nqueue marker C");
    assert_eq!(queue_position(&b), 1, "B waits behind A");
    assert_eq!(queue_position(&c), 2, "C waits behind A and B");
    let cancel = tool_call(
        4,
        "cancel_execution",
        &json!({"execution_id": a_id}).to_string(),
    );
    let answer = request(&service.url, "POST", "/mcp", &second, cancel.as_bytes());
    assert_eq!(answer.status, 200, "{answer:?}");
    let rec = service.sandbox.rec.clone();
    let all_ran = crate::support::fixtures::eventually(Duration::from_secs(30), || {
        invocations(&rec).len() == 3
    });
    assert!(all_ran, "{:?}\n{}", invocations(&rec), service.stderr());
    let order: Vec<String> = invocations(&rec)
        .iter()
        .map(|r| {
            let stdin = r["stdin"].as_str().unwrap_or("");
            stdin
                .split("queue marker ")
                .nth(1)
                .map(|m| m.chars().take(1).collect())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(order, ["A", "B", "C"]);
}

#[tokio::test]
async fn a_stdio_server_on_the_same_data_dir_reports_the_service() {
    let stdio = start((), &[]).await;
    let report = |r: &rmcp::model::CallToolResult| data(r)["service"].clone();
    let before = stdio.call("check_websocket_status", json!({})).await;
    assert_eq!(report(&before)["state"], "not running", "{before:?}");

    let mut sandbox = Sandbox::new();
    sandbox.data = stdio.root().join("data");
    let service = tokio::task::spawn_blocking(move || Service::start_with(sandbox, &[], &[]))
        .await
        .unwrap();
    let during = stdio.call("check_websocket_status", json!({})).await;
    let service_seen = report(&during);
    assert_eq!(service_seen["state"], "running elsewhere", "{during:?}");
    assert_eq!(service_seen["url"], service.url.as_str());
    assert_eq!(service_seen["pid"], service.pid());
    // Every surface this version has (the default).
    let all = cc_executor::config::Surface::ALL.map(|s| s.as_str());
    assert_eq!(service_seen["surfaces"], json!(all));
    drop(service);
}
