//! JSON-RPC errors with their codes and ids, and the close codes, seen by a Rust client.

use futures::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::client::{call, close_frame, connect, next_json, send_text};
use super::server::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_json_rpc_errors_with_their_ids() {
    let server = Server::start(&[]);
    let mut ws = connect(&server.url).await;
    let cases: [(&str, i64, Value); 7] = [
        ("{not json", -32700, Value::Null),
        (
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            -32600,
            Value::Null,
        ),
        (r#"{"jsonrpc":"2.0","id":5}"#, -32600, json!(5)),
        (
            r#"{"jsonrpc":"1.0","id":"v","method":"ping"}"#,
            -32600,
            json!("v"),
        ),
        (
            r#"{"jsonrpc":"2.0","id":"x","method":"no_such_method"}"#,
            -32601,
            json!("x"),
        ),
        (
            r#"{"jsonrpc":"2.0","id":6,"method":"attach","params":{}}"#,
            -32602,
            json!(6),
        ),
        (
            r#"{"jsonrpc":"2.0","id":7,"method":"execute","params":{"task":"x","timeout_secs":"soon"}}"#,
            -32602,
            json!(7),
        ),
    ];
    for (text, code, id) in cases {
        send_text(&mut ws, text.to_string()).await;
        let m = next_json(&mut ws).await;
        assert_eq!(m["error"]["code"], code, "{text}: {m}");
        assert_eq!(m["id"], id, "{text}: {m}");
        assert_eq!(m["jsonrpc"], "2.0");
    }
    let m = call(&mut ws, 8, "no_such_method", json!({})).await;
    assert!(
        m["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("no_such_method"),
        "{m}"
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    let m = call(&mut ws, 9, "status", json!({"execution_id": unknown})).await;
    assert_eq!(m["error"]["code"], -32001, "{m}");
    let m = call(&mut ws, 10, "attach", json!({"execution_id": unknown})).await;
    assert_eq!(m["error"]["code"], -32001, "{m}");
    let m = call(
        &mut ws,
        11,
        "control",
        json!({"type": "CANCEL", "execution_id": unknown}),
    )
    .await;
    assert_eq!(m["error"]["code"], -32001, "{m}");
    let m = call(&mut ws, 12, "control", json!({"type": "stop"})).await;
    assert_eq!(m["error"]["code"], -32602, "{m}");
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .expect("send");
    let m = next_json(&mut ws).await;
    assert_eq!(m["error"]["code"], -32600, "{m}");
    // Still usable after all that.
    let m = call(&mut ws, 13, "ping", json!({})).await;
    assert_eq!(m["result"], "pong");
    assert!(server.sandbox.invocations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_size_limit_closes_with_1009() {
    let server = Server::start(&["--max-body-kib", "1"]);
    let mut ws = connect(&server.url).await;
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "execute",
                     "params": {"task": "x".repeat(4096)}});
    send_text(&mut ws, big.to_string()).await;
    let frame = close_frame(&mut ws).await;
    assert_eq!(frame.code, CloseCode::Size, "{frame:?}");
    assert!(frame.reason.contains("max_body_kib"), "{frame:?}");
    assert!(server.sandbox.invocations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_submission_rate_limit_answers_with_retry_after() {
    let server = Server::start(&["--submit-burst", "1", "--submit-per-minute", "1"]);
    let mut ws = connect(&server.url).await;
    let first = call(
        &mut ws,
        1,
        "execute",
        json!({"task": "@fake success\nrate-1"}),
    )
    .await;
    assert_eq!(first["result"]["status"], "started", "{first}");
    let second = call(
        &mut ws,
        2,
        "execute",
        json!({"task": "@fake success\nrate-2"}),
    )
    .await;
    assert_eq!(second["error"]["code"], -32005, "{second}");
    assert!(
        second["error"]["data"]["retry_after_secs"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_shutdown_closes_connections_with_1001() {
    let mut server = Server::start(&[]);
    let mut ws = connect(&server.url).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.pid()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let frame = close_frame(&mut ws).await;
    assert_eq!(frame.code, CloseCode::Away, "{frame:?}");
    assert!(frame.reason.contains("shutting down"), "{frame:?}");
    assert!(server.stop().success(), "{}", server.log());
}
