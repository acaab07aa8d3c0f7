//! The official MCP conformance suite (npm `@modelcontextprotocol/conformance`, pinned and
//! installed into `.tools/conformance` by `scripts/provision`, run on Node 22) against `/mcp`.
//!
//! The suite cannot send a token, so the service runs with `--no-auth` (allowed only on a
//! loopback address). Every server scenario that does not need the SDKs' "everything" test
//! fixtures (tools, prompts and resources named `test_*`, which this server does not have)
//! must pass; the README lists the others and why they do not apply.

use super::*;
use crate::support::interop::{node22, provisioned, run_bounded};

/// The scenarios that apply to this server (see the README's list).
pub const APPLICABLE: &[&str] = &[
    "server-initialize",
    "ping",
    "logging-set-level",
    "tools-list",
    "resources-list",
    "prompts-list",
    "server-sse-multiple-streams",
    "server-sse-polling",
    "dns-rebinding-protection",
];

#[test]
fn every_applicable_server_scenario_passes() {
    let suite = provisioned(
        "conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js",
        "the MCP conformance suite",
    );
    let service = Service::start(&["--no-auth"]);
    let mut failed = Vec::new();
    let mut outputs = String::new();
    for scenario in APPLICABLE {
        let out_dir = service
            .sandbox
            .dir
            .path()
            .join("conformance")
            .join(scenario);
        let mut cmd = Command::new(node22());
        cmd.arg(&suite)
            .args([
                "server",
                "--url",
                &service.mcp_url(),
                "--scenario",
                scenario,
            ])
            .arg("-o")
            .arg(&out_dir)
            .env("NO_COLOR", "1");
        let run = run_bounded(cmd, Duration::from_secs(120), scenario);
        let summary = run
            .stdout
            .lines()
            .filter(|l| l.contains("Passed:") || l.contains("FAILURE") || l.contains("failed"))
            .collect::<Vec<_>>()
            .join("\n");
        outputs.push_str(&format!("--- {scenario} ({}) ---\n{summary}\n", run.status));
        if !run.status.success() || !run.stdout.contains(", 0 failed") {
            failed.push(format!("{scenario}\n{}", run.output()));
        }
    }
    assert!(
        failed.is_empty(),
        "conformance scenarios failed:\n{}\n--- service stderr ---\n{}",
        failed.join("\n\n"),
        service.stderr()
    );
    eprintln!("{outputs}");
}
