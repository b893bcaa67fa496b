//! The outbox: mails written in the transaction of the change that causes them, and what the
//! server's delivery worker asks of it (claim what is due, record how each attempt ended).
//!
//! The core decides *that* a mail goes out and what it says in data ([`Mail`]); the server renders
//! it from its templates and sends it, so that SMTP never runs inside a request.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Iam;
use crate::error::{CoreError, CoreResult};
use crate::store::new_id;
use crate::store::outbox::{self, NewMessage};
pub use crate::store::outbox::{Claimed, Outcome};
use crate::time::{DAY_MS, Millis, now_millis};

/// How long a delivery is retried before it is given up.
pub const RETRY_FOR: Millis = DAY_MS;
/// How long a claimed row stays this node's: longer than any one attempt (SMTP and HTTP
/// attempts are bounded well below it), so only a node that died loses its rows.
pub const LEASE_MS: Millis = 2 * 60 * 1000;
/// Sent and failed rows are kept this long for the delivery log, then purged.
pub const KEEP_DONE_FOR: Millis = 30 * DAY_MS;

/// A mail, as data: who it goes to and which template with what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    pub to: String,
    #[serde(flatten)]
    pub body: MailBody,
}

/// What a mail says; each variant is one template of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum MailBody {
    /// A link to choose a new password (`/ui/password-reset?token=…`).
    PasswordReset {
        link: String,
        expires_at: Millis,
        /// An administrator asked for it (rather than someone on the login page).
        by_administrator: bool,
    },
    /// A token was created, revoked as leaked, or expires soon.
    TokenNotice {
        notice: TokenNoticeKind,
        token: TokenFacts,
    },
    /// `justiam mail test`.
    Test,
}

impl MailBody {
    /// The template's name, the outbox row's `topic`.
    pub fn template(&self) -> &'static str {
        match self {
            MailBody::PasswordReset { .. } => "password_reset",
            MailBody::TokenNotice { notice, .. } => notice.topic(),
            MailBody::Test => "test",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenNoticeKind {
    Created,
    RevokedAsLeaked,
    Expiring { days: i64 },
}

impl TokenNoticeKind {
    pub fn topic(self) -> &'static str {
        match self {
            TokenNoticeKind::Created => "token_created",
            TokenNoticeKind::RevokedAsLeaked => "token_revoked_as_leaked",
            TokenNoticeKind::Expiring { .. } => "token_expiring",
        }
    }
}

/// What a token notice tells about the token: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFacts {
    pub id: Uuid,
    pub name: String,
    /// The last characters, as the token list shows them.
    pub hint: String,
    pub expires_at: Millis,
    /// Whose token it is (a service account's, when it is not the recipient's own).
    pub owner_email: String,
    /// The token's page in the web UI.
    pub link: String,
}

/// Messages by kind and status, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// `(kind, status, count)`: kinds `mail`, `webhook`; statuses `pending`, `sending`, `sent`,
    /// `failed`.
    pub counts: Vec<(String, String, i64)>,
}

impl Iam {
    /// Whether mail can be sent (`SMTP_HOST` is set).
    pub fn mail_enabled(&self) -> bool {
        self.settings.mail_enabled
    }

    /// The refusal of a feature that needs mail when there is none.
    pub(crate) fn require_mail(&self, feature: &str) -> CoreResult<()> {
        if self.mail_enabled() {
            Ok(())
        } else {
            Err(CoreError::Unavailable {
                code: "mail_disabled",
                message: format!(
                    "{feature} needs mail, and this server sends none: its operator has not set SMTP_HOST"
                ),
            })
        }
    }

