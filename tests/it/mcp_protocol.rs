//! The protocol around the tools, on the built binary over raw stdio (every byte as a client
//! of that version writes it): MCP Tasks only for requests that ask for one, and never slower
//! than a plain call; the `logging` capability (`logging/setLevel` on 2025-06-18/2025-11-25,
//! the per-request `_meta` level on 2026-07-28); `completion/complete`; the protocol versions
//! the server negotiates.

use std::time::{Duration, Instant};

use crate::support::raw_stdio::Server;
use serde_json::{Value, json};

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

/// `_meta` every 2026-07-28 request carries, plus `extra`.
fn modern_meta(extra: Value) -> Value {
    let mut meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "protocol-test", "version": "1"},
        CAPS: {},
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut meta, extra) {
        m.extend(e);
    }
    meta
}

fn answer(messages: &[Value]) -> &Value {
    messages.last().expect("an answer")
}

/// `(level, text)` of the `notifications/message`s among `messages`.
fn log_messages(messages: &[Value]) -> Vec<(String, String)> {
    messages
        .iter()
        .filter(|m| m["method"] == "notifications/message")
        .map(|m| {
            assert_eq!(m["params"]["logger"], "cc-executor", "{m}");
            (
                m["params"]["level"].as_str().unwrap_or("?").to_string(),
                m["params"]["data"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
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

// ---------------------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------------------

#[test]
fn set_level_sends_steps_and_warnings_as_log_messages_at_that_level_before_the_answer() {
    let mut s = start("2025-06-18", json!({}));
    let call = |s: &mut Server| {
        let id = s.request(
            "tools/call",
            json!({"name": "cc_execute", "arguments": {"task": "@fake success"}}),
        );
        s.until_answer(id)
    };
    // Nothing until the client asks.
    assert_eq!(log_messages(&call(&mut s)), []);

    let id = s.request("logging/setLevel", json!({"level": "info"}));
    assert_eq!(answer(&s.until_answer(id))["result"], json!({}));
    let logged = log_messages(&call(&mut s));
    assert!(
        logged
            .iter()
            .any(|(l, m)| l == "info" && m.starts_with("started")),
        "{logged:?}"
    );
    assert!(
        logged
            .iter()
            .any(|(l, m)| l == "warning" && m.contains("very short")),
        "the result's warnings: {logged:?}"
    );

    let id = s.request("logging/setLevel", json!({"level": "warning"}));
    s.until_answer(id);
    let logged = log_messages(&call(&mut s));
    assert!(!logged.is_empty());
    assert!(logged.iter().all(|(l, _)| l == "warning"), "{logged:?}");

    let id = s.request("logging/setLevel", json!({"level": "loud"}));
    let refused = answer(&s.until_answer(id)).clone();
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
}

#[test]
fn on_2026_07_28_log_messages_come_only_to_requests_that_ask_with_their_meta() {
    let mut s = Server::start_with(tempfile::tempdir().unwrap(), None);
    let call = |s: &mut Server, meta: Value| {
        let id = s.request(
            "tools/call",
            json!({"name": "cc_execute", "arguments": {"task": "@fake success"}, "_meta": meta}),
        );
        s.until_answer(id)
    };
    let plain = call(&mut s, modern_meta(json!({})));
    assert_eq!(answer(&plain)["result"]["resultType"], "complete");
    assert_eq!(log_messages(&plain), []);

    let asked = call(
        &mut s,
        modern_meta(json!({"io.modelcontextprotocol/logLevel": "info"})),
    );
    let logged = log_messages(&asked);
    assert!(
        logged.iter().any(|(l, _)| l == "info"),
        "info and above for this request: {logged:?}"
    );

    // There is no session level on 2026-07-28.
    let id = s.request(
        "logging/setLevel",
        json!({"level": "debug", "_meta": modern_meta(json!({}))}),
    );
    let refused = answer(&s.until_answer(id)).clone();
    assert_eq!(refused["error"]["code"], -32601, "{refused}");
    assert_eq!(log_messages(&call(&mut s, modern_meta(json!({})))), []);
}

// ---------------------------------------------------------------------------------------------
// Completions, capabilities, versions
// ---------------------------------------------------------------------------------------------

fn complete(s: &mut Server, uri: &str, name: &str, value: &str) -> Value {
    let id = s.request(
        "completion/complete",
        json!({"ref": {"type": "ref/resource", "uri": uri},
               "argument": {"name": name, "value": value}}),
    );
    answer(&s.until_answer(id)).clone()
}

#[test]
fn execution_and_run_ids_complete_from_what_the_server_knows() {
    let mut s = start("2025-11-25", json!({}));
    let (id, m) = s.call("cc_execute", json!({"task": "@fake success"}));
    s.write_all(&[m]);
    let execution = s.answers(&[id])[&id]["result"]["structuredContent"]["execution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (id, m) = s.call(
        "cc_execute_list",
        json!({"tasks": ["@fake success"], "wait": true}),
    );
    s.write_all(&[m]);
    let run = s.answers(&[id])[&id]["result"]["structuredContent"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();

    let got = complete(
        &mut s,
        "cc-executor://executions/{id}",
        "id",
        &execution[..4],
    );
    let values = got["result"]["completion"]["values"].as_array().unwrap();
    assert!(values.contains(&json!(execution)), "{got}");
    assert!(
        values
            .iter()
            .all(|v| v.as_str().unwrap().starts_with(&execution[..4])),
        "{got}"
    );
    let got = complete(&mut s, "cc-executor://runs/{id}", "id", "");
    assert_eq!(got["result"]["completion"]["values"], json!([run]), "{got}");
    let got = complete(&mut s, "cc-executor://runs/{id}", "id", "zz");
    assert_eq!(got["result"]["completion"]["values"], json!([]), "{got}");
    let got = complete(&mut s, "cc-executor://nothing/{x}", "x", "");
    assert_eq!(got["error"]["code"], -32602, "{got}");
}

#[test]
fn initialize_declares_logging_completions_and_negotiates_the_supported_versions() {
    for (asked, agreed) in [
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        // Older than structured tool output: the server offers its newest handshake version.
        ("2024-11-05", "2025-11-25"),
    ] {
        let mut s = Server::start_with(tempfile::tempdir().unwrap(), None);
        s.write_all(&[initialize(asked, json!({}))]);
        let init = s.answers(&[0])[&0]["result"].clone();
        assert_eq!(init["protocolVersion"], agreed, "{init}");
        let caps = &init["capabilities"];
        assert!(caps["logging"].is_object(), "{caps}");
        assert!(caps["completions"].is_object(), "{caps}");
        assert!(caps["extensions"][TASKS].is_object(), "{caps}");
    }
    let mut s = Server::start_with(tempfile::tempdir().unwrap(), None);
    let id = s.request("server/discover", json!({"_meta": modern_meta(json!({}))}));
    let found = answer(&s.until_answer(id)).clone();
    assert_eq!(
        found["result"]["supportedVersions"],
        json!(["2025-06-18", "2025-11-25", "2026-07-28"]),
        "{found}"
    );
}
