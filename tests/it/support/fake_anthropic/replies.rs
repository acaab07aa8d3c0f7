//! What the fake API answers: [`Reply`] and the [`Script`] that picks one per request.

use super::*;

/// What the fake API answers to one `/v1/messages` request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// One text block, `stop_reason: end_turn`.
    Text(String),
    /// One `tool_use` block (fresh `toolu_fake_N` id), `stop_reason: tool_use`.
    ToolUse { name: String, input: Value },
    /// A text block followed by a `tool_use` block in the same message, `stop_reason: tool_use`.
    TextAndToolUse {
        text: String,
        name: String,
        input: Value,
    },
    /// Arbitrary content blocks as in a non-streaming `Message` (`text`, `tool_use`, `thinking`).
    /// `tool_use` blocks without an `id` get a fresh one.
    Blocks {
        content: Vec<Value>,
        stop_reason: String,
    },
    /// A plain HTTP answer (errors): this status, these extra headers, this JSON body.
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Value,
    },
    /// Wait, then answer with `reply`.
    Delayed { delay: Duration, reply: Box<Reply> },
    /// Never answer (no status line, no headers): the request hangs until the client gives up
    /// or the `FakeApi` is dropped.
    Hang,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Text(text.into())
    }

    pub fn tool_use(name: impl Into<String>, input: Value) -> Reply {
        Reply::ToolUse {
            name: name.into(),
            input,
        }
    }

    pub fn text_and_tool_use(
        text: impl Into<String>,
        name: impl Into<String>,
        input: Value,
    ) -> Reply {
        Reply::TextAndToolUse {
            text: text.into(),
            name: name.into(),
            input,
        }
    }

    /// A `Write` tool use (`file_path` may be relative; the CLI resolves it against its cwd).
    pub fn write_file(file_path: impl Into<String>, content: impl Into<String>) -> Reply {
        Reply::tool_use(
            "Write",
            json!({"file_path": file_path.into(), "content": content.into()}),
        )
    }

    /// A `Bash` tool use.
    pub fn bash(command: impl Into<String>) -> Reply {
        Reply::tool_use(
            "Bash",
            json!({"command": command.into(), "description": "fake API command"}),
        )
    }

    /// An error shaped like Anthropic's: `{"type":"error","error":{"type":…,"message":…}}` with
    /// the error type that matches `status` (400 invalid_request_error, 401 authentication_error,
    /// 403 permission_error, 404 not_found_error, 413 request_too_large, 429 rate_limit_error,
    /// 500 api_error, 529 overloaded_error) and a `request-id` header. No `retry-after`.
    pub fn api_error(status: u16, message: impl Into<String>) -> Reply {
        Reply::Http {
            status,
            headers: vec![("request-id".into(), "req_fake_error".into())],
            body: json!({
                "type": "error",
                "error": {"type": error_type_for(status), "message": message.into()},
                "request_id": "req_fake_error",
            }),
        }
    }

    /// A 429 `rate_limit_error` with `retry-after: <secs>` and `anthropic-ratelimit-*` headers
    /// saying the request budget is exhausted.
    pub fn rate_limited(retry_after_secs: u64) -> Reply {
        let mut reply = Reply::api_error(
            429,
            "Number of request tokens has exceeded your per-minute rate limit (fake)",
        );
        if let Reply::Http { headers, .. } = &mut reply {
            let reset = chrono_like_reset(retry_after_secs);
            headers.extend([
                ("retry-after".to_string(), retry_after_secs.to_string()),
                ("anthropic-ratelimit-requests-limit".into(), "50".into()),
                ("anthropic-ratelimit-requests-remaining".into(), "0".into()),
                ("anthropic-ratelimit-requests-reset".into(), reset),
            ]);
        }
        reply
    }

    /// `reply`, after `delay`.
    pub fn delayed(delay: Duration, reply: Reply) -> Reply {
        Reply::Delayed {
            delay,
            reply: Box::new(reply),
        }
    }
}

/// Anthropic's error `type` for an HTTP status.
pub fn error_type_for(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// RFC 3339 UTC time `secs` from now, without pulling chrono into the tests.
fn chrono_like_reset(secs: u64) -> String {
    let t = std::time::SystemTime::now() + Duration::from_secs(secs);
    let epoch = t
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (days, rem) = (epoch / 86_400, epoch % 86_400);
    // Civil-from-days (Howard Hinnant).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

type Responder = Arc<dyn Fn(&Value) -> Reply + Send + Sync>;

/// Decides the reply for each `/v1/messages` request.
#[derive(Clone)]
pub struct Script {
    pub(super) main: Responder,
    pub(super) side: Responder,
}

impl Script {
    /// Main request N (0-based, side requests not counted) gets `replies[N]`; the last reply
    /// repeats. Panics on an empty list.
    pub fn sequence(replies: Vec<Reply>) -> Script {
        assert!(
            !replies.is_empty(),
            "Script::sequence needs at least one reply"
        );
        let next = AtomicUsize::new(0);
        Script::respond(move |_| {
            let i = next.fetch_add(1, Ordering::SeqCst);
            replies[i.min(replies.len() - 1)].clone()
        })
    }

    /// Always the same text.
    pub fn text(text: impl Into<String>) -> Script {
        Script::sequence(vec![Reply::text(text)])
    }

    /// Always the same reply (e.g. an error).
    pub fn always(reply: Reply) -> Script {
        Script::sequence(vec![reply])
    }

    /// A closure sees each main request body and picks the reply (see the conversation helpers
    /// [`last_user_text`], [`all_text`], [`tool_results`]).
    pub fn respond(f: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> Script {
        Script {
            main: Arc::new(f),
            side: Arc::new(|_| Reply::text("Fake side reply")),
        }
    }

    /// Replace the responder for side requests (default: the text "Fake side reply").
    pub fn with_side(mut self, f: impl Fn(&Value) -> Reply + Send + Sync + 'static) -> Script {
        self.side = Arc::new(f);
        self
    }
}
