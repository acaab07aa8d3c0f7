//! Peak memory of `cc-executor run` while a task prints 1 GB of stream-json.
//!
//! Runs `cc-executor run --json "@fake flood bytes=1000000000"` (the fake `claude` prints about
//! 1 GB of ~4 KiB assistant lines, then a success result) and polls the cc-executor process's
//! `VmHWM` (peak RSS) from `/proc/<pid>/status` every few ms while it runs; the last reading
//! before it exits is the peak. Also reports wall time and throughput, and, for scale, the same
//! flood read straight from the fake into a 64 KiB buffer and discarded. The 1 GB raw output
//! file the executor writes into the data dir is deleted afterwards.
//!
//! Needs `cargo build --release --examples` first (or `CC_BENCH_BIN_DIR`: a directory holding
//! `cc-executor`, `fake_claude` and `bare_mcp_server`). Prints results; asserts nothing.
//! `CC_BENCH_FLOOD_BYTES` overrides the size (default 1000000000, at most 10^10).
//!
//! The last lines of output are markdown table rows for `scripts/bench`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "common/mod.rs"]
mod common;
#[allow(unused_imports)]
use common::*;

const DEFAULT_BYTES: u64 = 1_000_000_000;
const POLL: Duration = Duration::from_millis(5);
const LIMIT: Duration = Duration::from_secs(600);
const PEAK_RSS_TARGET_MIB: f64 = 50.0;

fn main() {
    let bins = Bins::locate();
    let bytes = std::env::var("CC_BENCH_FLOOD_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=10_000_000_000u64).contains(n))
        .unwrap_or(DEFAULT_BYTES);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let data = tmp.path().join("data");
    let task = format!("@fake flood bytes={bytes}");
    println!("flood_rss: `cc-executor run --json \"{task}\"`, VmHWM polled every {POLL:?}");

    let direct = direct_flood(&bins.fake, tmp.path(), &task);
    match &direct {
        Ok((secs, n)) => println!(
            "  direct (fake → pipe → discarded): {n} bytes in {secs:.2} s = {:.0} MB/s",
            *n as f64 / secs / 1e6
        ),
        Err(e) => eprintln!("  direct flood failed: {e}"),
    }

    let run = match ours(&bins, tmp.path(), &data, &task) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("flood_rss: {e}");
            std::process::exit(1);
        }
    };
    let raw_len = run
        .raw_output_path
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len());
    if let Some(p) = &run.raw_output_path {
        let _ = std::fs::remove_file(p);
    }
    let mbps = raw_len as f64 / run.secs / 1e6;
    println!(
        "  cc-executor run: status {}, {}, {:.2} s wall, raw output file {raw_len} bytes \
         (deleted) = {mbps:.0} MB/s",
        run.status, run.exit, run.secs
    );
    println!(
        "  peak RSS (VmHWM) {:.2} MiB over {} samples; cc-executor used {:.2} s CPU \
         (user {:.2} + sys {:.2})",
        run.hwm_mib,
        run.samples,
        run.cpu_user + run.cpu_sys,
        run.cpu_user,
        run.cpu_sys
    );
    if raw_len < bytes {
        println!("  warning: the raw output file is smaller than the flood ({raw_len} < {bytes})");
    }

    println!();
    println!("table rows:");
    let verdict = if run.hwm_mib <= PEAK_RSS_TARGET_MIB {
        "✅ pass"
    } else {
        "❌ fail"
    };
    let gb = bytes as f64 / 1e9;
    println!(
        "| Peak RSS (VmHWM) of `cc-executor run` while the task prints {gb:.1} GB of stream-json | ≤ {PEAK_RSS_TARGET_MIB} MiB | {:.2} MiB | {:.2}× of limit | {verdict} |",
        run.hwm_mib,
        run.hwm_mib / PEAK_RSS_TARGET_MIB
    );
    let direct_cell = match direct {
        Ok((secs, n)) => format!(
            "{:.2}× the bare pipe ({:.0} MB/s)",
            mbps / (n as f64 / secs / 1e6),
            n as f64 / secs / 1e6
        ),
        Err(_) => "—".into(),
    };
    println!(
        "| ↳ wall time / throughput of that {gb:.1} GB task (parsed + raw file written) | — | {:.2} s, {mbps:.0} MB/s | {direct_cell} | — |",
        run.secs
    );
}

