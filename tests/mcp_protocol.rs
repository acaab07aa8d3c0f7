//! The protocol around the tools, on the built binary over raw stdio (every byte as a client
//! of that version writes it): MCP Tasks only for requests that ask for one, and never slower
//! than a plain call.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::raw_stdio::Server;

const TASKS: &str = "io.modelcontextprotocol/tasks";
const CAPS: &str = "io.modelcontextprotocol/clientCapabilities";

fn initialize(version: &str, capabilities: Value) -> Value {
    json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
        "protocolVersion":version,"capabilities":capabilities,
        "clientInfo":{"name":"protocol-test","version":"1"}}})
}

fn start(version: &str, capabilities: Value) -> Server {
    Server::start_with(
        tempfile::tempdir().unwrap(),
        Some(initialize(version, capabilities)),
    )
}

/// `_meta` of a request that declares the tasks extension in its own client capabilities.
fn asks_for_a_task() -> Value {
    json!({ CAPS: {"extensions": {TASKS: {}}} })
}

fn answer(messages: &[Value]) -> &Value {
    messages.last().expect("an answer")
}

fn progress_messages(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| m["params"]["message"].as_str().unwrap_or("?").to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tasks
// ---------------------------------------------------------------------------------------------

#[test]
fn a_plain_call_from_a_client_that_declared_tasks_only_at_initialize_is_a_plain_call() {
    // What the MCP Inspector does: the extension at initialize, then a plain tools/call it
    // never polls. It must get the result (with progress), and the task must run once.
    let mut s = start("2025-11-25", json!({"extensions": {TASKS: {}}}));
    let id = s.request(
        "tools/call",
        json!({"name": "cc_execute", "arguments": {"task": "@fake slow secs=1.2 text=PLAIN"},
               "_meta": {"progressToken": "p1"}}),
    );
    let messages = s.until_answer(id);
    let result = &answer(&messages)["result"];
    assert_ne!(result["resultType"], "task", "{result}");
    assert_eq!(result["structuredContent"]["result"], "PLAIN", "{result}");
    let progress = progress_messages(&messages);
    assert!(
        progress.iter().any(|m| m.starts_with("started")),
        "{progress:?}"
    );
    assert_eq!(s.invocations().len(), 1, "{:?}", s.invocations());
}

#[test]
fn a_call_that_asks_for_a_task_and_finishes_at_once_gets_its_result_not_a_handle() {
    let mut s = start("2025-11-25", json!({}));
    let t = Instant::now();
    let id = s.request(
        "tools/call",
        json!({"name": "cc_execute", "arguments": {"task": "@fake success text=QUICK"},
               "_meta": asks_for_a_task()}),
    );
    let messages = s.until_answer(id);
    let took = t.elapsed();
    let result = &answer(&messages)["result"];
    assert_ne!(result["resultType"], "task", "{result}");
    assert_eq!(result["structuredContent"]["result"], "QUICK", "{result}");
    // Not the old first answer `working` + a 2 s poll: well within the 1 s grace.
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(s.invocations().len(), 1);
}

#[test]
fn a_longer_task_is_a_handle_with_a_predicted_poll_interval_and_runs_once() {
    let mut s = start("2025-11-25", json!({}));
    let id = s.request(
        "tools/call",
        json!({"name": "cc_execute", "arguments": {"task": "@fake slow secs=2 text=LATER"},
               "_meta": asks_for_a_task()}),
    );
    let messages = s.until_answer(id);
    let created = &answer(&messages)["result"];
    assert_eq!(created["resultType"], "task", "{created}");
    assert_eq!(created["status"], "working", "{created}");
    let poll = created["pollIntervalMs"].as_u64().expect("pollIntervalMs");
    assert!((500..=5000).contains(&poll), "{created}");
    let task_id = created["taskId"].as_str().unwrap().to_string();

    let deadline = Instant::now() + Duration::from_secs(20);
    let done = loop {
        let id = s.request(
            "tasks/get",
            json!({"taskId": task_id, "_meta": asks_for_a_task()}),
        );
        let got = answer(&s.until_answer(id))["result"].clone();
        if got["status"] != "working" {
            break got;
        }
        let poll = got["pollIntervalMs"].as_u64().expect("pollIntervalMs");
        assert!((500..=5000).contains(&poll), "{got}");
        assert!(Instant::now() < deadline, "never finished: {got}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["structuredContent"]["result"], "LATER");
    assert_eq!(done["result"]["structuredContent"]["execution_id"], task_id);
    assert_eq!(s.invocations().len(), 1, "{:?}", s.invocations());
}

#[test]
fn task_calls_written_together_start_in_arrival_order() {
    let mut s = start("2025-11-25", json!({}));
    let msgs: Vec<Value> = (0..4)
        .map(|i| {
            json!({"jsonrpc":"2.0","id":100 + i,"method":"tools/call","params":{
                "name":"cc_execute",
                "arguments":{"task": format!("@fake slow secs=0.3\ntag t/{i}")},
                "_meta": asks_for_a_task()}})
        })
        .collect();
    s.write_all(&msgs);
    let answers = s.answers(&[100, 101, 102, 103]);
    let handles: Vec<String> = (100..104)
        .filter_map(|id| answers[&id]["result"]["taskId"].as_str().map(String::from))
        .collect();
    assert!(
        !handles.is_empty(),
        "the later ones wait in line: {answers:?}"
    );
    // Wait for the last one through the tools (they share the executions).
    let id = s.request(
        "tools/call",
        json!({"name": "cc_execute", "arguments": {"task": "@fake success\ntag t/end"}}),
    );
    s.answers(&[id]);
    assert_eq!(s.started(), ["t/0", "t/1", "t/2", "t/3", "t/end"]);
}
