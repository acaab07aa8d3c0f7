//! The config file's format: TOML, as written by a person. Every setting is optional (a
//! missing one falls back as [`Config::resolve`](super::Config::resolve) says), and an unknown
//! key is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, PermissionMode};

/// The config file, as written by a person. Every field is optional; unknown keys are errors
/// so that a typo never silently loosens or tightens the policy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub claude_bin: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub default_timeout_secs: Option<u64>,
    pub max_timeout_secs: Option<u64>,
    pub kill_grace_ms: Option<u64>,
    pub max_concurrent: Option<usize>,
    pub heartbeat_secs: Option<u64>,
    pub max_prompt_tokens: Option<usize>,
    pub max_record_mib: Option<usize>,
    /// `auto`, `pass` or `remove`; read as text so that a bad value is reported with the
    /// setting's name and the accepted values.
    pub api_key: Option<String>,
    /// Deprecated spelling of `api_key`: `true` = `pass`, `false` = `remove`.
    pub pass_api_key: Option<bool>,
    pub redis_url: Option<String>,
    pub redis_prefix: Option<String>,
    pub redis_retention_days: Option<u64>,
    /// `local` or `pool`; read as text so that a bad value is reported with the setting's name.
    pub placement: Option<String>,
    pub pool_queue: Option<String>,
    pub learned_timeouts: Option<bool>,
    pub stall_timeout_secs: Option<u64>,
    pub max_pause_secs: Option<u64>,
    #[serde(default)]
    pub retry: FileRetry,
    #[serde(default)]
    pub policy: FilePolicy,
    /// Extra environment for `claude` processes.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub hooks: FileHooks,
    /// `[serve]`: the network service (`cc-executor serve`).
    #[serde(default)]
    pub serve: super::serve::FileServe,
}

/// `[hooks]`. Commands are argv arrays (`["/usr/local/bin/check", "--strict"]`): no shell runs
/// them unless you write one (`["sh", "-c", "…"]`), so nothing in a task can inject a command.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHooks {
    pub uuid_hook: Option<bool>,
    pub timeout_secs: Option<u64>,
    pub pre_execute: Option<Vec<Vec<String>>>,
    pub post_execute: Option<Vec<Vec<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRetry {
    pub max_retries: Option<u32>,
    pub base_delay_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
    pub max_reset_wait_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePolicy {
    pub default_permission_mode: Option<PermissionMode>,
    pub allowed_permission_modes: Option<Vec<PermissionMode>>,
    pub allow_bypass_permissions: Option<bool>,
    pub allowed_roots: Option<Vec<PathBuf>>,
    pub default_cwd: Option<PathBuf>,
    pub allowed_models: Option<Vec<String>>,
    pub default_model: Option<String>,
    pub default_allowed_tools: Option<Vec<String>>,
    pub max_budget_usd: Option<f64>,
    pub max_turns: Option<u32>,
}

/// Reads and parses the config file at `path`; errors name the file.
pub(super) fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}
