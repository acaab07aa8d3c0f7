//! The Python `websockets` client (`tests/python/ws_client.py`) against the service, one
//! scenario per test, each with a server of its own. What the wire shows is checked by the
//! script; the process trees and the logs are checked here.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::server::{Server, TOKEN};
use crate::support::fixtures::group_processes;
use crate::support::interop::{run_bounded, test_file, venv_python};

/// The venv's Python, with `websockets` (a missing one is a failure that says to provision).
fn python() -> std::path::PathBuf {
    let python = venv_python();
    let has = Command::new(&python)
        .args(["-c", "import websockets"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has,
        "the Python `websockets` library is missing from .tools/venv: run `scripts/provision`"
    );
    python
}

/// Runs `scenario` against `server`; its `RESULT` line.
fn scenario(server: &Server, scenario: &str) -> Value {
    let mut cmd = Command::new(python());
    cmd.arg(test_file("python/ws_client.py"))
        .args([
            "--url",
            &server.url,
            "--token",
            TOKEN,
            "--scenario",
            scenario,
        ])
        .env("PYTHONUNBUFFERED", "1");
    let run = run_bounded(
        cmd,
        Duration::from_secs(120),
        "the Python websockets client",
    );
    assert!(
        run.status.success(),
        "scenario {scenario} failed ({})\n{}\n--- server ---\n{}",
        run.status,
        run.output(),
        server.log()
    );
    let line = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("no RESULT line\n{}", run.output()));
    serde_json::from_str(line).expect("RESULT json")
}

/// The server never logs the token, whatever happened.
fn assert_token_never_logged(server: &Server) {
    let log = server.log();
    assert!(!log.contains(TOKEN), "the token is in the log:\n{log}");
}

#[test]
fn execute_streams_started_output_and_completed_with_the_text() {
    let server = Server::start(&[]);
    scenario(&server, "execute");
    server
        .sandbox
        .assert_each_ran_once(&["ws-execute"], &server.log());
    assert_token_never_logged(&server);
}

#[test]
fn two_executions_on_one_connection_run_in_the_order_they_were_sent() {
    let server = Server::start(&[]);
    scenario(&server, "two");
    let order: Vec<String> = server
        .sandbox
        .invocations()
        .iter()
        .map(|v| v["stdin"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(order.len(), 2, "{order:?}");
    assert!(
        order[0].contains("ws-first") && order[1].contains("ws-second"),
        "{order:?}"
    );
}

#[test]
fn cancel_kills_the_process_tree() {
    let server = Server::start(&[]);
    scenario(&server, "cancel");
    let pgid = server.invocation("ws-cancel")["pgid"]
        .as_i64()
        .expect("pgid") as i32;
    // The answer came once the tree was stopped: nothing of the group is left (not even a
    // zombie: the server reaps its children).
    assert_eq!(group_processes(pgid), vec![], "{}", server.log());
}

#[test]
fn reattach_after_a_dropped_connection_misses_nothing() {
    let server = Server::start(&[]);
    let out = scenario(&server, "reattach");
    assert!(!out["before"].as_array().expect("before").is_empty());
    server
        .sandbox
        .assert_each_ran_once(&["ws-reattach"], &server.log());
}

#[test]
fn the_old_command_param_is_refused_with_what_to_send_instead() {
    let server = Server::start(&[]);
    scenario(&server, "command");
    assert!(server.sandbox.invocations().is_empty(), "nothing ran");
}

#[test]
fn the_upgrade_needs_the_token_and_an_allowed_origin() {
    let server = Server::start(&[]);
    scenario(&server, "auth");
    assert_token_never_logged(&server);
}

#[test]
fn cancel_on_disconnect_true_cancels_when_the_connection_drops() {
    let server = Server::start(&[]);
    scenario(&server, "cod_true");
    let pgid = server.invocation("ws-cod-true")["pgid"]
        .as_i64()
        .expect("pgid") as i32;
    assert_eq!(group_processes(pgid), vec![], "{}", server.log());
}

#[test]
fn without_cancel_on_disconnect_a_dropped_connection_leaves_the_task_running() {
    let server = Server::start(&[]);
    let out = scenario(&server, "cod_false");
    assert_eq!(out["status"], "succeeded");
}

#[test]
fn pause_stops_the_tree_and_resume_lets_it_finish() {
    let server = Server::start(&[]);
    scenario(&server, "pause");
    server
        .sandbox
        .assert_each_ran_once(&["ws-pause"], &server.log());
}

#[test]
fn usage_limits_and_429s_are_rate_limit_notifications_with_the_reset_time() {
    let server = Server::start(&[]);
    scenario(&server, "rate_limits");
}
