//! Helpers shared by the benchmarks: statistics over samples, a watchdog that kills a
//! runaway child, and a clean environment for the processes under test.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

/// SIGKILLs `pid` if still armed after `limit`, so no run can hang the bench.
pub struct Watchdog {
    disarm: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}
impl Watchdog {
    pub fn new(pid: u32, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("watchdog: pid {pid} still running after {limit:?}; killing it");
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        });
        Watchdog {
            disarm: Some(tx),
            thread: Some(thread),
        }
    }
}
/// Disarms the watchdog: the child finished in time.
impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
pub fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}
pub fn median(v: &[f64]) -> f64 {
    let s = sorted(v);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}
/// Nearest-rank 90th percentile.
pub fn p90(v: &[f64]) -> f64 {
    let s = sorted(v);
    if s.is_empty() {
        return f64::NAN;
    }
    let rank = ((0.9 * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[rank - 1]
}
pub fn runs_from_env(default: usize) -> usize {
    std::env::var("CC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=1000).contains(n))
        .unwrap_or(default)
}
/// No user config and no inherited settings for either path.
pub fn clean_env(cmd: &mut Command, tmp: &Path) {
    for (k, _) in std::env::vars_os() {
        let k_str = k.to_string_lossy();
        if k_str.starts_with("CC_EXECUTOR_") || k_str.starts_with("FAKE_CLAUDE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("RUST_LOG")
        .env("XDG_CONFIG_HOME", tmp.join("xdg-config"))
        .env("XDG_DATA_HOME", tmp.join("xdg-data"));
}
