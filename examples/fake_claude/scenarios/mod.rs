//! The scenarios: the list of known names and the dispatch from a name to what it plays.
//! Simple scenarios are played here; the larger ones live with their kind (failures, process
//! trees, stream tolerance and volume, tool use).

mod accept;
mod failures;
mod output;
mod processes;
mod tools;

use nix::sys::signal::{SigHandler, Signal, signal};
use serde_json::json;

use crate::ctx::{Ctx, ResultLine};
use crate::util::{filler, now_secs, obj, sleep_forever, warn};

pub(crate) const SCENARIOS: &[&str] = &[
    "success",
    "echo",
    "slow",
    "hang",
    "ignore_sigterm",
    "crash",
    "sigint_exit0",
    "noise",
    "big_record",
    "flood",
    "grandchild",
    "tools",
    "permission_denied",
    "empty_result",
    "max_turns",
    "api_error",
    "rate_limited",
    "overloaded",
    "auth_failed",
    "not_logged_in",
    "usage_limit",
    "rate_limit_event",
    "budget",
    "structured",
    "flaky",
    "exit_code",
    "unknown_events",
    "stderr_flood",
    "busy",
    "ticks",
    "repairable",
    "verdict",
];

impl Ctx {
    pub(crate) fn run(&mut self, name: &str) -> i32 {
        if name == "ignore_sigterm" {
            // SAFETY: installing SIG_IGN has no handler code to be unsafe.
            if let Err(e) = unsafe { signal(Signal::SIGTERM, SigHandler::SigIgn) } {
                warn(&format!("fake_claude: cannot ignore SIGTERM: {e}"));
            }
        }
        if name == "flaky" && std::env::var_os("FAKE_CLAUDE_STATE_DIR").is_none_or(|v| v.is_empty())
        {
            warn("fake_claude: the flaky scenario needs FAKE_CLAUDE_STATE_DIR");
            return 2;
        }
        self.init();
        match name {
            "success" => {
                let t = self.default_text();
                self.succeed(&t)
            }
            "echo" => {
                let t = self.echo_text();
                self.succeed(&t)
            }
            "slow" => {
                self.sleep_secs(self.opt_f64("secs", 2.0));
                let t = self.default_text();
                self.succeed(&t)
            }
            "hang" | "ignore_sigterm" => sleep_forever(),
            "crash" => {
                self.say("Let me look into that.");
                warn(
                    "Error: fake_claude simulated crash\n    at processTicksAndRejections \
                     (node:internal/process/task_queues:95:5)",
                );
                1
            }
            "sigint_exit0" => self.sigint_exit0(),
            "noise" => self.noise(),
            "big_record" => {
                let bytes = match self.opt("bytes").and_then(|v| v.parse::<usize>().ok()) {
                    Some(b) => b,
                    None => (self.opt_f64("mb", 20.0) * 1024.0 * 1024.0) as usize,
                };
                let text = filler(bytes);
                self.succeed(&text)
            }
            "flood" => self.flood(),
            "grandchild" => self.grandchild(),
            "busy" => self.busy(),
            "ticks" => self.ticks(),
            "tools" => self.tools(),
            "permission_denied" => self.permission_denied(),
            "empty_result" => {
                let t = match self.opt("bytes").and_then(|v| v.parse::<usize>().ok()) {
                    Some(n) => filler(n),
                    None => self.opt("text").unwrap_or("the real answer").to_string(),
                };
                self.say(&t);
                self.success_result("");
                0
            }
            "max_turns" => {
                let n = self
                    .flags
                    .max_turns
                    .as_deref()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1);
                let id = self.tool_use(
                    "Bash",
                    json!({"command": "ls", "description": "List files"}),
                );
                self.tool_result(
                    &id,
                    "Cargo.toml\nsrc",
                    false,
                    json!({"stdout": "Cargo.toml\nsrc", "stderr": "", "interrupted": false,
                           "isImage": false}),
                    None,
                );
                self.opts.insert("turns".into(), (n + 1).to_string());
                self.result(ResultLine {
                    subtype: "error_max_turns",
                    is_error: true,
                    result: None,
                    terminal_reason: "max_turns",
                    stop_reason: json!("tool_use"),
                    errors: Some(vec![format!("Reached maximum number of turns ({n})")]),
                    ..Default::default()
                });
                1
            }
            "api_error" => {
                let status = self.opt_u64("status", 400) as u16;
                let retries = self.opt_u64("retries", 0);
                self.api_failure(status, retries)
            }
            "rate_limited" => {
                let retries = self.opt_u64("retries", 2);
                self.api_failure(429, retries)
            }
            "overloaded" => {
                let retries = self.opt_u64("retries", 2);
                self.api_failure(529, retries)
            }
            "auth_failed" => {
                let retries = self.opt_u64("retries", 2);
                self.api_failure(401, retries)
            }
            "not_logged_in" => self.text_failure(
                "Not logged in · Please run /login",
                "authentication_failed",
                None,
            ),
            "usage_limit" => {
                let resets = self.resets_at();
                let text = format!("Claude AI usage limit reached|{resets}");
                self.text_failure(&text, "rate_limit", None)
            }
            "rate_limit_event" => {
                let resets = self.opt_u64("resets", now_secs() + 3600);
                let uuid = self.uuid();
                let line = obj(vec![
                    ("type", json!("rate_limit_event")),
                    (
                        "rate_limit_info",
                        json!({"status": "rejected", "resetsAt": resets,
                               "rateLimitType": "five_hour", "utilization": 1.0,
                               "isUsingOverage": false, "overageStatus": "rejected"}),
                    ),
                    ("uuid", json!(uuid)),
                    ("session_id", json!(self.session_id)),
                ]);
                self.emit(&line);
                let text = self
                    .opt("text")
                    .unwrap_or("You've hit your limit · resets 5pm (Europe/Vilnius)")
                    .to_string();
                self.text_failure(&text, "rate_limit", Some(429))
            }
            "budget" => {
                let budget = self
                    .flags
                    .max_budget_usd
                    .clone()
                    .unwrap_or_else(|| "0.01".into());
                self.say("Working on it.");
                self.result(ResultLine {
                    subtype: "error_max_budget_usd",
                    is_error: true,
                    result: None,
                    terminal_reason: "budget_exhausted",
                    stop_reason: json!("tool_use"),
                    errors: Some(vec![format!("Reached maximum budget (${budget})")]),
                    ..Default::default()
                });
                1
            }
            "structured" => self.structured(),
            "repairable" => self.repairable(),
            "verdict" => self.verdict(),
            "flaky" => self.flaky(),
            "exit_code" => {
                let code = self.opt_u64("code", 1) as i32;
                warn(&format!("fake_claude: exiting with code {code}"));
                code
            }
            "unknown_events" => self.unknown_events(),
            "stderr_flood" => self.stderr_flood(),
            other => unreachable!("scenario {other} validated earlier"),
        }
    }

    pub(crate) fn echo_text(&self) -> String {
        if self.flags.positional.is_empty() {
            self.prompt.clone()
        } else if self.prompt.is_empty() {
            self.flags.positional.join(" ")
        } else {
            format!("{}\n{}", self.flags.positional.join(" "), self.prompt)
        }
    }
}
