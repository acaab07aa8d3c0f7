//! Checks of a resolved configuration: a setting that could never work is refused at start,
//! and the error names it ("invalid setting `max_concurrent`: must be at least 1"), so the
//! person who wrote it knows what to change.

use std::time::Duration;

use super::{Config, ConfigError, PermissionMode};

/// The largest `max_pause_secs`: a paused task holds its slot, so even a deliberate pause ends.
const MAX_PAUSE_LIMIT: Duration = Duration::from_secs(7 * 24 * 3600);

impl Config {
    /// Rejects settings that could never work, naming the setting.
    pub(super) fn check(&self) -> Result<(), ConfigError> {
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
        if self.max_pause.is_zero() || self.max_pause > MAX_PAUSE_LIMIT {
            return invalid(
                "max_pause_secs",
                format!(
                    "must be between 1 and {} (a week)",
                    MAX_PAUSE_LIMIT.as_secs()
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
        if self.placement == super::Placement::Pool && self.redis_url.is_none() {
            return invalid(
                "placement",
                "`pool` needs a Redis (--redis-url, REDIS_URL or redis_url): the queue lives there"
                    .into(),
            );
        }
        if let Some(q) = &self.pool_queue
            && (q.len() > 200
                || !q
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
        {
            return invalid(
                "pool_queue",
                "letters, digits, `-`, `_` and `.` only, at most 200".into(),
            );
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::{file, overrides};
    use super::super::{Config, FileConfig};

    #[test]
    fn placement_is_read_from_flag_or_file_and_pool_needs_a_redis() {
        let c = Config::resolve(FileConfig::default(), None, &overrides()).unwrap();
        assert_eq!(c.placement, crate::config::Placement::Local);
        let err = Config::resolve(file("placement = \"pool\""), None, &overrides()).unwrap_err();
        assert!(
            err.to_string().contains("placement") && err.to_string().contains("redis"),
            "{err}"
        );
        let err = Config::resolve(file("placement = \"cluster\""), None, &overrides()).unwrap_err();
        assert!(err.to_string().contains("local, pool"), "{err}");
        let c = Config::resolve(
            file("placement = \"local\"\nredis_url = \"redis://h\"\npool_queue = \"team-a\""),
            None,
            &crate::config::Overrides {
                placement: Some(crate::config::Placement::Pool),
                ..overrides()
            },
        )
        .unwrap();
        assert_eq!(c.placement, crate::config::Placement::Pool, "the flag wins");
        assert_eq!(c.pool_queue.as_deref(), Some("team-a"));
        let err = Config::resolve(
            file("redis_url = \"redis://h\"\npool_queue = \"a b\""),
            None,
            &overrides(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("pool_queue"), "{err}");
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
}
