//! The worker pool's data plane in Redis: task queues, claims with leases and fencing tokens,
//! each execution's event stream and control channel, and the worker registry. It knows
//! nothing of executions (the payload of a task and its events are opaque JSON here); the
//! executor (`exec/remote.rs`) places tasks, `worker` runs them.
//!
//! Redis Streams and consumer groups are the queue engine; the few decisions that must be
//! atomic (claim, renew, settle, withdraw) are Lua scripts in `lua/`.
//!
//! # Key schema
//!
//! Every key starts with the history's prefix `{p}` (`redis_prefix`) followed by `:pool:`.
//!
//! | key | type | content |
//! |---|---|---|
//! | `{p}:pool:q:{queue}` | STREAM + group `workers` | one entry per task: `id` (execution id), `task` (payload JSON), `lost` (`lost`/`retry`); its stream id is its place in line. Deleted once settled, so its length is the queue's depth. `EXPIRE` = retention, renewed by every enqueue |
//! | `{p}:pool:queues` | SET | the queue names workers look at (a name whose stream is gone is dropped by the next claim) |
//! | `{p}:pool:lock:{queue}` | STRING, `PX` = lease | `worker\|fence\|stream id`: the task of this queue in flight, held while its worker renews it |
//! | `{p}:pool:fence` | STRING (counter) | `INCR`ed for every claim: the fencing token |
//! | `{p}:pool:ev:{execution id}` | STREAM, `MAXLEN ~ 10000`, `EXPIRE` 1 day | the execution's events, field `e` (JSON); the last one carries the result. Readable from any id: a reattaching reader misses nothing |
//! | `{p}:pool:ctl:{execution id}` | STREAM, `EXPIRE` 1 day | control requests to its worker, field `c`: `cancel`, `pause`, `resume` |
//! | `{p}:pool:parked` | STRING, `PXAT` = the reset | the reset time (ms) of a usage limit a worker hit: no claims until it expires |
//! | `{p}:pool:workers` | ZSET | worker name → last heartbeat (ms) |
//! | `{p}:pool:worker:{name}` | HASH, `EXPIRE` = 3 heartbeats | `host`, `pid`, `version`, `slots`, `busy`, `draining`, `started_ms`, `heartbeat_ms` |
//!
//! # Order and claims
//!
//! One task of a queue is in flight at a time: a worker claims a queue's next entry only
//! when the queue's lock is free, and takes the lock in the same script (`claim.lua`), so
//! the entries of a queue start in stream-id order whichever worker is fastest. The lock is
//! the task's lease: its worker renews it (`renew.lua`, compare-and-renew) every third of the
//! lease; a worker that cannot renew because another holder has the lock was superseded and
//! stops its process tree. A lock that expired while its entry is still pending means its
//! worker died or was cut off: the next claim takes the entry over (`XCLAIM`) and returns the
//! previous consumer, so the claimer applies the task's lost policy (`lost`: recorded, not
//! run again; `retry`: run again, for tasks declared idempotent). A worker settles a task
//! (`settle.lua`: `XACK`, `XDEL`, lock freed) only while it still holds the fence.

mod channels;
mod status;

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script};
use uuid::Uuid;

use crate::config::redact_url;

pub use status::{Persistence, PoolStatus, QueueStatus, WorkerInfo};

/// Each connection attempt gives up after this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Each command gives up after this.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Event and control streams outlive their execution by this long.
const STREAM_TTL_SECS: u64 = 24 * 3600;
/// Events kept per execution (approximately: `MAXLEN ~`).
const EVENTS_KEPT: usize = 10_000;

/// What went wrong talking to the pool's Redis.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("invalid Redis URL for the pool ({url}): {message}")]
    Url { url: String, message: String },
    #[error("pool Redis at {location}: {source}")]
    Redis {
        location: String,
        #[source]
        source: redis::RedisError,
    },
    #[error("pool Redis at {location} returned an unexpected reply: {message}")]
    Reply { location: String, message: String },
}

/// What happens to a task whose worker disappeared while it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostPolicy {
    /// Recorded as lost, never run again: a half-done task may have changed files.
    Lost,
    /// Run again by the worker that takes it over (tasks declared idempotent).
    Retry,
}

impl LostPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            LostPolicy::Lost => "lost",
            LostPolicy::Retry => "retry",
        }
    }
}

