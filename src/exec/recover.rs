//! Executions a dead process left behind: found in the in-flight journal, their process trees
//! stopped, recorded as `interrupted` with whatever evidence they left.
//!
//! A server (or `run`) that dies by SIGKILL, OOM or power loss cannot record what it was
//! running. The next process on the same data dir does it for it, before it serves: every
//! journal entry whose owner process is gone is claimed (only one recoverer wins a claim), the
//! leftovers of its `claude` tree are killed (they carry `CC_EXECUTOR_EXECUTION_ID`), and a
//! record is written through the same recording path as every execution — evidence, chain
//! link, history — with what its raw output shows (session, tools used, files written, the
//! last thing Claude said). An entry whose record did reach the history (a crash between the
//! two writes) just leaves the journal.

use std::path::Path;

use chrono::Utc;
use uuid::Uuid;

use super::Executor;
use super::result::{ExecutionResult, Status};
use crate::claude::collect::Collector;
use crate::claude::events::parse_line;
use crate::claude::framing::{Frame, LineFramer};
use crate::process::owner::{self, Liveness};
use crate::store::{ExecutionRecord, InFlight, StoreError};
use crate::types::run::RunOwner;

/// What a recovery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Recovered {
    /// Executions recorded as `interrupted`.
    pub interrupted: Vec<Uuid>,
    /// Leftover processes of those executions that were still running and were killed.
    pub processes_killed: usize,
}

/// What is known of an interrupted execution that is not in the journal (a run's task from
/// before the journal existed).
#[derive(Debug, Clone)]
pub struct Known {
    pub task: String,
    pub cwd: String,
    pub started_at: Option<chrono::DateTime<Utc>>,
}

impl Executor {
    /// Records every execution a dead process left in flight on this data dir as
    /// `interrupted`, after killing what is left of its process tree. Executions of live
    /// processes (another server sharing the data dir) and of other hosts are left alone.
    ///
    /// One pass at a time in this process: a caller asking about an execution right after a
    /// restart (see `lookup`) waits for the start-up pass instead of finding its claim taken
    /// and the record not yet written.
    pub async fn recover_interrupted(&self) -> Result<Recovered, StoreError> {
        let _one_pass = self.inner.recovering.lock().await;
        let store = self.store();
        let me = owner::current();
        let mut done = Recovered::default();
        for row in store.inflight_list().await? {
            if owner::liveness(&row.entry.owner) != Liveness::Gone {
                continue;
            }
            if let Some(c) = &row.claimed_by
                && matches!(owner::liveness(c), Liveness::Us | Liveness::Alive)
            {
                continue; // another recoverer is on it
            }
            let id = row.entry.execution_id;
            if !store
                .inflight_claim(id, row.claimed_by.as_ref(), &me)
                .await?
            {
                continue;
            }
            let (record, killed) = self.settle(id, Some(row.entry), None).await?;
            done.processes_killed += killed;
            if record.result.status == Status::Interrupted {
                done.interrupted.push(id);
            }
        }
        Ok(done)
    }

    /// Settles one execution whose process died: kills its leftovers and returns its record —
    /// from the history when it got there, else a new `interrupted` one (recorded). Task-list
    /// resume calls it for the task that was running.
    pub async fn settle_interrupted(
        &self,
        id: Uuid,
        known: Known,
    ) -> Result<ExecutionRecord, StoreError> {
        let entry = self.store().inflight_get(id).await?;
        self.settle(id, entry, Some(known)).await.map(|(r, _)| r)
    }

