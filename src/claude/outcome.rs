//! How a run ended, from what the CLI printed and how the process stopped.
//!
//! Judged on the presence of a result line and its `is_error`, never on `subtype` or the exit
//! code alone: API errors end with `subtype:"success", is_error:true`; SIGINT exits 0 with no
//! result line; a run whose writes were all denied ends `success` — a false success we report
//! as `unverified`.

use chrono::{DateTime, TimeZone, Utc};

use super::collect::Collector;
use crate::types::result::Status;

/// How the process stopped, as the executor saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// It exited (or was killed by someone else).
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
    },
    /// We killed it because the deadline passed.
    TimedOut,
    /// We killed it because the caller cancelled or the server shut down.
    Cancelled,
    /// We killed it because for `quiet_secs` it printed nothing and its process tree used no
    /// CPU (the stall watchdog, `stall_timeout_secs`).
    Stalled { quiet_secs: u64 },
}

/// The verdict, with the reason when it is not plain success.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub status: Status,
    pub resets_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

impl Classified {
    fn new(status: Status, reason: impl Into<Option<String>>) -> Self {
        Classified {
            status,
            resets_at: None,
            reason: reason.into(),
        }
    }
}

/// Classifies one attempt.
pub fn classify(c: &Collector, termination: Termination, timeout_secs: u64) -> Classified {
    match termination {
        Termination::TimedOut => {
            return Classified::new(
                Status::TimedOut,
                format!(
                    "no result within the {timeout_secs}s timeout; the process tree was killed"
                ),
            );
        }
        Termination::Cancelled => {
            return Classified::new(
                Status::Cancelled,
                "cancelled; the process tree was killed".to_string(),
            );
        }
        Termination::Stalled { quiet_secs } => {
            return Classified::new(
                Status::Stalled,
                format!(
                    "stalled: no output and no CPU use by its process tree for {quiet_secs}s (stall_timeout_secs); the process tree was stopped"
                ),
            );
        }
        Termination::Exited { .. } => {}
    }
    let Some(r) = &c.result else {
        let how = match termination {
            Termination::Exited {
                signal: Some(sig), ..
            } => format!("killed by signal {sig}"),
            Termination::Exited { code: Some(0), .. } if c.interrupted => {
                "interrupted (SIGINT) — exit 0 without a result is not success".to_string()
            }
            Termination::Exited { code, .. } => format!(
                "exit code {}",
                code.map_or_else(|| "unknown".into(), |c| c.to_string())
            ),
            _ => "unknown".into(),
        };
        if let Some(len) = c.oversize_records.iter().max() {
            // The process ended normally but its answer could not be read: that is not a
            // crash. The whole stream is in the raw output file.
            return Classified::new(
                Status::OutputTooLarge,
                format!(
                    "a stream-json record of {len} bytes exceeded the record cap (max_record_mib) and was not read; it was most likely the answer — the raw output file holds it ({how})"
                ),
            );
        }
        return Classified::new(Status::Crashed, format!("no result line: {how}"));
    };

    let subtype = r.subtype.as_deref().unwrap_or("");
    let terminal = r.terminal_reason.as_deref().unwrap_or("");
    if subtype == "error_max_turns" || terminal == "max_turns" {
        return Classified::new(
            Status::MaxTurns,
            first_error(r).or(Some("max turns reached".into())),
        );
    }
    if subtype == "error_max_budget_usd" || terminal == "budget_exhausted" {
        return Classified::new(
            Status::BudgetExceeded,
            first_error(r).or(Some("budget reached".into())),
        );
    }
    let is_error = r.is_error.unwrap_or(subtype != "success");
    if !is_error {
        if c.permission_denials.is_empty() {
            return Classified::new(Status::Succeeded, None);
        }
        let tools: Vec<&str> = c
            .permission_denials
            .iter()
            .map(|d| d.tool_name.as_str())
            .collect();
        let rules = super::permissions::rules_for(&c.permission_denials);
        let fix = if rules.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = rules.iter().map(|r| format!("\"{r}\"")).collect();
            format!(
                "; to allow it, run the task again with allowed_tools: [{}] (or a permission_mode that allows it)",
                quoted.join(", ")
            )
        };
        return Classified::new(
            Status::Unverified,
            format!(
                "the run reported success but {} tool use(s) were denied by the permission mode ({}): the work may not have been done{fix}",
                tools.len(),
                tools.join(", ")
            ),
        );
    }

    let text = r
        .result
        .as_deref()
        .or(c.synthetic_text.as_deref())
        .unwrap_or("");
    let error_text = first_error(r).unwrap_or_else(|| text.to_string());
    let status_code = r.api_error_status.or(c.last_retry_status);
    let hint = c
        .assistant_error
        .as_deref()
        .or(c.last_retry_error.as_deref());

    if let Some(resets_at) = usage_limit_reset(text) {
        return Classified {
            status: Status::RateLimited,
            resets_at: resets_at.or_else(|| rate_limit_reset(c)),
            reason: Some(error_text),
        };
    }
    if status_code == Some(429) || hint == Some("rate_limit") || c.rate_limit_rejected.is_some() {
        return Classified {
            status: Status::RateLimited,
            resets_at: rate_limit_reset(c),
            reason: Some(error_text),
        };
    }
    if status_code == Some(529) || hint == Some("overloaded") {
        return Classified::new(Status::Overloaded, error_text);
    }
    if matches!(status_code, Some(401 | 403))
        || matches!(hint, Some("authentication_failed" | "billing_error"))
        || text.contains("Not logged in")
        || text.contains("Invalid API key")
    {
        return Classified::new(Status::AuthFailed, error_text);
    }
    Classified::new(Status::ApiError, error_text)
}

