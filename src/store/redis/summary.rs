//! The summary codec: the one-line form of an execution (`finished_ms|status|duration_ms|cost|
//! category|complexity[|acceptance]`, see "Key schema" in the [module documentation](super)) that the Lua
//! scripts aggregate and `stats` reads, and the escaping shared with key names.

use std::borrow::Cow;

use crate::store::{ExecutionRecord, HistoryFilter, StoreError};
use crate::types::result::Status;

/// What `stats` needs of one execution, as kept in `{p}:sum` (borrowed from the reply).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Summary<'a> {
    pub(super) finished_ms: i64,
    pub(super) status: Status,
    pub(super) duration_ms: u64,
    pub(super) cost: Option<f64>,
    pub(super) category: Option<Cow<'a, str>>,
    pub(super) complexity: Option<Cow<'a, str>>,
    /// Acceptance: `None` without checks, else whether they passed; and the repair number.
    pub(super) accepted: Option<bool>,
    pub(super) repairs: u32,
}

/// One line of a summary bucket: `{id}|{summary}`.
#[derive(Debug)]
pub(super) struct Row<'a> {
    pub(super) id: &'a str,
    pub(super) finished_ms: i64,
    pub(super) s: Summary<'a>,
}

/// Width of a summary bucket (`{p}:sumb:{hour}`); the Lua scripts use the same.
pub(super) const BUCKET_MS: i64 = 3_600_000;

/// The rows of the buckets that match the filter's status and time bounds (milliseconds, as
/// the SQLite store compares them). The text search is applied by the caller.
pub(super) fn rows<'a>(blobs: &'a [String], f: &HistoryFilter) -> Result<Vec<Row<'a>>, StoreError> {
    let since = f.since.map(|t| t.timestamp_millis());
    let until = f.until.map(|t| t.timestamp_millis());
    let mut out = Vec::new();
    for blob in blobs {
        for line in blob.split('\n').filter(|l| !l.is_empty()) {
            let row = line
                .split_once('|')
                .and_then(|(id, rest)| Some((id, Summary::parse(rest)?)))
                .ok_or_else(|| StoreError::CorruptSummary {
                    id: line.split('|').next().unwrap_or("?").to_string(),
                    detail: format!("unreadable summary row {line:?}"),
                })?;
            let (id, s) = row;
            if f.status.is_none_or(|st| st == s.status)
                && since.is_none_or(|t| s.finished_ms >= t)
                && until.is_none_or(|t| s.finished_ms <= t)
            {
                out.push(Row {
                    id,
                    finished_ms: s.finished_ms,
                    s,
                });
            }
        }
    }
    Ok(out)
}

/// `finished_ms|status|duration_ms|cost|category|complexity` (see the module doc).
pub(super) fn summary_of(r: &ExecutionRecord) -> String {
    fn opt(o: &Option<String>) -> String {
        o.as_deref()
            .map_or(String::new(), |s| format!("+{}", esc(s)))
    }
    // JSON has no NaN/infinity: such a cost reads back as unknown, so it is stored as unknown.
    let cost = r
        .result
        .total_cost_usd
        .filter(|c| c.is_finite())
        .map_or(String::new(), |c| c.to_string());
    // Only an execution with checks gets the seventh field: every other summary stays what
    // it was, so a record written before replays to the same summary.
    let accepted = match r.acceptance_outcome() {
        (None, _) => String::new(),
        (Some(passed), repairs) => format!("|{}{repairs}", if passed { 'p' } else { 'r' }),
    };
    format!(
        "{}|{}|{}|{}|{}|{}{accepted}",
        r.finished_at().timestamp_millis(),
        r.status().as_str(),
        r.result.duration_ms,
        cost,
        opt(&r.category),
        opt(&r.complexity)
    )
}

