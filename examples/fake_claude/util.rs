//! Small helpers: time, a deterministic random generator, ordered JSON lines, filler text,
//! the record files tests read, and this executable for starting grandchildren.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn warn(msg: &str) {
    let _ = writeln!(io::stderr(), "{msg}");
}

/// Serialize fields in the given order (serde_json's map would sort them).
pub(crate) fn obj(fields: Vec<(&str, Value)>) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in fields.into_iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&Value::from(k).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

/// Deterministic filler text of exactly `n` bytes (ASCII, with a newline every ~80 bytes).
pub(crate) fn filler(n: usize) -> String {
    const WORDS: &str = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod \
                         tempor incididunt ut labore et dolore magna aliqua\n";
    let mut s = String::with_capacity(n);
    while s.len() < n {
        let take = (n - s.len()).min(WORDS.len());
        s.push_str(&WORDS[..take]);
    }
    s
}

pub(crate) fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

pub(crate) fn record_line(dir: &Path, file: &str, line: &str) {
    let _ = fs::create_dir_all(dir);
    let res = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(file))
        .and_then(|mut f| {
            let mut buf = Vec::with_capacity(line.len() + 1);
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
            f.write_all(&buf)?;
            f.flush()
        });
    if let Err(e) = res {
        warn(&format!(
            "fake_claude: cannot write {file} in {}: {e}",
            dir.display()
        ));
    }
}

pub(crate) fn record_dir() -> Option<PathBuf> {
    std::env::var_os("FAKE_CLAUDE_RECORD_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// This executable, to start grandchildren of the fake.
pub(crate) fn own_exe() -> PathBuf {
    std::env::current_exe()
        .unwrap_or_else(|_| PathBuf::from(std::env::args_os().next().unwrap_or_default()))
}

/// Keeps one core busy for `secs` without printing anything.
pub(crate) fn burn_cpu(secs: f64) {
    let end = Instant::now() + Duration::from_secs_f64(secs.max(0.0));
    let mut x: u64 = 1;
    while Instant::now() < end {
        for _ in 0..10_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}
