//! The network clients of `benches/surfaces.rs`: MCP Streamable HTTP (JSON-RPC over POST, the
//! answer as JSON or an event stream), the `/ws/mcp` WebSocket, and REST with Server-Sent
//! Events — written here against the wire formats the README documents, with reqwest and
//! tokio-tungstenite.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::ms;

/// The token the benchmark's `serve` is started with.
pub(crate) const TOKEN: &str = "bench-token-0123456789abcdef";
/// The MCP protocol version of the benchmark's sessions.
pub(crate) const PROTOCOL: &str = "2025-06-18";
/// Longest any one network exchange may take before the run counts as failed.
pub(crate) const IO_LIMIT: Duration = Duration::from_secs(60);

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The timed network clients: one HTTP client (kept-alive connections) with one MCP session,
/// and one WebSocket connection.
pub(crate) struct Clients {
    base: String,
    http: reqwest::Client,
    session: String,
    ws: Ws,
    next_id: u64,
}

impl Clients {
    pub(crate) async fn open(base: &str) -> Result<Clients, String> {
        let http = http_client(true)?;
        let session = mcp_session(&http, base).await?;
        let ws = ws_connect(base).await?;
        Ok(Clients {
            base: base.to_string(),
            http,
            session,
            ws,
            next_id: 100,
        })
    }

    pub(crate) async fn close(self) {
        let mut ws = self.ws;
        let _ = ws.close(None).await;
        let _ = self
            .http
            .delete(format!("{}/mcp", self.base))
            .bearer_auth(TOKEN)
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", PROTOCOL)
            .send()
            .await;
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// `tools/call` `cc_execute` in the session; ms from sending to the response read.
    pub(crate) async fn http_call(&mut self, task: &str, cwd: &str) -> Result<f64, String> {
        let id = self.id();
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "cc_execute", "arguments": {"task": task, "cwd": cwd}}});
        let t0 = Instant::now();
        let response = mcp_post(&self.http, &self.base, Some(&self.session), &body).await?;
        let v = rpc_response(response, id).await?;
        let elapsed = ms(t0.elapsed());
        let r = &v["result"];
        if r["isError"] == json!(true) || r["structuredContent"]["status"] != "succeeded" {
            return Err(format!("cc_execute over HTTP did not succeed: {v}"));
        }
        Ok(elapsed)
    }

    /// `execute` on the WebSocket; ms from sending to its `process.completed` read.
    pub(crate) async fn ws_execute(&mut self, task: &str, cwd: &str) -> Result<f64, String> {
        let id = self.id();
        let request = json!({"jsonrpc": "2.0", "id": id, "method": "execute",
            "params": {"task": task, "cwd": cwd}});
        let t0 = Instant::now();
        self.ws
            .send(Message::Text(request.to_string().into()))
            .await
            .map_err(|e| format!("ws send: {e}"))?;
        let mut execution: Option<String> = None;
        loop {
            let m = ws_next(&mut self.ws).await?;
            if m["id"] == json!(id) {
                let eid = m["result"]["execution_id"]
                    .as_str()
                    .ok_or_else(|| format!("execute refused: {m}"))?;
                execution = Some(eid.to_string());
            } else if m["method"] == "process.completed"
                && execution
                    .as_deref()
                    .is_some_and(|e| m["params"]["execution_id"] == e)
            {
                let elapsed = ms(t0.elapsed());
                if m["params"]["status"] != "succeeded" {
                    return Err(format!("execute did not succeed: {m}"));
                }
                return Ok(elapsed);
            }
        }
    }

    /// `POST /api/v1/executions`, then its events until `result`; ms from the POST to the
    /// result read.
    pub(crate) async fn rest_execute(&mut self, task: &str, cwd: &str) -> Result<f64, String> {
        let t0 = Instant::now();
        let accepted = self
            .http
            .post(format!("{}/api/v1/executions", self.base))
            .bearer_auth(TOKEN)
            .json(&json!({"task": task, "cwd": cwd}))
            .send()
            .await
            .map_err(|e| format!("POST /executions: {e}"))?;
        if accepted.status() != reqwest::StatusCode::ACCEPTED {
            let status = accepted.status();
            let body = accepted.text().await.unwrap_or_default();
            return Err(format!("POST /executions: {status}: {body}"));
        }
        let accepted: Value = accepted
            .json()
            .await
            .map_err(|e| format!("POST /executions: body: {e}"))?;
        let events = accepted["events_url"]
            .as_str()
            .ok_or_else(|| format!("no events_url: {accepted}"))?;
        let mut response = self
            .http
            .get(format!("{}{events}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .map_err(|e| format!("GET events: {e}"))?;
        let mut sse = Sse::default();
        loop {
            let chunk = tokio::time::timeout(IO_LIMIT, response.chunk())
                .await
                .map_err(|_| "no event within the limit".to_string())?
                .map_err(|e| format!("events: {e}"))?
                .ok_or("the event stream ended before its result")?;
            sse.push(&chunk);
            while let Some((event, data)) = sse.next_event() {
                if event == "result" {
                    let elapsed = ms(t0.elapsed());
                    let v: Value = serde_json::from_str(&data)
                        .map_err(|e| format!("result is not JSON ({e}): {data}"))?;
                    if v["status"] != "succeeded" {
                        return Err(format!("REST execution did not succeed: {v}"));
                    }
                    return Ok(elapsed);
                }
            }
        }
    }
}

/// A reqwest client for loopback (no proxy); `pool: false` keeps no idle connection, so each
/// request's connection closes once its answer is read.
pub(crate) fn http_client(pool: bool) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder().no_proxy();
    if !pool {
        b = b.pool_max_idle_per_host(0);
    }
    b.build().map_err(|e| format!("reqwest client: {e}"))
}

