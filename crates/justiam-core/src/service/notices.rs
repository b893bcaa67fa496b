//! Token notices by mail (and the `token.expiring` webhook event): a token was created, was revoked as leaked, or expires within one of the
//! `TOKEN_EXPIRY_WARNING_DAYS`. A person's token tells its owner; a service account's tells the
//! user who created it. No notice holds the token's value.
//!
//! An expiry notice goes out once per token and threshold across restarts and nodes: its
//! `token_notices` row is inserted in the transaction that writes the mail, and the primary key
//! refuses a second one.

use uuid::Uuid;

use super::Iam;
use super::outbox::{Mail, MailBody, TokenFacts, TokenNoticeKind};
use crate::error::CoreResult;
use crate::model::{Token, User};
use crate::store::{outbox, tokens, users};
use crate::time::{DAY_MS, Millis, now_millis};

impl Iam {
    /// Who hears of `token` of `owner`: the owner, or for a service account the active person who
    /// created the token. `None` when there is nobody to tell.
    async fn notice_recipient<'e>(
        &self,
        db: impl sqlx::Executor<'e, Database = sqlx::Any>,
        token: &Token,
        owner: &User,
    ) -> CoreResult<Option<String>> {
        if !owner.is_service_account {
            return Ok(owner.is_active.then(|| owner.email.clone()));
        }
        let Some(creator) = token.created_by else {
            return Ok(None);
        };
        Ok(users::get(db, creator)
            .await?
            .filter(|u| u.is_active && !u.is_service_account)
            .map(|u| u.email))
    }

    /// Writes the notice about `token` to the outbox inside the caller's transaction (nothing when
    /// mail is off or nobody is to be told).
    pub(crate) async fn queue_token_notice(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        token: &Token,
        owner: &User,
        notice: TokenNoticeKind,
    ) -> CoreResult<()> {
        if !self.mail_enabled() {
            return Ok(());
        }
        let Some(to) = self.notice_recipient(&mut **tx, token, owner).await? else {
            return Ok(());
        };
        let link = if owner.is_service_account {
            format!("{}/ui/admin/users/{}/tokens", self.jwt.issuer(), owner.id)
        } else {
            format!("{}/ui/tokens", self.jwt.issuer())
        };
        let mail = Mail {
            to,
            body: MailBody::TokenNotice {
                notice,
                token: TokenFacts {
                    id: token.id,
                    name: token.name.clone(),
                    hint: token.token_hint.clone(),
                    expires_at: token.expires_at,
                    owner_email: owner.email.clone(),
                    link,
                },
            },
        };
        self.queue_mail(&mut **tx, &mail).await
    }

    /// Looks for active tokens inside an expiry threshold whose notice has not gone out, and
    /// writes one mail per token — for the nearest threshold it is inside (a token created with
    /// one day left hears "1 day", not also "7 days"). Returns how many were written.
    ///
    /// `now` is a parameter so that the tests can move time forward; the server passes the clock.
    pub async fn scan_token_notices(&self, now: Millis) -> CoreResult<usize> {
        let mut thresholds = self.settings.token_expiry_warning_days.clone();
        thresholds.sort_unstable();
        let Some(widest) = thresholds.last().copied() else {
            return Ok(0);
        };
        let mut written = 0;
        for (token_id, sent) in outbox::tokens_expiring(&self.db.pool, now, widest * DAY_MS).await?
        {
            match self.notice_expiry(token_id, &sent, &thresholds, now).await {
                Ok(true) => written += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%token_id, %error, "could not write a token expiry notice")
                }
            }
        }
        if written > 0 {
            self.wake_outbox();
        }
        Ok(written)
    }

    /// One token's expiry notice; `false` when it was sent already (by this node or another).
    async fn notice_expiry(
        &self,
        token_id: Uuid,
        sent: &[String],
        thresholds: &[i64],
        now: Millis,
    ) -> CoreResult<bool> {
        let Some(found) = tokens::get_with_owner(&self.db.pool, token_id).await? else {
            return Ok(false);
        };
        let left = found.token.expires_at - now;
        // The thresholds the token is inside, nearest first.
        let inside: Vec<i64> = thresholds
            .iter()
            .copied()
            .filter(|days| left <= days * DAY_MS)
            .collect();
        let Some(&nearest) = inside.first() else {
            return Ok(false);
        };
        if sent.contains(&notice_name(nearest)) {
            return Ok(false);
        }
        let mut tx = self.db.pool.begin().await?;
        if !outbox::record_notice(&mut *tx, token_id, &notice_name(nearest), now).await? {
            return Ok(false);
        }
        // The wider thresholds it is inside are passed: they will not be sent later either.
        for days in &inside[1..] {
            outbox::record_notice(&mut *tx, token_id, &notice_name(*days), now).await?;
        }
        let days = (left + DAY_MS - 1) / DAY_MS;
        let token = &found.token;
        let data = serde_json::json!({
            "token": {
                "id": token.id,
                "name": token.name,
                "hint": token.token_hint,
                "expires_at": crate::time::to_datetime(token.expires_at),
            },
            "owner": { "id": found.owner.id, "email": found.owner.email },
            "days_left": days,
        });
        self.emit_event(&mut tx, "token.expiring", data, now)
            .await?;
        self.queue_token_notice(
            &mut tx,
            &found.token,
            &found.owner,
            TokenNoticeKind::Expiring { days },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Looks for expiry notices at start and every `NOTIFICATION_INTERVAL_SECONDS` until
    /// `shutdown` fires.
    pub async fn run_notices(
        self: std::sync::Arc<Self>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(self.settings.notification_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            if let Err(error) = self.scan_token_notices(now_millis()).await {
                tracing::warn!(%error, "could not look for token expiry notices");
            }
        }
    }
}

/// The `token_notices` row of an expiry threshold.
fn notice_name(days: i64) -> String {
    format!("expiring_{days}d")
}
