//! Pausing an execution: its whole process tree stopped (SIGSTOP) and continued (SIGCONT), and
//! its clocks stopped with it.
//!
//! The predecessor's PAUSE stopped the process and left the deadline running, so a paused task
//! was killed as "timed out" for time it never ran. Here a pause is a state of the execution
//! ([`PauseControl`], one per execution, held by its registry entry) that everything measuring
//! time reads:
//!
//! - the attempt's wall-clock deadline ([`Deadline`]) does not run while paused and, after a
//!   resume, lies later by exactly the time paused;
//! - the stall watchdog and the heartbeat are off while paused, and the watchdog's "last sign
//!   of life" moves by the time paused (see `exec/attempt/`);
//! - a pause has a limit of its own, `max_pause_secs`: a task paused longer is cancelled, with
//!   the reason in its warnings — a paused task holds its slot in the queue, so a forgotten
//!   pause must not hold the line for ever.
//!
//! **Who signals.** [`PauseControl::request`] only records the decision; the attempt that owns
//! the process tree follows it (SIGSTOP to the group and to every member that left it, the same
//! reach as a cancel) and reports back, so there is one owner of the tree and no race between
//! a pause and a kill. When no process runs (queued, between attempts), the request takes
//! effect at once: the execution does not start its next `claude` until resumed.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Executor;
use super::progress::{ProgressEvent, ProgressSink};
use super::registry::{Entry, ExecutionStatus, Phase};

/// Why an execution could not be paused or resumed.
#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    #[error("unknown execution id {0}: it never ran on this server, or it finished long ago")]
    Unknown(Uuid),
    #[error("execution {id} already finished ({status}); there is nothing to pause or resume")]
    Finished { id: Uuid, status: String },
    /// Only the process that runs it can stop its processes.
    #[error("execution {id} is not run by this server: {detail}")]
    Elsewhere { id: Uuid, detail: String },
    #[error("execution {id}: {source}")]
    Closed {
        id: Uuid,
        #[source]
        source: Closed,
    },
}

/// What [`Executor::pause`] and [`Executor::resume`] did.
#[derive(Debug, Clone)]
pub struct PauseReport {
    pub change: PauseChange,
    /// Whether the process tree followed (stopped or continued) within [`SETTLE_BOUND`];
    /// `false` would mean the attempt that owns it is stuck (it still follows when it can).
    pub settled: bool,
    /// Its status right after (phase `paused` while paused).
    pub status: ExecutionStatus,
}

impl Executor {
    /// Pauses an execution: a running one has its whole process tree stopped (SIGSTOP to its
    /// process group and to every member that left it) and its deadline and stall watchdog
    /// stand still until [`Executor::resume`]; a queued one keeps its place in line and, when
    /// its turn comes, keeps the slot without starting until resumed (strict FIFO: nothing
    /// overtakes it). A pause longer than `max_pause_secs` cancels it. A `pre_execute` hook
    /// already running finishes first (hooks have their own limit); the task then waits.
    /// Pausing a paused execution changes nothing ([`PauseChange::AlreadyPaused`]).
    pub async fn pause(&self, id: Uuid) -> Result<PauseReport, PauseError> {
        self.set_paused(id, true).await
    }

    /// Resumes a paused execution (SIGCONT to its tree); its deadline lies later by the time it
    /// was paused. Resuming one that is not paused changes nothing
    /// ([`PauseChange::NotPaused`]).
    pub async fn resume(&self, id: Uuid) -> Result<PauseReport, PauseError> {
        self.set_paused(id, false).await
    }

    async fn set_paused(&self, id: Uuid, pause: bool) -> Result<PauseReport, PauseError> {
        let Some(entry) = self.inner.registry.get(id) else {
            return Err(match self.lookup(id).await {
                Some(s) if s.phase == Phase::Finished => finished(id, &s),
                Some(s) => PauseError::Elsewhere {
                    id,
                    detail: s.last_event.unwrap_or_default(),
                },
                None => PauseError::Unknown(id),
            });
        };
        let queue_position = || self.inner.queue.position(id);
        if entry.is_finished() {
            return Err(finished(id, &entry.snapshot(queue_position())));
        }
        let change = entry
            .request_pause(pause, self.inner.config.max_pause)
            .map_err(|source| PauseError::Closed { id, source })?;
        let settled = entry.pause.settled(SETTLE_BOUND).await;
        Ok(PauseReport {
            change,
            settled,
            status: entry.snapshot(queue_position()),
        })
    }
}

fn finished(id: Uuid, s: &ExecutionStatus) -> PauseError {
    PauseError::Finished {
        id,
        status: s.status.map_or("unknown", |s| s.as_str()).to_string(),
    }
}

