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

pub mod profiles;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// The permission modes Claude Code understands (`--permission-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PermissionMode {
    #[serde(rename = "default")]
    Default,
    #[serde(rename = "acceptEdits")]
    AcceptEdits,
    #[serde(rename = "auto")]
    Auto,
    #[serde(rename = "bypassPermissions")]
    BypassPermissions,
    #[serde(rename = "manual")]
    Manual,
    #[serde(rename = "dontAsk")]
    DontAsk,
    #[serde(rename = "plan")]
    Plan,
}

impl PermissionMode {
    pub const ALL: [PermissionMode; 7] = [
        PermissionMode::Default,
        PermissionMode::AcceptEdits,
        PermissionMode::Auto,
        PermissionMode::BypassPermissions,
        PermissionMode::Manual,
        PermissionMode::DontAsk,
        PermissionMode::Plan,
    ];

    /// The spelling the CLI expects.
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionMode::Default => "default",
            PermissionMode::AcceptEdits => "acceptEdits",
            PermissionMode::Auto => "auto",
            PermissionMode::BypassPermissions => "bypassPermissions",
            PermissionMode::Manual => "manual",
            PermissionMode::DontAsk => "dontAsk",
            PermissionMode::Plan => "plan",
        }
    }
}

impl fmt::Display for PermissionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PermissionMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PermissionMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<_> = PermissionMode::ALL.iter().map(|m| m.as_str()).collect();
                format!(
                    "unknown permission mode `{s}` (expected one of: {})",
                    all.join(", ")
                )
            })
    }
}

/// Whether `claude` gets the `ANTHROPIC_API_KEY` of cc-executor's environment (`api_key`).
///
/// The key decides who pays: with it Claude Code bills the API account, without it Claude Code
/// uses its own login (usually a subscription). A key exported for other tools must not
/// silently turn subscription work into API spending, and a machine that only has a key must
/// still work — hence `auto`, the default. See [`crate::exec::probe::credential`] for the
/// decision and how the login is detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyMode {
    /// Remove the key when Claude Code has a login of its own, pass it when it has none.
    Auto,
    /// Always pass the key (Claude Code then authenticates with it: API billing).
    Pass,
    /// Always remove the key (Claude Code must have its own login).
    Remove,
}

impl ApiKeyMode {
    pub const ALL: [ApiKeyMode; 3] = [ApiKeyMode::Auto, ApiKeyMode::Pass, ApiKeyMode::Remove];

    /// The spelling of the config file, the flag and the environment variable.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyMode::Auto => "auto",
            ApiKeyMode::Pass => "pass",
            ApiKeyMode::Remove => "remove",
        }
    }

    /// The deprecated `pass_api_key = true/false` in the new terms.
    pub fn from_pass_api_key(pass: bool) -> ApiKeyMode {
        if pass {
            ApiKeyMode::Pass
        } else {
            ApiKeyMode::Remove
        }
    }
}

impl fmt::Display for ApiKeyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiKeyMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiKeyMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim())
            .ok_or_else(|| format!("unknown value `{s}` (expected one of: auto, pass, remove)"))
    }
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
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// The built-in UUID hook and the user's pre/post-execution commands.
    pub hooks: HooksConfig,
    /// Settings that were accepted but should be changed (deprecated spellings); the CLI
    /// prints them and `doctor` lists them, so an old config keeps working without hiding that
    /// it is old.
    pub warnings: Vec<String>,
}

/// Hooks around every execution (see `crate::evidence::hooks` and `crate::evidence::uuid_hook`).
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

/// A Redis URL with its password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn redacted_url<S: serde::Serializer>(url: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(u) => s.serialize_some(&redact_url(u)),
        None => s.serialize_none(),
    }
}

/// Reports which variables are set, never their values (they may be secrets).
fn keys_only<S: serde::Serializer>(
    env: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(env.len()))?;
    for k in env.keys() {
        seq.serialize_element(k)?;
    }
    seq.end()
}

