//! Configuration and the policy that bounds every task.
//!
//! Precedence, highest first: CLI flags > environment variables > the TOML config file >
//! built-in defaults. The CLI layer gathers flags and environment into [`Overrides`] (clap reads
//! both, so a flag always beats its variable); [`Config::load`] lays them over the file and the
//! defaults. Library users can also build a [`Config`] by hand.
//!
//! The [`Policy`] is what the person who configured the server allows. A tool call can narrow
//! it (a stricter permission mode, a smaller budget) but never widen it: every request is
//! checked in [`crate::exec::spec`] and a violation names the policy setting that forbids it.
//!
//! Layout: the enumerated settings (permission modes, `api_key`) are plain data in
//! `crate::types::modes`; `file.rs` (the
//! TOML file's format), `resolve.rs` (precedence and defaults, [`Config::load`]), `check.rs`
//! (validation that names the bad setting), `serialize.rs` (how a `Config` is shown, secrets
//! hidden), [`profiles`] (named permission profiles for `init`), [`serve`] (the network
//! service's settings and their checks).

mod check;
mod file;

pub mod profiles;
mod resolve;
mod serialize;
pub mod serve;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;

pub use crate::types::modes::{ApiKeyMode, PermissionMode, Placement};
pub use file::{FileConfig, FileHooks, FilePolicy, FileRetry};
pub use resolve::{Overrides, default_config_file, default_data_dir};
pub use serialize::redact_url;
use serialize::{keys_only, millis, redacted_url, secs};
pub use serve::{FileServe, ServeConfig, ServeOverrides, Surface};

/// Everything that can go wrong while loading configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("invalid setting `{setting}`: {message}")]
    Invalid {
        setting: &'static str,
        message: String,
    },
    #[error("cannot determine a home directory for the default data/config paths; set --data-dir")]
    NoHome,
}

/// What the configuring person allows. Every task is checked against it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Policy {
    /// Mode used when a task names none.
    pub default_permission_mode: PermissionMode,
    /// Modes a task may ask for.
    pub allowed_permission_modes: Vec<PermissionMode>,
    /// Whether `bypassPermissions` may be used at all (it is also refused unless listed above).
    pub allow_bypass_permissions: bool,
    /// A task's working directory must be inside one of these (after resolving symlinks).
    pub allowed_roots: Vec<PathBuf>,
    /// Working directory of a task that names none.
    pub default_cwd: PathBuf,
    /// Models a task may ask for; empty means any.
    pub allowed_models: Vec<String>,
    /// Model used when a task names none (`None`: Claude Code's own default).
    pub default_model: Option<String>,
    /// Tool rules every task gets in its `allowed_tools` (added to the task's own), e.g.
    /// `Bash(pytest:*)` so tasks may run the tests; see the `init` permission profiles.
    pub default_allowed_tools: Vec<String>,
    /// Upper bound (and default) for a task's `max_budget_usd`.
    pub max_budget_usd: Option<f64>,
    /// Upper bound (and default) for a task's `max_turns`.
    pub max_turns: Option<u32>,
}

/// Bounded retries of rate-limited / overloaded attempts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Delay before the first retry; doubles each time, plus up to 50 % jitter.
    pub base_delay_ms: u64,
    /// Cap on one delay.
    pub max_delay_ms: u64,
    /// Do not retry when the reported reset time is further away than this: a usage limit
    /// that resets in hours is the caller's decision, not a blind retry.
    pub max_reset_wait_ms: u64,
}