/// A task a worker has claimed.
#[derive(Debug, Clone)]
pub struct Claim {
    pub queue: String,
    /// The entry's stream id: its place in the queue.
    pub stream_id: String,
    /// `worker|fence|stream id`: what this claim's lock holds while it is ours.
    pub holder: String,
    /// The fencing token of this claim.
    pub fence: u64,
    /// `Some(consumer)`: the entry was taken over from a worker whose lease expired.
    pub previous: Option<String>,
    pub execution_id: Uuid,
    /// The task as the orchestrator wrote it (opaque here).
    pub payload: String,
    pub lost_policy: LostPolicy,
}

/// A control request to the worker running an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Cancel,
    Pause,
    Resume,
}

impl Control {
    fn as_str(self) -> &'static str {
        match self {
            Control::Cancel => "cancel",
            Control::Pause => "pause",
            Control::Resume => "resume",
        }
    }

    fn parse(s: &str) -> Option<Control> {
        match s {
            "cancel" => Some(Control::Cancel),
            "pause" => Some(Control::Pause),
            "resume" => Some(Control::Resume),
            _ => None,
        }
    }
}

/// What [`Pool::withdraw`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawn {
    /// Removed before any worker took it: it will never run.
    Yes,
    /// A worker has it: ask that worker (a control request).
    Claimed,
    /// It is not in its queue any more (settled).
    Gone,
}

struct Scripts {
    enqueue: Script,
    claim: Script,
    renew: Script,
    settle: Script,
    withdraw: Script,
}