/// Emits [`ProgressEvent::Paused`] and [`ProgressEvent::Resumed`] as the execution's pause
/// state changes; never returns (it ends with the execution's life, which it runs beside).
pub(super) async fn announce(
    entry: Arc<Entry>,
    sink: Arc<dyn ProgressSink>,
    max_pause: Duration,
) -> std::convert::Infallible {
    let mut rx = entry.pause.subscribe();
    let mut paused = rx.borrow_and_update().is_paused();
    while rx.changed().await.is_ok() {
        let state = *rx.borrow_and_update();
        if state.is_closed() {
            break; // a pause cut short by the end is no resume
        }
        if state.is_paused() != paused {
            paused = state.is_paused();
            sink.emit(if paused {
                ProgressEvent::Paused { max_pause }
            } else {
                ProgressEvent::Resumed {
                    paused_total: state.total,
                }
            });
        }
    }
    std::future::pending().await
}

/// How long [`PauseControl::settled`] waits for the attempt to stop or continue its tree.
pub const SETTLE_BOUND: Duration = Duration::from_secs(5);

/// What a pause or resume request changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseChange {
    /// It was running (or queued) and is paused now.
    Paused,
    /// It was paused already; nothing changed.
    AlreadyPaused,
    /// It was paused and runs again.
    Resumed,
    /// It was not paused; nothing changed.
    NotPaused,
}

