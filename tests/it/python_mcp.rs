//! Interop with the official Python MCP SDK (`mcp==2.3.0`, installed into `.tools/venv` by
//! `scripts/provision`), at each protocol version the server speaks: 2025-06-18, 2025-11-25
//! (the `initialize` handshake) and 2026-07-28 (`server/discover`, a `_meta` envelope on every
//! request). The script `tests/python/mcp_interop.py` calls every tool over stdio with the fake
//! claude, checks log messages, progress, completions and a resource, and fails on any SDK
//! warning; this test runs it, checks that no task ran twice and that the server logged no
//! warning, and fails with the script's output otherwise. A missing venv is a failure, never
//! a skip.

use std::process::Command;
use std::time::Duration;

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin};
use crate::support::interop::{Sandbox, run_bounded, test_file, venv_python};

fn python_calls_every_tool_at(protocol: &str) {
    let python = venv_python();
    let script = test_file("python/mcp_interop.py");
    let sandbox = Sandbox::new();
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .args(["--protocol", protocol])
        .arg("--server")
        .arg(cc_executor_bin())
        .arg("--fake-claude")
        .arg(fake_claude_bin())
        .arg("--root")
        .arg(&sandbox.root)
        .arg("--data-dir")
        .arg(&sandbox.data)
        .arg("--record-dir")
        .arg(&sandbox.rec)
        .env("PYTHONUNBUFFERED", "1");
    let run = run_bounded(cmd, Duration::from_secs(60), "the Python interop client");
    let output = run.output();
    assert!(
        run.status.success(),
        "the Python client failed at {protocol} ({})\n{output}",
        run.status
    );
    assert!(
        run.stdout
            .contains(&format!("\"protocol\": \"{protocol}\"")),
        "{output}"
    );
    assert_eq!(run.complaints(), Vec::<&str>::new(), "{output}");
    sandbox.assert_each_ran_once(&["py-one", "py-list"], &output);
}

#[test]
fn python_sdk_calls_every_tool_at_2025_06_18() {
    python_calls_every_tool_at("2025-06-18");
}

#[test]
fn python_sdk_calls_every_tool_at_2025_11_25() {
    python_calls_every_tool_at("2025-11-25");
}

#[test]
fn python_sdk_calls_every_tool_at_2026_07_28() {
    python_calls_every_tool_at("2026-07-28");
}
