//! Folds stream-json events into what a result needs, and says which events are worth a
//! progress notice. Judging how the run *ended* is [`super::outcome`]'s job.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::events::{Block, Event, Line, MessageEvent, RateLimitInfo, ResultEvent, SystemEvent};
pub use crate::types::result::PermissionDenial;
pub use crate::types::text::truncate_chars;

/// Tools whose successful use means a file was written.
const WRITE_TOOLS: &[&str] = &["Write", "Edit", "MultiEdit", "NotebookEdit"];
/// Diagnostics kept verbatim (the count keeps going).
const MAX_DIAGNOSTICS: usize = 20;

/// Something worth telling a watching caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Started {
        session_id: Option<String>,
        model: Option<String>,
    },
    ToolUse {
        name: String,
        summary: String,
    },
    ApiRetry {
        attempt: u32,
        max_retries: Option<u32>,
        error_status: Option<u16>,
        error: Option<String>,
        delay_ms: Option<u64>,
    },
    PermissionDenied {
        tool_name: String,
    },
    /// Text the model wrote (not the CLI's own `<synthetic>` messages), cut at
    /// [`TEXT_NOTICE_MAX`] bytes.
    Text {
        text: String,
        truncated: bool,
    },
}

/// What has been seen of one run so far.
#[derive(Debug, Default)]
pub struct Collector {
    pub session_id: Option<String>,
    pub model: Option<String>,
    pub claude_version: Option<String>,
    pub api_key_source: Option<String>,
    pub permission_mode: Option<String>,
    /// Last text from the model itself (not a `<synthetic>` CLI message), when it is small
    /// enough to keep ([`KEEP_TEXT_MAX`]); the answer normally comes again on the result line.
    pub last_assistant_text: Option<String>,
    /// Where the last assistant text too big to keep is in the stream (byte offset of its
    /// line): read back only if the result line turns out empty.
    pub last_assistant_at: Option<u64>,
    /// Byte offset of the line being observed (see [`Collector::observe_at`]).
    line_offset: Option<u64>,
    /// Last text the CLI made itself (API error messages).
    pub synthetic_text: Option<String>,
    /// `error` of the last assistant line that had one.
    pub assistant_error: Option<String>,
    pub tools_used: BTreeMap<String, u32>,
    /// Write-like tool uses waiting for their result: id → (path, SHA-256 of a Write's content).
    pending_writes: HashMap<String, (String, Option<String>)>,
    denied_ids: HashSet<String>,
    pub files_written: Vec<String>,
    /// Path → SHA-256 of the content of its last successful `Write`; `None` when its last
    /// successful change was an Edit/MultiEdit/NotebookEdit (whose events do not carry the
    /// resulting content). Evidence compares files on disk with this later.
    pub write_content: BTreeMap<String, Option<String>>,
    pub permission_denials: Vec<PermissionDenial>,
    pub api_retries: u32,
    /// `error` of the last `api_retry` line (`rate_limit`, `overloaded`, …).
    pub last_retry_error: Option<String>,
    pub last_retry_status: Option<u16>,
    /// A `rate_limit_event` that said `rejected`.
    pub rate_limit_rejected: Option<RateLimitInfo>,
    /// A user line `[Request interrupted by user]` (what SIGINT leaves).
    pub interrupted: bool,
    pub result: Option<ResultEvent>,
    pub events: u64,
    pub diagnostics: Vec<String>,
    pub diagnostic_count: u64,
    pub oversize_records: Vec<usize>,
}

/// Assistant texts up to this size are kept in memory; a bigger one is left in the raw output
/// (its offset kept), so a huge answer is not held twice (assistant line and result line).
pub const KEEP_TEXT_MAX: usize = 1024 * 1024;

/// Assistant text in a progress notice is cut here: watchers see what the model says as it
/// goes, but a huge answer is not copied into progress (it comes whole with the result).
pub const TEXT_NOTICE_MAX: usize = 256 * 1024;

