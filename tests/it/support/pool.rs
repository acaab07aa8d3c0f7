//! `cc-executor worker` processes for the pool tests: real processes on a real redis-server,
//! running the fake claude, sharing the test's root (allowed root, invocation records).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::fixtures::{cc_executor_bin, fake_claude_bin};

pub struct Worker {
    pub name: String,
    child: Option<Child>,
    pub log: std::path::PathBuf,
}

impl Worker {
    /// Starts `cc-executor worker --name NAME --lease-ms LEASE` on `redis_url`, with its own
    /// data dir under `root`, `root` as its allowed root and `root/rec` for the fake's records.
    pub fn start(
        root: &Path,
        redis_url: &str,
        name: &str,
        lease_ms: u64,
        extra: &[&str],
    ) -> Worker {
        let log = root.join(format!("{name}.log"));
        let child = Command::new(cc_executor_bin())
            .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
            .env("REDIS_URL", redis_url)
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("FAKE_CLAUDE_RECORD_DIR", root.join("rec"))
            .env("FAKE_CLAUDE_STATE_DIR", root.join("state"))
            .env("RUST_LOG", "info")
            .arg("--data-dir")
            .arg(root.join(format!("data-{name}")))
            .arg("--allowed-root")
            .arg(root)
            .args(["--kill-grace-ms", "500"])
            .arg("worker")
            .args(["--name", name])
            .args(["--lease-ms", &lease_ms.to_string()])
            .args(extra)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start cc-executor worker");
        Worker {
            name: name.to_string(),
            child: Some(child),
            log,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).unwrap();
    }

    /// Waits for it to exit (after a signal); its exit status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.take().expect("running").wait().unwrap()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `cc-executor history show ID --json` on the shared Redis history.
pub fn history_record(root: &Path, redis_url: &str, id: &str) -> Option<serde_json::Value> {
    let out = Command::new(cc_executor_bin())
        .env("REDIS_URL", redis_url)
        .env("XDG_CONFIG_HOME", root.join("config"))
        .arg("--data-dir")
        .arg(root.join("data-reader"))
        .args(["history", "show", id, "--json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).ok()
}

/// `cc-executor pool status --json`.
pub fn pool_status(root: &Path, redis_url: &str) -> serde_json::Value {
    let out = Command::new(cc_executor_bin())
        .env("REDIS_URL", redis_url)
        .env("XDG_CONFIG_HOME", root.join("config"))
        .arg("--data-dir")
        .arg(root.join("data-reader"))
        .args(["pool", "status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
