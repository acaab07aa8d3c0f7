//! Claude Code's permission rules, as far as we need them: for a denied tool use, the
//! `allowed_tools` entry that would have allowed it.
//!
//! Claude Code writes rules as a tool name, optionally with a specifier in parentheses:
//! `Bash(pytest:*)` allows commands starting with `pytest`, `WebFetch(domain:example.com)` a
//! domain, a bare `Write` every use of the tool. A task run in `acceptEdits` mode (the
//! default here) may edit files but not run commands, so a task asked to "run the tests"
//! comes back `unverified` with a denied `Bash` use; the useful answer is the exact entry to
//! pass next time.

use serde_json::Value;

use super::collect::PermissionDenial;

/// Programs whose first argument names what is run (`npm test`, `cargo build`, `python -m`):
/// their rule keeps two words, so allowing `cargo test` does not allow `cargo publish`.
const TWO_WORD: &[&str] = &[
    "npm", "pnpm", "yarn", "bun", "npx", "cargo", "go", "git", "make", "python", "python3", "uv",
    "poetry", "pip", "dotnet", "mvn", "gradle", "docker", "kubectl", "bundle", "rake",
];

/// The `allowed_tools` entry that would have allowed `denial`, when one can be named.
pub fn rule_for(denial: &PermissionDenial) -> Option<String> {
    let tool = denial.tool_name.as_str();
    if tool.is_empty() {
        return None;
    }
    let input = denial.tool_input.as_ref();
    let field = |k: &str| input.and_then(|v| v.get(k)).and_then(Value::as_str);
    match tool {
        "Bash" => field("command")
            .and_then(bash_prefix)
            .map(|p| format!("Bash({p}:*)")),
        "WebFetch" => field("url")
            .and_then(host)
            .map(|h| format!("WebFetch(domain:{h})"))
            .or_else(|| Some("WebFetch".into())),
        _ => Some(tool.to_string()),
    }
}

/// Every distinct rule for `denials`, in order.
pub fn rules_for(denials: &[PermissionDenial]) -> Vec<String> {
    let mut rules: Vec<String> = Vec::new();
    for d in denials {
        if let Some(r) = rule_for(d)
            && !rules.contains(&r)
        {
            rules.push(r);
        }
    }
    rules
}

/// The command prefix a rule should allow: the program (without a path), and its
/// subcommand for programs that have them. `None` for an empty command.
fn bash_prefix(command: &str) -> Option<String> {
    // Environment assignments (`FOO=1 pytest`) are not the program.
    let mut words = command
        .split_whitespace()
        .skip_while(|w| w.contains('=') && !w.starts_with('-'));
    let program = words.next()?;
    let program = program.rsplit('/').next().unwrap_or(program);
    if program.is_empty() {
        return None;
    }
    if TWO_WORD.contains(&program)
        && let Some(sub) = words.next()
        && !sub.starts_with('-')
        && sub
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        return Some(format!("{program} {sub}"));
    }
    Some(program.to_string())
}

fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit('@').next()?.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn denial(tool: &str, input: Value) -> PermissionDenial {
        PermissionDenial {
            tool_name: tool.into(),
            tool_use_id: None,
            tool_input: Some(input),
            message: None,
        }
    }

    #[test]
    fn a_denied_command_names_the_rule_for_its_program() {
        let r = |cmd: &str| rule_for(&denial("Bash", json!({ "command": cmd })));
        assert_eq!(r("pytest -q tests/").as_deref(), Some("Bash(pytest:*)"));
        assert_eq!(r("cargo test --all").as_deref(), Some("Bash(cargo test:*)"));
        assert_eq!(r("npm run build").as_deref(), Some("Bash(npm run:*)"));
        assert_eq!(r("/usr/bin/make -j4").as_deref(), Some("Bash(make:*)"));
        assert_eq!(r("CI=1 go test ./...").as_deref(), Some("Bash(go test:*)"));
        assert_eq!(r("python -m pytest").as_deref(), Some("Bash(python:*)"));
        assert_eq!(r("   "), None);
    }

    #[test]
    fn other_tools_name_themselves_and_fetches_their_domain() {
        assert_eq!(
            rule_for(&denial("Write", json!({"file_path": "/a"}))).as_deref(),
            Some("Write")
        );
        assert_eq!(
            rule_for(&denial(
                "WebFetch",
                json!({"url": "https://Docs.rs/serde?x=1"})
            ))
            .as_deref(),
            Some("WebFetch(domain:docs.rs)")
        );
        assert_eq!(
            rule_for(&denial("mcp__github__create_issue", json!({}))).as_deref(),
            Some("mcp__github__create_issue")
        );
    }

    #[test]
    fn rules_are_listed_once_each() {
        let d = vec![
            denial("Bash", json!({"command": "pytest a"})),
            denial("Bash", json!({"command": "pytest b"})),
            denial("Write", json!({})),
        ];
        assert_eq!(rules_for(&d), vec!["Bash(pytest:*)", "Write"]);
    }
}
