//! Process groups: the unit we stop and clean up.
//!
//! `claude` runs as the leader of its own process group, so its tools and their children
//! (grandchildren of ours) can be signalled together. Stopping is always SIGTERM to the group,
//! a grace period, then SIGKILL. On Linux the executor makes this process a *child
//! subreaper*, so group members orphaned by the leader's exit are re-parented to us and we reap
//! them ourselves: no zombie is left for an init that may not reap (containers).
//!
//! A [`GroupGuard`] SIGKILLs the group when dropped unless it was cleaned up properly, so even a
//! panic or a dropped future leaves no process behind.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Makes this process a child subreaper (Linux) so orphaned grandchildren become ours to reap.
/// Idempotent; harmless where unsupported.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            tracing::warn!("could not become a child subreaper: {e}; orphans go to init");
        }
    }
}

/// A member of a process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub pid: i32,
    pub zombie: bool,
}

/// Lists the processes whose process group is `pgid` (Linux: from `/proc`).
#[cfg(target_os = "linux")]
pub fn group_members(pgid: i32) -> Vec<Member> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name is in parentheses and may contain spaces: parse after the last ')'.
            let rest = &stat[stat.rfind(')')? + 2..];
            let mut fields = rest.split_ascii_whitespace();
            let state = fields.next()?;
            let _ppid = fields.next()?;
            let pg: i32 = fields.next()?.parse().ok()?;
            (pg == pgid).then_some(Member {
                pid,
                zombie: state == "Z" || state == "X",
            })
        })
        .collect()
}

/// Where `/proc` is missing, a signal-0 probe tells whether the group has any process.
#[cfg(not(target_os = "linux"))]
pub fn group_members(pgid: i32) -> Vec<Member> {
    match killpg(Pid::from_raw(pgid), None) {
        Ok(()) => vec![Member {
            pid: pgid,
            zombie: false,
        }],
        Err(_) => Vec::new(),
    }
}

/// A process group we started and must leave empty.
#[derive(Debug)]
pub struct GroupGuard {
    pgid: i32,
    /// The group leader is reaped by tokio, never by us.
    leader: i32,
    armed: bool,
}

impl GroupGuard {
    pub fn new(leader_pid: u32) -> Self {
        GroupGuard {
            pgid: leader_pid as i32,
            leader: leader_pid as i32,
            armed: true,
        }
    }

    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Whether any process (zombies included) is left in the group. A signal-0 probe: cheap,
    /// so the common case (the leader was the only member) never scans `/proc`.
    fn exists(&self) -> bool {
        killpg(Pid::from_raw(self.pgid), None).is_ok()
    }

    /// Live (non-zombie) members.
    pub fn live_members(&self) -> Vec<i32> {
        if !self.exists() {
            return Vec::new();
        }
        group_members(self.pgid)
            .into_iter()
            .filter(|m| !m.zombie)
            .map(|m| m.pid)
            .collect()
    }

    /// Sends `sig` to the group if anything in it is alive. Checking first avoids signalling a
    /// recycled group id after everything exited.
    pub fn signal(&self, sig: Signal) -> bool {
        if self.live_members().is_empty() {
            return false;
        }
        killpg(Pid::from_raw(self.pgid), sig).is_ok()
    }

    /// SIGTERM, up to `grace` for the group to exit, then SIGKILL; then reaps what it can.
    /// Returns `true` when SIGKILL was needed.
    pub async fn terminate(&self, grace: Duration) -> bool {
        let mut killed = false;
        if self.signal(Signal::SIGTERM) {
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline && !self.live_members().is_empty() {
                self.reap_orphans();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if self.signal(Signal::SIGKILL) {
                killed = true;
                // SIGKILL cannot be ignored; give the kernel a moment to deliver it.
                let deadline = Instant::now() + Duration::from_secs(2);
                while Instant::now() < deadline && !self.live_members().is_empty() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        self.reap_orphans();
        killed
    }

    /// Reaps exited group members that were re-parented to us (we are a subreaper).
    pub fn reap_orphans(&self) {
        if !self.exists() {
            return;
        }
        for m in group_members(self.pgid) {
            if m.zombie && m.pid != self.leader {
                // Not our child (no subreaper) → ECHILD; init will reap it instead.
                let _ = nix::sys::wait::waitpid(
                    Pid::from_raw(m.pid),
                    Some(nix::sys::wait::WaitPidFlag::WNOHANG),
                );
            }
        }
    }

    /// The group was cleaned up; dropping no longer kills anything.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            // Last resort (a panic or a dropped future): no grace, but no orphans either.
            let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGKILL);
            self.reap_orphans();
        }
    }
}

/// The variable every `claude` process (and so every process it starts) gets: which execution
/// it belongs to. It outlives us: after a crash, [`kill_leftovers`] finds the processes of an
/// interrupted execution by it, pid reuse notwithstanding.
pub const EXECUTION_ENV: &str = "CC_EXECUTOR_EXECUTION_ID";

/// Kills (SIGKILL, whole process groups) whatever is still running of execution `id` — the
/// `claude` of a run whose driver crashed, and everything it started. Returns how many
/// processes were found. Processes of other users are out of reach and skipped.
#[cfg(target_os = "linux")]
pub fn kill_leftovers(id: &uuid::Uuid) -> usize {
    let needle = format!("{EXECUTION_ENV}={id}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut groups = std::collections::BTreeSet::new();
    let mut found = 0;
    for pid in dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
    {
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if !env.split(|b| *b == 0).any(|var| var == needle.as_bytes()) {
            continue;
        }
        found += 1;
        match nix::unistd::getpgid(Some(Pid::from_raw(pid))) {
            Ok(pg) if pg.as_raw() > 1 && pg != nix::unistd::getpgrp() => {
                groups.insert(pg.as_raw());
            }
            _ => {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
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
