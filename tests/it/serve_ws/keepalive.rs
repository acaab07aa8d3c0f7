//! Keep-alive (`serve.ws_idle_secs`): a client the server hears nothing from — no message, no
//! ping, not even a pong to the server's pings — is closed with 1001 and the reason; a client
//! that pings (the protocol's JSON `ping`, or WebSocket ping frames) stays open however long it
//! is otherwise idle, and every ping is answered.
//!
//! The client here is a raw WebSocket over a TCP socket, written for these tests: a library
//! client (tungstenite) answers the server's pings by itself whenever it reads, so it could
//! never be silent, and its own pongs would keep it open whatever it sends.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::server::{Server, TOKEN};
use crate::support::fixtures::eventually;

/// The idle limit the tests' servers run with.
const IDLE_SECS: u64 = 2;

/// A WebSocket client that sends only what it is told to (never an automatic pong).
struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// One frame from the server: its opcode and payload.
struct Frame {
    opcode: u8,
    payload: Vec<u8>,
}

impl RawWs {
    /// Connects to `url` (`ws://ip:port/path`) with the token; reads the upgrade.
    fn connect(url: &str) -> RawWs {
        let rest = url.strip_prefix("ws://").expect("a ws:// URL");
        let (authority, path) = rest.split_at(rest.find('/').expect("a path"));
        let mut stream = TcpStream::connect(authority).expect("connect");
        // A bound that turns a hang into a failure; no test waits on it.
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("read timeout");
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Authorization: Bearer {TOKEN}\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .expect("send the upgrade");
        let mut ws = RawWs {
            stream,
            buf: Vec::new(),
        };
        let end = loop {
            if let Some(i) = ws.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            ws.fill();
        };
        let head = String::from_utf8_lossy(&ws.buf[..end]).to_string();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        ws.buf.drain(..end);
        let hello = ws.next_text();
        assert_eq!(hello["method"], "connected", "{hello}");
        ws
    }

    fn fill(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).expect("read");
        assert!(
            n > 0,
            "the server closed the TCP connection without a close frame"
        );
        self.buf.extend_from_slice(&chunk[..n]);
    }

    fn need(&mut self, n: usize) {
        while self.buf.len() < n {
            self.fill();
        }
    }

    /// The next frame (server frames are unmasked).
    fn frame(&mut self) -> Frame {
        self.need(2);
        let opcode = self.buf[0] & 0x0f;
        let (len, at) = match self.buf[1] & 0x7f {
            126 => {
                self.need(4);
                (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
            }
            127 => {
                self.need(10);
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.buf[2..10]);
                (u64::from_be_bytes(b) as usize, 10)
            }
            n => (n as usize, 2),
        };
        self.need(at + len);
        let payload = self.buf[at..at + len].to_vec();
        self.buf.drain(..at + len);
        Frame { opcode, payload }
    }

    /// The next text frame as JSON, skipping the server's pings (never answered).
    fn next_text(&mut self) -> Value {
        loop {
            let f = self.frame();
            match f.opcode {
                1 => return serde_json::from_slice(&f.payload).expect("JSON"),
                9 => continue,
                other => panic!(
                    "expected a text frame, got opcode {other}: {}",
                    String::from_utf8_lossy(&f.payload)
                ),
            }
        }
    }

    /// Sends a frame, masked as a client must.
    fn send(&mut self, opcode: u8, payload: &[u8]) {
        assert!(payload.len() < 126);
        let mask = [0x5a, 0x11, 0xc3, 0x7e];
        let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).expect("send a frame");
    }

    fn send_text(&mut self, text: &str) {
        self.send(1, text.as_bytes());
    }
}

#[test]
fn a_silent_client_is_closed_with_1001_and_the_reason() {
    let server = Server::start(&["--ws-idle-secs", &IDLE_SECS.to_string()]);
    let mut ws = RawWs::connect(&server.url);
    // Read everything the server sends, answering nothing (its pings included), until it
    // closes: the read bound turns a server that never does into a failure.
    let mut pings = 0;
    let close = loop {
        let f = ws.frame();
        match f.opcode {
            9 => pings += 1,
            8 => break f.payload,
            other => panic!("unexpected opcode {other}"),
        }
    };
    assert!(close.len() >= 2, "a close code");
    let code = u16::from_be_bytes([close[0], close[1]]);
    let reason = String::from_utf8_lossy(&close[2..]).to_string();
    assert_eq!(code, 1001, "{reason}");
    assert!(
        reason.contains(&format!("nothing heard from the client for {IDLE_SECS} s")),
        "{reason}"
    );
    assert!(pings >= 1, "the server pinged before giving up");
    let logged = eventually(Duration::from_secs(30), || {
        server.log().contains("nothing heard from the client")
    });
    assert!(logged, "{}", server.log());
}

/// Keeps `ws` busy with `ping` (one every 200 ms, each answered as `check` says) for
/// `3 × IDLE_SECS`, then checks the connection still answers a request.
fn pings_keep_it_open(ws: &mut RawWs, mut ping: impl FnMut(&mut RawWs, u32)) {
    let until = Instant::now() + Duration::from_secs(3 * IDLE_SECS);
    let mut n = 0;
    while Instant::now() < until {
        ping(ws, n);
        n += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    ws.send_text(r#"{"jsonrpc":"2.0","id":99,"method":"ping"}"#);
    let answer = ws.next_text();
    assert_eq!(answer["id"], 99, "{answer}");
    assert_eq!(answer["result"], "pong", "{answer}");
}

#[test]
fn a_client_that_pings_stays_open_and_each_ping_is_answered() {
    let server = Server::start(&["--ws-idle-secs", &IDLE_SECS.to_string()]);

    // The predecessor's keep-alive: a JSON `ping` notification, answered with `pong`.
    let mut json = RawWs::connect(&server.url);
    pings_keep_it_open(&mut json, |ws, _| {
        ws.send_text(r#"{"jsonrpc":"2.0","method":"ping"}"#);
        let pong = ws.next_text();
        assert_eq!(pong["method"], "pong", "{pong}");
        assert!(pong.get("id").is_none(), "a notification: {pong}");
    });
    // Gone (its TCP connection closed), it cannot be taken for a silent client below.
    drop(json);

    // WebSocket ping frames, answered with pong frames carrying the same payload.
    let mut frames = RawWs::connect(&server.url);
    pings_keep_it_open(&mut frames, |ws, n| {
        let payload = format!("keepalive-{n}");
        ws.send(9, payload.as_bytes());
        let pong = loop {
            let f = ws.frame();
            match f.opcode {
                9 => continue, // the server's own ping: left unanswered
                _ => break f,
            }
        };
        assert_eq!(pong.opcode, 10, "a pong frame");
        assert_eq!(pong.payload, payload.as_bytes());
    });
    assert!(
        !server.log().contains("nothing heard from the client"),
        "{}",
        server.log()
    );
}
