//! Evidence and verification with the fake `claude` fixture: response files and receipts,
//! the hash chain and every kind of tampering, the UUID hook, the user's hooks, and bad input.
//! (What needs Claude Code's own transcript — a fully `verified` run — is in
//! `tests/it/evidence_real_cli.rs`, with the real CLI.)

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::fixtures::{cc_executor_bin, fake_claude_bin};
use cc_executor::config::{FileConfig, Overrides};
use cc_executor::evidence::chain::sha256_hex;
use cc_executor::evidence::verify::{CheckState, FileState, Target, Verdict, VerifyError};
use cc_executor::exec::hooks::HookOutcome;
use cc_executor::exec::progress::NoProgress;
use cc_executor::{Config, Executor, Status, TaskRequest};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

type Harness = crate::support::fake_executor::FakeExecutor;

mod hooks;
mod receipts;
mod tampering;
mod verify_surfaces;

/// What these tests check beyond the shared harness.
trait Checks {
    fn data(&self) -> PathBuf;
    async fn verify(&self, id: uuid::Uuid) -> cc_executor::evidence::verify::ExecutionVerification;
    fn invocations(&self) -> Vec<Value>;
    fn response_file(&self, id: uuid::Uuid) -> PathBuf;
    fn db(&self) -> rusqlite::Connection;
}

impl Checks for Harness {
    fn data(&self) -> PathBuf {
        self.root().join("data")
    }

    async fn verify(&self, id: uuid::Uuid) -> cc_executor::evidence::verify::ExecutionVerification {
        let r = self.executor.verify(Target::One(id), false).await.unwrap();
        assert_eq!(r.executions.len(), 1);
        r.executions.into_iter().next().unwrap()
    }

    fn invocations(&self) -> Vec<Value> {
        std::fs::read_to_string(self.root().join("record/invocations.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect()
    }

    fn response_file(&self, id: uuid::Uuid) -> PathBuf {
        self.data().join("evidence").join(format!("{id}.json"))
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data().join("history.sqlite3")).unwrap()
    }
}

fn check<'a>(
    v: &'a cc_executor::evidence::verify::ExecutionVerification,
    name: &str,
) -> &'a cc_executor::evidence::verify::Check {
    v.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {v:#?}"))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A task the fake answers by echoing its stdin — which, with the UUID hook, holds the UUID.
const ECHO: &str = "@fake echo\nSay something.";
