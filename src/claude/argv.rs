//! The `claude` argument vector.
//!
//! Rules (each one a predecessor bug): no shell anywhere; the prompt is never in argv (a prompt
//! starting with `-` would be read as a flag, and one argument is capped at 128 KiB), it goes on
//! stdin; values that may start with `-` are passed as `--flag=value` so they can never be taken
//! for a flag; `stream-json` needs `--verbose` in `-p` mode.

use std::ffi::OsString;

use crate::types::task::TaskSpec;

/// Environment variables removed from the child. `CLAUDECODE` makes older CLIs refuse to start
/// "inside another Claude Code session", and an MCP server launched by Claude Code inherits it.
pub const ENV_REMOVE: &[&str] = &["CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT"];

/// Builds the arguments (without the program name) for one run of `spec`.
pub fn build_args(spec: &TaskSpec) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["-p", "--output-format", "stream-json", "--verbose"]
        .into_iter()
        .map(OsString::from)
        .collect();
    let mut kv = |flag: &str, value: &str| args.push(format!("{flag}={value}").into());
    if let Some(model) = &spec.model {
        kv("--model", model);
    }
    kv("--permission-mode", spec.permission_mode.as_str());
    if let Some(n) = spec.max_turns {
        kv("--max-turns", &n.to_string());
    }
    if let Some(b) = spec.max_budget_usd {
        kv("--max-budget-usd", &b.to_string());
    }
    if let Some(text) = &spec.append_system_prompt {
        kv("--append-system-prompt", text);
    }
    if let Some(schema) = &spec.json_schema {
        kv("--json-schema", &schema.to_string());
    }
    if let Some(id) = &spec.resume_session_id {
        kv("--resume", id);
    }
    // Tool lists are variadic in the CLI; names were validated not to start with `-`, and
    // the prompt is not in argv, so nothing can be swallowed by the list.
    if !spec.allowed_tools.is_empty() {
        args.push("--allowedTools".into());
        args.extend(spec.allowed_tools.iter().map(OsString::from));
    }
    if !spec.disallowed_tools.is_empty() {
        args.push("--disallowedTools".into());
        args.extend(spec.disallowed_tools.iter().map(OsString::from));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::modes::PermissionMode;

    fn spec() -> TaskSpec {
        TaskSpec::for_tests("hello")
    }

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter().map(|a| a.into_string().unwrap()).collect()
    }

    #[test]
    fn always_stream_json_with_verbose_and_never_the_prompt() {
        let args = strings(build_args(&spec()));
        assert_eq!(
            &args[..4],
            ["-p", "--output-format", "stream-json", "--verbose"]
        );
        assert!(!args.iter().any(|a| a.contains("hello")), "{args:?}");
    }

    #[test]
    fn values_that_may_start_with_a_dash_are_glued_to_their_flag() {
        let mut s = spec();
        s.append_system_prompt = Some("--be terse".into());
        s.model = Some("-weird".into());
        s.resume_session_id = Some("-abc".into());
        s.permission_mode = PermissionMode::Plan;
        let args = strings(build_args(&s));
        assert!(args.contains(&"--append-system-prompt=--be terse".to_string()));
        assert!(args.contains(&"--model=-weird".to_string()));
        assert!(args.contains(&"--resume=-abc".to_string()));
        assert!(args.contains(&"--permission-mode=plan".to_string()));
    }

    #[test]
    fn json_schema_and_limits_are_passed() {
        let mut s = spec();
        s.json_schema = Some(serde_json::json!({"type": "object"}));
        s.max_turns = Some(3);
        s.max_budget_usd = Some(0.5);
        s.allowed_tools = vec!["Read".into(), "Bash(git log:*)".into()];
        let args = strings(build_args(&s));
        assert!(args.contains(&r#"--json-schema={"type":"object"}"#.to_string()));
        assert!(args.contains(&"--max-turns=3".to_string()));
        assert!(args.contains(&"--max-budget-usd=0.5".to_string()));
        let i = args.iter().position(|a| a == "--allowedTools").unwrap();
        assert_eq!(args[i + 1..i + 3], ["Read", "Bash(git log:*)"]);
    }
}