/// The fake's flood read straight into a 64 KiB buffer: (seconds, bytes).
fn direct_flood(fake: &Path, tmp: &Path, task: &str) -> Result<(f64, u64), String> {
    let mut cmd = Command::new(fake);
    cmd.args([
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-mode=acceptEdits",
    ])
    .current_dir(tmp)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    clean_env(&mut cmd, tmp);
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let dog = Watchdog::new(child.id(), LIMIT);
    let mut n = 0u64;
    let io = (|| {
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        stdin
            .write_all(task.as_bytes())
            .map_err(|e| e.to_string())?;
        drop(stdin);
        let mut out = child.stdout.take().ok_or("no stdout")?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match out.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(k) => n += k as u64,
                Err(e) => return Err(e.to_string()),
            }
        }
    })();
    if io.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| e.to_string());
    let secs = t0.elapsed().as_secs_f64();
    drop(dog);
    io?;
    let status = status?;
    if !status.success() {
        return Err(format!("fake_claude: {status}"));
    }
    Ok((secs, n))
}

struct Run {
    secs: f64,
    hwm_mib: f64,
    samples: usize,
    cpu_user: f64,
    cpu_sys: f64,
    status: String,
    exit: String,
    raw_output_path: Option<PathBuf>,
}

fn ours(bins: &Bins, tmp: &Path, data: &Path, task: &str) -> Result<Run, String> {
    let mut cmd = Command::new(&bins.ours);
    cmd.arg("run")
        .arg("--json")
        .arg("--claude-bin")
        .arg(&bins.fake)
        .arg("--data-dir")
        .arg(data)
        .arg("--allowed-root")
        .arg(tmp)
        .arg("--cwd")
        .arg(tmp)
        .arg("--timeout-secs")
        .arg(LIMIT.as_secs().to_string())
        .arg("--")
        .arg(task)
        .current_dir(tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    clean_env(&mut cmd, tmp);
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let pid = child.id();
    let dog = Watchdog::new(pid, LIMIT + Duration::from_secs(30));
    // Drain both pipes on threads so the poll loop never blocks on them.
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut hwm_kib = 0u64;
    let mut cpu = (0.0, 0.0);
    let mut samples = 0usize;
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(kib) = field_kib(&status, "VmHWM:")
        {
            hwm_kib = hwm_kib.max(kib);
            samples += 1;
            if let Some(c) = cpu_secs(pid) {
                cpu = c;
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => return Err(format!("wait: {e}")),
        }
    };
    let secs = t0.elapsed().as_secs_f64();
    drop(dog);
    let out = out_thread.join().unwrap_or_default();
    let err = err_thread.join().unwrap_or_default();
    let v: Value = serde_json::from_str(&out).map_err(|e| {
        format!("cc-executor run printed no result JSON ({e}; {status}); stderr: {err}")
    })?;
    Ok(Run {
        secs,
        hwm_mib: hwm_kib as f64 / 1024.0,
        samples,
        cpu_user: cpu.0,
        cpu_sys: cpu.1,
        status: v["status"].as_str().unwrap_or("?").to_string(),
        exit: status.to_string(),
        raw_output_path: v["raw_output_path"].as_str().map(PathBuf::from),
    })
}

fn field_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// (user, system) CPU seconds of `pid` so far, from `/proc/<pid>/stat` (clock ticks = 100 Hz).
fn cpu_secs(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // Fields after the command: state(3) … utime(14) stime(15) → indexes 11 and 12 here.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime / 100.0, stime / 100.0))
}
