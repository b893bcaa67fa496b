//! Multi-factor authentication: TOTP enrollment, the second step of a login, recovery codes,
//! the admin reset, and the step-up check ([`Iam::require_recent_mfa`]) before minting secrets.

use std::time::Duration;

use uuid::Uuid;

use super::cache::Invalidation;
use super::{Iam, audit_by};
use crate::authz::{Credential, Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::{Permission, User};
use crate::sealing::KeyRing;
use crate::secret::Secret;
use crate::store::audit::{self, AuditEntry};
use crate::store::{mfa, throttle, users};
use crate::time::{Millis, now_millis};
use crate::token;
use crate::totp::{self, TotpSecret};

/// The prefix of the `mfa_token` of a login waiting for its second step.
pub const MFA_TOKEN_PREFIX: &str = "justiam_mfa_";
/// The prefix of an enrollment-only token (`MFA_ENFORCE_ENROLLMENT`).
pub const ENROLLMENT_TOKEN_PREFIX: &str = "justiam_mfe_";
/// Recovery codes given at once.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (base32: 80 bits), written in groups of four.
const RECOVERY_CODE_CHARS: usize = 16;
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// `MFA_POLICY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MfaPolicy {
    /// No second factor is offered or asked.
    Disabled,
    /// Users choose; whoever enrolled is asked at every sign-in.
    #[default]
    Optional,
    /// Every user needs a second factor: a login without one only gets an enrollment-only token,
    /// and nobody may remove their last one.
    Required,
}

impl MfaPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            MfaPolicy::Disabled => "disabled",
            MfaPolicy::Optional => "optional",
            MfaPolicy::Required => "required",
        }
    }
}

#[derive(Debug, Clone)]
pub struct MfaSettings {
    pub policy: MfaPolicy,
    /// A login without a method answers `mfa_enrollment_required` (always so under `required`).
    pub enforce_enrollment: bool,
    /// How old the last second-factor check of a session may be for minting tokens and secrets.
    pub reauth: Duration,
    /// Lifetime of an `mfa_token` and of an enrollment-only token.
    pub challenge_ttl: Duration,
    /// The `issuer` authenticator apps show beside the account.
    pub issuer: String,
    /// Seals TOTP secrets at rest.
    pub keys: KeyRing,
}

impl Default for MfaSettings {
    fn default() -> Self {
        Self {
            policy: MfaPolicy::Optional,
            enforce_enrollment: false,
            reauth: Duration::from_secs(15 * 60),
            challenge_ttl: Duration::from_secs(5 * 60),
            issuer: "JustIAM".to_owned(),
            keys: KeyRing::default(),
        }
    }
}

/// What a new enrollment shows once: the secret as text and in the `otpauth://` URI.
pub struct TotpEnrollment {
    pub secret: Secret,
    pub qr_code_uri: Secret,
}

/// A user managing their own second factor: through a portal session, or with an
/// enrollment-only token.
pub struct MfaSelf {
    pub user: User,
    session_id: Option<Uuid>,
    credential: &'static str,
}

/// A user's second factors, for the profile page and `GET /api/v1/me/mfa`.
#[derive(Debug, Clone)]
pub struct MfaStatus {
    pub policy: MfaPolicy,
    pub totp_enrolled: bool,
    pub totp_confirmed_at: Option<Millis>,
    pub recovery_codes_left: i64,
}

/// Which second factor was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaMethod {
    Totp,
    RecoveryCode,
}

impl MfaMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            MfaMethod::Totp => "totp",
            MfaMethod::RecoveryCode => "recovery_code",
        }
    }
}

/// `403 mfa_reauth_required`.
pub fn reauth_required(message: &str) -> CoreError {
    CoreError::forbidden("mfa_reauth_required", message)
}

fn invalid_code() -> CoreError {
    CoreError::validation(
        "code",
        "code is not a current code of the authenticator app (six digits), nor an unused recovery code",
    )
}

