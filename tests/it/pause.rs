//! Pausing and resuming executions (`Executor::pause` / `Executor::resume`) with the fake
//! `claude`: the whole process tree stopped (state `T` in `/proc`) and no progress while
//! paused, the deadline moved by the pause, the longest pause, cancel and shutdown of a paused
//! tree, a paused queued task, and the errors.
//!
//! Real processes run throughout, so tokio's paused clock cannot stand in for the waits (the
//! deadline arithmetic itself is unit-tested on the paused clock in `src/exec/pause.rs`); the
//! times are kept to a few seconds instead, and no assertion is about how long anything took.

use std::time::Duration;

use cc_executor::exec::pause::{PauseChange, PauseError};
use std::sync::{Arc, Mutex};

use cc_executor::exec::progress::{NoProgress, ProgressEvent};
use cc_executor::exec::registry::Phase;
use cc_executor::process::{EXECUTION_ENV, procfs};
use cc_executor::{Status, TaskRequest};
use uuid::Uuid;

use crate::support::fixtures::{eventually_async, zombie_children};

type Harness = crate::support::fake_executor::FakeExecutor;

/// The live processes of execution `id` (found by the environment tag every one of them
/// inherits) and their states.
fn task_processes(id: Uuid) -> Vec<(i32, char)> {
    let tag = format!("{EXECUTION_ENV}={id}");
    procfs::pids()
        .into_iter()
        .filter(|pid| procfs::has_env_entry(*pid, tag.as_bytes()))
        .filter_map(procfs::stat)
        .filter(|s| !s.is_zombie())
        .map(|s| (s.pid, s.state))
        .collect()
}

async fn submit(h: &Harness, task: &str, timeout_secs: Option<i64>) -> Uuid {
    let mut req = TaskRequest::new(task);
    req.timeout_secs = timeout_secs;
    let spec = h.executor.prepare(req).await.unwrap();
    h.executor
        .submit(spec, NoProgress)
        .await
        .unwrap()
        .execution_id
}

type Events = Arc<Mutex<Vec<ProgressEvent>>>;

/// [`submit`], keeping the progress events the caller's sink gets.
async fn submit_recorded(h: &Harness, task: &str) -> (Uuid, Events) {
    let events = Events::default();
    let sink = {
        let events = events.clone();
        move |e: ProgressEvent| events.lock().unwrap().push(e)
    };
    let spec = h.executor.prepare(TaskRequest::new(task)).await.unwrap();
    let id = h.executor.submit(spec, sink).await.unwrap().execution_id;
    (id, events)
}

/// The pause notices among the events, in order (`paused` / `resumed`).
fn pause_notices(events: &Events) -> Vec<&'static str> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Paused { .. } => Some("paused"),
            ProgressEvent::Resumed { .. } => Some("resumed"),
            _ => None,
        })
        .collect()
}

fn bash_uses(h: &Harness, id: Uuid) -> u32 {
    let s = h.executor.status(id).unwrap();
    s.tools_used.get("Bash").copied().unwrap_or(0)
}

/// Waits until the task has made `n` steps (the `ticks` scenario's tool uses).
async fn until_steps(h: &Harness, id: Uuid, n: u32) {
    let ok = eventually_async(Duration::from_secs(20), || bash_uses(h, id) >= n).await;
    assert!(ok, "{:#?}", h.executor.status(id));
}

