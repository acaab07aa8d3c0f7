//! The integration tests' fake Anthropic Messages API as a program, for test suites in other
//! languages (the Python package's, `python/tests/test_real_cli.py`) that run the real Claude
//! Code CLI offline: prints its base URL (`http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL`)
//! on stdout and serves on loopback until its stdin closes.
//!
//! Replies: a prompt line `@api slow SECS` answers after SECS seconds (a request in flight, to
//! cancel); any other prompt gets the text `fake API answer: ` followed by the user's message,
//! so an answer shows the prompt (and the execution's UUID instruction) reached the API.

use std::io::{Read, Write};
use std::time::Duration;

#[path = "../tests/it/support/fake_anthropic/mod.rs"]
mod fake_anthropic;

use fake_anthropic::{FakeApi, Reply, Script, last_user_text};

fn reply(body: &serde_json::Value) -> Reply {
    let text = last_user_text(body);
    let slow = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("@api slow "))
        .and_then(|s| s.trim().parse::<u64>().ok());
    match slow {
        Some(secs) => Reply::delayed(Duration::from_secs(secs), Reply::text("late answer")),
        None => Reply::text(format!("fake API answer: {text}")),
    }
}

fn main() {
    let api = FakeApi::start_blocking(Script::respond(reply));
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", api.base_url)
        .and_then(|_| out.flush())
        .is_err()
    {
        return;
    }
    drop(out);
    // Serve until whoever started us closes our stdin (or exits).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
