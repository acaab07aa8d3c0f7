//! One acceptance command: an argv vector run in the task's working directory after the task —
//! no shell, its own process group, the execution's id in its environment (so a process that
//! leaves the group is still found), killed as a whole at its timeout or on a cancel, every
//! child reaped. Passing means exit code 0; the tail of its output is what a caller (and a
//! repair prompt) needs to see why not.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::exec::side_command::{self, End};
use crate::types::accept::{CheckKind, CheckResult};

/// Bytes of each of stdout and stderr kept (their ends: that is where failures are told).
const TAIL: usize = 2000;

/// Runs `argv` in `cwd`, at most `timeout`.
pub(crate) async fn run(
    argv: &[String],
    cwd: &Path,
    timeout: Duration,
    execution_id: Uuid,
    cancel: &CancellationToken,
) -> CheckResult {
    let started = Instant::now();
    let shown = shown_argv(argv);
    let done = |passed: bool, detail: String| CheckResult {
        kind: CheckKind::Command,
        passed,
        detail,
        duration_ms: started.elapsed().as_millis().min(u64::MAX as u128) as u64,
        execution_id: None,
    };
    let Some((program, args)) = argv.split_first() else {
        return done(false, "empty command".into());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .env(crate::process::EXECUTION_ENV, execution_id.to_string());
    let grace = Duration::from_millis(500);
    let read = |pipe, _| tail(pipe);
    let ran =
        match side_command::run(&mut cmd, execution_id, None, timeout, cancel, grace, read).await {
            Ok(ran) => ran,
            Err(e) => return done(false, format!("`{shown}` could not be started: {e}")),
        };
    let (end, output) = (ran.end, output_text(&ran.stdout, &ran.stderr));
    match end {
        End::TimedOut => done(
            false,
            format!(
                "`{shown}` timed out after {} s and was killed{output}",
                timeout.as_secs()
            ),
        ),
        End::Cancelled => done(false, format!("`{shown}` stopped: cancelled{output}")),
        End::Exited(status) => match status.and_then(|s| s.code()) {
            Some(0) => done(true, format!("`{shown}` exited 0{output}")),
            Some(c) => done(false, format!("`{shown}` exited {c}{output}")),
            None => done(false, format!("`{shown}` was killed by a signal{output}")),
        },
    }
}

/// The command as shown in details: its words joined, long ones cut.
fn shown_argv(argv: &[String]) -> String {
    crate::types::text::truncate_chars(&argv.join(" "), 200)
}

/// `"; output: …"` with the kept ends of stdout and stderr, or nothing when both were empty.
fn output_text(out: &[u8], err: &[u8]) -> String {
    let out = String::from_utf8_lossy(out);
    let err = String::from_utf8_lossy(err);
    let (out, err) = (out.trim(), err.trim());
    match (out.is_empty(), err.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("; output:\n{out}"),
        (true, false) => format!("; stderr:\n{err}"),
        (false, false) => format!("; output:\n{out}\nstderr:\n{err}"),
    }
}

/// Reads a pipe to its end, keeping its last [`TAIL`] bytes (cut at a character boundary).
async fn tail(mut r: impl tokio::io::AsyncRead + Unpin) -> Vec<u8> {
    let mut kept: Vec<u8> = Vec::new();
    let mut cut = false;
    let mut buf = [0u8; 8192];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * TAIL {
            kept.drain(..kept.len() - TAIL);
            cut = true;
        }
    }
    if kept.len() > TAIL {
        kept.drain(..kept.len() - TAIL);
        cut = true;
    }
    if cut {
        // Start at a character boundary, and say that the beginning is gone.
        let start = kept
            .iter()
            .position(|b| (*b as i8) >= -0x40)
            .unwrap_or(kept.len());
        let mut shown = b"[...] ".to_vec();
        shown.extend_from_slice(&kept[start..]);
        return shown;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_the_end_of_a_long_stream() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let text: Vec<u8> = (0..10_000).map(|i| b'a' + (i % 26) as u8).collect();
        let kept = rt.block_on(tail(&text[..]));
        assert!(kept.starts_with(b"[...] "));
        assert!(kept.ends_with(&text[text.len() - 100..]));
        assert!(kept.len() <= TAIL + 6);
        assert_eq!(rt.block_on(tail(&b"short"[..])), b"short");
    }
}
