//! Reaping what this process adopts.
//!
//! As a *child subreaper* (Linux `PR_SET_CHILD_SUBREAPER`), this process becomes the parent
//! of every orphan of its task trees: a tool whose parent (`claude`) exited, a daemon that
//! double-forked. Nobody else will `wait` for those, so each one that exits stays a zombie —
//! an entry in the process table — until this process exits. The reaper waits for them as
//! soon as they exit: on every `SIGCHLD` it looks at this process's zombie children and reaps
//! the ones that no one else is waiting for.
//!
//! "No one else" is the careful part: tokio waits for the `claude` and hook processes it
//! spawned, by pid, and stealing such an exit status would turn a clean exit into an error.
//! So those are registered at spawn time (see [`super::spawn`]) and never touched, and neither
//! is any child in this process's own process group — every task and hook runs in a group of
//! its own, so a child in ours is one its embedding program spawned itself and may wait for.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::procfs;

/// Children spawned through [`super::spawn`] whose exit status belongs to whoever spawned
/// them: pid → start time. Held locked while spawning, so a child that exits at once cannot
/// be reaped in the moment before it is registered.
static SPAWNED: Mutex<BTreeMap<i32, u64>> = Mutex::new(BTreeMap::new());

/// The registry, even if a thread panicked while holding it (the map stays consistent: every
/// change is one insert or remove).
pub(super) fn spawned() -> MutexGuard<'static, BTreeMap<i32, u64>> {
    SPAWNED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps a spawned child out of the reaper's hands until dropped (after its exit status was
/// collected).
#[derive(Debug)]
pub struct Registration {
    pid: i32,
    start: u64,
}

impl Registration {
    /// Registers `pid`; call with the registry lock held across the spawn.
    pub(super) fn new(map: &mut BTreeMap<i32, u64>, pid: i32) -> Registration {
        let start = procfs::stat(pid).map_or(0, |s| s.start_time);
        map.insert(pid, start);
        Registration { pid, start }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut map = spawned();
        if map.get(&self.pid) == Some(&self.start) {
            map.remove(&self.pid);
        }
    }
}

/// Makes this process a child subreaper, so orphans of its task trees are re-parented to it
/// (and can be found and reaped) instead of to init. Returns whether it is one.
pub(super) fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        match nix::sys::prctl::set_child_subreaper(true) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("could not become a child subreaper: {e}; orphans go to init");
                false
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Whether this process is a child subreaper now.
pub fn is_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        nix::sys::prctl::get_child_subreaper().unwrap_or(false)
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// One pass: reaps every zombie child of this process that nobody else waits for (see the
/// module docs). Returns how many were reaped. Cheap when there is nothing to do: it reads
/// this process's `children` files, not all of `/proc`.
pub fn reap_adopted() -> usize {
    let me = std::process::id() as i32;
    let own_group = nix::unistd::getpgrp().as_raw();
    let children = procfs::own_children().unwrap_or_else(|| {
        procfs::all()
            .into_iter()
            .filter(|s| s.ppid == me)
            .map(|s| s.pid)
            .collect()
    });
    let zombies: Vec<i32> = children
        .into_iter()
        .filter_map(procfs::stat)
        .filter(|s| s.is_zombie() && s.ppid == me && s.pgid != own_group)
        .map(|s| s.pid)
        .collect();
    if zombies.is_empty() {
        return 0;
    }
    // Only now the registry: a child seen above was forked before this lock is taken, and a
    // spawn holds the lock from before its fork until the child is registered — so the check
    // below sees every registration that matters. (A zombie's pid cannot be reused until it is
    // reaped, so it cannot become someone else's in between.)
    let unclaimed: Vec<i32> = {
        let registered = spawned();
        zombies
            .into_iter()
            .filter(|pid| !registered.contains_key(pid))
            .collect()
    };
    let mut reaped = 0;
    for pid in unclaimed {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => {}
            Ok(_) => {
                tracing::debug!(pid, "reaped an adopted process");
                reaped += 1;
            }
        }
    }
    reaped
}

/// Whether the `SIGCHLD` reaper runs in this process (then nobody else needs to reap).
pub fn reaper_running() -> bool {
    REAPER_RUNNING.load(std::sync::atomic::Ordering::Relaxed)
}

static REAPER_RUNNING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs [`reap_adopted`] on every `SIGCHLD`, for the life of the process, on a thread of its
/// own (with a one-thread runtime): it must outlive whichever runtime installed it — a test's
/// runtime ends with the test. Returns whether the thread was started.
///
/// The caller does not wait for the thread to listen (building its runtime and registering the
/// signal is a fair part of a cold start, and nothing needs it yet: no task has started).
/// Nothing is missed meanwhile: once listening, the thread first reaps whatever exited before,
/// and until then [`reaper_running`] is false, so a task that ends reaps after itself.
pub(super) fn start_reaper() -> bool {
    let spawned = std::thread::Builder::new()
        .name("cc-executor-reaper".into())
        .spawn(|| {
            let cannot = |e: String| {
                tracing::warn!(
                    "cannot listen for SIGCHLD: {e}; adopted processes are reaped only when a task ends"
                );
            };
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return cannot(e.to_string()),
            };
            runtime.block_on(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let mut sigchld = match signal(SignalKind::child()) {
                    Ok(s) => s,
                    Err(e) => return cannot(e.to_string()),
                };
                REAPER_RUNNING.store(true, std::sync::atomic::Ordering::Relaxed);
                // Whatever exited before the listener existed.
                reap_adopted();
                while sigchld.recv().await.is_some() {
                    reap_adopted();
                }
            });
        });
    match spawned {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(
                "cannot start the reaper thread: {e}; adopted processes are reaped only when a task ends"
            );
            false
        }
    }
}
