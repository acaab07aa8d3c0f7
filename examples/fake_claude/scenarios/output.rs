//! Scenarios that test how the executor reads stdout: noise and broken lines, event types it
//! has never seen, a flood of output, and a flood of stderr.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::AsFd;
use std::time::Duration;

use serde_json::{Value, json};

use crate::ctx::{Ctx, ResultLine};
use crate::util::{filler, now_secs, obj, warn};

impl Ctx {
    pub(crate) fn noise(&mut self) -> i32 {
        warn("[DEBUG] fake_claude: loading settings");
        self.emit("Warning: something is not quite right with your configuration");
        self.emit("");
        self.emit("   ");
        self.emit("\u{1b}[33mdebug\u{1b}[0m: colored diagnostics");
        warn("(node:1234) ExperimentalWarning: stderr chatter");
        // A truncated JSON line (invalid JSON that starts with '{').
        self.emit(r#"{"type":"assistant","message":{"content":[{"type":"te"#);
        // Valid JSON that is not an object / has no type.
        self.emit("[1,2,3]");
        self.emit(r#"{"no_type_here":true}"#);
        // A valid line delivered in two writes 50 ms apart.
        let sid = self.session_id.clone();
        let id = self.id("msg");
        let uuid = self.uuid();
        let split = obj(vec![
            ("type", json!("assistant")),
            (
                "message",
                json!({"model": self.model, "id": id, "type": "message", "role": "assistant",
                       "content": [{"type": "text", "text": "split line"}],
                       "stop_reason": null, "stop_sequence": null,
                       "usage": {"input_tokens": 1, "output_tokens": 2}}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(sid)),
            ("uuid", json!(uuid)),
        ]);
        let (a, b) = split.split_at(split.len() / 2);
        self.write_raw(a.as_bytes());
        std::thread::sleep(Duration::from_millis(50));
        self.write_raw(format!("{b}\n").as_bytes());
        // A CRLF-terminated valid line.
        let id = self.id("msg");
        let uuid = self.uuid();
        let crlf = obj(vec![
            ("type", json!("assistant")),
            (
                "message",
                json!({"model": self.model, "id": id, "type": "message", "role": "assistant",
                       "content": [{"type": "text", "text": "crlf line"}],
                       "stop_reason": null, "stop_sequence": null,
                       "usage": {"input_tokens": 1, "output_tokens": 2}}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(sid)),
            ("uuid", json!(uuid)),
        ]);
        self.emit(&format!("{crlf}\r"));
        self.emit("Warning: one more diagnostic line");
        warn("fake_claude: more stderr chatter");
        let t = self.opt("text").unwrap_or("noise survived").to_string();
        self.succeed(&t)
    }

    pub(crate) fn flood(&mut self) -> i32 {
        let total = self.opt_u64("bytes", 16 << 20);
        let line_target = self.opt_u64("line", 4096).max(512) as usize;
        let uuid = self.uuid();
        let tpl = obj(vec![
            ("type", json!("assistant")),
            (
                "message",
                json!({"model": self.model, "id": "@@ID@@", "type": "message",
                       "role": "assistant",
                       "content": [{"type": "text", "text": "@@TEXT@@"}],
                       "stop_reason": null, "stop_sequence": null,
                       "usage": {"input_tokens": 1, "output_tokens": 1000}}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(self.session_id)),
            ("uuid", json!(uuid)),
        ]);
        // Size the text so each line (incl. a 16-char id and '\n') is about `line_target`.
        let overhead = tpl.len() - "@@ID@@".len() - "@@TEXT@@".len() + 16 + 1;
        let text_len = line_target.saturating_sub(overhead).max(16);
        let text = Value::from(filler(text_len)).to_string();
        let tpl = tpl.replace("\"@@TEXT@@\"", &text);
        let (pre, post) = tpl.split_once("@@ID@@").expect("template has an id");
        let out = io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .expect("dup stdout");
        let mut w = BufWriter::with_capacity(1 << 20, out);
        let mut written: u64 = 0;
        let mut lines: u64 = 0;
        while written < total {
            let r = w
                .write_all(pre.as_bytes())
                .and_then(|_| write!(w, "msg_flood_{lines:06}"))
                .and_then(|_| w.write_all(post.as_bytes()))
                .and_then(|_| w.write_all(b"\n"));
            if r.is_err() {
                warn("fake_claude: stdout closed");
                return 1;
            }
            written += (pre.len() + 16 + post.len() + 1) as u64;
            lines += 1;
        }
        if w.flush().is_err() {
            warn("fake_claude: stdout closed");
            return 1;
        }
        drop(w);
        let t = format!("flood done: {lines} lines, {written} bytes");
        self.success_result(&t);
        0
    }

    pub(crate) fn unknown_events(&mut self) -> i32 {
        let sid = self.session_id.clone();
        self.emit(&obj(vec![
            ("type", json!("brand_new_type")),
            ("payload", json!({"x": 1, "nested": {"y": [1, 2, 3]}})),
            ("session_id", json!(sid)),
        ]));
        self.system(
            "compact_boundary",
            vec![(
                "compact_metadata",
                json!({"trigger": "auto", "pre_tokens": 123456}),
            )],
        );
        self.system(
            "hook_started",
            vec![
                ("hook_id", json!("h1")),
                ("hook_name", json!("SessionStart:startup")),
                ("hook_event", json!("SessionStart")),
            ],
        );
        self.system("brand_new_subtype", vec![("whatever", json!({"a": null}))]);
        let uuid = self.uuid();
        self.emit(&obj(vec![
            ("type", json!("stream_event")),
            (
                "event",
                json!({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "text_delta", "text": "partial "}}),
            ),
            ("parent_tool_use_id", Value::Null),
            ("session_id", json!(sid)),
            ("uuid", json!(uuid)),
        ]));
        let uuid = self.uuid();
        self.emit(&obj(vec![
            ("type", json!("rate_limit_event")),
            (
                "rate_limit_info",
                json!({"status": "allowed", "resetsAt": now_secs() + 7200,
                       "rateLimitType": "five_hour", "utilization": 0.1}),
            ),
            ("uuid", json!(uuid)),
            ("session_id", json!(sid)),
        ]));
        self.assistant_full(
            json!([
                {"type": "thinking", "thinking": "Let me think.", "signature": "c2lnbmF0dXJl"},
                {"type": "brand_new_block", "data": {"k": "v"}},
            ]),
            None,
            false,
        );
        self.emit(&obj(vec![
            ("type", json!("system")),
            ("subtype", json!("status")),
            ("status", json!("compacting")),
            ("brand_new_field", json!(true)),
            ("session_id", json!(sid)),
        ]));
        let text = self
            .opt("text")
            .unwrap_or("the answer after unknown events")
            .to_string();
        self.say(&text);
        self.result(ResultLine {
            subtype: "success",
            result: Some(&text),
            terminal_reason: "completed",
            stop_reason: json!("end_turn"),
            extra: vec![
                ("brand_new_result_field", json!({"nested": [1, 2]})),
                ("another_unknown", Value::Null),
            ],
            ..Default::default()
        });
        0
    }

    pub(crate) fn stderr_flood(&mut self) -> i32 {
        let kb = self.opt_u64("kb", 1024);
        let line = format!("{}\n", "e".repeat(1023));
        let mut err = io::stderr().lock();
        for i in 0..kb {
            if err.write_all(line.as_bytes()).is_err() {
                break;
            }
            if i % 64 == 63 {
                let _ = err.flush();
                self.say(&format!("progress: {} KiB of stderr written", i + 1));
            }
        }
        let _ = err.flush();
        drop(err);
        let t = self.default_text();
        self.succeed(&t)
    }
}
