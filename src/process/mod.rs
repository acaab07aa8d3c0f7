//! Supervision of the processes a task starts: spawning, finding, stopping, reaping.
//!
//! A task is more than its `claude` process: tools start shells, shells start builds, builds
//! start daemons, and any of them may `setsid()` out of the process group or double-fork away
//! from its parent. None of them may outlive the task, and none may linger as a zombie.
//!
//! - Spawning ([`spawn`]): every `claude` (and hook) leads its own process group, dies with
//!   the server (`PR_SET_PDEATHSIG`, see [`spawn`] for the thread caveat), and is registered so
//!   the reaper never takes its exit status from tokio.
//! - Finding ([`tree`]): the task's processes are its root's descendants by parent pid, walked
//!   in `/proc` while it runs (on the heartbeat) and at stop time, remembered with their start
//!   times; at stop time also every process carrying the task's [`EXECUTION_ENV`] entry, which
//!   catches what re-parented away before any walk saw it.
//! - Stopping ([`TreeGuard::terminate`]): SIGTERM (and SIGCONT, for a paused tree) to the
//!   group and every other member, a grace period, SIGKILL to whatever is left — on every way a task ends (exit, timeout,
//!   cancel, stall), and SIGKILL from `Drop` on the ways nobody planned (a panic, a dropped
//!   future).
//! - Reaping ([`reaper`]): after [`install_supervision`] this process is a child subreaper —
//!   orphans of its tasks are re-parented to it rather than to an init that may never reap
//!   them (containers) — and a `SIGCHLD`-driven reaper waits for each one as soon as it exits.
//!
//! Why no cgroup per task: it would be the one container nothing can leave, but creating one
//! needs a delegated, writable cgroup v2 subtree (root, or a systemd user slice with
//! delegation). An MCP server started by Claude Code, in a container or a plain login
//! session, usually has neither, so it could only ever be an optional extra; the walk, the
//! environment tag and the subreaper work everywhere `/proc` does.

pub mod owner;
pub mod procfs;
pub mod reaper;
pub mod tree;

use std::io;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

pub use reaper::{Registration, reap_adopted};
pub use tree::{Activity, Tree};

/// What [`install_supervision`] set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Supervision {
    /// This process is a child subreaper: orphans of its tasks become its children.
    pub subreaper: bool,
    /// The `SIGCHLD` reaper's thread was started: moments later it listens (see
    /// [`reaper::reaper_running`]), reaps whatever exited before, and from then on reaps
    /// adopted processes as soon as they exit.
    pub reaper: bool,
}

/// Makes this process the supervisor of everything its tasks start: a child subreaper, with a
/// `SIGCHLD`-driven reaper on a thread of its own (see [`reaper`]). Process-wide and for the
/// life of the process, so it is the program's decision, not a side effect of creating an
/// [`crate::Executor`]: the binary calls it first thing; a program that embeds the executor
/// calls it if it wants the same guarantees. Idempotent. Where something cannot be set up
/// (not Linux, no `/proc`), it says so in a warning and in the answer, and tasks still run:
/// they are stopped all the same, but orphans go to init.
pub fn install_supervision() -> Supervision {
    static STATE: OnceLock<Supervision> = OnceLock::new();
    *STATE.get_or_init(|| Supervision {
        subreaper: reaper::become_subreaper(),
        reaper: reaper::start_reaper(),
    })
}

/// Spawns `cmd` as a supervised child: it dies with this process, and its exit status is left
/// to tokio (the reaper skips it until the returned [`Registration`] is dropped — keep it
/// until `wait` has returned). Set the process group on `cmd` before; this adds no shell and
/// changes nothing else.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked exits, not the process. Spawns
/// happen in async tasks, that is on tokio worker threads (or the thread running `block_on`),
/// which live as long as the runtime — until the process winds down, when the child should go
/// anyway. Never call this from `spawn_blocking` or inside `block_in_place`: a blocking-pool
/// thread exits after a few idle seconds and would take the child with it.
pub fn spawn(
    cmd: &mut tokio::process::Command,
) -> io::Result<(tokio::process::Child, Option<Registration>)> {
    die_with_parent(cmd);
    // Held across the spawn: a child that exits at once is registered before the reaper can
    // see its zombie.
    let mut registered = reaper::spawned();
    let child = cmd.spawn()?;
    let registration = child
        .id()
        .map(|pid| Registration::new(&mut registered, pid as i32));
    Ok((child, registration))
}

/// Asks the kernel to SIGKILL the child when the thread that spawned it exits (a SIGKILLed
/// server leaves no `claude` running unattended); see [`cc_executor_sys::die_with_parent`].
fn die_with_parent(cmd: &mut tokio::process::Command) {
    cc_executor_sys::die_with_parent(cmd);
}

/// The processes of one task (or hook) that must be gone when it ends: its root's process
/// group, every descendant, and whatever carries its [`EXECUTION_ENV`] entry.
///
/// When dropped without [`TreeGuard::disarm`] (a panic, a dropped future) it SIGKILLs all of
/// them, so even then nothing is left behind.
#[derive(Debug)]
pub struct TreeGuard {
    tree: Mutex<Tree>,
    armed: bool,
}

