//! `cc-executor pause|resume|cancel ID` against a running `serve` (the built binary on both
//! sides): found through the data dir's state file, the token read from the token file, the
//! REST API called; the task's process really stops and continues; every refusal says what
//! to do, in text and in `--json`.

use std::process::{Output, Stdio};
use std::time::Duration;

use super::{Service, request};
use crate::support::fixtures::{eventually, process_state, wait_group_gone};
use crate::support::interop::Sandbox;

/// `cc-executor [env] ARGS` on `sandbox`'s data dir.
fn cli(sandbox: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Service::command(sandbox, &[]);
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run cc-executor")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Submits `body` to `POST /api/v1/{what}`; the id the answer gives (`execution_id`/`run_id`).
fn submit(service: &Service, what: &str, body: &str, id_field: &str) -> String {
    let mut headers = vec![service.auth()];
    headers.push(("content-type".into(), "application/json".into()));
    let a = request(
        &service.url,
        "POST",
        &format!("/api/v1/{what}"),
        &headers,
        body.as_bytes(),
    );
    assert_eq!(a.status, 202, "{a:?}");
    a.json()[id_field].as_str().expect("an id").to_string()
}

/// The pid and process group of the fake claude whose prompt contains `marker`.
fn running(service: &Service, marker: &str) -> (i32, i32) {
    let started = eventually(Duration::from_secs(30), || {
        service
            .sandbox
            .invocations()
            .iter()
            .any(|r| r["stdin"].as_str().unwrap_or("").contains(marker))
    });
    assert!(started, "the fake never started\n{}", service.stderr());
    let inv = service
        .sandbox
        .invocations()
        .into_iter()
        .find(|r| r["stdin"].as_str().unwrap_or("").contains(marker))
        .expect("its invocation");
    (
        inv["pid"].as_i64().expect("pid") as i32,
        inv["pgid"].as_i64().expect("pgid") as i32,
    )
}

const MCP_TOOLS: [&str; 4] = [
    "pause_execution",
    "monitor_execution",
    "cancel_execution",
    "cc_execute_list",
];

#[test]
fn pause_resume_and_cancel_act_on_the_services_task() {
    let service = Service::start(&[]);
    let id = submit(
        &service,
        "executions",
        r#"{"task":"@fake slow secs=60\nA long one (cli control)"}"#,
        "execution_id",
    );
    let (pid, pgid) = running(&service, "cli control");

    let out = cli(&service.sandbox, &[], &["pause", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        said.contains(&format!("execution {id} is paused"))
            && said.contains(&format!("`cc-executor resume {id}`")),
        "{said}"
    );
    for tool in MCP_TOOLS {
        assert!(!said.contains(tool), "the CLI names an MCP tool: {said}");
    }
    let stopped = eventually(Duration::from_secs(10), || process_state(pid) == Some('T'));
    assert!(stopped, "not stopped: {:?}", process_state(pid));

    let out = cli(&service.sandbox, &[], &["pause", &id, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["outcome"], "already_paused", "{v}");
    assert_eq!(v["phase"], "paused", "{v}");

    let out = cli(&service.sandbox, &[], &["resume", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("runs again"),
        "{}",
        text(&out)
    );
    let continued = eventually(Duration::from_secs(10), || process_state(pid) != Some('T'));
    assert!(continued, "still stopped: {:?}", process_state(pid));
    // Nothing to resume: said, exit 1.
    let out = cli(&service.sandbox, &[], &["resume", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("was not paused"),
        "{}",
        text(&out)
    );

    let out = cli(&service.sandbox, &[], &["cancel", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("was stopped; final status: cancelled"),
        "{}",
        text(&out)
    );
    assert!(
        wait_group_gone(pgid, 10).is_empty(),
        "its processes are gone"
    );
    let out = cli(&service.sandbox, &[], &["cancel", &id, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["outcome"], "already_finished", "{v}");
    assert_eq!(v["status"], "cancelled", "{v}");
    let out = cli(&service.sandbox, &[], &["pause", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("already finished"),
        "{}",
        text(&out)
    );

    // A run: `cancel` takes its id too, and says how this CLI resumes it.
    let run = submit(
        &service,
        "runs",
        r#"{"tasks":["@fake slow secs=60\nFirst of a run (cli run)","@fake success\nSecond"]}"#,
        "run_id",
    );
    let (_, pgid) = running(&service, "cli run");
    let out = cli(&service.sandbox, &[], &["cancel", &run]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        said.contains(&format!("run {run} was stopped"))
            && said.contains(&format!("`cc-executor run-list --resume {run}`")),
        "{said}"
    );
    assert!(
        wait_group_gone(pgid, 10).is_empty(),
        "its processes are gone"
    );

    // An id the service does not know.
    let unknown = uuid::Uuid::new_v4().to_string();
    for action in ["pause", "resume", "cancel"] {
        let out = cli(&service.sandbox, &[], &[action, &unknown]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("unknown execution"),
            "{action}: {}",
            text(&out)
        );
    }
}

#[test]
fn without_a_service_or_with_a_wrong_token_the_cli_says_what_to_do() {
    let sandbox = Sandbox::new();
    let id = uuid::Uuid::new_v4().to_string();
    let out = cli(&sandbox, &[], &["pause", &id]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("no cc-executor serve is running") && err.contains("`cc-executor serve`"),
        "{err}"
    );
    let out = cli(&sandbox, &[], &["resume", &id, "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or("")
            .contains("no cc-executor serve is running"),
        "{v}"
    );
    assert!(v["status"].is_null(), "{v}");

    let service = Service::start_with(sandbox, &[], &[]);
    let out = cli(
        &service.sandbox,
        &[("CC_EXECUTOR_TOKEN", "not-the-token-0123456789")],
        &["cancel", &id, "--json"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["status"], 401, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or("")
            .contains("refused the token"),
        "{v}"
    );
    // The token is never echoed.
    assert!(!text(&out).contains("not-the-token"), "{}", text(&out));

    // A service without the REST API these commands call.
    let mcp_only = Service::start(&["--surfaces", "mcp"]);
    let out = cli(&mcp_only.sandbox, &[], &["resume", &id]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("does not offer the REST API") && err.contains("--surfaces"),
        "{err}"
    );
}
