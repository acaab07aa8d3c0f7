//! Acceptance checks (`accept`) and bounded repair (`repair`).
//!
//! - [`plan`]: a request's `accept` and `repair`, checked against the policy before anything
//!   runs — a bad spec or a check that reaches outside the allowed roots is refused with the
//!   task, never discovered after it.
//! - [`check`]: the step of an execution's life between "observe" and "persist": the checks
//!   run once the task's own process has ended (and given its queue slot up), and their
//!   outcome is part of the record, so the evidence covers it. A failed check turns a
//!   `succeeded` (or `unverified`) task `rejected`.
//! - `repair`: the loop over executions that `Executor::execute_at` runs when `repair` allows
//!   it; each attempt is a new execution linked to the first.
//! - `command`, `validator`: the two kinds of check that start processes.

pub(crate) mod command;
pub(crate) mod repair;
pub(crate) mod validator;

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::Executor;
use super::spec::SpecError;
use crate::config::{Config, PermissionMode};
use crate::types::accept::{
    AcceptRequest, Acceptance, CheckKind, CheckResult, RepairLink, RepairRequest,
};
use crate::types::result::{ExecutionResult, Status};
use crate::types::task::{AcceptPlan, SpecLink, TaskSpec};

/// Default time limit of one acceptance command.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// Most repairs one task may ask for: each is a full run.
pub const MAX_REPAIRS: i64 = 5;
/// Most commands and most files one `accept` may list.
const MAX_CHECKS: usize = 20;
/// Longest file read for a `matches` pattern; a longer one fails the check, saying so.
const MAX_MATCHED_BYTES: u64 = 8 * 1024 * 1024;

fn invalid(field: &'static str, message: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        field,
        message: message.into(),
    }
}

/// Validates `accept` and `repair` of a request whose `cwd` resolved to `cwd`: the checks to
/// run (`None`: none asked for) and how many repairs are allowed.
pub(crate) fn plan(
    accept: Option<AcceptRequest>,
    repair: Option<RepairRequest>,
    has_json_schema: bool,
    cwd: &Path,
    config: &Config,
) -> Result<(Option<AcceptPlan>, u32), SpecError> {
    let repair_max = match repair {
        None => 0,
        Some(r) if (0..=MAX_REPAIRS).contains(&r.max_attempts) => r.max_attempts as u32,
        Some(r) => {
            return Err(invalid(
                "repair.max_attempts",
                format!(
                    "must be between 0 and {MAX_REPAIRS} (got {})",
                    r.max_attempts
                ),
            ));
        }
    };
    let Some(accept) = accept else {
        if repair_max > 0 && !has_json_schema {
            return Err(invalid(
                "repair",
                "needs something to check: give `accept` (commands, files or a validator) or a `json_schema`",
            ));
        }
        // A `json_schema` alone is a check when repairs are asked for.
        return Ok(((repair_max > 0).then(|| empty_plan(config)), repair_max));
    };
    if accept.commands.is_empty() && accept.files.is_empty() && accept.validator.is_none() {
        return Err(invalid(
            "accept",
            "give at least one of `commands`, `files`, `validator`",
        ));
    }
    if accept.commands.len() > MAX_CHECKS || accept.files.len() > MAX_CHECKS {
        return Err(invalid(
            "accept",
            format!("at most {MAX_CHECKS} commands and {MAX_CHECKS} files"),
        ));
    }
    let roots = allowed_roots(config);
    for (i, argv) in accept.commands.iter().enumerate() {
        let Some(program) = argv.first() else {
            return Err(invalid(
                "accept.commands",
                format!(
                    "command {} is empty: give an argv list such as [\"pytest\", \"-q\"]",
                    i + 1
                ),
            ));
        };
        if program.trim().is_empty() {
            return Err(invalid(
                "accept.commands",
                format!("command {}: the program name is empty", i + 1),
            ));
        }
        if argv.iter().any(|a| a.contains('\0')) {
            return Err(invalid(
                "accept.commands",
                format!("command {} contains a NUL byte", i + 1),
            ));
        }
        // A program named by a relative path is run from the task's directory: it must not
        // reach outside the allowed roots (one found on PATH, or given absolutely, is a tool).
        if program.contains('/') && !Path::new(program).is_absolute() {
            let at = normalize(&cwd.join(program));
            if !inside(&at, &roots) {
                return Err(outside("accept.commands", &at, config));
            }
        }
    }
    let max = config.max_timeout.as_secs();
    let command_timeout = match accept.timeout_secs {
        None => DEFAULT_COMMAND_TIMEOUT.min(config.max_timeout),
        Some(t) if t >= 1 && t as u64 <= max => Duration::from_secs(t as u64),
        Some(t) => {
            return Err(invalid(
                "accept.timeout_secs",
                format!("must be between 1 and {max} seconds (got {t})"),
            ));
        }
    };
    let mut files = Vec::with_capacity(accept.files.len());
    for f in accept.files {
        if f.path.trim().is_empty() || f.path.contains('\0') {
            return Err(invalid(
                "accept.files",
                "a path is empty or contains a NUL byte",
            ));
        }
        let at = normalize(&cwd.join(&f.path));
        if !inside(&at, &roots) {
            return Err(outside("accept.files", &at, config));
        }
        if let Some(p) = &f.matches
            && let Err(e) = pattern(p)
        {
            return Err(invalid(
                "accept.files",
                format!("`matches` of {} is not a valid regex: {e}", f.path),
            ));
        }
        files.push((at, f.matches));
    }
    if let Some(v) = &accept.validator
        && (v.trim().is_empty() || v.contains('\0'))
    {
        return Err(invalid(
            "accept.validator",
            "must be non-empty criteria text without NUL bytes",
        ));
    }
    let mut plan = empty_plan(config);
    if accept.validator.is_some() {
        plan.validator_mode = validator_mode(config)?;
    }
    plan.commands = accept.commands;
    plan.command_timeout = command_timeout;
    plan.files = files;
    plan.validator = accept.validator;
    Ok((Some(plan), repair_max))
}