/// The resolved configuration of one executor.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Config {
    /// The `claude` binary: a path, or a name looked up on `PATH`.
    pub claude_bin: PathBuf,
    /// Where raw outputs (and later artifacts and the store) live.
    pub data_dir: PathBuf,
    /// Timeout of a task that names none.
    #[serde(with = "secs")]
    #[schemars(with = "u64")]
    pub default_timeout: Duration,
    /// Largest timeout a task may ask for.
    #[serde(with = "secs")]
    #[schemars(with = "u64")]
    pub max_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when a task is stopped.
    #[serde(with = "millis")]
    #[schemars(with = "u64")]
    pub kill_grace: Duration,
    /// Tasks running at once; the rest wait in FIFO order.
    pub max_concurrent: usize,
    /// Progress heartbeat while Claude is silent.
    #[serde(with = "secs")]
    #[schemars(with = "u64")]
    pub heartbeat_interval: Duration,
    /// Prompts estimated above this many tokens are refused before anything runs.
    pub max_prompt_tokens: usize,
    /// Largest single stream-json record kept; a larger one is reported and dropped.
    pub max_record_bytes: usize,
    /// Bytes of raw stdout/stderr kept in memory for the result (the rest is in the raw file).
    pub tail_bytes: usize,
    /// Whether `claude` gets `ANTHROPIC_API_KEY` (who pays: the API account or Claude Code's
    /// own login). A key set in `child_env` (`[env]`) is always passed: that is explicit.
    pub api_key: ApiKeyMode,
    pub retry: RetryPolicy,
    pub policy: Policy,
    /// A task without `timeout_secs` runs with `default_timeout`, or — when true and the
    /// history shows its class runs longer — with the longer timeout learned from it; never
    /// with less than `default_timeout` (see `crate::exec::timeout`).
    pub learned_timeouts: bool,
    /// The stall watchdog: a task whose output stops *and* whose process tree uses no CPU for
    /// this long is stopped as `stalled` (zero turns it off). Separate from the timeout: a
    /// silent build is busy, a hung API stream is not.
    #[serde(with = "secs")]
    #[schemars(with = "u64")]
    pub stall_timeout: Duration,
    /// Longest pause (`pause_execution`): a task paused longer is cancelled, with the reason in
    /// its warnings. A paused task keeps its slot in the queue, so a forgotten pause must end.
    #[serde(with = "secs")]
    #[schemars(with = "u64")]
    pub max_pause: Duration,
    /// Extra environment for every `claude` process (e.g. `CLAUDE_CODE_MAX_RETRIES`,
    /// `API_TIMEOUT_MS`, `DISABLE_AUTOUPDATER`). Values are not logged.
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    #[serde(serialize_with = "keys_only")]
    pub child_env: BTreeMap<String, String>,
    /// Redis history store (`redis://…`); `None`: the embedded SQLite store.
    #[serde(serialize_with = "redacted_url")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key.
    pub redis_prefix: String,
    /// Days a record stays in Redis after its last write.
    pub redis_retention_days: u64,
    /// Where tasks run: `local` (this process spawns `claude`) or `pool` (enqueued in Redis
    /// for `cc-executor worker`s; needs `redis_url`).
    pub placement: Placement,
    /// With `placement = pool`: the named queue every task of this process joins (shared with
    /// every orchestrator that names it). `None`: a queue of this process's own, and one per
    /// task-list run.
    pub pool_queue: Option<String>,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// The built-in UUID hook and the user's pre/post-execution commands.
    pub hooks: HooksConfig,
    /// `cc-executor serve`: the network service's address, surfaces and limits.
    pub serve: ServeConfig,
    /// Settings that were accepted but should be changed (deprecated spellings); the CLI
    /// prints them and `doctor` lists them, so an old config keeps working without hiding that
    /// it is old.
    pub warnings: Vec<String>,
}

/// Hooks around every execution (see `crate::exec::hooks` and `crate::evidence::uuid_hook`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HooksConfig {
    /// Append the UUID instruction to every prompt and check the echo (default true).
    pub uuid_hook: bool,
    /// Time limit of one hook command; it is killed (its whole process group) after it.
    #[serde(with = "secs")]
    #[schemars(with = "u64")]
    pub timeout: Duration,
    /// Commands run before a task: argv vectors, run without a shell. Exit 2 vetoes the task.
    pub pre_execute: Vec<Vec<String>>,
    /// Commands run after a task's result is recorded.
    pub post_execute: Vec<Vec<String>>,
}

impl Default for HooksConfig {
    fn default() -> Self {
        HooksConfig {
            uuid_hook: true,
            timeout: Duration::from_secs(30),
            pre_execute: Vec::new(),
            post_execute: Vec::new(),
        }
    }
}

/// The tests' config file and overrides (a data dir is given: resolution must not depend on
/// the machine's home directory).
#[cfg(test)]
mod test_support {
    use super::{FileConfig, Overrides};

    pub(super) fn file(text: &str) -> FileConfig {
        toml::from_str(text).unwrap()
    }

    pub(super) fn overrides() -> Overrides {
        Overrides {
            data_dir: Some("/tmp/x".into()),
            ..Default::default()
        }
    }
}
