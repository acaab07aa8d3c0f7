//! `claude --version`: the binary runs, and it is Claude Code — another program (a wrong
//! `--claude-bin`) would make every task fail in a confusing way.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::{PROBE_TIMEOUT, resolve};

/// What `claude --version` of Claude Code contains; anything else is another program.
const CLAUDE_CODE_MARK: &str = "(Claude Code)";

/// What we know about the configured `claude`.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ClaudeInfo {
    /// The resolved path of the binary.
    pub path: PathBuf,
    /// `claude --version`, e.g. `2.1.331 (Claude Code)`.
    pub version: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("`{}` was not found (on PATH or as a file): {}", .0.display(), crate::claude::INSTALL_HINT)]
    NotFound(PathBuf),
    #[error("`{path} --version` failed: {1}", path = .0.display())]
    Failed(PathBuf, String),
    /// The binary runs but is some other program (`--claude-bin /bin/true`): every task would
    /// fail in a confusing way, so say it plainly.
    #[error(
        "`{path}` is not Claude Code: `--version` printed {printed} (Claude Code prints e.g. `2.1.331 (Claude Code)`); set --claude-bin / claude_bin to the claude binary",
        path = .path.display()
    )]
    NotClaudeCode { path: PathBuf, printed: String },
}

/// Runs `claude --version` (bounded) and checks that the answer is Claude Code's.
pub async fn probe(bin: &Path) -> Result<ClaudeInfo, ProbeError> {
    let path = resolve(bin).ok_or_else(|| ProbeError::NotFound(bin.to_path_buf()))?;
    let mut cmd = Command::new(&path);
    cmd.arg("--version")
        .stdin(std::process::Stdio::null())
        .env_remove("CLAUDECODE")
        .kill_on_drop(true);
    let out = tokio::time::timeout(PROBE_TIMEOUT, cmd.output())
        .await
        .map_err(|_| {
            ProbeError::Failed(
                path.clone(),
                format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
            )
        })?
        .map_err(|e| ProbeError::Failed(path.clone(), e.to_string()))?;
    if !out.status.success() {
        return Err(ProbeError::Failed(
            path,
            format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let version = stdout.lines().next().unwrap_or("").trim().to_string();
    if !version.contains(CLAUDE_CODE_MARK) {
        let printed = if version.is_empty() {
            "nothing".to_string()
        } else {
            format!("`{}`", crate::plan::text::preview(&version, 80))
        };
        return Err(ProbeError::NotClaudeCode { path, printed });
    }
    Ok(ClaudeInfo { path, version })
}
