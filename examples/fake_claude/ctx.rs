//! The run context and the stream-json lines every scenario is made of: `system/init`,
//! assistant text and tool uses, tool results and the final `result` line, in the real CLI's
//! field order.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::VERSION;
use crate::cli::Flags;
use crate::util::{now_secs, obj, splitmix, warn};

/// What differs between the `result` lines of scenarios; usage, cost and ids are computed by
/// [`Ctx::result`].
#[derive(Default)]
pub(crate) struct ResultLine<'a> {
    pub(crate) subtype: &'a str,
    pub(crate) is_error: bool,
    /// `None` omits the `result` key entirely (error_max_turns, error_max_budget_usd).
    pub(crate) result: Option<&'a str>,
    pub(crate) terminal_reason: &'a str,
    pub(crate) stop_reason: Value,
    pub(crate) errors: Option<Vec<String>>,
    pub(crate) api_error_status: Option<u16>,
    pub(crate) permission_denials: Vec<Value>,
    pub(crate) structured_output: Option<Value>,
    pub(crate) zero_cost: bool,
    pub(crate) extra: Vec<(&'a str, Value)>,
}

/// One invocation: its flags, scenario options and prompt, and what the lines it prints share
/// (the session id, the random ids, the start time, the pace).
pub(crate) struct Ctx {
    pub(crate) flags: Flags,
    pub(crate) opts: BTreeMap<String, String>,
    pub(crate) prompt: String,
    pub(crate) session_id: String,
    pub(crate) model: String,
    pub(crate) cwd: String,
    pub(crate) start: Instant,
    pub(crate) rng: u64,
    pub(crate) pace: Option<Duration>,
    pub(crate) record_dir: Option<PathBuf>,
}

impl Ctx {
    pub(crate) fn opt(&self, k: &str) -> Option<&str> {
        self.opts.get(k).map(String::as_str)
    }