fn empty_plan(config: &Config) -> AcceptPlan {
    AcceptPlan {
        commands: Vec::new(),
        command_timeout: DEFAULT_COMMAND_TIMEOUT.min(config.max_timeout),
        files: Vec::new(),
        validator: None,
        validator_mode: PermissionMode::Default,
    }
}

/// The validator's permission mode: one that denies writes (`default`, else `plan`), if the
/// policy allows one.
fn validator_mode(config: &Config) -> Result<PermissionMode, SpecError> {
    [PermissionMode::Default, PermissionMode::Plan]
        .into_iter()
        .find(|m| config.policy.allowed_permission_modes.contains(m))
        .ok_or(SpecError::Policy {
            field: "accept.validator",
            setting: "policy.allowed_permission_modes",
            message: "the validator runs read-only (`default` or `plan`), and neither is allowed"
                .into(),
        })
}

fn allowed_roots(config: &Config) -> Vec<PathBuf> {
    config
        .policy
        .allowed_roots
        .iter()
        .filter_map(|r| r.canonicalize().ok())
        .collect()
}

fn inside(path: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|r| path.starts_with(r))
}

fn outside(field: &'static str, at: &Path, config: &Config) -> SpecError {
    let roots: Vec<String> = config
        .policy
        .allowed_roots
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    SpecError::Policy {
        field,
        setting: "policy.allowed_roots",
        message: format!(
            "{} is outside the allowed roots ({}); checks stay inside them",
            at.display(),
            roots.join(", ")
        ),
    }
}

/// `..` and `.` resolved without touching the file system (the file may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Runs the checks of a finished execution and folds their outcome into its result: the
/// `acceptance`, and `rejected` when one failed. Only a task that ran to its end is checked
/// (`succeeded`, `unverified`); any other status already says it did not do the work.
pub(super) async fn check(
    executor: &Executor,
    task_text: &str,
    spec: &TaskSpec,
    result: &mut ExecutionResult,
    cancel: &CancellationToken,
) {
    let Some(plan) = &spec.accept else {
        return;
    };
    if !matches!(result.status, Status::Succeeded | Status::Unverified) {
        return;
    }
    let mut checks = Vec::new();
    if spec.json_schema.is_some() {
        let passed = result.structured_output.is_some();
        checks.push(CheckResult {
            kind: CheckKind::JsonSchema,
            passed,
            detail: if passed {
                "the answer has structured output that follows `json_schema`".into()
            } else {
                "the answer has no structured output following `json_schema`".into()
            },
            duration_ms: 0,
            execution_id: None,
        });
    }
    let roots = allowed_roots(&executor.inner.config);
    for (path, pattern) in &plan.files {
        let (path, pattern, roots) = (path.clone(), pattern.clone(), roots.clone());
        let started = Instant::now();
        let checked = tokio::task::spawn_blocking(move || file(&path, pattern.as_deref(), &roots))
            .await
            .unwrap_or_else(|e| (false, format!("the file check did not finish: {e}")));
        checks.push(CheckResult {
            kind: CheckKind::File,
            passed: checked.0,
            detail: checked.1,
            duration_ms: super::assemble::ms(started.elapsed()),
            execution_id: None,
        });
    }
    for argv in &plan.commands {
        checks.push(
            command::run(
                argv,
                &spec.cwd,
                plan.command_timeout,
                result.execution_id,
                cancel,
            )
            .await,
        );
    }
    let mut cost = None;
    if let Some(criteria) = &plan.validator {
        let started = Instant::now();
        let prompt = validator::prompt(criteria, task_text, result, &checks);
        let config = &executor.inner.config;
        let vspec = validator::spec(
            spec,
            plan,
            prompt,
            &config.policy.default_allowed_tools,
            result.execution_id,
        );
        let judged = Box::pin(executor.execute_with_cancel(
            vspec,
            super::progress::NoProgress,
            cancel.child_token(),
        ))
        .await;
        cost = judged.total_cost_usd;
        let (passed, detail) = match validator::verdict(&judged) {
            Ok(v) => (v.valid, validator::detail(&v)),
            Err(why) => (false, why),
        };
        checks.push(CheckResult {
            kind: CheckKind::Validator,
            passed,
            detail,
            duration_ms: super::assemble::ms(started.elapsed()),
            execution_id: Some(judged.execution_id),
        });
    }
    let passed = checks.iter().all(|c| c.passed);
    if cancel.is_cancelled() {
        // Stopped while its checks ran (by its caller or a shutdown): not judged.
        result.warnings.insert(
            0,
            "cancelled while its acceptance checks ran; they were stopped".into(),
        );
        result.status = Status::Cancelled;
    } else if !passed {
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.kind.as_str())
            .collect();
        result.warnings.insert(
            0,
            format!(
                "rejected: {} acceptance check(s) failed ({}); see `acceptance`",
                failed.len(),
                failed.join(", ")
            ),
        );
        result.status = Status::Rejected;
    }
    result.acceptance = Some(Acceptance {
        passed,
        checks,
        cost_usd: cost,
    });
}

