//! The live status of every execution this process knows: phase, queue position, timing, last
//! event, tools used so far — and the result once finished. It backs `monitor_execution`
//! (including its long-poll), `cancel_execution`, the MCP Tasks mapping and health reports.
//!
//! Every meaningful change (phase, tool use, API retry, finish) bumps a version number and
//! wakes long-pollers; heartbeats refresh "last event" without counting as a change, so a
//! watcher is not woken every 15 s by nothing.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::exec::feed::Feed;
use crate::exec::pause::{Closed, Deadline, PauseChange, PauseControl};
use crate::exec::progress::ProgressEvent;
use crate::exec::result::{ExecutionResult, Status};

/// Finished executions kept in memory for monitoring (their status; results by bytes, below).
const KEEP_FINISHED: usize = 100;
/// A finished result bigger than this is not kept in memory: it is on disk (history and
/// response file) and read back on demand. A 200 MB answer must not stay resident.
const CACHE_RESULT_MAX_BYTES: usize = 1024 * 1024;
/// All cached results together stay under this; the oldest are dropped first.
const CACHE_BUDGET_BYTES: usize = 8 * 1024 * 1024;

/// Where an execution is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting in the FIFO queue.
    Queued,
    /// A `claude` process is being started (before its init line).
    Starting,
    /// Claude is working.
    Running,
    /// Waiting to retry after a transient failure.
    Retrying,
    /// Waiting for a usage limit to reset before retrying.
    WaitingForUsageReset,
    /// Paused on request: its process tree is stopped (or, queued, it will not start) and its
    /// time limit does not count; resumed by request, cancelled after `max_pause_secs`.
    Paused,
    /// Done; see `status`.
    Finished,
}

/// A snapshot of one execution, as `monitor_execution` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionStatus {
    pub execution_id: Uuid,
    pub phase: Phase,
    /// Final status once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// 1-based place in the queue while queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<usize>,
    /// The first 200 characters of the task.
    pub task_preview: String,
    pub submitted_at: DateTime<Utc>,
    /// Since submission.
    pub elapsed_ms: u64,
    pub timeout_secs: u64,
    /// Until the current attempt's deadline, while running (frozen while paused).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_left_ms: Option<u64>,
    /// When the current pause began, while paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<DateTime<Utc>>,
    /// Time paused so far (not counted against its timeout), once it has been paused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused_ms: Option<u64>,
    pub attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The last thing that happened (heartbeats included), and how long ago: tells "thinking"
    /// from "stalled".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_event_ago_ms: Option<u64>,
    /// Tool name → uses so far.
    pub tools_used: BTreeMap<String, u32>,
    pub api_retries: u32,
    /// Known once an attempt has finished (the CLI reports cost at the end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd_so_far: Option<f64>,
    /// Increases with every meaningful change; pass it back to wait for the next one.
    pub version: u64,
    /// The full result, once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ExecutionResult>,
}

impl ExecutionStatus {
    /// The status of a finished execution known only from the history.
    pub fn from_record(r: &crate::store::ExecutionRecord) -> Self {
        let res = &r.result;
        let since = (Utc::now() - r.submitted_at).num_milliseconds().max(0) as u64;
        ExecutionStatus {
            execution_id: r.execution_id,
            phase: Phase::Finished,
            status: Some(res.status),
            queue_position: None,
            task_preview: crate::claude::collect::truncate_chars(&r.task, 200),
            submitted_at: r.submitted_at,
            elapsed_ms: since,
            timeout_secs: 0,
            time_left_ms: None,
            paused_at: None,
            paused_ms: None,
            attempt: res.attempts.len() as u32,
            session_id: res.session_id.clone(),
            model: res.model.clone(),
            last_event: Some(format!("finished: {}", res.status)),
            last_event_ago_ms: Some((Utc::now() - res.finished_at).num_milliseconds().max(0) as u64),
            tools_used: res.tools_used.clone(),
            api_retries: res.api_retries,
            cost_usd_so_far: res.total_cost_usd,
            version: 0,
            result: Some(res.clone()),
        }
    }
}

