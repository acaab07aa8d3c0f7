//! The reaper, in-process: a process the executor adopted (a double-forked daemon of a task)
//! that exits on its own while the task still runs is reaped at once, not when the task ends.
//!
//! Alone in its test binary on purpose, not a module of `tests/it`: until the reaper listens,
//! every task that ends reaps whatever this process adopted (see `TreeGuard::reap_orphans`), so
//! the tests of the shared binary stopping their own task trees would reap this daemon for a
//! reaper that never started. Here nothing else runs.

// Only the two helpers it needs, by path (the whole `tests/it/support` would pull in the fake
// API, the MCP clients and more).
#[path = "it/support/fake_executor.rs"]
mod fake_executor;
#[path = "it/support/fixtures.rs"]
mod fixtures;

use std::time::Duration;

use cc_executor::exec::progress::NoProgress;
use cc_executor::{Status, TaskRequest};
use fixtures::{eventually_async, nth_daemon, pid_exists};

#[tokio::test]
async fn an_adopted_process_that_exits_on_its_own_is_reaped_at_once() {
    let h = fake_executor::FakeExecutor::new();
    let spec = h
        .executor
        .prepare(TaskRequest::new(
            "@fake grandchild mode=double_fork secs=0.3 wait=5\nshort-lived daemon",
        ))
        .await
        .unwrap();
    let sub = h.executor.submit(spec, NoProgress).await.unwrap();
    let (daemon, parent) = nth_daemon(&h.root().join("record"), 1).await;
    assert_eq!(parent, std::process::id() as i32, "the executor runs here");
    // It exits after 0.3 s, long before the task ends; its zombie must not wait for that.
    assert!(
        eventually_async(Duration::from_millis(1800), || !pid_exists(daemon)).await,
        "the exited daemon {daemon} stayed a zombie"
    );
    let status = h.executor.status(sub.execution_id).unwrap();
    assert!(status.result.is_none(), "the task was still running");
    let r = h.executor.wait(sub.execution_id).await.unwrap();
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
}
