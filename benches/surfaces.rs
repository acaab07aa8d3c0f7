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
//! The last lines of output are markdown table rows for `scripts/bench`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[path = "common/mod.rs"]
mod common;
#[allow(unused_imports)]
use common::*;

const DEFAULT_RUNS: usize = 50;
const WARMUP: usize = 5;
const PROMPT: &str = "@fake success";
const TOKEN: &str = "bench-token-0123456789abcdef";
const PROTOCOL: &str = "2025-06-18";
/// Longest any one network exchange may take before the run counts as failed.
const IO_LIMIT: Duration = Duration::from_secs(60);
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

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The timed network clients: one HTTP client (kept-alive connections) with one MCP session,
/// and one WebSocket connection.
struct Clients {
    base: String,
    http: reqwest::Client,
    session: String,
    ws: Ws,
    next_id: u64,
}

impl Clients {
    async fn open(base: &str) -> Result<Clients, String> {
        let http = http_client(true)?;
        let session = mcp_session(&http, base).await?;
        let ws = ws_connect(base).await?;
        Ok(Clients {
            base: base.to_string(),
            http,
            session,
            ws,
            next_id: 100,
        })
    }

    async fn close(self) {
        let mut ws = self.ws;
        let _ = ws.close(None).await;
        let _ = self
            .http
            .delete(format!("{}/mcp", self.base))
            .bearer_auth(TOKEN)
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", PROTOCOL)
            .send()
            .await;
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// `tools/call` `cc_execute` in the session; ms from sending to the response read.
    async fn http_call(&mut self, task: &str, cwd: &str) -> Result<f64, String> {
        let id = self.id();
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "cc_execute", "arguments": {"task": task, "cwd": cwd}}});
        let t0 = Instant::now();
        let response = mcp_post(&self.http, &self.base, Some(&self.session), &body).await?;
        let v = rpc_response(response, id).await?;
        let elapsed = ms(t0.elapsed());
        let r = &v["result"];
        if r["isError"] == json!(true) || r["structuredContent"]["status"] != "succeeded" {
            return Err(format!("cc_execute over HTTP did not succeed: {v}"));
        }
        Ok(elapsed)
    }

    /// `execute` on the WebSocket; ms from sending to its `process.completed` read.
    async fn ws_execute(&mut self, task: &str, cwd: &str) -> Result<f64, String> {
        let id = self.id();
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "execute",
            "params": {"task": task, "cwd": cwd}});
        let t0 = Instant::now();
        self.ws
            .send(Message::Text(request.to_string().into()))
            .await
            .map_err(|e| format!("ws send: {e}"))?;
        let mut execution: Option<String> = None;
        loop {
            let m = ws_next(&mut self.ws).await?;
            if m["id"] == json!(id) {
                let eid = m["result"]["execution_id"]
                    .as_str()
                    .ok_or_else(|| format!("execute refused: {m}"))?;
                execution = Some(eid.to_string());
            } else if m["method"] == "process.completed"
                && execution
                    .as_deref()
                    .is_some_and(|e| m["params"]["execution_id"] == e)
            {
                let elapsed = ms(t0.elapsed());
                if m["params"]["status"] != "succeeded" {
                    return Err(format!("execute did not succeed: {m}"));
                }
                return Ok(elapsed);
            }
        }
    }

    /// `POST /api/v1/executions`, then its events until `result`; ms from the POST to the
    /// result read.
    async fn rest_execute(&mut self, task: &str, cwd: &str) -> Result<f64, String> {
        let t0 = Instant::now();
        let accepted = self
            .http
            .post(format!("{}/api/v1/executions", self.base))
            .bearer_auth(TOKEN)
            .json(&json!({"task": task, "cwd": cwd}))
            .send()
            .await
            .map_err(|e| format!("POST /executions: {e}"))?;
        if accepted.status() != reqwest::StatusCode::ACCEPTED {
            let status = accepted.status();
            let body = accepted.text().await.unwrap_or_default();
            return Err(format!("POST /executions: {status}: {body}"));
        }
        let accepted: Value = accepted
            .json()
            .await
            .map_err(|e| format!("POST /executions: body: {e}"))?;
        let events = accepted["events_url"]
            .as_str()
            .ok_or_else(|| format!("no events_url: {accepted}"))?;
        let mut response = self
            .http
            .get(format!("{}{events}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .map_err(|e| format!("GET events: {e}"))?;
        let mut sse = Sse::default();
        loop {
            let chunk = tokio::time::timeout(IO_LIMIT, response.chunk())
                .await
                .map_err(|_| "no event within the limit".to_string())?
                .map_err(|e| format!("events: {e}"))?
                .ok_or("the event stream ended before its result")?;
            sse.push(&chunk);
            while let Some((event, data)) = sse.next_event() {
                if event == "result" {
                    let elapsed = ms(t0.elapsed());
                    let v: Value = serde_json::from_str(&data)
                        .map_err(|e| format!("result is not JSON ({e}): {data}"))?;
                    if v["status"] != "succeeded" {
                        return Err(format!("REST execution did not succeed: {v}"));
                    }
                    return Ok(elapsed);
                }
            }
        }
    }
}

/// A reqwest client for loopback (no proxy); `pool: false` keeps no idle connection, so each
/// request's connection closes once its answer is read.
fn http_client(pool: bool) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder().no_proxy();
    if !pool {
        b = b.pool_max_idle_per_host(0);
    }
    b.build().map_err(|e| format!("reqwest client: {e}"))
}