impl ExecutionStatus {
    /// An execution another process has in flight (from the journal): it is queued or running
    /// there; this process knows no more.
    pub fn elsewhere(e: &crate::store::InFlight) -> Self {
        ExecutionStatus {
            execution_id: e.execution_id,
            phase: Phase::Queued,
            status: None,
            queue_position: None,
            task_preview: crate::claude::collect::truncate_chars(&e.task, 200),
            submitted_at: e.submitted_at,
            elapsed_ms: (Utc::now() - e.submitted_at).num_milliseconds().max(0) as u64,
            timeout_secs: e.timeout_secs,
            time_left_ms: None,
            paused_at: None,
            paused_ms: None,
            attempt: 0,
            session_id: None,
            model: None,
            last_event: Some(format!(
                "in flight in another process (pid {} on {}); ask that server for its progress",
                e.owner.pid, e.owner.host
            )),
            last_event_ago_ms: None,
            tools_used: BTreeMap::new(),
            api_retries: 0,
            cost_usd_so_far: None,
            version: 0,
            result: None,
        }
    }
}

struct State {
    phase: Phase,
    status: Option<Status>,
    task_preview: String,
    submitted_at: DateTime<Utc>,
    submitted: Instant,
    timeout: Duration,
    attempt: u32,
    /// The current attempt's time limit (which does not count paused time).
    deadline: Option<Deadline>,
    session_id: Option<String>,
    model: Option<String>,
    last_event: Option<(String, Instant)>,
    tools_used: BTreeMap<String, u32>,
    api_retries: u32,
    cost_usd_so_far: Option<f64>,
    /// The result, while it is cached (small and recent); see [`CACHE_BUDGET_BYTES`].
    result: Option<Arc<ExecutionResult>>,
}

/// One execution's entry: its state, its change signal, its cancel and pause switches.
pub struct Entry {
    pub id: Uuid,
    state: Mutex<State>,
    version: watch::Sender<u64>,
    pub cancel: CancellationToken,
    /// Every event, numbered and bounded, for readers that attach late (`exec/feed.rs`).
    pub(crate) feed: Arc<Feed>,
    pub pause: PauseControl,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Entry {
    /// Applies a progress event; returns nothing, wakes watchers when it mattered.
    pub fn observe(&self, event: &ProgressEvent) {
        self.feed.push(event);
        let mut s = lock(&self.state);
        let now = Instant::now();
        s.last_event = Some((event.message(), now));
        let changed = match event {
            ProgressEvent::Queued { .. } => true,
            ProgressEvent::Started {
                attempt,
                session_id,
                model,
            } => {
                s.phase = Phase::Running;
                s.attempt = *attempt;
                s.session_id.clone_from(session_id);
                s.model.clone_from(model);
                true
            }
            ProgressEvent::ToolUse { name, .. } => {
                *s.tools_used.entry(name.clone()).or_default() += 1;
                true
            }
            ProgressEvent::ApiRetry { .. } => {
                s.api_retries += 1;
                true
            }
            ProgressEvent::PermissionDenied { .. } => true,
            // Text streams in often; the event log has it, long-polls need not wake for it.
            ProgressEvent::Heartbeat { .. } | ProgressEvent::Text { .. } => false,
            // `request_pause` has told the watchers already.
            ProgressEvent::Paused { .. } | ProgressEvent::Resumed { .. } => false,
            ProgressEvent::Retrying { .. } => {
                s.phase = Phase::Retrying;
                true
            }
            ProgressEvent::WaitingForReset { .. } => {
                s.phase = Phase::WaitingForUsageReset;
                true
            }
            ProgressEvent::Finished { status } => {
                s.phase = Phase::Finished;
                s.status = Some(*status);
                true
            }
        };
        drop(s);
        if changed {
            self.bump();
        }
    }

    /// A new attempt is being spawned.
    pub fn attempt_starting(&self, attempt: u32, cost_so_far: Option<f64>) {
        let mut s = lock(&self.state);
        s.phase = Phase::Starting;
        s.attempt = attempt;
        s.deadline = Some(Deadline::new(s.timeout, &self.pause.state()));
        s.cost_usd_so_far = cost_so_far;
        drop(s);
        self.bump();
    }

    /// Pauses or resumes the execution (see [`crate::exec::pause`]) and tells watchers.
    /// `max_pause`: how long a pause may last, for the account in `last_event`.
    pub fn request_pause(&self, pause: bool, max_pause: Duration) -> Result<PauseChange, Closed> {
        let change = self.pause.request(pause)?;
        let message = match change {
            PauseChange::Paused => format!(
                "paused on request; cancelled unless resumed within {} s (max_pause_secs)",
                max_pause.as_secs()
            ),
            PauseChange::Resumed => "resumed on request".to_string(),
            PauseChange::AlreadyPaused | PauseChange::NotPaused => return Ok(change),
        };
        lock(&self.state).last_event = Some((message, Instant::now()));
        self.bump();
        Ok(change)
    }

    /// The execution is over. `cached`: its result, when the registry keeps it in memory.
    fn finish(&self, result: &ExecutionResult, cached: Option<Arc<ExecutionResult>>) {
        let mut s = lock(&self.state);
        s.phase = Phase::Finished;
        s.status = Some(result.status);
        s.cost_usd_so_far = result.total_cost_usd;
        s.tools_used.clone_from(&result.tools_used);
        s.result = cached;
        drop(s);
        self.bump();
    }

    fn forget_result(&self) {
        lock(&self.state).result = None;
    }

    fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
    }

