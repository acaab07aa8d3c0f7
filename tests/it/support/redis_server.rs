//! A real `redis-server` for the tests: loopback only, a free port, no persistence, no password,
//! its files in a tempdir. Killed by [`RedisServer::stop`] and on drop.
//!
//! `redis-server` missing is a failure ("run scripts/provision"), never a skip.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a started server has to answer PING.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers PING.
    pub fn start() -> RedisServer {
        check_installed();
        let mut last = String::new();
        // A free port can be taken by someone else before the server binds it: try a few.
        for _ in 0..5 {
            let mut server = RedisServer {
                port: free_port(),
                dir: tempfile::tempdir().expect("tempdir for redis-server"),
                child: None,
            };
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => last = e,
            }
        }
        panic!("redis-server did not start: {last}");
    }

    /// `redis://127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL: no shutdown, no save) and reaps it. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Make sure nothing answers on the port any more before returning.
        let deadline = Instant::now() + Duration::from_secs(5);
        while ping(self.port) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Writes the dataset to `dump.rdb` in the server's directory (`SAVE`), so that it
    /// survives a [`stop`](Self::stop) + [`restart`](Self::restart), as on a Redis with
    /// persistence. Panics when the server does not confirm.
    pub fn save(&self) {
        let reply = command(self.port, b"SAVE\r\n");
        assert!(
            reply.as_deref().is_some_and(|r| r.starts_with(b"+OK")),
            "redis-server SAVE failed: {:?}",
            reply.map(|r| String::from_utf8_lossy(&r).into_owned())
        );
    }

    /// Sends one command in RESP (e.g. `["CONFIG", "SET", "appendonly", "yes"]`); the raw
    /// reply.
    pub fn send(&self, args: &[&str]) -> String {
        let mut cmd = format!("*{}\r\n", args.len());
        for a in args {
            cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        command(self.port, cmd.as_bytes())
            .map(|r| String::from_utf8_lossy(&r).into_owned())
            .unwrap_or_default()
    }

    /// Starts the server again on the same port and directory (stopping it first if it runs)
    /// and waits until it answers PING. It comes back empty unless [`save`](Self::save) was
    /// called before the stop (no automatic persistence).
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return,
                // The port may linger briefly after the kill.
                Err(e) if Instant::now() < deadline => {
                    eprintln!("redis-server restart on port {}: {e}; retrying", self.port);
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("redis-server did not restart on port {}: {e}", self.port),
            }
        }
    }

    fn log_path(&self) -> std::path::PathBuf {
        self.dir.path().join("redis.log")
    }

    fn spawn(&mut self) -> Result<(), String> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(self.log_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    not_installed()
                }
                format!("cannot spawn redis-server: {e}")
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if ping(self.port) {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                return Err(format!("redis-server exited ({status}); its log:\n{log}"));
            }
            if Instant::now() > deadline {
                self.stop();
                let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                return Err(format!(
                    "redis-server did not answer PING within {READY_TIMEOUT:?}; its log:\n{log}"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn not_installed() -> ! {
    panic!(
        "redis-server is not installed (or not on PATH): run scripts/provision \
         (it installs the Debian package redis-server); these tests never skip"
    )
}

fn check_installed() {
    match Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`redis-server --version` failed ({s}): run scripts/provision"),
        Err(_) => not_installed(),
    }
}

/// A free loopback port that no other server of this process was ever given. All the tests
/// share one process (`tests/it`), and some stop a server and restart it on its port later:
/// meanwhile the kernel may hand that port out again, and another test's server (or a store
/// reconnecting to the stopped one) must never end up on it.
fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        if given.insert(port) {
            return port;
        }
    }
}

/// Does a Redis server answer PING on this loopback port?
fn ping(port: u16) -> bool {
    command(port, b"PING\r\n").is_some_and(|r| r.starts_with(b"+PONG"))
}

/// Sends one inline command and reads a one-line reply.
fn command(port: u16, cmd: &[u8]) -> Option<Vec<u8>> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_millis(500))).ok()?;
    s.write_all(cmd).ok()?;
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    Some(got)
}
