//! The delivery worker: claims what the outbox holds due, sends it, and records how each attempt
//! ended — sent, to be retried later (exponential backoff with jitter, for a day), or given up.
//! It runs beside the request handlers and never inside one; several nodes run one each, and the
//! claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL) gives every row to one of them.

use std::sync::Arc;
use std::time::Duration;

use justiam_core::service::Iam;
use justiam_core::service::outbox::{Claimed, Mail, Outcome, retry_delay};
use justiam_core::time::now_millis;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::mail::Mailer;

/// How often the outbox is looked at when nothing woke the worker: rows written by other nodes,
/// and retries falling due, are found within this.
const POLL: Duration = Duration::from_secs(1);
/// Rows claimed at once; they are sent concurrently.
const BATCH: i64 = 16;

/// Runs until `shutdown` fires; the batch in flight is finished first (each attempt is bounded by
/// its own timeout), and a row a stopped node had claimed is taken over by another after the lease.
pub async fn run(iam: Arc<Iam>, mailer: Option<Mailer>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let claimed = match iam.claim_outbox(BATCH).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "cannot read the outbox");
                Vec::new()
            }
        };
        let full = claimed.len() as i64 == BATCH;
        let mut attempts = JoinSet::new();
        for row in claimed {
            let iam = iam.clone();
            let mailer = mailer.clone();
            attempts.spawn(async move {
                let outcome = attempt(&iam, &row, mailer.as_ref()).await;
                if let Err(error) = iam.finish_outbox(row.id, &outcome).await {
                    tracing::warn!(id = %row.id, %error, "cannot record an outbox attempt");
                }
            });
        }
        while attempts.join_next().await.is_some() {}
        if *shutdown.borrow() {
            return;
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = iam.outbox_woken() => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One attempt at one row.
async fn attempt(iam: &Iam, row: &Claimed, mailer: Option<&Mailer>) -> Outcome {
    let result = match row.kind.as_str() {
        "mail" => send_mail(row, mailer).await,
        "webhook" => send_webhook(iam, row).await,
        other => Err(Failure::permanent(format!("unknown outbox kind {other:?}"))),
    };
    match result {
        Ok(status) => {
            tracing::info!(id = %row.id, kind = row.kind, topic = row.topic, attempts = row.attempts, "outbox message sent");
            Outcome::Sent { status }
        }
        Err(failure) => {
            let now = now_millis();
            let random = random_u32();
            let at = now + retry_delay(row.attempts, random);
            if failure.permanent || at > row.give_up_at {
                tracing::warn!(id = %row.id, kind = row.kind, topic = row.topic, attempts = row.attempts, error = failure.message, "outbox message given up");
                Outcome::Failed {
                    error: failure.message,
                    status: failure.status,
                }
            } else {
                tracing::info!(id = %row.id, kind = row.kind, topic = row.topic, attempts = row.attempts, error = failure.message, retry_in_ms = at - now, "outbox message will be retried");
                Outcome::Retry {
                    at,
                    error: failure.message,
                    status: failure.status,
                }
            }
        }
    }
}

/// Why an attempt failed.
pub struct Failure {
    pub message: String,
    pub permanent: bool,
    /// The HTTP status a webhook target answered.
    pub status: Option<i64>,
}

impl Failure {
    pub fn permanent(message: String) -> Self {
        Self {
            message,
            permanent: true,
            status: None,
        }
    }

    pub fn retry(message: String, status: Option<i64>) -> Self {
        Self {
            message,
            permanent: false,
            status,
        }
    }
}

async fn send_webhook(iam: &Iam, row: &Claimed) -> Result<Option<i64>, Failure> {
    let id = uuid::Uuid::parse_str(&row.recipient)
        .map_err(|_| Failure::permanent("the delivery names no webhook".to_owned()))?;
    let target = match iam.webhook_target(id).await {
        Ok(Some(target)) => target,
        Ok(None) => return Err(Failure::permanent("the webhook was deleted".to_owned())),
        Err(error) => return Err(Failure::permanent(format!("{error:#}"))),
    };
    let allow_private = iam.settings.webhook_allow_private_targets;
    crate::webhook::deliver(&target.url, &target.secret, &row.payload, allow_private).await
}

async fn send_mail(row: &Claimed, mailer: Option<&Mailer>) -> Result<Option<i64>, Failure> {
    let Some(mailer) = mailer else {
        // Written while SMTP_HOST was set, read by a node without it: another node may send it.
        return Err(Failure::retry(
            "mail is off on this node (no SMTP_HOST)".to_owned(),
            None,
        ));
    };
    let mail: Mail = serde_json::from_str(&row.payload)
        .map_err(|e| Failure::permanent(format!("unreadable mail payload: {e}")))?;
    mailer.send(&mail).await.map_err(|e| Failure {
        message: e.message,
        permanent: e.permanent,
        status: None,
    })?;
    Ok(None)
}

fn random_u32() -> u32 {
    let mut bytes = [0u8; 4];
    // Jitter only: without randomness the delay is its lower bound.
    let _ = getrandom::fill(&mut bytes);
    u32::from_le_bytes(bytes)
}