/// POSTs a JSON-RPC message to `/mcp` (in `session` when given).
async fn mcp_post(
    http: &reqwest::Client,
    base: &str,
    session: Option<&str>,
    body: &Value,
) -> Result<reqwest::Response, String> {
    let mut req = http
        .post(format!("{base}/mcp"))
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .json(body);
    if let Some(s) = session {
        req = req
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", PROTOCOL);
    }
    let response = tokio::time::timeout(IO_LIMIT, req.send())
        .await
        .map_err(|_| "no answer within the limit".to_string())?
        .map_err(|e| format!("POST /mcp: {e}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        return Err(format!("POST /mcp: {status}: {text}"));
    }
    Ok(response)
}

/// The JSON-RPC response with `id` from an MCP answer: a JSON body or an event stream.
async fn rpc_response(mut response: reqwest::Response, id: u64) -> Result<Value, String> {
    let sse = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !sse {
        let v: Value = response
            .json()
            .await
            .map_err(|e| format!("MCP answer: {e}"))?;
        return Ok(v);
    }
    let mut stream = Sse::default();
    loop {
        let chunk = tokio::time::timeout(IO_LIMIT, response.chunk())
            .await
            .map_err(|_| "no MCP answer within the limit".to_string())?
            .map_err(|e| format!("MCP answer: {e}"))?
            .ok_or_else(|| format!("the MCP answer ended without response #{id}"))?;
        stream.push(&chunk);
        while let Some((_, data)) = stream.next_event() {
            if data.is_empty() {
                continue; // a priming event (id only)
            }
            let v: Value = serde_json::from_str(&data)
                .map_err(|e| format!("MCP event is not JSON ({e}): {data}"))?;
            if v["id"] == json!(id) {
                if v.get("error").is_some() {
                    return Err(format!("MCP error: {v}"));
                }
                return Ok(v);
            }
        }
    }
}

/// `initialize` + `notifications/initialized`; the session id.
async fn mcp_session(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "cc-executor-bench", "version": "0"}}});
    let response = mcp_post(http, base, None, &init).await?;
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .ok_or("initialize answered without Mcp-Session-Id")?
        .to_string();
    rpc_response(response, 1).await?;
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let answer = mcp_post(http, base, Some(&session), &note).await?;
    let _ = answer.bytes().await;
    Ok(session)
}

/// A WebSocket connection to `/ws/mcp` with the token, past its `connected` greeting.
async fn ws_connect(base: &str) -> Result<Ws, String> {
    let url = format!("{}/ws/mcp", base.replacen("http://", "ws://", 1));
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("ws request: {e}"))?;
    let auth = format!("Bearer {TOKEN}")
        .parse()
        .map_err(|e| format!("header: {e}"))?;
    request.headers_mut().insert("Authorization", auth);
    let (mut ws, _) = tokio::time::timeout(IO_LIMIT, tokio_tungstenite::connect_async(request))
        .await
        .map_err(|_| "ws connect: no answer within the limit".to_string())?
        .map_err(|e| format!("ws connect: {e}"))?;
    let hello = ws_next(&mut ws).await?;
    if hello["method"] != "connected" {
        return Err(format!("expected `connected`, got {hello}"));
    }
    Ok(ws)
}

/// The next JSON text message (pings and pongs skipped).
async fn ws_next(ws: &mut Ws) -> Result<Value, String> {
    loop {
        let message = tokio::time::timeout(IO_LIMIT, ws.next())
            .await
            .map_err(|_| "ws: no message within the limit".to_string())?
            .ok_or("ws: the connection closed")?
            .map_err(|e| format!("ws: {e}"))?;
        match message {
            Message::Text(t) => {
                return serde_json::from_str(t.as_str()).map_err(|e| format!("ws: not JSON: {e}"));
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => return Err(format!("ws: expected text, got {other:?}")),
        }
    }
}

/// A Server-Sent Events parser over arriving chunks: whole events as (event name, data).
#[derive(Default)]
struct Sse {
    buf: String,
}

impl Sse {
    fn push(&mut self, chunk: &[u8]) {
        self.buf.push_str(&String::from_utf8_lossy(chunk));
        if self.buf.contains('\r') {
            self.buf = self.buf.replace("\r\n", "\n");
        }
    }

    /// The next complete event, if one has arrived; comments and events without data lines
    /// come back with empty data.
    fn next_event(&mut self) -> Option<(String, String)> {
        let end = self.buf.find("\n\n")?;
        let block: String = self.buf.drain(..end + 2).collect();
        let mut event = String::from("message");
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event = v.trim_start().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        Some((event, data.join("\n")))
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
