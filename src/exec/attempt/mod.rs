//! One attempt: spawn `claude`, feed the prompt, drain stdout and stderr concurrently, enforce
//! the deadline, stop the process tree, and hand back everything seen.
//!
//! Invariants:
//! - No shell: the binary is spawned directly with an argv vector; the prompt goes on stdin,
//!   written concurrently with draining (a 300 KiB prompt exceeds the pipe buffer).
//! - stdout and stderr are drained while waiting (a full pipe would deadlock the child).
//! - Memory is bounded: stdout is framed record by record (capped), spilled whole to the raw
//!   file, and only a capped tail of stderr is kept.
//! - When the main process exits, the pipes are drained for at most [`DRAIN_BOUND`] (a
//!   grandchild may hold them open forever), then whatever is left of the tree is stopped and
//!   reaped.
//! - Every path out of here leaves the whole process tree gone — the group and everything that
//!   left it (see [`TreeGuard`]).
//! - Two clocks: the deadline (wall time) and the stall watchdog. A task is *stalled* when it
//!   printed nothing and its whole process tree used no CPU for `stall_timeout`: a tool that
//!   builds silently for minutes is busy, not stalled, so silence alone never stops it.
//! - A pause ([`crate::exec::pause`]) stops the whole tree (SIGSTOP) and both clocks; a resume
//!   continues it (SIGCONT) with the deadline and the watchdog's last sign of life moved by the
//!   time paused. A pause longer than `max_pause_secs` ends the attempt as cancelled.

use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStderr, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::claude::argv::{ENV_REMOVE, build_args};
use crate::claude::collect::Collector;
use crate::claude::events::{Line, parse_line};
use crate::claude::framing::{Frame, LineFramer};
use crate::claude::outcome::Termination;
use crate::config::Config;
use crate::exec::pause::{Deadline, PauseControl, overdue_reason};
use crate::exec::progress::{ProgressEvent, ProgressSink};
use crate::exec::spec::TaskSpec;
use crate::process::{TreeGuard, procfs};
use nix::sys::signal::Signal;
use stall::{LastSeen, describe, every, watch_interval};

mod stall;

/// How long to keep reading after the main process exited.
pub const DRAIN_BOUND: Duration = Duration::from_millis(1500);
/// Share of one core the tree must use over a watchdog interval to count as working while
/// silent. An idle runtime (Node.js waiting on a socket) wakes for timers now and then and
/// uses far less; a build, a test run or a download uses far more.
pub const MIN_CPU_SHARE: f64 = 0.01;
const READ_CHUNK: usize = 64 * 1024;

