//! A short command run beside a task — a hook, an acceptance check — supervised the way
//! `claude` is: no shell, its own process group (a timeout or a cancel stops everything it
//! started), dies with the server, every child reaped, and its pipes read without waiting long
//! on a grandchild that left the group and still holds them. Hooks and checks differ only in
//! what they feed it, what they keep of its output and how long its group gets to stop.

use std::future::Future;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::process::TreeGuard;

/// How the command ended.
pub(crate) enum End {
    /// It exited (its status, when it could be read).
    Exited(Option<ExitStatus>),
    /// It outran its time and was stopped.
    TimedOut,
    /// The task was cancelled; the command was stopped.
    Cancelled,
}

/// Which of its output pipes a reader gets.
#[derive(Clone, Copy)]
pub(crate) enum Pipe {
    Stdout,
    Stderr,
}

/// How it ended and what the readers kept of its stdout and stderr.
pub(crate) struct Ran {
    pub(crate) end: End,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

/// Runs `cmd` (program, arguments, cwd and environment set by the caller) in a process group
/// of its own tied to `execution_id`, writes `stdin` to it (or gives it none), and waits at most
/// `timeout` or until `cancel`. Then its whole group is stopped (`grace` before SIGKILL), the
/// leader and any orphans reaped, and each pipe's `read` result collected. `Err`: it could not
/// be started.
pub(crate) async fn run<F>(
    cmd: &mut tokio::process::Command,
    execution_id: Uuid,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    cancel: &CancellationToken,
    grace: Duration,
    read: impl Fn(Box<dyn AsyncRead + Unpin + Send>, Pipe) -> F,
) -> std::io::Result<Ran>
where
    F: Future<Output = Vec<u8>> + Send + 'static,
{
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0)
    .kill_on_drop(true);
    // Supervised like `claude`: dies with the server; its exit status stays tokio's.
    let (mut child, _registration) = crate::process::spawn(cmd)?;
    let group = child
        .id()
        .map(|pid| TreeGuard::new(pid, Some(&execution_id)));
    if let (Some(mut pipe), Some(input)) = (child.stdin.take(), stdin) {
        // A command that does not read its stdin is fine: a broken pipe is not a failure.
        tokio::spawn(async move {
            let _ = pipe.write_all(&input).await;
        });
    }
    let stdout = child
        .stdout
        .take()
        .map(|s| tokio::spawn(read(Box::new(s), Pipe::Stdout)));
    let stderr = child
        .stderr
        .take()
        .map(|s| tokio::spawn(read(Box::new(s), Pipe::Stderr)));
    let end = tokio::select! {
        s = tokio::time::timeout(timeout, child.wait()) => match s {
            Ok(s) => End::Exited(s.ok()),
            Err(_) => End::TimedOut,
        },
        _ = cancel.cancelled() => End::Cancelled,
    };
    // Whatever it started goes with it, whether it exited or was stopped.
    if let Some(g) = &group {
        g.terminate(grace).await;
    }
    if !matches!(end, End::Exited(_)) {
        // Reap the leader (stopped above).
        let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    }
    if let Some(g) = &group {
        g.reap_orphans();
    }
    if let Some(g) = group {
        g.disarm();
    }
    // A grandchild outside the group may hold a pipe: do not wait for it for long.
    let collect = |h: Option<tokio::task::JoinHandle<Vec<u8>>>| async move {
        match h {
            Some(h) => tokio::time::timeout(Duration::from_secs(1), h)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default(),
            None => Vec::new(),
        }
    };
    Ok(Ran {
        end,
        stdout: collect(stdout).await,
        stderr: collect(stderr).await,
    })
}
