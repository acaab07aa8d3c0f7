//! Per-task overhead of every surface over running the fake `claude` directly, in one run, and
//! the memory `cc-executor serve` holds for 100 idle connections.
//!
//! Paths timed, one task each, round-robin (the order rotates every round to cancel drift)
//! after a warm-up of each:
//!
//! - **direct**: the fake `claude` spawned with the argv the executor builds, prompt on stdin,
//!   stdout to EOF, reaped (as `benches/task_overhead.rs`).
//! - **stdio**: `tools/call` `cc_execute` on one long-lived `cc-executor mcp`: request written →
//!   response read.
//! - **HTTP**: `tools/call` `cc_execute` on one MCP Streamable HTTP session of `cc-executor
//!   serve` (`/mcp`, protocol 2025-06-18): POST sent → the JSON-RPC response read from the
//!   answer's event stream (kept-alive connection).
//! - **WebSocket**: `execute` on one `/ws/mcp` connection: request sent → its
//!   `process.completed` read (the full result is in it).
//! - **REST**: `POST /api/v1/executions` (202 with the id) then `GET …/events` (Server-Sent
//!   Events) until `event: result`: request sent → the result read. Two requests, as a REST
//!   client that wants the result does.
//!
//! The three network surfaces share one `serve` process (one executor, one queue; its own data
//! dir), stdio has its own `mcp` process; both run the same fake `claude`, one task at a time.
//! Every network request carries the token and passes the same checks as in production (Host,
//! Origin, connection limit, body limit, rate limit — set high enough not to refuse).
//!
//! Then memory: the timed clients are closed and `VmRSS`/`VmHWM` of the `serve` process are
//! read at idle; again with 50 WebSocket connections open (each past its `connected` greeting);
//! again with 50 MCP HTTP sessions added (each initialized; the connections of those requests
//! closed); and again once each session holds its standalone `GET /mcp` event stream open on
//! its own connection — 100 TCP connections, checked with the service's own count. Each reading
//! comes 1 s after the last connection opened.
//!
//! Needs `cargo build --release --bins --examples` first, or `CC_BENCH_BIN_DIR` (a directory
//! holding `cc-executor` and `fake_claude`). Prints results; asserts nothing. `CC_BENCH_RUNS`
//! overrides the number of timed runs per path (default 50, at most 1000).
//!
//! The last lines of output are markdown table rows for `scripts/bench`. The network clients
//! are in `surfaces/net.rs`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "common/mod.rs"]
mod common;
#[allow(unused_imports)]
use common::*;
#[path = "surfaces/net.rs"]
mod net;
use net::{Clients, IO_LIMIT, PROTOCOL, TOKEN, http_client, mcp_session, ws_connect};

const DEFAULT_RUNS: usize = 50;
const WARMUP: usize = 5;
const PROMPT: &str = "@fake success";
/// Idle connections opened for the memory measurement, per kind.
const IDLE_WS: usize = 50;
const IDLE_HTTP: usize = 50;
/// Time left to the server before each memory reading.
const SETTLE: Duration = Duration::from_secs(1);
/// What an idle connection may cost the server: the bound the `serve_ws::load` test enforces
/// (16 MiB for 220 connections, ~75 KiB each, allocator slack included).
const PER_CONNECTION_TARGET_KIB: f64 = 75.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Surface {
    Direct,
    Stdio,
    Http,
    Ws,
    Rest,
}
use Surface::*;

const PATHS: [Surface; 5] = [Direct, Stdio, Http, Ws, Rest];

impl Surface {
    fn name(self) -> &'static str {
        match self {
            Direct => "direct fake claude",
            Stdio => "stdio MCP cc_execute",
            Http => "MCP Streamable HTTP cc_execute",
            Ws => "WebSocket execute → completed",
            Rest => "REST POST + SSE until result",
        }
    }
}

