//! Every refusal is `application/problem+json` whose `detail` says what to fix: no token or a
//! wrong one (401), a foreign `Origin` (403), a body over the limit (413), the submission rate
//! (429 with `Retry-After`), a body that is not JSON (400) or names a wrong field (422), an
//! unknown id (404), a policy refusal (422 naming the setting).

use serde_json::json;

use super::{Reply, Service, TOKEN, curl, curl_as};

fn assert_problem(r: &Reply, status: u16, words: &[&str]) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{:?}",
        r.headers
    );
    let p = r.json();
    assert_eq!(p["status"], status);
    assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
    let detail = p["detail"].as_str().unwrap();
    for w in words {
        assert!(detail.contains(w), "`{w}` not in the detail: {detail}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_ask_and_what_they_may_send() {
    let s = Service::start(&["--max-body-kib", "1"]).await;
    let submit = s.api("/executions");
    let task = r#"{"task":"@fake success"}"#;

    let none = curl_as(None, &["-d", task, &submit]).await;
    assert_problem(&none, 401, &["Authorization: Bearer"]);
    assert!(none.header("www-authenticate").is_some());
    let wrong = curl_as(Some("not-the-token-at-all-0000"), &["-d", task, &submit]).await;
    assert_problem(&wrong, 401, &["wrong"]);
    let origin = curl(&["-H", "Origin: http://evil.example", "-d", task, &submit]).await;
    assert_problem(&origin, 403, &["evil.example"]);

    // Over the limit, by reqwest (curl would send `Expect: 100-continue` first; both work).
    let big = json!({"task": "x".repeat(4096)});
    let r = s
        .client()
        .post(&submit)
        .bearer_auth(TOKEN)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let detail = r.json::<serde_json::Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(detail.contains("serve.max_body_kib"), "{detail}");
    assert!(s.invocations().is_empty(), "nothing refused ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_and_ids_name_what_is_wrong() {
    let s = Service::start(&[]).await;
    let submit = s.api("/executions");
    assert_problem(
        &curl(&["-d", "{nope", &submit]).await,
        400,
        &["not valid JSON"],
    );
    assert_problem(&curl(&["-X", "POST", &submit]).await, 400, &["empty"]);
    assert_problem(
        &curl(&["-d", r#"{"task":"x","timeout_secs":"soon"}"#, &submit]).await,
        422,
        &["`timeout_secs`", "expected i64"],
    );
    assert_problem(
        &curl(&["-d", r#"{"taks":"x"}"#, &submit]).await,
        422,
        &["taks"],
    );
    assert_problem(
        &curl(&["-d", r#"{"cwd":"/"}"#, &submit]).await,
        422,
        &["missing field `task`"],
    );
    assert_problem(
        &curl(&["-d", r#"{"task":"x","cwd":"/"}"#, &submit]).await,
        422,
        &["cwd"],
    );
    assert_problem(
        &curl(&["-d", r#"{"task":"x","wait":true}"#, &submit]).await,
        422,
        &["`wait`"],
    );
    assert_problem(
        &curl(&["-d", r#"{"tasks":"one"}"#, &s.api("/runs")]).await,
        422,
        &["tasks"],
    );
    assert_problem(
        &curl(&[
            "-d",
            r#"{"tasks":["x"],"timeout_per_task":"a"}"#,
            &s.api("/execute"),
        ])
        .await,
        422,
        &["timeout_per_task"],
    );

    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/executions/{unknown}"),
        format!("/executions/{unknown}/result"),
        format!("/executions/{unknown}/events"),
        format!("/runs/{unknown}"),
        format!("/runs/{unknown}/events"),
    ] {
        assert_problem(&curl(&[&s.api(&path)]).await, 404, &[&unknown.to_string()]);
    }
    assert_problem(
        &curl(&["-X", "DELETE", &s.api(&format!("/runs/{unknown}"))]).await,
        404,
        &["unknown run"],
    );
    assert_problem(&curl(&[&s.api("/executions/seven")]).await, 400, &["UUID"]);
    assert_problem(&curl(&[&s.api("/executions?limt=3")]).await, 400, &["limt"]);
    assert_problem(
        &curl(&[&s.api("/nowhere")]).await,
        404,
        &["/api/v1/nowhere"],
    );
    assert_problem(&curl(&["-X", "PUT", &submit]).await, 405, &["PUT"]);
    assert!(s.invocations().is_empty(), "nothing refused ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_submission_rate_is_answered_429_with_retry_after() {
    let s = Service::start(&["--submit-burst", "1", "--submit-per-minute", "1"]).await;
    let task = r#"{"task":"@fake success"}"#;
    let first = curl(&["-d", task, &s.api("/executions")]).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let second = curl(&["-d", r#"{"tasks":["@fake success"]}"#, &s.api("/runs")]).await;
    assert_problem(&second, 429, &["serve.submit_per_minute", "Retry-After"]);
    let retry: u64 = second.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    // Reading is not submitting.
    assert_eq!(curl(&[&s.api("/executions")]).await.status, 200);
}
