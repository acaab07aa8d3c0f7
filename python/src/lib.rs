//! `cc_executor._native`: the Python extension module of the `cc-executor` wheel.
//!
//! An adapter over the library, at the level of the CLI and the MCP server: it turns Python
//! calls into the library's requests ([`cc_executor::TaskRequest`], the run service, the
//! planner, the store) and the library's answers into the JSON the MCP tools return. It
//! holds no logic of its own beyond the crossing: the Python package (`cc_executor`) gives
//! it the public API, typed results and exceptions.
//!
//! - [`config`]: `Config` (settings as the CLI reads them) and the executor it owns.
//! - [`task`]: one task; [`runs`]: task lists as durable runs; [`handle`]: a running call.
//! - [`events`]: the progress events a `progress_callback` gets, for a task and a task list.
//! - [`queries`]: history, export, verify, complexity, validation, strategy.
//! - [`cli`]: the `cc-executor` console script; [`mod@bench`]: timing hooks for `python/bench`.
//!
//! A panic inside a `#[pyfunction]` becomes a Python exception (PyO3's `PanicException`);
//! work on the runtime reports through its handle, and a task that ended without a result is
//! an error, never a hang.

// As in the library: nothing that input or I/O can reach may `unwrap`/`expect` (a panic would
// surface as PyO3's `PanicException` instead of the exception hierarchy).
#![deny(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod bench;
pub mod cli;
pub mod config;
pub mod errors;
pub mod events;
pub mod handle;
pub mod queries;
pub mod runs;
pub mod runtime;
pub mod task;

use pyo3::prelude::*;

/// The module: functions take a `Config` first; `cc_executor` wraps them.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<config::PyConfig>()?;
    m.add_class::<handle::Handle>()?;
    m.add_function(wrap_pyfunction!(task::start_task, m)?)?;
    m.add_function(wrap_pyfunction!(runs::start_list, m)?)?;
    m.add_function(wrap_pyfunction!(runs::start_resume, m)?)?;
    m.add_function(wrap_pyfunction!(queries::history, m)?)?;
    m.add_function(wrap_pyfunction!(queries::export_history, m)?)?;
    m.add_function(wrap_pyfunction!(queries::verify, m)?)?;
    m.add_function(wrap_pyfunction!(queries::task_complexity, m)?)?;
    m.add_function(wrap_pyfunction!(queries::validate_tasks, m)?)?;
    m.add_function(wrap_pyfunction!(queries::strategy, m)?)?;
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(bench::_bench_direct, m)?)?;
    m.add_function(wrap_pyfunction!(bench::_bench_library, m)?)?;
    Ok(())
}