impl Iam {
    /// Step-up: the one check before minting a long-lived credential (a PAT, a rotated PAT, an
    /// application secret, a service-account client). A user with a second factor must have
    /// checked it in this session within `MFA_REAUTH_MINUTES`; a token cannot prove one at all.
    /// Users without a second factor (and service accounts) pass.
    pub async fn require_recent_mfa(&self, principal: &Principal, now: Millis) -> CoreResult<()> {
        let mfa = &self.settings.mfa;
        if mfa.policy == MfaPolicy::Disabled
            || principal.user.is_service_account
            || !mfa::has_confirmed_totp(&self.db.pool, principal.id()).await?
        {
            return Ok(());
        }
        let Credential::Jwt { session_id } = principal.credential else {
            return Err(reauth_required(
                "this account has a second factor, which a token cannot prove: sign in (password and code) to do this",
            ));
        };
        let checked_at = mfa::session_mfa_at(&self.db.pool, session_id).await?;
        let fresh = checked_at.is_some_and(|at| now - at <= mfa.reauth.as_millis() as i64);
        if fresh {
            Ok(())
        } else {
            Err(reauth_required(&format!(
                "confirm it is you: send a current code to POST /api/v1/auth/mfa/reauth, then repeat this request \
                 (the second factor must have been checked within {} minutes)",
                mfa.reauth.as_secs().div_ceil(60)
            )))
        }
    }

    /// Whether `user` is asked for a second factor at sign-in.
    pub(crate) async fn mfa_enrolled(&self, user: &User) -> CoreResult<bool> {
        if self.settings.mfa.policy == MfaPolicy::Disabled {
            return Ok(false);
        }
        Ok(mfa::has_confirmed_totp(&self.db.pool, user.id).await?)
    }

    /// Whether a login of a user without a second factor must enroll one first.
    pub(crate) fn enrollment_enforced(&self) -> bool {
        let mfa = &self.settings.mfa;
        mfa.policy == MfaPolicy::Required
            || (mfa.policy == MfaPolicy::Optional && mfa.enforce_enrollment)
    }

    /// A random token of `prefix`, stored as a digest in `mfa_challenges`; returns it and its end.
    pub(crate) async fn issue_challenge(
        &self,
        user_id: Uuid,
        prefix: &str,
        kind: &str,
        now: Millis,
    ) -> CoreResult<(Secret, Millis)> {
        let value = token::generate_with_prefix(prefix)
            .map_err(|e| CoreError::Internal(anyhow::anyhow!("OS randomness: {e}")))?;
        let expires_at = now + self.settings.mfa.challenge_ttl.as_millis() as i64;
        mfa::insert_challenge(
            &self.db.pool,
            &token::digest(value.expose()),
            user_id,
            kind,
            now,
            expires_at,
        )
        .await?;
        Ok((value, expires_at))
    }

    /// The user behind a live challenge token of `prefix`/`kind`, if it is one and they may still
    /// sign in.
    pub(crate) async fn challenge_user(
        &self,
        value: &str,
        prefix: &str,
        kind: &str,
    ) -> CoreResult<Option<User>> {
        if token::check_format_with_prefix(prefix, value).is_err() {
            return Ok(None);
        }
        let digest = token::digest(value);
        let Some(user_id) = mfa::challenge_user(&self.db.pool, &digest, kind, now_millis()).await?
        else {
            return Ok(None);
        };
        let user = users::get(&self.db.pool, user_id).await?;
        Ok(user.filter(|u| u.is_active && !u.is_service_account))
    }

    /// Consumes a challenge token; `false` when another request consumed it first.
    pub(crate) async fn take_challenge(&self, value: &str) -> CoreResult<bool> {
        Ok(mfa::take_challenge(&self.db.pool, &token::digest(value)).await?)
    }

    /// The caller, managing their own second factor through a portal session.
    pub fn mfa_self(&self, principal: &Principal) -> CoreResult<MfaSelf> {
        let Credential::Jwt { session_id } = principal.credential else {
            return Err(super::auth::interactive_auth_required(
                "second factors are managed in a portal session (log in), not with a token",
            ));
        };
        Ok(MfaSelf {
            user: (*principal.user).clone(),
            session_id: Some(session_id),
            credential: "jwt",
        })
    }

