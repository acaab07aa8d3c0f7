//! Tasks from REST and from the MCP surface (`/mcp`, MCP Streamable HTTP) of the same service
//! queue in one FIFO line: they run in the order their requests arrived.

use serde_json::{Value, json};

use super::{Service, TOKEN, curl};

/// A minimal MCP Streamable HTTP client (protocol 2025-06-18): one session, JSON-RPC requests,
/// answers read from the JSON or SSE response.
struct Mcp<'a> {
    service: &'a Service,
    client: reqwest::Client,
    session: Option<String>,
}

impl<'a> Mcp<'a> {
    async fn connect(service: &'a Service) -> Mcp<'a> {
        let mut mcp = Mcp {
            service,
            client: service.client(),
            session: None,
        };
        let init = mcp
            .post(
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "rest-fifo-test", "version": "1"},
                }}),
            )
            .await;
        mcp.session = init
            .headers()
            .get("mcp-session-id")
            .map(|v| v.to_str().unwrap().to_string());
        let answer = answer(init).await;
        assert!(answer["result"]["protocolVersion"].is_string(), "{answer}");
        let notified = mcp
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert!(notified.status().is_success());
        mcp
    }

    async fn post(&self, body: Value) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/mcp", self.service.url))
            .bearer_auth(TOKEN)
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", "2025-06-18")
            .json(&body);
        if let Some(s) = &self.session {
            req = req.header("Mcp-Session-Id", s);
        }
        req.send().await.unwrap()
    }

    async fn call(&self, id: u64, tool: &str, arguments: Value) -> Value {
        let r = self
            .post(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": tool, "arguments": arguments}}))
            .await;
        answer(r).await
    }
}

/// The JSON-RPC response in a JSON or SSE body.
async fn answer(r: reqwest::Response) -> Value {
    let text = r.text().await.unwrap();
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        return v;
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("result").is_some() || v.get("error").is_some())
        .unwrap_or_else(|| panic!("no JSON-RPC answer in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_and_mcp_submissions_share_one_fifo_line() {
    let s = Service::start(&[]).await;
    let mcp = Mcp::connect(&s).await;
    // One at a time (max_concurrent 1): the first holds the line while the others arrive.
    let first = curl(&[
        "-d",
        r#"{"task":"@fake slow secs=2\nfirst (rest)"}"#,
        &s.api("/executions"),
    ])
    .await;
    assert_eq!(first.status, 202, "{}", first.body);
    let second = mcp
        .call(
            2,
            "cc_execute",
            json!({"task": "@fake success\nsecond (mcp)", "wait": false}),
        )
        .await;
    let second_id = second["result"]["structuredContent"]["execution_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{second}"))
        .to_string();
    let third = curl(&[
        "-d",
        r#"{"tasks":["@fake success\nthird (rest run)"]}"#,
        &s.api("/runs"),
    ])
    .await;
    assert_eq!(third.status, 202, "{}", third.body);
    let fourth = mcp
        .call(
            3,
            "cc_execute",
            json!({"task": "@fake success\nfourth (mcp)", "wait": false}),
        )
        .await;
    assert!(
        fourth["result"]["structuredContent"]["execution_id"].is_string(),
        "{fourth}"
    );
    // The MCP task is queued behind the REST one: a REST client sees it in the same line.
    let queued = curl(&[&s.api(&format!("/executions/{second_id}"))])
        .await
        .json();
    assert!(
        ["queued", "starting", "running", "finished"].contains(&queued["phase"].as_str().unwrap()),
        "{queued}"
    );

    s.invocation(4).await;
    let order: Vec<String> = s
        .invocations()
        .iter()
        .map(|i| {
            let prompt = i["stdin"].as_str().unwrap();
            let marker = prompt.lines().find(|l| l.ends_with(')'));
            marker.unwrap_or(prompt).to_string()
        })
        .collect();
    assert_eq!(
        order,
        [
            "first (rest)",
            "second (mcp)",
            "third (rest run)",
            "fourth (mcp)"
        ]
    );
}
