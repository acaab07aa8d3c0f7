//! What a caller asks for ([`TaskRequest`], the wire shape shared by the MCP tool and the CLI)
//! and what the executor runs ([`TaskSpec`], checked against the policy). All validation lives
//! here so every adapter rejects the same inputs with the same words.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Config, PermissionMode};
pub use crate::types::task::{TaskRequest, TaskSpec, estimate_tokens};

/// Why a request was refused. Messages name the field and, for policy refusals, the setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    #[error("invalid `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("`{field}` is not allowed by the server policy ({setting}): {message}")]
    Policy {
        field: &'static str,
        setting: &'static str,
        message: String,
    },
    #[error(
        "the task is too long: about {estimated} tokens (estimated at 4 characters per token), over the limit of {limit}; split it into smaller tasks"
    )]
    TooLong { estimated: usize, limit: usize },
}

fn invalid(field: &'static str, message: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        field,
        message: message.into(),
    }
}

impl TaskRequest {
    /// Checks the request against the configuration and policy.
    pub fn validate(self, config: &Config) -> Result<TaskSpec, SpecError> {
        let policy = &config.policy;
        if self.task.trim().is_empty() {
            return Err(invalid("task", "must not be empty"));
        }
        if self.task.contains('\0') {
            return Err(invalid("task", "must not contain NUL bytes"));
        }
        let estimated = estimate_tokens(&self.task);
        if estimated > config.max_prompt_tokens {
            return Err(SpecError::TooLong {
                estimated,
                limit: config.max_prompt_tokens,
            });
        }

        let max = config.max_timeout.as_secs();
        let timeout = match self.timeout_secs {
            None => config.default_timeout,
            Some(t) if t >= 1 && t as u64 <= max => Duration::from_secs(t as u64),
            Some(t) => {
                return Err(invalid(
                    "timeout_secs",
                    format!("must be between 1 and {max} seconds (got {t})"),
                ));
            }
        };

        let cwd = self.resolve_cwd(config)?;

        let permission_mode = match &self.permission_mode {
            None => policy.default_permission_mode,
            Some(text) => text
                .parse::<PermissionMode>()
                .map_err(|m| invalid("permission_mode", m))?,
        };
        if permission_mode == PermissionMode::BypassPermissions && !policy.allow_bypass_permissions
        {
            return Err(SpecError::Policy {
                field: "permission_mode",
                setting: "policy.allow_bypass_permissions",
                message: "bypassPermissions is disabled on this server".into(),
            });
        }
        if !policy.allowed_permission_modes.contains(&permission_mode) {
            let allowed: Vec<_> = policy
                .allowed_permission_modes
                .iter()
                .map(|m| m.as_str())
                .collect();
            return Err(SpecError::Policy {
                field: "permission_mode",
                setting: "policy.allowed_permission_modes",
                message: format!("`{permission_mode}` is not one of: {}", allowed.join(", ")),
            });
        }

        let model = self.model.or_else(|| policy.default_model.clone());
        if let Some(m) = &model {
            check_token("model", m)?;
            if !policy.allowed_models.is_empty() && !policy.allowed_models.contains(m) {
                return Err(SpecError::Policy {
                    field: "model",
                    setting: "policy.allowed_models",
                    message: format!("`{m}` is not one of: {}", policy.allowed_models.join(", ")),
                });
            }
        }

        // The policy's default rules come first, the task's own are added.
        let mut allowed_tools = policy.default_allowed_tools.clone();
        for t in self.allowed_tools.unwrap_or_default() {
            if !allowed_tools.contains(&t) {
                allowed_tools.push(t);
            }
        }
        let disallowed_tools = self.disallowed_tools.unwrap_or_default();
        for t in &allowed_tools {
            check_token("allowed_tools", t)?;
        }
        for t in &disallowed_tools {
            check_token("disallowed_tools", t)?;
        }

        let max_turns = match (self.max_turns, policy.max_turns) {
            (Some(n), _) if !(1..=10_000).contains(&n) => {
                return Err(invalid(
                    "max_turns",
                    format!("must be between 1 and 10000 (got {n})"),
                ));
            }
            (Some(n), Some(cap)) if n as u32 > cap => {
                return Err(SpecError::Policy {
                    field: "max_turns",
                    setting: "policy.max_turns",
                    message: format!("{n} is above the server's limit of {cap}"),
                });
            }
            (Some(n), _) => Some(n as u32),
            (None, cap) => cap,
        };
        let max_budget_usd = match (self.max_budget_usd, policy.max_budget_usd) {
            (Some(b), _) if !(b.is_finite() && b > 0.0) => {
                return Err(invalid(
                    "max_budget_usd",
                    format!("must be a positive number (got {b})"),
                ));
            }
            (Some(b), Some(cap)) if b > cap => {
                return Err(SpecError::Policy {
                    field: "max_budget_usd",
                    setting: "policy.max_budget_usd",
                    message: format!("{b} is above the server's limit of {cap}"),
                });
            }
            (b, cap) => b.or(cap),
        };
        if let Some(schema) = &self.json_schema
            && !schema.is_object()
        {
            return Err(invalid(
                "json_schema",
                "must be a JSON object (a JSON Schema)",
            ));
        }
        if let Some(id) = &self.resume_session_id {
            check_token("resume_session_id", id)?;
        }
        if let Some(text) = &self.append_system_prompt
            && text.contains('\0')
        {
            return Err(invalid(
                "append_system_prompt",
                "must not contain NUL bytes",
            ));
        }

        let (accept, repair_max) = crate::exec::accept::plan(
            self.accept,
            self.repair,
            self.json_schema.is_some(),
            &cwd,
            config,
        )?;

        Ok(TaskSpec {
            warnings: prompt_warnings(&self.task, config.max_prompt_tokens),
            prompt: self.task,
            timeout,
            cwd,
            model,
            permission_mode,
            allowed_tools,
            disallowed_tools,
            max_turns,
            max_budget_usd,
            append_system_prompt: self.append_system_prompt,
            json_schema: self.json_schema,
            resume_session_id: self.resume_session_id,
            category: None,
            complexity: None,
            timeout_basis: if self.timeout_secs.is_some() {
                crate::exec::timeout::TimeoutBasis::explicit(timeout.as_secs())
            } else {
                crate::exec::timeout::TimeoutBasis::default_timeout(config)
            },
            accept,
            repair_max,
            link: None,
            pool_queue: None,
            idempotent: false,
        })
    }

