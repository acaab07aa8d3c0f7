//! What we can learn about the configured `claude` without running a task: where it is, that
//! it really is Claude Code (`--version`), whether it has a login of its own, and from that,
//! who pays for a task ([`credential`]).
//!
//! Who pays is decided by one environment variable: with `ANTHROPIC_API_KEY` Claude Code bills
//! the API account; without it, it uses its own login (usually a subscription). The key in our
//! environment may have been exported for other tools, so by default (`api_key = "auto"`) it
//! is removed when Claude Code has a login of its own and passed only when it has none. The
//! facts this relies on are written down in `docs/claude-cli.md`.
//!
//! Layout: `binary.rs` finds the binary, `version.rs` asks `claude --version`, `own_login.rs`
//! asks `claude auth status` (cached) and `stored_login.rs` reads the stored login when it
//! cannot; `billing.rs` decides who pays.

mod billing;
mod binary;
mod own_login;
mod stored_login;
mod version;

use std::time::Duration;

pub use billing::{Credential, KeySource, LoginCheck, Uses, credential, decide, removes_api_key};
pub use binary::resolve;
pub use own_login::{CheckedWith, Login, login, parse_auth_status};
pub use version::{ClaudeInfo, ProbeError, probe};

/// The variable that makes Claude Code authenticate with an API key (and bill the API).
pub const API_KEY_VAR: &str = "ANTHROPIC_API_KEY";

/// Bound on `claude --version` and `claude auth status`: both answer in well under a second.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);
