//! Stopping the server: stdin EOF and SIGTERM stop it and its running task.

use super::*;

#[tokio::test]
async fn stdin_eof_stops_the_server_and_the_running_task() {
    let mut server = Launch::new().own_child().start().await;
    let handle = server
        .send(
            json!({"task": "@fake hang\nHang until EOF (eof test)."}),
            true,
        )
        .await;
    let rec = server.wait_invocation("hang", "eof test").await;
    let pgid = rec["pgid"].as_i64().expect("pgid") as i32;
    assert!(!group_processes(pgid).is_empty(), "the fake is running");

    // Close the connection without cancelling the request: the server sees EOF on stdin.
    let started = Instant::now();
    let closed = tokio::time::timeout(STEP, server.client.close()).await;
    assert!(closed.is_ok(), "closing the client timed out");
    drop(handle);
    let status = server.wait_exit(Duration::from_secs(15)).await;
    eprintln!(
        "server exited {status} {:?} after stdin EOF",
        started.elapsed()
    );
    // Promptly: rmcp alone would give the in-flight call 5 s after EOF before stopping it.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "shutdown after EOF took {:?}",
        started.elapsed()
    );
    assert!(status.success(), "server exit status {status}");
    server.assert_group_gone(pgid, "after stdin EOF").await;
    assert_no_cancellation_sent(&server.wire());
}

/// The lifecycle tests must stop the task by EOF/signal alone, not by MCP cancellation.
fn assert_no_cancellation_sent(wire: &[(Dir, Value)]) {
    let cancels: Vec<&Value> = wire
        .iter()
        .filter(|(d, m)| *d == Dir::Sent && m["method"] == "notifications/cancelled")
        .map(|(_, m)| m)
        .collect();
    assert!(cancels.is_empty(), "the client sent {cancels:?}");
}

#[tokio::test]
async fn sigterm_stops_the_server_and_the_running_task() {
    let mut server = Launch::new()
        .own_child()
        .args(&["--kill-grace-ms", "300"])
        .start()
        .await;
    let handle = server
        .send(
            json!({"task": "@fake ignore_sigterm\nStubborn until SIGTERM (sigterm test)."}),
            true,
        )
        .await;
    let rec = server
        .wait_invocation("ignore_sigterm", "sigterm test")
        .await;
    let pgid = rec["pgid"].as_i64().expect("pgid") as i32;
    assert!(!group_processes(pgid).is_empty(), "the fake is running");

    let started = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM the server");
    let status = server.wait_exit(Duration::from_secs(15)).await;
    eprintln!(
        "server exited {status} {:?} after SIGTERM",
        started.elapsed()
    );
    assert!(status.success(), "server exit status {status}");
    server
        .assert_group_gone(pgid, "after SIGTERM to the server")
        .await;
    assert_no_cancellation_sent(&server.wire());
    drop(handle);
}
