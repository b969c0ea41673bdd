//! Rate limits on writes: per client address and per account, each kind of
//! write with its own rate ([`RateLimits`]), enforced as keyed GCRA
//! (`governor`): a client may spend a burst of a minute's allowance at
//! once, then one request per `60 s / rate`. Past that the answer is
//! `429 rate_limited` with `Retry-After`.
//!
//! Like the login throttle, the state lives in memory per server: behind a
//! balancer with several servers the effective limit is their sum, and a
//! restart forgets it. Memory stays bounded under a flood of addresses:
//! keys whose allowance is whole again are swept, IPv6 clients count per
//! /64 (one household or phone gets a whole /64), and if a flood of fresh
//! keys still fills the table it is emptied (the limits forget, the server
//! stays up).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use parking_lot::RwLock;

/// Keys kept per limiter before the idle ones are swept.
const SWEEP_AT: usize = 20_000;
/// Keys kept per limiter at most: past it after a sweep, the table is emptied.
const MAX_KEYS: usize = 200_000;

/// Requests per minute allowed to one client address and to one account,
/// for each kind of write. `0` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Issue reports per address.
    pub reports_per_address: u32,
    /// Issue reports per signed-in account.
    pub reports_per_account: u32,
    /// Login attempts per address (failures are throttled further by
    /// [`crate::throttle`]).
    pub logins_per_address: u32,
    /// "Me too" votes and comments per address.
    pub engage_per_address: u32,
    /// "Me too" votes and comments per signed-in account.
    pub engage_per_account: u32,
    /// Every other write (status changes, moderation, logout) per address.
    pub writes_per_address: u32,
    /// Every other write per account.
    pub writes_per_account: u32,
}

impl Default for RateLimits {
    /// Generous enough for a city office behind one NAT address: 30 reports
    /// a minute from one address, 10 from one account.
    fn default() -> Self {
        Self {
            reports_per_address: 30,
            reports_per_account: 10,
            logins_per_address: 30,
            engage_per_address: 60,
            engage_per_account: 30,
            writes_per_address: 300,
            writes_per_account: 120,
        }
    }
}

/// Which allowance a write spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// `POST /api/v1/issues`.
    Report,
    /// `POST /api/v1/login`.
    Login,
    /// `POST /api/v1/photos`: an upload costs a decode, so it has an
    /// allowance of its own, [`PHOTOS_PER_REPORT`] times the reports'.
    Photo,
    /// A resident's follow-up: `POST /api/v1/issues/{id}/votes` and
    /// `…/comments`.
    Engage,
    /// Any other write.
    Other,
}

impl WriteKind {
    /// The kind of a write to the route `pattern`.
    pub fn of(pattern: &str) -> Self {
        match pattern {
            "/api/v1/issues" => Self::Report,
            "/api/v1/login" => Self::Login,
            "/api/v1/photos" => Self::Photo,
            "/api/v1/issues/{id}/votes" | "/api/v1/issues/{id}/comments" => Self::Engage,
            _ => Self::Other,
        }
    }
}

/// The time of the write limits and of the repeated-report window: the
/// monotonic clock plus an offset that only tests move
/// ([`LimitClock::advance`]), so that recovery is tested without waiting.
#[derive(Debug, Clone, Default)]
pub struct LimitClock {
    skew_nanos: Arc<AtomicU64>,
}

impl LimitClock {
    /// Moves this clock (and every limiter using it) `by` into the future.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.skew_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The current time on this clock.
    pub fn instant(&self) -> Instant {
        Instant::now() + Duration::from_nanos(self.skew_nanos.load(Ordering::Relaxed))
    }
}

impl Clock for LimitClock {
    type Instant = Instant;

    fn now(&self) -> Instant {
        self.instant()
    }
}

/// What an allowance is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Who {
    /// A client address (IPv6: its /64).
    Address(IpAddr),
    /// A signed-in account.
    Account(i64),
}

impl Who {
    /// The key of a client address: IPv6 addresses by their /64, which one
    /// subscriber usually holds whole.
    pub fn address(addr: IpAddr) -> Self {
        match addr.to_canonical() {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                Self::Address(IpAddr::V6(prefix.into()))
            }
            v4 => Self::Address(v4),
        }
    }
}

type Keyed = RateLimiter<Who, HashMapStateStore<Who>, LimitClock>;

/// One rate over many keys (`None`: no limit).
#[derive(Debug)]
struct Limiter(Option<(Quota, RwLock<Keyed>)>);

impl Limiter {
    fn new(per_minute: u32, clock: &LimitClock) -> Self {
        Self(NonZeroU32::new(per_minute).map(|rate| {
            let quota = Quota::per_minute(rate);
            (quota, RwLock::new(keyed(quota, clock)))
        }))
    }

    /// `Err(wait)` if `who` has spent its allowance.
    fn check(&self, who: &Who, clock: &LimitClock) -> Result<(), Duration> {
        let Some((quota, limiter)) = &self.0 else {
            return Ok(());
        };
        if limiter.read().len() >= SWEEP_AT {
            let mut limiter = limiter.write();
            limiter.retain_recent();
            if limiter.len() >= MAX_KEYS {
                tracing::warn!(keys = limiter.len(), "rate limit table full; emptied");
                *limiter = keyed(*quota, clock);
            }
        }
        limiter
            .read()
            .check_key(who)
            .map_err(|not_until| not_until.wait_time_from(clock.instant()))
    }
}

