//! The enumerated settings: the permission modes Claude Code understands and the `api_key`
//! modes. Each parses from the spelling of the config file, the flag and the environment
//! variable, and an unknown value is refused with the accepted ones listed.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// Where a prepared task runs (`placement`): here, in a `claude` this process spawns, or on a
/// pool of `cc-executor worker`s that take it from a Redis stream (see `crate::pool`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// This process runs the task (the default).
    #[default]
    Local,
    /// The task is enqueued in Redis and a worker runs it; this process follows it.
    Pool,
}

impl Placement {
    /// The spelling of the config file, the flag and the environment variable.
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Local => "local",
            Placement::Pool => "pool",
        }
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Placement {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "local" => Ok(Placement::Local),
            "pool" => Ok(Placement::Pool),
            _ => Err(format!(
                "unknown placement `{s}` (expected one of: local, pool)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_parse_with_a_helpful_error() {
        assert_eq!("pool".parse::<Placement>(), Ok(Placement::Pool));
        assert_eq!(" local".parse::<Placement>(), Ok(Placement::Local));
        let e = "cluster".parse::<Placement>().unwrap_err();
        assert!(e.contains("local, pool"), "{e}");
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
