//! The reaper, in-process: a process the executor adopted (a double-forked daemon of a task)
//! that exits on its own while the task still runs is reaped at once, not when the task ends.
//!
//! Alone in its test binary on purpose: a test stopping its own task tree reaps whatever this
//! process adopted, which would hide a reaper that does nothing.

mod support;

use std::time::Duration;

use cc_executor::exec::progress::NoProgress;
use cc_executor::{Status, TaskRequest};
use support::fixtures::{eventually_async, nth_daemon, pid_exists};

#[tokio::test]
async fn an_adopted_process_that_exits_on_its_own_is_reaped_at_once() {
    let h = support::fake_executor::FakeExecutor::new();
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
