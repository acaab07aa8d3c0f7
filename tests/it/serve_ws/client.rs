//! A minimal Rust client of `/ws/mcp` (`tokio-tungstenite`): connect with the token, send
//! JSON-RPC, read JSON messages (pings and pongs skipped), read the close frame.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::server::TOKEN;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Any one read longer than this fails the test (a hang, never a timing check).
const READ_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Connects with the token and reads the `connected` greeting.
pub async fn connect(url: &str) -> Ws {
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {TOKEN}").parse().expect("header"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["method"], "connected", "{hello}");
    ws
}

/// The next JSON message (pings and pongs skipped); panics on a close or an error.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(READ_LIMIT, ws.next())
            .await
            .expect("a message within the read limit")
            .expect("the connection is open")
            .expect("a frame");
        match message {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Reads until the close frame; its code and reason.
pub async fn close_frame(ws: &mut Ws) -> CloseFrame {
    loop {
        let message = tokio::time::timeout(READ_LIMIT, ws.next())
            .await
            .expect("a close within the read limit")
            .expect("a close frame before the end")
            .expect("a frame");
        if let Message::Close(frame) = message {
            return frame.expect("a close code");
        }
    }
}

/// Sends a request and reads until its response (other messages are dropped).
pub async fn call(ws: &mut Ws, id: u64, method: &str, params: Value) -> Value {
    send(
        ws,
        &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .await;
    loop {
        let m = next_json(ws).await;
        if m["id"] == json!(id) {
            return m;
        }
    }
}

pub async fn send(ws: &mut Ws, v: &Value) {
    send_text(ws, v.to_string()).await;
}

pub async fn send_text(ws: &mut Ws, text: String) {
    ws.send(Message::Text(text.into())).await.expect("send");
}

/// Reads until execution `id`'s `process.completed`; its params.
pub async fn completed(ws: &mut Ws, id: &str) -> Value {
    loop {
        let m = next_json(ws).await;
        if m["method"] == "process.completed" && m["params"]["execution_id"] == id {
            return m["params"].clone();
        }
    }
}
