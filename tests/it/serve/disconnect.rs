//! Ending MCP sessions and calls over HTTP. `DELETE` ends a session (204; 404 once it is gone).
//! An MCP client over HTTP that goes away mid-call: the MCP spec says a dropped connection is
//! not a cancel, so the task runs on to its end and is recorded; a client that means to cancel
//! sends `notifications/cancelled`, and then the task's whole process tree is stopped.

use std::io::Write;
use std::net::TcpStream;

use super::*;
use crate::support::fixtures::{eventually, wait_group_gone};

/// Sends a `tools/call` of `cc_execute` (`wait: true`) for `task` on its own connection, in
/// `session`; returns the connection (its answer is not read).
fn call_without_reading(
    service: &Service,
    session: &[(String, String)],
    id: u64,
    task: &str,
) -> TcpStream {
    let body = tool_call(
        id,
        "cc_execute",
        &serde_json::json!({"task": task, "wait": true}).to_string(),
    );
    let authority = service.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).expect("connect");
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {authority}\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in session {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send head");
    stream.write_all(body.as_bytes()).expect("send body");
    stream
}

/// The process group of the fake claude whose prompt contains `marker`, once it runs.
fn started(service: &Service, marker: &str) -> i32 {
    let found = eventually(Duration::from_secs(30), || {
        service
            .sandbox
            .invocations()
            .iter()
            .any(|r| r["stdin"].as_str().unwrap_or("").contains(marker))
    });
    assert!(found, "the fake never started\n{}", service.stderr());
    service
        .sandbox
        .invocations()
        .into_iter()
        .find(|r| r["stdin"].as_str().unwrap_or("").contains(marker))
        .and_then(|r| r["pgid"].as_i64())
        .expect("its pgid") as i32
}

/// The recorded status of the execution whose task contains `search` (REST history), once
/// it has one.
fn recorded_status(service: &Service, search: &str) -> Option<String> {
    let path = format!("/api/v1/executions?search={}", search.replace(' ', "%20"));
    let a = request(&service.url, "GET", &path, &[service.auth()], b"");
    assert_eq!(a.status, 200, "{a:?}");
    a.json()["executions"][0]["status"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn a_dropped_http_connection_is_no_cancel_the_task_runs_to_its_end() {
    let service = Service::start(&[]);
    let session = open_session(&service);
    let stream = call_without_reading(
        &service,
        &session,
        2,
        "@fake slow secs=2\nDropped mid call (http drop)",
    );
    started(&service, "http drop");
    drop(stream);
    let mut status = None;
    let done = eventually(Duration::from_secs(60), || {
        status = recorded_status(&service, "http drop");
        status.is_some()
    });
    assert!(done, "never recorded\n{}", service.stderr());
    assert_eq!(status.as_deref(), Some("succeeded"), "{}", service.stderr());
}

#[test]
fn notifications_cancelled_over_http_stops_the_tasks_tree() {
    let service = Service::start(&[]);
    let session = open_session(&service);
    let stream = call_without_reading(
        &service,
        &session,
        3,
        "@fake hang\nUntil cancelled (http cancel)",
    );
    let pgid = started(&service, "http cancel");
    let note = r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3,"reason":"the test cancels it"}}"#;
    let a = request(&service.url, "POST", "/mcp", &session, note.as_bytes());
    assert_eq!(a.status, 202, "{a:?}");
    let left = wait_group_gone(pgid, 30);
    assert!(
        left.is_empty(),
        "left after the cancel: {left:?}\n{}",
        service.stderr()
    );
    let mut status = None;
    let done = eventually(Duration::from_secs(60), || {
        status = recorded_status(&service, "http cancel");
        status.is_some()
    });
    assert!(done, "never recorded\n{}", service.stderr());
    assert_eq!(status.as_deref(), Some("cancelled"), "{}", service.stderr());
    drop(stream);
}

#[test]
fn delete_ends_a_session_with_204_and_an_unknown_session_is_404() {
    let service = Service::start(&[]);
    let session = open_session(&service);
    let end = request(&service.url, "DELETE", "/mcp", &session, b"");
    assert_eq!(end.status, 204, "{end:?}");
    // Ended: the same id is unknown now, for a DELETE as for a request.
    let again = request(&service.url, "DELETE", "/mcp", &session, b"");
    assert_eq!(again.status, 404, "{again:?}");
    assert!(
        again.json()["detail"]
            .as_str()
            .unwrap_or("")
            .contains("start a new one with initialize"),
        "{again:?}"
    );
    let call = tool_call(4, "check_websocket_status", "{}");
    let after = request(&service.url, "POST", "/mcp", &session, call.as_bytes());
    assert_eq!(after.status, 404, "{after:?}");
}