fn main() {
    let bins = Bins::locate();
    let runs = runs_from_env(DEFAULT_RUNS);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let root = tmp.path();
    let cwd = root.to_string_lossy().into_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "surfaces: {runs} timed tasks per path after {WARMUP} warm-up tasks each, round-robin"
    );
    println!(
        "  direct: {} {}",
        bins.fake.display(),
        DIRECT_ARGV.join(" ")
    );
    println!(
        "  stdio:  {} mcp → tools/call cc_execute",
        bins.ours.display()
    );
    println!(
        "  serve:  {} serve → /mcp tools/call cc_execute, /ws/mcp execute, /api/v1/executions + events",
        bins.ours.display()
    );

    let mut stdio = McpServer::start(&bins, root, &root.join("data-stdio"), &[])
        .expect("start cc-executor mcp");
    let serve = Serve::start(&bins, root).expect("start cc-executor serve");
    let mut clients = rt
        .block_on(Clients::open(&serve.base))
        .expect("open the network clients");

    let mut one = |path: Surface, clients: &mut Clients| -> Result<f64, String> {
        match path {
            Direct => direct(&bins.fake, root, PROMPT),
            Stdio => stdio.call(PROMPT, &cwd),
            Http => rt.block_on(clients.http_call(PROMPT, &cwd)),
            Ws => rt.block_on(clients.ws_execute(PROMPT, &cwd)),
            Rest => rt.block_on(clients.rest_execute(PROMPT, &cwd)),
        }
    };
    for _ in 0..WARMUP {
        for path in PATHS {
            if let Err(e) = one(path, &mut clients) {
                eprintln!("warm-up, {}: {e}", path.name());
                eprintln!("{}", serve.log());
                std::process::exit(1);
            }
        }
    }
    // samples[path][round]; a round with any failure is left out of every path.
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); PATHS.len()];
    let mut failures = 0;
    for i in 0..runs {
        let mut round = [f64::NAN; PATHS.len()];
        let mut ok = true;
        for k in 0..PATHS.len() {
            let p = (i + k) % PATHS.len();
            match one(PATHS[p], &mut clients) {
                Ok(t) => round[p] = t,
                Err(e) => {
                    ok = false;
                    eprintln!("round {i}, {}: {e}", PATHS[p].name());
                }
            }
        }
        if ok {
            for (s, t) in samples.iter_mut().zip(round) {
                s.push(t);
            }
        } else {
            failures += 1;
        }
    }
    stdio.stop();
    rt.block_on(clients.close());
    if samples[0].is_empty() {
        eprintln!("surfaces: no successful round\n{}", serve.log());
        std::process::exit(1);
    }

    let direct_med = median(&samples[0]);
    let stdio_med = median(&samples[1]);
    println!();
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>12} {:>14}",
        "path", "median", "p90", "min", "overhead", "paired median"
    );
    for (p, s) in PATHS.iter().zip(&samples) {
        let paired: Vec<f64> = s.iter().zip(&samples[0]).map(|(a, b)| a - b).collect();
        println!(
            "{:<34} {:>7.3} ms {:>7.3} ms {:>7.3} ms {:>9.3} ms {:>11.3} ms",
            p.name(),
            median(s),
            p90(s),
            sorted(s).first().copied().unwrap_or(f64::NAN),
            median(s) - direct_med,
            median(&paired),
        );
    }
    println!(
        "overhead = median of the path − median of direct; paired median = median of the \
         per-round differences. {} rounds, {failures} with a failure (left out)",
        samples[0].len()
    );

    // Memory with 100 idle connections.
    let memory = rt.block_on(idle_memory(&serve));
    let serve_log = serve.log();
    drop(serve);
    let memory = match memory {
        Ok(m) => Some(m),
        Err(e) => {
            eprintln!("idle connections: {e}\n{serve_log}");
            None
        }
    };
    if let Some(m) = &memory {
        println!();
        println!(
            "serve idle: VmRSS {:.2} MiB, VmHWM {:.2} MiB\n\
             + {IDLE_WS} WebSocket connections: VmRSS {:.2} MiB ({:.1} KiB each)\n\
             + {IDLE_HTTP} MCP HTTP sessions (initialized; no connection open): VmRSS {:.2} MiB \
             ({:.1} KiB each)\n\
             + their GET /mcp event streams (one connection each): VmRSS {:.2} MiB ({:.1} KiB \
             each); {:.1} KiB per session with its stream; VmHWM {:.2} MiB\n\
             {} connections by the service's count (the asking request included); {:.1} KiB \
             per connection; opening them took {:.0} ms",
            kib_mib(m.rss_before),
            kib_mib(m.hwm_before),
            kib_mib(m.rss_ws),
            m.per_ws_kib(),
            kib_mib(m.rss_sessions),
            m.per_session_kib(),
            kib_mib(m.rss_with),
            m.per_stream_kib(),
            m.per_http_kib(),
            kib_mib(m.hwm_with),
            m.counted,
            m.per_connection_kib(),
            m.open_ms,
        );
    }

    println!();
    println!("table rows:");
    println!(
        "| Per-task overhead by surface, one run, round-robin: baseline — the fake `claude` run directly | — | {:.2} ms (p90 {:.2}) | 1.00× | — |",
        direct_med,
        p90(&samples[0])
    );
    for (p, s) in PATHS.iter().zip(&samples).skip(1) {
        let m = median(s);
        let vs_stdio = if *p == Stdio {
            String::new()
        } else {
            format!("; {:+.2} ms vs stdio", m - stdio_med)
        };
        println!(
            "| ↳ {} | — | +{:.2} ms ({:.2} ms, p90 {:.2}) | {:.2}× direct{vs_stdio} | — |",
            row_name(*p),
            m - direct_med,
            m,
            p90(s),
            m / direct_med,
        );
    }
    match memory {
        Some(m) => {
            let per = m.per_connection_kib();
            let verdict = if per <= PER_CONNECTION_TARGET_KIB {
                "✅ pass"
            } else {
                "❌ fail"
            };
            println!(
                "| `cc-executor serve` memory with 100 idle connections ({IDLE_WS} WebSocket + {IDLE_HTTP} MCP HTTP sessions holding an SSE stream) | ≤ {PER_CONNECTION_TARGET_KIB:.0} KiB per connection | VmRSS {:.2} → {:.2} MiB (VmHWM {:.2} → {:.2}) | {per:.1} KiB per connection (WebSocket {:.1}; MCP HTTP {:.1}: session {:.1} + stream {:.1}) | {verdict} |",
                kib_mib(m.rss_before),
                kib_mib(m.rss_with),
                kib_mib(m.hwm_before),
                kib_mib(m.hwm_with),
                m.per_ws_kib(),
                m.per_http_kib(),
                m.per_session_kib(),
                m.per_stream_kib(),
            );
        }
        None => println!(
            "| `cc-executor serve` memory with 100 idle connections | ≤ {PER_CONNECTION_TARGET_KIB:.0} KiB per connection | did not finish (see output above) | — | ❌ fail |"
        ),
    }
}

