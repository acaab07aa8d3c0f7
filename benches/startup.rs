//! Cold start of `cc-executor mcp` against a bare rmcp stdio server, measured in the same run.
//!
//! Each run: spawn → `initialize` → (its response) → `notifications/initialized` + `tools/list`
//! → the `tools/list` response; that elapsed time is the cold start. Then, outside the timed
//! window, the server's peak RSS so far (`VmHWM` from `/proc/<pid>/status`) is read at idle,
//! its stdin is closed and it is reaped. The order of the servers rotates run by run to cancel
//! drift.
//!
//! Ours is measured twice per round: with the data directory of the earlier runs (every launch
//! but the first: the headline number) and with a new, empty one (the very first launch, which
//! also creates the data directory and its history database).
//!
//! Needs `cargo build --release --examples` first (the baseline is
//! `examples/bare_mcp_server.rs`; `--claude-bin` points at `examples/fake_claude/`, which is
//! never started here), or `CC_BENCH_BIN_DIR`: a directory holding `cc-executor`,
//! `bare_mcp_server` and `fake_claude`. Prints results; asserts nothing. `CC_BENCH_RUNS` overrides the number
//! of timed runs per server (default 30, at most 1000).
//!
//! The last lines of output are markdown table rows for `scripts/bench`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "common/mod.rs"]
mod common;
#[allow(unused_imports)]
use common::*;

const DEFAULT_RUNS: usize = 30;
const WARMUP: usize = 3;
const RUN_LIMIT: Duration = Duration::from_secs(20);
/// Time left to the server after `tools/list` before its idle memory is read.
const SETTLE: Duration = Duration::from_millis(50);
const STARTUP_RATIO_TARGET: f64 = 2.0;
const IDLE_RSS_TARGET_MIB: f64 = 15.0;

fn main() {
    let bins = Bins::locate();
    let runs = runs_from_env(DEFAULT_RUNS);
    let tmp = tempfile::tempdir().expect("temporary directory");
    println!("startup: {runs} timed runs per server after {WARMUP} warm-up runs each, alternating");
    println!("  ours:     {} mcp", bins.ours.display());
    println!("  baseline: {}", bins.bare.display());

    let ours = || server_command(&bins, tmp.path(), Some("data"));
    let first = |i: usize| server_command(&bins, tmp.path(), Some(&format!("fresh-{i}")));
    let bare = || server_command(&bins, tmp.path(), None);
    for i in 0..WARMUP {
        measure(ours()).expect("warm-up of cc-executor mcp");
        measure(first(runs + i)).expect("warm-up of cc-executor mcp (new data dir)");
        measure(bare()).expect("warm-up of bare_mcp_server");
    }
    let mut o = Samples::default();
    let mut f = Samples::default();
    let mut b = Samples::default();
    for i in 0..runs {
        // Rotate the order so no server always runs on a "warmer" machine.
        let mut results: [Option<Result<Measurement, String>>; 3] = [None, None, None];
        for k in 0..3 {
            let which = (i + k) % 3;
            results[which] = Some(match which {
                0 => measure(ours()),
                1 => measure(bare()),
                _ => measure(first(i)),
            });
        }
        match results {
            [Some(Ok(x)), Some(Ok(y)), Some(Ok(z))] => {
                o.push(x);
                b.push(y);
                f.push(z);
            }
            rs => {
                for (name, r) in ["cc-executor mcp", "bare_mcp_server", "first launch"]
                    .iter()
                    .zip(rs)
                {
                    if let Some(Err(e)) = r {
                        eprintln!("run {i}: {name}: {e}");
                    }
                }
            }
        }
    }
    if o.start_ms.is_empty() {
        eprintln!("startup: no successful run");
        std::process::exit(1);
    }

    let (om, bm) = (median(&o.start_ms), median(&b.start_ms));
    let ratio = om / bm;
    println!();
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "server", "init med", "start med", "start p90", "VmHWM med", "VmRSS med"
    );
    for (name, s) in [
        ("cc-executor mcp", &o),
        ("  first launch (new dir)", &f),
        ("bare_mcp_server", &b),
    ] {
        println!(
            "{:<22} {:>7.2} ms {:>7.2} ms {:>7.2} ms {:>8.2} MiB {:>8.2} MiB",
            name,
            median(&s.init_ms),
            median(&s.start_ms),
            p90(&s.start_ms),
            median(&s.hwm_mib),
            median(&s.rss_mib),
        );
    }
    println!(
        "ratio of medians (ours / baseline): {ratio:.2}x  (target <= {STARTUP_RATIO_TARGET}x); \
         {} paired runs",
        o.start_ms.len()
    );
    println!("(start = spawn to the tools/list response; init = spawn to the initialize response)");

    let hwm = median(&o.hwm_mib);
    println!();
    println!("table rows:");
    row(
        "Cold start, spawn → `tools/list` response (`cc-executor mcp`)",
        &format!("≤ {STARTUP_RATIO_TARGET}× bare rmcp server"),
        &format!("{om:.2} ms (p90 {:.2})", p90(&o.start_ms)),
        &format!("{ratio:.2}× bare"),
        ratio <= STARTUP_RATIO_TARGET,
    );
    println!(
        "| ↳ baseline: bare rmcp stdio server, one tool (same run) | — | {bm:.2} ms (p90 {:.2}) | 1.00× | — |",
        p90(&b.start_ms)
    );
    let fm = median(&f.start_ms);
    println!(
        "| ↳ very first launch (`cc-executor mcp` creating its data dir and history DB) | — | {fm:.2} ms (p90 {:.2}) | {:.2}× bare | — |",
        p90(&f.start_ms),
        fm / bm
    );
    row(
        "Peak RSS (VmHWM) at idle after `tools/list`",
        &format!("≤ {IDLE_RSS_TARGET_MIB} MiB"),
        &format!("{hwm:.2} MiB (bare: {:.2})", median(&b.hwm_mib)),
        &format!("{:.2}× of limit", hwm / IDLE_RSS_TARGET_MIB),
        hwm <= IDLE_RSS_TARGET_MIB,
    );
}

