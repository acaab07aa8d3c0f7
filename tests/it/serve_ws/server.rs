//! A `cc-executor serve` process for one test: its own sandbox (allowed root = its cwd, data
//! dir, the fake claude's records), port 0, a token, stopped with SIGTERM when dropped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin};
use crate::support::interop::Sandbox;

pub const TOKEN: &str = "ws-test-token-0123456789abcdef";

pub struct Server {
    child: Child,
    pub sandbox: Sandbox,
    /// `ws://127.0.0.1:PORT/ws/mcp`
    pub url: String,
    stderr: PathBuf,
}

impl Server {
    /// Serves the `ws` surface with `extra` serve flags.
    pub fn start(extra: &[&str]) -> Server {
        let sandbox = Sandbox::new();
        let stderr = sandbox.dir.path().join("server.stderr");
        // The fake's counters for `flaky` (fail the first N invocations of a key).
        let state_dir = sandbox.dir.path().join("fake-state");
        std::fs::create_dir(&state_dir).expect("fake state dir");
        let mut cmd = Command::new(cc_executor_bin());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &sandbox.root)
            .env("XDG_CONFIG_HOME", sandbox.root.join(".config-none"))
            .env("FAKE_CLAUDE_RECORD_DIR", &sandbox.rec)
            .env("FAKE_CLAUDE_STATE_DIR", &state_dir)
            .env("RUST_LOG", "info")
            .current_dir(&sandbox.root)
            .arg("--claude-bin")
            .arg(fake_claude_bin())
            .arg("--data-dir")
            .arg(&sandbox.data)
            .arg("--allowed-root")
            .arg(&sandbox.root)
            .args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN])
            .args(["--surfaces", "ws"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        let mut child = cmd.spawn().expect("start cc-executor serve");
        let state = sandbox.data.join("serve").join("state.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            if let Some(url) = std::fs::read_to_string(&state)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v["url"].as_str().map(str::to_string))
            {
                break url;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the server exited ({status}): {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Server {
            child,
            sandbox,
            url: format!("{}/ws/mcp", url.replacen("http://", "ws://", 1)),
            stderr,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The server's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// The fake claude's invocation whose prompt contains `marker`.
    pub fn invocation(&self, marker: &str) -> Value {
        self.sandbox
            .invocations()
            .into_iter()
            .find(|v| v["stdin"].as_str().is_some_and(|s| s.contains(marker)))
            .unwrap_or_else(|| panic!("no invocation with {marker}"))
    }

    /// SIGTERM, and the exit status once it is gone.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid()),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().expect("wait for the server");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}