/// POSTs a JSON-RPC message to `/mcp` (in `session` when given).
pub(crate) async fn mcp_post(
    http: &reqwest::Client,
    base: &str,
    session: Option<&str>,
    body: &Value,
) -> Result<reqwest::Response, String> {
    let mut req = http
        .post(format!("{base}/mcp"))
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .json(body);
    if let Some(s) = session {
        req = req
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", PROTOCOL);
    }
    let response = tokio::time::timeout(IO_LIMIT, req.send())
        .await
        .map_err(|_| "no answer within the limit".to_string())?
        .map_err(|e| format!("POST /mcp: {e}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        return Err(format!("POST /mcp: {status}: {text}"));
    }
    Ok(response)
}

/// The JSON-RPC response with `id` from an MCP answer: a JSON body or an event stream.
pub(crate) async fn rpc_response(
    mut response: reqwest::Response,
    id: u64,
) -> Result<Value, String> {
    let sse = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !sse {
        let v: Value = response
            .json()
            .await
            .map_err(|e| format!("MCP answer: {e}"))?;
        return Ok(v);
    }
    let mut stream = Sse::default();
    loop {
        let chunk = tokio::time::timeout(IO_LIMIT, response.chunk())
            .await
            .map_err(|_| "no MCP answer within the limit".to_string())?
            .map_err(|e| format!("MCP answer: {e}"))?
            .ok_or_else(|| format!("the MCP answer ended without response #{id}"))?;
        stream.push(&chunk);
        while let Some((_, data)) = stream.next_event() {
            if data.is_empty() {
                continue; // a priming event (id only)
            }
            let v: Value = serde_json::from_str(&data)
                .map_err(|e| format!("MCP event is not JSON ({e}): {data}"))?;
            if v["id"] == json!(id) {
                if v.get("error").is_some() {
                    return Err(format!("MCP error: {v}"));
                }
                return Ok(v);
            }
        }
    }
}

/// `initialize` + `notifications/initialized`; the session id.
pub(crate) async fn mcp_session(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {},
        "clientInfo": {"name": "cc-executor-bench", "version": "0"}}});
    let response = mcp_post(http, base, None, &init).await?;
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .ok_or("initialize answered without Mcp-Session-Id")?
        .to_string();
    rpc_response(response, 1).await?;
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let answer = mcp_post(http, base, Some(&session), &note).await?;
    let _ = answer.bytes().await;
    Ok(session)
}

/// A WebSocket connection to `/ws/mcp` with the token, past its `connected` greeting.
pub(crate) async fn ws_connect(base: &str) -> Result<Ws, String> {
    let url = format!("{}/ws/mcp", base.replacen("http://", "ws://", 1));
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("ws request: {e}"))?;
    let auth = format!("Bearer {TOKEN}")
        .parse()
        .map_err(|e| format!("header: {e}"))?;
    request.headers_mut().insert("Authorization", auth);
    let (mut ws, _) = tokio::time::timeout(IO_LIMIT, tokio_tungstenite::connect_async(request))
        .await
        .map_err(|_| "ws connect: no answer within the limit".to_string())?
        .map_err(|e| format!("ws connect: {e}"))?;
    let hello = ws_next(&mut ws).await?;
    if hello["method"] != "connected" {
        return Err(format!("expected `connected`, got {hello}"));
    }
    Ok(ws)
}

/// The next JSON text message (pings and pongs skipped).
pub(crate) async fn ws_next(ws: &mut Ws) -> Result<Value, String> {
    loop {
        let message = tokio::time::timeout(IO_LIMIT, ws.next())
            .await
            .map_err(|_| "ws: no message within the limit".to_string())?
            .ok_or("ws: the connection closed")?
            .map_err(|e| format!("ws: {e}"))?;
        match message {
            Message::Text(t) => {
                return serde_json::from_str(t.as_str()).map_err(|e| format!("ws: not JSON: {e}"));
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => return Err(format!("ws: expected text, got {other:?}")),
        }
    }
}

/// A Server-Sent Events parser over arriving chunks: whole events as (event name, data).
#[derive(Default)]
pub(crate) struct Sse {
    buf: String,
}

impl Sse {
    fn push(&mut self, chunk: &[u8]) {
        self.buf.push_str(&String::from_utf8_lossy(chunk));
        if self.buf.contains('\r') {
            self.buf = self.buf.replace("\r\n", "\n");
        }
    }

    /// The next complete event, if one has arrived; comments and events without data lines
    /// come back with empty data.
    fn next_event(&mut self) -> Option<(String, String)> {
        let end = self.buf.find("\n\n")?;
        let block: String = self.buf.drain(..end + 2).collect();
        let mut event = String::from("message");
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event = v.trim_start().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        Some((event, data.join("\n")))
    }
}
