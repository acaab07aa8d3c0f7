//! `cc-executor worker`: a pool worker (see [`crate::worker`]) on this machine, under this
//! machine's configuration and policy. SIGTERM or SIGINT drains it.

use std::time::Duration;

use clap::Args;
use tokio_util::sync::CancellationToken;

use super::{EXIT_OK, EXIT_USAGE};
use crate::config::{Config, Placement};
use crate::pool::Pool;
use crate::worker::WorkerOptions;

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Tasks run at once (each from a different queue: a queue runs one task at a time).
    #[arg(long, env = "CC_EXECUTOR_WORKER_SLOTS", default_value_t = 1)]
    pub slots: usize,
    /// Queues served (comma-separated). Default: every queue.
    #[arg(long, value_delimiter = ',', value_name = "QUEUES")]
    pub queues: Vec<String>,
    /// A claim lapses (and the task counts as lost) this long after the worker last renewed
    /// it, in ms; renewed every third of it. Default: 10000.
    #[arg(long, env = "CC_EXECUTOR_WORKER_LEASE_MS", default_value_t = 10_000)]
    pub lease_ms: u64,
    /// Its name in the pool (unique). Default: host-pid-random.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

pub async fn worker(mut config: Config, args: WorkerArgs) -> anyhow::Result<u8> {
    let Some(url) = config.redis_url.clone() else {
        eprintln!(
            "cc-executor: `worker` needs the pool's Redis: --redis-url, REDIS_URL or redis_url"
        );
        return Ok(EXIT_USAGE);
    };
    if args.slots == 0 || args.lease_ms < 300 {
        eprintln!("cc-executor: --slots must be at least 1 and --lease-ms at least 300");
        return Ok(EXIT_USAGE);
    }
    // The worker runs what it claims here: never placed again.
    config.placement = Placement::Local;
    config.max_concurrent = args.slots;
    let pool = Pool::connect(&url, &config.redis_prefix, config.redis_retention_days)?;
    let executor = super::open_executor(config).await?;
    let mut opts = WorkerOptions::new();
    opts.slots = args.slots;
    opts.queues = args.queues;
    opts.lease = Duration::from_millis(args.lease_ms);
    if let Some(name) = args.name {
        opts.name = name;
    }
    let drain = CancellationToken::new();
    {
        let drain = drain.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!("cannot listen for SIGTERM/SIGINT: the worker cannot drain");
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            drain.cancel();
        });
    }
    eprintln!(
        "cc-executor: worker {} on {} ({} slot(s), queues: {})",
        opts.name,
        pool.location(),
        opts.slots,
        if opts.queues.is_empty() {
            "all".to_string()
        } else {
            opts.queues.join(",")
        }
    );
    let report = crate::worker::run(executor.clone(), pool, opts, drain).await;
    executor.shutdown().await;
    eprintln!(
        "cc-executor: worker drained: {} task(s) run, {} recorded lost, {} superseded",
        report.ran, report.recorded_lost, report.superseded
    );
    Ok(EXIT_OK)
}