impl TreeGuard {
    /// The tree of `leader_pid` (which leads its own process group). With `execution_id`,
    /// the stop-time scan also finds processes that carry it and re-parented away.
    pub fn new(leader_pid: u32, execution_id: Option<&uuid::Uuid>) -> Self {
        let tag = execution_id.map(|id| format!("{EXECUTION_ENV}={id}"));
        TreeGuard {
            tree: Mutex::new(Tree::new(leader_pid as i32, tag)),
            armed: true,
        }
    }

    fn tree(&self) -> MutexGuard<'_, Tree> {
        self.tree.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn pgid(&self) -> i32 {
        self.tree().pgid()
    }

    /// Walks the tree (cheap: one read of each `/proc/<pid>/stat`), remembering every member,
    /// and says what it did since the last walk.
    pub fn observe(&self) -> Activity {
        self.tree().observe()
    }

    /// Pids of the live members now, including processes that left the group or re-parented
    /// away (the thorough stop-time search).
    pub fn live(&self) -> Vec<i32> {
        self.tree().live(true).iter().map(|s| s.pid).collect()
    }

    /// Sends `sig` to every live member: `killpg` for the group (which also reaches a process
    /// forked a moment ago) and `kill` for each member outside it. Returns whether anything
    /// was alive. Members are found right before, by pid *and* start time, so a recycled pid
    /// is never signalled.
    pub fn signal(&self, sig: Signal) -> bool {
        let mut tree = self.tree();
        let pgid = tree.pgid();
        let members = tree.live(true);
        if members.is_empty() {
            return false;
        }
        if members.iter().any(|m| m.pgid == pgid) {
            let _ = killpg(Pid::from_raw(pgid), sig);
        }
        for m in members.iter().filter(|m| m.pgid != pgid) {
            let _ = kill(Pid::from_raw(m.pid), sig);
        }
        true
    }

    /// SIGTERM, up to `grace` for everything to exit, then SIGKILL; reaps what it adopted.
    /// Returns `true` when SIGKILL was needed.
    ///
    /// SIGCONT follows the SIGTERM: a stopped process (a paused task, or one the task itself
    /// stopped) keeps a SIGTERM pending until it is continued, so without it a paused task
    /// would sit out the whole grace and always need SIGKILL. Sent after the SIGTERM, so that
    /// a process continued by it finds the SIGTERM already pending; to a running process it
    /// does nothing.
    pub async fn terminate(&self, grace: Duration) -> bool {
        let mut killed = false;
        if self.signal(Signal::SIGTERM) {
            self.signal(Signal::SIGCONT);
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline && !self.live().is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if self.signal(Signal::SIGKILL) {
                killed = true;
                // SIGKILL cannot be ignored; give the kernel a moment to deliver it.
                let deadline = Instant::now() + Duration::from_secs(2);
                while Instant::now() < deadline && !self.live().is_empty() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        self.reap_orphans();
        killed
    }

    /// Reaps exited members that were re-parented to us — unless the `SIGCHLD` reaper of
    /// [`install_supervision`] runs: then it has done so as each one exited, and another pass
    /// here would only cost time.
    pub fn reap_orphans(&self) {
        if !reaper::reaper_running() {
            reap_adopted();
        }
    }

    /// The tree was cleaned up; dropping no longer kills anything.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TreeGuard {
    fn drop(&mut self) {
        if self.armed {
            // Last resort (a panic or a dropped future): no grace, but no orphans either.
            self.signal(Signal::SIGKILL);
            self.reap_orphans();
        }
    }
}

/// The variable every `claude` process (and so every process it starts) gets: which execution
/// it belongs to. It outlives us: after a crash, [`kill_leftovers`] finds the processes of an
/// interrupted execution by it, pid reuse notwithstanding; while we run, the stop-time scan
/// of [`TreeGuard`] finds by it what left the tree.
pub const EXECUTION_ENV: &str = "CC_EXECUTOR_EXECUTION_ID";

/// Kills (SIGKILL, whole process groups) whatever is still running of execution `id` — the
/// `claude` of a run whose driver crashed, and everything it started. Returns how many
/// processes were found. Processes of other users are out of reach and skipped.
#[cfg(target_os = "linux")]
pub fn kill_leftovers(id: &uuid::Uuid) -> usize {
    let needle = format!("{EXECUTION_ENV}={id}");
    let mut groups = std::collections::BTreeSet::new();
    let mut found = 0;
    for pid in procfs::pids() {
        if !procfs::has_env_entry(pid, needle.as_bytes()) {
            continue;
        }
        found += 1;
        match nix::unistd::getpgid(Some(Pid::from_raw(pid))) {
            Ok(pg) if pg.as_raw() > 1 && pg != nix::unistd::getpgrp() => {
                groups.insert(pg.as_raw());
            }
            _ => {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
    for pg in groups {
        let _ = killpg(Pid::from_raw(pg), Signal::SIGKILL);
    }
    found
}

/// Without `/proc` leftovers cannot be found.
#[cfg(not(target_os = "linux"))]
pub fn kill_leftovers(_id: &uuid::Uuid) -> usize {
    0
}