fn keyed(quota: Quota, clock: &LimitClock) -> Keyed {
    RateLimiter::new(quota, HashMapStateStore::default(), clock.clone())
}

/// Photo uploads allowed per report allowed: a report carries up to three.
pub const PHOTOS_PER_REPORT: u32 = qala_geodata::photo::MAX_PHOTOS as u32;

/// The write limits of one server.
#[derive(Debug)]
pub struct WriteLimits {
    clock: LimitClock,
    reports_per_address: Limiter,
    reports_per_account: Limiter,
    photos_per_address: Limiter,
    photos_per_account: Limiter,
    logins_per_address: Limiter,
    engage_per_address: Limiter,
    engage_per_account: Limiter,
    writes_per_address: Limiter,
    writes_per_account: Limiter,
}

impl WriteLimits {
    /// Limiters for `limits` on the real clock.
    pub fn new(limits: RateLimits) -> Self {
        let clock = LimitClock::default();
        Self {
            reports_per_address: Limiter::new(limits.reports_per_address, &clock),
            reports_per_account: Limiter::new(limits.reports_per_account, &clock),
            photos_per_address: Limiter::new(
                limits.reports_per_address.saturating_mul(PHOTOS_PER_REPORT),
                &clock,
            ),
            photos_per_account: Limiter::new(
                limits.reports_per_account.saturating_mul(PHOTOS_PER_REPORT),
                &clock,
            ),
            logins_per_address: Limiter::new(limits.logins_per_address, &clock),
            engage_per_address: Limiter::new(limits.engage_per_address, &clock),
            engage_per_account: Limiter::new(limits.engage_per_account, &clock),
            writes_per_address: Limiter::new(limits.writes_per_address, &clock),
            writes_per_account: Limiter::new(limits.writes_per_account, &clock),
            clock,
        }
    }

    /// The clock the limiters run on (tests move it forward).
    pub fn clock(&self) -> &LimitClock {
        &self.clock
    }

    /// Spends one `kind` write from the client address `addr`;
    /// `Err(wait)` if it has none left.
    pub fn check_address(&self, kind: WriteKind, addr: IpAddr) -> Result<(), Duration> {
        let limiter = match kind {
            WriteKind::Report => &self.reports_per_address,
            WriteKind::Photo => &self.photos_per_address,
            WriteKind::Login => &self.logins_per_address,
            WriteKind::Engage => &self.engage_per_address,
            WriteKind::Other => &self.writes_per_address,
        };
        limiter.check(&Who::address(addr), &self.clock)
    }

    /// Spends one `kind` write from the signed-in account `account`;
    /// `Err(wait)` if it has none left. Logins have no account yet.
    pub fn check_account(&self, kind: WriteKind, account: i64) -> Result<(), Duration> {
        let limiter = match kind {
            WriteKind::Report => &self.reports_per_account,
            WriteKind::Photo => &self.photos_per_account,
            WriteKind::Login => return Ok(()),
            WriteKind::Engage => &self.engage_per_account,
            WriteKind::Other => &self.writes_per_account,
        };
        limiter.check(&Who::Account(account), &self.clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(reports: u32) -> WriteLimits {
        WriteLimits::new(RateLimits {
            reports_per_address: reports,
            reports_per_account: 1,
            ..RateLimits::default()
        })
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let limits = limits(3);
        let addr: IpAddr = [192, 0, 2, 1].into();
        for i in 0..3 {
            assert_eq!(limits.check_address(WriteKind::Report, addr), Ok(()), "{i}");
        }
        let wait = limits.check_address(WriteKind::Report, addr).unwrap_err();
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Another address has its own allowance; other writes theirs.
        assert!(
            limits
                .check_address(WriteKind::Report, [192, 0, 2, 2].into())
                .is_ok()
        );
        assert!(limits.check_address(WriteKind::Other, addr).is_ok());
        limits.clock().advance(Duration::from_secs(20));
        assert!(limits.check_address(WriteKind::Report, addr).is_ok());
        assert!(limits.check_address(WriteKind::Report, addr).is_err());
    }

    #[test]
    fn an_account_has_its_own_allowance() {
        let limits = limits(100);
        assert!(limits.check_account(WriteKind::Report, 7).is_ok());
        assert!(limits.check_account(WriteKind::Report, 8).is_ok());
        let wait = limits.check_account(WriteKind::Report, 7).unwrap_err();
        assert!(wait > Duration::from_secs(59), "{wait:?}");
    }

    #[test]
    fn ipv6_counts_per_64_and_zero_is_no_limit() {
        let limits = limits(1);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert!(limits.check_address(WriteKind::Report, a).is_ok());
        assert!(limits.check_address(WriteKind::Report, b).is_err());
        let open = WriteLimits::new(RateLimits {
            reports_per_address: 0,
            ..RateLimits::default()
        });
        for _ in 0..1000 {
            assert!(open.check_address(WriteKind::Report, a).is_ok());
        }
    }
}
