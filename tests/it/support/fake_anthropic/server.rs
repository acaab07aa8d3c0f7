//! Serving requests: classifying them, recording them, and rendering replies (JSON or SSE).

use super::*;

pub(super) async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    let path = uri.path().trim_end_matches('/');
    let kind = match (method.clone(), path) {
        (Method::POST, "/v1/messages") if is_side_request(&body) => RequestKind::Side,
        (Method::POST, "/v1/messages") => RequestKind::Main,
        (Method::POST, "/v1/messages/count_tokens") => RequestKind::CountTokens,
        _ => RequestKind::Unknown,
    };
    let index = {
        let mut log = shared.log.lock().unwrap();
        log.push(Recorded {
            kind,
            method: method.to_string(),
            uri: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_string(), |p| p.to_string()),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.clone(),
            at: shared.started.elapsed(),
            status: 0,
        });
        log.len() - 1
    };
    let set_status = |status: u16| shared.log.lock().unwrap()[index].status = status;

    let reply = match kind {
        RequestKind::Main => (shared.script.main)(&body),
        RequestKind::Side => (shared.script.side)(&body),
        RequestKind::CountTokens => {
            set_status(200);
            return json_response(200, &[], &json!({"input_tokens": estimate_tokens(&bytes)}));
        }
        RequestKind::Unknown => {
            eprintln!("fake_anthropic: unknown request {method} {uri} body={body}");
            set_status(404);
            return json_response(
                404,
                &[],
                &json!({"type": "error", "error": {"type": "not_found_error",
                    "message": format!("fake API: no route for {method} {uri}")}}),
            );
        }
    };
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("claude-fake")
        .to_string();
    let input_tokens = estimate_tokens(&bytes);
    let response = render(&shared, reply, stream, &model, input_tokens).await;
    set_status(response.status().as_u16());
    response
}

fn estimate_tokens(bytes: &[u8]) -> u64 {
    (bytes.len() as u64 / 4).max(1)
}

fn json_response(status: u16, headers: &[(String, String)], body: &Value) -> Response {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(body.to_string())).unwrap()
}

async fn render(
    shared: &Shared,
    mut reply: Reply,
    stream: bool,
    model: &str,
    input_tokens: u64,
) -> Response {
    loop {
        match reply {
            Reply::Delayed {
                delay,
                reply: inner,
            } => {
                tokio::time::sleep(delay).await;
                reply = *inner;
            }
            Reply::Hang => std::future::pending::<()>().await,
            Reply::Http {
                status,
                headers,
                body,
            } => return json_response(status, &headers, &body),
            other => {
                let (content, stop_reason) = content_of(shared, other);
                let id = format!(
                    "msg_fake_{:04}",
                    shared.next_id.fetch_add(1, Ordering::SeqCst)
                );
                let output_tokens =
                    (serde_json::to_string(&content).unwrap_or_default().len() as u64 / 4).max(1);
                return if stream {
                    sse_response(
                        &id,
                        model,
                        &content,
                        &stop_reason,
                        input_tokens,
                        output_tokens,
                    )
                } else {
                    json_response(
                        200,
                        &[],
                        &json!({
                            "id": id, "type": "message", "role": "assistant", "model": model,
                            "content": content, "stop_reason": stop_reason, "stop_sequence": null,
                            "usage": usage(input_tokens, output_tokens),
                        }),
                    )
                };
            }
        }
    }
}

fn usage(input_tokens: u64, output_tokens: u64) -> Value {
    json!({
        "input_tokens": input_tokens, "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
        "service_tier": "standard",
    })
}

/// Content blocks and stop reason of a message reply; assigns `tool_use` ids.
fn content_of(shared: &Shared, reply: Reply) -> (Vec<Value>, String) {
    let tool_id = || {
        format!(
            "toolu_fake_{:04}",
            shared.next_id.fetch_add(1, Ordering::SeqCst)
        )
    };
    let tool = |name: String, input: Value| json!({"type": "tool_use", "id": tool_id(), "name": name, "input": input});
    match reply {
        Reply::Text(text) => (
            vec![json!({"type": "text", "text": text})],
            "end_turn".into(),
        ),
        Reply::ToolUse { name, input } => (vec![tool(name, input)], "tool_use".into()),
        Reply::TextAndToolUse { text, name, input } => (
            vec![json!({"type": "text", "text": text}), tool(name, input)],
            "tool_use".into(),
        ),
        Reply::Blocks {
            mut content,
            stop_reason,
        } => {
            for block in &mut content {
                if block["type"] == "tool_use" && block.get("id").is_none() {
                    block["id"] = Value::String(tool_id());
                }
            }
            (content, stop_reason)
        }
        Reply::Http { .. } | Reply::Delayed { .. } | Reply::Hang => unreachable!(),
    }
}

/// The SSE event stream of a streaming Messages response, split the way the real API does it.
fn sse_response(
    id: &str,
    model: &str,
    content: &[Value],
    stop_reason: &str,
    input_tokens: u64,
    output_tokens: u64,
) -> Response {
    let mut events: Vec<(&str, Value)> = Vec::new();
    events.push((
        "message_start",
        json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null, "usage": usage(input_tokens, 1)}}),
    ));
    events.push(("ping", json!({"type": "ping"})));
    for (index, block) in content.iter().enumerate() {
        let (start, deltas): (Value, Vec<Value>) = match block["type"].as_str() {
            Some("text") => (
                json!({"type": "text", "text": ""}),
                chunks(block["text"].as_str().unwrap_or_default())
                    .map(|t| json!({"type": "text_delta", "text": t}))
                    .collect(),
            ),
            Some("thinking") => (
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                chunks(block["thinking"].as_str().unwrap_or_default())
                    .map(|t| json!({"type": "thinking_delta", "thinking": t}))
                    .chain(std::iter::once(
                        json!({"type": "signature_delta", "signature": "fake-signature"}),
                    ))
                    .collect(),
            ),
            Some("tool_use") => {
                let input = block["input"].to_string();
                (
                    json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                    chunks(&input)
                        .map(|p| json!({"type": "input_json_delta", "partial_json": p}))
                        .collect(),
                )
            }
            _ => (block.clone(), Vec::new()),
        };
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for delta in deltas {
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    events.push((
        "message_delta",
        json!({"type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": output_tokens}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));

    let frames: Vec<Result<String, std::convert::Infallible>> = events
        .into_iter()
        .map(|(event, data)| Ok(format!("event: {event}\ndata: {data}\n\n")))
        .collect();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("request-id", format!("req_{id}"))
        .body(Body::from_stream(futures::stream::iter(frames)))
        .unwrap()
}

/// Split text into deltas of at most 64 chars (on char boundaries), like a real stream.
fn chunks(s: &str) -> impl Iterator<Item = String> + '_ {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(64);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (head, tail) = rest.split_at(end);
        rest = tail;
        Some(head.to_string())
    })
}