impl<'a> Summary<'a> {
    pub(super) fn parse(s: &'a str) -> Option<Summary<'a>> {
        let mut f = s.split('|');
        let finished_ms = f.next()?.parse().ok()?;
        let status = parse_status(f.next()?)?;
        let duration_ms = f.next()?.parse().ok()?;
        let cost = match f.next()? {
            "" => None,
            c => Some(c.parse().ok()?),
        };
        let opt = |x: &'a str| -> Option<Option<Cow<'a, str>>> {
            match x {
                "" => Some(None),
                x => Some(Some(unesc(x.strip_prefix('+')?))),
            }
        };
        let category = opt(f.next()?)?;
        let complexity = opt(f.next()?)?;
        // Written since acceptance checks exist: `p<repairs>` passed, `r<repairs>` rejected,
        // empty without checks. Older summaries end before it.
        let (accepted, repairs) = match f.next() {
            None | Some("") => (None, 0),
            Some(a) => {
                let passed = match a.as_bytes().first()? {
                    b'p' => true,
                    b'r' => false,
                    _ => return None,
                };
                (Some(passed), a.get(1..)?.parse().ok()?)
            }
        };
        if f.next().is_some() {
            return None;
        }
        Some(Summary {
            finished_ms,
            status,
            duration_ms,
            cost,
            category,
            complexity,
            accepted,
            repairs,
        })
    }
}

fn parse_status(s: &str) -> Option<Status> {
    s.parse().ok()
}

/// Escapes the characters the summary and key syntax use.
pub(super) fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '|', ':', '\n']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '|' => out.push_str("%7C"),
            ':' => out.push_str("%3A"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

pub(super) fn unesc(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.replace("%7C", "|")
            .replace("%3A", ":")
            .replace("%0A", "\n")
            .replace("%25", "%"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::result::ExecutionResult;
    use uuid::Uuid;

    fn rec(cat: Option<&str>, cx: Option<&str>, cost: Option<f64>) -> ExecutionRecord {
        let mut r = ExecutionResult::empty(Uuid::new_v4(), Status::TimedOut, vec![]);
        r.duration_ms = 1234;
        r.total_cost_usd = cost;
        ExecutionRecord::new(
            "t",
            "/",
            cat.map(Into::into),
            cx.map(Into::into),
            chrono::Utc::now(),
            r,
        )
    }

    #[test]
    fn summaries_round_trip_with_awkward_text() {
        for (cat, cx, cost) in [
            (Some("code|x:y%z\nq"), Some("high"), Some(0.1 + 0.2)),
            (None, None, None),
            (Some(""), None, Some(1e-9)),
            (Some("+plus"), Some("-"), Some(12345.678)),
        ] {
            let r = rec(cat, cx, cost);
            let text = summary_of(&r);
            let s = Summary::parse(&text).expect("parses");
            assert_eq!(s.status, Status::TimedOut);
            assert_eq!(s.duration_ms, 1234);
            assert_eq!(s.cost, cost);
            assert_eq!(s.category.as_deref(), cat);
            assert_eq!(s.complexity.as_deref(), cx);
            assert_eq!(s.finished_ms, r.finished_at().timestamp_millis());
        }
        assert_eq!(
            rec(None, None, Some(f64::NAN))
                .result
                .total_cost_usd
                .map(|_| ()),
            Some(())
        );
        let text = summary_of(&rec(None, None, Some(f64::NAN)));
        let nan = Summary::parse(&text).unwrap();
        assert_eq!(nan.cost, None);
    }

    #[test]
    fn escaped_class_names_cannot_collide() {
        assert_ne!(
            format!("{}:{}", esc("a:b"), esc("c")),
            format!("{}:{}", esc("a"), esc("b:c"))
        );
        assert_eq!(unesc(&esc("50%|a:b")), "50%|a:b");
        assert!(Summary::parse("1|nonsense|2|||").is_none());
        assert!(Summary::parse("1|succeeded|2|||x").is_none());
    }

    #[test]
    fn acceptance_is_a_seventh_field_only_when_there_were_checks() {
        let mut r = rec(Some("code"), Some("low"), None);
        let plain = summary_of(&r);
        assert_eq!(plain.split('|').count(), 6, "{plain}");
        let s = Summary::parse(&plain).unwrap();
        assert_eq!((s.accepted, s.repairs), (None, 0));
        r.result.acceptance = Some(crate::types::accept::Acceptance {
            passed: true,
            checks: vec![],
            cost_usd: None,
        });
        r.result.repair = Some(crate::types::accept::RepairLink {
            repairs: 2,
            executions: vec![],
        });
        let text = summary_of(&r);
        assert!(text.ends_with("|p2"), "{text}");
        let s = Summary::parse(&text).unwrap();
        assert_eq!((s.accepted, s.repairs), (Some(true), 2));
        assert!(Summary::parse("1|succeeded|2||||x1").is_none());
        assert!(Summary::parse("1|rejected|2||||r0").is_some_and(|s| s.accepted == Some(false)));
    }

    #[test]
    fn every_status_parses_back() {
        for st in Status::ALL {
            assert_eq!(parse_status(st.as_str()), Some(st));
        }
    }
}
