//! `cc-executor pool status`: the worker pool as Redis sees it now.

use clap::{Args, Subcommand};

use super::{EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::pool::Pool;

#[derive(Debug, Args)]
pub struct PoolArgs {
    #[command(subcommand)]
    pub command: PoolCommand,
}

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Workers alive (slots, load, version, last heartbeat) and queues (depth, oldest task,
    /// the task in flight and who holds it).
    Status {
        #[arg(long)]
        json: bool,
    },
}

pub async fn pool(config: Config, args: PoolArgs) -> anyhow::Result<u8> {
    let Some(url) = config.redis_url.as_deref() else {
        eprintln!("cc-executor: the pool lives in Redis: give --redis-url, REDIS_URL or redis_url");
        return Ok(EXIT_USAGE);
    };
    let pool = Pool::connect(url, &config.redis_prefix, config.redis_retention_days)?;
    let PoolCommand::Status { json } = args.command;
    let status = pool.status().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(EXIT_OK);
    }
    let now = chrono::Utc::now().timestamp_millis();
    println!("pool at {}", status.location);
    println!("workers: {}", status.workers.len());
    for w in &status.workers {
        println!(
            "  {:<32} {}/{} busy  v{}  heartbeat {:.1}s ago{}",
            w.name,
            w.busy,
            w.slots,
            w.version,
            (now - w.heartbeat_ms).max(0) as f64 / 1000.0,
            if w.draining { "  draining" } else { "" }
        );
    }
    if let Some(ms) = status.parked_until_ms
        && let Some(t) = chrono::DateTime::from_timestamp_millis(ms)
    {
        println!(
            "parked: a usage limit; nothing starts before {} (in {:.0}s)",
            t.format("%Y-%m-%d %H:%M:%S UTC"),
            (ms - now).max(0) as f64 / 1000.0
        );
    }
    println!("queues: {}", status.queues.len());
    for q in &status.queues {
        println!(
            "  {:<44} depth {:<4} oldest {}{}",
            q.name,
            q.depth,
            q.oldest_age_ms
                .map_or("-".to_string(), |ms| format!("{:.1}s", ms as f64 / 1000.0)),
            q.in_flight
                .as_deref()
                .and_then(|h| h.split('|').next())
                .map_or(String::new(), |w| format!("  in flight on {w}"))
        );
    }
    Ok(EXIT_OK)
}
