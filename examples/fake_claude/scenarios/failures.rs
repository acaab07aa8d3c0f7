//! Failure flows: API errors after retries, text failures (not logged in, usage limits), and
//! `flaky`, which fails its first invocations and then succeeds.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::ctx::{Ctx, ResultLine};
use crate::util::warn;

impl Ctx {
    /// `retries` × `system/api_retry`, a synthetic assistant "API Error: …" line and an
    /// `is_error:true` result with `terminal_reason:"api_error"`. Returns exit code 1.
    pub(crate) fn api_failure(&mut self, status: u16, retries: u64) -> i32 {
        let (kind, etype, emsg) = match status {
            400 => (
                "invalid_request",
                "invalid_request_error",
                "messages: text content blocks must be non-empty",
            ),
            401 => (
                "authentication_failed",
                "authentication_error",
                "invalid x-api-key",
            ),
            402 => ("billing_error", "billing_error", "credit balance too low"),
            429 => (
                "rate_limit",
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 50 \
                 requests per minute.",
            ),
            529 => ("overloaded", "overloaded_error", "Overloaded"),
            500..=599 => ("server_error", "api_error", "Internal server error"),
            _ => ("unknown", "api_error", "Unexpected error"),
        };
        let retry_kind = match kind {
            "rate_limit" | "overloaded" | "authentication_failed" | "server_error" => kind,
            _ => "unknown",
        };
        let sleep_ms = self.opt_u64("sleep_ms", 0);
        for attempt in 1..=retries {
            let delay = (500u64 << (attempt - 1).min(6)).min(32_000);
            self.system(
                "api_retry",
                vec![
                    ("attempt", json!(attempt)),
                    ("max_retries", json!(10)),
                    ("retry_delay_ms", json!(delay)),
                    ("error_status", json!(status)),
                    ("error", json!(retry_kind)),
                ],
            );
            if sleep_ms > 0 {
                std::thread::sleep(Duration::from_millis(sleep_ms));
            }
        }
        let request_id = self.id("req");
        let text = format!(
            "API Error: {status} {}",
            format_args!(
                r#"{{"type":"error","error":{{"type":{},"message":{}}},"request_id":{}}}"#,
                json!(etype),
                json!(emsg),
                json!(request_id)
            )
        );
        self.synthetic(&text, kind);
        self.result(ResultLine {
            subtype: "success",
            is_error: true,
            result: Some(&text),
            terminal_reason: "api_error",
            stop_reason: json!("stop_sequence"),
            api_error_status: Some(status),
            zero_cost: true,
            ..Default::default()
        });
        1
    }

    /// A synthetic assistant text and an `is_error:true` result with the same text.
    pub(crate) fn text_failure(&mut self, text: &str, error: &str, status: Option<u16>) -> i32 {
        self.synthetic(text, error);
        self.result(ResultLine {
            subtype: "success",
            is_error: true,
            result: Some(text),
            terminal_reason: "api_error",
            stop_reason: json!("stop_sequence"),
            api_error_status: status,
            zero_cost: true,
            ..Default::default()
        });
        1
    }

    pub(crate) fn flaky(&mut self) -> i32 {
        let Some(dir) = std::env::var_os("FAKE_CLAUDE_STATE_DIR").filter(|v| !v.is_empty()) else {
            warn("fake_claude: the flaky scenario needs FAKE_CLAUDE_STATE_DIR");
            return 2;
        };
        let key = self.opt("key").unwrap_or("flaky").to_string();
        let path = PathBuf::from(dir).join(format!("{key}.count"));
        let n: u64 = fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if let Some(parent) = path.parent() {
            let _ = fs::create_dir_all(parent);
        }
        if let Err(e) = fs::write(&path, (n + 1).to_string()) {
            warn(&format!(
                "fake_claude: cannot write {}: {e}",
                path.display()
            ));
        }
        let fail = self.opt_u64("fail", 1);
        let status = self.opt_u64("status", 429) as u16;
        warn(&format!(
            "fake_claude: flaky attempt {} (fail first {fail})",
            n + 1
        ));
        if n < fail {
            match self.opt("fail_with") {
                Some("usage_limit") => {
                    let text = format!("Claude AI usage limit reached|{}", self.resets_at());
                    self.text_failure(&text, "rate_limit", None)
                }
                _ => self.api_failure(status, 0),
            }
        } else {
            let t = self
                .opt("text")
                .map(str::to_string)
                .unwrap_or_else(|| format!("flaky succeeded on attempt {}", n + 1));
            self.succeed(&t)
        }
    }
}
