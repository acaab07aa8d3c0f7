//! Finding the `claude` binary and asking its version (for `doctor` and health reports).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

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
}

/// Resolves `bin` like `execvp` would: a path with a `/` as is, otherwise along `PATH`.
pub fn resolve(bin: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if bin.components().count() > 1 || bin.is_absolute() {
        return executable(bin).then(|| bin.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(bin))
            .find(|p| executable(p))
    })
}

/// Runs `claude --version` (bounded to 15 s).
pub async fn probe(bin: &Path) -> Result<ClaudeInfo, ProbeError> {
    let path = resolve(bin).ok_or_else(|| ProbeError::NotFound(bin.to_path_buf()))?;
    let mut cmd = Command::new(&path);
    cmd.arg("--version")
        .stdin(std::process::Stdio::null())
        .env_remove("CLAUDECODE")
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(15), cmd.output())
        .await
        .map_err(|_| ProbeError::Failed(path.clone(), "no answer within 15 s".into()))?
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
    Ok(ClaudeInfo {
        path,
        version: String::from_utf8_lossy(&out.stdout).trim().to_string(),
    })
}
