//! Who drives a run: this process, another live one, or nobody (the driver crashed).
//!
//! A run records its driver as host + pid + the pid's start time. On the same host a pid is
//! alive *and the same process* only when its `/proc/<pid>/stat` start time matches, so a
//! recycled pid never blocks a resume. Across hosts (a shared Redis) liveness cannot be
//! checked; a resume there needs `force`.

use crate::types::run::RunOwner;

/// This process (read once: it does not change, and every submission journals it).
pub fn current() -> RunOwner {
    static ME: std::sync::OnceLock<RunOwner> = std::sync::OnceLock::new();
    ME.get_or_init(|| {
        let pid = std::process::id();
        RunOwner {
            host: hostname(),
            pid,
            pid_start: start_time(pid),
        }
    })
    .clone()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Start time of a process (clock ticks after boot; field 22 of `/proc/<pid>/stat`).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// What is known of a recorded driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// This very process.
    Us,
    /// Another live process on this host.
    Alive,
    /// Gone (or the pid now belongs to another process).
    Gone,
    /// On another host: cannot tell.
    Unknown,
}

pub fn liveness(owner: &RunOwner) -> Liveness {
    let me = current();
    if owner.host != me.host {
        return Liveness::Unknown;
    }
    if owner.pid == me.pid && owner.pid_start == me.pid_start {
        return Liveness::Us;
    }
    match (start_time(owner.pid), owner.pid_start) {
        (Some(now), Some(then)) if now == then => Liveness::Alive,
        (Some(_), None) => Liveness::Alive,
        _ => Liveness::Gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_us_and_a_dead_pid_is_gone() {
        let me = current();
        assert!(me.pid_start.is_some());
        assert_eq!(liveness(&me), Liveness::Us);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = RunOwner {
            pid,
            pid_start: Some(1),
            ..me.clone()
        };
        assert_eq!(liveness(&gone), Liveness::Gone);
        let elsewhere = RunOwner {
            host: format!("{}-other", me.host),
            ..me
        };
        assert_eq!(liveness(&elsewhere), Liveness::Unknown);
    }

    #[test]
    fn a_recycled_pid_is_not_the_driver() {
        let me = current();
        let recycled = RunOwner {
            pid: 1,
            pid_start: Some(u64::MAX),
            ..me
        };
        assert_eq!(liveness(&recycled), Liveness::Gone);
    }
}
