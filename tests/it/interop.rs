//! Interop with MCP clients nobody here wrote, on the built `cc-executor mcp` with the fake
//! claude: the MCP Inspector CLI (both protocol eras: `legacy` = 2025-11-25 with `initialize`,
//! `modern` = 2026-07-28 with a `_meta` envelope on every request) and the official TypeScript
//! SDK (`tests/js/sdk_client.mjs`, at 2025-11-25 and 2025-06-18). Each calls EVERY tool the
//! server lists, successfully (no `isError`, structured content), with no warning from the
//! client or the server, and no task runs twice (the fake claude's invocation records). The
//! Python SDK is `tests/it/python_mcp.rs`. The clients come from `scripts/provision`; a missing
//! one fails the test with that hint.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin};
use crate::support::interop::{Sandbox, inspector, node22, run_bounded, test_file, ts_sdk};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// MCP Inspector CLI
// ---------------------------------------------------------------------------------------------

/// One Inspector CLI run against a fresh `cc-executor mcp` on the sandbox (the runs share its
/// data dir, so ids from one are known to the next). Returns the `result` of the JSON output.
fn inspector_run(sandbox: &Sandbox, era: &str, method_args: &[&str]) -> Value {
    let mut cmd = Command::new(node22());
    cmd.arg(inspector())
        .args(["--cli", "--protocol-era", era, "--format", "json", "--cwd"])
        .arg(&sandbox.root)
        .arg("-e")
        .arg(format!("FAKE_CLAUDE_RECORD_DIR={}", sandbox.rec.display()))
        .arg("-e")
        .arg(format!(
            "XDG_CONFIG_HOME={}",
            sandbox.root.join(".config-none").display()
        ))
        .args(["-e", "RUST_LOG=warn"])
        .args(method_args)
        .arg(cc_executor_bin())
        .arg("--claude-bin")
        .arg(fake_claude_bin())
        .arg("--data-dir")
        .arg(&sandbox.data)
        .arg("--allowed-root")
        .arg(&sandbox.root)
        .arg("mcp")
        // The Inspector keeps its catalog and client config here, not in the real home.
        .env("HOME", sandbox.dir.path())
        .current_dir(&sandbox.root);
    let what = format!("the MCP Inspector ({era}) {}", method_args.join(" "));
    let run = run_bounded(cmd, LIMIT, &what);
    let output = shorten(&run.output());
    assert!(
        run.status.success(),
        "{what} failed ({})\n{output}",
        run.status
    );
    // Nothing on stderr: no warning of the Inspector's, none of the server's (`RUST_LOG=warn`).
    // The one exception is the summary of tools/list's schema-portability lint (`--strict`
    // shows it in full): it is about the tool definitions, not about calls.
    let stderr: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !(l.trim().is_empty() || l.starts_with("Schema portability: 0 errors")))
        .collect();
    assert_eq!(
        stderr,
        Vec::<&str>::new(),
        "{what} wrote to stderr\n{output}"
    );
    let v: Value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("{what}: stdout is not one JSON object ({e})\n{output}"));
    v.get("result")
        .cloned()
        .unwrap_or_else(|| panic!("{what}: no result\n{output}"))
}

/// The first and last 2 KiB of a long output (a tools/list is ~200 KiB).
fn shorten(s: &str) -> String {
    const KEEP: usize = 2048;
    if s.len() <= 2 * KEEP {
        return s.to_string();
    }
    let mut head = KEEP;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - KEEP;
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[… {} bytes …]\n{}",
        &s[..head],
        tail - head,
        &s[tail..]
    )
}

