//! Timing hooks for `python/bench/overhead.py`, so the Python API, the Rust library and the
//! fake `claude` run directly are measured side by side in one process, one build, one run.
//! Private (underscore names); they do nothing a caller would want.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use pyo3::prelude::*;

use cc_executor::TaskRequest;
use cc_executor::exec::progress::NoProgress;

use crate::config::PyConfig;
use crate::errors::BindError;
use crate::runtime::runtime;

/// The argv the executor builds for a task with default settings (as `benches/task_overhead`).
const ARGV: &[&str] = &[
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode=acceptEdits",
];

/// Seconds to run `claude_bin` directly once: spawn, prompt on stdin, stdout to EOF, wait.
#[pyfunction]
pub fn _bench_direct(py: Python<'_>, claude_bin: PathBuf, prompt: String) -> PyResult<f64> {
    py.detach(|| {
        let t = Instant::now();
        let mut child = Command::new(&claude_bin)
            .args(ARGV)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                BindError::Internal(format!("cannot run {}: {e}", claude_bin.display()))
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(prompt.as_bytes())
                .map_err(|e| BindError::Internal(format!("cannot write the prompt: {e}")))?;
        }
        child
            .wait_with_output()
            .map_err(|e| BindError::Internal(format!("cannot wait: {e}")))?;
        Ok(t.elapsed().as_secs_f64())
    })
}

/// Seconds for one task through the Rust library alone (prepare + execute, no Python in
/// between): what a Rust caller pays.
#[pyfunction]
pub fn _bench_library(py: Python<'_>, config: &PyConfig, prompt: String) -> PyResult<f64> {
    let shared = config.shared(py)?;
    let rt = runtime()?;
    py.detach(|| {
        rt.block_on(async move {
            let t = Instant::now();
            let spec = shared.executor.prepare(TaskRequest::new(prompt)).await?;
            let result = shared.executor.execute(spec, NoProgress).await;
            let secs = t.elapsed().as_secs_f64();
            if result.status != cc_executor::Status::Succeeded {
                return Err(BindError::Internal(format!(
                    "benchmark task ended {}",
                    result.status.as_str()
                )));
            }
            Ok(secs)
        })
    })
    .map_err(Into::into)
}
