//! The boundary with the Claude Code CLI: how to call it, how to read what it prints, and how
//! to tell how a run ended. Everything here is pure (no processes, no I/O) so each rule is
//! unit-tested against the facts in `docs/claude-cli.md`.
//!
//! - [`argv`]: the argument vector (never a shell; the prompt goes on stdin).
//! - [`framing`]: newline framing of stdout with a growable buffer and a per-record cap.
//! - [`events`]: typed, tolerant stream-json events (unknown types and fields are ignored).
//! - [`collect`]: folds events into what the result needs (tools used, files written, …).
//! - [`outcome`]: classifies the end of a run into one [`crate::Status`].

pub mod argv;
pub mod collect;
pub mod events;
pub mod framing;
pub mod outcome;
pub mod permissions;
pub mod unescape;

/// Shown whenever `claude` cannot be found.
pub const INSTALL_HINT: &str = "install Claude Code with `npm install -g @anthropic-ai/claude-code` \
(then log in once with `claude`), or point --claude-bin / CC_EXECUTOR_CLAUDE_BIN at the binary";
