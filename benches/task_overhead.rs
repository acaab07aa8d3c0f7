//! Per-task overhead of `cc_execute` over running the same fake `claude` directly.
//!
//! - direct: spawn `fake_claude -p --output-format stream-json --verbose
//!   --permission-mode=acceptEdits` (the argv the executor builds for a default task), write the
//!   prompt `@fake success` to its stdin, close it, read stdout to EOF, wait.
//! - through MCP: one long-lived `cc-executor mcp` (initialized once); a `tools/call` of
//!   `cc_execute` with the same task, timed from writing the request to reading its response.
//!   This path does more than the direct one by design: validation, queueing, a process group,
//!   stream-json parsing, the raw output file written to the data dir, the result as JSON-RPC.
//!
//! The two are interleaved (and which goes first alternates) after a warm-up; medians, their
//! difference (the overhead) and ratio are reported, plus an MCP `ping` round trip for scale.
//! Needs `cargo build --release --examples` first (or `CC_BENCH_BIN_DIR`: a directory holding
//! `cc-executor`, `fake_claude` and `bare_mcp_server`). Prints results; asserts nothing.
//! `CC_BENCH_RUNS` overrides the number of timed runs (default 50, at most 1000).
//!
//! The last lines of output are markdown table rows for `scripts/bench`.

#[path = "common/mod.rs"]
mod common;
#[allow(unused_imports)]
use common::*;

const DEFAULT_RUNS: usize = 50;
const WARMUP: usize = 5;
const PROMPT: &str = "@fake success";
const OVERHEAD_TARGET_MS: f64 = 2.0;

fn main() {
    let bins = Bins::locate();
    let runs = runs_from_env(DEFAULT_RUNS);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let data = tmp.path().join("data");
    println!(
        "task_overhead: {runs} timed runs per path after {WARMUP} warm-up runs each, interleaved"
    );
    println!(
        "  direct: {} {}",
        bins.fake.display(),
        DIRECT_ARGV.join(" ")
    );
    println!(
        "  mcp:    {} mcp → tools/call cc_execute",
        bins.ours.display()
    );

    let mut server =
        McpServer::start(&bins, tmp.path(), &data, &[]).expect("start cc-executor mcp");
    let cwd = tmp.path().to_string_lossy().into_owned();
    for _ in 0..WARMUP {
        direct(&bins.fake, tmp.path(), PROMPT).expect("warm-up: direct run");
        server.call(PROMPT, &cwd).expect("warm-up: cc_execute");
    }
    let mut d = Vec::with_capacity(runs);
    let mut m = Vec::with_capacity(runs);
    let mut failures = 0;
    for i in 0..runs {
        let (x, y) = if i % 2 == 0 {
            let x = direct(&bins.fake, tmp.path(), PROMPT);
            (x, server.call(PROMPT, &cwd))
        } else {
            let y = server.call(PROMPT, &cwd);
            (direct(&bins.fake, tmp.path(), PROMPT), y)
        };
        match (x, y) {
            (Ok(x), Ok(y)) => {
                d.push(x);
                m.push(y);
            }
            (x, y) => {
                failures += 1;
                for e in [x.err(), y.err()].into_iter().flatten() {
                    eprintln!("run {i}: {e}");
                }
            }
        }
    }
    let mut ping = Vec::with_capacity(runs);
    for _ in 0..runs {
        if let Ok(t) = server.ping() {
            ping.push(t);
        }
    }
    let raw_files = std::fs::read_dir(data.join("raw")).map_or(0, |r| r.count());
    server.stop();
    if d.is_empty() {
        eprintln!("task_overhead: no successful run");
        std::process::exit(1);
    }

    let (dm, mm) = (median(&d), median(&m));
    let overhead = mm - dm;
    let paired: Vec<f64> = m.iter().zip(&d).map(|(a, b)| a - b).collect();
    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "path", "median", "p90", "min"
    );
    for (name, s) in [
        ("direct fake claude", &d),
        ("cc_execute via cc-executor mcp", &m),
        ("MCP ping round trip (context)", &ping),
    ] {
        println!(
            "{:<34} {:>7.3} ms {:>7.3} ms {:>7.3} ms",
            name,
            median(s),
            p90(s),
            sorted(s).first().copied().unwrap_or(f64::NAN)
        );
    }
    println!(
        "overhead (difference of medians): {overhead:.3} ms (target <= {OVERHEAD_TARGET_MS} ms); \
         median of paired differences: {:.3} ms; ratio of medians: {:.2}x",
        median(&paired),
        mm / dm
    );
    println!(
        "{} paired runs, {failures} failed; our path also wrote {raw_files} raw output files \
         (one per call, incl. warm-up) to the data dir",
        d.len()
    );

    println!();
    println!("table rows:");
    let verdict = if overhead <= OVERHEAD_TARGET_MS {
        "✅ pass"
    } else {
        "❌ fail"
    };
    println!(
        "| Per-task overhead of `cc_execute` over running the fake `claude` directly (median; ours also writes the raw output file) | ≤ {OVERHEAD_TARGET_MS} ms | {overhead:.2} ms ({mm:.2} vs {dm:.2} ms direct) | {:.2}× direct | {verdict} |",
        mm / dm
    );
}
