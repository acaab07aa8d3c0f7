//! Claims that survive machines dying: SIGKILL and SIGSTOP past the lease, an idempotent task
//! run again, an orchestrator killed after enqueueing, Redis restarted mid-run.

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_task_loses_it_after_the_lease_and_it_is_never_run_twice() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let mut ws = workers(&s, &redis, 2, 1500);
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake hang\nkilled marker-k", "wait": false}),
        )
        .await;
    let id = data(&r)["execution_id"].as_str().unwrap().to_string();
    assert!(
        eventually_async(Duration::from_secs(20), || !runs_of(&s, "marker-k")
            .is_empty())
        .await,
        "never started"
    );
    let ran = runs_of(&s, "marker-k");
    let holder = ws
        .iter()
        .position(|w| i64::from(w.pid()) == ran[0]["ppid"].as_i64().unwrap())
        .expect("run by a worker");
    ws[holder].signal(Signal::SIGKILL);
    ws[holder].wait();

    let e = finished(&s, &id).await;
    assert_eq!(e["result"]["status"], "interrupted", "{e}");
    let warnings = e["result"]["warnings"].to_string();
    assert!(warnings.contains("lost"), "{warnings}");
    assert!(warnings.contains(&format!("w{}", holder + 1)), "{warnings}");
    // Not run again.
    assert_eq!(runs_of(&s, "marker-k").len(), 1);
    let rec = tokio::task::spawn_blocking({
        let (root, url) = (s.root(), redis.url());
        move || history_record(&root, &url, &id)
    })
    .await
    .unwrap()
    .expect("recorded");
    assert_eq!(rec["result"]["status"], "interrupted", "{rec}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_stopped_past_its_lease_stops_its_own_tree_when_it_wakes_and_records_it() {
    let redis = RedisServer::start();
    let s = orchestrator(&redis, &[]).await;
    let ws = workers(&s, &redis, 2, 1500);
    let r = s
        .call(
            "cc_execute",
            json!({"task": "@fake hang\nstopped marker-s", "wait": false}),
        )
        .await;
    let id = data(&r)["execution_id"].as_str().unwrap().to_string();
    assert!(
        eventually_async(Duration::from_secs(20), || !runs_of(&s, "marker-s")
            .is_empty())
        .await
    );
    let ran = runs_of(&s, "marker-s");
    let pgid = ran[0]["pgid"].as_i64().unwrap() as i32;
    let holder = ws
        .iter()
        .find(|w| i64::from(w.pid()) == ran[0]["ppid"].as_i64().unwrap())
        .expect("run by a worker");
    holder.signal(Signal::SIGSTOP);
    // The other worker takes it over once the lease lapsed and records it lost.
    let e = finished(&s, &id).await;
    assert_eq!(e["result"]["status"], "interrupted", "{e}");
    assert!(e["result"]["warnings"].to_string().contains("lost"), "{e}");
    holder.signal(Signal::SIGCONT);

    // Awake, the stale worker finds its fence superseded and stops the tree itself.
    let left = tokio::task::spawn_blocking(move || wait_group_gone(pgid, 20))
        .await
        .unwrap();
    assert!(left.is_empty(), "survivors: {left:?}");
    let (root, url, name) = (s.root(), redis.url(), holder.name.clone());
    let said = eventually_async(Duration::from_secs(20), || {
        history_record(&root, &url, &id).is_some_and(|r| {
            r["result"]["status"] == "interrupted" && r.to_string().contains("superseded")
        })
    })
    .await;
    assert!(said, "the history does not say it was superseded");
    assert!(
        holder.log_text().contains("superseded"),
        "{}",
        holder.log_text()
    );
    assert!(
        history_record(&root, &url, &id)
            .unwrap()
            .to_string()
            .contains(&format!("`{name}`"))
    );
    assert_eq!(runs_of(&s, "marker-s").len(), 1, "never run twice");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_restarted_mid_run_loses_no_acknowledged_task_and_workers_reconnect() {
    let mut redis = RedisServer::start();
    let s = orchestrator(&redis, &["--pool-queue", "restart-q"]).await;
    let _w = Worker::start(&s.root(), &redis.url(), "w1", 5000, &[]);
    let running = s
        .call(
            "cc_execute",
            json!({"task": "@fake slow secs=2\nduring marker-a", "wait": false}),
        )
        .await;
    let waiting = s
        .call(
            "cc_execute",
            json!({"task": "@fake success text=after-restart\nqueued marker-b", "wait": false}),
        )
        .await;
    assert!(
        eventually_async(Duration::from_secs(20), || !runs_of(&s, "marker-a")
            .is_empty())
        .await
    );
    // Persisted (as with AOF), then the server dies and comes back on the same port.
    redis.save();
    redis.restart();
    for r in [&running, &waiting] {
        let id = data(r)["execution_id"].as_str().unwrap().to_string();
        let e = finished(&s, &id).await;
        assert_eq!(e["result"]["status"], "succeeded", "{e}");
    }
    assert_eq!(runs_of(&s, "marker-a").len(), 1);
    assert_eq!(runs_of(&s, "marker-b").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotent_task_whose_worker_died_runs_again_on_another() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let exec =
        library_orchestrator(crate::support::fixtures::fake_claude_config(&root), &redis).await;
    let mut ws: Vec<Worker> = (1..=2)
        .map(|i| Worker::start(&root, &redis.url(), &format!("w{i}"), 1500, &[]))
        .collect();
    let mut spec = exec
        .prepare(cc_executor::TaskRequest::new(
            "@fake slow secs=2\nidempotent marker-i",
        ))
        .await
        .unwrap();
    spec.idempotent = true;
    let running = tokio::spawn({
        let exec = exec.clone();
        async move {
            exec.execute(spec, cc_executor::exec::progress::NoProgress)
                .await
        }
    });
    let record = root.join("rec");
    let of = |marker: &str| -> Vec<Value> {
        crate::support::fixtures::invocations(&record)
            .into_iter()
            .filter(|i| i["stdin"].as_str().unwrap_or("").contains(marker))
            .collect()
    };
    assert!(eventually_async(Duration::from_secs(20), || !of("marker-i").is_empty()).await);
    let first = of("marker-i")[0]["ppid"].as_i64().unwrap();
    let holder = ws.iter().position(|w| i64::from(w.pid()) == first).unwrap();
    ws[holder].signal(Signal::SIGKILL);
    ws[holder].wait();

    let r = running.await.unwrap();
    assert_eq!(r.status, cc_executor::Status::Succeeded, "{r:#?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("run again") && w.contains("retry")),
        "{:?}",
        r.warnings
    );
    let runs = of("marker-i");
    assert_eq!(runs.len(), 2, "run again once, by the other worker");
    assert_ne!(runs[1]["ppid"].as_i64().unwrap(), first);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_orchestrator_killed_after_enqueueing_leaves_the_task_to_its_worker() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let _w = Worker::start(&root, &redis.url(), "w1", 5000, &[]);
    let orchestrator = |args: &[&str]| {
        let mut cmd = std::process::Command::new(crate::support::fixtures::cc_executor_bin());
        cmd.env(
            "CC_EXECUTOR_CLAUDE_BIN",
            crate::support::fixtures::fake_claude_bin(),
        )
        .env("REDIS_URL", redis.url())
        .env("XDG_CONFIG_HOME", root.join("config"))
        .arg("--data-dir")
        .arg(root.join("data-orchestrator"))
        .arg("--allowed-root")
        .arg(&root)
        .args(["--placement", "pool"])
        .args(args)
        .current_dir(&root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
        cmd
    };
    let mut run = orchestrator(&["run", "@fake slow secs=6\nsurvives marker-o"])
        .spawn()
        .unwrap();
    let record = root.join("rec");
    let started = eventually_async(Duration::from_secs(20), || {
        crate::support::fixtures::invocations(&record)
            .iter()
            .any(|i| i["stdin"].as_str().unwrap_or("").contains("marker-o"))
    })
    .await;
    assert!(started);
    let inv = crate::support::fixtures::invocations(&record)[0].clone();
    let fake_pid = inv["pid"].as_i64().unwrap() as i32;
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(
        crate::support::fixtures::is_alive(fake_pid),
        "killed with the orchestrator"
    );

    // The next process on that data dir settles what its predecessor left: nothing here.
    let out = orchestrator(&["history", "list", "--json"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("interrupted"));
    assert!(
        crate::support::fixtures::is_alive(fake_pid),
        "the worker's task was killed"
    );

    // The worker finishes it and records it in the shared history.
    let recorded = eventually_async(Duration::from_secs(20), || {
        let out = orchestrator(&["history", "list", "--json"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.contains("marker-o") && text.contains("succeeded")
    })
    .await;
    assert!(recorded, "not recorded as succeeded");
}
