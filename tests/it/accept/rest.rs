//! `accept` over the REST API (`cc-executor serve`): the body is `cc_execute`'s request, so the
//! checks run and the result says `rejected`; `repair`, a loop of executions, is refused with
//! 422 because a REST submission answers at once.

use crate::serve_rest::{Service, curl, parse_sse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_submission_is_checked_and_a_repair_is_refused() {
    let s = Service::start(&[]).await;
    let body = r#"{"task":"@fake success","accept":{"files":[{"path":"missing.txt"}]}}"#;
    let r = curl(&["-d", body, &s.api("/executions")]).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["execution_id"].as_str().unwrap().to_string();
    // The event stream ends with the result.
    let events = curl(&["-N", &s.api(&format!("/executions/{id}/events"))]).await;
    let events = parse_sse(&events.body);
    let result = events.last().unwrap();
    assert_eq!(result.event, "result");
    let result = &result.data;
    assert_eq!(result["status"], "rejected", "{result:#}");
    assert_eq!(result["acceptance"]["checks"][0]["kind"], "file");

    let body =
        r#"{"task":"@fake success","accept":{"commands":[["true"]]},"repair":{"max_attempts":1}}"#;
    let r = curl(&["-d", body, &s.api("/executions")]).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("`repair` needs a call that waits"),
        "{}",
        r.body
    );
}
