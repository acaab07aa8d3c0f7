//! What an open connection costs the service. axum hands every accepted connection its own copy
//! of the router, each route's state included, and the connection keeps it while it is open —
//! so state reached from a route must be cheap to clone. An MCP client's event stream, a REST
//! client's Server-Sent Events and every idle keep-alive connection are such open connections.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use super::*;

/// Idle keep-alive connections opened at once.
const IDLE: usize = 100;
/// What one idle connection may add to the service's memory (debug build): measured 30–32 KiB
/// (socket, hyper's buffers, the router's tables); 169 KiB while every REST route's state held
/// its own deep copy of the MCP server.
const PER_CONNECTION_LIMIT_KIB: u64 = 64;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// A connection that has made one request (`GET /health`, read whole) and stays open.
fn keep_alive(base: &str) -> BufReader<TcpStream> {
    let authority = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    write!(stream, "GET /health HTTP/1.1\r\nhost: {authority}\r\n\r\n").expect("send");
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut status = String::new();
    reader.read_line(&mut status).expect("status line");
    assert!(status.contains(" 200 "), "{status}");
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().expect("content-length");
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    reader
}

#[test]
fn an_idle_http_connection_holds_no_copy_of_the_tool_server() {
    let service = Service::start(&["--max-connections", "300"]);
    // What is created once (the runtime's threads, the allocator's first arenas) goes into the
    // baseline.
    for _ in 0..10 {
        drop(keep_alive(&service.url));
    }
    let warm: Vec<_> = (0..10).map(|_| keep_alive(&service.url)).collect();
    drop(warm);
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib(service.pid());

    let open: Vec<_> = (0..IDLE).map(|_| keep_alive(&service.url)).collect();
    let after = rss_kib(service.pid());

    // They are all open, by the service's own count (this request included).
    let (k, v) = service.auth();
    let health = request(&service.url, "GET", "/api/v1/health", &[(k, v)], b"");
    assert_eq!(health.status, 200, "{health:?}");
    let counted = health.json()["service"]["connections"]
        .as_u64()
        .expect("connections");
    assert!(counted > IDLE as u64, "{counted} open connections");

    let per = after.saturating_sub(before) / IDLE as u64;
    eprintln!(
        "VmRSS {before} KiB before, {after} KiB with {IDLE} idle connections: {per} KiB each"
    );
    assert!(
        per <= PER_CONNECTION_LIMIT_KIB,
        "an idle connection costs {per} KiB ({before} → {after} KiB for {IDLE})"
    );
    drop(open);
}
