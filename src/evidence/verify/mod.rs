//! `verify_execution` / `cc-executor verify`: checks an execution against its evidence and
//! against what really happened, each check reported on its own, and a verdict that reflects
//! every check — never a default PASS.
//!
//! Checks, per execution:
//!
//! | check | passes when | on failure |
//! |---|---|---|
//! | `record` | the history store has the record | tampered |
//! | `response_file` | the response file exists, belongs to this execution, and its SHA-256 is the one its chain link (and the record) names | tampered |
//! | `chain` | the link recomputes, follows its predecessor and is followed by its successor, and equals the record's copy | tampered |
//! | `record_matches_response` | the store record says what the response file says | tampered |
//! | `status` | the execution succeeded | unverified |
//! | `uuid_echo` | the answer contains the execution's UUID (re-checked from the answer text) | unverified (skipped when the hook was off) |
//! | `transcript` | Claude Code's own transcript of the session exists and contains the final answer | unverified |
//! | `permission_denials` | no tool use was denied | unverified |
//! | `files` | every file the run wrote still exists | unverified; a file changed since is reported (`modified_since`) but does not fail the check: later steps legitimately edit files |
//!
//! Verdict: `tampered` when any hash or chain check fails, else `unverified` when any other
//! check fails, else `verified`.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::artifacts::{ResponseDocument, read_response};
use super::chain::{ChainLink, ChainPos, GENESIS, sha256_hex};
use crate::exec::result::{ExecutionResult, Status};
use crate::store::{ExecutionRecord, HistoryFilter, HistoryStore, StoreError};

/// `last_n` above this is capped (and the report says so).
pub const MAX_LAST_N: usize = 100;
/// Response files looked at when searching the evidence directory for files without a link.
const MAX_ORPHAN_SCAN: usize = 10_000;
/// A transcript larger than this is not read (the check says so).
const MAX_TRANSCRIPT_BYTES: u64 = 512 * 1024 * 1024;

/// Errors that stop a verification before it starts.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "unknown execution id {0}: no history record, no response file and no chain link has it, and it is no task-list run"
    )]
    Unknown(Uuid),
    #[error("last_n must be at least 1 (it is capped at {MAX_LAST_N})")]
    ZeroLast,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The overall judgement of one execution.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed.
    Verified,
    /// Some evidence is missing or contradicts the claimed work (see `reasons`).
    Unverified,
    /// A hash or chain check failed: something was edited, deleted, inserted or fabricated.
    Tampered,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Unverified => "unverified",
            Verdict::Tampered => "tampered",
        }
    }
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Pass,
    /// Evidence missing or contradicting: makes the verdict `unverified`.
    Fail,
    /// A hash or the chain is broken: makes the verdict `tampered`.
    Tampered,
    /// Not applicable (e.g. the UUID hook was off); says why.
    Skip,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Check {
    pub name: String,
    pub state: CheckState,
    pub detail: String,
}

/// What became of a file the run wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Its content is what the run wrote.
    AsWritten,
    /// It exists but its content changed since the run.
    ModifiedSince,
    /// It does not exist.
    Missing,
    /// It could not be read.
    Unreadable,
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileCheck {
    pub path: String,
    pub state: FileState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256_written: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256_now: Option<String>,
    /// `write_content` or `after_run` (see the result's `written_files`).
    pub source: String,
}

/// The verification of one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExecutionVerification {
    pub execution_id: Uuid,
    pub verdict: Verdict,
    /// What a person should look at: the detail of every failed check.
    pub reasons: Vec<String>,
    pub checks: Vec<Check>,
    pub files: Vec<FileCheck>,
    /// The execution's status, as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The first 200 characters of the task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_file: Option<String>,
}

/// Counts per verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerdictCounts {
    pub verified: u64,
    pub unverified: u64,
    pub tampered: u64,
}

