//! The one tokio runtime of the process, and the executor each [`crate::config::PyConfig`]
//! owns.
//!
//! One runtime for every call — sync, asyncio, task lists, queries — because the executor's
//! queue, registry and tracked tasks live on it: an executor created on one runtime and
//! driven from another would lose its background work when the first one stopped. Two worker
//! threads: the executor waits on processes and pipes, it does not compute.

use std::sync::{Arc, OnceLock};

use cc_executor::runs::RunService;
use cc_executor::{Config, Executor};
use tokio::runtime::Runtime;

use crate::errors::BindError;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The shared runtime, created on first use (importing the module starts no thread).
pub fn runtime() -> Result<&'static Runtime, BindError> {
    let rt = RUNTIME.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cc-executor")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        Ok(rt)
    });
    rt.as_ref().map_err(|e| BindError::Internal(e.clone()))
}

/// What one configuration runs tasks with: the executor (its FIFO queue is the one line every
/// thread and coroutine using this configuration stands in) and the run service on top of it.
pub struct Shared {
    pub executor: Executor,
    pub runs: RunService,
}

/// The executor for `config`, opened as the CLI opens it: the data directory, the configured
/// store (SQLite or Redis), then a recovery pass that records as `interrupted` what a process
/// that died left unfinished. Runs on the shared runtime; the caller has released the GIL.
pub fn open(config: Config) -> Result<Arc<Shared>, BindError> {
    let rt = runtime()?;
    rt.block_on(async move {
        cc_executor::exec::prepare_data_dir(&config.data_dir)
            .map_err(|e| BindError::Store(e.to_string()))?;
        let store = cc_executor::store::open(&config).await?;
        let executor =
            Executor::with_store(config, store).map_err(|e| BindError::Store(e.to_string()))?;
        if let Err(e) = executor.recover_interrupted().await {
            // As in the CLI: the executor still works; the history may show a stale entry.
            tracing::warn!("could not look for interrupted executions: {e}");
        }
        let runs = RunService::new(executor.clone());
        Ok(Arc::new(Shared { executor, runs }))
    })
}