    /// Where it stands (`Queued` … `Finished`), as its events last said.
    pub fn phase(&self) -> Phase {
        lock(&self.state).phase
    }

    pub fn is_finished(&self) -> bool {
        lock(&self.state).phase == Phase::Finished
    }

    /// The result, if finished and still cached in memory (else it is in the history).
    pub fn result(&self) -> Option<Arc<ExecutionResult>> {
        lock(&self.state).result.clone()
    }

    pub fn snapshot(&self, queue_position: Option<usize>) -> ExecutionStatus {
        let pause = self.pause.state();
        let s = lock(&self.state);
        let now = Instant::now();
        let tokio_now = tokio::time::Instant::now();
        let ms = |d: Duration| d.as_millis().min(u64::MAX as u128) as u64;
        let paused = pause.is_paused() && s.phase != Phase::Finished;
        ExecutionStatus {
            execution_id: self.id,
            phase: if paused { Phase::Paused } else { s.phase },
            status: s.status,
            queue_position: if s.phase == Phase::Queued {
                queue_position
            } else {
                None
            },
            task_preview: s.task_preview.clone(),
            submitted_at: s.submitted_at,
            elapsed_ms: ms(now - s.submitted),
            timeout_secs: s.timeout.as_secs(),
            time_left_ms: match (s.phase, &s.deadline) {
                (Phase::Starting | Phase::Running, Some(d)) => Some(ms(d.left(&pause, tokio_now))),
                _ => None,
            },
            paused_at: pause.since_utc.filter(|_| paused),
            paused_ms: (pause.pauses > 0).then(|| ms(pause.paused_total(tokio_now))),
            attempt: s.attempt,
            session_id: s.session_id.clone(),
            model: s.model.clone(),
            last_event: s.last_event.as_ref().map(|(m, _)| m.clone()),
            last_event_ago_ms: s.last_event.as_ref().map(|(_, at)| ms(now - *at)),
            tools_used: s.tools_used.clone(),
            api_retries: s.api_retries,
            cost_usd_so_far: s.cost_usd_so_far,
            version: *self.version.borrow(),
            result: s.result.as_deref().cloned(),
        }
    }

    /// Waits until the version passes `seen` or `max` elapses; returns the current version.
    pub async fn changed_since(&self, seen: u64, max: Duration) -> u64 {
        let mut rx = self.version.subscribe();
        let _ = tokio::time::timeout(max, rx.wait_for(|v| *v > seen)).await;
        *rx.borrow()
    }

    pub fn version(&self) -> u64 {
        *self.version.borrow()
    }
}