/// What `verify_execution` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerifyReport {
    /// The worst verdict of all executions checked (`verified` only when all are).
    pub verdict: Verdict,
    pub counts: VerdictCounts,
    pub executions: Vec<ExecutionVerification>,
    /// Things about the request itself (e.g. `last_n` was capped).
    pub notes: Vec<String>,
    /// The same as a markdown report, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

/// Which executions to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One execution — or, given a task-list run id, every execution of its tasks.
    One(Uuid),
    /// The newest N in the history (capped at [`MAX_LAST_N`]), plus any response file in the
    /// evidence directory that has no chain link (fabricated or inserted).
    Last(usize),
}

/// Verifies executions; `markdown` adds the report as markdown.
pub async fn verify(
    data_dir: &Path,
    store: &dyn HistoryStore,
    target: Target,
    markdown: bool,
) -> Result<VerifyReport, VerifyError> {
    let mut notes = Vec::new();
    let mut executions = Vec::new();
    match target {
        Target::One(id) => match verify_one(data_dir, store, id).await {
            // A task-list run's id: every execution of its tasks (interrupted ones included).
            Err(VerifyError::Unknown(_)) => {
                let Some(run) = store.get_run(id).await? else {
                    return Err(VerifyError::Unknown(id));
                };
                notes.push(format!(
                    "run {id}: the executions of its {} task(s)",
                    run.tasks.len()
                ));
                for e in run.tasks.iter().flat_map(|t| t.executions.iter()) {
                    executions.push(verify_one(data_dir, store, *e).await?);
                }
                if executions.is_empty() {
                    notes.push("no task of this run has run yet: nothing to verify".into());
                }
            }
            r => executions.push(r?),
        },
        Target::Last(0) => return Err(VerifyError::ZeroLast),
        Target::Last(n) => {
            let n = if n > MAX_LAST_N {
                notes.push(format!(
                    "last_n {n} was capped at {MAX_LAST_N}; verify older executions by id"
                ));
                MAX_LAST_N
            } else {
                n
            };
            let records = store
                .list(&HistoryFilter {
                    limit: n,
                    ..Default::default()
                })
                .await?;
            if records.is_empty() {
                notes.push("the history is empty: nothing to verify".into());
            }
            for r in &records {
                executions.push(verify_one(data_dir, store, r.execution_id).await?);
            }
            // The newest links too: an execution whose history record was deleted is not in
            // the list above, but its link still is in the chain.
            if let Some(head) = store.chain_link(ChainPos::Head).await? {
                let first = head.seq.saturating_sub(n as u64 - 1).max(1);
                for seq in first..=head.seq {
                    if let Some(l) = store.chain_link(ChainPos::Seq(seq)).await?
                        && !executions.iter().any(|e| e.execution_id == l.execution_id)
                    {
                        executions.push(verify_one(data_dir, store, l.execution_id).await?);
                    }
                }
            }
            for id in unlinked_response_files(data_dir, store, &mut notes).await? {
                if !executions.iter().any(|e| e.execution_id == id) {
                    executions.push(verify_one(data_dir, store, id).await?);
                }
            }
        }
    }
    let mut counts = VerdictCounts::default();
    for e in &executions {
        match e.verdict {
            Verdict::Verified => counts.verified += 1,
            Verdict::Unverified => counts.unverified += 1,
            Verdict::Tampered => counts.tampered += 1,
        }
    }
    let verdict = executions
        .iter()
        .map(|e| e.verdict)
        .max()
        .unwrap_or(Verdict::Unverified);
    let mut report = VerifyReport {
        verdict,
        counts,
        executions,
        notes,
        markdown: None,
    };
    if markdown {
        report.markdown = Some(to_markdown(&report));
    }
    Ok(report)
}

