//! The `transcript` check: Claude Code's own record of the session must exist and contain the
//! final answer — an answer that is not in the transcript was not produced by this run.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::checks::{CheckState, Checks};
use crate::types::result::ExecutionResult;

/// A transcript larger than this is not read (the check says so).
const MAX_TRANSCRIPT_BYTES: u64 = 512 * 1024 * 1024;

/// Claude Code's own transcript: exists, is this session's, contains the final answer.
pub(super) async fn check(c: &mut Checks, r: &ExecutionResult) {
    let Some(session) = r.session_id.clone() else {
        c.add(
            "transcript",
            CheckState::Skip,
            "no Claude Code session (the CLI never started one)",
        );
        return;
    };
    let Some(path) = r.transcript_path.clone() else {
        c.add(
            "transcript",
            CheckState::Fail,
            "the location of Claude Code's transcript was not recorded (no HOME?)",
        );
        return;
    };
    let answer = r.result.clone();
    let p = PathBuf::from(&path);
    let found =
        tokio::task::spawn_blocking(move || scan_transcript(&p, &session, answer.as_deref()))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
    match found {
        Ok(TranscriptScan {
            session_seen,
            answer_found,
        }) => {
            if !session_seen {
                c.add(
                    "transcript",
                    CheckState::Fail,
                    format!("{path} exists but is not the transcript of this session"),
                );
            } else if answer_found == Some(false) {
                c.add(
                    "transcript",
                    CheckState::Fail,
                    format!("{path} does not contain the final answer: the answer was not produced in this session"),
                );
            } else {
                c.add(
                    "transcript",
                    CheckState::Pass,
                    match answer_found {
                        Some(_) => format!("{path} contains the final answer"),
                        None => format!("{path} exists (no final text to compare)"),
                    },
                );
            }
        }
        Err(e) => c.add(
            "transcript",
            CheckState::Fail,
            format!("Claude Code's transcript {path}: {e}"),
        ),
    }
}

struct TranscriptScan {
    session_seen: bool,
    /// `None` when there is no answer to look for.
    answer_found: Option<bool>,
}

fn scan_transcript(
    path: &Path,
    session: &str,
    answer: Option<&str>,
) -> Result<TranscriptScan, String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".to_string(),
        _ => e.to_string(),
    })?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    if meta.len() > MAX_TRANSCRIPT_BYTES {
        return Err(format!(
            "is larger than {MAX_TRANSCRIPT_BYTES} bytes; not read"
        ));
    }
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let answer = answer.map(str::trim).filter(|a| !a.is_empty());
    let mut scan = TranscriptScan {
        session_seen: false,
        answer_found: answer.map(|_| false),
    };
    // The model's text, in order: the answer is one text block, or (over several blocks of the
    // last turn) their concatenation.
    let mut texts: Vec<String> = Vec::new();
    for line in std::io::BufReader::new(f).lines() {
        let Ok(line) = line else { break };
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if v.get("sessionId").and_then(Value::as_str) == Some(session) {
            scan.session_seen = true;
        }
        if answer.is_some()
            && v.get("type").and_then(Value::as_str) == Some("assistant")
            && let Some(blocks) = v.pointer("/message/content").and_then(Value::as_array)
        {
            texts.extend(
                blocks
                    .iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .map(str::to_string),
            );
        }
    }
    if let Some(a) = answer {
        let found = texts.iter().any(|t| t.contains(a))
            || ["\n\n", "\n", ""]
                .iter()
                .any(|sep| texts.join(sep).contains(a));
        scan.answer_found = Some(found);
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript(lines: &[Value]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for l in lines {
            use std::io::Write;
            writeln!(f, "{l}").unwrap();
        }
        f
    }

    fn assistant(text: &str) -> Value {
        serde_json::json!({"type": "assistant", "sessionId": "s1",
            "message": {"content": [{"type": "text", "text": text}]}})
    }

    #[test]
    fn the_answer_must_be_in_the_models_own_text_of_this_session() {
        let f = transcript(&[
            serde_json::json!({"type": "user", "sessionId": "s1"}),
            assistant("Done"),
            assistant("Done! I wrote notes.txt."),
        ]);
        let s = scan_transcript(f.path(), "s1", Some("Done! I wrote notes.txt.")).unwrap();
        assert!(s.session_seen && s.answer_found == Some(true));
        // A short block that happens to be part of the answer is not the answer.
        let f = transcript(&[assistant("Done")]);
        let s = scan_transcript(f.path(), "s1", Some("Done! I wrote notes.txt.")).unwrap();
        assert_eq!(s.answer_found, Some(false));
        // Another session's transcript.
        let s = scan_transcript(f.path(), "other", Some("Done")).unwrap();
        assert!(!s.session_seen);
        // An answer made of two blocks of the last turn.
        let f = transcript(&[assistant("Part one."), assistant("Part two.")]);
        let s = scan_transcript(f.path(), "s1", Some("Part one.\n\nPart two.")).unwrap();
        assert_eq!(s.answer_found, Some(true));
        assert!(scan_transcript(Path::new("/nonexistent/x.jsonl"), "s1", None).is_err());
        assert!(scan_transcript(Path::new("/dev/zero"), "s1", None).is_err());
    }
}