    /// The user of an enrollment-only token: they may enroll and confirm, nothing else.
    pub async fn mfa_self_by_enrollment_token(&self, value: &str) -> CoreResult<MfaSelf> {
        let user = self
            .challenge_user(value, ENROLLMENT_TOKEN_PREFIX, "enrollment")
            .await?
            .ok_or(CoreError::InvalidToken)?;
        Ok(MfaSelf {
            user,
            session_id: None,
            credential: "mfa_enrollment",
        })
    }

    /// Starts an enrollment: a new secret, shown once. Replaces a pending one; refused when an
    /// authenticator is already confirmed (remove it first).
    pub async fn enroll_totp(&self, who: &MfaSelf) -> CoreResult<TotpEnrollment> {
        if self.settings.mfa.policy == MfaPolicy::Disabled {
            return Err(CoreError::conflict(
                "mfa_disabled",
                "multi-factor authentication is turned off on this server (MFA_POLICY=disabled)",
            ));
        }
        if who.user.is_service_account {
            return Err(CoreError::conflict(
                "not_a_person",
                "service accounts do not sign in, so they have no second factor",
            ));
        }
        let secret = TotpSecret::generate()
            .map_err(|e| CoreError::Internal(anyhow::anyhow!("OS randomness: {e}")))?;
        let (key_id, sealed) = self.seal_totp(&secret, who.user.id)?;
        if !mfa::put_pending_totp(&self.db.pool, who.user.id, &key_id, &sealed, now_millis())
            .await?
        {
            return Err(CoreError::conflict(
                "mfa_already_enrolled",
                "an authenticator app is already set up; remove it (DELETE /api/v1/me/mfa/totp) before setting up another",
            ));
        }
        Ok(TotpEnrollment {
            secret: Secret::new(secret.to_base32()),
            qr_code_uri: Secret::new(
                secret.otpauth_uri(&self.settings.mfa.issuer, &who.user.email),
            ),
        })
    }