    fn resolve_cwd(&self, config: &Config) -> Result<PathBuf, SpecError> {
        let policy = &config.policy;
        let raw = match &self.cwd {
            Some(c) if c.trim().is_empty() => return Err(invalid("cwd", "must not be empty")),
            Some(c) => PathBuf::from(c),
            None => policy.default_cwd.clone(),
        };
        let raw = if raw.is_relative() {
            policy.default_cwd.join(raw)
        } else {
            raw
        };
        let cwd = raw.canonicalize().map_err(|e| {
            invalid(
                "cwd",
                format!("{} is not an existing directory ({e})", raw.display()),
            )
        })?;
        if !cwd.is_dir() {
            return Err(invalid(
                "cwd",
                format!("{} is not a directory", cwd.display()),
            ));
        }
        let inside = policy.allowed_roots.iter().any(|root| {
            root.canonicalize()
                .map(|r| cwd.starts_with(&r))
                .unwrap_or(false)
        });
        if !inside {
            let roots: Vec<String> = policy
                .allowed_roots
                .iter()
                .map(|r| r.display().to_string())
                .collect();
            return Err(SpecError::Policy {
                field: "cwd",
                setting: "policy.allowed_roots",
                message: format!(
                    "{} is outside the allowed roots ({})",
                    cwd.display(),
                    roots.join(", ")
                ),
            });
        }
        Ok(cwd)
    }
}