/// Why no process could be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("`{}` was not found", .0.display())]
    NotFound(PathBuf),
    #[error("cannot start `{}`: {source}", .path.display())]
    Spawn {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Everything one attempt produced.
#[derive(Debug)]
pub struct AttemptOutput {
    pub collector: Collector,
    pub termination: Termination,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub stderr_tail: String,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub raw_output_path: Option<PathBuf>,
    pub warnings: Vec<String>,
}

/// Records read in one chunk, in order. `_handled` is dropped with the batch once the
/// receiver is done with it, which is what the reader waits for after a big batch.
struct Batch {
    items: Vec<Item>,
    _handled: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A batch this big (bytes of stream) is handled before more of the stream is read.
const BIG_BATCH_BYTES: u64 = 4 * 1024 * 1024;

enum Item {
    /// A record and the byte offset where its line starts in the stream (and raw file).
    Line(Line, u64),
    Oversize(usize),
}

/// The execution an attempt belongs to: its id, and the switches that stop it (`cancel`:
/// cancellation or shutdown) or pause it.
pub struct Controls<'a> {
    pub execution_id: uuid::Uuid,
    pub cancel: &'a CancellationToken,
    pub pause: &'a PauseControl,
}

/// Runs `spec` once.
pub async fn run(
    config: &Config,
    controls: Controls<'_>,
    spec: &TaskSpec,
    raw_path: PathBuf,
    attempt: u32,
    sink: &Arc<dyn ProgressSink>,
) -> Result<AttemptOutput, LaunchError> {
    let Controls {
        execution_id,
        cancel,
        pause,
    } = controls;
    let started_at = Utc::now();
    let t0 = Instant::now();
    let mut warnings = Vec::new();

    let mut cmd = Command::new(&config.claude_bin);
    cmd.args(build_args(spec))
        .current_dir(&spec.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for var in ENV_REMOVE {
        cmd.env_remove(var);
    }
    if super::probe::removes_api_key(config).await {
        cmd.env_remove(super::probe::API_KEY_VAR);
    }
    cmd.envs(&config.child_env);
    cmd.env(crate::process::EXECUTION_ENV, execution_id.to_string());
    // Registered with the reaper until its exit status is ours (kept to the end of this fn).
    let (mut child, _registration) = crate::process::spawn(&mut cmd).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            LaunchError::NotFound(config.claude_bin.clone())
        } else {
            LaunchError::Spawn {
                path: config.claude_bin.clone(),
                source,
            }
        }
    })?;
    let Some(pid) = child.id() else {
        return Err(LaunchError::Spawn {
            path: config.claude_bin.clone(),
            source: io::Error::other("the process exited before it could be tracked"),
        });
    };
    let tree = TreeGuard::new(pid, Some(&execution_id));
    tracing::debug!(pid, cwd = %spec.cwd.display(), "claude started");

    // Feed the prompt, then close stdin (an open, silent stdin hangs some CLI versions).
    let stdin_task = child.stdin.take().map(|mut stdin| {
        let prompt = spec.prompt.clone().into_bytes();
        tokio::spawn(async move {
            let r = stdin.write_all(&prompt).await;
            drop(stdin);
            r
        })
    });

    let raw_file = match open_raw(&raw_path) {
        Ok(f) => Some(f),
        Err(e) => {
            warnings.push(format!(
                "raw output not saved: cannot write {}: {e}",
                raw_path.display()
            ));
            None
        }
    };
    let saved_raw = raw_file.as_ref().map(|_| raw_path.clone());
    // Records travel in batches (one per read chunk): per-record channel hops would cost
    // more than the parsing on a fast stream.
    let (tx, mut rx) = mpsc::channel::<Batch>(64);
    let stdout_task = child
        .stdout
        .take()
        .map(|out| tokio::spawn(read_stdout(out, raw_file, config.max_record_bytes, tx)));
    let stderr_task = child
        .stderr
        .take()
        .map(|err| tokio::spawn(read_stderr(err, config.tail_bytes)));

    let mut collector = Collector::default();
    let mut last_seen = LastSeen::default();
    let handle = |item: Item, collector: &mut Collector, last: &mut LastSeen| match item {
        Item::Line(line, offset) => {
            last.line = Some((describe(&line), Instant::now()));
            for n in collector.observe_at(line, offset) {
                let event = ProgressEvent::from_notice(attempt, n);
                last.progress = Some(event.message());
                sink.emit(event);
            }
        }
        Item::Oversize(len) => {
            last.line = Some(("an oversize record".into(), Instant::now()));
            collector.oversize(len)
        }
    };

    let deadline = Deadline::new(spec.timeout, &pause.state());
    // Both clocks start one period from now. (Awaiting an interval's immediate first tick
    // costs up to a millisecond each: tokio's timer rounds even "now" up to its next tick,
    // and that wait would sit between the spawn and the first read of claude's output.)
    let mut heartbeat = every(config.heartbeat_interval);
    let mut last_event = Instant::now();
    // The stall watchdog: a walk of the tree each `watch` tick, CPU use as evidence of work.
    let stall_limit = (!config.stall_timeout.is_zero()).then_some(config.stall_timeout);
    let mut watch = every(watch_interval(config));
    watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ticks_per_second = procfs::ticks_per_second();
    let mut last_busy = Instant::now();
    let mut stdout_open = true;
    let mut termination = None;
    let mut exit_status = None;
    // Pausing: the tree is stopped while `stopped`; a pause asked for before the spawn takes
    // effect at once (the first turn of the loop sees it as a change).
    let mut pause_rx = pause.subscribe();
    pause_rx.mark_changed();
    pause.set_live(true);
    let mut stopped = false;
    let mut stopped_at = Instant::now();
    let never = tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 86_400);

    while exit_status.is_none() {
        let paused = *pause_rx.borrow();
        let timeout_at = deadline.at(&paused);
        let overdue_at = paused.overdue_at(config.max_pause).filter(|_| stopped);
        tokio::select! {
            batch = rx.recv(), if stdout_open => match batch {
                Some(Batch { items: batch, .. }) => {
                    last_event = Instant::now();
                    for item in batch {
                        handle(item, &mut collector, &mut last_seen);
                    }
                }
                None => stdout_open = false,
            },
            status = child.wait() => exit_status = Some(status),
            _ = tokio::time::sleep_until(timeout_at.unwrap_or(never)), if timeout_at.is_some() => {
                termination = Some(Termination::TimedOut);
                break;
            }
            _ = tokio::time::sleep_until(overdue_at.unwrap_or(never)), if overdue_at.is_some() => {
                termination = Some(Termination::Cancelled);
                warnings.push(overdue_reason(config.max_pause));
                break;
            }
            changed = pause_rx.changed() => {
                let want = changed.is_ok() && pause_rx.borrow_and_update().is_paused();
                if want != stopped {
                    tree.signal(if want { Signal::SIGSTOP } else { Signal::SIGCONT });
                    stopped = want;
                    if stopped {
                        stopped_at = Instant::now();
                    } else {
                        // The watchdog's clock stood still too.
                        let paused_for = stopped_at.elapsed();
                        last_event += paused_for;
                        last_busy += paused_for;
                    }
                    pause.set_stopped(stopped);
                }
            }
            _ = cancel.cancelled() => {
                termination = Some(Termination::Cancelled);
                break;
            }
            _ = watch.tick() => {
                if tree.observe().is_busy(ticks_per_second, MIN_CPU_SHARE) {
                    last_busy = Instant::now();
                }
                if let Some(limit) = stall_limit.filter(|_| !stopped)
                    && last_event.max(last_busy).elapsed() >= limit
                {
                    termination = Some(Termination::Stalled { quiet_secs: limit.as_secs() });
                    warnings.push(last_seen.describe(t0));
                    break;
                }
            }
            _ = heartbeat.tick() => {
                let silent_for = last_event.elapsed();
                if !stopped && silent_for >= config.heartbeat_interval {
                    sink.emit(ProgressEvent::Heartbeat { elapsed: t0.elapsed(), silent_for });
                }
            }
        }
    }

    pause.set_live(false);
    if termination.is_some() {
        let killed = tree.terminate(config.kill_grace).await;
        if killed {
            warnings.push(format!(
                "the process did not stop within {} ms of SIGTERM and was killed with SIGKILL",
                config.kill_grace.as_millis()
            ));
        }
        // SIGKILL was sent to the whole group; the leader is gone or about to be.
        exit_status = Some(
            match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
                Ok(status) => status,
                Err(_) => Err(io::Error::other("the process did not exit after SIGKILL")),
            },
        );
    }

    // Drain what is left, but never wait on a grandchild that holds the pipe open.
    let drain_until = tokio::time::Instant::now() + DRAIN_BOUND;
    while stdout_open {
        match tokio::time::timeout_at(drain_until, rx.recv()).await {
            Ok(Some(batch)) => batch
                .items
                .into_iter()
                .for_each(|i| handle(i, &mut collector, &mut last_seen)),
            Ok(None) => stdout_open = false,
            Err(_) => break,
        }
    }
    // Everything the task started goes with it: the group, and what left it (setsid,
    // double forks), found by parentage and by the execution's environment tag.
    let leftovers = tree.live();
    if !leftovers.is_empty() {
        tracing::debug!(
            pgid = tree.pgid(),
            ?leftovers,
            "stopping leftover processes of the task"
        );
        tree.terminate(config.kill_grace).await;
        if stdout_open {
            warnings.push(
                "a child process of claude kept its output open after claude exited; it was stopped"
                    .into(),
            );
        }
    }
    // With the group gone the pipes close; collect the rest (bounded, to be safe).
    let drain_until = tokio::time::Instant::now() + DRAIN_BOUND;
    while stdout_open {
        match tokio::time::timeout_at(drain_until, rx.recv()).await {
            Ok(Some(batch)) => batch
                .items
                .into_iter()
                .for_each(|i| handle(i, &mut collector, &mut last_seen)),
            _ => stdout_open = false,
        }
    }
    if let Some(t) = stdout_task {
        finish_task(t, &mut warnings, "stdout").await;
    }
    let stderr_tail = match stderr_task {
        Some(t) => match tokio::time::timeout(DRAIN_BOUND, t).await {
            Ok(Ok(tail)) => tail,
            _ => String::new(),
        },
        None => String::new(),
    };
    if let Some(t) = stdin_task
        && let Ok(Ok(Err(e))) = tokio::time::timeout(DRAIN_BOUND, t).await
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        warnings.push(format!("writing the prompt to claude failed: {e}"));
    }
    tree.reap_orphans();
    tree.disarm();

    let (exit_code, signal) = match &exit_status {
        Some(Ok(status)) => {
            use std::os::unix::process::ExitStatusExt;
            (status.code(), status.signal())
        }
        _ => (None, None),
    };
    Ok(AttemptOutput {
        termination: termination.unwrap_or(Termination::Exited {
            code: exit_code,
            signal,
        }),
        collector,
        exit_code,
        signal,
        stderr_tail,
        started_at,
        duration: t0.elapsed(),
        raw_output_path: saved_raw,
        warnings,
    })
}

