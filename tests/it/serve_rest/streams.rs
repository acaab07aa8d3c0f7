//! Following work: a task list submitted with curl, streamed with `curl -N`, its results
//! fetched; an execution's stream resumed with `Last-Event-ID` (and `?after=`) after a dropped
//! connection, missing nothing.

use std::collections::BTreeSet;

use futures::StreamExt;
use serde_json::Value;

use super::{Service, Sse, TOKEN, curl, parse_sse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_list_submitted_with_curl_streams_its_progress_and_then_its_results() {
    let s = Service::start(&[]).await;
    let r = curl(&[
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"tasks":[{"id":"write","task":"@fake tools"},{"id":"greet","task":"@fake success","depends_on":["write"]}]}"#,
        &s.api("/runs"),
    ])
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let accepted = r.json();
    let run = accepted["run_id"].as_str().unwrap();
    assert_eq!(
        r.header("location"),
        accepted["status_url"].as_str(),
        "Location is the status URL"
    );
    assert_eq!(accepted["total"], 2);

    let url = format!("{}{}", s.url, accepted["events_url"].as_str().unwrap());
    let stream = curl(&["-N", &url]).await;
    assert_eq!(stream.status, 200);
    assert!(
        stream
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream")),
        "{:?}",
        stream.headers
    );
    let events = parse_sse(&stream.body);
    // The run's status on changes, both tasks' events in order, then the result.
    let runs: Vec<&Sse> = events.iter().filter(|e| e.event == "run").collect();
    assert!(!runs.is_empty());
    assert_eq!(runs.last().unwrap().data["run"]["state"], "succeeded");
    let per_task = |task: &str| -> Vec<&Sse> {
        events
            .iter()
            .filter(|e| e.data["task_id"] == task)
            .collect()
    };
    for task in ["write", "greet"] {
        let evs = per_task(task);
        assert_eq!(
            evs.first().map(|e| e.event.as_str()),
            Some("queued"),
            "{task}: {evs:?}"
        );
        assert_eq!(
            evs.last().map(|e| e.event.as_str()),
            Some("finished"),
            "{task}"
        );
        let eid = evs[0].data["execution_id"].as_str().unwrap();
        for (i, e) in evs.iter().enumerate() {
            assert_eq!(e.id.as_deref(), Some(format!("{eid}:{}", i + 1).as_str()));
        }
    }
    assert!(per_task("write").iter().any(|e| e.event == "tool_use"));
    let last_write = events
        .iter()
        .rposition(|e| e.data["task_id"] == "write")
        .unwrap();
    let first_greet = events
        .iter()
        .position(|e| e.data["task_id"] == "greet")
        .unwrap();
    assert!(last_write < first_greet, "tasks stream one after the other");
    let result = events.last().unwrap();
    assert_eq!(result.event, "result");
    assert_eq!(result.data["state"], "succeeded");
    assert_eq!(result.data["results"].as_array().unwrap().len(), 2);

    // Reconnecting with the id of any event gets every later execution event, the run's
    // status now, and the result.
    let numbered: Vec<&Sse> = events.iter().filter(|e| e.id.is_some()).collect();
    let resume_at = numbered[1].id.clone().unwrap();
    let again = curl(&["-N", "-H", &format!("Last-Event-ID: {resume_at}"), &url]).await;
    let again = parse_sse(&again.body);
    let again_numbered: Vec<&Sse> = again.iter().filter(|e| e.id.is_some()).collect();
    assert_eq!(again_numbered, numbered[2..].to_vec());
    assert_eq!(again.first().map(|e| e.event.as_str()), Some("run"));
    assert_eq!(again.last(), events.last());

    // The same results from the result URL, and each execution's own.
    let res = curl(&[&format!(
        "{}{}",
        s.url,
        accepted["result_url"].as_str().unwrap()
    )])
    .await;
    assert_eq!(res.status, 200, "{}", res.body);
    let res = res.json();
    assert_eq!(res["run"]["run_id"], run);
    for t in res["results"].as_array().unwrap() {
        assert_eq!(t["result"]["status"], "succeeded", "{t}");
        let one = curl(&[&s.api(&format!(
            "/executions/{}/result",
            t["execution_id"].as_str().unwrap()
        ))])
        .await;
        assert_eq!(one.status, 200);
        assert_eq!(one.json(), t["result"]);
    }
    let status = curl(&[&s.api(&format!("/runs/{run}"))]).await.json();
    assert_eq!(status["done"], 2);
    assert_eq!(status["run"]["tasks"][0]["state"], "succeeded");
}

