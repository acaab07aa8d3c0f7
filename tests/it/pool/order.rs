//! Order and placement: a task list and a named queue in order on several workers, three
//! orchestrators × four workers × fifty tasks, the real Claude Code CLI through the pool,
//! `serve` placing REST submissions.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_task_list_runs_on_two_workers_in_order_with_every_result_in_the_shared_history() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let ws = workers(&s, &redis, 2, 5000);
    let worker_pids: Vec<i64> = ws.iter().map(|w| i64::from(w.pid())).collect();
    let tasks: Vec<Value> = (1..=5)
        .map(|i| json!({"id": format!("t{i}"), "task": format!("@fake slow secs=0.2 text=answer-{i}\nlist task marker-{i}")}))
        .collect();
    let started = s.call("cc_execute_list", json!({"tasks": tasks})).await;
    assert_ne!(started.is_error, Some(true), "{started:?}");
    let run_id = data(&started)["run_id"].as_str().unwrap().to_string();
    let mut version = 0u64;
    let run = loop {
        let m = s
            .call(
                "monitor_execution",
                json!({"run_id": run_id, "wait_secs": 20, "since_version": version}),
            )
            .await;
        let d = data(&m).clone();
        let run = d["runs"][0].clone();
        version = run["version"].as_u64().unwrap();
        if !["pending", "running"].contains(&run["run"]["state"].as_str().unwrap()) {
            break run;
        }
    };
    assert_eq!(run["run"]["state"], "succeeded", "{run}");

    // Each task ran once, on a worker (the fake's parent), in the list's order.
    let mut starts = Vec::new();
    for i in 1..=5 {
        let ran = runs_of(&s, &format!("marker-{i}"));
        assert_eq!(ran.len(), 1, "task {i} ran {} times", ran.len());
        assert!(
            worker_pids.contains(&ran[0]["ppid"].as_i64().unwrap()),
            "task {i} was not run by a worker: {}",
            ran[0]
        );
        starts.push(ran[0]["time_ms"].as_u64().unwrap());
    }
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");

    // Every result is in the shared history, under the id the orchestrator gave out.
    for task in run["run"]["tasks"].as_array().unwrap() {
        let id = task["execution_id"].as_str().unwrap();
        let n = &task["id"].as_str().unwrap()[1..];
        let rec = tokio::task::spawn_blocking({
            let (root, url, id) = (s.root(), redis.url(), id.to_string());
            move || history_record(&root, &url, &id)
        })
        .await
        .unwrap()
        .expect("recorded in the shared history");
        assert_eq!(rec["result"]["status"], "succeeded", "{rec}");
        assert_eq!(rec["result"]["result"], format!("answer-{n}"), "{rec}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_queue_runs_one_task_at_a_time_in_arrival_order_whichever_worker_is_free() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &["--pool-queue", "shared"]).await;
    let _ws = workers(&s, &redis, 3, 5000);
    let mut ids = Vec::new();
    for i in 1..=6 {
        let r = s
            .call(
                "cc_execute",
                json!({"task": format!("@fake slow secs=0.3\nqueued marker-{i}"), "wait": false}),
            )
            .await;
        ids.push(data(&r)["execution_id"].as_str().unwrap().to_string());
    }
    let mut spans = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let e = finished(&s, id).await;
        assert_eq!(e["result"]["status"], "succeeded", "{e}");
        let ran = runs_of(&s, &format!("marker-{}", i + 1));
        assert_eq!(ran.len(), 1);
        let start = ran[0]["time_ms"].as_u64().unwrap();
        spans.push((start, e["result"]["duration_ms"].as_u64().unwrap()));
    }
    // In order, and never two at once: each starts after the one before has run its 300 ms.
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].0 + 300, "overlap or out of order: {spans:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_orchestrators_four_workers_fifty_tasks_each_stay_in_order_per_queue() {
    const TASKS: usize = 50;
    let redis = RedisServer::start();
    let servers = [
        orchestrator(&redis, &[]).await,
        orchestrator(&redis, &[]).await,
        orchestrator(&redis, &[]).await,
    ];
    // The workers have a root of their own, may run in every orchestrator's root, and record
    // every invocation of the fake in one place.
    let wroot = tempfile::tempdir().unwrap();
    let wroot_path = wroot.path().canonicalize().unwrap();
    let roots: Vec<String> = servers
        .iter()
        .map(|s| s.root().display().to_string())
        .collect();
    let mut extra = Vec::new();
    for r in &roots {
        extra.extend(["--allowed-root", r.as_str()]);
    }
    let _ws: Vec<Worker> = (1..=4)
        .map(|i| Worker::start(&wroot_path, &redis.url(), &format!("w{i}"), 5000, &extra))
        .collect();
    let submit = |o: usize| {
        let s = &servers[o];
        async move {
            let mut ids = Vec::new();
            for n in 0..TASKS {
                let r = s
                    .call(
                        "cc_execute",
                        json!({"task": format!("@fake slow secs=0.05\nfifo o{o}-n{n:03}"), "wait": false}),
                    )
                    .await;
                ids.push(data(&r)["execution_id"].as_str().unwrap().to_string());
            }
            for id in &ids {
                assert_eq!(finished(s, id).await["result"]["status"], "succeeded");
            }
        }
    };
    tokio::join!(submit(0), submit(1), submit(2));

    let all = crate::support::fixtures::invocations(&wroot_path.join("rec"));
    for o in 0..3 {
        let mine: Vec<(u64, String)> = all
            .iter()
            .filter_map(|i| {
                let stdin = i["stdin"].as_str()?;
                let at = stdin.find(&format!("fifo o{o}-n"))?;
                Some((i["time_ms"].as_u64()?, stdin[at..at + 10].to_string()))
            })
            .collect();
        assert_eq!(mine.len(), TASKS, "orchestrator {o}: every task once");
        let mut by_start = mine.clone();
        by_start.sort();
        let order: Vec<&str> = by_start.iter().map(|(_, m)| m.as_str()).collect();
        let mut expected = order.clone();
        expected.sort();
        assert_eq!(order, expected, "orchestrator {o}: out of order");
        // One at a time: each starts after the one before has run its 50 ms.
        assert!(
            by_start.windows(2).all(|w| w[1].0 >= w[0].0 + 50),
            "orchestrator {o}: two in flight at once"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_claude_code_cli_runs_a_pooled_task_on_the_fake_api() {
    use crate::support::fake_anthropic::{FakeApi, Script};
    use crate::support::real_claude::{
        IsolatedEnv, VARS_TO_REMOVE, claude_bin, real_claude_config,
    };
    let redis = RedisServer::start();
    let env = IsolatedEnv::new();
    let api = FakeApi::start(Script::text("Pooled answer from the real CLI.")).await;
    let exec = library_orchestrator(real_claude_config(&env, &api.base_url), &redis).await;

    // The worker: the real CLI, isolated, pointed at the fake API through its own config file.
    let mut file = format!(
        "claude_bin = {:?}\nkill_grace_ms = 2000\n[env]\n",
        claude_bin().display().to_string()
    );
    for (k, v) in env.env_vars(&api.base_url) {
        file.push_str(&format!("{k} = {v:?}\n"));
    }
    let config = env.root().join("worker.toml");
    std::fs::write(&config, file).unwrap();
    let mut cmd = std::process::Command::new(crate::support::fixtures::cc_executor_bin());
    for k in VARS_TO_REMOVE {
        cmd.env_remove(k);
    }
    let mut worker = cmd
        .env("REDIS_URL", redis.url())
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(env.root().join("worker-data"))
        .arg("--allowed-root")
        .arg(env.workdir())
        .args(["--max-retries", "0", "worker", "--name", "real-1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let mut request = cc_executor::TaskRequest::new("What should the pool answer?");
    request.timeout_secs = Some(90);
    let spec = exec.prepare(request).await.unwrap();
    let r = exec
        .execute(spec, cc_executor::exec::progress::NoProgress)
        .await;
    let _ = worker.kill();
    let _ = worker.wait();
    assert_eq!(r.status, cc_executor::Status::Succeeded, "{r:#?}");
    assert_eq!(
        r.result.as_deref(),
        Some("Pooled answer from the real CLI.")
    );
    assert_eq!(r.claude_version.as_deref(), Some("2.1.331"));
    // Recorded by the worker in the shared history, under the orchestrator's id.
    let rec = exec
        .store()
        .get(r.execution_id)
        .await
        .unwrap()
        .expect("in the history");
    assert_eq!(rec.result.status, cc_executor::Status::Succeeded);
    assert!(rec.result.raw_output_path.unwrap().contains("worker-data"));
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_places_rest_submissions_in_the_pool_and_cancels_them_there() {
    use crate::serve_rest::{Service, curl};
    let redis = RedisServer::start();
    let url = redis.url();
    let s = Service::start(&["--redis-url", &url, "--placement", "pool"]).await;
    let w = Worker::start(&s.root(), &url, "w1", 5000, &[]);

    let r = curl(&[
        "-d",
        r#"{"task":"@fake success text=served-by-the-pool"}"#,
        &s.api("/executions"),
    ])
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["execution_id"].as_str().unwrap().to_string();
    let mut result = Value::Null;
    for _ in 0..300 {
        let got = curl(&[&s.api(&format!("/executions/{id}/result"))]).await;
        if got.status == 200 {
            result = got.json();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(result["status"], "succeeded", "{result}");
    assert_eq!(result["result"], "served-by-the-pool");
    assert_eq!(
        s.invocation(1).await["ppid"].as_i64().unwrap(),
        i64::from(w.pid())
    );

    let r = curl(&["-d", r#"{"task":"@fake hang"}"#, &s.api("/executions")]).await;
    let id = r.json()["execution_id"].as_str().unwrap().to_string();
    let pgid = s.invocation(2).await["pgid"].as_i64().unwrap() as i32;
    let cancel = curl(&["-X", "DELETE", &s.api(&format!("/executions/{id}"))]).await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    assert_eq!(cancel.json()["status"], "cancelled", "{}", cancel.body);
    let left = tokio::task::spawn_blocking(move || wait_group_gone(pgid, 10))
        .await
        .unwrap();
    assert!(left.is_empty(), "survivors: {left:?}");
}

/// The name of the one queue of `status` whose name ends with `session`, and that queue.
fn session_queue<'a>(status: &'a Value, session: &str) -> Option<&'a Value> {
    status["queues"]
        .as_array()?
        .iter()
        .find(|q| q["name"].as_str().is_some_and(|n| n.ends_with(session)))
}

#[test]
fn each_mcp_session_over_http_is_its_own_queue_in_the_pool() {
    use crate::serve::{Service, open_session, request, tool_call};
    use crate::support::fixtures::eventually;
    use crate::support::interop::Sandbox;
    let redis = RedisServer::start();
    let url = redis.url();
    let service = Service::start_with(
        Sandbox::new(),
        &["--redis-url", &url, "--placement", "pool"],
        &[],
    );
    let base = service.sandbox.dir.path().to_path_buf();
    let _w = Worker::start(&base, &url, "w1", 5000, &["--slots", "2"]);
    let (a, b) = (open_session(&service), open_session(&service));
    let session_of = |h: &[(String, String)]| {
        h.iter()
            .find(|(k, _)| k == "mcp-session-id")
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let (sa, sb) = (session_of(&a), session_of(&b));
    let submit = |headers: &[(String, String)], id: u64, marker: &str| {
        let args = format!(r#"{{"task":"@fake hang\n{marker}","wait":false}}"#);
        let answer = request(
            &service.url,
            "POST",
            "/mcp",
            headers,
            tool_call(id, "cc_execute", &args).as_bytes(),
        );
        assert_eq!(answer.status, 200, "{answer:?}");
    };
    submit(&a, 2, "session-a-first");
    submit(&a, 3, "session-a-second");
    submit(&b, 2, "session-b-first");

    // Session b's task runs beside a's first (a worker with two slots takes one task of each
    // queue); a's second waits behind a's first, in a's own line.
    let mut last = Value::Null;
    let seen = eventually(Duration::from_secs(30), || {
        last = pool_status(&base, &url);
        let (Some(qa), Some(qb)) = (session_queue(&last, &sa), session_queue(&last, &sb)) else {
            return false;
        };
        // A queue's depth counts its task in flight too.
        !qa["in_flight"].is_null()
            && qa["depth"] == 2
            && !qb["in_flight"].is_null()
            && qb["depth"] == 1
    });
    assert!(seen, "{last:#}");
}
