//! What the interop tests share: the clients `scripts/provision` installs (a missing one is a
//! failure that says to run it — these tests never skip), a sandbox per client run (allowed
//! root, data dir, fake-claude records), bounded runs of a client process with its output in
//! files, and the check that every task ran exactly once.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file `scripts/provision` installs under `.tools/`; panics, saying to run it, when missing.
pub fn provisioned(rel: &str, what: &str) -> PathBuf {
    let path = manifest_dir().join(".tools").join(rel);
    assert!(
        path.exists(),
        "{} is missing: run `scripts/provision` to install {what}; the interop tests never skip",
        path.display()
    );
    path
}

/// Node.js 22 (the machine's own Node may be older than the MCP Inspector needs).
pub fn node22() -> PathBuf {
    provisioned("node22/node_modules/.bin/node", "Node.js 22")
}

/// The MCP Inspector CLI (its launcher; run with `--cli`).
pub fn inspector() -> PathBuf {
    provisioned(
        "mcp-js/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js",
        "the MCP Inspector",
    )
}

/// The TypeScript MCP SDK's package directory.
pub fn ts_sdk() -> PathBuf {
    provisioned(
        "mcp-js/node_modules/@modelcontextprotocol/sdk/package.json",
        "the TypeScript MCP SDK",
    )
    .parent()
    .map(Path::to_path_buf)
    .unwrap_or_default()
}

/// The venv's Python with the `mcp` SDK.
pub fn venv_python() -> PathBuf {
    provisioned(
        "venv/bin/python",
        "the Python MCP SDK (mcp==2.3.0) into .tools/venv",
    )
}

/// A file of this repository's tests.
pub fn test_file(rel: &str) -> PathBuf {
    let path = manifest_dir().join("tests").join(rel);
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// One client run's directories: `root` (allowed root and the server's cwd), `data`, `rec`
/// (the fake claude's invocation records).
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub data: PathBuf,
    pub rec: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().canonicalize().expect("canonical tempdir");
        let (root, data, rec) = (base.join("root"), base.join("data"), base.join("rec"));
        for d in [&root, &data, &rec] {
            std::fs::create_dir(d).expect("create sandbox dirs");
        }
        Sandbox {
            dir,
            root,
            data,
            rec,
        }
    }

    /// The fake claude's invocations, in order.
    pub fn invocations(&self) -> Vec<Value> {
        std::fs::read_to_string(self.rec.join("invocations.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("invocations.jsonl line"))
            .collect()
    }

    /// Every task ran exactly once: one invocation per marker, and nothing else.
    pub fn assert_each_ran_once(&self, markers: &[&str], output: &str) {
        let invocations = self.invocations();
        let prompts: Vec<&str> = invocations
            .iter()
            .map(|v| v["stdin"].as_str().unwrap_or(""))
            .collect();
        for marker in markers {
            let runs = prompts.iter().filter(|p| p.contains(marker)).count();
            assert_eq!(
                runs, 1,
                "`{marker}` ran {runs} times: {prompts:#?}\n{output}"
            );
        }
        assert_eq!(
            prompts.len(),
            markers.len(),
            "unexpected runs: {prompts:#?}\n{output}"
        );
    }
}

/// What a bounded run left.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// stdout and stderr, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }

    /// Lines of stderr that warn or report an error (the server logs at `warn`).
    pub fn complaints(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| {
                let l = l.to_ascii_lowercase();
                l.contains("warn") || l.contains("error")
            })
            .collect()
    }
}

/// Runs `cmd` to its end, at most `limit` (then kills it and panics with what it wrote).
/// Output goes to files: nothing blocks on a full pipe, and all of it is there on failure.
pub fn run_bounded(mut cmd: Command, limit: Duration, what: &str) -> Finished {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"));
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the client") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let finished = |status| Finished {
        status,
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    };
    match status {
        Some(status) => finished(status),
        None => {
            let f = finished(ExitStatus::default());
            panic!("{what} did not finish within {limit:?}\n{}", f.output())
        }
    }
}