mod secs {
    use serde::Serializer;
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}
mod millis {
    use serde::Serializer;
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

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
    pub learned_timeouts: Option<bool>,
    pub stall_timeout_secs: Option<u64>,
    #[serde(default)]
    pub retry: FileRetry,
    #[serde(default)]
    pub policy: FilePolicy,
    /// Extra environment for `claude` processes.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub hooks: FileHooks,
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

/// Values from CLI flags and environment variables (clap fills both). `None` = not given.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub claude_bin: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub default_timeout_secs: Option<u64>,
    pub kill_grace_ms: Option<u64>,
    pub max_concurrent: Option<usize>,
    pub default_permission_mode: Option<PermissionMode>,
    pub allowed_permission_modes: Option<Vec<PermissionMode>>,
    pub allow_bypass_permissions: Option<bool>,
    pub allowed_roots: Option<Vec<PathBuf>>,
    pub allowed_models: Option<Vec<String>>,
    pub default_model: Option<String>,
    pub default_allowed_tools: Option<Vec<String>>,
    pub api_key: Option<ApiKeyMode>,
    /// Deprecated spelling of `api_key` (`--pass-api-key`, `CC_EXECUTOR_PASS_API_KEY`); `api_key`
    /// wins when both are given.
    pub pass_api_key: Option<bool>,
    pub max_retries: Option<u32>,
    pub max_record_mib: Option<usize>,
    pub redis_url: Option<String>,
    pub learned_timeouts: Option<bool>,
    pub stall_timeout_secs: Option<u64>,
}

/// Default config file: `$XDG_CONFIG_HOME/cc-executor/config.toml`.
pub fn default_config_file() -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config").map(|d| d.join("cc-executor").join("config.toml"))
}

/// Default data dir: `$XDG_DATA_HOME/cc-executor`.
pub fn default_data_dir() -> Option<PathBuf> {
    xdg_dir("XDG_DATA_HOME", ".local/share").map(|d| d.join("cc-executor"))
}

fn xdg_dir(var: &str, fallback_under_home: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(v) if Path::new(&v).is_absolute() => Some(PathBuf::from(v)),
        _ => directories::BaseDirs::new().map(|b| b.home_dir().join(fallback_under_home)),
    }
}

