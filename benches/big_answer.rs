//! Memory of `cc-executor mcp` around big answers: bounded by the answer while the call runs,
//! back to idle once it is answered.
//!
//! One long-lived `cc-executor mcp --max-record-mib 256` (the fake `claude` as the CLI):
//!
//! 1. `cc_execute` of `@fake big_record mb=200`: the fake prints one assistant line and one
//!    result line of ~200 MiB each (as the real CLI does for a big answer). The server's peak
//!    RSS (`VmHWM`) over the call is compared with the goal **≤ 2 × the largest record + 30 MiB**;
//!    the response on the wire is measured (bytes) and checked to carry the answer once.
//! 2. RSS (`VmRSS`) right after the response and 1, 3, 5 s later: goal **≤ 30 MiB within
//!    seconds** (finished results are not kept in memory beyond a small byte budget).
//! 3. Four `cc_execute`s of 50 MiB answers in a row, then RSS again (was 218 → 419 MiB when
//!    the last 100 full results were kept).
//!
//! Needs `cargo build --release --bins --examples` (or `CC_BENCH_BIN_DIR`). `CC_BENCH_BIG_MB`
//! overrides the big answer's size (default 200). Prints results; asserts nothing. The last
//! lines are markdown table rows for `scripts/bench`.

use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
#[allow(unused_imports)]
use common::*;

const SETTLE_TARGET_MIB: f64 = 30.0;
const PEAK_SLACK_MIB: f64 = 30.0;

fn status_kib(pid: u32, field: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn mib(kib: Option<f64>) -> f64 {
    kib.map_or(f64::NAN, |k| k / 1024.0)
}

fn main() {
    let bins = Bins::locate();
    let big_mb: usize = std::env::var("CC_BENCH_BIG_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=250).contains(n))
        .unwrap_or(200);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let data = tmp.path().join("data");
    let cwd = tmp.path().to_string_lossy().into_owned();
    let mut server = McpServer::start(&bins, tmp.path(), &data, &["--max-record-mib", "256"])
        .expect("start cc-executor mcp");
    let pid = server.child.id();
    // Warm up: one small task, so the idle figure includes what a used server holds.
    server.call("@fake success", &cwd).expect("warm-up");
    let idle = mib(status_kib(pid, "VmRSS:"));
    let hwm_before = mib(status_kib(pid, "VmHWM:"));
    println!("big_answer: cc-executor mcp (pid {pid}), idle RSS {idle:.1} MiB after one task");

    // 1. The big answer.
    let t0 = Instant::now();
    let task = format!("@fake big_record mb={big_mb}");
    let v = server
        .request(
            "tools/call",
            serde_json::json!({"name": "cc_execute", "arguments": {"task": task, "cwd": cwd}}),
        )
        .expect("big cc_execute");
    let secs = t0.elapsed().as_secs_f64();
    let wire = v.to_string().len() as f64 / (1024.0 * 1024.0);
    let answer_len = v["result"]["structuredContent"]["result"]
        .as_str()
        .map_or(0, str::len);
    let text_len: usize = v["result"]["content"]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .map(str::len)
                .sum()
        })
        .unwrap_or(0);
    let status = v["result"]["structuredContent"]["status"].clone();
    drop(v);
    let peak = mib(status_kib(pid, "VmHWM:"));
    let record_mib = answer_len as f64 / (1024.0 * 1024.0);
    let peak_goal = 2.0 * record_mib + PEAK_SLACK_MIB;
    let copies = wire / record_mib.max(f64::MIN_POSITIVE);
    println!(
        "  {big_mb} MiB answer: status {status}, {secs:.2} s; answer {record_mib:.1} MiB, response on the wire {wire:.1} MiB (~{copies:.2} × the answer; text blocks {text_len} bytes)"
    );
    println!(
        "  peak RSS (VmHWM) {peak:.1} MiB (before the call {hwm_before:.1}); goal <= 2 x {record_mib:.0} + {PEAK_SLACK_MIB:.0} = {peak_goal:.0} MiB"
    );

    // 2. Memory coming back.
    let mut after = Vec::new();
    let t1 = Instant::now();
    for at in [0.0, 1.0, 3.0, 5.0] {
        while t1.elapsed().as_secs_f64() < at {
            std::thread::sleep(Duration::from_millis(20));
        }
        after.push((at, mib(status_kib(pid, "VmRSS:"))));
    }
    let settled = after.last().map_or(f64::NAN, |(_, r)| *r);
    for (at, rss) in &after {
        println!("  RSS {at:.0} s after the response: {rss:.1} MiB");
    }

    // 3. Several 50 MiB answers.
    for i in 0..4 {
        server
            .call("@fake big_record mb=50", &cwd)
            .unwrap_or_else(|e| panic!("50 MiB answer {i}: {e}"));
    }
    std::thread::sleep(Duration::from_secs(3));
    let after_four = mib(status_kib(pid, "VmRSS:"));
    println!("  RSS 3 s after four 50 MiB answers: {after_four:.1} MiB");
    server.stop();

    let ok = |b: bool| if b { "✅ pass" } else { "❌ fail" };
    println!();
    println!("table rows:");
    println!(
        "| Peak RSS of `cc-executor mcp` answering one {big_mb} MiB answer (`--max-record-mib 256`) | ≤ 2 × record + {PEAK_SLACK_MIB:.0} MiB = {peak_goal:.0} MiB | {peak:.0} MiB | {:.2}× the record | {} |",
        peak / record_mib,
        ok(peak <= peak_goal)
    );
    println!(
        "| Size of that tool result on the wire | the answer once | {wire:.0} MiB | {copies:.2}× the answer | {} |",
        ok(copies < 1.2)
    );
    println!(
        "| RSS 5 s after answering it; after four 50 MiB answers | ≤ {SETTLE_TARGET_MIB:.0} MiB | {settled:.1} MiB; {after_four:.1} MiB | idle {idle:.1} MiB | {} |",
        ok(settled <= SETTLE_TARGET_MIB && after_four <= SETTLE_TARGET_MIB)
    );
}
