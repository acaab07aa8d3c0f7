//! `cc_executor.Config`: the settings, read as the CLI reads them, and the executor that
//! runs every task of this configuration.
//!
//! Precedence is the CLI's: keyword arguments (the CLI's flags) > `CC_EXECUTOR_*` environment
//! variables > the config file > built-in defaults. The environment is read through the
//! CLI's own clap definition ([`cc_executor::cli::GlobalArgs`]), so a variable means exactly
//! what it means to `cc-executor`, and a bad value is refused with the same words.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Parser;
use pyo3::prelude::*;

use cc_executor::cli::GlobalArgs;
use cc_executor::config::{ApiKeyMode, PermissionMode};
use cc_executor::{Config, Overrides};

use crate::errors::BindError;
use crate::runtime::{self, Shared};

/// Only the CLI's global settings, from the environment (no arguments are parsed).
#[derive(Debug, Parser)]
#[command(name = "cc-executor")]
struct EnvOnly {
    #[command(flatten)]
    global: GlobalArgs,
}

/// The environment's overrides, as the CLI would see them with no flags.
fn env_overrides() -> Result<Overrides, BindError> {
    EnvOnly::try_parse_from(["cc-executor"])
        .map(|e| e.global.overrides())
        .map_err(|e| {
            // clap renders its error for a terminal; keep its first line, the reason.
            let text = e.to_string();
            let line = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            BindError::Config(format!("invalid environment setting: {line}"))
        })
}

fn parse_mode(field: &str, text: &str) -> Result<PermissionMode, BindError> {
    text.parse()
        .map_err(|e| BindError::Argument(format!("invalid `{field}`: {e}")))
}

/// Settings for tasks, and (created on first use) the executor that runs them: every call
/// with the same `Config` object shares one FIFO queue and one history store.
#[pyclass(module = "cc_executor._native", name = "Config", frozen)]
pub struct PyConfig {
    pub config: Config,
    shared: Mutex<Option<Arc<Shared>>>,
}

impl PyConfig {
    /// The executor of this configuration, opened on first use (with the GIL released: it
    /// opens the store and may kill what a dead process left behind).
    pub fn shared(&self, py: Python<'_>) -> Result<Arc<Shared>, BindError> {
        // Fast path without waiting while holding the GIL: another thread may be opening
        // it (it holds the lock without the GIL), and then this one waits below, detached.
        if let Ok(guard) = self.shared.try_lock()
            && let Some(s) = guard.as_ref()
        {
            return Ok(s.clone());
        }
        let config = self.config.clone();
        py.detach(|| {
            let mut slot = self.lock();
            if let Some(s) = slot.as_ref() {
                return Ok(s.clone());
            }
            let s = runtime::open(config)?;
            *slot = Some(s.clone());
            Ok(s)
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Shared>>> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PyConfig {
    /// Reads the configuration as `cc-executor` does; keyword arguments win over the
    /// environment and the file.
    #[staticmethod]
    #[pyo3(signature = (
        *, config_file=None, claude_bin=None, data_dir=None, default_timeout_secs=None,
        kill_grace_ms=None, max_concurrent=None, default_permission_mode=None,
        allowed_permission_modes=None, allow_bypass_permissions=None, allowed_roots=None,
        allowed_models=None, default_model=None, default_allowed_tools=None, api_key=None,
        max_retries=None, max_record_mib=None, redis_url=None, learned_timeouts=None,
        stall_timeout_secs=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        py: Python<'_>,
        config_file: Option<PathBuf>,
        claude_bin: Option<PathBuf>,
        data_dir: Option<PathBuf>,
        default_timeout_secs: Option<u64>,
        kill_grace_ms: Option<u64>,
        max_concurrent: Option<usize>,
        default_permission_mode: Option<String>,
        allowed_permission_modes: Option<Vec<String>>,
        allow_bypass_permissions: Option<bool>,
        allowed_roots: Option<Vec<PathBuf>>,
        allowed_models: Option<Vec<String>>,
        default_model: Option<String>,
        default_allowed_tools: Option<Vec<String>>,
        api_key: Option<String>,
        max_retries: Option<u32>,
        max_record_mib: Option<usize>,
        redis_url: Option<String>,
        learned_timeouts: Option<bool>,
        stall_timeout_secs: Option<u64>,
    ) -> PyResult<Self> {
        let mut o = env_overrides()?;
        macro_rules! set {
            ($($field:ident),*) => { $( if $field.is_some() { o.$field = $field; } )* };
        }
        set!(
            config_file,
            claude_bin,
            data_dir,
            default_timeout_secs,
            kill_grace_ms,
            max_concurrent,
            allow_bypass_permissions,
            allowed_roots,
            allowed_models,
            default_model,
            default_allowed_tools,
            max_retries,
            max_record_mib,
            redis_url,
            learned_timeouts,
            stall_timeout_secs
        );
        if let Some(m) = default_permission_mode {
            o.default_permission_mode = Some(parse_mode("default_permission_mode", &m)?);
        }
        if let Some(modes) = allowed_permission_modes {
            let parsed: Result<Vec<_>, _> = modes
                .iter()
                .map(|m| parse_mode("allowed_permission_modes", m))
                .collect();
            o.allowed_permission_modes = Some(parsed?);
        }
        if let Some(k) = api_key {
            let mode: ApiKeyMode = k
                .parse()
                .map_err(|e| BindError::Argument(format!("invalid `api_key`: {e}")))?;
            o.api_key = Some(mode);
        }
        // Reading the file is I/O: without the GIL.
        let config = py
            .detach(|| Config::load(&o))
            .map_err(|e| BindError::Config(e.to_string()))?;
        Ok(PyConfig {
            config,
            shared: Mutex::new(None),
        })
    }

    /// The resolved settings as JSON (secrets hidden), as `cc-executor doctor --json` shows
    /// them.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.config)
            .map_err(|e| BindError::Internal(format!("cannot show the config: {e}")).into())
    }

    /// Deprecated settings in use, each with what to write instead.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.config.warnings.clone()
    }

    #[getter]
    fn data_dir(&self) -> PathBuf {
        self.config.data_dir.clone()
    }

    #[getter]
    fn claude_bin(&self) -> PathBuf {
        self.config.claude_bin.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Config(claude_bin={:?}, data_dir={:?})",
            self.config.claude_bin, self.config.data_dir
        )
    }
}
