//! What `/proc` says about processes: the few fields of `/proc/<pid>/stat` supervision needs,
//! the children of this process, and whether a process carries an environment entry.
//!
//! Everything here is a best-effort read of a moving target: a process can exit between
//! listing `/proc` and reading its files, so every read may come back empty and callers treat
//! "unreadable" as "not there".

/// One process, from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub pid: i32,
    /// `R`, `S`, `D`, `Z` (zombie), `X` (dead), …
    pub state: char,
    pub ppid: i32,
    pub pgid: i32,
    pub sid: i32,
    /// CPU time in clock ticks: its own (`utime + stime`) plus that of the children it has
    /// waited for (`cutime + cstime`) — so a `make` whose compilers come and go between two
    /// looks still shows their work.
    pub cpu_ticks: u64,
    /// Clock ticks after boot when it started: with the pid, it names one process for good
    /// (a pid alone may be reused once the process is gone).
    pub start_time: u64,
}

impl Stat {
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z' || self.state == 'X'
    }
}

/// Parses the text of `/proc/<pid>/stat`. The command name is in parentheses and may contain
/// spaces and parentheses itself, so fields are counted from the *last* `)`.
pub fn parse_stat(pid: i32, text: &str) -> Option<Stat> {
    let rest = text.get(text.rfind(')')? + 1..)?;
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) session(6) … utime(14) stime(15) cutime(16)
    // cstime(17) … starttime(22); f[0] is field 3.
    let num = |i: usize| -> Option<u64> { f.get(i)?.parse().ok() };
    let int = |i: usize| -> Option<i32> { f.get(i)?.parse().ok() };
    Some(Stat {
        pid,
        state: f.first()?.chars().next()?,
        ppid: int(1)?,
        pgid: int(2)?,
        sid: int(3)?,
        cpu_ticks: num(11)?
            .saturating_add(num(12)?)
            .saturating_add(num(13)?)
            .saturating_add(num(14)?),
        start_time: num(19)?,
    })
}

/// Reads one process's stat; `None` when it is gone (or `/proc` is not there).
pub fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(pid, &text)
}

/// Every pid in `/proc` (processes, not threads).
pub fn pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// Every process's stat.
pub fn all() -> Vec<Stat> {
    pids().into_iter().filter_map(stat).collect()
}

/// The direct children of this process (zombies included), from the `children` file of each
/// of its threads: a child belongs to the thread that forked it, and an adopted orphan to
/// whichever thread the kernel picked. `None` when the kernel has no such files; then the
/// caller scans all of `/proc`.
pub fn own_children() -> Option<Vec<i32>> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut out = Vec::new();
    let mut any = false;
    for task in tasks.filter_map(|e| e.ok()) {
        // A thread may exit between listing and reading: skip it. If no thread's file can be
        // read at all, the kernel lacks them (CONFIG_PROC_CHILDREN).
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            any = true;
            out.extend(
                text.split_ascii_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    any.then_some(out)
}

/// Whether process `pid` has `entry` (`NAME=value`) in its environment. Unreadable (another
/// user's process, a zombie, gone) is `false`.
pub fn has_env_entry(pid: i32, entry: &[u8]) -> bool {
    match std::fs::read(format!("/proc/{pid}/environ")) {
        Ok(env) => env.split(|b| *b == 0).any(|var| var == entry),
        Err(_) => false,
    }
}

/// Clock ticks per second, the unit of [`Stat::cpu_ticks`].
pub fn ticks_per_second() -> u64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as u64,
        // USER_HZ is 100 on every architecture Linux userspace sees in practice.
        _ => 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_spaces_and_parentheses_do_not_shift_the_fields() {
        let text = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 1 0 987654 1000000 100 18446744073709551615";
        let s = parse_stat(4242, text).unwrap();
        assert_eq!(
            (s.state, s.ppid, s.pgid, s.sid, s.cpu_ticks, s.start_time),
            ('S', 1, 4242, 4242, 13, 987654)
        );
        assert!(!s.is_zombie());
        assert!(parse_stat(1, "1 (x) Z 0").is_none(), "truncated");
    }

    #[test]
    fn this_process_reads_as_itself() {
        let me = std::process::id() as i32;
        let s = stat(me).unwrap();
        assert_eq!(s.pid, me);
        assert_eq!(s.pgid, nix::unistd::getpgrp().as_raw());
        assert!(s.start_time > 0);
        assert!(own_children().is_some(), "this kernel has children files");
    }
}