/// Response files named `<uuid>.json` in the evidence directory that have no chain link.
async fn unlinked_response_files(
    data_dir: &Path,
    store: &dyn HistoryStore,
    notes: &mut Vec<String>,
) -> Result<Vec<Uuid>, StoreError> {
    let dir = super::evidence_dir(data_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::new();
    for (i, entry) in entries.flatten().enumerate() {
        if i == MAX_ORPHAN_SCAN {
            notes.push(format!(
                "only the first {MAX_ORPHAN_SCAN} files of {} were searched for response files without a chain link",
                dir.display()
            ));
            break;
        }
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| Uuid::parse_str(n).ok())
        else {
            continue;
        };
        if store.chain_link(ChainPos::Execution(id)).await?.is_none() {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Collects checks and judges.
#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn add(&mut self, name: &str, state: CheckState, detail: impl Into<String>) {
        self.0.push(Check {
            name: name.into(),
            state,
            detail: detail.into(),
        });
    }
}

/// Verifies one execution.
pub async fn verify_one(
    data_dir: &Path,
    store: &dyn HistoryStore,
    id: Uuid,
) -> Result<ExecutionVerification, VerifyError> {
    let record = store.get(id).await?;
    let link = store.chain_link(ChainPos::Execution(id)).await?;
    let claimed = record.as_ref().and_then(|r| r.result.evidence.clone());
    // Always where this data dir keeps it, not wherever a (possibly edited) record points.
    let response_path = super::response_path(data_dir, id);
    let response = {
        let p = response_path.clone();
        tokio::task::spawn_blocking(move || read_response(&p))
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?
    };
    let file_exists = !matches!(response, Ok(None));
    if record.is_none() && link.is_none() && !file_exists {
        return Err(VerifyError::Unknown(id));
    }
    let mut c = Checks::default();

    // record
    match &record {
        Some(_) => c.add("record", CheckState::Pass, "in the history store"),
        None => c.add(
            "record",
            CheckState::Tampered,
            "no history record, although a response file or chain link exists: the record was deleted, or the evidence was fabricated",
        ),
    }
    let has_evidence = claimed.is_some() || link.is_some();
    if record.is_some() && !has_evidence && !file_exists {
        let why = record
            .as_ref()
            .and_then(|r| {
                r.result
                    .warnings
                    .iter()
                    .find(|w| w.contains("evidence"))
                    .cloned()
            })
            .unwrap_or_else(|| {
                "no evidence was written for this execution (recorded before evidence existed?)"
                    .into()
            });
        c.add("response_file", CheckState::Fail, why);
    }

    // response_file
    let mut doc: Option<ResponseDocument> = None;
    match response {
        Ok(None) if has_evidence => c.add(
            "response_file",
            CheckState::Tampered,
            format!(
                "the response file {} is missing (deleted?) although the chain links it",
                response_path.display()
            ),
        ),
        Ok(None) => {}
        Err(e) => c.add(
            "response_file",
            CheckState::Tampered,
            format!(
                "the response file {} is not a readable response file: {e}",
                response_path.display()
            ),
        ),
        Ok(Some((bytes, d))) => {
            let sha = sha256_hex(&bytes);
            let mut problems = Vec::new();
            if d.execution_uuid != id || d.record.execution_id != id {
                problems.push(format!(
                    "it belongs to execution {}, not {id} (moved or swapped)",
                    d.record.execution_id
                ));
            }
            match &link {
                Some(l) if l.response_sha256 != sha => problems.push(format!(
                    "its SHA-256 is {sha} but chain link #{} says {} (edited)",
                    l.seq, l.response_sha256
                )),
                Some(_) => {}
                None => problems
                    .push("it has no link in the evidence chain (fabricated or inserted)".into()),
            }
            if let Some(e) = &claimed
                && e.response_sha256 != sha
                && link
                    .as_ref()
                    .is_none_or(|l| l.response_sha256 != e.response_sha256)
            {
                problems.push(format!(
                    "the history record names SHA-256 {} for it",
                    e.response_sha256
                ));
            }
            if problems.is_empty() {
                c.add(
                    "response_file",
                    CheckState::Pass,
                    format!("{} (sha256 {sha})", response_path.display()),
                );
            } else {
                c.add(
                    "response_file",
                    CheckState::Tampered,
                    format!(
                        "the response file {}: {}",
                        response_path.display(),
                        problems.join("; ")
                    ),
                );
            }
            doc = Some(d);
        }
    }

    // chain
    match &link {
        Some(l) => {
            let (state, detail) = check_link(store, l, claimed.as_ref().map(|e| &e.chain)).await?;
            c.add("chain", state, detail);
        }
        None if has_evidence || record.is_some() || doc.is_some() => c.add(
            "chain",
            CheckState::Tampered,
            match &claimed {
                Some(e) => format!(
                    "the record claims chain link #{}, but the store's chain has no link for this execution (removed?)",
                    e.chain.seq
                ),
                None if record.is_some() && !file_exists => {
                    "no chain link (no evidence was written)".into()
                }
                None => "no link in the evidence chain".into(),
            },
        ),
        None => {}
    }
    // A record without any evidence at all is unverified, not tampered.
    if record.is_some()
        && !has_evidence
        && !file_exists
        && let Some(last) = c.0.last_mut()
        && last.name == "chain"
    {
        last.state = CheckState::Fail;
    }

    // record_matches_response
    if let (Some(r), Some(d)) = (&record, &doc) {
        let diffs = differences(r, &d.record);
        if diffs.is_empty() {
            c.add(
                "record_matches_response",
                CheckState::Pass,
                "the history record and the response file agree",
            );
        } else {
            c.add(
                "record_matches_response",
                CheckState::Tampered,
                format!(
                    "the history record and the response file disagree on: {}",
                    diffs.join(", ")
                ),
            );
        }
    }

    // The rest reads what the execution claims: the response file when there is one (it is
    // hash-protected), else the record.
    let subject: Option<&ExecutionRecord> = doc.as_ref().map(|d| &d.record).or(record.as_ref());
    let mut files = Vec::new();
    if let Some(s) = subject {
        outcome_checks(&mut c, s, &mut files).await;
    }

    let checks = c.0;
    let verdict = if checks.iter().any(|k| k.state == CheckState::Tampered) {
        Verdict::Tampered
    } else if checks.iter().any(|k| k.state == CheckState::Fail) {
        Verdict::Unverified
    } else {
        Verdict::Verified
    };
    let reasons = checks
        .iter()
        .filter(|k| matches!(k.state, CheckState::Fail | CheckState::Tampered))
        .map(|k| format!("{}: {}", k.name, k.detail))
        .collect();
    Ok(ExecutionVerification {
        execution_id: id,
        verdict,
        reasons,
        checks,
        files,
        status: subject.map(|s| s.result.status),
        task: subject.map(|s| crate::claude::collect::truncate_chars(&s.task, 200)),
        response_file: file_exists.then(|| response_path.display().to_string()),
    })
}

/// The chain around one link.
async fn check_link(
    store: &dyn HistoryStore,
    l: &ChainLink,
    claimed: Option<&ChainLink>,
) -> Result<(CheckState, String), StoreError> {
    let mut problems = Vec::new();
    if !l.is_self_consistent() {
        problems.push(format!(
            "link #{} does not hash to its recorded hash (the link was edited)",
            l.seq
        ));
    }
    let prev_ok = if l.seq <= 1 {
        if l.prev_hash != GENESIS {
            problems.push(format!(
                "link #{} is first but does not start from the genesis hash",
                l.seq
            ));
        }
        "is the first link".to_string()
    } else {
        match store.chain_link(ChainPos::Seq(l.seq - 1)).await? {
            None => {
                problems.push(format!(
                    "link #{} is missing (deleted), so #{} follows nothing",
                    l.seq - 1,
                    l.seq
                ));
                String::new()
            }
            Some(p) => {
                if p.hash != l.prev_hash {
                    problems.push(format!(
                        "link #{} does not follow #{}: its previous hash is {} but #{} hashes to {} (links inserted, removed or reordered)",
                        l.seq, p.seq, l.prev_hash, p.seq, p.hash
                    ));
                }
                if !p.is_self_consistent() {
                    problems.push(format!(
                        "the previous link #{} does not hash to its recorded hash (edited)",
                        p.seq
                    ));
                }
                format!("follows #{}", p.seq)
            }
        }
    };
    let next_ok = match store.chain_link(ChainPos::Seq(l.seq + 1)).await? {
        None => match store.chain_link(ChainPos::Head).await? {
            Some(h) if h.seq > l.seq => {
                problems.push(format!(
                    "link #{} is missing (deleted) although the head is #{}",
                    l.seq + 1,
                    h.seq
                ));
                String::new()
            }
            _ => "is the head".to_string(),
        },
        Some(n) => {
            if n.prev_hash != l.hash {
                problems.push(format!(
                    "the next link #{} does not follow #{} (links inserted, removed or reordered)",
                    n.seq, l.seq
                ));
            }
            format!("is followed by #{}", n.seq)
        }
    };
    if let Some(cl) = claimed
        && cl != l
    {
        problems.push(format!(
            "the record's copy of the link (#{}, {}) differs from the store's chain (#{}, {})",
            cl.seq, cl.hash, l.seq, l.hash
        ));
    }
    Ok(if problems.is_empty() {
        (
            CheckState::Pass,
            format!("link #{} intact; {prev_ok}, {next_ok}", l.seq),
        )
    } else {
        (CheckState::Tampered, problems.join("; "))
    })
}

/// Fields on which the store record and the response file must agree.
fn differences(store: &ExecutionRecord, file: &ExecutionRecord) -> Vec<String> {
    let (a, b) = (&store.result, &file.result);
    let mut d = Vec::new();
    let mut cmp = |name: &str, same: bool| {
        if !same {
            d.push(name.to_string());
        }
    };
    cmp("task", store.task == file.task);
    cmp("cwd", store.cwd == file.cwd);
    cmp("status", a.status == b.status);
    cmp(
        "result",
        match &store.answer_elsewhere {
            None => a.result == b.result,
            // A big answer: the history keeps its beginning and a reference to the whole.
            Some(r) => b.result.as_deref().is_some_and(|whole| {
                whole.len() as u64 == r.bytes
                    && crate::evidence::chain::sha256_hex(whole.as_bytes()) == r.sha256
                    && whole.starts_with(a.result.as_deref().unwrap_or(""))
            }),
        },
    );
    cmp("session_id", a.session_id == b.session_id);
    cmp("files_written", a.files_written == b.files_written);
    cmp(
        "permission_denials",
        a.permission_denials == b.permission_denials,
    );
    cmp("total_cost_usd", a.total_cost_usd == b.total_cost_usd);
    cmp("finished_at", a.finished_at == b.finished_at);
    cmp("uuid_echo", a.uuid_echo == b.uuid_echo);
    cmp("written_files", a.written_files == b.written_files);
    if d.is_empty() {
        let mut without = a.clone();
        without.evidence = None;
        if store.answer_elsewhere.is_some() {
            without.result.clone_from(&b.result);
        }
        if &without != b {
            d.push("other result fields".into());
        }
    }
    d
}

/// Checks of what the execution did: status, UUID echo, transcript, denials, files.
async fn outcome_checks(c: &mut Checks, s: &ExecutionRecord, files: &mut Vec<FileCheck>) {
    let r = &s.result;
    if r.status == Status::Succeeded {
        c.add("status", CheckState::Pass, "succeeded");
    } else {
        c.add(
            "status",
            CheckState::Fail,
            format!(
                "the execution ended `{}`{}",
                r.status,
                r.warnings
                    .first()
                    .map(|w| format!(": {w}"))
                    .unwrap_or_default()
            ),
        );
    }

    match &r.uuid_echo {
        None => c.add(
            "uuid_echo",
            CheckState::Skip,
            "the UUID hook was off for this execution (or nothing ran)",
        ),
        Some(_) => {
            // Re-checked from the answer itself, not taken from the recorded flag.
            let again = super::uuid_hook::check(
                s.execution_id,
                r.result.as_deref(),
                r.structured_output.as_ref(),
            );
            if again.echoed {
                let json = match again.last_key {
                    Some(true) => " (JSON answer; `execution_uuid` is its last key)",
                    Some(false) => " (JSON answer, but `execution_uuid` is not its last key)",
                    None => "",
                };
                c.add(
                    "uuid_echo",
                    CheckState::Pass,
                    format!("the answer contains the execution UUID{json}"),
                );
            } else {
                c.add(
                    "uuid_echo",
                    CheckState::Fail,
                    "the answer does not contain the execution UUID it was asked to echo: it may not come from this run, or the model ignored the instruction",
                );
            }
        }
    }

    transcript_check(c, r).await;

    if r.permission_denials.is_empty() {
        c.add("permission_denials", CheckState::Pass, "none");
    } else {
        let what: Vec<String> = r
            .permission_denials
            .iter()
            .map(|d| {
                let target = d
                    .tool_input
                    .as_ref()
                    .and_then(|i| i.get("file_path").or_else(|| i.get("command")))
                    .and_then(Value::as_str)
                    .map(|t| format!(" {t}"))
                    .unwrap_or_default();
                format!("{}{target}", d.tool_name)
            })
            .collect();
        c.add(
            "permission_denials",
            CheckState::Fail,
            format!(
                "{} tool use(s) were denied by the permission mode ({}): the work they were for was not done",
                what.len(),
                what.join(", ")
            ),
        );
    }

    let written = r.written_files.clone();
    let checked = tokio::task::spawn_blocking(move || {
        written
            .iter()
            .map(|w| {
                let now = super::files::hash_file(Path::new(&w.path));
                let (state, sha256_now) = match now {
                    Ok(None) => (FileState::Missing, None),
                    Err(_) => (FileState::Unreadable, None),
                    Ok(Some(h)) if Some(&h) == w.sha256.as_ref() => (FileState::AsWritten, Some(h)),
                    Ok(Some(h)) => (FileState::ModifiedSince, Some(h)),
                };
                FileCheck {
                    path: w.path.clone(),
                    state,
                    sha256_written: w.sha256.clone(),
                    sha256_now,
                    source: w.source.clone(),
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    if r.files_written.is_empty() {
        c.add("files", CheckState::Pass, "the run wrote no files");
    } else if checked.len() < r.files_written.len() {
        c.add(
            "files",
            CheckState::Fail,
            "the run lists written files but no content hashes were recorded for them",
        );
    } else {
        let bad: Vec<String> = checked
            .iter()
            .filter(|f| matches!(f.state, FileState::Missing | FileState::Unreadable))
            .map(|f| format!("{} is {}", f.path, file_state(f.state)))
            .collect();
        let modified: Vec<&str> = checked
            .iter()
            .filter(|f| f.state == FileState::ModifiedSince)
            .map(|f| f.path.as_str())
            .collect();
        let note = if modified.is_empty() {
            String::new()
        } else {
            format!("; changed since the run: {}", modified.join(", "))
        };
        if bad.is_empty() {
            c.add(
                "files",
                CheckState::Pass,
                format!("{} file(s) exist{note}", checked.len()),
            );
        } else {
            c.add(
                "files",
                CheckState::Fail,
                format!("{}{note}", bad.join("; ")),
            );
        }
    }
    *files = checked;
}

fn file_state(s: FileState) -> &'static str {
    match s {
        FileState::AsWritten => "as_written",
        FileState::ModifiedSince => "modified_since",
        FileState::Missing => "missing",
        FileState::Unreadable => "unreadable",
    }
}

/// Claude Code's own transcript: exists, is this session's, contains the final answer.
async fn transcript_check(c: &mut Checks, r: &ExecutionResult) {
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

    #[test]
    fn the_verdict_is_the_worst_check() {
        assert!(Verdict::Tampered > Verdict::Unverified && Verdict::Unverified > Verdict::Verified);
    }
}