async fn finish_task(
    t: tokio::task::JoinHandle<io::Result<()>>,
    warnings: &mut Vec<String>,
    what: &str,
) {
    let abort = t.abort_handle();
    match tokio::time::timeout(DRAIN_BOUND, t).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => warnings.push(format!("reading {what} failed: {e}")),
        Ok(Err(_)) => {}
        Err(_) => {
            abort.abort();
            warnings.push(format!(
                "{what} was still open after the process group was stopped"
            ));
        }
    }
}

/// The raw output file, written with plain (blocking) writes from the reader task: a write of
/// a chunk into the page cache takes microseconds, while tokio's file type sends every write
/// and flush through the blocking pool — a thread hand-over per chunk on the task's path.
fn open_raw(path: &PathBuf) -> io::Result<std::io::BufWriter<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    Ok(std::io::BufWriter::with_capacity(256 * 1024, file))
}

/// Reads stdout to the end: spills raw bytes to the file, frames and parses records.
async fn read_stdout(
    mut out: ChildStdout,
    mut raw: Option<std::io::BufWriter<std::fs::File>>,
    cap: usize,
    tx: mpsc::Sender<Batch>,
) -> io::Result<()> {
    let mut framer = LineFramer::new(cap);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut items = Vec::new();
    // Where the next line starts in the stream (every frame is its bytes plus a newline).
    let mut next_line = 0u64;
    let mut raw_error = None;
    loop {
        let n = out.read(&mut buf).await?;
        let chunk = &buf[..n];
        if let Some(w) = raw.as_mut()
            && let Err(e) = std::io::Write::write_all(w, chunk)
        {
            raw_error = Some(e);
            raw = None;
        }
        // A short read means the stream is idle for now: flush what the file has buffered, so
        // after a crash of ours the raw file holds everything claude printed (the next server
        // reads it to record the interrupted execution). A flood reads whole chunks and stays
        // buffered.
        if n < buf.len()
            && let Some(w) = raw.as_mut()
            && let Err(e) = std::io::Write::flush(w)
        {
            raw_error = Some(e);
            raw = None;
        }
        let start = next_line;
        let mut emit = |f: Frame<'_>| items.push(item(f, &mut next_line));
        if n == 0 {
            framer.finish(&mut emit);
        } else {
            framer.push(chunk, &mut emit);
        }
        if !items.is_empty() {
            // A big batch is not read past until it has been handled: two records of a huge
            // answer (the assistant line, the result line) are never in memory at once.
            let big = next_line - start >= BIG_BATCH_BYTES;
            let (handled, wait) = if big {
                let (tx, rx) = tokio::sync::oneshot::channel();
                (Some(tx), Some(rx))
            } else {
                (None, None)
            };
            let batch = Batch {
                items: std::mem::take(&mut items),
                _handled: handled,
            };
            if tx.send(batch).await.is_err() {
                return Ok(()); // the attempt is over; nobody listens
            }
            if let Some(rx) = wait {
                let _ = rx.await; // resolves when the batch is dropped
            }
        }
        if n == 0 {
            break;
        }
    }
    if let Some(mut w) = raw {
        std::io::Write::flush(&mut w)?;
    }
    match raw_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn item(frame: Frame<'_>, next_line: &mut u64) -> Item {
    let offset = *next_line;
    match frame {
        Frame::Line(l) => {
            *next_line += l.len() as u64 + 1;
            Item::Line(parse_line(l), offset)
        }
        Frame::Oversize { len } => {
            *next_line += len as u64 + 1;
            Item::Oversize(len)
        }
    }
}

/// The model's last text on the assistant line at `offset` of a raw output file: the answer,
/// read back when it was too big to keep and the result line came without it.
pub(crate) fn read_assistant_text(
    path: &std::path::Path,
    offset: u64,
    cap: usize,
) -> io::Result<Option<String>> {
    use std::io::{BufRead, Seek};
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    file.seek(std::io::SeekFrom::Start(offset))?;
    let mut line = Vec::new();
    std::io::Read::take(file, cap as u64 + 1).read_until(b'\n', &mut line)?;
    let mut c = Collector::default();
    c.observe(parse_line(line.strip_suffix(b"\n").unwrap_or(&line)));
    Ok(c.last_assistant_text)
}

/// Reads stderr to the end, keeping the last `cap` bytes.
async fn read_stderr(mut err: ChildStderr, cap: usize) -> String {
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = err.read(&mut buf).await {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 2 * cap {
            tail.drain(..tail.len() - cap);
        }
    }
    if tail.len() > cap {
        tail.drain(..tail.len() - cap);
    }
    String::from_utf8_lossy(&tail).into_owned()
}