    /// Confirms a pending enrollment with its first code; returns the ten recovery codes, shown
    /// this once. The session it was confirmed in counts as checked now.
    pub async fn confirm_totp(
        &self,
        who: &MfaSelf,
        code: &str,
        meta: &RequestMeta,
    ) -> CoreResult<Vec<Secret>> {
        let row = mfa::get_totp(&self.db.pool, who.user.id).await?;
        match row {
            None => {
                return Err(CoreError::conflict(
                    "mfa_not_enrolling",
                    "no enrollment is waiting: start one with POST /api/v1/mfa/totp/enroll",
                ));
            }
            Some(row) if row.confirmed_at.is_some() => {
                return Err(CoreError::conflict(
                    "mfa_already_enrolled",
                    "the authenticator app is already confirmed",
                ));
            }
            Some(_) => {}
        }
        if self
            .check_second_factor(&who.user, code, false, meta)
            .await?
            .is_none()
        {
            return Err(invalid_code());
        }
        let now = now_millis();
        let (codes, digests) = new_recovery_codes()?;
        let mut tx = self.db.pool.begin().await?;
        mfa::replace_recovery_codes(&mut tx, who.user.id, &digests).await?;
        if let Some(session_id) = who.session_id {
            mfa::set_session_mfa_at(&mut *tx, session_id, now).await?;
        }
        let entry = AuditEntry {
            target_type: Some("user"),
            target_id: Some(who.user.id),
            details: Some(serde_json::json!({ "method": "totp" })),
            ..self_audit(who, meta, "mfa.enrolled")
        };
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Removes the caller's authenticator and recovery codes; needs a current code.
    pub async fn remove_my_totp(
        &self,
        principal: &Principal,
        code: &str,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let who = self.mfa_self(principal)?;
        if self.settings.mfa.policy == MfaPolicy::Required {
            return Err(CoreError::conflict(
                "mfa_required_by_policy",
                "this server requires a second factor (MFA_POLICY=required); an administrator can reset it",
            ));
        }
        if !mfa::has_confirmed_totp(&self.db.pool, who.user.id).await? {
            return Err(CoreError::not_found("authenticator app"));
        }
        if self
            .check_second_factor(&who.user, code, true, meta)
            .await?
            .is_none()
        {
            return Err(invalid_code());
        }
        let mut tx = self.db.pool.begin().await?;
        mfa::delete_all(&mut tx, who.user.id).await?;
        let entry = AuditEntry {
            target_type: Some("user"),
            target_id: Some(who.user.id),
            details: Some(serde_json::json!({ "method": "totp" })),
            ..audit_by(principal, meta, "mfa.unenrolled")
        };
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// New recovery codes for the caller (the old ones stop working); needs a recent check.
    pub async fn regenerate_recovery_codes(
        &self,
        principal: &Principal,
        meta: &RequestMeta,
    ) -> CoreResult<Vec<Secret>> {
        let who = self.mfa_self(principal)?;
        if !mfa::has_confirmed_totp(&self.db.pool, who.user.id).await? {
            return Err(CoreError::conflict(
                "mfa_not_enrolled",
                "recovery codes come with an authenticator app; set one up first",
            ));
        }
        self.require_recent_mfa(principal, now_millis()).await?;
        let (codes, digests) = new_recovery_codes()?;
        let mut tx = self.db.pool.begin().await?;
        mfa::replace_recovery_codes(&mut tx, who.user.id, &digests).await?;
        let entry = AuditEntry {
            target_type: Some("user"),
            target_id: Some(who.user.id),
            details: Some(
                serde_json::json!({ "method": "recovery_code", "regenerated": RECOVERY_CODES }),
            ),
            ..audit_by(principal, meta, "mfa.enrolled")
        };
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Checks a code again in the caller's session (step-up), so that minting tokens and secrets
    /// is allowed for `MFA_REAUTH_MINUTES`.
    pub async fn reauthenticate_mfa(
        &self,
        principal: &Principal,
        code: &str,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let who = self.mfa_self(principal)?;
        if !self.mfa_enrolled(&who.user).await? {
            return Err(CoreError::conflict(
                "mfa_not_enrolled",
                "this account has no second factor to check",
            ));
        }
        if self
            .check_second_factor(&who.user, code, true, meta)
            .await?
            .is_none()
        {
            return Err(invalid_code());
        }
        if let Some(session_id) = who.session_id {
            mfa::set_session_mfa_at(&self.db.pool, session_id, now_millis()).await?;
        }
        Ok(())
    }

    /// The caller's second factors.
    pub async fn my_mfa(&self, principal: &Principal) -> CoreResult<MfaStatus> {
        self.mfa_status_of(principal.id()).await
    }

    async fn mfa_status_of(&self, user_id: Uuid) -> CoreResult<MfaStatus> {
        let row = mfa::get_totp(&self.db.pool, user_id).await?;
        let confirmed_at = row.and_then(|r| r.confirmed_at);
        Ok(MfaStatus {
            policy: self.settings.mfa.policy,
            totp_enrolled: confirmed_at.is_some(),
            totp_confirmed_at: confirmed_at,
            recovery_codes_left: mfa::recovery_codes_left(&self.db.pool, user_id).await?,
        })
    }

    /// A user's second factors, for an administrator (`users.view`).
    pub async fn user_mfa(&self, principal: &Principal, id: Uuid) -> CoreResult<MfaStatus> {
        self.get_user(principal, id).await?;
        self.mfa_status_of(id).await
    }

    /// Administrator reset (`users.update`): removes the user's authenticator and recovery codes,
    /// so they sign in with the password alone (or enroll again when it is enforced).
    pub async fn reset_user_mfa(
        &self,
        principal: &Principal,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        principal.require(Permission::UsersUpdate)?;
        let user = users::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("user"))?;
        if id == principal.id() {
            // One's own, without a code, only right after a check: else a stolen session of a
            // holder of `users.update` would shed the second factor that protects it.
            self.require_recent_mfa(principal, now_millis()).await?;
        } else {
            // Removing someone's second factor disarms them: as deactivating them.
            self.require_can_act_on(principal, &user).await?;
        }
        let mut tx = self.db.pool.begin().await?;
        if !mfa::delete_all(&mut tx, id).await? {
            // Idempotent: the user already has no second factor, which is what was asked. Nothing
            // changed, so nothing is audited.
            return Ok(());
        }
        let entry = AuditEntry {
            target_type: Some("user"),
            target_id: Some(id),
            details: Some(serde_json::json!({ "email": user.email })),
            ..audit_by(principal, meta, "mfa.reset")
        };
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(id))
            .await?;
        Ok(())
    }

    /// Checks a second factor of `user`: a TOTP code (of the pending enrollment while
    /// `recovery` is false and none is confirmed) or, with `recovery`, an unused recovery code.
    /// Counted like password attempts on the account's own key, from any address: past
    /// `LOGIN_MAX_FAILURES_PER_ACCOUNT` the account's second step is locked for a while (`429`).
    /// A wrong code is audited `mfa.failed` and answers `Ok(None)`.
    pub(crate) async fn check_second_factor(
        &self,
        user: &User,
        code: &str,
        recovery: bool,
        meta: &RequestMeta,
    ) -> CoreResult<Option<MfaMethod>> {
        let now = now_millis();
        let key = format!("mfa:{}", user.id);
        if let Some(until) = throttle::blocked_until(&self.db.pool, &key, now).await? {
            return Err(super::auth::throttled(until, now));
        }
        let t = &self.settings.throttle;
        let lockout = |attempts: i64| {
            let doublings = (attempts - t.account_max_failures).clamp(0, 10) as u32;
            (t.lockout.as_millis() as i64)
                .saturating_mul(1 << doublings)
                .min(crate::time::HOUR_MS)
        };
        self.admit_login_attempt(&key, t.account_max_failures, lockout, now)
            .await?;
        let method = if totp::parse_code(code).is_some() {
            self.accept_totp(user.id, code, now, !recovery)
                .await?
                .then_some(MfaMethod::Totp)
        } else if recovery {
            match normalize_recovery_code(code) {
                Some(normal) => {
                    mfa::use_recovery_code(&self.db.pool, user.id, &token::digest(&normal), now)
                        .await?
                        .then_some(MfaMethod::RecoveryCode)
                }
                None => None,
            }
        } else {
            None
        };
        match method {
            Some(_) => throttle::reset(&self.db.pool, &key).await?,
            None => {
                let entry = AuditEntry {
                    at: now,
                    actor_id: Some(user.id),
                    actor_email: Some(user.email.clone()),
                    action: "mfa.failed",
                    target_type: Some("user"),
                    target_id: Some(user.id),
                    ip: meta.ip.clone(),
                    user_agent: meta.user_agent.clone(),
                    ..AuditEntry::default()
                };
                audit::insert(&mut *self.db.pool.acquire().await?, &entry).await?;
            }
        }
        Ok(method)
    }

    /// Checks a TOTP code against the user's secret and records its step, so it works once
    /// (on every node: the step is kept in the database). Re-seals a secret still under the
    /// previous key.
    async fn accept_totp(
        &self,
        user_id: Uuid,
        code: &str,
        now: Millis,
        confirming: bool,
    ) -> CoreResult<bool> {
        let Some(row) = mfa::get_totp(&self.db.pool, user_id).await? else {
            return Ok(false);
        };
        // A pending secret only confirms its enrollment; a confirmed one only signs in.
        if row.confirmed_at.is_some() == confirming {
            return Ok(false);
        }
        let secret = self.open_totp(&row.key_id, &row.secret, user_id)?;
        let Some(step) = secret.verify(code, now / 1000, row.last_step) else {
            return Ok(false);
        };
        if !mfa::accept_step(&self.db.pool, user_id, step, now).await? {
            return Ok(false);
        }
        if self.settings.mfa.keys.needs_reseal(&row.key_id) {
            let (key_id, sealed) = self.seal_totp(&secret, user_id)?;
            mfa::reseal_totp(&self.db.pool, user_id, &row.key_id, &key_id, &sealed).await?;
        }
        Ok(true)
    }

    fn seal_totp(&self, secret: &TotpSecret, user_id: Uuid) -> CoreResult<(String, Vec<u8>)> {
        self.settings
            .mfa
            .keys
            .seal(secret.as_bytes(), user_id.as_bytes())
            .map_err(|e| CoreError::Internal(anyhow::anyhow!("sealing a TOTP secret: {e}")))
    }

    fn open_totp(&self, key_id: &str, sealed: &[u8], user_id: Uuid) -> CoreResult<TotpSecret> {
        self.settings
            .mfa
            .keys
            .open(key_id, sealed, user_id.as_bytes())
            .map(TotpSecret::from_bytes)
            .map_err(|e| {
                CoreError::Internal(anyhow::anyhow!(
                    "opening the TOTP secret of user {user_id}: {e}"
                ))
            })
    }

    /// Key rotation: seals again, under the current key, every TOTP secret sealed under the
    /// previous one (`MFA_ENCRYPTION_KEY_PREVIOUS`). Run at start; idempotent on every node.
    /// Secrets under a key the server no longer holds are reported, not touched.
    pub async fn reseal_mfa_secrets(&self) -> CoreResult<u64> {
        let keys = &self.settings.mfa.keys;
        let Some(current) = keys.current_id() else {
            return Ok(0);
        };
        let mut resealed = 0;
        let mut unknown = 0;
        for (user_id, key_id, sealed) in
            mfa::sealed_under_other_keys(&self.db.pool, current).await?
        {
            match keys.open(&key_id, &sealed, user_id.as_bytes()) {
                Ok(plain) => {
                    let secret = TotpSecret::from_bytes(plain);
                    let (new_id, new_sealed) = self.seal_totp(&secret, user_id)?;
                    if mfa::reseal_totp(&self.db.pool, user_id, &key_id, &new_id, &new_sealed)
                        .await?
                    {
                        resealed += 1;
                    }
                }
                Err(_) => unknown += 1,
            }
        }
        if unknown > 0 {
            tracing::error!(
                secrets = unknown,
                "TOTP secrets are sealed under a key this server does not hold: those users cannot pass \
                 their second step until MFA_ENCRYPTION_KEY_PREVIOUS names that key (or an administrator resets their MFA)"
            );
        }
        if resealed > 0 {
            tracing::info!(
                secrets = resealed,
                "re-sealed TOTP secrets under the current MFA encryption key"
            );
        }
        Ok(resealed)
    }
}

/// The audit entry of a user acting on their own second factor.
fn self_audit(who: &MfaSelf, meta: &RequestMeta, action: &'static str) -> AuditEntry {
    AuditEntry {
        at: now_millis(),
        actor_id: Some(who.user.id),
        actor_email: Some(who.user.email.clone()),
        credential: Some(who.credential),
        action,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        ..AuditEntry::default()
    }
}

/// Ten fresh recovery codes (`xxxx-xxxx-xxxx-xxxx`) and their digests.
fn new_recovery_codes() -> CoreResult<(Vec<Secret>, Vec<token::TokenDigest>)> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut digests = Vec::with_capacity(RECOVERY_CODES);
    let mut random = [0u8; RECOVERY_CODE_CHARS];
    for _ in 0..RECOVERY_CODES {
        getrandom::fill(&mut random)
            .map_err(|e| CoreError::Internal(anyhow::anyhow!("OS randomness: {e}")))?;
        // 32 letters: each byte's low five bits pick one uniformly.
        let plain: String = random
            .iter()
            .map(|b| RECOVERY_ALPHABET[usize::from(b & 31)] as char)
            .collect();
        digests.push(token::digest(&plain));
        let grouped = plain
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("-");
        codes.push(Secret::new(grouped));
    }
    Ok((codes, digests))
}

/// A recovery code as typed (any case, dashes and spaces anywhere) in its stored form.
fn normalize_recovery_code(input: &str) -> Option<String> {
    let plain: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (plain.len() == RECOVERY_CODE_CHARS && plain.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_ten_distinct_grouped_codes_that_normalize_to_their_digest() {
        let (codes, digests) = new_recovery_codes().expect("random");
        assert_eq!(codes.len(), 10);
        for (code, digest) in codes.iter().zip(&digests) {
            assert_eq!(code.expose().len(), 19);
            assert_eq!(code.expose().matches('-').count(), 3);
            let typed = code.expose().to_uppercase().replace('-', " ");
            let normal = normalize_recovery_code(&typed).expect("normalizes");
            assert_eq!(&token::digest(&normal), digest);
        }
        let mut unique = digests.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert_eq!(normalize_recovery_code("123456"), None);
        assert_eq!(normalize_recovery_code("abcd-abcd-abcd-abc1"), None);
    }
}
