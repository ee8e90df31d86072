//! When to renew what: the clocks of a long-running kvenv, as pure functions.
//!
//! Tokens and leases are renewed at **two thirds** of their time to live, as Vault Agent and
//! envconsul do: late enough not to renew needlessly, early enough that a slow or failing server
//! leaves a third of the TTL for retries. A renewal that grants less than asked has met the
//! max TTL, and the next step is a new token (a login) or new credentials, again before two
//! thirds of what is left. A failed refresh is retried with a doubling backoff, never later
//! than the interval would have.

use std::time::{Duration, Instant};

/// The longest TTL taken at its word: a server that answers more (up to `u64::MAX` seconds)
/// must not overflow the clock arithmetic; a renewal a year from now is as good as never.
const LONGEST: Duration = Duration::from_secs(365 * 86_400);

/// When something granted `ttl` at `from` is due for renewal (or replacement).
pub fn due(from: Instant, ttl: Duration) -> Instant {
    from + ttl.min(LONGEST) * 2 / 3
}

/// Whether a renewal that asked for `asked` and got `granted` has met the max TTL.
pub fn capped(asked: Duration, granted: Duration) -> bool {
    granted < asked
}

/// Retry delays while the server is failing: 1 s, 2 s, 4 s, ..., at most `cap`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    cap: Duration,
}

impl Backoff {
    pub fn new(cap: Duration) -> Backoff {
        Backoff {
            next: Duration::from_secs(1).min(cap),
            cap,
        }
    }

    /// The wait before the next attempt.
    pub fn next(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.cap);
        wait
    }

    /// The server answered again: start from the shortest wait.
    pub fn reset(&mut self) {
        self.next = Duration::from_secs(1).min(self.cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewals_are_due_at_two_thirds() {
        let t = Instant::now();
        assert_eq!(due(t, Duration::from_secs(30)), t + Duration::from_secs(20));
        assert_eq!(due(t, Duration::from_secs(3)), t + Duration::from_secs(2));
        assert!(capped(Duration::from_secs(5), Duration::from_secs(3)));
        assert!(!capped(Duration::from_secs(5), Duration::from_secs(5)));
        // A hostile or broken server's TTL cannot overflow the clock.
        let far = due(t, Duration::from_secs(u64::MAX));
        assert_eq!(far, t + LONGEST * 2 / 3);
    }

    #[test]
    fn backoff_doubles_up_to_the_interval() {
        let mut b = Backoff::new(Duration::from_secs(10));
        let waits: Vec<u64> = (0..6).map(|_| b.next().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        b.reset();
        assert_eq!(b.next(), Duration::from_secs(1));
        let mut short = Backoff::new(Duration::from_millis(300));
        assert_eq!(short.next(), Duration::from_millis(300));
    }
}