/// Names that become CLI arguments must not look like flags or carry control characters.
fn check_token(field: &'static str, value: &str) -> Result<(), SpecError> {
    if value.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if value.starts_with('-') {
        return Err(invalid(field, format!("`{value}` must not start with `-`")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// Phrasing that tends to stall or mislead a non-interactive `claude -p`: the planner's
/// prompt checks (one list for the whole product), less what cannot matter here — a leading
/// `-` is harmless on stdin, and an over-long or NUL-carrying prompt was already refused.
fn prompt_warnings(task: &str, max_prompt_tokens: usize) -> Vec<String> {
    use crate::plan::PromptWarningKind as K;
    let scan = crate::plan::text::Scan::new(task);
    crate::plan::complexity::prompt_warnings(task, &scan, max_prompt_tokens)
        .into_iter()
        .filter(|w| !matches!(w.kind, K::LeadingDash | K::TooLong | K::ContainsNul))
        .map(|w| w.message)
        .collect()
}

/// Lets tests build a spec without a config.
impl TaskSpec {
    #[doc(hidden)]
    pub fn for_tests(prompt: &str) -> TaskSpec {
        TaskSpec {
            prompt: prompt.into(),
            timeout: Duration::from_secs(60),
            cwd: PathBuf::from("/"),
            model: None,
            permission_mode: PermissionMode::AcceptEdits,
            allowed_tools: Vec::new(),
            disallowed_tools: Vec::new(),
            max_turns: None,
            max_budget_usd: None,
            append_system_prompt: None,
            json_schema: None,
            resume_session_id: None,
            warnings: Vec::new(),
            category: None,
            complexity: None,
            timeout_basis: crate::exec::timeout::TimeoutBasis::explicit(60),
            accept: None,
            repair_max: 0,
            link: None,
            pool_queue: None,
            idempotent: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileConfig, Overrides};
    use std::path::Path;

    fn config(root: &Path) -> Config {
        let o = Overrides {
            data_dir: Some(root.join("data")),
            allowed_roots: Some(vec![root.to_path_buf()]),
            allowed_models: Some(vec!["sonnet".into()]),
            ..Default::default()
        };
        let mut c = Config::resolve(FileConfig::default(), None, &o).unwrap();
        c.policy.default_cwd = root.to_path_buf();
        c.max_prompt_tokens = 1000;
        c
    }

    fn err(req: TaskRequest, c: &Config) -> String {
        req.validate(c).unwrap_err().to_string()
    }

    #[test]
    fn bad_inputs_get_errors_that_name_the_field_or_setting() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(dir.path());
        let req = |f: &dyn Fn(&mut TaskRequest)| {
            let mut r = TaskRequest::new("do the thing please");
            f(&mut r);
            r
        };
        assert!(err(req(&|r| r.task = "  ".into()), &c).contains("`task`"));
        for t in [0, -5, 10_000_000] {
            let e = err(req(&|r| r.timeout_secs = Some(t)), &c);
            assert!(
                e.contains("timeout_secs") && e.contains(&t.to_string()),
                "{e}"
            );
        }
        assert!(
            err(req(&|r| r.cwd = Some("/definitely/missing".into())), &c)
                .contains("not an existing directory")
        );
        assert!(err(req(&|r| r.cwd = Some("/".into())), &c).contains("policy.allowed_roots"));
        assert!(
            err(
                req(&|r| r.permission_mode = Some("bypassPermissions".into())),
                &c
            )
            .contains("policy.allow_bypass_permissions")
        );
        assert!(
            err(req(&|r| r.permission_mode = Some("nope".into())), &c)
                .contains("unknown permission mode")
        );
        assert!(err(req(&|r| r.model = Some("opus".into())), &c).contains("policy.allowed_models"));
        assert!(
            err(req(&|r| r.allowed_tools = Some(vec!["--evil".into()])), &c)
                .contains("must not start with `-`")
        );
        assert!(err(req(&|r| r.max_budget_usd = Some(-1.0)), &c).contains("max_budget_usd"));
        let e = err(req(&|r| r.task = "x".repeat(5000)), &c);
        assert!(
            e.contains("about 1250 tokens") && e.contains("limit of 1000"),
            "{e}"
        );
    }

    #[test]
    fn good_requests_resolve_defaults_within_policy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let c = config(dir.path());
        let mut r = TaskRequest::new("--starts with a dash, which is fine on stdin");
        r.cwd = Some("sub".into());
        r.model = Some("sonnet".into());
        let s = r.validate(&c).unwrap();
        assert_eq!(s.cwd, dir.path().canonicalize().unwrap().join("sub"));
        assert_eq!(s.timeout, c.default_timeout);
        assert_eq!(s.permission_mode, PermissionMode::AcceptEdits);
    }

    #[test]
    fn interactive_phrasing_is_a_warning_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let s = TaskRequest::new("please walk me through the build system")
            .validate(&config(dir.path()))
            .unwrap();
        assert!(s.warnings.iter().any(|w| w.contains("walk me through")));
    }
}