/// All executions of this process.
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
    /// Bumped on every change of any execution (for "wait for anything" long-polls).
    any: Arc<watch::Sender<u64>>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Uuid, Arc<Entry>>,
    /// Insertion order, for listing.
    order: VecDeque<Uuid>,
    /// Executions whose result is cached, oldest first, with its size.
    cached: VecDeque<(Uuid, usize)>,
    cached_bytes: usize,
}

impl Registry {
    pub fn register(
        &self,
        id: Uuid,
        task: &str,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Arc<Entry> {
        let entry = Arc::new(Entry {
            id,
            state: Mutex::new(State {
                phase: Phase::Queued,
                status: None,
                task_preview: crate::claude::collect::truncate_chars(task, 200),
                submitted_at: Utc::now(),
                submitted: Instant::now(),
                timeout,
                attempt: 0,
                deadline: None,
                session_id: None,
                model: None,
                last_event: None,
                tools_used: BTreeMap::new(),
                api_retries: 0,
                cost_usd_so_far: None,
                result: None,
            }),
            version: watch::Sender::new(0),
            cancel,
            feed: Arc::default(),
            pause: PauseControl::default(),
        });
        // Forward this entry's changes to the "any" signal.
        let any = self.any.clone();
        let mut rx = entry.version.subscribe();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                any.send_modify(|v| *v += 1);
            }
        });
        let mut g = lock(&self.inner);
        g.entries.insert(id, entry.clone());
        g.order.push_back(id);
        prune(&mut g);
        entry
    }

    /// Marks an execution finished. Its result is kept in memory only when small, and only
    /// while all kept results fit the budget: memory comes back after big answers, and a
    /// result that is not kept is read from the history when asked for.
    pub fn finish(&self, entry: &Entry, result: &ExecutionResult) {
        let size = result.approx_bytes();
        if size > CACHE_RESULT_MAX_BYTES {
            entry.finish(result, None);
            return;
        }
        let cached = Arc::new(result.clone());
        let mut g = lock(&self.inner);
        g.cached.push_back((entry.id, size));
        g.cached_bytes += size;
        while g.cached_bytes > CACHE_BUDGET_BYTES {
            let Some((old, n)) = g.cached.pop_front() else {
                break;
            };
            g.cached_bytes -= n;
            if let Some(e) = g.entries.get(&old) {
                e.forget_result();
            }
        }
        drop(g);
        entry.finish(result, Some(cached));
    }

    pub fn get(&self, id: Uuid) -> Option<Arc<Entry>> {
        lock(&self.inner).entries.get(&id).cloned()
    }

    /// Every known execution, oldest first.
    pub fn all(&self) -> Vec<Arc<Entry>> {
        let g = lock(&self.inner);
        g.order
            .iter()
            .filter_map(|id| g.entries.get(id).cloned())
            .collect()
    }

    pub fn any_version(&self) -> u64 {
        *self.any.borrow()
    }

    /// Waits for a change of any execution after `seen`, at most `max`.
    pub async fn any_changed_since(&self, seen: u64, max: Duration) -> u64 {
        let mut rx = self.any.subscribe();
        let _ = tokio::time::timeout(max, rx.wait_for(|v| *v > seen)).await;
        *rx.borrow()
    }
}

/// Forgets the oldest finished executions beyond [`KEEP_FINISHED`].
fn prune(g: &mut Inner) {
    let finished: Vec<Uuid> = g
        .order
        .iter()
        .filter(|id| g.entries.get(id).is_some_and(|e| e.is_finished()))
        .copied()
        .collect();
    if finished.len() > KEEP_FINISHED {
        for id in &finished[..finished.len() - KEEP_FINISHED] {
            g.entries.remove(id);
        }
        let entries = &g.entries;
        let (kept, dropped): (VecDeque<_>, VecDeque<_>) = g
            .cached
            .drain(..)
            .partition(|(id, _)| entries.contains_key(id));
        g.cached_bytes -= dropped.iter().map(|(_, n)| n).sum::<usize>();
        g.cached = kept;
        let entries = &g.entries;
        let kept: VecDeque<Uuid> = g
            .order
            .iter()
            .filter(|id| entries.contains_key(id))
            .copied()
            .collect();
        g.order = kept;
    }
}
