//! Acceptance checks and bounded repair (`accept`, `repair`): with the fake `claude` (its
//! `repairable` and `verdict` scenarios), over MCP, in task lists, and with the real Claude Code
//! CLI on the fake Anthropic API.

mod checks;
mod mcp;
mod planning;
mod real_cli;
mod rest;
mod runs;

/// Invocations of the fake (its record), in order.
pub(crate) fn invocations(
    h: &crate::support::fake_executor::FakeExecutor,
) -> Vec<serde_json::Value> {
    std::fs::read_to_string(h.root().join("record/invocations.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