impl PauseChange {
    /// The wire name (`paused`, `already_paused`, `resumed`, `not_paused`).
    pub fn as_str(self) -> &'static str {
        match self {
            PauseChange::Paused => "paused",
            PauseChange::AlreadyPaused => "already_paused",
            PauseChange::Resumed => "resumed",
            PauseChange::NotPaused => "not_paused",
        }
    }

    /// The change a wire name stands for.
    pub fn parse(s: &str) -> Option<PauseChange> {
        [
            PauseChange::Paused,
            PauseChange::AlreadyPaused,
            PauseChange::Resumed,
            PauseChange::NotPaused,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// Why nothing can be paused any more: the execution's attempts are over and it is being
/// recorded (a moment later it is finished).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("its run is over and it is being recorded; there is nothing left to pause")]
pub struct Closed;

/// One execution's pause state.
#[derive(Debug, Clone, Copy, Default)]
pub struct PauseState {
    /// When the current pause began; `None` while not paused.
    pub since: Option<Instant>,
    /// The same moment as a date, for the people reading `monitor_execution`.
    pub since_utc: Option<DateTime<Utc>>,
    /// Time paused in pauses that have ended.
    pub total: Duration,
    /// Pauses so far (the current one included).
    pub pauses: u32,
    /// An attempt's process tree runs and follows this state.
    live: bool,
    /// That tree is stopped (SIGSTOP sent, no SIGCONT since).
    stopped: bool,
    /// The attempts are over: nothing more to pause.
    closed: bool,
}

impl PauseState {
    pub fn is_paused(&self) -> bool {
        self.since.is_some()
    }

    /// The attempts are over: nothing can be paused or resumed any more.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Time paused so far, the current pause included.
    pub fn paused_total(&self, now: Instant) -> Duration {
        self.total
            + self
                .since
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
    }

    /// When the current pause has lasted `max`; `None` while not paused.
    pub fn overdue_at(&self, max: Duration) -> Option<Instant> {
        self.since.map(|s| s + max)
    }

    /// Whether the request has taken effect: no tree runs, or it is stopped exactly when
    /// paused.
    fn settled(&self) -> bool {
        !self.live || self.stopped == self.is_paused()
    }
}

/// The pause switch of one execution: written by whoever pauses or resumes it, followed by
/// the attempt that runs its process tree.
#[derive(Debug)]
pub struct PauseControl {
    state: watch::Sender<PauseState>,
}

impl Default for PauseControl {
    fn default() -> Self {
        PauseControl {
            state: watch::Sender::new(PauseState::default()),
        }
    }
}

/// How a wait while paused ended without a resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEnd {
    /// The execution was cancelled (or the executor shuts down).
    Cancelled,
    /// The pause lasted longer than `max_pause_secs`.
    Overdue,
}

impl PauseControl {
    pub fn state(&self) -> PauseState {
        *self.state.borrow()
    }

    /// Follows every change (the attempt's loop selects on it).
    pub fn subscribe(&self) -> watch::Receiver<PauseState> {
        self.state.subscribe()
    }

    /// Pauses (`pause`) or resumes the execution. Idempotent: pausing a paused execution and
    /// resuming a running one change nothing and say so.
    pub fn request(&self, pause: bool) -> Result<PauseChange, Closed> {
        let mut outcome = Err(Closed);
        self.state.send_if_modified(|s| {
            if s.closed {
                return false;
            }
            let now = Instant::now();
            let change = match (pause, s.since) {
                (true, Some(_)) => PauseChange::AlreadyPaused,
                (false, None) => PauseChange::NotPaused,
                (true, None) => {
                    s.since = Some(now);
                    s.since_utc = Some(Utc::now());
                    s.pauses += 1;
                    PauseChange::Paused
                }
                (false, Some(since)) => {
                    s.total += now.saturating_duration_since(since);
                    s.since = None;
                    s.since_utc = None;
                    PauseChange::Resumed
                }
            };
            outcome = Ok(change);
            matches!(change, PauseChange::Paused | PauseChange::Resumed)
        });
        outcome
    }

    /// Waits (at most `max`) until the attempt has stopped or continued its tree as asked.
    /// Returns whether it has.
    pub async fn settled(&self, max: Duration) -> bool {
        let mut rx = self.state.subscribe();
        tokio::time::timeout(max, rx.wait_for(PauseState::settled))
            .await
            .is_ok()
    }

    /// An attempt's tree is running (`true`) or gone (`false`); it follows the state meanwhile.
    pub(crate) fn set_live(&self, live: bool) {
        self.state.send_modify(|s| {
            s.live = live;
            s.stopped = false;
        });
    }

    /// The attempt stopped (`true`) or continued (`false`) its tree.
    pub(crate) fn set_stopped(&self, stopped: bool) {
        self.state.send_modify(|s| s.stopped = stopped);
    }

    /// The attempts are over. A pause still in effect ends here (its time is counted), so a
    /// finished execution is never shown paused.
    pub(crate) fn close(&self) {
        self.state.send_modify(|s| {
            if let Some(since) = s.since.take() {
                s.total += Instant::now().saturating_duration_since(since);
                s.since_utc = None;
            }
            s.closed = true;
            s.live = false;
        });
    }

    /// Waits while paused, up to the moment the pause has lasted `max`: `Ok` when it is not
    /// (or no longer) paused, `Err` when cancelled or overdue. Used where no process runs —
    /// in the queue and before an attempt starts.
    pub async fn hold(&self, max: Duration, cancel: &CancellationToken) -> Result<(), HoldEnd> {
        let mut rx = self.state.subscribe();
        loop {
            let state = *rx.borrow_and_update();
            let Some(overdue) = state.overdue_at(max) else {
                return Ok(());
            };
            tokio::select! {
                _ = cancel.cancelled() => return Err(HoldEnd::Cancelled),
                _ = tokio::time::sleep_until(overdue) => return Err(HoldEnd::Overdue),
                changed = rx.changed() => if changed.is_err() { return Ok(()) },
            }
        }
    }

    /// Resolves when the current pause has lasted `max` (never while not paused). For waits
    /// that have a `select!` of their own (the queue, a retry's backoff).
    pub async fn overdue(&self, max: Duration) {
        let mut rx = self.state.subscribe();
        loop {
            let at = rx.borrow_and_update().overdue_at(max);
            match at {
                Some(at) => tokio::select! {
                    _ = tokio::time::sleep_until(at) => return,
                    changed = rx.changed() => if changed.is_err() { return std::future::pending().await },
                },
                None => {
                    if rx.changed().await.is_err() {
                        return std::future::pending().await;
                    }
                }
            }
        }
    }
}

/// The warning of an execution cancelled because its pause lasted too long.
pub fn overdue_reason(max: Duration) -> String {
    format!(
        "paused for longer than max_pause_secs ({} s) without a resume: cancelled",
        max.as_secs()
    )
}

/// One attempt's wall-clock limit, not counting the time the execution was paused: it is
/// `start + limit + (time paused since the start)`, and there is none while paused.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    start: Instant,
    limit: Duration,
    /// Time paused before the start (the current pause's part included), not counted.
    paused_before: Duration,
}

impl Deadline {
    /// A limit of `limit` from now.
    pub fn new(limit: Duration, pause: &PauseState) -> Self {
        let start = Instant::now();
        Deadline {
            start,
            limit,
            paused_before: pause.paused_total(start),
        }
    }

    /// When the attempt times out; `None` while paused (the clock stands still).
    pub fn at(&self, pause: &PauseState) -> Option<Instant> {
        if pause.is_paused() {
            return None;
        }
        Some(self.start + self.limit + pause.total.saturating_sub(self.paused_before))
    }