    async fn settle(
        &self,
        id: Uuid,
        entry: Option<InFlight>,
        known: Option<Known>,
    ) -> Result<(ExecutionRecord, usize), StoreError> {
        let killed = tokio::task::spawn_blocking(move || crate::process::kill_leftovers(&id))
            .await
            .unwrap_or(0);
        if killed > 0 {
            tracing::warn!(%id, killed, "killed what was left of an interrupted execution");
        }
        if let Some(record) = self.store().get(id).await? {
            self.store().inflight_remove(id).await?;
            return Ok((record, killed));
        }
        let data_dir = self.config().data_dir.clone();
        let (task, cwd, category, complexity, submitted_at, owner) = match (entry, known) {
            (Some(e), _) => (
                e.task,
                e.cwd,
                e.category,
                e.complexity,
                e.submitted_at,
                Some(e.owner),
            ),
            (None, Some(k)) => (
                k.task,
                k.cwd,
                None,
                None,
                k.started_at.unwrap_or_else(Utc::now),
                None,
            ),
            (None, None) => (String::new(), String::new(), None, None, Utc::now(), None),
        };
        let result = tokio::task::spawn_blocking(move || {
            interrupted_result(&data_dir, id, submitted_at, owner.as_ref(), killed)
        })
        .await
        .unwrap_or_else(|e| {
            ExecutionResult::empty(
                id,
                Status::Interrupted,
                vec![format!("interrupted; its output could not be read: {e}")],
            )
        });
        let mut record =
            ExecutionRecord::new(&task, &cwd, category, complexity, submitted_at, result);
        super::execution::persist(self, &mut record).await?;
        Ok((record, killed))
    }
}

/// The result of an execution cut off by its process's death, from its raw output files.
fn interrupted_result(
    data_dir: &Path,
    id: Uuid,
    submitted_at: chrono::DateTime<Utc>,
    owner: Option<&RunOwner>,
    killed: usize,
) -> ExecutionResult {
    let whose = match owner {
        Some(o) => format!("the process that ran it (pid {} on {})", o.pid, o.host),
        None => "the process that ran it".to_string(),
    };
    let raw_dir = data_dir.join("raw");
    let mut attempts = 0u32;
    let mut last = None;
    while raw_dir
        .join(format!("{id}.{}.jsonl", attempts + 1))
        .exists()
    {
        attempts += 1;
        last = Some(raw_dir.join(format!("{id}.{attempts}.jsonl")));
    }
    let mut warnings = Vec::new();
    let mut r = ExecutionResult::empty(id, Status::Interrupted, Vec::new());
    r.started_at = submitted_at;
    r.duration_ms = (Utc::now() - submitted_at).num_milliseconds().max(0) as u64;
    match &last {
        None => warnings.push(format!(
            "interrupted: {whose} stopped while it was queued; it never started"
        )),
        Some(path) => {
            warnings.push(format!(
                "interrupted: {whose} stopped while it was running (attempt {attempts}); what claude printed until then is in raw_output_path"
            ));
            match read_raw(path) {
                Ok(c) => {
                    r.session_id = c.session_id.clone();
                    r.model = c.model.clone();
                    r.claude_version = c.claude_version.clone();
                    r.api_key_source = c.api_key_source.clone();
                    r.tools_used = c.tools_used.clone();
                    r.files_written = c.files_written.clone();
                    r.permission_denials = c.permission_denials.clone();
                    r.result = c.last_assistant_text.clone();
                }
                Err(e) => warnings.push(format!("its raw output could not be read: {e}")),
            }
            r.raw_output_path = Some(path.display().to_string());
        }
    }
    if killed > 0 {
        warnings.push(format!(
            "{killed} leftover process(es) killed: they were still running when it was found"
        ));
    }
    r.warnings = warnings;
    r
}

/// Folds a raw stream-json file into a collector, record by record (bounded memory).
fn read_raw(path: &Path) -> std::io::Result<Collector> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut framer = LineFramer::new(64 * 1024 * 1024);
    let mut collector = Collector::default();
    let mut buf = vec![0u8; 64 * 1024];
    let feed = |frame: Frame<'_>, c: &mut Collector| match frame {
        Frame::Line(l) => {
            c.observe(parse_line(l));
        }
        Frame::Oversize { len } => c.oversize(len),
    };
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            framer.finish(&mut |f| feed(f, &mut collector));
            return Ok(collector);
        }
        framer.push(&buf[..n], &mut |f| feed(f, &mut collector));
    }
}
