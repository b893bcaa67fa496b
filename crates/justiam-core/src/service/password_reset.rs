//! Password reset by mail: asked for on the login page (`202` whatever the address) or by an
//! administrator (`users.sendpasswordreset`); the link is single use, stored as a digest only, and
//! using it ends every sign-in made with the old password.

use uuid::Uuid;

use super::auth::{end_sign_ins, typed_email};
use super::cache::Invalidation;
use super::outbox::{Mail, MailBody};
use super::{Iam, audit_by};
use crate::authz::{Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::{Permission, User};
use crate::secret::Secret;
use crate::store::audit::{self, AuditEntry};
use crate::store::{outbox, throttle, users};
use crate::time::{HOUR_MS, Millis, now_millis};
use crate::token;

/// Reset requests per typed address per hour, and per client address per hour.
pub const RESETS_PER_ACCOUNT_PER_HOUR: i64 = 5;
pub const RESETS_PER_IP_PER_HOUR: i64 = 30;
/// Random base62 characters of a reset link's token (~190 bits).
const RESET_TOKEN_LEN: usize = 32;

impl Iam {
    /// `POST /auth/password-reset`: mails a reset link to `email` if it is an active person's
    /// account. Known and unknown addresses do the same work (a throttle count, a token, a
    /// transaction with one audit entry) and answer the same; the mail itself goes through the
    /// outbox, so no SMTP time shows either.
    pub async fn request_password_reset(&self, email: &str, meta: &RequestMeta) -> CoreResult<()> {
        self.require_mail("password reset")?;
        let email = typed_email(email)?;
        let now = now_millis();
        let account_key = format!("reset:account:{}", email.to_lowercase());
        let ip_key = meta.ip.as_ref().map(|ip| format!("reset:ip:{ip}"));
        for (key, limit) in [
            (Some(&account_key), RESETS_PER_ACCOUNT_PER_HOUR),
            (ip_key.as_ref(), RESETS_PER_IP_PER_HOUR),
        ] {
            let Some(key) = key else { continue };
            if throttle::count_attempt(&self.db.pool, key, now, HOUR_MS).await? > limit {
                return Err(CoreError::Throttled {
                    retry_after_secs: 3600,
                });
            }
        }
        let found = users::get_by_email(&self.db.pool, &email)
            .await?
            .filter(may_reset_by_mail);
        let mut tx = self.db.pool.begin().await?;
        let (value, digest) = new_reset_token()?;
        if let Some(user) = &found {
            self.queue_reset(&mut tx, user, &value, &digest, false, now)
                .await?;
        }
        let entry = AuditEntry {
            at: now,
            actor_id: found.as_ref().map(|u| u.id),
            actor_email: Some(email.chars().take(254).collect()),
            action: "auth.password_reset_requested",
            target_type: found.as_ref().map(|_| "user"),
            target_id: found.as_ref().map(|u| u.id),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            details: Some(serde_json::json!({ "account_found": found.is_some() })),
            ..AuditEntry::default()
        };
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        self.wake_outbox();
        Ok(())
    }

    /// `POST /users/{id}/password-reset`: mails the user a reset link on an administrator's
    /// behalf. A caller who may not see users gets `404` for every id.
    pub async fn send_password_reset(
        &self,
        principal: &Principal,
        user_id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        if !principal.has(Permission::UsersView) {
            return Err(CoreError::not_found("user"));
        }
        principal.require(Permission::UsersSendPasswordReset)?;
        let user = users::get(&self.db.pool, user_id)
            .await?
            .ok_or_else(|| CoreError::not_found("user"))?;
        if user.is_service_account {
            return Err(CoreError::conflict(
                "not_a_person",
                "this user is a service account: it has no password to reset",
            ));
        }
        if !user.is_active {
            return Err(CoreError::conflict(
                "account_disabled",
                "this account is deactivated; activate it before sending a password reset",
            ));
        }
        self.require_mail("password reset")?;
        let now = now_millis();
        let (value, digest) = new_reset_token()?;
        let mut tx = self.db.pool.begin().await?;
        self.queue_reset(&mut tx, &user, &value, &digest, true, now)
            .await?;
        let entry = AuditEntry {
            target_type: Some("user"),
            target_id: Some(user.id),
            details: Some(serde_json::json!({ "email": user.email })),
            ..audit_by(principal, meta, "user.password_reset_sent")
        };
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        self.wake_outbox();
        Ok(())
    }

    /// Stores the link's digest and writes its mail, in the caller's transaction.
    async fn queue_reset(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        user: &User,
        value: &Secret,
        digest: &token::TokenDigest,
        by_administrator: bool,
        now: Millis,
    ) -> CoreResult<()> {
        let expires_at = now + self.settings.password_reset_ttl.as_millis() as i64;
        outbox::insert_reset(&mut **tx, digest, user.id, now, expires_at).await?;
        let link = format!(
            "{}/ui/password-reset?token={}",
            self.jwt.issuer(),
            value.expose()
        );
        let mail = Mail {
            to: user.email.clone(),
            body: MailBody::PasswordReset {
                link,
                expires_at,
                by_administrator,
            },
        };
        self.queue_mail(&mut **tx, &mail).await
    }

    /// `POST /auth/password-reset/confirm`: sets the new password if the link's token is unused
    /// and unexpired, then ends every session and refresh token of the account and voids its other
    /// reset links.
    pub async fn confirm_password_reset(
        &self,
        value: &str,
        new_password: &Secret,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        self.check_password_rules("new_password", new_password)?;
        let invalid = || {
            CoreError::bad_request(
                "invalid_reset_token",
                "token: this password-reset link is unknown, already used or expired; ask for a new one",
            )
        };
        let value = value.trim();
        if value.len() != RESET_TOKEN_LEN || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid());
        }
        // Hashed before the transaction, so that no lock waits on it.
        let hash = self.hasher.hash(new_password).await?;
        let now = now_millis();
        let mut tx = self.db.pool.begin().await?;
        let user_id = outbox::use_reset(&mut *tx, &token::digest(value), now)
            .await?
            .ok_or_else(invalid)?;
        let user = users::get(&mut *tx, user_id)
            .await?
            .filter(may_reset_by_mail)
            .ok_or_else(invalid)?;
        users::set_password_hash(&mut *tx, user.id, &hash, now).await?;
        let ended = end_sign_ins(&mut tx, user.id, None, now).await?;
        outbox::void_resets(&mut *tx, user.id, now).await?;
        let entry = AuditEntry {
            at: now,
            actor_id: Some(user.id),
            actor_email: Some(user.email.clone()),
            credential: Some("password_reset"),
            action: "user.password_reset",
            target_type: Some("user"),
            target_id: Some(user.id),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            details: Some(serde_json::json!({ "sessions_ended": ended })),
            ..AuditEntry::default()
        };
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(user.id))
            .await?;
        Ok(())
    }
}

/// Active people may reset their password by mail; service accounts have none.
fn may_reset_by_mail(user: &User) -> bool {
    user.is_active && !user.is_service_account
}

/// A reset link's token and its digest (the only form stored).
fn new_reset_token() -> CoreResult<(Secret, token::TokenDigest)> {
    let value = token::random_base62(RESET_TOKEN_LEN)
        .map_err(|e| CoreError::Internal(anyhow::anyhow!("OS randomness: {e}")))?;
    let digest = token::digest(&value);
    Ok((Secret::new(value), digest))
}