fn inspector_calls_every_tool(era: &str) {
    let sandbox = Sandbox::new();
    let listed = inspector_run(&sandbox, era, &["--method", "tools/list"]);
    let mut names: Vec<String> = listed["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("tools/list: {listed}"))
        .iter()
        .filter_map(|t| t["name"].as_str().map(String::from))
        .collect();
    names.sort();

    let mut called = Vec::new();
    let mut call = |name: &str, args: Value| -> Value {
        let args = args.to_string();
        let result = inspector_run(
            &sandbox,
            era,
            &[
                "--method",
                "tools/call",
                "--tool-name",
                name,
                "--tool-args-json",
                &args,
            ],
        );
        assert_ne!(result["isError"], true, "{era} {name}: {result}");
        assert!(
            result["structuredContent"].is_object(),
            "{era} {name}: {result}"
        );
        // 2026-07-28 results say what they are; older versions have no `resultType`.
        match era {
            "modern" => assert_eq!(result["resultType"], "complete", "{name}: {result}"),
            _ => assert!(result.get("resultType").is_none(), "{name}: {result}"),
        }
        called.push(name.to_string());
        result["structuredContent"].clone()
    };

    let exec = call(
        "cc_execute",
        json!({"task": "@fake success text=INSPECTOR\ninterop marker inspector-one"}),
    );
    assert_eq!(exec["status"], "succeeded", "{exec}");
    assert_eq!(exec["result"], "INSPECTOR", "{exec}");
    let id = exec["execution_id"].as_str().unwrap().to_string();
    let run = call(
        "cc_execute_list",
        json!({"tasks": ["@fake success\ninterop marker inspector-list"], "wait": true}),
    );
    assert_eq!(run["state"], "succeeded", "{run}");
    let run_id = run["run_id"].as_str().unwrap().to_string();

    let m = call("monitor_execution", json!({"execution_id": id}));
    assert_eq!(m["executions"][0]["status"], "succeeded", "{m}");
    let m = call("monitor_execution", json!({"run_id": run_id}));
    assert_eq!(m["runs"][0]["run"]["state"], "succeeded", "{m}");
    let c = call("cancel_execution", json!({"execution_id": id}));
    assert_eq!(c["outcome"], "already_finished", "{c}");
    let p = call("pause_execution", json!({"execution_id": id}));
    assert_eq!(p["outcome"], "already_finished", "{p}");
    let h = call("check_websocket_status", json!({}));
    assert_eq!(h["status"], "ok", "{h}");
    let h = call("get_execution_history", json!({"limit": 5}));
    assert_eq!(h["executions"].as_array().map(Vec::len), Some(2), "{h}");
    call(
        "get_task_complexity",
        json!({"task": "Refactor the parser module and add tests"}),
    );
    let v = call(
        "validate_task_list",
        json!({"tasks": ["Write the parser", "Test the parser"]}),
    );
    assert_eq!(v["valid"], true, "{v}");
    call(
        "suggest_execution_strategy",
        json!({"tasks": ["Write the parser", "Test the parser"]}),
    );
    call("verify_execution", json!({"execution_id": id}));
    call("get_hook_status", json!({}));

    called.sort();
    called.dedup();
    assert_eq!(called, names, "every listed tool is called");
    sandbox.assert_each_ran_once(&["inspector-one", "inspector-list"], "");
}

#[test]
fn the_inspector_calls_every_tool_on_the_legacy_era() {
    inspector_calls_every_tool("legacy");
}

#[test]
fn the_inspector_calls_every_tool_on_the_modern_era() {
    inspector_calls_every_tool("modern");
}

#[test]
fn the_inspectors_default_plain_call_is_answered_with_the_result() {
    // The Inspector's defaults (legacy era, the tasks extension declared at initialize) and its
    // default output: the call that used to get a task handle it never polls ("declares an
    // output schema but returned no structured content") while the task still ran.
    let sandbox = Sandbox::new();
    let mut cmd = Command::new(node22());
    cmd.arg(inspector())
        .args([
            "--cli",
            "--method",
            "tools/call",
            "--tool-name",
            "cc_execute",
        ])
        .args(["--tool-arg", "task=@fake success text=DEFAULTS"])
        .arg("-e")
        .arg(format!("FAKE_CLAUDE_RECORD_DIR={}", sandbox.rec.display()))
        .args(["-e", "RUST_LOG=warn"])
        .arg(cc_executor_bin())
        .arg("--claude-bin")
        .arg(fake_claude_bin())
        .arg("--data-dir")
        .arg(&sandbox.data)
        .arg("mcp")
        .env("HOME", sandbox.dir.path())
        .current_dir(&sandbox.root);
    let run = run_bounded(cmd, LIMIT, "the MCP Inspector with its defaults");
    let output = run.output();
    assert!(run.status.success(), "{output}");
    assert!(!output.contains("no structured content"), "{output}");
    let v: Value = serde_json::from_str(run.stdout.trim()).expect("JSON on stdout");
    assert_eq!(v["structuredContent"]["result"], "DEFAULTS", "{output}");
    assert_eq!(sandbox.invocations().len(), 1, "{output}");
}

#[test]
fn the_modern_inspector_follows_a_task_to_its_result_and_it_runs_once() {
    // 2026-07-28: the Inspector asks for a task on each call (its `_meta` declares the
    // extension); a task longer than the grace gets a handle, which it polls to the result.
    let sandbox = Sandbox::new();
    let mut cmd = Command::new(node22());
    cmd.arg(inspector())
        .args(["--cli", "--protocol-era", "modern", "--format", "json"])
        .args(["--method", "tools/call", "--tool-name", "cc_execute"])
        .args([
            "--tool-args-json",
            r#"{"task": "@fake slow secs=2 text=FOLLOWED"}"#,
        ])
        .arg("-e")
        .arg(format!("FAKE_CLAUDE_RECORD_DIR={}", sandbox.rec.display()))
        .args(["-e", "RUST_LOG=warn,cc_executor::mcp::tasks=debug"])
        .arg(cc_executor_bin())
        .arg("--claude-bin")
        .arg(fake_claude_bin())
        .arg("--data-dir")
        .arg(&sandbox.data)
        .arg("mcp")
        .env("HOME", sandbox.dir.path())
        .current_dir(&sandbox.root);
    let run = run_bounded(cmd, LIMIT, "the MCP Inspector (modern) on a task");
    let output = run.output();
    assert!(run.status.success(), "{output}");
    assert!(
        run.stderr.contains("answered with a task handle"),
        "the call was not answered as a task\n{output}"
    );
    let v: Value = serde_json::from_str(run.stdout.trim()).expect("JSON on stdout");
    assert_eq!(
        v["result"]["structuredContent"]["result"], "FOLLOWED",
        "{output}"
    );
    assert_eq!(sandbox.invocations().len(), 1, "{output}");
}

// ---------------------------------------------------------------------------------------------
// TypeScript SDK
// ---------------------------------------------------------------------------------------------

fn ts_sdk_calls_every_tool_at(protocol: &str) {
    let sandbox = Sandbox::new();
    let mut cmd = Command::new(node22());
    cmd.arg(test_file("js/sdk_client.mjs"))
        .arg(protocol)
        .arg(ts_sdk())
        .arg(cc_executor_bin())
        .arg(fake_claude_bin())
        .arg(&sandbox.root)
        .arg(&sandbox.data)
        .arg(&sandbox.rec)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")));
    let run = run_bounded(cmd, LIMIT, "the TypeScript SDK client");
    let output = run.output();
    assert!(
        run.status.success(),
        "the TypeScript SDK client failed at {protocol}\n{output}"
    );
    let summary: Value = serde_json::from_str(run.stdout.trim()).expect("a JSON summary");
    assert_eq!(summary["ok"], true, "{output}");
    assert_eq!(summary["protocol"], protocol, "{output}");
    assert_eq!(run.complaints(), Vec::<&str>::new(), "{output}");
    sandbox.assert_each_ran_once(&["ts-one", "ts-list"], &output);
}

#[test]
fn the_typescript_sdk_calls_every_tool_at_2025_11_25() {
    ts_sdk_calls_every_tool_at("2025-11-25");
}

#[test]
fn the_typescript_sdk_calls_every_tool_at_2025_06_18() {
    ts_sdk_calls_every_tool_at("2025-06-18");
}
