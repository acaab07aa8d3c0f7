//! The built server driven over raw stdio: bytes written exactly as a test chooses (several
//! requests in one write, malformed lines), answers read line by line.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

use super::fixtures::{cc_executor_bin, fake_claude_bin};

/// The built server on raw stdio, with the fake `claude` recording each start.
pub struct Server {
    pub child: Child,
    pub stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub dir: tempfile::TempDir,
    next_id: i64,
}

impl Server {
    pub fn start() -> Server {
        Server::start_in(tempfile::tempdir().unwrap())
    }

    /// A server on an existing directory (data dir, records): a restart.
    pub fn start_in(dir: tempfile::TempDir) -> Server {
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-06-18","capabilities":{},
            "clientInfo":{"name":"arrival-test","version":"1"}}});
        Server::start_with(dir, Some(init))
    }

    /// A server in a fresh directory that gets `init` as its `initialize` request (answered
    /// and followed by `notifications/initialized`) or, with `None`, no handshake at all (a
    /// 2026-07-28 client: every request carries its own `_meta`).
    pub fn start_with(dir: tempfile::TempDir, init: Option<Value>) -> Server {
        let p = dir.path().canonicalize().unwrap();
        let mut child = Command::new(cc_executor_bin())
            .arg("mcp")
            .current_dir(&p)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &p)
            .env("XDG_CONFIG_HOME", p.join("config"))
            .env("XDG_DATA_HOME", p.join("xdg-data"))
            .env("CC_EXECUTOR_CLAUDE_BIN", fake_claude_bin())
            .env("FAKE_CLAUDE_RECORD_DIR", p.join("record"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut s = Server {
            child,
            stdin,
            stdout,
            dir,
            next_id: 1,
        };
        if let Some(init) = init {
            s.write_all(&[init]);
            s.answers(&[0]);
            s.write_all(&[json!({"jsonrpc":"2.0","method":"notifications/initialized"})]);
        }
        s
    }

    /// Writes a request and returns its id.
    pub fn request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.write_all(&[json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})]);
        id
    }

    /// Every message the server writes up to and including the answer to `id`, in order.
    pub fn until_answer(&mut self, id: i64) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let m = self.next_message();
            let done = m["id"].as_i64() == Some(id)
                && (m.get("result").is_some() || m.get("error").is_some());
            seen.push(m);
            if done {
                return seen;
            }
        }
    }

    /// SIGKILLs the server (no chance to clean up) and hands back its directory.
    pub fn kill9(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// The fake `claude` invocations recorded so far.
    pub fn invocations(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("record/invocations.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Writes raw bytes as they are.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next line the server writes, parsed.
    pub fn next_message(&mut self) -> Value {
        let mut line = String::new();
        assert!(
            self.stdout.read_line(&mut line).unwrap() > 0,
            "the server closed stdout"
        );
        serde_json::from_str(&line).unwrap()
    }

    /// Writes every message in one `write` call.
    pub fn write_all(&mut self, messages: &[Value]) {
        let mut bytes = Vec::new();
        for m in messages {
            bytes.extend_from_slice(m.to_string().as_bytes());
            bytes.push(b'\n');
        }
        self.stdin.write_all(&bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn call(&mut self, tool: &str, arguments: Value) -> (i64, Value) {
        let id = self.next_id;
        self.next_id += 1;
        let m = json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
            "params":{"name":tool,"arguments":arguments}});
        (id, m)
    }

    /// Reads until every id has its answer; returns the answers by id.
    pub fn answers(&mut self, ids: &[i64]) -> HashMap<i64, Value> {
        let mut got = HashMap::new();
        while got.len() < ids.len() {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "the server closed stdout with answers missing: {got:?}"
            );
            let v: Value = serde_json::from_str(&line).unwrap();
            if let Some(id) = v["id"].as_i64()
                && ids.contains(&id)
            {
                got.insert(id, v);
            }
        }
        got
    }

    /// The tag (`round/label`) of each task, in the order the fake `claude`s started.
    pub fn started(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("record/invocations.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let stdin = v["stdin"].as_str().unwrap_or_default().to_string();
                stdin
                    .lines()
                    .find_map(|l| l.strip_prefix("tag "))
                    .unwrap_or("?")
                    .to_string()
            })
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
