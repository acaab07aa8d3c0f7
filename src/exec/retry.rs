//! When to run a task again: bounded retries with exponential backoff and jitter, only for
//! transient outcomes (rate limited, overloaded). The CLI already retries API calls on its own;
//! this covers the case where it gave up.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::RetryPolicy;
use crate::exec::result::Status;

/// `Some(delay)` when attempt number `attempt` (1-based) that ended in `status` should be
/// followed by another one.
pub fn next_delay(
    policy: &RetryPolicy,
    attempt: u32,
    status: Status,
    resets_at: Option<DateTime<Utc>>,
) -> Option<Duration> {
    if !status.is_transient() || attempt > policy.max_retries {
        return None;
    }
    let backoff = backoff(policy, attempt);
    match resets_at {
        Some(at) => {
            let until_reset = (at - Utc::now()).to_std().unwrap_or_default();
            // A usage limit that resets in hours is the caller's call, not a blind retry.
            if until_reset > Duration::from_millis(policy.max_reset_wait_ms) {
                None
            } else {
                Some(until_reset.max(backoff))
            }
        }
        None => Some(backoff),
    }
}

/// `base · 2^(attempt-1)`, capped, plus up to 50 % jitter so that many clients do not retry in
/// lockstep.
pub fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = policy
        .base_delay_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(20))
        .min(policy.max_delay_ms);
    let jitter = fastrand::u64(0..=exp / 2);
    Duration::from_millis(exp + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 2,
            base_delay_ms: 1000,
            max_delay_ms: 3000,
            max_reset_wait_ms: 60_000,
        }
    }

    #[test]
    fn only_transient_outcomes_retry_and_only_a_bounded_number_of_times() {
        let p = policy();
        assert!(next_delay(&p, 1, Status::RateLimited, None).is_some());
        assert!(next_delay(&p, 2, Status::Overloaded, None).is_some());
        assert!(next_delay(&p, 3, Status::Overloaded, None).is_none());
        for s in [
            Status::Succeeded,
            Status::ApiError,
            Status::TimedOut,
            Status::AuthFailed,
        ] {
            assert!(next_delay(&p, 1, s, None).is_none(), "{s}");
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = policy();
        for _ in 0..100 {
            let d1 = backoff(&p, 1).as_millis();
            let d2 = backoff(&p, 2).as_millis();
            let d9 = backoff(&p, 9).as_millis();
            assert!((1000..=1500).contains(&d1), "{d1}");
            assert!((2000..=3000).contains(&d2), "{d2}");
            assert!((3000..=4500).contains(&d9), "{d9}");
        }
    }

    #[test]
    fn far_away_resets_are_not_waited_for() {
        let p = policy();
        let soon = Utc::now() + chrono::Duration::seconds(5);
        let late = Utc::now() + chrono::Duration::hours(3);
        let d = next_delay(&p, 1, Status::RateLimited, Some(soon)).unwrap();
        assert!(d >= Duration::from_secs(4), "{d:?}");
        assert!(next_delay(&p, 1, Status::RateLimited, Some(late)).is_none());
    }
}
