//! A task's process tree, found by parentage rather than by process group alone.
//!
//! A process group is easy to leave: one `setsid()` (daemonising tools, some test runners,
//! `nohup`-style helpers) and a grandchild is in a group and session of its own, out of reach
//! of `killpg`. So the tree is the set of processes *descended* from the task's root, found by
//! walking `/proc` by parent pid; everything seen is remembered with its start time, so a
//! process that later re-parents away (its parent exited) is still known to be ours, and a pid
//! the kernel reuses for an unrelated process is not mistaken for it. At stop time a scan for
//! the task's environment tag (`CC_EXECUTOR_EXECUTION_ID=<id>`, which every process of the
//! task inherits) finds what re-parented away before any walk saw it.
//!
//! The same walk measures how much CPU the tree used since the last look: the stall watchdog's
//! evidence that a silent task is still working.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::procfs::{self, Stat};

/// What the tree did since the previous look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// CPU clock ticks used by the processes of the tree (and by the children they reaped).
    pub cpu_ticks: u64,
    /// Processes that were not there at the previous look.
    pub new_processes: usize,
    /// Wall time since the previous look.
    pub since: Duration,
}

impl Activity {
    /// Whether the tree did real work: a new process, or CPU use above `min_share` of the
    /// wall time (and at least one tick). The threshold is there because an idle runtime still
    /// wakes up now and then (timers, garbage collection) and burns a tick or two a minute,
    /// while a working build or test run uses a good part of a core.
    pub fn is_busy(&self, ticks_per_second: u64, min_share: f64) -> bool {
        if self.new_processes > 0 {
            return true;
        }
        let needed = (self.since.as_secs_f64() * ticks_per_second as f64 * min_share).max(1.0);
        self.cpu_ticks as f64 >= needed
    }
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    start: u64,
    cpu: u64,
}

/// The processes of one task (or hook): its root, the root's process group, and every
/// descendant seen so far.
#[derive(Debug)]
pub struct Tree {
    root: i32,
    root_start: Option<u64>,
    /// `NAME=value` that every process of the tree carries in its environment.
    tag: Option<Vec<u8>>,
    /// Live members at the last look: pid → start time and CPU ticks.
    seen: HashMap<i32, Seen>,
    last_look: Instant,
}

impl Tree {
    /// The tree rooted at `root` (also the leader of its process group). `tag` is the
    /// environment entry its processes inherit (see [`super::EXECUTION_ENV`]).
    pub fn new(root: i32, tag: Option<String>) -> Tree {
        let root_start = procfs::stat(root).map(|s| s.start_time);
        Tree {
            root,
            root_start,
            tag: tag.map(String::into_bytes),
            seen: HashMap::new(),
            last_look: Instant::now(),
        }
    }

    /// The process group the root leads.
    pub fn pgid(&self) -> i32 {
        self.root
    }

    /// One walk of `/proc`: remembers every live member and says what the tree did since
    /// the last look. Cheap enough for every heartbeat (one read of each `/proc/<pid>/stat`).
    pub fn observe(&mut self) -> Activity {
        let all = procfs::all();
        let members = self.members(&all, false);
        let now = Instant::now();
        let mut activity = Activity {
            cpu_ticks: 0,
            new_processes: 0,
            since: now.duration_since(self.last_look),
        };
        let mut next = HashMap::with_capacity(members.len());
        for m in &members {
            match self.seen.get(&m.pid) {
                Some(prev) if prev.start == m.start_time => {
                    activity.cpu_ticks += m.cpu_ticks.saturating_sub(prev.cpu);
                }
                _ => {
                    activity.new_processes += 1;
                    activity.cpu_ticks += m.cpu_ticks;
                }
            }
            next.insert(
                m.pid,
                Seen {
                    start: m.start_time,
                    cpu: m.cpu_ticks,
                },
            );
        }
        self.seen = next;
        self.last_look = now;
        activity
    }

    /// The live (non-zombie) processes of the tree now: a walk from the root, from every
    /// process seen before and from the root's group, and — with `scan_env` — from every
    /// process carrying the tag (the stop-time scan). This process itself is never included.
    ///
    /// The usual end of a task — the root exited and left nothing — costs a few reads, not a
    /// scan of `/proc`: as a subreaper whose root has exited, anything left is our child or a
    /// descendant of one, so a look at our own children settles it.
    pub fn live(&mut self, scan_env: bool) -> Vec<Stat> {
        if scan_env && self.surely_empty() {
            return Vec::new();
        }
        let all = procfs::all();
        let members = self.members(&all, scan_env);
        for m in &members {
            self.seen.entry(m.pid).or_insert(Seen {
                start: m.start_time,
                cpu: m.cpu_ticks,
            });
        }
        members
    }