fn raw_len(h: &Harness, id: Uuid) -> u64 {
    let path = h
        .root()
        .join("data")
        .join("raw")
        .join(format!("{id}.1.jsonl"));
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Every process of the task is stopped (`T`), and there are `at_least` of them.
async fn all_stopped(id: Uuid, at_least: usize) {
    let ok = eventually_async(Duration::from_secs(5), || {
        let p = task_processes(id);
        p.len() >= at_least && p.iter().all(|(_, state)| *state == 'T')
    })
    .await;
    assert!(ok, "{:?}", task_processes(id));
}

async fn tree_gone(id: Uuid) {
    let ok = eventually_async(Duration::from_secs(10), || task_processes(id).is_empty()).await;
    assert!(ok, "left behind: {:?}", task_processes(id));
    let me = std::process::id() as i32;
    let ok = eventually_async(Duration::from_secs(5), || zombie_children(me).is_empty()).await;
    assert!(ok, "unreaped: {:?}", zombie_children(me));
}

#[tokio::test]
async fn a_paused_tree_is_stopped_makes_no_progress_and_finishes_after_resume() {
    let h = Harness::new();
    let (id, events) = submit_recorded(&h, "@fake ticks n=20 every=0.1 grandchild=1\ncount").await;
    until_steps(&h, id, 2).await;

    let report = h.executor.pause(id).await.unwrap();
    assert_eq!(report.change, PauseChange::Paused);
    assert!(report.settled);
    assert_eq!(report.status.phase, Phase::Paused);
    assert!(report.status.paused_at.is_some());
    // claude and its grandchild, both stopped.
    all_stopped(id, 2).await;

    // What the tree wrote just before it stopped may still sit in the pipe: let the reader
    // drain it (the raw file stops growing) before taking the measure.
    let mut bytes = raw_len(&h, id);
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = raw_len(&h, id);
        if now == bytes {
            break;
        }
        bytes = now;
    }
    let steps = bash_uses(&h, id);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(bash_uses(&h, id), steps, "no step while paused");
    assert_eq!(raw_len(&h, id), bytes, "no output while paused");
    let monitored = h.executor.lookup(id).await.unwrap();
    assert_eq!(monitored.phase, Phase::Paused);
    assert!(
        monitored.paused_ms.is_some_and(|ms| ms > 0),
        "{monitored:?}"
    );
    let again = h.executor.pause(id).await.unwrap();
    assert_eq!(again.change, PauseChange::AlreadyPaused);

    let resumed = h.executor.resume(id).await.unwrap();
    assert_eq!(resumed.change, PauseChange::Resumed);
    assert_ne!(resumed.status.phase, Phase::Paused);
    assert!(resumed.status.paused_at.is_none());
    let r = h.executor.wait(id).await.unwrap();
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.tools_used.get("Bash"), Some(&20), "every step, none lost");
    assert!(
        r.warnings.iter().any(|w| w.contains("paused 1 time(s)")),
        "{:?}",
        r.warnings
    );
    tree_gone(id).await;
    assert_eq!(
        pause_notices(&events),
        ["paused", "resumed"],
        "the caller is told"
    );
    let again = h.executor.resume(id).await.unwrap_err();
    assert!(matches!(again, PauseError::Finished { .. }), "{again}");
    assert!(again.to_string().contains("already finished"), "{again}");
}

#[tokio::test]
async fn a_pause_longer_than_the_timeout_does_not_time_the_task_out() {
    let h = Harness::new();
    // About a second of work under a 3 s limit, paused for 4 s in the middle.
    let id = submit(&h, "@fake ticks n=10 every=0.1\ncount", Some(3)).await;
    until_steps(&h, id, 1).await;
    let paused = h.executor.pause(id).await.unwrap();
    assert_eq!(paused.change, PauseChange::Paused);
    let left = paused.status.time_left_ms.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let status = h.executor.status(id).unwrap();
    assert_eq!(status.phase, Phase::Paused, "{status:?}");
    assert_eq!(status.time_left_ms, Some(left), "the clock stands still");
    h.executor.resume(id).await.unwrap();
    let r = h.executor.wait(id).await.unwrap();
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
    assert_eq!(r.timeout_secs, Some(3));
}

