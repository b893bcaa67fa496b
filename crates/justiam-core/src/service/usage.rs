//! `last_used_at` / `last_used_ip` without a write per request.
//!
//! Authentication only notes the use in memory; a background task writes the pending notes in one
//! batch per interval, so each token costs at most one write per interval, off the request path.
//! A failed write is logged and dropped: it never fails a request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::AnyPool;
use uuid::Uuid;

use crate::store::tokens::{self, Usage};
use crate::time::Millis;

/// Slots of the table of uses already noted this second.
const RECENT_SLOTS: usize = 1024;

#[derive(Debug)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<Uuid, Usage>>,
    /// Per slot (chosen by the token id), the token and second of the last use noted: a token used
    /// again within the same second is not noted again, so a busy token's requests do not all
    /// queue for the lock. `last_used_at` and `last_used_ip` are therefore kept to the second.
    recent: Box<[AtomicU64]>,
    /// Token rows written so far (for metrics, and for the test that counts writes).
    written: AtomicU64,
}

impl Default for UsageRecorder {
    fn default() -> Self {
        Self {
            pending: Mutex::default(),
            recent: (0..RECENT_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            written: AtomicU64::new(0),
        }
    }
}

impl UsageRecorder {
    pub fn note(&self, token_id: Uuid, at: Millis, ip: Option<IpAddr>) {
        // The id's last 32 bits are random (UUID v7); a collision only costs a lock.
        let tag = token_id.as_u64_pair().1 as u32;
        let stamp = (u64::from(tag) << 32) | u64::from((at / 1000) as u32);
        let slot = &self.recent[tag as usize % RECENT_SLOTS];
        // Read before writing: the common case leaves the cache line shared between threads.
        if slot.load(Ordering::Relaxed) == stamp {
            return;
        }
        slot.store(stamp, Ordering::Relaxed);
        // Written out once per token and second, not on every request.
        let ip = ip.map(|ip| ip.to_string());
        let ip = ip.as_deref();
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        pending
            .entry(token_id)
            .and_modify(|usage| {
                usage.at = at;
                // Most calls come from the same address: no allocation then.
                if ip.is_some() && usage.ip.as_deref() != ip {
                    usage.ip = ip.map(str::to_owned);
                }
            })
            .or_insert_with(|| Usage {
                token_id,
                at,
                ip: ip.map(str::to_owned),
            });
    }

    pub async fn flush(&self, pool: &AnyPool) {
        let batch: Vec<Usage> = match self.pending.lock() {
            Ok(mut pending) if !pending.is_empty() => {
                pending.drain().map(|(_, usage)| usage).collect()
            }
            _ => return,
        };
        match tokens::record_usage(pool, &batch).await {
            Ok(()) => {
                self.written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Err(error) => {
                tracing::warn!(%error, tokens = batch.len(), "could not record token usage")
            }
        }
    }

    /// Token rows written since start-up.
    pub fn rows_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn pending(recorder: &UsageRecorder, token_id: Uuid) -> Option<(Millis, Option<String>)> {
        let pending = recorder.pending.lock().expect("lock");
        pending.get(&token_id).map(|u| (u.at, u.ip.clone()))
    }

    #[test]
    fn a_use_is_noted_once_per_token_and_second() {
        let recorder = UsageRecorder::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        recorder.note(a, 10_000, Some(ip("10.0.0.1")));
        recorder.note(a, 10_400, Some(ip("10.0.0.2")));
        recorder.note(b, 10_500, None);
        assert_eq!(
            pending(&recorder, a),
            Some((10_000, Some("10.0.0.1".into())))
        );
        assert_eq!(pending(&recorder, b), Some((10_500, None)));
        // The next second is noted, with the address of that use.
        recorder.note(a, 11_000, Some(ip("10.0.0.2")));
        assert_eq!(
            pending(&recorder, a),
            Some((11_000, Some("10.0.0.2".into())))
        );
    }
}
