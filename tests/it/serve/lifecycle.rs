//! Starting and stopping: an unsafe address is refused at start, `serve status` tells whether
//! a service runs and where, SIGTERM mid-task stops the task's whole tree, records it, and
//! exits 0.

use super::*;
use crate::support::fixtures::{group_processes, invocations, wait_group_gone};

#[test]
fn a_public_address_without_a_token_is_refused_at_start() {
    let sandbox = Sandbox::new();
    for (args, needle) in [
        (vec!["serve", "--listen", "0.0.0.0:0"], "token"),
        (
            vec!["serve", "--listen", "0.0.0.0:0", "--no-auth"],
            "--no-auth",
        ),
    ] {
        let out = Service::command(&sandbox, &[])
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("serve.listen") && stderr.contains(needle),
            "{args:?}: {stderr}"
        );
    }
    assert!(
        !sandbox.data.join("serve").join("state.json").exists(),
        "nothing listened"
    );
}

fn status(sandbox: &Sandbox) -> (Option<i32>, String) {
    let out = Service::command(sandbox, &[])
        .args(["serve", "status"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn serve_status_says_whether_a_service_runs_and_where() {
    let sandbox = Sandbox::new();
    let (code, said) = status(&sandbox);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.starts_with("not running"), "{said}");

    let mut service = Service::start_with(sandbox, &[], &[]);
    let (code, said) = status(&service.sandbox);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(&service.url)
            && said.contains("mcp")
            && said.contains(&service.pid().to_string()),
        "{said}"
    );
    // A second service on the same data dir is refused while the first runs.
    let second = Service::command(&service.sandbox, &[])
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already runs"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    let exit = service.terminate(Duration::from_secs(20));
    assert!(exit.success(), "{exit}\n{}", service.stderr());
    assert!(
        !service.sandbox.data.join("serve/state.json").exists(),
        "the state file goes with a clean exit"
    );
    let (code, said) = status(&service.sandbox);
    assert_eq!(code, Some(1), "{said}");
}

#[test]
fn sigterm_mid_task_stops_the_tree_records_it_and_exits_0() {
    let mut service = Service::start_with(Sandbox::new(), &["--kill-grace-ms", "300"], &[]);
    let session = open_session(&service);
    let call = tool_call(
        2,
        "cc_execute",
        r#"{"task":"@fake ignore_sigterm\nStubborn until SIGTERM (serve sigterm)","wait":false}"#,
    );
    let a = request(&service.url, "POST", "/mcp", &session, call.as_bytes());
    assert_eq!(a.status, 200, "{a:?}");
    let id: String = a
        .body
        .split("started execution ")
        .nth(1)
        .map(|rest| rest.chars().take(36).collect())
        .unwrap_or_else(|| panic!("no execution id: {a:?}"));
    let rec = service.sandbox.rec.clone();
    let started = crate::support::fixtures::eventually(Duration::from_secs(20), || {
        invocations(&rec)
            .iter()
            .any(|r| r["stdin"].as_str().unwrap_or("").contains("serve sigterm"))
    });
    assert!(started, "the fake never started\n{}", service.stderr());
    let inv = invocations(&rec)
        .into_iter()
        .find(|r| r["stdin"].as_str().unwrap_or("").contains("serve sigterm"))
        .unwrap();
    let pgid = inv["pgid"].as_i64().expect("pgid") as i32;
    assert!(!group_processes(pgid).is_empty(), "the fake is running");

    let exit = service.terminate(Duration::from_secs(20));
    assert!(exit.success(), "{exit}\n{}", service.stderr());
    let left = wait_group_gone(pgid, 10);
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(
        service.stderr().contains("stopping 1 running"),
        "{}",
        service.stderr()
    );
    // Recorded: the history has the execution, stopped by the shutdown.
    let out = Service::command(&service.sandbox, &[])
        .args(["history", "show", &id, "--json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{shown}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["result"]["status"], "cancelled", "{v}");
}
