//! The `cc-executor` console script of the wheel: the same CLI as the binary, run inside the
//! Python process that `pip`/`pipx`/`uv tool` made for it.
//!
//! One artifact instead of two: the wheel ships the extension module only, and the script
//! calls the CLI in it (no second copy of the executor as a separate binary, no platform
//! `scripts/` data to build). It does what `src/main.rs` does: logs to stderr, then the
//! supervision of task processes (a subreaper with a `SIGCHLD` reaper) — right for a process
//! that exists only to run the CLI, which is why the library API never does it.

use std::ffi::OsString;
use std::sync::Once;

use pyo3::prelude::*;

static LOGGING: Once = Once::new();

/// Runs the CLI with `argv` (the script's `sys.argv`: the program name, then the arguments)
/// and returns its exit code.
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    LOGGING.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        // Err: the application already installed a subscriber; keep it.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .try_init();
    });
    cc_executor::process::install_supervision();
    py.detach(|| cc_executor::cli::main_from(argv))
}
