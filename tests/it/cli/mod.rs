//! The `cc-executor` binary as a person uses it: `run`, `doctor`, `init`, configuration
//! precedence, exit codes, and registration with the real Claude Code CLI (`claude mcp add` /
//! `claude mcp list` in an isolated HOME).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::fixtures::{
    FAKE_LOGIN_TOKEN, cc_executor_bin, fake_claude_bin, write_fake_login,
};
use crate::support::real_claude::{IsolatedEnv, claude_bin};
use serde_json::Value;

mod configuration;
mod doctor;
mod run;
mod setup;

/// A scratch directory used as cwd, allowed root, data dir and fake-claude record dir.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        Scratch(tempfile::tempdir().unwrap())
    }
    fn path(&self) -> std::path::PathBuf {
        self.0.path().canonicalize().unwrap()
    }
    fn cmd(&self) -> Command {
        let mut c = Command::new(cc_executor_bin());
        let p = self.path();
        c.current_dir(&p)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &p)
            .env("XDG_CONFIG_HOME", p.join("config"))
            .env("XDG_DATA_HOME", p.join("xdg-data"))
            .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
            .env("FAKE_CLAUDE_RECORD_DIR", p.join("record"));
        c
    }
    fn invocations(&self) -> Vec<Value> {
        self.records("invocations.jsonl")
    }
    /// Each `claude auth status` the fake answered (the login check).
    fn auth_checks(&self) -> Vec<Value> {
        self.records("auth.jsonl")
    }
    fn records(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.path().join("record").join(file))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
    /// The fake (and the real) `claude` see this HOME: make it logged in.
    fn log_in(&self) {
        write_fake_login(&self.path());
    }
}

/// An API key that must only ever reach the child, never our output.
const SECRET_KEY: &str = "sk-ant-api03-secret-test-key";

fn output(mut cmd: Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