    pub(crate) fn opt_u64(&self, k: &str, default: u64) -> u64 {
        self.opt(k).and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    /// `resets=EPOCH_SECS`, or `resets_in=SECS` from now; default in an hour.
    pub(crate) fn resets_at(&self) -> u64 {
        match self.opt("resets_in").and_then(|v| v.parse::<u64>().ok()) {
            Some(d) => now_secs() + d,
            None => self.opt_u64("resets", now_secs() + 3600),
        }
    }

    pub(crate) fn opt_f64(&self, k: &str, default: f64) -> f64 {
        self.opt(k).and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    pub(crate) fn uuid(&mut self) -> String {
        let a = splitmix(&mut self.rng);
        let b = splitmix(&mut self.rng);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// Anthropic-style id: `msg_01…`, `toolu_01…`.
    pub(crate) fn id(&mut self, prefix: &str) -> String {
        const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut s = format!("{prefix}_01");
        for _ in 0..22 {
            s.push(B62[(splitmix(&mut self.rng) % 62) as usize] as char);
        }
        s
    }

    pub(crate) fn write_raw(&self, bytes: &[u8]) {
        let mut out = io::stdout().lock();
        if out.write_all(bytes).and_then(|_| out.flush()).is_err() {
            warn("fake_claude: stdout closed");
            std::process::exit(1);
        }
    }

    pub(crate) fn emit(&self, line: &str) {
        {
            let mut out = io::stdout().lock();
            let r = out
                .write_all(line.as_bytes())
                .and_then(|_| out.write_all(b"\n"))
                .and_then(|_| out.flush());
            if r.is_err() {
                warn("fake_claude: stdout closed");
                std::process::exit(1);
            }
        }
        if let Some(p) = self.pace {
            std::thread::sleep(p);
        }
    }

    pub(crate) fn permission_mode(&self) -> String {
        self.flags
            .permission_mode
            .clone()
            .unwrap_or_else(|| "default".into())
    }

    pub(crate) fn init(&mut self) {
        let api_key_source = if std::env::var_os("ANTHROPIC_API_KEY").is_some() {
            "ANTHROPIC_API_KEY"
        } else {
            "none"
        };
        let uuid = self.uuid();
        let line = obj(vec![
            ("type", json!("system")),
            ("subtype", json!("init")),
            ("cwd", json!(self.cwd)),
            ("session_id", json!(self.session_id)),
            (
                "tools",
                json!([
                    "Task",
                    "Bash",
                    "Glob",
                    "Grep",
                    "ExitPlanMode",
                    "Read",
                    "Edit",
                    "Write",
                    "NotebookEdit",
                    "WebFetch",
                    "TodoWrite",
                    "WebSearch",
                    "BashOutput",
                    "KillShell",
                    "SlashCommand"
                ]),
            ),
            ("mcp_servers", json!([])),
            ("model", json!(self.model)),
            ("permissionMode", json!(self.permission_mode())),
            (
                "slash_commands",
                json!([
                    "compact",
                    "context",
                    "cost",
                    "init",
                    "review",
                    "security-review"
                ]),
            ),
            ("apiKeySource", json!(api_key_source)),
            ("claude_code_version", json!(VERSION)),
            ("output_style", json!("default")),
            (
                "agents",
                json!(["general-purpose", "statusline-setup", "Explore", "Plan"]),
            ),
            ("skills", json!([])),
            ("plugins", json!([])),
            ("uuid", json!(uuid)),
            ("fast_mode_state", json!("off")),
        ]);
        self.emit(&line);
    }

    pub(crate) fn system(&mut self, subtype: &str, extra: Vec<(&str, Value)>) {
        let uuid = self.uuid();
        let mut fields = vec![("type", json!("system")), ("subtype", json!(subtype))];
        fields.extend(extra);
        fields.push(("session_id", json!(self.session_id)));
        fields.push(("uuid", json!(uuid)));
        self.emit(&obj(fields));
    }

    pub(crate) fn assistant_full(&mut self, content: Value, error: Option<&str>, synthetic: bool) {
        let msg_id = if synthetic {
            self.uuid()
        } else {
            self.id("msg")
        };
        let usage = if synthetic {
            json!({"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                   "cache_read_input_tokens": 0})
        } else {
            json!({"input_tokens": 4, "output_tokens": 12, "cache_creation_input_tokens": 1234,
                   "cache_read_input_tokens": 5678, "service_tier": "standard"})
        };
        let message = json!({
            "model": if synthetic { "<synthetic>" } else { self.model.as_str() },
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "content": content,
            "stop_reason": if synthetic { json!("stop_sequence") } else { Value::Null },
            "stop_sequence": if synthetic { json!("") } else { Value::Null },
            "usage": usage,
            "context_management": null,
        });
        let uuid = self.uuid();
        let mut fields = vec![
            ("type", json!("assistant")),
            ("message", message),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(self.session_id)),
            ("uuid", json!(uuid)),
        ];
        if let Some(e) = error {
            fields.push(("error", json!(e)));
        }
        self.emit(&obj(fields));
    }

    pub(crate) fn say(&mut self, text: &str) {
        self.assistant_full(json!([{"type": "text", "text": text}]), None, false);
    }

    pub(crate) fn synthetic(&mut self, text: &str, error: &str) {
        self.assistant_full(json!([{"type": "text", "text": text}]), Some(error), true);
    }

    pub(crate) fn tool_use(&mut self, name: &str, input: Value) -> String {
        let id = self.id("toolu");
        self.assistant_full(
            json!([{"type": "tool_use", "id": id, "name": name, "input": input}]),
            None,
            false,
        );
        id
    }

    pub(crate) fn tool_result(
        &mut self,
        id: &str,
        content: &str,
        is_error: bool,
        detail: Value,
        meta: Option<Value>,
    ) {
        let uuid = self.uuid();
        let mut fields = vec![
            ("type", json!("user")),
            (
                "message",
                json!({"role": "user", "content": [
                    {"tool_use_id": id, "type": "tool_result", "content": content,
                     "is_error": is_error}
                ]}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(self.session_id)),
            ("uuid", json!(uuid)),
            ("tool_use_result", detail),
        ];
        if let Some(m) = meta {
            fields.push(("tool_result_meta", m));
        }
        self.emit(&obj(fields));
    }

    pub(crate) fn result(&mut self, r: ResultLine<'_>) {
        let duration_ms = (self.start.elapsed().as_millis() as u64).max(1);
        let (input, output, cache_create, cache_read) = if r.zero_cost {
            (0u64, 0u64, 0u64, 0u64)
        } else {
            let out_len = r.result.map_or(0, str::len) as u64;
            (
                3 + self.prompt.len() as u64 / 4,
                5 + out_len / 4,
                1234,
                5678,
            )
        };
        let cost = (input as f64 * 3.0
            + output as f64 * 15.0
            + cache_create as f64 * 3.75
            + cache_read as f64 * 0.3)
            / 1_000_000.0;
        let usage = json!({
            "input_tokens": input,
            "cache_creation_input_tokens": cache_create,
            "cache_read_input_tokens": cache_read,
            "output_tokens": output,
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard",
            "cache_creation": {"ephemeral_1h_input_tokens": 0,
                               "ephemeral_5m_input_tokens": cache_create},
        });
        let model_usage = json!({ self.model.clone(): {
            "inputTokens": input,
            "outputTokens": output,
            "cacheReadInputTokens": cache_read,
            "cacheCreationInputTokens": cache_create,
            "webSearchRequests": 0,
            "costUSD": cost,
            "contextWindow": 200000,
            "maxOutputTokens": 64000,
        }});
        let uuid = self.uuid();
        let mut fields: Vec<(&str, Value)> = vec![
            ("duration_ms", json!(duration_ms)),
            ("duration_api_ms", json!(duration_ms * 3 / 4)),
            ("is_error", json!(r.is_error)),
            ("num_turns", json!(self.turns_guess())),
        ];
        if let Some(text) = r.result {
            fields.push(("result", json!(text)));
        }
        fields.extend([
            ("stop_reason", r.stop_reason),
            ("session_id", json!(self.session_id)),
            ("total_cost_usd", json!(self.opt_f64("cost", cost))),
            ("usage", usage),
            ("modelUsage", model_usage),
            ("permission_denials", json!(r.permission_denials)),
            ("terminal_reason", json!(r.terminal_reason)),
            ("fast_mode_state", json!("off")),
            ("uuid", json!(uuid)),
        ]);
        if let Some(errors) = r.errors {
            fields.push(("errors", json!(errors)));
        }
        fields.push(("subtype", json!(r.subtype)));
        fields.push(("type", json!("result")));
        if let Some(status) = r.api_error_status {
            fields.push(("api_error_status", json!(status)));
        }
        if let Some(so) = r.structured_output {
            fields.push(("structured_output", so));
        }
        fields.extend(r.extra);
        self.emit(&obj(fields));
    }

    pub(crate) fn turns_guess(&self) -> u64 {
        self.opt_u64("turns", 1)
    }

    pub(crate) fn success_result(&mut self, text: &str) {
        self.result(ResultLine {
            subtype: "success",
            result: Some(text),
            terminal_reason: "completed",
            stop_reason: json!("end_turn"),
            ..Default::default()
        });
    }

    /// Assistant text line + success result; exit code 0.
    pub(crate) fn succeed(&mut self, text: &str) -> i32 {
        self.say(text);
        self.success_result(text);
        0
    }

    pub(crate) fn default_text(&self) -> String {
        self.opt("text")
            .unwrap_or("Hello from fake_claude.")
            .to_string()
    }

    pub(crate) fn sleep_secs(&self, secs: f64) {
        if secs > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(secs));
        }
    }
}