    /// Writes `mail` to the outbox inside the caller's transaction; nothing when mail is off.
    /// The worker is woken after the transaction commits (see [`Iam::wake_outbox`]).
    pub(crate) async fn queue_mail<'e>(
        &self,
        db: impl sqlx::Executor<'e, Database = sqlx::Any>,
        mail: &Mail,
    ) -> CoreResult<()> {
        if !self.mail_enabled() {
            return Ok(());
        }
        // The real clock, even when a test scans with a later `now`: the row is due at once.
        let now = now_millis();
        let payload = serde_json::to_string(mail)
            .map_err(|e| CoreError::Internal(anyhow::anyhow!("mail payload: {e}")))?;
        let message = NewMessage {
            id: new_id(),
            kind: "mail",
            topic: mail.body.template().to_owned(),
            recipient: mail.to.clone(),
            payload,
            created_at: now,
            give_up_at: now + RETRY_FOR,
        };
        outbox::insert(db, &message).await?;
        Ok(())
    }

    /// Tells this node's worker that a row is waiting (other nodes find it at their next poll).
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// Waits until [`Iam::wake_outbox`] is called.
    pub async fn outbox_woken(&self) {
        self.outbox_wake.notified().await;
    }

    /// Queues a test mail (`justiam mail test`).
    pub async fn queue_test_mail(&self, to: &str) -> CoreResult<()> {
        self.require_mail("a test mail")?;
        let email = crate::model::Email::parse("to", to)?;
        let mail = Mail {
            to: email.as_str().to_owned(),
            body: MailBody::Test,
        };
        self.queue_mail(&self.db.pool, &mail).await?;
        self.wake_outbox();
        Ok(())
    }

    /// Claims up to `limit` due messages for this node.
    pub async fn claim_outbox(&self, limit: i64) -> CoreResult<Vec<Claimed>> {
        let now = now_millis();
        Ok(outbox::claim(
            &self.db.pool,
            self.db.backend,
            &self.node_id,
            now,
            now + LEASE_MS,
            limit,
        )
        .await?)
    }

    /// Records how an attempt at a claimed message ended.
    pub async fn finish_outbox(&self, id: Uuid, outcome: &Outcome) -> CoreResult<()> {
        if !outbox::finish(&self.db.pool, id, &self.node_id, now_millis(), outcome).await? {
            tracing::warn!(%id, "an outbox row was taken over by another node before this one finished it");
        }
        Ok(())
    }

    pub async fn outbox_stats(&self) -> CoreResult<OutboxStats> {
        Ok(OutboxStats {
            counts: outbox::stats(&self.db.pool).await?,
        })
    }

    /// Part of the hourly purge: messages done with long ago, expired reset links.
    pub(crate) async fn purge_outbox(&self, now: Millis) {
        match outbox::purge(&self.db.pool, now - KEEP_DONE_FOR).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged old outbox messages"),
            Err(error) => tracing::warn!(%error, "could not purge the outbox"),
        }
    }
}

/// When to try again after `attempts` failed: 5 s doubling up to an hour, each delay drawn at
/// random between its half and itself, so that messages failing together do not retry together.
pub fn retry_delay(attempts: i64, random: u32) -> Millis {
    const BASE: Millis = 5_000;
    const MAX: Millis = 3_600_000;
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let delay = BASE.saturating_mul(1 << doublings).min(MAX);
    let half = delay / 2;
    half + i64::from(random) % (half + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_with_jitter_and_stop_at_an_hour() {
        assert_eq!(retry_delay(1, 0), 2_500);
        assert_eq!(retry_delay(1, 2_500), 5_000);
        assert_eq!(retry_delay(2, 0), 5_000);
        assert!(retry_delay(3, u32::MAX) <= 20_000);
        assert_eq!(retry_delay(40, 0), 1_800_000);
        assert!(retry_delay(40, u32::MAX) <= 3_600_000);
    }

    #[test]
    fn a_mail_payload_reads_back() {
        let mail = Mail {
            to: "ada@example.com".into(),
            body: MailBody::TokenNotice {
                notice: TokenNoticeKind::Expiring { days: 7 },
                token: TokenFacts {
                    id: Uuid::nil(),
                    name: "ci".into(),
                    hint: "…abcd".into(),
                    expires_at: 1,
                    owner_email: "ada@example.com".into(),
                    link: "http://x/ui/tokens".into(),
                },
            },
        };
        let text = serde_json::to_string(&mail).expect("json");
        assert_eq!(serde_json::from_str::<Mail>(&text).expect("reads"), mail);
    }
}