fn row_name(p: Surface) -> &'static str {
    match p {
        Direct => "the fake `claude` run directly",
        Stdio => "stdio: `cc-executor mcp`, `tools/call` `cc_execute`",
        Http => "MCP Streamable HTTP (`serve`, `/mcp`): `tools/call` `cc_execute` in a session",
        Ws => "WebSocket (`serve`, `/ws/mcp`): `execute` → `process.completed`",
        Rest => "REST (`serve`, `/api/v1`): `POST /executions` + `GET …/events` until `result`",
    }
}

fn kib_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A running `cc-executor serve` on loopback, port 0, with a token; killed when dropped.
struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`
    base: String,
    log: std::path::PathBuf,
    _dog: Watchdog,
}

impl Serve {
    fn start(bins: &Bins, root: &Path) -> Result<Serve, String> {
        let data = root.join("data-serve");
        let log = root.join("serve.log");
        let mut cmd = Command::new(&bins.ours);
        cmd.arg("--claude-bin")
            .arg(&bins.fake)
            .arg("--data-dir")
            .arg(&data)
            .arg("--allowed-root")
            .arg(root)
            .args(["serve", "--listen", "127.0.0.1:0", "--token", TOKEN])
            // Room for the 100 idle connections and the timed clients; a rate that never
            // refuses the benchmark's submissions (the bucket is still checked on each one).
            .args(["--max-connections", "256"])
            .args([
                "--submit-per-minute",
                "1000000",
                "--submit-burst",
                "1000000",
            ])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).map_err(|e| format!("log file: {e}"))?);
        clean_env(&mut cmd, root);
        let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
        let dog = Watchdog::new(child.id(), MCP_SERVER_LIMIT);
        let state = data.join("serve").join("state.json");
        let deadline = Instant::now() + Duration::from_secs(30);
        let base = loop {
            if let Some(url) = std::fs::read_to_string(&state)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v["url"].as_str().map(str::to_string))
            {
                break url;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "serve exited ({status}) before listening: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("serve did not start within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Ok(Serve {
            child,
            base,
            log,
            _dog: dog,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// SIGTERM (the service's graceful shutdown), then reaped; the watchdog bounds the wait.
impl Drop for Serve {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

/// Memory of the idle service before and with the 100 connections (KiB).
struct Memory {
    rss_before: u64,
    hwm_before: u64,
    /// With the WebSocket connections open, before the MCP sessions.
    rss_ws: u64,
    /// Then with the MCP sessions initialized, before their event streams.
    rss_sessions: u64,
    rss_with: u64,
    hwm_with: u64,
    /// Open connections by the service's own count, the `/api/v1/health` request included.
    counted: u64,
    open_ms: f64,
}

impl Memory {
    fn per_connection_kib(&self) -> f64 {
        (self.rss_with as f64 - self.rss_before as f64) / (IDLE_WS + IDLE_HTTP) as f64
    }
    fn per_ws_kib(&self) -> f64 {
        (self.rss_ws as f64 - self.rss_before as f64) / IDLE_WS as f64
    }
    fn per_http_kib(&self) -> f64 {
        (self.rss_with as f64 - self.rss_ws as f64) / IDLE_HTTP as f64
    }
    fn per_session_kib(&self) -> f64 {
        (self.rss_sessions as f64 - self.rss_ws as f64) / IDLE_HTTP as f64
    }
    fn per_stream_kib(&self) -> f64 {
        (self.rss_with as f64 - self.rss_sessions as f64) / IDLE_HTTP as f64
    }
}

async fn idle_memory(serve: &Serve) -> Result<Memory, String> {
    let pid = serve.pid();
    let read = |field: &str| {
        proc_status_kib(pid, field).ok_or_else(|| format!("no {field} for pid {pid}"))
    };
    tokio::time::sleep(SETTLE).await;
    let rss_before = read("VmRSS:")?;
    let hwm_before = read("VmHWM:")?;

    let t0 = Instant::now();
    let mut sockets = Vec::with_capacity(IDLE_WS);
    for _ in 0..IDLE_WS {
        sockets.push(ws_connect(&serve.base).await?);
    }
    tokio::time::sleep(SETTLE).await;
    let rss_ws = read("VmRSS:")?;
    let http = http_client(false)?;
    let mut sessions = Vec::with_capacity(IDLE_HTTP);
    for _ in 0..IDLE_HTTP {
        sessions.push(mcp_session(&http, &serve.base).await?);
    }
    // The sessions alone (their POST connections are closed), before their streams.
    tokio::time::sleep(SETTLE).await;
    let rss_sessions = read("VmRSS:")?;
    let mut streams = Vec::with_capacity(IDLE_HTTP);
    for session in &sessions {
        let stream = tokio::time::timeout(
            IO_LIMIT,
            http.get(format!("{}/mcp", serve.base))
                .bearer_auth(TOKEN)
                .header("accept", "text/event-stream")
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", PROTOCOL)
                .send(),
        )
        .await
        .map_err(|_| "GET /mcp: no answer within the limit".to_string())?
        .map_err(|e| format!("GET /mcp: {e}"))?;
        if !stream.status().is_success() {
            return Err(format!("GET /mcp: {}", stream.status()));
        }
        streams.push(stream);
    }
    let open_ms = ms(t0.elapsed()) - 2.0 * ms(SETTLE);
    tokio::time::sleep(SETTLE).await;
    let rss_with = read("VmRSS:")?;
    let hwm_with = read("VmHWM:")?;
    let health: Value = http
        .get(format!("{}/api/v1/health", serve.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .map_err(|e| format!("health: {e}"))?
        .json()
        .await
        .map_err(|e| format!("health: {e}"))?;
    let counted = health["service"]["connections"].as_u64().unwrap_or(0);
    for ws in sockets.iter_mut() {
        let _ = ws.close(None).await;
    }
    drop(streams);
    Ok(Memory {
        rss_before,
        hwm_before,
        rss_ws,
        rss_sessions,
        rss_with,
        hwm_with,
        counted,
        open_ms,
    })
}