/// A connection to the pool's Redis; cheap to clone.
#[derive(Clone)]
pub struct Pool {
    conn: ConnectionManager,
    prefix: String,
    location: String,
    queue_ttl_secs: u64,
    scripts: std::sync::Arc<Scripts>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("location", &self.location)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Pool {
    /// A pool on the Redis at `url`. Connects lazily (and reconnects after Redis restarts):
    /// only a malformed URL is an error here.
    pub fn connect(url: &str, prefix: &str, retention_days: u64) -> Result<Pool, PoolError> {
        let location = redact_url(url);
        let client = redis::Client::open(url).map_err(|e| PoolError::Url {
            url: location.clone(),
            message: e.to_string().replace(url, &location),
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| {
            PoolError::Url {
                url: location.clone(),
                message: e.to_string().replace(url, &location),
            }
        })?;
        Ok(Pool {
            conn,
            prefix: prefix.to_string(),
            location,
            queue_ttl_secs: retention_days.max(1).saturating_mul(86_400),
            scripts: std::sync::Arc::new(Scripts {
                enqueue: Script::new(include_str!("lua/enqueue.lua")),
                claim: Script::new(include_str!("lua/claim.lua")),
                renew: Script::new(include_str!("lua/renew.lua")),
                settle: Script::new(include_str!("lua/settle.lua")),
                withdraw: Script::new(include_str!("lua/withdraw.lua")),
            }),
        })
    }

    /// Where the pool is (password redacted).
    pub fn location(&self) -> &str {
        &self.location
    }

    fn key(&self, rest: &str) -> String {
        format!("{}:pool:{rest}", self.prefix)
    }

    fn err(&self, source: redis::RedisError) -> PoolError {
        PoolError::Redis {
            location: self.location.clone(),
            source,
        }
    }

    async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, PoolError> {
        let mut con = self.conn.clone();
        cmd.query_async(&mut con).await.map_err(|e| self.err(e))
    }

    async fn script<T: FromRedisValue>(
        &self,
        script: &Script,
        args: &[&str],
    ) -> Result<T, PoolError> {
        let mut con = self.conn.clone();
        let mut inv = script.prepare_invoke();
        for a in args {
            inv.arg(*a);
        }
        inv.invoke_async(&mut con).await.map_err(|e| self.err(e))
    }

    /// Puts a task at the end of `queue`; returns its stream id (its place in line).
    pub async fn enqueue(
        &self,
        queue: &str,
        execution_id: Uuid,
        payload: &str,
        lost: LostPolicy,
    ) -> Result<String, PoolError> {
        let id = execution_id.to_string();
        let ttl = self.queue_ttl_secs.to_string();
        self.script(
            &self.scripts.enqueue,
            &[&self.prefix, queue, &id, payload, lost.as_str(), &ttl],
        )
        .await
    }

    /// Claims the next task of one of `queues` (empty: every known queue) that has none in
    /// flight, with a lease of `lease`. `None`: nothing to do.
    pub async fn claim(
        &self,
        worker: &str,
        queues: &[String],
        lease: Duration,
    ) -> Result<Option<Claim>, PoolError> {
        let lease_ms = lease.as_millis().max(1).to_string();
        let mut args = vec![self.prefix.as_str(), worker, lease_ms.as_str()];
        args.extend(queues.iter().map(String::as_str));
        // The script's `false` arrives as nil.
        let reply: Option<(String, String, String, String, Vec<String>)> =
            self.script(&self.scripts.claim, &args).await?;
        let Some((queue, stream_id, holder, previous, fields)) = reply else {
            return Ok(None);
        };
        let field = |name: &str| {
            fields
                .chunks(2)
                .find(|kv| kv[0] == name)
                .and_then(|kv| kv.get(1).cloned())
        };
        let bad = |message: String| PoolError::Reply {
            location: self.location.clone(),
            message,
        };
        let execution_id = field("id").and_then(|s| s.parse().ok()).ok_or_else(|| {
            bad(format!(
                "entry {stream_id} of queue {queue} has no execution id"
            ))
        })?;
        let fence = holder
            .split('|')
            .nth(1)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| bad(format!("lock holder `{holder}` has no fence")))?;
        Ok(Some(Claim {
            queue,
            stream_id,
            holder,
            fence,
            previous: Some(previous).filter(|p| !p.is_empty()),
            execution_id,
            payload: field("task").unwrap_or_default(),
            lost_policy: match field("lost").as_deref() {
                Some("retry") => LostPolicy::Retry,
                _ => LostPolicy::Lost,
            },
        }))
    }

    /// Renews the lease of a claim. `false`: superseded (its fence is no longer current).
    pub async fn renew(&self, claim: &Claim, lease: Duration) -> Result<bool, PoolError> {
        let lease_ms = lease.as_millis().max(1).to_string();
        let r: i64 = self
            .script(
                &self.scripts.renew,
                &[&self.prefix, &claim.queue, &claim.holder, &lease_ms],
            )
            .await?;
        Ok(r == 1)
    }

    /// Acknowledges a finished claim and frees its queue. `false`: superseded, nothing done.
    pub async fn settle(&self, claim: &Claim) -> Result<bool, PoolError> {
        let r: i64 = self
            .script(
                &self.scripts.settle,
                &[&self.prefix, &claim.queue, &claim.holder, &claim.stream_id],
            )
            .await?;
        Ok(r == 1)
    }

    /// Takes a task out of its queue if no worker has claimed it yet.
    pub async fn withdraw(&self, queue: &str, stream_id: &str) -> Result<Withdrawn, PoolError> {
        let r: i64 = self
            .script(&self.scripts.withdraw, &[&self.prefix, queue, stream_id])
            .await?;
        Ok(match r {
            1 => Withdrawn::Yes,
            0 => Withdrawn::Claimed,
            _ => Withdrawn::Gone,
        })
    }

    /// Parks the pool until `until` (a usage limit's reset): no worker claims anything before
    /// it. A later reset already parked is kept.
    pub async fn park(&self, until: chrono::DateTime<chrono::Utc>) -> Result<(), PoolError> {
        let ms = until.timestamp_millis();
        if ms <= chrono::Utc::now().timestamp_millis() {
            return Ok(());
        }
        let current = self.parked_until().await?.unwrap_or(0);
        if current >= ms {
            return Ok(());
        }
        self.query::<()>(
            redis::cmd("SET")
                .arg(self.key("parked"))
                .arg(ms)
                .arg("PXAT")
                .arg(ms),
        )
        .await
    }

    /// Until when the pool is parked (Unix ms), if it is.
    pub async fn parked_until(&self) -> Result<Option<i64>, PoolError> {
        let v: Option<i64> = self
            .query(redis::cmd("GET").arg(self.key("parked")))
            .await?;
        Ok(v)
    }

    /// Tasks waiting or in flight in `queue`.
    pub async fn depth(&self, queue: &str) -> Result<usize, PoolError> {
        self.query(redis::cmd("XLEN").arg(self.key(&format!("q:{queue}"))))
            .await
    }
}