impl Config {
    /// Reads the config file (the one named in `overrides`, else the XDG default if it exists)
    /// and lays `overrides` over it.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let (file, path) = match &overrides.config_file {
            Some(p) => (read_file(p)?, Some(p.clone())),
            None => match default_config_file() {
                Some(p) if p.exists() => (read_file(&p)?, Some(p)),
                _ => (FileConfig::default(), None),
            },
        };
        Config::resolve(file, path, overrides)
    }

    /// Precedence rule in one place: override, else file, else default.
    pub fn resolve(
        file: FileConfig,
        path: Option<PathBuf>,
        o: &Overrides,
    ) -> Result<Config, ConfigError> {
        let data_dir = match o.data_dir.clone().or(file.data_dir) {
            Some(d) => d,
            None => default_data_dir().ok_or(ConfigError::NoHome)?,
        };
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let fp = file.policy;
        let default_cwd = fp.default_cwd.unwrap_or_else(|| cwd.clone());
        let allowed_roots = o
            .allowed_roots
            .clone()
            .or(fp.allowed_roots)
            .unwrap_or_else(|| vec![default_cwd.clone()]);
        let allowed_permission_modes = o
            .allowed_permission_modes
            .clone()
            .or(fp.allowed_permission_modes)
            .unwrap_or_else(|| {
                PermissionMode::ALL
                    .into_iter()
                    .filter(|m| *m != PermissionMode::BypassPermissions)
                    .collect()
            });
        let policy = Policy {
            default_permission_mode: o
                .default_permission_mode
                .or(fp.default_permission_mode)
                .unwrap_or(PermissionMode::AcceptEdits),
            allowed_permission_modes,
            allow_bypass_permissions: o
                .allow_bypass_permissions
                .or(fp.allow_bypass_permissions)
                .unwrap_or(false),
            allowed_roots,
            default_cwd,
            allowed_models: o
                .allowed_models
                .clone()
                .or(fp.allowed_models)
                .unwrap_or_default(),
            default_model: o.default_model.clone().or(fp.default_model),
            default_allowed_tools: o
                .default_allowed_tools
                .clone()
                .or(fp.default_allowed_tools)
                .unwrap_or_default(),
            max_budget_usd: fp.max_budget_usd,
            max_turns: fp.max_turns,
        };
        let mut warnings = Vec::new();
        let api_key =
            resolve_api_key(o, file.api_key.as_deref(), file.pass_api_key, &mut warnings)?;
        let fr = file.retry;
        let config = Config {
            claude_bin: o
                .claude_bin
                .clone()
                .or(file.claude_bin)
                .unwrap_or_else(|| PathBuf::from("claude")),
            data_dir,
            default_timeout: Duration::from_secs(
                o.default_timeout_secs
                    .or(file.default_timeout_secs)
                    .unwrap_or(600),
            ),
            max_timeout: Duration::from_secs(file.max_timeout_secs.unwrap_or(24 * 3600)),
            kill_grace: Duration::from_millis(
                o.kill_grace_ms.or(file.kill_grace_ms).unwrap_or(5000),
            ),
            max_concurrent: o.max_concurrent.or(file.max_concurrent).unwrap_or(1),
            heartbeat_interval: Duration::from_secs(file.heartbeat_secs.unwrap_or(15)),
            max_prompt_tokens: file.max_prompt_tokens.unwrap_or(180_000),
            max_record_bytes: o
                .max_record_mib
                .or(file.max_record_mib)
                .unwrap_or(64)
                .saturating_mul(1024 * 1024),
            tail_bytes: 64 * 1024,
            api_key,
            retry: RetryPolicy {
                max_retries: o.max_retries.or(fr.max_retries).unwrap_or(2),
                base_delay_ms: fr.base_delay_ms.unwrap_or(2000),
                max_delay_ms: fr.max_delay_ms.unwrap_or(60_000),
                max_reset_wait_ms: fr.max_reset_wait_secs.unwrap_or(120) * 1000,
            },
            policy,
            child_env: file.env,
            learned_timeouts: o.learned_timeouts.or(file.learned_timeouts).unwrap_or(true),
            stall_timeout: Duration::from_secs(
                o.stall_timeout_secs
                    .or(file.stall_timeout_secs)
                    .unwrap_or(600),
            ),
            redis_url: o
                .redis_url
                .clone()
                .or(file.redis_url)
                .filter(|u| !u.is_empty()),
            redis_prefix: file.redis_prefix.unwrap_or_else(|| "cc_executor".into()),
            redis_retention_days: file.redis_retention_days.unwrap_or(30),
            config_file: path,
            hooks: {
                let d = HooksConfig::default();
                let h = file.hooks;
                HooksConfig {
                    uuid_hook: h.uuid_hook.unwrap_or(d.uuid_hook),
                    timeout: h.timeout_secs.map_or(d.timeout, Duration::from_secs),
                    pre_execute: h.pre_execute.unwrap_or_default(),
                    post_execute: h.post_execute.unwrap_or_default(),
                }
            },
            warnings,
        };
        config.check()?;
        Ok(config)
    }

    /// Rejects settings that could never work, naming the setting.
    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |setting, message: String| Err(ConfigError::Invalid { setting, message });
        if self.max_concurrent == 0 {
            return invalid("max_concurrent", "must be at least 1".into());
        }
        if self.default_timeout.is_zero() || self.default_timeout > self.max_timeout {
            return invalid(
                "default_timeout_secs",
                format!(
                    "must be between 1 and max_timeout_secs ({})",
                    self.max_timeout.as_secs()
                ),
            );
        }
        if self.heartbeat_interval.is_zero() {
            return invalid("heartbeat_secs", "must be at least 1".into());
        }
        if self.max_record_bytes < 1024 * 1024 {
            return invalid("max_record_mib", "must be at least 1".into());
        }
        let p = &self.policy;
        for rule in &p.default_allowed_tools {
            if rule.is_empty() || rule.starts_with('-') || rule.chars().any(char::is_control) {
                return invalid(
                    "policy.default_allowed_tools",
                    format!("`{rule}` is not a tool rule (e.g. `Read` or `Bash(pytest:*)`)"),
                );
            }
        }
        if p.allowed_permission_modes.is_empty() {
            return invalid(
                "policy.allowed_permission_modes",
                "must list at least one mode".into(),
            );
        }
        if !p
            .allowed_permission_modes
            .contains(&p.default_permission_mode)
        {
            return invalid(
                "policy.default_permission_mode",
                format!(
                    "`{}` is not in policy.allowed_permission_modes",
                    p.default_permission_mode
                ),
            );
        }
        if p.default_permission_mode == PermissionMode::BypassPermissions
            && !p.allow_bypass_permissions
        {
            return invalid(
                "policy.default_permission_mode",
                "bypassPermissions needs policy.allow_bypass_permissions = true".into(),
            );
        }
        if let Some(k) = self
            .child_env
            .keys()
            .find(|k| k.is_empty() || k.contains('=') || k.contains('\0'))
        {
            return invalid("env", format!("`{k}` is not a valid variable name"));
        }
        if self.redis_prefix.is_empty() || self.redis_prefix.contains(char::is_whitespace) {
            return invalid("redis_prefix", "must be non-empty, without spaces".into());
        }
        if self.redis_retention_days == 0 {
            return invalid("redis_retention_days", "must be at least 1".into());
        }
        if self.hooks.timeout.is_zero() || self.hooks.timeout > Duration::from_secs(3600) {
            return invalid("hooks.timeout_secs", "must be between 1 and 3600".into());
        }
        for (setting, list) in [
            ("hooks.pre_execute", &self.hooks.pre_execute),
            ("hooks.post_execute", &self.hooks.post_execute),
        ] {
            if let Some(i) = list
                .iter()
                .position(|argv| argv.first().is_none_or(|c| c.trim().is_empty()))
            {
                return invalid(
                    setting,
                    format!(
                        "command {} is empty: each hook is an argv array such as [\"/usr/local/bin/check\", \"--strict\"]",
                        i + 1
                    ),
                );
            }
            if let Some(arg) = list.iter().flatten().find(|a| a.contains('\0')) {
                return invalid(setting, format!("`{arg}` contains a NUL byte"));
            }
        }
        if p.allowed_roots.is_empty() {
            return invalid(
                "policy.allowed_roots",
                "must list at least one directory".into(),
            );
        }
        if let Some(b) = p.max_budget_usd
            && !(b.is_finite() && b > 0.0)
        {
            return invalid("policy.max_budget_usd", "must be a positive number".into());
        }
        if let Some(m) = &p.default_model
            && !p.allowed_models.is_empty()
            && !p.allowed_models.contains(m)
        {
            return invalid(
                "policy.default_model",
                format!("`{m}` is not in policy.allowed_models"),
            );
        }
        Ok(())
    }
}

