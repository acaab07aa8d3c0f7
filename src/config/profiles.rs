//! Named permission profiles: what tasks may do, as the policy settings that say it.
//!
//! Claude Code's permission modes are easy to get wrong from the outside: the default here,
//! `acceptEdits`, lets a task edit files but not run commands, so "fix the bug and run the
//! tests" comes back `unverified` with a denied `Bash` use. A profile is a ready answer to
//! "what should my tasks be allowed to do", written into the config file by
//! `cc-executor init --profile NAME`; the policy it writes still bounds every task.

use super::PermissionMode;

/// One profile: its name, what it means, and the policy it sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub summary: &'static str,
    pub default_permission_mode: PermissionMode,
    pub allowed_permission_modes: &'static [PermissionMode],
    pub allow_bypass_permissions: bool,
    pub default_allowed_tools: &'static [&'static str],
}

use PermissionMode::*;

/// Test and build commands of common toolchains, and read-only git commands.
const TEST_COMMANDS: &[&str] = &[
    "Bash(pytest:*)",
    "Bash(python -m pytest:*)",
    "Bash(uv run pytest:*)",
    "Bash(cargo test:*)",
    "Bash(cargo check:*)",
    "Bash(cargo build:*)",
    "Bash(npm test:*)",
    "Bash(npm run test:*)",
    "Bash(pnpm test:*)",
    "Bash(go test:*)",
    "Bash(go build:*)",
    "Bash(make test:*)",
    "Bash(git status:*)",
    "Bash(git diff:*)",
    "Bash(git log:*)",
];

/// Every profile, from the most restricted.
pub const PROFILES: [Profile; 4] = [
    Profile {
        name: "read-only",
        summary: "tasks read and answer; they never write a file or run a command (plan mode)",
        default_permission_mode: Plan,
        allowed_permission_modes: &[Plan],
        allow_bypass_permissions: false,
        default_allowed_tools: &[],
    },
    Profile {
        name: "edit",
        summary: "tasks read and edit files, but run no commands unless a task's allowed_tools says so (the built-in default)",
        default_permission_mode: AcceptEdits,
        allowed_permission_modes: &[Default, AcceptEdits, Plan, DontAsk],
        allow_bypass_permissions: false,
        default_allowed_tools: &[],
    },
    Profile {
        name: "edit+test",
        summary: "tasks edit files and run the usual test and build commands (pytest, cargo test, npm test, go test, make test, read-only git)",
        default_permission_mode: AcceptEdits,
        allowed_permission_modes: &[Default, AcceptEdits, Plan, DontAsk],
        allow_bypass_permissions: false,
        default_allowed_tools: TEST_COMMANDS,
    },
    Profile {
        name: "trusted",
        summary: "tasks may do anything your account can, without asking (bypassPermissions) — only in a sandbox or a throwaway machine",
        default_permission_mode: BypassPermissions,
        allowed_permission_modes: &[Default, AcceptEdits, Plan, DontAsk, BypassPermissions],
        allow_bypass_permissions: true,
        default_allowed_tools: &[],
    },
];

/// The profile called `name`.
pub fn profile(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// The names, for messages.
pub fn names() -> Vec<&'static str> {
    PROFILES.iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_a_valid_policy() {
        for p in &PROFILES {
            assert!(
                p.allowed_permission_modes
                    .contains(&p.default_permission_mode),
                "{}",
                p.name
            );
            assert_eq!(
                p.allowed_permission_modes.contains(&BypassPermissions),
                p.allow_bypass_permissions,
                "{}",
                p.name
            );
            for rule in p.default_allowed_tools {
                assert!(!rule.starts_with('-') && !rule.is_empty());
            }
        }
        assert_eq!(profile("edit+test").unwrap().name, "edit+test");
        assert!(profile("everything").is_none());
    }
}
