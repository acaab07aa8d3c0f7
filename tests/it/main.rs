//! The integration tests, in one test binary (one crate to compile and link, one process whose
//! threads run every test side by side — instead of ~30 binaries run one after the other).
//! Each module is one former `tests/<name>.rs`; `support` holds what they share. Run one
//! module with `cargo test --test it <module>::`, e.g. `cargo test --test it surface::`.
//!
//! The one test that must be alone in its process is not here: `tests/reaper.rs` (see its
//! doc comment).
//!
//! Everything here shares one process, so nothing may change process-wide state another test
//! could see: no `std::env::set_var` or `set_current_dir` (a child's environment and cwd go on
//! its `Command`), no global tracing subscriber, no fixed port. The SIGCHLD reaper and the
//! child-subreaper flag (`install_supervision`, through `support::fake_executor`) are
//! process-wide: once any test has installed them they hold for all, which every test here
//! tolerates (the processes a test spawns itself stay in the test process's group, which the
//! reaper leaves alone).

mod support;

mod accept;
mod arrival_order;
mod claude_orchestrator;
mod cli;
mod credential;
mod durability;
mod evidence;
mod evidence_real_cli;
mod executor_fake;
mod executor_real_cli;
mod history;
mod interop;
mod mcp_long_running;
mod mcp_protocol;
mod mcp_runs;
mod mcp_server;
mod pause;
mod plan;
mod planning;
mod pool;
mod protocol_hygiene;
mod python_mcp;
mod real_cli_fake_api;
mod runs;
mod runs_real_cli;
mod serve;
mod serve_rest;
mod serve_ws;
mod store_contract;
mod store_redis_faults;
mod supervision;
mod surface;
mod timeouts;
