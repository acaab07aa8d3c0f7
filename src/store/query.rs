//! History queries as callers write them (MCP tool and CLI share this shape), with the
//! validation that turns them into a [`HistoryFilter`]: bad dates and statuses are clear
//! errors, limits are capped.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::HistoryFilter;
use crate::types::result::Status;

/// Most executions one query returns.
pub(crate) const MAX_LIMIT: usize = 500;
pub(crate) const DEFAULT_LIMIT: usize = 20;

/// Filters for the history. Times are RFC 3339 (`2026-11-25T10:00:00Z`), a date
/// (`2026-11-25`, midnight UTC), or an age (`30m`, `12h`, `7d`: that long ago).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// How many executions to return (default 20, at most 500).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub limit: Option<i64>,
    /// Only executions that ended with this status.
    #[serde(default)]
    #[schemars(with = "Option<Status>")]
    pub status: Option<String>,
    /// Only executions finished since: RFC 3339, a date (`2026-01-31`) or an age (`30m`,
    /// `12h`, `7d`).
    #[serde(default)]
    pub since: Option<String>,
    /// Only executions finished until then (forms as `since`).
    #[serde(default)]
    pub until: Option<String>,
    /// Only tasks whose text contains this (case-insensitive).
    #[serde(default)]
    pub search: Option<String>,
    /// Include statistics (default `true`).
    #[serde(default)]
    pub include_stats: Option<bool>,
}

impl HistoryQuery {
    pub fn to_filter(&self) -> Result<HistoryFilter, String> {
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(n) if n < 1 => return Err(format!("`limit` must be at least 1 (got {n})")),
            Some(n) => (n as usize).min(MAX_LIMIT),
        };
        let status = self.status.as_deref().map(parse_status).transpose()?;
        let since = self
            .since
            .as_deref()
            .map(|t| parse_time("since", t))
            .transpose()?;
        let until = self
            .until
            .as_deref()
            .map(|t| parse_time("until", t))
            .transpose()?;
        if let (Some(s), Some(u)) = (since, until)
            && s > u
        {
            return Err(format!("`since` ({s}) is after `until` ({u})"));
        }
        Ok(HistoryFilter {
            status,
            since,
            until,
            search: self.search.clone().filter(|s| !s.is_empty()),
            limit,
            offset: 0,
        })
    }
}

/// Parses a status name, listing the valid ones when it is not one.
pub(crate) fn parse_status(text: &str) -> Result<Status, String> {
    text.trim().parse()
}

/// RFC 3339, a date, or an age such as `7d`.
pub(crate) fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        && let Some(dt) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(dt.and_utc());
    }
    if let Some(unit) = t.chars().last()
        && let Ok(n) = t[..t.len() - unit.len_utf8()].parse::<i64>()
        && n >= 0
    {
        let secs = match unit {
            's' => Some(n),
            'm' => n.checked_mul(60),
            'h' => n.checked_mul(3600),
            'd' => n.checked_mul(86_400),
            'w' => n.checked_mul(7 * 86_400),
            _ => None,
        };
        if let Some(d) = secs.and_then(chrono::Duration::try_seconds)
            && let Some(t) = Utc::now().checked_sub_signed(d)
        {
            return Ok(t);
        }
    }
    Err(format!(
        "`{field}` is not a time: `{text}` (use RFC 3339 like 2026-11-25T10:00:00Z, a date like 2026-11-25, or an age like 30m, 12h, 7d)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_three_forms_and_bad_ones_are_explained() {
        // Dates relative to today: the parse must not depend on when the suite runs.
        let day = (Utc::now() - chrono::Duration::days(12)).date_naive();
        assert_eq!(
            parse_time("since", &day.to_string()).unwrap().to_rfc3339(),
            format!("{day}T00:00:00+00:00")
        );
        assert!(parse_time("since", &format!("{day}T10:00:00+02:00")).is_ok());
        let week = parse_time("since", "7d").unwrap();
        assert!((Utc::now() - week).num_days() == 7);
        for bad in [
            "yesterday",
            "2026-13-01",
            "-5d",
            "5y",
            "",
            "99999999999999999d",
        ] {
            let e = parse_time("since", bad).unwrap_err();
            assert!(e.contains("`since` is not a time"), "{bad}: {e}");
        }
    }

    #[test]
    fn queries_validate_and_cap() {
        let q = HistoryQuery {
            limit: Some(100_000),
            status: Some("timed_out".into()),
            ..Default::default()
        };
        let f = q.to_filter().unwrap();
        assert_eq!((f.limit, f.status), (MAX_LIMIT, Some(Status::TimedOut)));
        let q = HistoryQuery {
            limit: Some(0),
            ..Default::default()
        };
        assert!(q.to_filter().unwrap_err().contains("limit"));
        let q = HistoryQuery {
            status: Some("done".into()),
            ..Default::default()
        };
        assert!(q.to_filter().unwrap_err().contains("unknown status"));
        let q = HistoryQuery {
            since: Some("2026-02-01".into()),
            until: Some("2026-01-01".into()),
            ..Default::default()
        };
        assert!(q.to_filter().unwrap_err().contains("after"));
    }
}