/// Reads an SSE response with reqwest until it ends, or until `stop_after` events.
async fn read_events(response: reqwest::Response, stop_after: Option<usize>) -> Vec<Sse> {
    let mut body = String::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        body.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        if stop_after.is_some_and(|n| parse_sse(&body).len() >= n) {
            break;
        }
    }
    let mut events = parse_sse(&body);
    if let Some(n) = stop_after {
        events.truncate(n);
    }
    events
}

fn ids(events: &[Sse]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| e.id.as_deref().map(|i| i.parse().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_client_misses_no_event() {
    let s = Service::start(&[]).await;
    let client = s.client();
    let accepted: Value = client
        .post(s.api("/executions"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"task": "@fake tools"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events_url = format!("{}{}", s.url, accepted["events_url"].as_str().unwrap());
    let open = |last: Option<String>| {
        let mut req = client.get(&events_url).bearer_auth(TOKEN);
        if let Some(id) = last {
            req = req.header("Last-Event-ID", id);
        }
        req.send()
    };

    // A client that drops its connection after two events, then reconnects with the id of
    // the last event it saw, gets exactly the rest.
    let first = read_events(open(None).await.unwrap(), Some(2)).await;
    assert_eq!(ids(&first), vec![1, 2]);
    let rest = read_events(open(first[1].id.clone()).await.unwrap(), None).await;
    let whole = read_events(open(None).await.unwrap(), None).await;
    let mut joined = first.clone();
    joined.extend(rest.iter().cloned());
    assert_eq!(joined, whole, "the resumed stream is the whole stream");
    let numbered = ids(&whole);
    assert_eq!(numbered, (1..=numbered.len() as u64).collect::<Vec<_>>());
    assert_eq!(whole.last().unwrap().event, "result");
    let kinds: BTreeSet<&str> = whole.iter().map(|e| e.event.as_str()).collect();
    for k in [
        "queued", "started", "tool_use", "text", "finished", "result",
    ] {
        assert!(kinds.contains(k), "no `{k}` event: {kinds:?}");
    }

    // `?after=` is the same for clients that cannot set headers (curl here).
    let k = numbered.len() as u64 - 2;
    let after = curl(&["-N", &format!("{events_url}?after={k}")]).await;
    let after = parse_sse(&after.body);
    assert_eq!(ids(&after), vec![k + 1, k + 2]);
    assert_eq!(after.last().unwrap().event, "result");

    // A bad id is a problem, not an empty stream.
    let bad = open(Some("seven".into())).await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("Last-Event-ID"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_when_the_service_shuts_down() {
    let s = Service::start(&[]).await;
    let client = s.client();
    let accepted: Value = client
        .post(s.api("/executions"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"task": "@fake hang"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{}{}", s.url, accepted["events_url"].as_str().unwrap());
    let response = client.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let pgid = s.invocation(1).await["pgid"].as_i64().unwrap() as i32;
    s.terminate();
    // The stream ends (read to its end, not cut by the client's own timeout), after the
    // stopped task's last events; its process group is gone.
    let events = read_events(response, None).await;
    let finished = events.iter().find(|e| e.event == "finished");
    assert!(
        finished.is_none_or(|e| e.data["status"] == "cancelled"),
        "{events:?}"
    );
    assert!(crate::support::fixtures::wait_group_gone(pgid, 10).is_empty());
}
