//! Cross-ecosystem smoke test: the official Python MCP SDK (`mcp==2.3.0`, installed into
//! `.tools/venv` by `scripts/provision`) drives the built `cc-executor mcp` over stdio with the
//! fake claude. The script is `tests/python/mcp_smoke.py`; this test runs it and fails, with
//! the script's output, if it does not pass. A missing venv is a failure, never a skip.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::fixtures::{cc_executor_bin, fake_claude_bin};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn venv_python() -> PathBuf {
    let python = manifest_dir().join(".tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `scripts/provision` to install the Python MCP SDK (mcp==2.3.0) \
         into .tools/venv; this test never skips",
        python.display()
    );
    python
}

#[test]
fn python_mcp_sdk_lists_and_calls_cc_execute() {
    let python = venv_python();
    let script = manifest_dir().join("tests/python/mcp_smoke.py");
    assert!(script.exists(), "{} is missing", script.display());

    let dir = tempfile::tempdir().expect("tempdir");
    let (root, data, rec) = (
        dir.path().join("root"),
        dir.path().join("data"),
        dir.path().join("rec"),
    );
    for d in [&root, &data, &rec] {
        std::fs::create_dir(d).expect("create test dirs");
    }
    // Output goes to files: nothing can block on a full pipe, and it is all there on failure.
    let stdout_path = dir.path().join("stdout.txt");
    let stderr_path = dir.path().join("stderr.txt");

    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg("--server")
        .arg(cc_executor_bin())
        .arg("--fake-claude")
        .arg(fake_claude_bin())
        .arg("--root")
        .arg(&root)
        .arg("--data-dir")
        .arg(&data)
        .arg("--record-dir")
        .arg(&rec)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"));
    let mut child = cmd.spawn().expect("run the Python smoke test");

    let deadline = Instant::now() + Duration::from_secs(28);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        std::fs::read_to_string(&stdout_path).unwrap_or_default(),
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    let Some(status) = status else {
        panic!("the Python smoke test did not finish within 28 s\n{output}");
    };
    assert!(
        status.success(),
        "the Python smoke test failed ({status})\n{output}"
    );
    assert!(output.contains("OK"), "no OK from the script\n{output}");

    // The call really went through the server to the fake claude, with the prompt on stdin.
    let invocations = std::fs::read_to_string(rec.join("invocations.jsonl")).unwrap_or_default();
    let records: Vec<serde_json::Value> = invocations
        .lines()
        .map(|l| serde_json::from_str(l).expect("invocations.jsonl line"))
        .collect();
    assert_eq!(records.len(), 1, "{invocations}\n{output}");
    assert_eq!(records[0]["scenario"], "success");
    assert!(
        records[0]["stdin"]
            .as_str()
            .is_some_and(|s| s.starts_with("@fake success text=from-python")),
        "{invocations}"
    );
}
