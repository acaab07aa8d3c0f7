//! The executor against the fake `claude` fixture: every fault the real CLI (or its tools) can
//! throw at us, and what the executor must make of it. Each test also checks that no process
//! of the task's tree survives, by process group and pid — never by name.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::fixtures::{group_processes, pid_exists, wait_group_gone};
use cc_executor::exec::progress::{NoProgress, ProgressEvent};
use cc_executor::{Status, TaskRequest};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

type Harness = crate::support::fake_executor::FakeExecutor;

/// What these tests check beyond the shared harness.
trait Checks {
    fn invocations(&self) -> Vec<Value>;
    fn last_pgid(&self) -> i32;
    fn grandchildren(&self) -> Vec<i32>;
    fn assert_tree_gone(&self);
}

impl Checks for Harness {
    /// Invocations of the fake (successful argument parsing only).
    fn invocations(&self) -> Vec<Value> {
        let path = self.root().join("record/invocations.jsonl");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v.get("error").is_none())
            .collect()
    }

    fn last_pgid(&self) -> i32 {
        self.invocations().last().expect("the fake was invoked")["pgid"]
            .as_i64()
            .unwrap() as i32
    }

    fn grandchildren(&self) -> Vec<i32> {
        let pid = self.invocations().last().unwrap()["pid"].as_i64().unwrap();
        std::fs::read_to_string(self.root().join(format!("record/{pid}.pids")))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// The whole tree of the last invocation is gone: no live process, no zombie.
    fn assert_tree_gone(&self) {
        let pgid = self.last_pgid();
        let left = wait_group_gone(pgid, 5);
        assert!(
            left.is_empty(),
            "processes of group {pgid} survived: {left:?}"
        );
        for pid in self.grandchildren() {
            assert!(!pid_exists(pid), "grandchild {pid} survived");
        }
    }
}

mod big_answers;
mod monitoring;
mod processes;
mod results;