fn text_notice(text: &str) -> Notice {
    let mut end = text.len().min(TEXT_NOTICE_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Notice::Text {
        text: text[..end].to_string(),
        truncated: end < text.len(),
    }
}

impl Collector {
    /// [`Collector::observe`] for a line that starts at byte `offset` of the stream.
    pub fn observe_at(&mut self, line: Line, offset: u64) -> Vec<Notice> {
        self.line_offset = Some(offset);
        let notices = self.observe(line);
        self.line_offset = None;
        notices
    }

    /// Takes one parsed line; returns the notices it produced.
    pub fn observe(&mut self, line: Line) -> Vec<Notice> {
        match line {
            Line::Blank => Vec::new(),
            Line::NotJson(text) => {
                self.diagnostic(format!("non-JSON stdout line: {text}"));
                Vec::new()
            }
            Line::Malformed { kind, error } => {
                self.diagnostic(format!("unreadable `{kind}` line: {error}"));
                Vec::new()
            }
            Line::Event(event) => {
                self.events += 1;
                self.event(*event)
            }
        }
    }

    /// A record over the framing cap was dropped.
    pub fn oversize(&mut self, len: usize) {
        self.oversize_records.push(len);
        self.diagnostic(format!(
            "a stream-json record of {len} bytes exceeded the record cap and was dropped"
        ));
    }

    fn diagnostic(&mut self, text: String) {
        self.diagnostic_count += 1;
        if self.diagnostics.len() < MAX_DIAGNOSTICS {
            self.diagnostics.push(text);
        }
    }

    fn event(&mut self, event: Event) -> Vec<Notice> {
        match event {
            Event::System(s) => self.system(s),
            Event::Assistant(m) => self.assistant(m),
            Event::User(m) => {
                self.user(m);
                Vec::new()
            }
            Event::Result(r) => {
                if self.session_id.is_none() {
                    self.session_id.clone_from(&r.session_id);
                }
                for d in &r.permission_denials {
                    self.add_denial(denial_from_result(d));
                }
                self.result = Some(r);
                Vec::new()
            }
            Event::RateLimit(r) => {
                if let Some(info) = r.rate_limit_info
                    && info.status.as_deref() == Some("rejected")
                {
                    self.rate_limit_rejected = Some(info);
                }
                Vec::new()
            }
            Event::Unknown => Vec::new(),
        }
    }

    fn system(&mut self, s: SystemEvent) -> Vec<Notice> {
        match s.subtype.as_deref() {
            Some("init") => {
                self.session_id = s.session_id.or(self.session_id.take());
                self.model = s.model;
                self.claude_version = s.claude_code_version;
                self.api_key_source = s.api_key_source;
                self.permission_mode = s.permission_mode;
                vec![Notice::Started {
                    session_id: self.session_id.clone(),
                    model: self.model.clone(),
                }]
            }
            Some("api_retry") => {
                self.api_retries += 1;
                self.last_retry_status = s.error_status;
                self.last_retry_error = s.error.as_ref().map(value_text);
                vec![Notice::ApiRetry {
                    attempt: s.attempt.unwrap_or(self.api_retries),
                    max_retries: s.max_retries,
                    error_status: s.error_status,
                    error: self.last_retry_error.clone(),
                    delay_ms: s.retry_delay_ms.map(|d| d.max(0.0) as u64),
                }]
            }
            Some("permission_denied") => {
                let tool_name = s.tool_name.unwrap_or_default();
                self.add_denial(PermissionDenial {
                    tool_name: tool_name.clone(),
                    tool_use_id: s.tool_use_id,
                    tool_input: None,
                    message: s.message.as_ref().map(value_text),
                });
                vec![Notice::PermissionDenied { tool_name }]
            }
            _ => Vec::new(),
        }
    }

    fn assistant(&mut self, m: MessageEvent) -> Vec<Notice> {
        if m.error.is_some() {
            self.assistant_error = m.error;
        }
        let Some(message) = m.message else {
            return Vec::new();
        };
        let synthetic = message.model.as_deref() == Some("<synthetic>");
        let mut notices = Vec::new();
        for block in message.content {
            match block {
                Block::Text { text } if !text.is_empty() => {
                    if !synthetic {
                        notices.push(text_notice(&text));
                    }
                    if synthetic {
                        self.synthetic_text = Some(text);
                    } else if text.len() > KEEP_TEXT_MAX && self.line_offset.is_some() {
                        self.last_assistant_text = None;
                        self.last_assistant_at = self.line_offset;
                    } else {
                        self.last_assistant_text = Some(text);
                        self.last_assistant_at = None;
                    }
                }
                Block::ToolUse { id, name, input } => {
                    *self.tools_used.entry(name.clone()).or_default() += 1;
                    if WRITE_TOOLS.contains(&name.as_str())
                        && let Some(path) = written_path(&input)
                    {
                        let content = (name == "Write")
                            .then(|| input.get("content").and_then(Value::as_str))
                            .flatten()
                            .map(|c| crate::types::chain::sha256_hex(c.as_bytes()));
                        self.pending_writes.insert(id, (path, content));
                    }
                    notices.push(Notice::ToolUse {
                        summary: summarize_input(&name, &input),
                        name,
                    });
                }
                _ => {}
            }
        }
        notices
    }

    fn user(&mut self, m: MessageEvent) {
        let Some(message) = m.message else { return };
        for block in message.content {
            match block {
                Block::ToolResult {
                    tool_use_id,
                    is_error,
                    ..
                } => {
                    if let Some((path, content)) = self.pending_writes.remove(&tool_use_id)
                        && is_error != Some(true)
                        && !self.denied_ids.contains(&tool_use_id)
                    {
                        if !self.files_written.contains(&path) {
                            self.files_written.push(path.clone());
                        }
                        self.write_content.insert(path, content);
                    }
                }
                Block::Text { text } if text.contains("[Request interrupted by user") => {
                    self.interrupted = true;
                }
                _ => {}
            }
        }
    }

    fn add_denial(&mut self, d: PermissionDenial) {
        if let Some(id) = &d.tool_use_id {
            self.denied_ids.insert(id.clone());
            if let Some(existing) = self
                .permission_denials
                .iter_mut()
                .find(|e| e.tool_use_id.as_ref() == Some(id))
            {
                // The result line repeats the system line's denial with the tool input.
                if existing.tool_input.is_none() {
                    existing.tool_input = d.tool_input;
                }
                if existing.message.is_none() {
                    existing.message = d.message;
                }
                return;
            }
        }
        self.permission_denials.push(d);
    }
}

fn denial_from_result(v: &Value) -> PermissionDenial {
    PermissionDenial {
        tool_name: v
            .get("tool_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        tool_use_id: v
            .get("tool_use_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        // `null` is no input: absent, as in every other record.
        tool_input: v.get("tool_input").filter(|i| !i.is_null()).cloned(),
        message: v.get("message").map(value_text),
    }
}

fn written_path(input: &Value) -> Option<String> {
    ["file_path", "notebook_path", "path"]
        .iter()
        .find_map(|k| input.get(k).and_then(Value::as_str))
        .map(str::to_string)
}

/// A one-line, bounded description of a tool's input for progress messages.
pub fn summarize_input(name: &str, input: &Value) -> String {
    let keys: &[&str] = match name {
        "Bash" => &["command"],
        "Grep" | "Glob" => &["pattern"],
        "WebFetch" => &["url"],
        "WebSearch" => &["query"],
        "Task" | "Agent" => &["description"],
        _ => &["file_path", "notebook_path", "path", "command", "pattern"],
    };
    let text = keys
        .iter()
        .find_map(|k| input.get(k).and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_default();
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_chars(&one_line, 120)
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claude::events::parse_line;

    fn feed(lines: &[&str]) -> (Collector, Vec<Notice>) {
        let mut c = Collector::default();
        let mut notices = Vec::new();
        for l in lines {
            notices.extend(c.observe(parse_line(l.as_bytes())));
        }
        (c, notices)
    }

    #[test]
    fn successful_writes_count_and_failed_or_denied_ones_do_not() {
        let (c, notices) = feed(&[
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"a","name":"Write","input":{"file_path":"/w/ok.txt","content":"x"}}]}}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]}}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"b","name":"Edit","input":{"file_path":"/w/bad.txt"}}]}}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"b","is_error":true,"content":"no"}]}}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"c","name":"Write","input":{"file_path":"/w/denied.txt"}}]}}"#,
            r#"{"type":"system","subtype":"permission_denied","tool_name":"Write","tool_use_id":"c","message":"denied"}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"c","content":"denied"}]}}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"d","name":"Bash","input":{"command":"ls   -la\n/tmp"}}]}}"#,
        ]);
        assert_eq!(c.files_written, vec!["/w/ok.txt".to_string()]);
        assert_eq!(
            c.write_content.get("/w/ok.txt"),
            Some(&Some(crate::types::chain::sha256_hex(b"x")))
        );
        assert_eq!(c.tools_used.get("Write"), Some(&2));
        assert_eq!(c.tools_used.get("Bash"), Some(&1));
        assert_eq!(c.permission_denials.len(), 1);
        assert!(notices.contains(&Notice::ToolUse {
            name: "Bash".into(),
            summary: "ls -la /tmp".into()
        }));
    }

    #[test]
    fn an_edit_after_a_write_forgets_the_written_content() {
        let (c, _) = feed(&[
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"a","name":"Write","input":{"file_path":"/w/f","content":"x"}}]}}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"a","content":"ok"}]}}"#,
            r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"b","name":"Edit","input":{"file_path":"/w/f","old_string":"x","new_string":"y"}}]}}"#,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"b","content":"ok"}]}}"#,
        ]);
        assert_eq!(c.files_written, vec!["/w/f".to_string()]);
        assert_eq!(c.write_content.get("/w/f"), Some(&None));
    }

    #[test]
    fn denials_from_system_and_result_lines_are_merged() {
        let (c, _) = feed(&[
            r#"{"type":"system","subtype":"permission_denied","tool_name":"Write","tool_use_id":"c","message":"nope"}"#,
            r#"{"type":"result","subtype":"success","is_error":false,"permission_denials":[{"tool_name":"Write","tool_use_id":"c","tool_input":{"file_path":"/x"}}]}"#,
        ]);
        assert_eq!(c.permission_denials.len(), 1);
        let d = &c.permission_denials[0];
        assert_eq!(d.message.as_deref(), Some("nope"));
        assert_eq!(d.tool_input.as_ref().unwrap()["file_path"], "/x");
    }

    #[test]
    fn a_null_tool_input_is_no_input() {
        let (c, _) = feed(&[
            r#"{"type":"result","subtype":"success","is_error":false,"permission_denials":[{"tool_name":"Bash","tool_use_id":"n","tool_input":null}]}"#,
        ]);
        assert_eq!(c.permission_denials[0].tool_input, None);
        let json = serde_json::to_string(&c.permission_denials[0]).unwrap();
        assert!(!json.contains("null"), "{json}");
    }

    #[test]
    fn synthetic_text_is_not_the_models_answer() {
        let (c, _) = feed(&[
            r#"{"type":"assistant","message":{"model":"claude","content":[{"type":"text","text":"real"}]}}"#,
            r#"{"type":"assistant","message":{"model":"<synthetic>","content":[{"type":"text","text":"API Error: 429"}]},"error":"rate_limit"}"#,
        ]);
        assert_eq!(c.last_assistant_text.as_deref(), Some("real"));
        assert_eq!(c.synthetic_text.as_deref(), Some("API Error: 429"));
        assert_eq!(c.assistant_error.as_deref(), Some("rate_limit"));
    }

    #[test]
    fn the_models_text_is_a_notice_and_the_clis_own_text_is_not() {
        let (_, notices) = feed(&[
            r#"{"type":"assistant","message":{"model":"claude","content":[{"type":"text","text":"Looking at the tests"}]}}"#,
            r#"{"type":"assistant","message":{"model":"<synthetic>","content":[{"type":"text","text":"API Error: 429"}]}}"#,
        ]);
        assert_eq!(
            notices,
            vec![Notice::Text {
                text: "Looking at the tests".into(),
                truncated: false
            }]
        );
    }

    #[test]
    fn a_huge_text_notice_is_cut_on_a_char_boundary() {
        let text = format!("a{}", "é".repeat(TEXT_NOTICE_MAX));
        let Notice::Text {
            text: cut,
            truncated,
        } = text_notice(&text)
        else {
            panic!()
        };
        assert!(truncated);
        assert!(cut.len() <= TEXT_NOTICE_MAX && cut.len() >= TEXT_NOTICE_MAX - 1);
        assert!(text.starts_with(&cut));
    }

    #[test]
    fn retries_noise_and_interrupts_are_recorded() {
        let (c, notices) = feed(&[
            r#"{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":512.3,"error_status":429,"error":"rate_limit"}"#,
            "oops not json",
            r#"{"type":"user","message":{"content":[{"type":"text","text":"[Request interrupted by user]"}]}}"#,
        ]);
        assert_eq!(c.api_retries, 1);
        assert_eq!(c.last_retry_error.as_deref(), Some("rate_limit"));
        assert_eq!(c.diagnostic_count, 1);
        assert!(c.interrupted);
        assert!(matches!(
            notices[0],
            Notice::ApiRetry {
                attempt: 1,
                delay_ms: Some(512),
                ..
            }
        ));
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("ééé", 2), "éé…");
        assert_eq!(truncate_chars("ab", 2), "ab");
    }
}