/// `api_key` from, in order: the flag or its variable, the deprecated flag or variable, the
/// file, the file's deprecated `pass_api_key`, the default (`auto`). At one level the new
/// spelling wins; in the file, giving both is an error (which one was meant is unclear).
fn resolve_api_key(
    o: &Overrides,
    file_value: Option<&str>,
    file_pass: Option<bool>,
    warnings: &mut Vec<String>,
) -> Result<ApiKeyMode, ConfigError> {
    let deprecated = |pass: bool, whence: &str| {
        let mode = ApiKeyMode::from_pass_api_key(pass);
        format!(
            "{whence} is deprecated: write api_key = \"{mode}\" (--api-key {mode}, CC_EXECUTOR_API_KEY={mode}) instead"
        )
    };
    if let Some(mode) = o.api_key {
        return Ok(mode);
    }
    if let Some(pass) = o.pass_api_key {
        warnings.push(deprecated(
            pass,
            "--pass-api-key / CC_EXECUTOR_PASS_API_KEY",
        ));
        return Ok(ApiKeyMode::from_pass_api_key(pass));
    }
    match (file_value, file_pass) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid {
            setting: "pass_api_key",
            message: "is the deprecated spelling of `api_key`; set only `api_key`".into(),
        }),
        (Some(v), None) => v.parse().map_err(|message| ConfigError::Invalid {
            setting: "api_key",
            message,
        }),
        (None, Some(pass)) => {
            warnings.push(deprecated(pass, "pass_api_key in the config file"));
            Ok(ApiKeyMode::from_pass_api_key(pass))
        }
        (None, None) => Ok(ApiKeyMode::Auto),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> FileConfig {
        toml::from_str(text).unwrap()
    }

    fn overrides() -> Overrides {
        Overrides {
            data_dir: Some("/tmp/x".into()),
            ..Default::default()
        }
    }

    #[test]
    fn flags_beat_file_and_file_beats_defaults() {
        let f = file("claude_bin = \"/from/file\"\ndefault_timeout_secs = 30\nkill_grace_ms = 100");
        let mut o = overrides();
        o.claude_bin = Some("/from/flag".into());
        let c = Config::resolve(f, None, &o).unwrap();
        assert_eq!(c.claude_bin, PathBuf::from("/from/flag"));
        assert_eq!(c.default_timeout, Duration::from_secs(30));
        assert_eq!(c.kill_grace, Duration::from_millis(100));
        assert_eq!(c.max_concurrent, 1, "default");
    }

    #[test]
    fn learned_timeouts_and_the_stall_watchdog_follow_the_precedence() {
        let c = Config::resolve(FileConfig::default(), None, &overrides()).unwrap();
        assert!(c.learned_timeouts);
        assert_eq!(c.stall_timeout, Duration::from_secs(600));
        let f = || file("learned_timeouts = false\nstall_timeout_secs = 30");
        let c = Config::resolve(f(), None, &overrides()).unwrap();
        assert!(!c.learned_timeouts);
        assert_eq!(c.stall_timeout, Duration::from_secs(30));
        let mut o = overrides();
        o.learned_timeouts = Some(true);
        o.stall_timeout_secs = Some(0);
        let c = Config::resolve(f(), None, &o).unwrap();
        assert!(c.learned_timeouts, "a flag beats the file");
        assert!(c.stall_timeout.is_zero(), "0 turns the watchdog off");
    }

    #[test]
    fn defaults_never_allow_bypass_permissions() {
        let c = Config::resolve(FileConfig::default(), None, &overrides()).unwrap();
        assert!(!c.policy.allow_bypass_permissions);
        assert!(
            !c.policy
                .allowed_permission_modes
                .contains(&PermissionMode::BypassPermissions)
        );
        assert_eq!(
            c.policy.default_permission_mode,
            PermissionMode::AcceptEdits
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        assert!(toml::from_str::<FileConfig>("claude_binn = \"x\"").is_err());
        let err = Config::resolve(file("max_concurrent = 0"), None, &overrides()).unwrap_err();
        assert!(err.to_string().contains("max_concurrent"), "{err}");
        let err = Config::resolve(
            file("[policy]\ndefault_permission_mode = \"bypassPermissions\"\nallowed_permission_modes = [\"bypassPermissions\"]"),
            None,
            &overrides(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("allow_bypass_permissions"),
            "{err}"
        );
    }

    #[test]
    fn hooks_are_read_from_their_section_and_checked() {
        let c = Config::resolve(FileConfig::default(), None, &overrides()).unwrap();
        assert!(c.hooks.uuid_hook && c.hooks.pre_execute.is_empty());
        let c = Config::resolve(
            file("[hooks]\nuuid_hook = false\ntimeout_secs = 5\npre_execute = [[\"/bin/check\", \"-x\"]]"),
            None,
            &overrides(),
        )
        .unwrap();
        assert!(!c.hooks.uuid_hook);
        assert_eq!(c.hooks.timeout, Duration::from_secs(5));
        assert_eq!(
            c.hooks.pre_execute,
            vec![vec!["/bin/check".to_string(), "-x".into()]]
        );
        let err =
            Config::resolve(file("[hooks]\npost_execute = [[]]"), None, &overrides()).unwrap_err();
        assert!(err.to_string().contains("hooks.post_execute"), "{err}");
        let err =
            Config::resolve(file("[hooks]\ntimeout_secs = 0"), None, &overrides()).unwrap_err();
        assert!(err.to_string().contains("hooks.timeout_secs"), "{err}");
        assert!(toml::from_str::<FileConfig>("[hooks]\npre = []").is_err());
    }

    #[test]
    fn api_key_flag_beats_file_and_file_beats_the_default_auto() {
        let c = Config::resolve(FileConfig::default(), None, &overrides()).unwrap();
        assert_eq!(c.api_key, ApiKeyMode::Auto);
        assert!(c.warnings.is_empty());
        let c = Config::resolve(file("api_key = \"remove\""), None, &overrides()).unwrap();
        assert_eq!(c.api_key, ApiKeyMode::Remove);
        let mut o = overrides();
        o.api_key = Some(ApiKeyMode::Pass);
        let c = Config::resolve(file("api_key = \"remove\""), None, &o).unwrap();
        assert_eq!(c.api_key, ApiKeyMode::Pass);
    }

    #[test]
    fn a_bad_api_key_value_names_the_setting_and_the_accepted_values() {
        let err = Config::resolve(file("api_key = \"maybe\""), None, &overrides()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`api_key`") && msg.contains("maybe"), "{msg}");
        assert!(msg.contains("auto, pass, remove"), "{msg}");
        let e = "maybe".parse::<ApiKeyMode>().unwrap_err();
        assert!(e.contains("auto, pass, remove"), "{e}");
    }

    #[test]
    fn deprecated_pass_api_key_still_works_and_says_it_is_deprecated() {
        for (text, mode) in [
            ("pass_api_key = true", ApiKeyMode::Pass),
            ("pass_api_key = false", ApiKeyMode::Remove),
        ] {
            let c = Config::resolve(file(text), None, &overrides()).unwrap();
            assert_eq!(c.api_key, mode, "{text}");
            assert_eq!(c.warnings.len(), 1, "{text}");
            assert!(
                c.warnings[0].contains(&format!("api_key = \"{mode}\"")),
                "{:?}",
                c.warnings
            );
        }
        // Both spellings in one file: which one was meant is unclear.
        let err = Config::resolve(
            file("api_key = \"auto\"\npass_api_key = true"),
            None,
            &overrides(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("`pass_api_key`"), "{err}");
        // The deprecated flag beats the file; the new flag beats the deprecated one.
        let mut o = overrides();
        o.pass_api_key = Some(false);
        let c = Config::resolve(file("api_key = \"pass\""), None, &o).unwrap();
        assert_eq!(c.api_key, ApiKeyMode::Remove);
        assert_eq!(c.warnings.len(), 1);
        o.api_key = Some(ApiKeyMode::Auto);
        let c = Config::resolve(file("api_key = \"pass\""), None, &o).unwrap();
        assert_eq!(c.api_key, ApiKeyMode::Auto);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn redis_passwords_are_redacted() {
        assert_eq!(
            redact_url("redis://u:secret@h:6379/0"),
            "redis://u:***@h:6379/0"
        );
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
    }

    #[test]
    fn permission_modes_parse_with_a_helpful_error() {
        assert_eq!(
            "dontAsk".parse::<PermissionMode>(),
            Ok(PermissionMode::DontAsk)
        );
        let e = "yolo".parse::<PermissionMode>().unwrap_err();
        assert!(e.contains("acceptEdits"), "{e}");
    }
}