    /// Time left at `now` (frozen while paused).
    pub fn left(&self, pause: &PauseState, now: Instant) -> Duration {
        let paused = pause.paused_total(now).saturating_sub(self.paused_before);
        let ran = now
            .saturating_duration_since(self.start)
            .saturating_sub(paused);
        self.limit.saturating_sub(ran)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    async fn advance(d: Duration) {
        tokio::time::advance(d).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_moves_by_the_time_paused_and_stands_still_meanwhile() {
        let control = PauseControl::default();
        let deadline = Deadline::new(S(10), &control.state());
        let start = Instant::now();
        assert_eq!(deadline.at(&control.state()), Some(start + S(10)));
        advance(S(4)).await;
        assert_eq!(control.request(true), Ok(PauseChange::Paused));
        assert_eq!(
            deadline.at(&control.state()),
            None,
            "no deadline while paused"
        );
        advance(S(25)).await; // longer than the whole limit
        assert_eq!(deadline.left(&control.state(), Instant::now()), S(6));
        assert_eq!(control.request(false), Ok(PauseChange::Resumed));
        assert_eq!(deadline.at(&control.state()), Some(start + S(35)));
        advance(S(2)).await;
        assert_eq!(deadline.left(&control.state(), Instant::now()), S(4));
        // A second pause adds up.
        control.request(true).unwrap();
        advance(S(5)).await;
        control.request(false).unwrap();
        assert_eq!(deadline.at(&control.state()), Some(start + S(40)));
        assert_eq!(control.state().total, S(30));
        assert_eq!(control.state().pauses, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_before_the_attempt_is_not_counted_against_it() {
        let control = PauseControl::default();
        control.request(true).unwrap();
        advance(S(3)).await;
        // The attempt starts in the middle of a pause (it is stopped at once).
        let deadline = Deadline::new(S(10), &control.state());
        let start = Instant::now();
        advance(S(7)).await;
        control.request(false).unwrap();
        assert_eq!(deadline.at(&control.state()), Some(start + S(17)));
        assert_eq!(deadline.left(&control.state(), Instant::now()), S(10));
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_idempotent_and_say_what_changed() {
        let control = PauseControl::default();
        assert_eq!(control.request(false), Ok(PauseChange::NotPaused));
        assert_eq!(control.request(true), Ok(PauseChange::Paused));
        assert_eq!(control.request(true), Ok(PauseChange::AlreadyPaused));
        advance(S(2)).await;
        control.close();
        let s = control.state();
        assert!(!s.is_paused(), "a closed execution is not shown paused");
        assert_eq!(s.total, S(2), "the pause cut short by the end still counts");
        assert_eq!(control.request(true), Err(Closed));
        assert_eq!(control.request(false), Err(Closed));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_ends_on_resume_on_cancel_or_when_the_pause_is_overdue() {
        let control = std::sync::Arc::new(PauseControl::default());
        let cancel = CancellationToken::new();
        assert_eq!(control.hold(S(60), &cancel).await, Ok(()), "not paused");

        control.request(true).unwrap();
        let c = control.clone();
        tokio::spawn(async move {
            tokio::time::sleep(S(30)).await;
            c.request(false).unwrap();
        });
        assert_eq!(control.hold(S(60), &cancel).await, Ok(()), "resumed");

        control.request(true).unwrap();
        let paused_at = Instant::now();
        assert_eq!(control.hold(S(60), &cancel).await, Err(HoldEnd::Overdue));
        assert_eq!(Instant::now(), paused_at + S(60));

        control.request(false).unwrap();
        control.request(true).unwrap();
        let (o, c) = (control.clone(), cancel.clone());
        tokio::spawn(async move {
            tokio::time::sleep(S(1)).await;
            c.cancel();
        });
        assert_eq!(o.hold(S(60), &cancel).await, Err(HoldEnd::Cancelled));
    }

    #[tokio::test(start_paused = true)]
    async fn overdue_waits_for_a_pause_and_follows_resumes() {
        let control = std::sync::Arc::new(PauseControl::default());
        let c = control.clone();
        tokio::spawn(async move {
            tokio::time::sleep(S(5)).await;
            c.request(true).unwrap(); // paused at 5 s
            tokio::time::sleep(S(8)).await;
            c.request(false).unwrap(); // resumed at 13 s: not overdue
            tokio::time::sleep(S(2)).await;
            c.request(true).unwrap(); // paused again at 15 s
        });
        let start = Instant::now();
        control.overdue(S(10)).await;
        assert_eq!(Instant::now(), start + S(25));
    }

    #[tokio::test(start_paused = true)]
    async fn settled_waits_for_the_tree_to_follow() {
        let control = std::sync::Arc::new(PauseControl::default());
        control.request(true).unwrap();
        assert!(
            control.settled(S(1)).await,
            "no tree runs: in effect at once"
        );
        control.set_live(true);
        assert!(!control.settled(S(1)).await, "the tree still runs");
        let c = control.clone();
        tokio::spawn(async move { c.set_stopped(true) });
        assert!(control.settled(S(1)).await);
    }
}
