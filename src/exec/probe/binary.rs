//! Finding the `claude` binary the way the kernel's `execvp` would, so that what `doctor`
//! reports is what a task will run.

use std::path::{Path, PathBuf};

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
