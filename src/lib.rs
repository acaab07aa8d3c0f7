//! # cc-executor
//!
//! Run a multi-step task list where every step is a **fresh Claude Code process** (`claude -p`),
//! strictly after the previous one, with live progress, hard timeouts, process-tree cancellation
//! and an honest, structured account of what happened.
//!
//! ## Map of the crate
//!
//! The modules follow the data flow of a task, top to bottom:
//!
//! ```text
//! MCP tool call (mcp/) / CLI (cli/) / library
//!         │  TaskRequest ── validated against the Policy (config) ──► TaskSpec (exec::spec)
//!         ▼
//!    Planner (plan/) ── classifies, predicts the timeout from the history
//!         │
//!         ▼
//!    Executor (exec/) ── FIFO queue (exec::queue) ── retries (exec::retry) ── registry
//!         │
//!         ▼
//!    claude process (exec::process: own process group, argv from claude::argv, prompt on stdin)
//!         │  stdout bytes
//!         ▼
//!    framing (claude::framing) ─► events (claude::events) ─► collector (claude::collect)
//!         │                                   └─► progress sink (exec::progress)
//!         ▼
//!    outcome (claude::outcome) ─► ExecutionResult (exec::result)
//!         │
//!         ▼
//!    evidence (evidence/: response file, receipt, hash chain) ─► history (store/)
//!         │
//!         ▼
//!    post hooks ─► back to the caller
//! ```
//!
//! A task list (`runs/`) is a loop over that flow: each task is prepared, submitted and
//! awaited in turn, and the run itself is saved in the store at every step.
//!
//! - [`config`]: configuration (flags > env > file > defaults) and the [`config::Policy`]
//!   that bounds every task.
//! - [`claude`]: everything that knows about the Claude Code CLI: how to call it, how to read
//!   its stream-json, how to classify how a run ended. Pure code, no processes.
//! - [`exec`]: the [`Executor`]: queueing, spawning, deadlines, killing, retries, results,
//!   and the live registry behind monitoring and cancellation.
//! - [`plan`]: the one estimator — classification, durations and timeouts learned from the
//!   history, task-list validation, strategy waves, task-list files.
//! - [`runs`]: task lists as durable runs — dependency order through the same queue, failure
//!   policy, budget, usage-limit waits, `{{tasks.<id>.result}}` references, resume after a
//!   crash without repeating finished work.
//! - [`evidence`]: what an execution leaves behind to be checked — response file, receipt, the
//!   hash chain, the UUID hook, written-file hashes, user hooks — and `verify`, which checks it
//!   against what really happened.
//! - [`store`]: the history of every execution — embedded SQLite by default, Redis (with a
//!   local outbox) when configured.
//! - [`pool`]: the worker pool's data plane in Redis — queues (Streams + a consumer group),
//!   leases with fencing tokens, each execution's event stream and control channel, the worker
//!   registry. With `placement = pool` the executor enqueues tasks there (`exec::remote`).
//! - [`worker`]: `cc-executor worker` — claims pooled tasks and runs them with this executor.
//! - [`mcp`]: the MCP stdio server, one file per tool; a thin adapter over the executor.
//! - [`serve`]: the network service (`cc-executor serve`): MCP Streamable HTTP at `/mcp`
//!   over the same executor, behind a token, Host/Origin checks and limits.
//! - [`cli`]: the terminal commands (`run`, `doctor`, …); another thin adapter.
//!
//! ## Library use
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cc_executor::{Config, Executor, TaskRequest};
//! let executor = Executor::new(Config::load(&Default::default())?)?;
//! let spec = executor.prepare(TaskRequest::new("What is 2 + 2?")).await?;
//! let result = executor.execute(spec, cc_executor::exec::progress::NoProgress).await;
//! println!("{:?}: {}", result.status, result.result.unwrap_or_default());
//! # Ok(()) }
//! ```

// The one `unsafe` lives in the `cc-executor-sys` crate. Stdout belongs to the MCP protocol:
// only the terminal adapter (`cli`) prints to it. Input and I/O never reach an unwrap.
#![forbid(unsafe_code)]
#![deny(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod claude;
pub mod cli;
pub mod config;
pub mod evidence;
pub mod exec;
mod layers;
pub mod mcp;
pub mod plan;
pub mod pool;
pub mod process;
pub mod runs;
pub mod serve;
pub mod store;
pub mod types;
pub mod worker;

pub use config::{Config, Overrides, Policy};
pub use exec::Executor;
pub use exec::spec::{TaskRequest, TaskSpec};
pub use types::result::{ExecutionResult, Status};

pub use mcp::prompt::CC_EXECUTE_PROMPT;
