//! Paths of the binaries under test and process checks shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The `cc-executor` binary built for this test run.
pub fn cc_executor_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cc-executor"))
}

/// The fake `claude` fixture (`examples/fake_claude.rs`); `cargo test` builds examples.
pub fn fake_claude_bin() -> PathBuf {
    let p = cc_executor_bin()
        .parent()
        .expect("target dir")
        .join("examples")
        .join("fake_claude");
    assert!(
        p.exists(),
        "{} is missing: `cargo test` builds it (or run `cargo build --examples`)",
        p.display()
    );
    p
}

/// Processes (pid, state) whose process group is `pgid`, zombies included.
pub fn group_processes(pgid: i32) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 2..].split_ascii_whitespace().collect();
        if fields.len() > 2 && fields[2].parse::<i32>().ok() == Some(pgid) {
            out.push((pid, fields[0].to_string()));
        }
    }
    out
}

/// Is a process with this pid present at all (zombie or not)?
pub fn pid_exists(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits up to `secs` for the group to be completely gone (no live process, no zombie).
pub fn wait_group_gone(pgid: i32, secs: u64) -> Vec<(i32, String)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let left = group_processes(pgid);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
