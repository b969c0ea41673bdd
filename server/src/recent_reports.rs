//! Repeated reports: the same report (category, place to about ten metres,
//! description up to case and spacing) from the same client address or
//! account within a window is refused as `409 duplicate_report`, naming the
//! issue already filed. A resident who pressed "send" again learns that
//! the first one arrived; a script replaying one report is stopped after
//! the first.
//!
//! A retry with the first report's own `Idempotency-Key` passes: the store
//! replays the first answer, as it does for any key. Kept in memory per
//! server, bounded like the other limits; two identical reports racing each
//! other may both be stored (the rate limits still apply to them).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use qala_geodata::NewIssue;

use crate::limits::Who;

/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 20_000;
/// Entries kept at most: past it after a sweep, everything is forgotten.
const MAX_ENTRIES: usize = 200_000;

/// What makes two reports the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(u64);

impl Fingerprint {
    /// The category, the location rounded to 1e-4 degrees (≈ 11 m) and the
    /// description folded to lower case with runs of white space as one.
    pub fn of(report: &NewIssue) -> Self {
        let mut hasher = twox_hash::XxHash3_64::default();
        report.category().code.hash(&mut hasher);
        let at = report.location();
        // Rounded to integers: the cast saturates, and ±180e4 fits easily.
        #[allow(clippy::cast_possible_truncation)]
        let cell = (
            (at.lon() * 1e4).round() as i64,
            (at.lat() * 1e4).round() as i64,
        );
        cell.hash(&mut hasher);
        for word in report.description().split_whitespace() {
            word.to_lowercase().hash(&mut hasher);
        }
        Self(hasher.finish())
    }
}

/// The first report of a kind: its issue, its key, when.
#[derive(Debug, Clone)]
struct First {
    issue_id: i64,
    idempotency_key: Option<String>,
    at: Instant,
}

/// Recent reports per reporter, for [`RecentReports::duplicate_of`].
#[derive(Debug)]
pub struct RecentReports {
    window: Duration,
    seen: Mutex<HashMap<(Who, Fingerprint), First>>,
}

impl RecentReports {
    /// Remembers reports for `window` (zero: never refuses).
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            seen: Mutex::default(),
        }
    }

    /// The issue that `reporters` already filed as `fingerprint` within the
    /// window before `now`, unless this request carries that report's own
    /// idempotency key (a retry, which the store answers).
    pub fn duplicate_of(
        &self,
        reporters: &[Who],
        fingerprint: Fingerprint,
        idempotency_key: Option<&str>,
        now: Instant,
    ) -> Option<i64> {
        if self.window.is_zero() {
            return None;
        }
        let seen = self.seen.lock();
        reporters.iter().find_map(|who| {
            let first = seen.get(&(who.clone(), fingerprint))?;
            let fresh = now.saturating_duration_since(first.at) < self.window;
            let retry =
                idempotency_key.is_some() && first.idempotency_key.as_deref() == idempotency_key;
            (fresh && !retry).then_some(first.issue_id)
        })
    }

    /// Notes a stored report as the first of its kind for each reporter.
    pub fn remember(
        &self,
        reporters: &[Who],
        fingerprint: Fingerprint,
        issue_id: i64,
        idempotency_key: Option<&str>,
        now: Instant,
    ) {
        if self.window.is_zero() {
            return;
        }
        let mut seen = self.seen.lock();
        if seen.len() >= SWEEP_AT {
            seen.retain(|_, first| now.saturating_duration_since(first.at) < self.window);
            if seen.len() >= MAX_ENTRIES {
                tracing::warn!(entries = seen.len(), "recent reports table full; emptied");
                seen.clear();
            }
        }
        for who in reporters {
            seen.insert(
                (who.clone(), fingerprint),
                First {
                    issue_id,
                    idempotency_key: idempotency_key.map(str::to_owned),
                    at: now,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(lon: f64, description: &str) -> NewIssue {
        let body = json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, 43.25]},
            "properties": {"category": "pothole", "description": description},
        });
        NewIssue::from_json(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn the_same_report_is_the_same_up_to_spacing_case_and_metres() {
        let a = Fingerprint::of(&report(76.90001, "Deep hole  by the bus stop"));
        assert_eq!(
            a,
            Fingerprint::of(&report(76.90002, "deep hole by the BUS stop "))
        );
        assert_ne!(
            a,
            Fingerprint::of(&report(76.9011, "Deep hole by the bus stop"))
        );
        assert_ne!(
            a,
            Fingerprint::of(&report(76.90001, "Deep hole by the bus stops"))
        );
    }

    #[test]
    fn a_repeat_is_refused_within_the_window_unless_it_is_the_retry() {
        let recent = RecentReports::new(Duration::from_secs(600));
        let who = [Who::address([192, 0, 2, 1].into())];
        let print = Fingerprint::of(&report(76.9, "hole"));
        let t0 = Instant::now();
        assert_eq!(recent.duplicate_of(&who, print, None, t0), None);
        recent.remember(&who, print, 41, Some("k1"), t0);
        assert_eq!(recent.duplicate_of(&who, print, None, t0), Some(41));
        assert_eq!(recent.duplicate_of(&who, print, Some("k2"), t0), Some(41));
        assert_eq!(recent.duplicate_of(&who, print, Some("k1"), t0), None);
        let other = [Who::address([192, 0, 2, 2].into())];
        assert_eq!(recent.duplicate_of(&other, print, None, t0), None);
        let later = t0 + Duration::from_secs(600);
        assert_eq!(recent.duplicate_of(&who, print, None, later), None);
    }
}
