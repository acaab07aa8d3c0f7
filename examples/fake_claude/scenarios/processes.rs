//! Scenarios about the process tree and signals: an interrupted run that exits 0, grandchildren
//! that linger, hold stdout or escape the process group, a silent CPU-busy run, and a run
//! that makes steady progress (for pausing).

use std::ffi::c_int;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{SigHandler, Signal, signal};
use serde_json::{Value, json};

use crate::GRANDCHILD_ARG;
use crate::ctx::Ctx;
use crate::util::{burn_cpu, obj, own_exe, record_line, sleep_forever, warn};

static SIGINT_SEEN: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: c_int) {
    SIGINT_SEEN.store(true, Ordering::SeqCst);
}

impl Ctx {
    pub(crate) fn sigint_exit0(&mut self) -> i32 {
        if self.opt("wait") == Some("1") {
            let handler = SigHandler::Handler(on_sigint);
            // SAFETY: the handler only stores to an atomic.
            if let Err(e) = unsafe { signal(Signal::SIGINT, handler) } {
                warn(&format!("fake_claude: cannot install SIGINT handler: {e}"));
            }
            self.say("Working on it…");
            while !SIGINT_SEEN.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let uuid = self.uuid();
        let line = obj(vec![
            ("type", json!("user")),
            (
                "message",
                json!({"role": "user",
                       "content": [{"type": "text", "text": "[Request interrupted by user]"}]}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(self.session_id)),
            ("uuid", json!(uuid)),
        ]);
        self.emit(&line);
        0
    }

    pub(crate) fn grandchild(&mut self) -> i32 {
        let mode = self.opt("mode").unwrap_or("linger").to_string();
        let modes = ["linger", "hold_stdout", "hang", "setsid", "double_fork"];
        if !modes.contains(&mode.as_str()) {
            warn(&format!(
                "fake_claude: grandchild mode must be {}, got {mode}",
                modes.join("|")
            ));
            return 2;
        }
        let secs = self.opt_f64("secs", 600.0);
        let mut cmd = Command::new(own_exe());
        cmd.arg(GRANDCHILD_ARG).arg(secs.to_string());
        if self.opt("ignore_sigterm") == Some("1") {
            cmd.arg("--ignore-sigterm");
        }
        let pids_file = self
            .record_dir
            .as_ref()
            .map(|d| d.join(format!("{}.pids", std::process::id())));
        match (mode.as_str(), &pids_file) {
            ("setsid", _) => {
                cmd.arg("--setsid");
            }
            ("double_fork", Some(file)) => {
                cmd.arg("--double-fork").arg(file);
            }
            ("double_fork", None) => {
                warn("fake_claude: grandchild mode=double_fork needs FAKE_CLAUDE_RECORD_DIR");
                return 2;
            }
            _ => {}
        }
        cmd.stdin(Stdio::null());
        if mode == "hold_stdout" {
            cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
        } else {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                warn(&format!("fake_claude: cannot spawn grandchild: {e}"));
                return 1;
            }
        };
        let gpid = child.id();
        if mode == "double_fork" {
            // The middle process records its own child's pid and exits at once; once it has,
            // the escapee is on its own.
            let mut child = child;
            let _ = child.wait();
        } else {
            // Deliberately neither waited for nor killed: it must outlive us.
            std::mem::forget(child);
            if let Some(dir) = &self.record_dir {
                record_line(
                    dir,
                    &format!("{}.pids", std::process::id()),
                    &gpid.to_string(),
                );
            }
        }
        self.emit(&obj(vec![
            ("type", json!("system")),
            ("subtype", json!("fake_grandchild")),
            ("pid", json!(gpid)),
            ("mode", json!(mode)),
            ("session_id", json!(self.session_id)),
        ]));
        if mode == "hang" {
            sleep_forever();
        }
        self.sleep_secs(self.opt_f64("wait", 0.0));
        let t = self.default_text();
        self.succeed(&t)
    }

    pub(crate) fn busy(&mut self) -> i32 {
        let secs = self.opt_f64("secs", 3.0);
        match self.opt("where").unwrap_or("self") {
            "self" => burn_cpu(secs),
            "grandchild" => {
                let spawned = Command::new(own_exe())
                    .arg(GRANDCHILD_ARG)
                    .arg(secs.to_string())
                    .arg("--busy")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn();
                match spawned {
                    Ok(mut child) => {
                        if let Some(dir) = &self.record_dir {
                            record_line(
                                dir,
                                &format!("{}.pids", std::process::id()),
                                &child.id().to_string(),
                            );
                        }
                        let _ = child.wait();
                    }
                    Err(e) => {
                        warn(&format!(
                            "fake_claude: cannot spawn the busy grandchild: {e}"
                        ));
                        return 1;
                    }
                }
            }
            other => {
                warn(&format!(
                    "fake_claude: busy where must be self|grandchild, got {other}"
                ));
                return 2;
            }
        }
        let t = self.default_text();
        self.succeed(&t)
    }

    /// `ticks n=N every=SECS [grandchild=1]`: N steps, one every SECS, each a `Bash` tool use
    /// and its result (so progress is visible step by step: `tools_used`, the raw output), then
    /// success. With `grandchild=1` a sleeping grandchild is started first (a tree to stop and
    /// continue as a whole); it is left for the executor to stop. Defaults: 10 steps, 0.2 s.
    pub(crate) fn ticks(&mut self) -> i32 {
        let n = self.opt_u64("n", 10);
        let every = self.opt_f64("every", 0.2);
        if self.opt("grandchild") == Some("1") {
            let spawned = Command::new(own_exe())
                .arg(GRANDCHILD_ARG)
                .arg("600")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            match spawned {
                // Deliberately not waited for: the executor stops it with the tree.
                Ok(child) => std::mem::forget(child),
                Err(e) => {
                    warn(&format!("fake_claude: cannot spawn the grandchild: {e}"));
                    return 1;
                }
            }
        }
        for i in 1..=n {
            self.sleep_secs(every);
            let command = format!("echo tick {i}");
            let id = self.tool_use(
                "Bash",
                json!({"command": command, "description": "One step"}),
            );
            let out = format!("tick {i}");
            self.tool_result(
                &id,
                &out,
                false,
                json!({"stdout": out, "stderr": "", "interrupted": false, "isImage": false}),
                None,
            );
        }
        let t = self.default_text();
        self.succeed(&t)
    }
}
