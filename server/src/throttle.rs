//! Login throttling: at most [`MAX_FAILURES`] failed logins per account and
//! per client address within [`WINDOW`]; then `429 too_many_attempts` with
//! `Retry-After` until the oldest failure leaves the window.
//!
//! The counters live in memory: several servers behind one balancer each
//! keep their own, so the effective limit is per server, and a restart
//! forgets them. The address is the TCP peer's (never `X-Forwarded-For`,
//! which any client can write).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Failures allowed within the window, per key.
pub const MAX_FAILURES: usize = 5;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept before stale ones are swept (bounds memory under a flood).
const SWEEP_AT: usize = 10_000;

/// What a failure is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

/// The failure counters of one server.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<Key, Vec<Instant>>>,
}

impl LoginThrottle {
    fn keys(email: &str, addr: Option<IpAddr>) -> Vec<Key> {
        let mut keys = vec![Key::Account(email.trim().to_lowercase())];
        keys.extend(addr.map(Key::Address));
        keys
    }

    /// `Some(wait)` if this email or address is locked out at `now`.
    pub fn check(&self, email: &str, addr: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock();
        Self::keys(email, addr)
            .into_iter()
            .filter_map(|key| {
                let times = failures.get_mut(&key)?;
                times.retain(|t| now.duration_since(*t) < WINDOW);
                (times.len() >= MAX_FAILURES).then(|| {
                    let oldest = times.iter().min().copied().unwrap_or(now);
                    WINDOW.saturating_sub(now.duration_since(oldest))
                })
            })
            .max()
    }

    /// Counts a failed login against the email and the address.
    pub fn failed(&self, email: &str, addr: Option<IpAddr>, now: Instant) {
        let mut failures = self.failures.lock();
        if failures.len() >= SWEEP_AT {
            failures.retain(|_, times| times.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
        for key in Self::keys(email, addr) {
            failures.entry(key).or_default().push(now);
        }
    }

    /// Forgets an account's failures after it signed in.
    pub fn succeeded(&self, email: &str) {
        self.failures
            .lock()
            .remove(&Key::Account(email.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_out_until_the_window_passes() {
        let throttle = LoginThrottle::default();
        let addr: IpAddr = [10, 0, 0, 1].into();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES {
            assert_eq!(
                throttle.check("A@x.kz", Some(addr), t0),
                None,
                "failure {i}"
            );
            throttle.failed("a@x.kz", Some(addr), t0);
        }
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            throttle.check("a@x.kz", None, later),
            Some(WINDOW - Duration::from_secs(60))
        );
        // The address is locked out for other accounts too.
        assert!(throttle.check("b@x.kz", Some(addr), later).is_some());
        assert_eq!(
            throttle.check("b@x.kz", Some([10, 0, 0, 2].into()), later),
            None
        );
        assert_eq!(throttle.check("a@x.kz", Some(addr), t0 + WINDOW), None);
    }
}
