//! The grandchild the process-tree scenarios start (`--fake-grandchild`): it sleeps or burns
//! CPU, optionally ignoring SIGTERM, leaving the session, or escaping by a double fork.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{SigHandler, Signal, signal};

use crate::GRANDCHILD_ARG;
use crate::util::{burn_cpu, own_exe, record_line};

/// `--fake-grandchild SECS [--ignore-sigterm] [--setsid | --double-fork PIDS_FILE | --busy]`.
pub(crate) fn grandchild_main(args: &[String]) -> ! {
    let flag = |name: &str| args.iter().any(|a| a == name);
    let secs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(600.0);
    if let Some(i) = args.iter().position(|a| a == "--double-fork") {
        // The middle of a double fork: start the escapee, say who it is, and go.
        let Some(file) = args.get(i + 1).map(PathBuf::from) else {
            std::process::exit(2);
        };
        let mut cmd = Command::new(own_exe());
        cmd.arg(GRANDCHILD_ARG)
            .arg(secs.to_string())
            .arg("--setsid");
        if flag("--ignore-sigterm") {
            cmd.arg("--ignore-sigterm");
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match cmd.spawn() {
            Ok(child) => {
                if let (Some(dir), Some(name)) = (file.parent(), file.file_name()) {
                    record_line(dir, &name.to_string_lossy(), &child.id().to_string());
                }
                std::mem::forget(child);
                std::process::exit(0)
            }
            Err(_) => std::process::exit(1),
        }
    }
    if flag("--setsid") {
        // Out of the task's process group and session: `killpg` no longer reaches it.
        let _ = nix::unistd::setsid();
    }
    if flag("--ignore-sigterm") {
        // SAFETY: installing SIG_IGN.
        let _ = unsafe { signal(Signal::SIGTERM, SigHandler::SigIgn) };
    }
    if flag("--busy") {
        burn_cpu(secs);
    } else {
        std::thread::sleep(Duration::from_secs_f64(secs.max(0.0)));
    }
    std::process::exit(0)
}
