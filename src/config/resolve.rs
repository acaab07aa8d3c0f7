//! Resolution: one value per setting, from CLI flags > environment variables > the config
//! file > built-in defaults. The CLI gathers flags and environment into [`Overrides`] (clap
//! reads both, so a flag always beats its variable); [`Config::load`] reads the file and
//! [`Config::resolve`] lays the overrides over it, then checks the result.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::file::read_file;
use super::{
    ApiKeyMode, Config, ConfigError, FileConfig, HooksConfig, PermissionMode, Policy, RetryPolicy,
};

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
    pub placement: Option<super::Placement>,
    pub pool_queue: Option<String>,
    pub learned_timeouts: Option<bool>,
    pub stall_timeout_secs: Option<u64>,
    pub max_pause_secs: Option<u64>,
    /// `cc-executor serve`'s own flags.
    pub serve: super::serve::ServeOverrides,
}

/// Default of `max_pause_secs`: an hour.
pub const DEFAULT_MAX_PAUSE_SECS: u64 = 3600;

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
        let placement = match (o.placement, file.placement.as_deref()) {
            (Some(p), _) => p,
            (None, Some(text)) => text.parse().map_err(|message| ConfigError::Invalid {
                setting: "placement",
                message,
            })?,
            (None, None) => super::Placement::Local,
        };
        let serve = super::serve::ServeConfig::resolve(file.serve, &o.serve, &data_dir)?;
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
            max_pause: Duration::from_secs(
                o.max_pause_secs
                    .or(file.max_pause_secs)
                    .unwrap_or(DEFAULT_MAX_PAUSE_SECS),
            ),
            redis_url: o
                .redis_url
                .clone()
                .or(file.redis_url)
                .filter(|u| !u.is_empty()),
            redis_prefix: file.redis_prefix.unwrap_or_else(|| "cc_executor".into()),
            redis_retention_days: file.redis_retention_days.unwrap_or(30),
            placement,
            pool_queue: o
                .pool_queue
                .clone()
                .or(file.pool_queue)
                .filter(|q| !q.is_empty()),
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
            serve,
            warnings,
        };
        config.check()?;
        Ok(config)
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

#[cfg(test)]
mod tests {
    use super::super::test_support::{file, overrides};
    use super::*;

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
    fn the_longest_pause_follows_the_precedence_and_must_be_bounded() {
        let c = Config::resolve(FileConfig::default(), None, &overrides()).unwrap();
        assert_eq!(c.max_pause, Duration::from_secs(DEFAULT_MAX_PAUSE_SECS));
        let f = || file("max_pause_secs = 120");
        let c = Config::resolve(f(), None, &overrides()).unwrap();
        assert_eq!(c.max_pause, Duration::from_secs(120));
        let mut o = overrides();
        o.max_pause_secs = Some(5);
        let c = Config::resolve(f(), None, &o).unwrap();
        assert_eq!(c.max_pause, Duration::from_secs(5), "a flag beats the file");
        for bad in [0, 7 * 24 * 3600 + 1] {
            o.max_pause_secs = Some(bad);
            let e = Config::resolve(f(), None, &o).unwrap_err().to_string();
            assert!(e.contains("max_pause_secs"), "{e}");
        }
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
}
