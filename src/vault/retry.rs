//! When and how long to wait before trying a request again.
//!
//! Retried: what a retry can fix (connection errors, 412, 429, 502, 503, 504, and the 500s of a
//! leadership change). Never 400, 403 or 404: those answers will not change. The waits grow
//! exponentially with full jitter, so clients that failed together do not retry together, and
//! honour `Retry-After`; the caller never begins a wait that would pass the run's deadline.

use std::time::Duration;

use super::reply::Reply;

/// How many times a request is retried after the first attempt.
pub(super) const RETRIES: u32 = 4;
/// The first backoff's upper bound; it doubles on every retry.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// No single wait is longer than this (a `Retry-After` may be, within the deadline).
pub(super) const BACKOFF_CAP: Duration = Duration::from_secs(2);

/// The wait before retry `attempt`: `random` spread over [0, min(cap, base·2^attempt)], at
/// least `retry_after`.
pub(super) fn backoff(attempt: u32, retry_after: Option<Duration>, random: u64) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempt.min(16))
        .min(BACKOFF_CAP);
    let jittered = ceiling.mul_f64((random % 10_000) as f64 / 10_000.0);
    match retry_after {
        Some(r) if r > jittered => r,
        _ => jittered.max(Duration::from_millis(20)),
    }
}

pub(super) fn retryable(reply: &Reply) -> bool {
    match reply.status {
        412 | 429 | 502 | 503 | 504 => true,
        500 => {
            let m = reply.errors();
            m.contains("leadership lost") || m.contains("active cluster node not found")
        }
        _ => false,
    }
}
