//! 200 idle connections and 20 submitting ones on one server: its memory stays bounded (VmRSS
//! before and after, read from /proc), every idle connection still answers, and the 20 tasks
//! run in the order they were submitted.

use serde_json::{Value, json};

use super::client::{Ws, call, completed, connect, next_json, send};
use super::server::Server;

const IDLE: usize = 200;
const SUBMITTING: usize = 20;
/// What 220 connections and 20 finished executions may add to the server's memory, all
/// together: about 75 KiB per connection (measured: ~26 KiB — the WebSocket buffers, the
/// session, the socket), with room for the allocator; a leak per message, an unbounded queue
/// or tungstenite's default 128 KiB read buffer per connection would be over it.
const GROWTH_LIMIT_KIB: u64 = 16 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_idle_and_twenty_submitting_connections_stay_bounded_and_fifo() {
    let server = Server::start(&[
        "--max-connections",
        "300",
        "--submit-burst",
        "100",
        "--submit-per-minute",
        "600",
    ]);
    // One execution first, so what is created once (the store, the runtime's threads) is in
    // the baseline.
    let mut warm = connect(&server.url).await;
    let r = call(
        &mut warm,
        1,
        "execute",
        json!({"task": "@fake success\nload-warm"}),
    )
    .await;
    let warm_id = r["result"]["execution_id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(completed(&mut warm, &warm_id).await["status"], "succeeded");
    drop(warm);
    let before = server.rss_kib();

    let mut idle: Vec<Ws> = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(connect(&server.url).await);
    }
    let mut submitting: Vec<Ws> = Vec::with_capacity(SUBMITTING);
    for _ in 0..SUBMITTING {
        submitting.push(connect(&server.url).await);
    }
    // Each submission is sent once the previous one is answered: the order is known.
    let mut ids = Vec::new();
    for (i, ws) in submitting.iter_mut().enumerate() {
        let task = format!("@fake success text=answer-{i}\nload-{i}");
        let r = call(ws, 1, "execute", json!({"task": task})).await;
        ids.push(
            r["result"]["execution_id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    let results: Vec<Value> = futures::future::join_all(
        submitting
            .iter_mut()
            .zip(&ids)
            .map(|(ws, id)| async move { completed(ws, id).await }),
    )
    .await;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["status"], "succeeded", "{r}");
        assert_eq!(r["result"]["result"], format!("answer-{i}"));
    }
    // FIFO: claude ran in submission order, and each finished before the next.
    let order: Vec<usize> = server
        .sandbox
        .invocations()
        .iter()
        .filter_map(|v| {
            let stdin = v["stdin"].as_str()?;
            let rest = stdin.split("load-").nth(1)?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    assert_eq!(order, (0..SUBMITTING).collect::<Vec<_>>());
    let finished: Vec<&str> = results
        .iter()
        .map(|r| r["result"]["finished_at"].as_str().unwrap_or(""))
        .collect();
    let times: Vec<chrono::DateTime<chrono::Utc>> = finished
        .iter()
        .map(|t| t.parse().expect("RFC 3339"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{finished:?}");

    // Every idle connection is still there and answers.
    for ws in idle.iter_mut() {
        send(ws, &json!({"jsonrpc": "2.0", "id": 2, "method": "ping"})).await;
    }
    for ws in idle.iter_mut() {
        let m = next_json(ws).await;
        assert_eq!(m["result"], "pong", "{m}");
    }
    let after = server.rss_kib();
    let grown = after.saturating_sub(before);
    eprintln!(
        "server VmRSS: {before} KiB before, {after} KiB with {} connections ({grown} KiB more)",
        IDLE + SUBMITTING
    );
    assert!(
        grown < GROWTH_LIMIT_KIB,
        "the server grew by {grown} KiB for {} connections",
        IDLE + SUBMITTING
    );
}
