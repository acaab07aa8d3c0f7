//! Every line a client writes gets an answer, and the server keeps serving: what cannot be
//! parsed is `-32700` with id `null`, a message of the wrong shape `-32600` with its id when one
//! can be read, a known method with bad params `-32602` with its id — never silence.

use crate::support::raw_stdio::Server;
use serde_json::{Value, json};

/// Writes `bytes` (one bad line), then a good `ping` with `id`: the bad line's answer must come
/// first, then the ping's — the server is still serving.
fn answer_to(s: &mut Server, bytes: &[u8], ping_id: i64) -> Value {
    let mut line = bytes.to_vec();
    line.push(b'\n');
    line.extend_from_slice(
        json!({"jsonrpc":"2.0","id":ping_id,"method":"ping"})
            .to_string()
            .as_bytes(),
    );
    line.push(b'\n');
    s.write_bytes(&line);
    let first = s.next_message();
    let second = s.next_message();
    assert_eq!(
        second["id"], ping_id,
        "the ping after it was answered: {second}"
    );
    assert!(second.get("result").is_some(), "{second}");
    first
}

#[test]
fn unparsable_lines_are_parse_errors_with_a_null_id() {
    let mut s = Server::start();
    let cases: [&[u8]; 4] = [
        b"{this is not json",
        b"\xff\xfe\xfd invalid utf-8",
        br#"{"jsonrpc":"2.0","id":5,"method":"ping","params":{"x":"\ud800"}}"#,
        br#"{"jsonrpc":"2.0","id":6,"method":"tools/li"#,
    ];
    for (i, bad) in cases.iter().enumerate() {
        let a = answer_to(&mut s, bad, 100 + i as i64);
        assert_eq!(a["error"]["code"], -32700, "{a}");
        assert_eq!(a["id"], Value::Null, "{a}");
        assert!(
            a["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Parse error")
        );
    }
}

#[test]
fn bad_calls_of_existing_methods_are_invalid_params_with_their_id() {
    let mut s = Server::start();
    let a = answer_to(
        &mut s,
        br#"{"jsonrpc":"2.0","id":7,"method":"tools/call"}"#,
        200,
    );
    assert_eq!(a["error"]["code"], -32602, "{a}");
    assert_eq!(a["id"], 7);
    let a = answer_to(
        &mut s,
        br#"{"jsonrpc":"2.0","id":"x8","method":"tools/call","params":{"name":"cc_execute","arguments":[]}}"#,
        201,
    );
    assert_eq!(a["error"]["code"], -32602, "{a}");
    assert_eq!(a["id"], "x8");
    assert!(
        a["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tools/call")
    );
}

#[test]
fn malformed_requests_are_invalid_requests_with_their_id() {
    let mut s = Server::start();
    let a = answer_to(&mut s, br#"{"id":9,"method":"tools/list"}"#, 300);
    assert_eq!(a["error"]["code"], -32600, "{a}");
    assert_eq!(a["id"], 9);
    let a = answer_to(
        &mut s,
        br#"[{"jsonrpc":"2.0","id":10,"method":"ping"}]"#,
        301,
    );
    assert_eq!(a["error"]["code"], -32600, "{a}");
    assert_eq!(a["id"], Value::Null);
}

#[test]
fn a_line_over_the_limit_is_answered_and_the_server_goes_on() {
    let mut s = Server::start();
    // 65 MiB of one JSON string: over the 64 MiB message limit.
    let mut big = br#"{"jsonrpc":"2.0","id":11,"method":"ping","params":{"pad":""#.to_vec();
    big.resize(big.len() + 65 * 1024 * 1024, b'a');
    big.extend_from_slice(br#""}}"#);
    let a = answer_to(&mut s, &big, 400);
    assert_eq!(a["error"]["code"], -32600, "{a}");
    assert!(a["error"]["message"].as_str().unwrap().contains("limit"));
}

#[test]
fn an_unknown_tool_is_named_in_its_error() {
    let mut s = Server::start();
    let (id, m) = s.call("no_such_tool", json!({}));
    s.write_all(&[m]);
    let a = s.answers(&[id]).remove(&id).unwrap();
    let text = a.to_string();
    assert!(text.contains("no_such_tool"), "{text}");
}

#[test]
fn every_request_read_before_a_sigterm_gets_its_answer() {
    let mut s = Server::start();
    let (ids, msgs): (Vec<i64>, Vec<Value>) = (0..6)
        .map(|i| {
            s.call(
                "cc_execute",
                json!({"task": format!("@fake hang\ncall {i}")}),
            )
        })
        .unzip();
    s.write_all(&msgs);
    // The first is running, five are queued.
    let started = std::time::Instant::now();
    while s.started().is_empty() {
        assert!(started.elapsed().as_secs() < 10, "no task started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(s.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let answers = s.answers(&ids);
    for id in &ids {
        let status = &answers[id]["result"]["structuredContent"]["status"];
        assert_eq!(status, "cancelled", "{}", answers[id]);
    }
    let code = s.child.wait().unwrap();
    assert!(code.success(), "{code:?}");
}
