//! The report as markdown, for people (`cc-executor verify --markdown`, `verify_execution`
//! with `markdown`): the same verdicts, checks and files as the JSON report.

use super::VerifyReport;
use super::checks::CheckState;
use super::written_files::file_state;

/// The report as markdown.
pub fn to_markdown(r: &VerifyReport) -> String {
    let mut s = format!(
        "# cc-executor verification\n\nVerdict: **{}** — {} verified, {} unverified, {} tampered\n\n",
        r.verdict.as_str(),
        r.counts.verified,
        r.counts.unverified,
        r.counts.tampered
    );
    for n in &r.notes {
        s.push_str(&format!("> {n}\n\n"));
    }
    for e in &r.executions {
        s.push_str(&format!(
            "## {} — {}\n\n",
            e.execution_id,
            e.verdict.as_str()
        ));
        if let Some(t) = &e.task {
            s.push_str(&format!(
                "Task: {}\n\n",
                t.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
        s.push_str("| check | result | detail |\n|---|---|---|\n");
        for k in &e.checks {
            let state = match k.state {
                CheckState::Pass => "pass",
                CheckState::Fail => "FAIL",
                CheckState::Tampered => "TAMPERED",
                CheckState::Skip => "skip",
            };
            s.push_str(&format!(
                "| {} | {state} | {} |\n",
                k.name,
                k.detail.replace('|', "\\|").replace('\n', " ")
            ));
        }
        if !e.files.is_empty() {
            s.push_str("\n| file | state |\n|---|---|\n");
            for f in &e.files {
                s.push_str(&format!("| `{}` | {} |\n", f.path, file_state(f.state)));
            }
        }
        s.push('\n');
    }
    s
}