    /// Whether nothing of the tree can be left, known without scanning `/proc`. Only when
    /// the root has exited and this process is a child subreaper: then every process the
    /// tree left behind was re-parented to the nearest subreaper among its ancestors — us, or
    /// a process of the tree that is itself our descendant — so each one is our child or a
    /// descendant of one. No unregistered live child outside our own group, no live process
    /// in the root's group and nothing remembered still alive: nothing is left.
    fn surely_empty(&self) -> bool {
        if self.root_start.is_some()
            && procfs::stat(self.root).map(|s| s.start_time) == self.root_start
        {
            return false; // the root still runs (or is an unreaped zombie)
        }
        if !super::reaper::is_subreaper() {
            return false;
        }
        let Some(children) = procfs::own_children() else {
            return false;
        };
        let own_group = nix::unistd::getpgrp().as_raw();
        let registered = super::reaper::spawned();
        let orphans = children
            .into_iter()
            .filter(|pid| !registered.contains_key(pid))
            .filter_map(procfs::stat)
            .any(|s| !s.is_zombie() && s.pgid != own_group);
        drop(registered);
        if orphans {
            return false;
        }
        let group = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.root), None).is_ok();
        let remembered = self
            .seen
            .iter()
            .any(|(pid, seen)| procfs::stat(*pid).is_some_and(|s| s.start_time == seen.start));
        !group && !remembered
    }

    /// Whether the root's group id still names the root's group: a process group id stays
    /// reserved while any member lives, so it can only have been reused once the group was
    /// empty — and then a process with that pid exists that is not our root.
    pub fn group_is_ours(&self, all: &[Stat]) -> bool {
        match all.iter().find(|s| s.pid == self.root) {
            Some(s) => Some(s.start_time) == self.root_start,
            None => true,
        }
    }

    fn members(&self, all: &[Stat], scan_env: bool) -> Vec<Stat> {
        let me = std::process::id() as i32;
        let by_pid: HashMap<i32, &Stat> = all.iter().map(|s| (s.pid, s)).collect();
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for s in all {
            children.entry(s.ppid).or_default().push(s.pid);
        }
        let group_ours = self.group_is_ours(all);
        let mut start: Vec<i32> = Vec::new();
        if let Some(r) = by_pid.get(&self.root)
            && Some(r.start_time) == self.root_start
        {
            start.push(self.root);
        }
        for (pid, seen) in &self.seen {
            if by_pid.get(pid).is_some_and(|s| s.start_time == seen.start) {
                start.push(*pid);
            }
        }
        if group_ours {
            start.extend(all.iter().filter(|s| s.pgid == self.root).map(|s| s.pid));
        }
        if scan_env && let Some(tag) = &self.tag {
            // Nothing of the task can have started before its root: that filter spares
            // reading the environment of nearly every process on the machine.
            let not_before = self.root_start.unwrap_or(0);
            start.extend(
                all.iter()
                    .filter(|s| s.start_time >= not_before && s.pid != me && !s.is_zombie())
                    .filter(|s| procfs::has_env_entry(s.pid, tag))
                    .map(|s| s.pid),
            );
        }
        let mut found: HashSet<i32> = HashSet::new();
        let mut queue = start;
        while let Some(pid) = queue.pop() {
            if pid == me || !found.insert(pid) {
                continue;
            }
            if let Some(kids) = children.get(&pid) {
                queue.extend(kids.iter().copied());
            }
        }
        let mut out: Vec<Stat> = found
            .into_iter()
            .filter_map(|pid| by_pid.get(&pid).copied().copied())
            .filter(|s| !s.is_zombie())
            .collect();
        out.sort_by_key(|s| s.pid);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_means_a_new_process_or_cpu_above_the_share() {
        let a = |cpu_ticks, new_processes, secs| Activity {
            cpu_ticks,
            new_processes,
            since: Duration::from_secs(secs),
        };
        assert!(a(0, 1, 10).is_busy(100, 0.01), "a new process");
        assert!(!a(0, 0, 10).is_busy(100, 0.01), "idle");
        assert!(!a(9, 0, 10).is_busy(100, 0.01), "a timer's worth");
        assert!(a(10, 0, 10).is_busy(100, 0.01), "1 % of a core");
        assert!(a(1, 0, 0).is_busy(100, 0.01), "at least one tick counts");
    }
}
