//! Helpers shared by the benchmarks: statistics over samples, a watchdog that kills a
//! runaway child, and a clean environment for the processes under test.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The binaries under test: ours, the fake `claude`, and the bare rmcp baseline.
pub struct Bins {
    pub ours: PathBuf,
    pub fake: PathBuf,
    pub bare: PathBuf,
}

impl Bins {
    pub fn locate() -> Bins {
        // `scripts/bench` points this at a snapshot of the binaries, so that a rebuild by
        // someone else during the run cannot change what is measured.
        let dir = std::env::var_os("CC_BENCH_BIN_DIR").map(PathBuf::from);
        let ours = match &dir {
            Some(d) => d.join("cc-executor"),
            None => PathBuf::from(env!("CARGO_BIN_EXE_cc-executor")),
        };
        let examples = dir.unwrap_or_else(|| {
            ours.parent()
                .expect("the binary has a directory")
                .join("examples")
        });
        let bins = Bins {
            bare: examples.join("bare_mcp_server"),
            fake: examples.join("fake_claude"),
            ours,
        };
        for p in [&bins.ours, &bins.bare, &bins.fake] {
            if !p.is_file() {
                eprintln!(
                    "missing {}: run `cargo build --release --bins --examples` first",
                    p.display()
                );
                std::process::exit(2);
            }
        }
        bins
    }
}

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

/// Longest a benchmark's server may live.
pub const MCP_SERVER_LIMIT: Duration = Duration::from_secs(600);

/// A long-lived `cc-executor mcp`, initialized once.
pub struct McpServer {
    pub child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
    next_id: u64,
    dog: Option<Watchdog>,
}

impl McpServer {
    /// `cc-executor mcp` on `data`, with `extra` flags before `mcp`.
    pub fn start(
        bins: &Bins,
        tmp: &Path,
        data: &Path,
        extra: &[&str],
    ) -> Result<McpServer, String> {
        let mut cmd = Command::new(&bins.ours);
        cmd.args(extra)
            .arg("mcp")
            .arg("--claude-bin")
            .arg(&bins.fake)
            .arg("--data-dir")
            .arg(data)
            .arg("--allowed-root")
            .arg(tmp)
            .current_dir(tmp)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        clean_env(&mut cmd, tmp);
        let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
        let dog = Some(Watchdog::new(child.id(), MCP_SERVER_LIMIT));
        let mut s = McpServer {
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().ok_or("no stdout")?),
            child,
            line: String::new(),
            next_id: 1,
            dog,
        };
        s.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "cc-executor-bench", "version": "0"}
            }),
        )?;
        s.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
        Ok(s)
    }

    /// One `cc_execute` of `task`; milliseconds from writing the request to its response.
    pub fn call(&mut self, task: &str, cwd: &str) -> Result<f64, String> {
        let t0 = Instant::now();
        let v = self.request(
            "tools/call",
            json!({"name": "cc_execute", "arguments": {"task": task, "cwd": cwd}}),
        )?;
        let elapsed = ms(t0.elapsed());
        let r = &v["result"];
        let status = &r["structuredContent"]["status"];
        if r["isError"] == json!(true) || status != "succeeded" {
            return Err(format!("cc_execute did not succeed: {v}"));
        }
        Ok(elapsed)
    }

    pub fn ping(&mut self) -> Result<f64, String> {
        let t0 = Instant::now();
        self.request("ping", json!({}))?;
        Ok(ms(t0.elapsed()))
    }

    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        loop {
            self.line.clear();
            let n = self
                .stdout
                .read_line(&mut self.line)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err(format!("EOF before the response to {method} #{id}"));
            }
            let v: Value = serde_json::from_str(&self.line)
                .map_err(|e| format!("not JSON ({e}): {}", self.line.trim_end()))?;
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                if v.get("error").is_some() {
                    return Err(format!("{method}: error response: {v}"));
                }
                return Ok(v);
            }
        }
    }

    pub fn send(&mut self, msg: &Value) -> Result<(), String> {
        let mut bytes = serde_json::to_vec(msg).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        let w = self.stdin.as_mut().ok_or("stdin closed")?;
        w.write_all(&bytes)
            .and_then(|_| w.flush())
            .map_err(|e| format!("write: {e}"))
    }

    /// Closes stdin (the server exits on EOF) and reaps it; the watchdog bounds the wait.
    pub fn stop(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
        drop(self.dog.take());
    }
}

/// The argv `claude::argv::build_args` produces for a task with default settings.
pub const DIRECT_ARGV: &[&str] = &[
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode=acceptEdits",
];
/// Longest one direct run of the fake `claude` may take.
pub const DIRECT_LIMIT: Duration = Duration::from_secs(20);

/// One run of the fake `claude` as the executor would start it, without the executor: spawn
/// with [`DIRECT_ARGV`], `prompt` on stdin, stdout read to EOF, reaped. Milliseconds from
/// spawn to reaped: the baseline every per-task overhead is measured against.
pub fn direct(fake: &Path, cwd: &Path, prompt: &str) -> Result<f64, String> {
    let mut cmd = Command::new(fake);
    cmd.args(DIRECT_ARGV)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    clean_env(&mut cmd, cwd);
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("direct: spawn: {e}"))?;
    let dog = Watchdog::new(child.id(), DIRECT_LIMIT);
    let mut out = Vec::new();
    let io = (|| {
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        stdin
            .write_all(prompt.as_bytes())
            .map_err(|e| format!("direct: write: {e}"))?;
        drop(stdin);
        let mut stdout = child.stdout.take().ok_or("no stdout")?;
        stdout
            .read_to_end(&mut out)
            .map_err(|e| format!("direct: read: {e}"))?;
        Ok::<(), String>(())
    })();
    if io.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| format!("direct: wait: {e}"));
    let elapsed = ms(t0.elapsed());
    drop(dog);
    io?;
    let status = status?;
    if !status.success() || !out.ends_with(b"\n") {
        return Err(format!("direct: {status}, {} bytes of output", out.len()));
    }
    Ok(elapsed)
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`), in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
