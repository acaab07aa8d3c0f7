//! What a pause, resume or cancel did, in words — written once, for every surface.
//!
//! The sentences point to a next step ("resume it with …", "follow it with …"), and each
//! surface names its steps differently: the MCP server its tools (`pause_execution`), the REST
//! API its routes (`POST /api/v1/executions/{id}/resume`), the CLI its commands
//! (`cc-executor resume ID`). A REST client told to call an MCP tool it cannot reach is
//! misled, so the sentences live here and take the surface's [`Vocabulary`]; the outcomes
//! (`paused`, `cancelled`, …) are the same words everywhere.

use std::time::Duration;

use uuid::Uuid;

use super::pause::PauseChange;
use super::registry::{ExecutionStatus, Phase};
use crate::types::result::Status;
use crate::types::run::RunState;

/// How one surface names the next steps its messages point to.
pub trait Vocabulary: Send + Sync {
    /// How to resume paused execution `id`.
    fn resume(&self, id: Uuid) -> String;
    /// How to follow execution `id` (its status and events).
    fn follow(&self, id: Uuid) -> String;
    /// How to resume stopped run `id`.
    fn resume_run(&self, id: Uuid) -> String;
}

/// What a pause or resume did, for people. `max_pause` is said when the surface knows the
/// server's limit (a remote CLI does not).
pub fn pause_message(
    id: Uuid,
    change: PauseChange,
    paused_ms: Option<u64>,
    settled: bool,
    max_pause: Option<Duration>,
    words: &dyn Vocabulary,
) -> String {
    let mut message = match change {
        PauseChange::Paused => match max_pause {
            Some(max) => format!(
                "execution {id} is paused; resume it with {} within {} s, or it is cancelled",
                words.resume(id),
                max.as_secs()
            ),
            None => format!(
                "execution {id} is paused; resume it with {} (a pause over the server's max_pause_secs cancels it)",
                words.resume(id)
            ),
        },
        PauseChange::AlreadyPaused => format!("execution {id} was already paused"),
        PauseChange::Resumed => format!(
            "execution {id} runs again; the {:.1} s it was paused do not count against its time limit",
            paused_ms.unwrap_or(0) as f64 / 1000.0
        ),
        PauseChange::NotPaused => format!("execution {id} was not paused; nothing changed"),
    };
    if !settled {
        message.push_str(&format!(
            " (its processes have not followed yet; see {})",
            words.follow(id)
        ));
    }
    message
}

/// What a cancel of one execution did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// This cancel stopped it.
    Cancelled,
    /// It had ended on its own (its status says how); nothing was cancelled.
    AlreadyFinished,
    /// It was told to stop and has not stopped yet.
    Stopping,
}

impl CancelOutcome {
    /// What really happened, from the execution before and after the cancel: one that ended
    /// on its own (done, timed out) while the cancel was on its way was not cancelled by it.
    pub fn of(was_finished: bool, after: &ExecutionStatus) -> CancelOutcome {
        match (after.phase == Phase::Finished, after.status) {
            (true, Some(Status::Cancelled)) if !was_finished => CancelOutcome::Cancelled,
            (true, _) => CancelOutcome::AlreadyFinished,
            (false, _) => CancelOutcome::Stopping,
        }
    }

    /// The wire name (`cancelled`, `already_finished`, `stopping`).
    pub fn as_str(self) -> &'static str {
        match self {
            CancelOutcome::Cancelled => "cancelled",
            CancelOutcome::AlreadyFinished => "already_finished",
            CancelOutcome::Stopping => "stopping",
        }
    }

    /// The outcome a wire name stands for.
    pub fn parse(s: &str) -> Option<CancelOutcome> {
        [
            CancelOutcome::Cancelled,
            CancelOutcome::AlreadyFinished,
            CancelOutcome::Stopping,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// What a cancel of execution `id` did; `status` is its final status once it has ended.
pub fn cancel_message(
    id: Uuid,
    outcome: CancelOutcome,
    status: Option<Status>,
    words: &dyn Vocabulary,
) -> String {
    match outcome {
        CancelOutcome::Cancelled => {
            format!("execution {id} was stopped; final status: cancelled")
        }
        CancelOutcome::AlreadyFinished => format!(
            "execution {id} already finished: {}; nothing was cancelled",
            status.map(Status::as_str).unwrap_or("unknown")
        ),
        CancelOutcome::Stopping => format!(
            "execution {id} was told to stop and is still stopping; follow it with {}",
            words.follow(id)
        ),
    }
}

/// What a cancel of run `id` did: `stopped` when this cancel stopped it (then `state` is its
/// state after, with `done` of `total` tasks done), else it had already finished.
pub fn run_cancel_message(
    id: Uuid,
    stopped: bool,
    state: RunState,
    done: usize,
    total: usize,
    words: &dyn Vocabulary,
) -> String {
    if stopped {
        format!(
            "run {id} was stopped: {state} ({done} of {total} task(s) done); resume it with {}",
            words.resume_run(id)
        )
    } else {
        format!("run {id} had already finished ({state}); nothing to cancel")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Test;
    impl Vocabulary for Test {
        fn resume(&self, id: Uuid) -> String {
            format!("RESUME {id}")
        }
        fn follow(&self, id: Uuid) -> String {
            format!("FOLLOW {id}")
        }
        fn resume_run(&self, id: Uuid) -> String {
            format!("RESUME-RUN {id}")
        }
    }

    #[test]
    fn messages_name_the_surfaces_own_next_steps() {
        let id = Uuid::new_v4();
        let m = pause_message(
            id,
            PauseChange::Paused,
            None,
            false,
            Some(Duration::from_secs(60)),
            &Test,
        );
        assert!(m.contains(&format!("RESUME {id} within 60 s")), "{m}");
        assert!(m.contains(&format!("FOLLOW {id}")), "{m}");
        let m = pause_message(id, PauseChange::Paused, None, true, None, &Test);
        assert!(
            m.contains(&format!("RESUME {id}")) && !m.contains("FOLLOW"),
            "{m}"
        );
        let m = pause_message(id, PauseChange::Resumed, Some(1500), true, None, &Test);
        assert!(m.contains("1.5 s"), "{m}");
        let m = cancel_message(id, CancelOutcome::Stopping, None, &Test);
        assert!(m.contains(&format!("FOLLOW {id}")), "{m}");
        let m = run_cancel_message(id, true, RunState::Cancelled, 1, 3, &Test);
        assert!(
            m.contains(&format!("RESUME-RUN {id}")) && m.contains("1 of 3"),
            "{m}"
        );
        for o in ["cancelled", "already_finished", "stopping"] {
            assert_eq!(CancelOutcome::parse(o).map(CancelOutcome::as_str), Some(o));
        }
        assert!(CancelOutcome::parse("paused").is_none());
    }
}
