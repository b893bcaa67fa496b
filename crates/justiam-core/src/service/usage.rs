//! `last_used_at` / `last_used_ip` without a write per request.
//!
//! Authentication only notes the use in memory; a background task writes the pending notes in one
//! batch per interval, so each token costs at most one write per interval, off the request path.
//! A failed write is logged and dropped: it never fails a request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::AnyPool;
use uuid::Uuid;

use crate::store::tokens::{self, Usage};
use crate::time::Millis;

#[derive(Debug, Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<Uuid, Usage>>,
    /// Token rows written so far (for metrics, and for the test that counts writes).
    written: AtomicU64,
}

impl UsageRecorder {
    pub fn note(&self, token_id: Uuid, at: Millis, ip: Option<&str>) {
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