#[tokio::test]
async fn a_pause_longer_than_the_maximum_ends_cancelled_with_the_reason() {
    let h = Harness::with(|c| c.max_pause = Duration::from_secs(1));
    let (id, events) = submit_recorded(&h, "@fake ticks n=100 every=0.1 grandchild=1\ncount").await;
    until_steps(&h, id, 1).await;
    h.executor.pause(id).await.unwrap();
    let r = h.executor.wait(id).await.unwrap();
    assert_eq!(r.status, Status::Cancelled, "{r:#?}");
    let w = r.warnings.join("\n");
    assert!(w.contains("max_pause_secs (1 s)"), "{w}");
    assert!(
        !w.contains("SIGKILL"),
        "the stopped tree acted on SIGTERM: {w}"
    );
    tree_gone(id).await;
    assert_eq!(pause_notices(&events), ["paused"], "ended, not resumed");
}

#[tokio::test]
async fn cancelling_a_paused_task_kills_and_reaps_its_whole_tree_gracefully() {
    // A long grace: a stopped process that never saw SIGCONT would sit it out, then need
    // SIGKILL (which the result would say).
    let h = Harness::with(|c| c.kill_grace = Duration::from_secs(5));
    let id = submit(
        &h,
        "@fake ticks n=100 every=0.1 grandchild=1\ncount",
        Some(120),
    )
    .await;
    until_steps(&h, id, 1).await;
    h.executor.pause(id).await.unwrap();
    all_stopped(id, 2).await;
    let after = h.executor.cancel(id).await.unwrap();
    assert_eq!(after.phase, Phase::Finished);
    assert_eq!(after.status, Some(Status::Cancelled));
    let r = h.executor.wait(id).await.unwrap();
    assert!(
        !r.warnings.iter().any(|w| w.contains("SIGKILL")),
        "{:?}",
        r.warnings
    );
    tree_gone(id).await;
}

#[tokio::test]
async fn shutdown_stops_a_paused_task() {
    let h = Harness::new();
    let id = submit(
        &h,
        "@fake ticks n=100 every=0.1 grandchild=1\ncount",
        Some(120),
    )
    .await;
    until_steps(&h, id, 1).await;
    h.executor.pause(id).await.unwrap();
    all_stopped(id, 2).await;
    h.executor.shutdown().await;
    let r = h.executor.wait(id).await.unwrap();
    assert_eq!(r.status, Status::Cancelled, "{r:#?}");
    tree_gone(id).await;
}

#[tokio::test]
async fn a_paused_queued_task_keeps_its_place_and_starts_only_when_resumed() {
    let h = Harness::new(); // one task at a time
    let first = submit(&h, "@fake ticks n=5 every=0.1\nfirst", Some(120)).await;
    let second = submit(&h, "@fake success\nsecond", Some(120)).await;
    let paused = h.executor.pause(second).await.unwrap();
    assert_eq!(paused.change, PauseChange::Paused);
    assert_eq!(paused.status.phase, Phase::Paused);
    assert_eq!(paused.status.queue_position, Some(1), "{:?}", paused.status);
    assert_eq!(
        h.executor.wait(first).await.unwrap().status,
        Status::Succeeded
    );
    // Its turn has come; paused, it does not start.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = h.executor.status(second).unwrap();
    assert_eq!(waiting.phase, Phase::Paused, "{waiting:?}");
    assert_eq!(waiting.attempt, 0, "no claude was started: {waiting:?}");
    h.executor.resume(second).await.unwrap();
    let r = h.executor.wait(second).await.unwrap();
    assert_eq!(r.status, Status::Succeeded, "{r:#?}");
}

#[tokio::test]
async fn unknown_and_not_paused_executions_get_clear_answers() {
    let h = Harness::new();
    let unknown = Uuid::new_v4();
    let e = h.executor.pause(unknown).await.unwrap_err();
    assert!(matches!(e, PauseError::Unknown(id) if id == unknown), "{e}");
    let id = submit(&h, "@fake ticks n=10 every=0.1\ncount", Some(120)).await;
    let r = h.executor.resume(id).await.unwrap();
    assert_eq!(r.change, PauseChange::NotPaused);
    h.executor.wait(id).await.unwrap();
    let e = h.executor.pause(id).await.unwrap_err();
    assert!(
        e.to_string().contains("already finished (succeeded)"),
        "{e}"
    );
}