fn first_error(r: &super::events::ResultEvent) -> Option<String> {
    r.errors.first().map(|e| match e {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn rate_limit_reset(c: &Collector) -> Option<DateTime<Utc>> {
    c.rate_limit_rejected
        .as_ref()
        .and_then(|i| i.resets_at)
        .and_then(epoch)
}

fn epoch(secs: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(secs, 0).single()
}

/// Recognises the subscription usage-limit texts. `Some(reset)` when it is one; the reset time
/// is known only for the `…|<epoch>` form (the `resets 5pm (Zone)` form needs the
/// `rate_limit_event` that precedes it).
fn usage_limit_reset(text: &str) -> Option<Option<DateTime<Utc>>> {
    if let Some(rest) = text.split("usage limit reached|").nth(1) {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return Some(digits.parse().ok().and_then(epoch));
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("hit your limit") || lower.contains("usage limit") {
        return Some(None);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claude::events::parse_line;

    fn run(lines: &[&str], t: Termination) -> Classified {
        let mut c = Collector::default();
        for l in lines {
            c.observe(parse_line(l.as_bytes()));
        }
        classify(&c, t, 60)
    }

    const EXIT0: Termination = Termination::Exited {
        code: Some(0),
        signal: None,
    };
    const EXIT1: Termination = Termination::Exited {
        code: Some(1),
        signal: None,
    };

    #[test]
    fn outcomes_table_of_the_real_cli() {
        // (what the stream shows, how it exited, expected status)
        let rows: &[(&[&str], Termination, Status)] = &[
            (
                &[
                    r#"{"type":"result","subtype":"success","is_error":false,"terminal_reason":"completed","result":"ok"}"#,
                ],
                EXIT0,
                Status::Succeeded,
            ),
            (
                &[
                    r#"{"type":"result","subtype":"error_max_turns","is_error":true,"errors":["Reached maximum number of turns (1)"]}"#,
                ],
                EXIT1,
                Status::MaxTurns,
            ),
            (
                &[
                    r#"{"type":"result","subtype":"success","is_error":true,"terminal_reason":"api_error","api_error_status":400,"result":"API Error: 400 bad"}"#,
                ],
                EXIT1,
                Status::ApiError,
            ),
            (
                &[
                    r#"{"type":"system","subtype":"api_retry","attempt":1,"error_status":401,"error":"authentication_failed"}"#,
                    r#"{"type":"result","subtype":"success","is_error":true,"terminal_reason":"api_error","api_error_status":401,"result":"API Error: 401"}"#,
                ],
                EXIT1,
                Status::AuthFailed,
            ),
            (
                &[
                    r#"{"type":"result","subtype":"success","is_error":true,"terminal_reason":"api_error","api_error_status":429,"result":"API Error: 429"}"#,
                ],
                EXIT1,
                Status::RateLimited,
            ),
            (
                &[
                    r#"{"type":"result","subtype":"success","is_error":true,"terminal_reason":"api_error","api_error_status":529,"result":"API Error: 529"}"#,
                ],
                EXIT1,
                Status::Overloaded,
            ),
            (
                &[
                    r#"{"type":"result","subtype":"success","is_error":true,"result":"Not logged in · Please run /login"}"#,
                ],
                EXIT1,
                Status::AuthFailed,
            ),
            (
                &[
                    r#"{"type":"result","subtype":"success","is_error":false,"result":"Done!","permission_denials":[{"tool_name":"Write","tool_use_id":"t","tool_input":{}}]}"#,
                ],
                EXIT0,
                Status::Unverified,
            ),
            (
                &[r#"{"type":"system","subtype":"init"}"#],
                Termination::Exited {
                    code: Some(143),
                    signal: None,
                },
                Status::Crashed,
            ),
            (
                &[
                    r#"{"type":"user","message":{"content":[{"type":"text","text":"[Request interrupted by user]"}]}}"#,
                ],
                EXIT0,
                Status::Crashed,
            ),
            (
                &[r#"{"type":"result","subtype":"error_max_budget_usd","is_error":true}"#],
                EXIT1,
                Status::BudgetExceeded,
            ),
            (
                &[r#"{"type":"result","subtype":"success","is_error":false}"#],
                Termination::TimedOut,
                Status::TimedOut,
            ),
            (&[], Termination::Cancelled, Status::Cancelled),
            (
                &[r#"{"type":"system","subtype":"init"}"#],
                Termination::Stalled { quiet_secs: 600 },
                Status::Stalled,
            ),
            (
                &[],
                Termination::Exited {
                    code: None,
                    signal: Some(9),
                },
                Status::Crashed,
            ),
        ];
        for (lines, t, want) in rows {
            assert_eq!(run(lines, *t).status, *want, "{lines:?} {t:?}");
        }
    }

    #[test]
    fn usage_limits_carry_their_reset_time() {
        let c = run(
            &[
                r#"{"type":"result","subtype":"success","is_error":true,"result":"Claude AI usage limit reached|1900000000"}"#,
            ],
            EXIT1,
        );
        assert_eq!(c.status, Status::RateLimited);
        assert_eq!(c.resets_at.unwrap().timestamp(), 1_900_000_000);

        let c = run(
            &[
                r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1900000500,"rateLimitType":"five_hour"}}"#,
                r#"{"type":"result","subtype":"success","is_error":true,"result":"You've hit your limit · resets 5pm (Europe/Vilnius)"}"#,
            ],
            EXIT1,
        );
        assert_eq!(c.status, Status::RateLimited);
        assert_eq!(c.resets_at.unwrap().timestamp(), 1_900_000_500);
    }

    #[test]
    fn reasons_name_what_happened() {
        let c = run(
            &[
                r#"{"type":"system","subtype":"permission_denied","tool_name":"Write","tool_use_id":"x"}"#,
                r#"{"type":"result","subtype":"success","is_error":false}"#,
            ],
            EXIT0,
        );
        assert!(c.reason.unwrap().contains("Write"));
        let c = run(
            &[],
            Termination::Exited {
                code: Some(3),
                signal: None,
            },
        );
        assert_eq!(c.reason.as_deref(), Some("no result line: exit code 3"));
    }
}
