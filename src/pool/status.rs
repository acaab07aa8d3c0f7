//! The worker registry (heartbeats) and what `cc-executor pool status` shows.

use std::collections::HashMap;

use serde::Serialize;

use super::{Pool, PoolError};

/// What a worker says about itself with every heartbeat.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkerInfo {
    pub name: String,
    pub host: String,
    pub pid: u32,
    pub version: String,
    pub slots: usize,
    /// Tasks it runs now.
    pub busy: usize,
    /// Finishing what it runs, claiming nothing new (SIGTERM).
    pub draining: bool,
    pub started_ms: i64,
    pub heartbeat_ms: i64,
}

/// One queue, as `pool status` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueStatus {
    pub name: String,
    /// Tasks waiting or in flight.
    pub depth: usize,
    /// Age of its oldest task, ms (`None` when empty).
    pub oldest_age_ms: Option<i64>,
    /// The worker that holds its task in flight, with the fence (`worker|fence|stream id`).
    pub in_flight: Option<String>,
}

/// The pool at one moment.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PoolStatus {
    pub location: String,
    /// Workers whose last heartbeat has not expired.
    pub workers: Vec<WorkerInfo>,
    pub queues: Vec<QueueStatus>,
    /// A usage limit parks the pool until this time (Unix ms): nothing starts before it.
    pub parked_until_ms: Option<i64>,
}

impl Pool {
    /// Records a worker's heartbeat; its entry expires after `ttl` without another.
    pub async fn heartbeat(
        &self,
        w: &WorkerInfo,
        ttl: std::time::Duration,
    ) -> Result<(), PoolError> {
        let key = self.key(&format!("worker:{}", w.name));
        let mut pipe = redis::pipe();
        pipe.cmd("HSET")
            .arg(&key)
            .arg("host")
            .arg(&w.host)
            .arg("pid")
            .arg(w.pid)
            .arg("version")
            .arg(&w.version)
            .arg("slots")
            .arg(w.slots)
            .arg("busy")
            .arg(w.busy)
            .arg("draining")
            .arg(u8::from(w.draining))
            .arg("started_ms")
            .arg(w.started_ms)
            .arg("heartbeat_ms")
            .arg(w.heartbeat_ms)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl.as_millis().max(1) as u64)
            .ignore()
            .cmd("ZADD")
            .arg(self.key("workers"))
            .arg(w.heartbeat_ms)
            .arg(&w.name)
            .ignore();
        let mut con = self.conn.clone();
        pipe.query_async::<()>(&mut con)
            .await
            .map_err(|e| self.err(e))
    }

    /// Removes a worker from the registry (it stopped cleanly).
    pub async fn deregister(&self, name: &str) -> Result<(), PoolError> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL")
            .arg(self.key(&format!("worker:{name}")))
            .ignore()
            .cmd("ZREM")
            .arg(self.key("workers"))
            .arg(name)
            .ignore();
        let mut con = self.conn.clone();
        pipe.query_async::<()>(&mut con)
            .await
            .map_err(|e| self.err(e))
    }

    /// Live workers and every known queue.
    pub async fn status(&self) -> Result<PoolStatus, PoolError> {
        let now = chrono::Utc::now().timestamp_millis();
        let names: Vec<String> = self
            .query(redis::cmd("ZRANGE").arg(self.key("workers")).arg(0).arg(-1))
            .await?;
        let mut workers = Vec::new();
        for name in names {
            let h: HashMap<String, String> = self
                .query(redis::cmd("HGETALL").arg(self.key(&format!("worker:{name}"))))
                .await?;
            if h.is_empty() {
                // Its heartbeat expired: gone (dropped from the set).
                let _: i64 = self
                    .query(redis::cmd("ZREM").arg(self.key("workers")).arg(&name))
                    .await?;
                continue;
            }
            let num = |k: &str| h.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
            workers.push(WorkerInfo {
                host: h.get("host").cloned().unwrap_or_default(),
                pid: u32::try_from(num("pid")).unwrap_or(0),
                version: h.get("version").cloned().unwrap_or_default(),
                slots: usize::try_from(num("slots")).unwrap_or(0),
                busy: usize::try_from(num("busy")).unwrap_or(0),
                draining: num("draining") != 0,
                started_ms: num("started_ms"),
                heartbeat_ms: num("heartbeat_ms"),
                name,
            });
        }
        let mut names: Vec<String> = self
            .query(redis::cmd("SMEMBERS").arg(self.key("queues")))
            .await?;
        names.sort();
        let mut queues = Vec::new();
        for name in names {
            let stream = self.key(&format!("q:{name}"));
            let depth: usize = self.query(redis::cmd("XLEN").arg(&stream)).await?;
            let first: Vec<(String, Vec<String>)> = self
                .query(
                    redis::cmd("XRANGE")
                        .arg(&stream)
                        .arg("-")
                        .arg("+")
                        .arg("COUNT")
                        .arg(1),
                )
                .await?;
            let oldest_age_ms = first.first().and_then(|(id, _)| {
                let ms: i64 = id.split('-').next()?.parse().ok()?;
                Some((now - ms).max(0))
            });
            let in_flight: Option<String> = self
                .query(redis::cmd("GET").arg(self.key(&format!("lock:{name}"))))
                .await?;
            queues.push(QueueStatus {
                name,
                depth,
                oldest_age_ms,
                in_flight,
            });
        }
        Ok(PoolStatus {
            location: self.location.clone(),
            workers,
            queues,
            parked_until_ms: self.parked_until().await?,
        })
    }
}

/// How the pool's Redis keeps data across a crash or restart (`CONFIG GET`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Persistence {
    pub appendonly: Option<String>,
    pub appendfsync: Option<String>,
    /// RDB snapshot rules (`save`), empty when off.
    pub save: Option<String>,
}

impl Persistence {
    /// Whether acknowledged writes survive a crash (AOF on).
    pub fn durable(&self) -> bool {
        self.appendonly.as_deref() == Some("yes")
    }

    /// What a crash or restart of this Redis can lose, in plain words.
    pub fn consequence(&self) -> String {
        match (self.durable(), self.appendfsync.as_deref()) {
            (true, Some("always")) => {
                "appendonly yes, appendfsync always: nothing acknowledged is lost".into()
            }
            (true, Some("no")) => "appendonly yes, appendfsync no: the OS decides when to write; a machine crash can lose the last ~30 s of queued tasks, events and records".into(),
            (true, f) => format!(
                "appendonly yes, appendfsync {}: a crash loses at most the last second of writes",
                f.unwrap_or("?")
            ),
            (false, _) => format!(
                "appendonly no{}: a crash or restart loses every queued task, pool event and history record written since the last snapshot; set appendonly yes (appendfsync everysec)",
                match self.save.as_deref() {
                    Some(s) if !s.is_empty() => format!(" (RDB snapshots: save \"{s}\")"),
                    _ => " and no snapshots".to_string(),
                }
            ),
        }
    }
}

impl Pool {
    /// The Redis's persistence settings.
    pub async fn persistence(&self) -> Result<Persistence, PoolError> {
        let get = |name: &'static str| {
            let pool = self.clone();
            async move {
                let pairs: Vec<String> = pool
                    .query(redis::cmd("CONFIG").arg("GET").arg(name))
                    .await?;
                Ok::<_, PoolError>(pairs.get(1).cloned())
            }
        };
        Ok(Persistence {
            appendonly: get("appendonly").await?,
            appendfsync: get("appendfsync").await?,
            save: get("save").await?,
        })
    }
}
