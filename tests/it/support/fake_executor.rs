//! An executor over the fake `claude` in a fresh directory (see
//! [`super::fixtures::fake_claude_config`]): what the executor and evidence tests share. Test
//! files add their own checks with a local extension trait.
#![allow(dead_code)]

use std::path::PathBuf;

use cc_executor::exec::progress::NoProgress;
use cc_executor::{Config, ExecutionResult, Executor, TaskRequest};

pub struct FakeExecutor {
    pub dir: tempfile::TempDir,
    pub executor: Executor,
}

impl FakeExecutor {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    /// With the configuration changed by `tweak` first. The test process supervises the
    /// tasks' processes as the binary does (subreaper + reaper): orphans of a task are ours to
    /// find and reap, not init's.
    pub fn with(tweak: impl FnOnce(&mut Config)) -> Self {
        let supervision = cc_executor::exec::process::install_supervision();
        assert!(
            supervision.subreaper && supervision.reaper,
            "{supervision:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let mut config = super::fixtures::fake_claude_config(&root);
        tweak(&mut config);
        FakeExecutor {
            executor: Executor::new(config).unwrap(),
            dir,
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    pub async fn run(&self, task: &str) -> ExecutionResult {
        self.run_request(TaskRequest::new(task)).await
    }

    pub async fn run_request(&self, req: TaskRequest) -> ExecutionResult {
        let spec = self.executor.prepare(req).await.unwrap();
        self.executor.execute(spec, NoProgress).await
    }
}