fn row(metric: &str, target: &str, measured: &str, ratio: &str, pass: bool) {
    let verdict = if pass { "✅ pass" } else { "❌ fail" };
    println!("| {metric} | {target} | {measured} | {ratio} | {verdict} |");
}

#[derive(Default)]
struct Samples {
    init_ms: Vec<f64>,
    start_ms: Vec<f64>,
    hwm_mib: Vec<f64>,
    rss_mib: Vec<f64>,
}

impl Samples {
    fn push(&mut self, m: Measurement) {
        self.init_ms.push(m.init_ms);
        self.start_ms.push(m.start_ms);
        self.hwm_mib.push(m.hwm_mib);
        self.rss_mib.push(m.rss_mib);
    }
}

struct Measurement {
    init_ms: f64,
    start_ms: f64,
    hwm_mib: f64,
    rss_mib: f64,
}

/// The same environment for both servers: no user config, no inherited settings. `data`:
/// cc-executor with this data dir (under `tmp`), else the baseline.
fn server_command(bins: &Bins, tmp: &Path, data: Option<&str>) -> Command {
    let mut cmd = if let Some(data) = data {
        let data = tmp.join(data);
        let mut c = Command::new(&bins.ours);
        c.arg("mcp")
            .arg("--claude-bin")
            .arg(&bins.fake)
            .arg("--data-dir")
            .arg(data)
            .arg("--allowed-root")
            .arg(tmp);
        c
    } else {
        Command::new(&bins.bare)
    };
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CC_EXECUTOR_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("RUST_LOG")
        .env("XDG_CONFIG_HOME", tmp.join("xdg-config"))
        .env("XDG_DATA_HOME", tmp.join("xdg-data"))
        .current_dir(tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

fn measure(mut cmd: Command) -> Result<Measurement, String> {
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let dog = Watchdog::new(child.id(), RUN_LIMIT);
    let r = handshake(&mut child, t0);
    if r.is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
    drop(dog);
    r
}

fn handshake(child: &mut Child, t0: Instant) -> Result<Measurement, String> {
    let mut rpc = Rpc::new(child);
    rpc.send(&json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "cc-executor-bench", "version": "0"}
        }
    }))?;
    rpc.recv(1)?;
    let init_ms = ms(t0.elapsed());
    rpc.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
    rpc.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))?;
    let tools = rpc.recv(2)?;
    let start_ms = ms(t0.elapsed());
    let n = tools["result"]["tools"].as_array().map_or(0, Vec::len);
    if n == 0 {
        return Err(format!("tools/list returned no tool: {tools}"));
    }
    std::thread::sleep(SETTLE);
    let (hwm_mib, rss_mib) = memory_mib(child.id()).ok_or("no /proc/<pid>/status")?;
    drop(rpc); // closes stdin: the server exits on EOF
    Ok(Measurement {
        init_ms,
        start_ms,
        hwm_mib,
        rss_mib,
    })
}

/// Newline-delimited JSON-RPC over a child's stdin/stdout.
struct Rpc {
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl Rpc {
    fn new(child: &mut Child) -> Rpc {
        Rpc {
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().expect("piped stdout")),
            line: String::new(),
        }
    }

    fn send(&mut self, msg: &Value) -> Result<(), String> {
        let mut bytes = serde_json::to_vec(msg).map_err(|e| e.to_string())?;
        bytes.push(b'\n');
        let w = self.stdin.as_mut().ok_or("stdin closed")?;
        w.write_all(&bytes)
            .and_then(|_| w.flush())
            .map_err(|e| format!("write: {e}"))
    }

    /// Reads messages until the response with `id` (skipping notifications and other ids).
    fn recv(&mut self, id: u64) -> Result<Value, String> {
        loop {
            self.line.clear();
            let n = self
                .stdout
                .read_line(&mut self.line)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err(format!("EOF before the response to request {id}"));
            }
            let v: Value = serde_json::from_str(&self.line)
                .map_err(|e| format!("not JSON ({e}): {}", self.line.trim_end()))?;
            if v.get("id").and_then(Value::as_u64) == Some(id) {
                if v.get("error").is_some() {
                    return Err(format!("error response: {v}"));
                }
                return Ok(v);
            }
        }
    }
}

/// (VmHWM, VmRSS) in MiB.
fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}