/// Where the execution stands in a repair loop, or which execution it validated: recorded
/// with it, so the history and the evidence tie the attempts together.
pub(super) fn link(id: uuid::Uuid, spec: &TaskSpec, result: &mut ExecutionResult) {
    match &spec.link {
        None => {}
        Some(SpecLink::Validates(of)) => result.validates = Some(*of),
        Some(SpecLink::Repair { earlier }) => {
            let mut executions = earlier.clone();
            executions.push(id);
            result.repair = Some(RepairLink {
                repairs: earlier.len() as u32,
                executions,
            });
        }
    }
}

/// A `matches` pattern, compiled as `grep` reads one: `^` and `$` match at line starts and
/// ends (a file's last line ends in a newline, which a whole-text `$` would not pass).
fn pattern(p: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(p).multi_line(true).build()
}

/// One file check: exists (inside the allowed roots, symlinks followed), and matches.
fn file(path: &Path, pattern: Option<&str>, roots: &[PathBuf]) -> (bool, String) {
    let shown = path.display();
    let real = match path.canonicalize() {
        Ok(p) => p,
        Err(e) => return (false, format!("{shown} does not exist ({e})")),
    };
    if !inside(&real, roots) {
        return (
            false,
            format!(
                "{shown} resolves to {}, outside the allowed roots: not read",
                real.display()
            ),
        );
    }
    let Some(pattern) = pattern else {
        return (true, format!("{shown} exists"));
    };
    let re = match self::pattern(pattern) {
        Ok(re) => re,
        Err(e) => return (false, format!("`{pattern}` is not a valid regex: {e}")),
    };
    match std::fs::metadata(&real) {
        Ok(m) if m.len() > MAX_MATCHED_BYTES => {
            return (
                false,
                format!(
                    "{shown} is {} bytes, over the {MAX_MATCHED_BYTES} bytes a pattern is matched in",
                    m.len()
                ),
            );
        }
        Ok(m) if !m.is_file() => return (false, format!("{shown} is not a regular file")),
        Err(e) => return (false, format!("{shown} cannot be read ({e})")),
        Ok(_) => {}
    }
    match std::fs::read(&real) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            if re.is_match(&text) {
                (true, format!("{shown} exists and matches `{pattern}`"))
            } else {
                (false, format!("{shown} does not match `{pattern}`"))
            }
        }
        Err(e) => (false, format!("{shown} cannot be read ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_is_resolved_before_the_roots_are_compared() {
        assert_eq!(
            normalize(Path::new("/a/b/../../etc/./passwd")),
            PathBuf::from("/etc/passwd")
        );
        let roots = [PathBuf::from("/a")];
        assert!(!inside(&normalize(Path::new("/a/b/../../etc")), &roots));
        assert!(inside(&normalize(Path::new("/a/b/../c")), &roots));
    }

    #[test]
    fn a_file_check_says_what_it_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let roots = vec![root.clone()];
        std::fs::write(root.join("f.py"), "def add(a, b):\n    return a + b\n").unwrap();
        assert!(file(&root.join("f.py"), Some(r"def add\("), &roots).0);
        assert!(file(&root.join("f.py"), Some(r"^    return a \+ b$"), &roots).0);
        let (ok, why) = file(&root.join("f.py"), Some("def sub"), &roots);
        assert!(!ok && why.contains("does not match"), "{why}");
        let (ok, why) = file(&root.join("missing"), None, &roots);
        assert!(!ok && why.contains("does not exist"), "{why}");
        std::os::unix::fs::symlink("/etc/hostname", root.join("out")).unwrap();
        let (ok, why) = file(&root.join("out"), None, &roots);
        assert!(!ok && why.contains("outside the allowed roots"), "{why}");
    }
}
