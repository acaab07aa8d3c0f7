//! The `cc-executor` binary: parses the command line and hands over to [`cc_executor::cli`].
//! Logs go to stderr only: in `mcp` mode stdout is the protocol channel.
//!
//! Before anything runs, the binary makes itself the supervisor of every process its tasks
//! start (a child subreaper with a `SIGCHLD` reaper): a process-wide decision, so it is taken
//! here, once, and not by whatever happens to create an executor.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    cc_executor::process::install_supervision();
    cc_executor::cli::main()
}
