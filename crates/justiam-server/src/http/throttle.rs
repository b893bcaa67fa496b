//! Failed bearer authentications per client address, in memory on each node.
//!
//! A client whose credentials fail more than `limit` times within a minute is refused with `429`
//! until that minute is over: a misconfigured CI job retrying a dead token is slowed, not banned,
//! and someone guessing tokens gets at most `limit` guesses a minute per address (each guess also
//! has to beat a 190-bit secret and a checksum). Kept off the database so that a flood of bad
//! tokens costs no I/O.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Addresses tracked at most; beyond that the table starts afresh (a flood of spoofed sources
/// cannot exhaust memory).
const MAX_TRACKED: usize = 100_000;
const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct FailureThrottle {
    limit: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// When the last window of an address over its limit ends (milliseconds after `base`).
    /// Every authenticated request asks [`Self::retry_after`]; until then it need not take the
    /// lock, which every worker thread would otherwise take for every request.
    blocked_until: AtomicU64,
    base: Instant,
}

impl FailureThrottle {
    /// `limit` failures per minute per address; 0 disables throttling.
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
            blocked_until: AtomicU64::new(0),
            base: Instant::now(),
        }
    }

    fn millis_since_base(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX)
    }

    /// Seconds until `ip` may try again, if it is over its limit now.
    pub fn retry_after(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        if self.limit == 0
            || self.millis_since_base(now) >= self.blocked_until.load(Ordering::Acquire)
        {
            return None;
        }
        let windows = self.windows.lock().ok()?;
        let (started, failures) = windows.get(&ip)?;
        let elapsed = now.saturating_duration_since(*started);
        (*failures >= self.limit && elapsed < WINDOW).then(|| (WINDOW - elapsed).as_secs().max(1))
    }

    pub fn record_failure(&self, ip: IpAddr, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&ip) {
            windows.clear();
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 >= self.limit {
            // Rounded up: the lock is skipped only once the window is surely over.
            let window_end = self.millis_since_base(entry.0 + WINDOW) + 1;
            self.blocked_until.fetch_max(window_end, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_per_address_per_minute() {
        let throttle = FailureThrottle::new(3);
        let (a, b): (IpAddr, IpAddr) = (
            "10.0.0.1".parse().expect("ip"),
            "10.0.0.2".parse().expect("ip"),
        );
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(throttle.retry_after(a, t0), None);
            throttle.record_failure(a, t0);
        }
        assert_eq!(throttle.retry_after(a, t0), Some(60));
        assert_eq!(
            throttle.retry_after(a, t0 + Duration::from_secs(45)),
            Some(15)
        );
        assert_eq!(throttle.retry_after(b, t0), None, "per address");
        assert_eq!(
            throttle.retry_after(a, t0 + WINDOW),
            None,
            "the window ends"
        );
        throttle.record_failure(a, t0 + WINDOW);
        assert_eq!(
            throttle.retry_after(a, t0 + WINDOW),
            None,
            "a new window starts at one"
        );
        assert_eq!(FailureThrottle::new(0).retry_after(a, t0), None);
    }
}
