//! Real MCP clients over HTTP: the Claude Code CLI registers the service with
//! `claude mcp add --transport http … --header "Authorization: Bearer …"` and `claude mcp list`
//! shows it connected; the TypeScript SDK's `StreamableHTTPClientTransport` and the Python
//! SDK's streamable HTTP client each call `cc_execute` (the fake claude) with progress, and
//! `check_websocket_status` reports the service they are talking to. All three share one
//! service: they queue into one executor.

use super::*;
use crate::support::interop::{node22, run_bounded, test_file, ts_sdk, venv_python};
use crate::support::real_claude::{IsolatedEnv, claude_bin};

const LIMIT: Duration = Duration::from_secs(90);

#[test]
fn claude_mcp_add_over_http_and_claude_mcp_list_shows_it_connected() {
    let service = Service::start(&[]);
    let env = IsolatedEnv::new();
    let claude = |args: &[&str]| {
        let mut c = Command::new(claude_bin());
        for (k, v) in env.env_vars("http://127.0.0.1:9") {
            c.env(k, v);
        }
        c.env_remove("CLAUDECODE")
            .current_dir(env.workdir())
            .args(args)
            .stdin(Stdio::null());
        c.output().unwrap()
    };
    let header = format!(
        "Authorization: Bearer {}",
        service.token.as_deref().unwrap()
    );
    let add = claude(&[
        "mcp",
        "add",
        "--transport",
        "http",
        "cc-executor",
        &service.mcp_url(),
        "--header",
        &header,
    ]);
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    assert!(
        add.status.success(),
        "{}{}",
        text(&add.stdout),
        text(&add.stderr)
    );
    let list = claude(&["mcp", "list"]);
    let said = text(&list.stdout);
    let line = said
        .lines()
        .find(|l| l.starts_with("cc-executor"))
        .unwrap_or_else(|| panic!("not listed: {said}{}", text(&list.stderr)));
    assert!(line.contains(&service.mcp_url()), "{line}");
    assert!(line.contains("Connected"), "{line}\n{}", service.stderr());
}

#[test]
fn the_typescript_and_python_sdks_call_cc_execute_with_progress_over_http() {
    let service = Service::start(&[]);
    let token = service.token.clone().unwrap();
    let mut ts = Command::new(node22());
    ts.arg(test_file("js/http_client.mjs"))
        .arg(ts_sdk())
        .arg(service.mcp_url())
        .arg(&token)
        .arg("TS-HTTP");
    let run = run_bounded(ts, LIMIT, "the TypeScript SDK over HTTP");
    assert!(
        run.status.success(),
        "{}\n{}",
        run.output(),
        service.stderr()
    );
    assert!(run.stdout.contains(r#""ok":true"#), "{}", run.output());

    for (protocol, marker) in [
        ("2025-11-25", "PY-HTTP-2025"),
        ("2026-07-28", "PY-HTTP-2026"),
    ] {
        let mut py = Command::new(venv_python());
        py.arg(test_file("python/mcp_http.py"))
            .args(["--url", &service.mcp_url(), "--token", &token])
            .args(["--protocol", protocol, "--marker", marker])
            .env("PYTHONUNBUFFERED", "1");
        let run = run_bounded(py, LIMIT, "the Python SDK over HTTP");
        assert!(
            run.status.success(),
            "{protocol}: {}\n{}",
            run.output(),
            service.stderr()
        );
        assert!(
            run.stdout
                .contains(&format!("\"protocol\": \"{protocol}\"")),
            "{}",
            run.output()
        );
    }
    // Each task ran exactly once, through the one executor.
    service.sandbox.assert_each_ran_once(
        &[
            "http marker TS-HTTP",
            "http marker PY-HTTP-2025",
            "http marker PY-HTTP-2026",
        ],
        &service.stderr(),
    );
}
