//! Safe by default: each refusal with its status and its reason (problem+json), and what is
//! allowed through.

use super::*;

fn problem_detail(answer: &Answer) -> String {
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json"),
        "{answer:?}"
    );
    let v = answer.json();
    assert_eq!(v["status"].as_u64(), Some(u64::from(answer.status)), "{v}");
    v["detail"].as_str().unwrap_or_default().to_string()
}

#[test]
fn without_the_right_token_nothing_but_health_answers() {
    let service = Service::start(&[]);
    let token = service.token.clone().expect("a generated token");
    assert_eq!(token.len(), 64, "256-bit hex token");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(service.sandbox.data.join("serve/token"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the token file is owner-only");
    assert!(
        service.stderr().contains(&token),
        "shown once on stderr at generation"
    );

    // No token: 401, with the scheme to use.
    let a = request(
        &service.url,
        "POST",
        "/mcp",
        &mcp_headers(&[]),
        INITIALIZE.as_bytes(),
    );
    assert_eq!(a.status, 401, "{a:?}");
    assert!(
        a.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );
    assert!(
        problem_detail(&a).contains("Authorization: Bearer"),
        "{a:?}"
    );
    // A wrong token: 401, invalid_token.
    let wrong = [(
        "authorization".to_string(),
        format!("Bearer {}x", &token[1..]),
    )];
    let a = request(
        &service.url,
        "POST",
        "/mcp",
        &mcp_headers(&wrong),
        INITIALIZE.as_bytes(),
    );
    assert_eq!(a.status, 401, "{a:?}");
    assert!(
        a.header("www-authenticate")
            .is_some_and(|h| h.contains("invalid_token"))
    );
    assert!(problem_detail(&a).contains("wrong"), "{a:?}");
    // /health needs none, and says only that it runs.
    let a = request(&service.url, "GET", "/health", &[], b"");
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()["service"], "cc-executor");
    // The right token: the MCP handshake.
    let a = request(
        &service.url,
        "POST",
        "/mcp",
        &mcp_headers(&[service.auth()]),
        INITIALIZE.as_bytes(),
    );
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.header("mcp-session-id").is_some(), "{a:?}");
    assert!(
        !service.stderr().contains(&token[..]) || service.stderr().matches(&token).count() == 1,
        "the token is never logged (only shown once)\n{}",
        service.stderr()
    );
}

#[test]
fn foreign_origins_and_hosts_are_refused() {
    let service = Service::start(&[]);
    let with = |extra: (&str, &str)| {
        request(
            &service.url,
            "POST",
            "/mcp",
            &mcp_headers(&[service.auth(), (extra.0.into(), extra.1.into())]),
            INITIALIZE.as_bytes(),
        )
    };
    let a = with(("origin", "https://evil.example.com"));
    assert_eq!(a.status, 403, "{a:?}");
    assert!(problem_detail(&a).contains("evil.example.com"), "{a:?}");
    let a = with(("host", "evil.example.com"));
    assert_eq!(a.status, 421, "{a:?}");
    assert!(problem_detail(&a).contains("DNS-rebinding"), "{a:?}");
    // /health too: a rebinding page learns nothing.
    let a = request(
        &service.url,
        "GET",
        "/health",
        &[("host".into(), "evil.example.com:80".into())],
        b"",
    );
    assert_eq!(a.status, 421, "{a:?}");
    // A page on this machine (a loopback origin, any port) and a loopback name pass.
    let a = with(("origin", "http://localhost:5173"));
    assert_eq!(a.status, 200, "{a:?}");
    let port = service.url.rsplit(':').next().unwrap().to_string();
    let a = with(("host", &format!("localhost:{port}")));
    assert_eq!(a.status, 200, "{a:?}");
}

#[test]
fn an_oversized_body_is_413_and_too_many_submissions_are_429() {
    let service = Service::start(&[
        "--max-body-kib",
        "1",
        "--submit-burst",
        "1",
        "--submit-per-minute",
        "1",
    ]);
    let big = tool_call(
        1,
        "cc_execute",
        &format!(r#"{{"task":"{}"}}"#, "x".repeat(4096)),
    );
    let a = request(
        &service.url,
        "POST",
        "/mcp",
        &mcp_headers(&[service.auth()]),
        big.as_bytes(),
    );
    assert_eq!(a.status, 413, "{a:?}");
    assert!(problem_detail(&a).contains("max_body_kib"), "{a:?}");

    let session = open_session(&service);
    // The first submission passes the rate limit (it runs); the second is over it.
    let call = tool_call(
        2,
        "cc_execute",
        r#"{"task":"@fake success text=R1\nrate one","wait":false}"#,
    );
    let a = request(&service.url, "POST", "/mcp", &session, call.as_bytes());
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.body.contains("execution_id"), "{a:?}");
    let call = tool_call(
        3,
        "cc_execute",
        r#"{"task":"@fake success text=R2\nrate two","wait":false}"#,
    );
    let a = request(&service.url, "POST", "/mcp", &session, call.as_bytes());
    assert_eq!(a.status, 429, "{a:?}");
    let retry: u64 = a
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(problem_detail(&a).contains("submit_per_minute"), "{a:?}");
    // Other calls are not submissions and are not limited.
    let call = tool_call(4, "check_websocket_status", "{}");
    let a = request(&service.url, "POST", "/mcp", &session, call.as_bytes());
    assert_eq!(a.status, 200, "{a:?}");
    assert!(
        a.body.contains(r#"\"state\":\"running\""#) || a.body.contains(r#""state":"running""#),
        "{a:?}"
    );
}

#[test]
fn one_connection_over_the_limit_is_503() {
    let service = Service::start(&["--max-connections", "1"]);
    let authority = service.url.trim_start_matches("http://").to_string();
    // The first connection is held open (the service counts it once accepted).
    let held = std::net::TcpStream::connect(&authority).unwrap();
    let answer = {
        let mut last = None;
        // The held connection is accepted first (accept order is connect order); retry only
        // while the service has not accepted it yet.
        for _ in 0..100 {
            let a = request(&service.url, "GET", "/health", &[], b"");
            if a.status == 503 {
                last = Some(a);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        last.expect("a second connection is refused while the first is open")
    };
    assert!(
        problem_detail(&answer).contains("max_connections"),
        "{answer:?}"
    );
    drop(held);
    let ok = crate::support::fixtures::eventually(Duration::from_secs(10), || {
        request(&service.url, "GET", "/health", &[], b"").status == 200
    });
    assert!(ok, "a connection is accepted again once the first closed");
}
