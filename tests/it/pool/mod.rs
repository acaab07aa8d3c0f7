//! The worker pool (`--placement pool`), end to end on real processes: a real redis-server,
//! real `cc-executor worker` processes and the MCP server (`cc-executor mcp`) with the fake
//! claude as the task. Order per queue, results in the shared history, a worker killed
//! (SIGKILL) or stopped (SIGSTOP) past its lease, cancel and monitor across processes,
//! `pool status` and the drain on SIGTERM.

use serde_json::{Value, json};

use crate::support::fixtures::{eventually_async, wait_group_gone};
use crate::support::mcp_client::{Server, data, start};
use crate::support::pool::{Worker, history_record, pool_status};
use crate::support::redis_server::RedisServer;

mod accept;
mod claude_host;
mod control;
mod leases;
mod operations;
mod order;

/// The MCP server with `--placement pool` on `redis`, and workers sharing its root.
pub(super) async fn orchestrator(redis: &RedisServer, extra: &[&str]) -> Server<()> {
    let url = redis.url();
    let mut args = vec!["--redis-url", url.as_str(), "--placement", "pool"];
    args.extend_from_slice(extra);
    start((), &args).await
}

pub(super) fn workers(s: &Server<()>, redis: &RedisServer, n: usize, lease_ms: u64) -> Vec<Worker> {
    (1..=n)
        .map(|i| Worker::start(&s.root(), &redis.url(), &format!("w{i}"), lease_ms, &[]))
        .collect()
}

/// Long-polls `monitor_execution` until the execution has finished; its entry.
pub(super) async fn finished(s: &Server<()>, id: &str) -> Value {
    let mut version = 0u64;
    for _ in 0..200 {
        let m = s
            .call(
                "monitor_execution",
                json!({"execution_id": id, "wait_secs": 20, "since_version": version}),
            )
            .await;
        assert_ne!(m.is_error, Some(true), "{m:?}");
        let d = data(&m).clone();
        version = d["version"].as_u64().unwrap();
        let e = d["executions"][0].clone();
        if e["phase"] == "finished" {
            return e;
        }
    }
    panic!("execution {id} did not finish");
}

/// The fake's invocations whose prompt contains `marker`.
pub(super) fn runs_of(s: &Server<()>, marker: &str) -> Vec<Value> {
    s.invocations()
        .into_iter()
        .filter(|i| i["stdin"].as_str().unwrap_or("").contains(marker))
        .collect()
}

/// A library orchestrator (`Executor` with `placement = pool`) on `root`, with the shared
/// Redis history.
pub(super) async fn library_orchestrator(
    mut config: cc_executor::Config,
    redis: &RedisServer,
) -> cc_executor::Executor {
    config.redis_url = Some(redis.url());
    config.placement = cc_executor::config::Placement::Pool;
    let store = cc_executor::store::open(&config).await.unwrap();
    cc_executor::Executor::with_store(config, store).unwrap()
}
