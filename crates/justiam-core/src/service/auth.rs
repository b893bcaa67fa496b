//! Login, logout, password change, and turning a bearer credential into a [`Principal`].

use super::cache::Invalidation;
use uuid::Uuid;

use super::cache::CacheKey;
use super::mfa::{ENROLLMENT_TOKEN_PREFIX, MFA_TOKEN_PREFIX, MfaMethod};
use super::{Iam, audit_by};
use crate::authz::{Credential, Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::jwt::Claims;
use crate::model::{Email, PermissionSet, Session, User};
use crate::password::Verdict;
use crate::secret::Secret;
use crate::store::audit::{self, AuditEntry};
use crate::store::{new_id, roles, sessions, throttle, tokens, users};
use crate::time::{Millis, now_millis};
use crate::token::{self, Bearer};

pub struct LoginOutcome {
    pub jwt: Secret,
    pub expires_at: Millis,
    pub user: User,
    /// When the second factor was checked in this login (`None`: password only).
    pub mfa_at: Option<Millis>,
}

/// Where a password login stands.
pub enum LoginStep {
    /// Signed in.
    Done(LoginOutcome),
    /// The password was right; the second factor is asked with this `mfa_token`
    /// ([`Iam::verify_mfa_login`]).
    MfaRequired {
        mfa_token: Secret,
        expires_at: Millis,
    },
    /// The password was right, but a second factor must be enrolled first: this token can only
    /// enroll and confirm one (`MFA_ENFORCE_ENROLLMENT`, `MFA_POLICY=required`).
    EnrollmentRequired {
        enrollment_token: Secret,
        expires_at: Millis,
    },
}

/// Why a bearer credential was refused. Every refusal answers the same `401 invalid_token`; the
/// reason only feeds metrics and logs.
#[derive(Debug)]
pub enum Refusal {
    /// Malformed, bad checksum, bad signature, unknown.
    Invalid,
    Expired,
    /// Revoked token, ended session, deactivated owner.
    Revoked,
    /// The check itself failed (database unavailable, …).
    Failed(CoreError),
}

impl Refusal {
    /// The `outcome` label of the authentication metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            Refusal::Invalid => "invalid",
            Refusal::Expired => "expired",
            Refusal::Revoked => "revoked",
            Refusal::Failed(_) => "error",
        }
    }
}

impl From<Refusal> for CoreError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Failed(error) => error,
            _ => CoreError::InvalidToken,
        }
    }
}

impl From<CoreError> for Refusal {
    fn from(error: CoreError) -> Self {
        Refusal::Failed(error)
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(error: sqlx::Error) -> Self {
        Refusal::Failed(error.into())
    }
}

impl Iam {
    /// Resolves a bearer credential (PAT, service-account access token or portal JWT, told apart
    /// by [`Bearer::of`] where it was read) to the caller with their current permissions: from the in-process cache when it holds
    /// a valid entry, else from the database.
    pub async fn authenticate(
        &self,
        bearer: Bearer<'_>,
        ip: Option<std::net::IpAddr>,
    ) -> Result<Principal, Refusal> {
        let now = now_millis();
        let principal = match bearer {
            Bearer::Pat(value) => {
                // Shape and checksum first: a made-up value never reaches the cache or the database.
                token::check_format(value).map_err(|_| Refusal::Invalid)?;
                let key = CacheKey::Pat(token::digest(value));
                match self.cache.get(&key, now) {
                    Some(principal) => principal,
                    None => {
                        let ticket = self.cache.ticket();
                        let (principal, valid_until) = self.authenticate_pat(&key, now).await?;
                        self.cache
                            .put(key, principal.clone(), valid_until, ticket, now);
                        principal
                    }
                }
            }
            Bearer::Access(value) => {
                // The digest of the whole token, signature included: a hit is a token that was
                // checked before, so the signature need not be checked again.
                let key = CacheKey::Access(token::digest(value));
                match self.cache.get(&key, now) {
                    Some(principal) => principal,
                    None => {
                        let ticket = self.cache.ticket();
                        let (principal, valid_until, _) =
                            self.authenticate_access_token(value, now).await?;
                        self.cache
                            .put(key, principal.clone(), valid_until, ticket, now);
                        principal
                    }
                }
            }
            Bearer::Jwt(value) => {
                let claims = self.jwt.verify(value, now / 1000).map_err(|e| match e {
                    crate::jwt::JwtError::Expired => Refusal::Expired,
                    crate::jwt::JwtError::Invalid => Refusal::Invalid,
                })?;
                let user_id = Uuid::parse_str(&claims.sub).map_err(|_| Refusal::Invalid)?;
                let session_id = Uuid::parse_str(&claims.sid).map_err(|_| Refusal::Invalid)?;
                let key = CacheKey::Session(session_id);
                match self.cache.get(&key, now).filter(|p| p.id() == user_id) {
                    Some(principal) => principal,
                    None => {
                        let ticket = self.cache.ticket();
                        let principal = self.authenticate_session(session_id, user_id, now).await?;
                        self.cache.put(
                            key,
                            principal.clone(),
                            claims.exp.saturating_mul(1000),
                            ticket,
                            now,
                        );
                        principal
                    }
                }
            }
        };
        if let Credential::Pat { token_id, .. } = principal.credential {
            self.usage.note(token_id, now, ip);
        }
        Ok(principal)
    }

    /// The database side of a PAT check; also returns until when the answer holds (expiry, or the
    /// end of a rotation grace period).
    async fn authenticate_pat(
        &self,
        key: &CacheKey,
        now: Millis,
    ) -> Result<(Principal, Millis), Refusal> {
        let CacheKey::Pat(digest) = key else {
            return Err(Refusal::Invalid);
        };
        let found = tokens::find_by_digest(&self.db.pool, digest)
            .await?
            .ok_or(Refusal::Invalid)?;
        let t = &found.token;
        if t.is_revoked(now) || !found.owner.is_active {
            return Err(Refusal::Revoked);
        }
        if t.expires_at <= now {
            return Err(Refusal::Expired);
        }
        let valid_until = t.revoked_at.map_or(t.expires_at, |at| at.min(t.expires_at));
        let credential = Credential::Pat {
            token_id: t.id,
            expires_at: t.expires_at,
        };
        let limit = t.permissions;
        let mut principal = self.principal(found.owner, credential).await?;
        if let Some(limit) = limit {
            principal.permissions = principal.permissions.intersection(limit);
            principal.restricted = true;
        }
        Ok((principal, valid_until))
    }

    /// The database side of a portal JWT check: the session must still exist.
    async fn authenticate_session(
        &self,
        session_id: Uuid,
        user_id: Uuid,
        now: Millis,
    ) -> Result<Principal, Refusal> {
        if !sessions::is_live(&self.db.pool, session_id, user_id, now).await? {
            return Err(Refusal::Revoked);
        }
        let user = users::get(&self.db.pool, user_id)
            .await?
            .ok_or(Refusal::Revoked)?;
        if !user.is_active {
            return Err(Refusal::Revoked);
        }
        Ok(self.principal(user, Credential::Jwt { session_id }).await?)
    }

    pub(super) async fn principal(
        &self,
        user: User,
        credential: Credential,
    ) -> CoreResult<Principal> {
        let permissions = self.user_permissions(&user).await?;
        Ok(Principal {
            user: std::sync::Arc::new(user),
            credential,
            permissions,
            restricted: false,
        })
    }

    /// A user's current permissions: everything for `is_admin`, else the union of their roles.
    pub(crate) async fn user_permissions(&self, user: &User) -> CoreResult<PermissionSet> {
        if user.is_admin {
            Ok(PermissionSet::all())
        } else {
            Ok(roles::effective_permissions(&self.db.pool, user.id).await?)
        }
    }

    /// Password login. Unknown emails, service accounts and wrong passwords get the same answer in
    /// about the same time; repeated failures per account and per address are throttled. With a
    /// second factor enrolled (or enrollment enforced) the login is not done yet: see [`LoginStep`].
    pub async fn login(
        &self,
        email: &str,
        password: &Secret,
        meta: &RequestMeta,
    ) -> CoreResult<LoginStep> {
        let (user, pair_key) = self.check_password(email, password, meta).await?;
        let now = now_millis();
        if self.mfa_enrolled(&user).await? {
            // The password was right: its counter for this address starts again; the second
            // step is counted on its own key.
            throttle::reset(&self.db.pool, &pair_key).await?;
            let (mfa_token, expires_at) = self
                .issue_challenge(user.id, MFA_TOKEN_PREFIX, "login", now)
                .await?;
            return Ok(LoginStep::MfaRequired {
                mfa_token,
                expires_at,
            });
        }
        if self.enrollment_enforced() {
            throttle::reset(&self.db.pool, &pair_key).await?;
            let (enrollment_token, expires_at) = self
                .issue_challenge(user.id, ENROLLMENT_TOKEN_PREFIX, "enrollment", now)
                .await?;
            return Ok(LoginStep::EnrollmentRequired {
                enrollment_token,
                expires_at,
            });
        }
        let outcome = self.open_session(user, Some(&pair_key), None, meta).await?;
        Ok(LoginStep::Done(outcome))
    }

    /// The second step of a login: the `mfa_token` of [`LoginStep::MfaRequired`] and a TOTP code
    /// or a recovery code. The token works once; wrong codes are throttled per account.
    pub async fn verify_mfa_login(
        &self,
        mfa_token: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> CoreResult<LoginOutcome> {
        let invalid_token = || {
            CoreError::unauthorized(
                "invalid_mfa_token",
                "mfa_token is unknown, expired or already used: sign in again with the password",
            )
        };
        let user = self
            .challenge_user(mfa_token, MFA_TOKEN_PREFIX, "login")
            .await?
            .ok_or_else(invalid_token)?;
        let Some(method) = self.check_second_factor(&user, code, true, meta).await? else {
            return Err(CoreError::unauthorized(
                "invalid_mfa_code",
                "code is not a current code of the authenticator app, nor an unused recovery code",
            ));
        };
        if !self.take_challenge(mfa_token).await? {
            return Err(invalid_token());
        }
        self.open_session(user, None, Some(method), meta).await
    }

    /// Checks email and password (throttled, audited); returns the user and the throttle key of
    /// this account and address.
    async fn check_password(
        &self,
        email: &str,
        password: &Secret,
        meta: &RequestMeta,
    ) -> CoreResult<(User, String)> {
        let email = &typed_email(email)?;
        let now = now_millis();
        let account = email.trim().to_lowercase();
        let account_key = format!("account:{account}");
        let pair_key = format!("account:{account}|ip:{}", meta.ip.as_deref().unwrap_or("-"));
        let ip_key = meta.ip.as_ref().map(|ip| format!("ip:{ip}"));
        let keys = [Some(&pair_key), ip_key.as_ref(), Some(&account_key)];
        for key in keys.into_iter().flatten() {
            if let Some(until) = throttle::blocked_until(&self.db.pool, key, now).await? {
                return Err(throttled(until, now));
            }
        }

        // Attempts are counted before the password is checked, so that concurrent guesses cannot
        // all slip through before the first failure is recorded: the attempt that reaches a limit
        // blocks its key at once, and after a lockout one attempt at a time is let through.
        // The lockout is per account *and* address (someone else's failures never lock you out);
        // the account as a whole is only slowed down.
        let t = &self.settings.throttle;
        let lockout = |attempts: i64| {
            let doublings = (attempts - t.account_max_failures).clamp(0, 10) as u32;
            (t.lockout.as_millis() as i64)
                .saturating_mul(1 << doublings)
                .min(crate::time::HOUR_MS)
        };
        self.admit_login_attempt(&pair_key, t.account_max_failures, lockout, now)
            .await?;
        let spacing = t.account_slowdown_interval.as_millis() as i64;
        self.admit_login_attempt(&account_key, t.account_slowdown_after, |_| spacing, now)
            .await?;

        let found = users::get_row_by_email(&self.db.pool, email).await?;
        let stored = found
            .as_ref()
            .filter(|row| !row.user.is_service_account)
            .and_then(|row| row.password_hash.as_deref());
        let verdict = self.hasher.verify(password, stored).await?;
        let user = match (verdict, found) {
            (Verdict::Mismatch, found) => {
                self.record_address_failure(ip_key.as_deref(), now).await?;
                let user_id = found.as_ref().map(|row| row.user.id);
                let entry = AuditEntry {
                    at: now,
                    actor_id: user_id,
                    actor_email: Some(email.chars().take(254).collect()),
                    credential: Some("password"),
                    action: "auth.login_failed",
                    target_type: Some("user"),
                    target_id: user_id,
                    ip: meta.ip.clone(),
                    user_agent: meta.user_agent.clone(),
                    ..AuditEntry::default()
                };
                audit::insert(&mut *self.db.pool.acquire().await?, &entry).await?;
                return Err(CoreError::InvalidCredentials);
            }
            (_, None) => return Err(CoreError::InvalidCredentials),
            (verdict, Some(row)) => {
                let mut user = row.user;
                if verdict == Verdict::MatchNeedsRehash {
                    let hash = self.hasher.hash(password).await?;
                    users::set_password_hash(&self.db.pool, user.id, &hash, now).await?;
                    user.updated_at = now;
                }
                user
            }
        };
        if !user.is_active {
            return Err(CoreError::forbidden(
                "account_disabled",
                "this account is deactivated",
            ));
        }
        Ok((user, pair_key))
    }

    /// Opens a portal session for `user`, who has signed in (with `mfa` when a second factor was
    /// checked), and signs its JWT.
    async fn open_session(
        &self,
        user: User,
        pair_key: Option<&str>,
        mfa: Option<MfaMethod>,
        meta: &RequestMeta,
    ) -> CoreResult<LoginOutcome> {
        let now = now_millis();
        let expires_at = now + self.settings.token_duration.as_millis() as i64;
        let session = Session {
            id: new_id(),
            user_id: user.id,
            created_at: now,
            expires_at,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            kind: "portal",
        };
        let mut tx = self.db.pool.begin().await?;
        sessions::insert(&mut *tx, &session).await?;
        let mfa_at = mfa.map(|_| now);
        if let Some(at) = mfa_at {
            crate::store::mfa::set_session_mfa_at(&mut *tx, session.id, at).await?;
        }
        // Only this address's counter: the account-wide one runs out with its window, so that a
        // login of the owner does not hand an attacker a fresh budget of fast guesses.
        if let Some(pair_key) = pair_key {
            throttle::reset(&mut *tx, pair_key).await?;
        }
        let entry = AuditEntry {
            at: now,
            actor_id: Some(user.id),
            actor_email: Some(user.email.clone()),
            credential: Some("password"),
            action: "auth.login_succeeded",
            target_type: Some("session"),
            target_id: Some(session.id),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            details: mfa.map(|m| serde_json::json!({ "mfa": m.as_str() })),
            ..AuditEntry::default()
        };
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;

        let claims = Claims {
            sub: user.id.to_string(),
            sid: session.id.to_string(),
            iat: now / 1000,
            exp: expires_at / 1000,
            iss: self.jwt.issuer().to_owned(),
        };
        Ok(LoginOutcome {
            jwt: Secret::new(self.jwt.sign(&claims)),
            expires_at,
            user,
            mfa_at,
        })
    }

    /// Counts a login attempt for `key`; past `max` attempts in the window, only one attempt per
    /// `block_for(attempts)` gets through, the others are `429` with `Retry-After`.
    pub(crate) async fn admit_login_attempt(
        &self,
        key: &str,
        max: i64,
        block_for: impl Fn(i64) -> Millis,
        now: Millis,
    ) -> CoreResult<()> {
        let window = self.settings.throttle.window.as_millis() as i64;
        let attempts = throttle::count_login_attempt(
            &self.db.pool,
            key,
            now,
            window,
            max,
            now + block_for(max),
        )
        .await?;
        if attempts > max
            && !throttle::claim_probe(&self.db.pool, key, now, now + block_for(attempts)).await?
        {
            let until = throttle::blocked_until(&self.db.pool, key, now)
                .await?
                .unwrap_or(now + 1000);
            return Err(throttled(until, now));
        }
        Ok(())
    }

    /// Counts a failed login against the client address, and blocks it at the limit.
    async fn record_address_failure(&self, ip_key: Option<&str>, now: Millis) -> CoreResult<()> {
        let Some(key) = ip_key else { return Ok(()) };
        let t = &self.settings.throttle;
        let failures =
            throttle::count_attempt(&self.db.pool, key, now, t.window.as_millis() as i64).await?;
        if failures >= t.ip_max_failures {
            let doublings = (failures - t.ip_max_failures).min(10) as u32;
            let lockout = (t.lockout.as_millis() as i64)
                .saturating_mul(1 << doublings)
                .min(crate::time::HOUR_MS);
            throttle::block(&self.db.pool, key, now + lockout).await?;
        }
        Ok(())
    }

    /// Ends the session behind the caller's JWT.
    pub async fn logout(&self, principal: &Principal, meta: &RequestMeta) -> CoreResult<()> {
        let Credential::Jwt { session_id } = principal.credential else {
            return Err(interactive_auth_required(
                "logout ends a portal session; revoke a token with DELETE /api/v1/me/tokens/{id}",
            ));
        };
        let mut tx = self.db.pool.begin().await?;
        sessions::delete(&mut *tx, session_id).await?;
        let entry = AuditEntry {
            target_type: Some("session"),
            target_id: Some(session_id),
            ..audit_by(principal, meta, "auth.logout")
        };
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(principal.id()))
            .await?;
        Ok(())
    }

    /// Changes the caller's password and ends their other sessions.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &Secret,
        new: &Secret,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let Credential::Jwt { session_id } = principal.credential else {
            return Err(interactive_auth_required(
                "changing the password needs a portal login, not a token",
            ));
        };
        self.check_password_rules("new_password", new)?;
        let user_id = principal.id();
        let stored = users::get_row(&self.db.pool, user_id)
            .await?
            .ok_or(CoreError::InvalidToken)?;
        if self
            .hasher
            .verify(current, stored.password_hash.as_deref())
            .await?
            == Verdict::Mismatch
        {
            return Err(CoreError::validation(
                "current_password",
                "current_password is not the account's password",
            ));
        }
        let hash = self.hasher.hash(new).await?;
        let mut tx = self.db.pool.begin().await?;
        users::set_password_hash(&mut *tx, user_id, &hash, now_millis()).await?;
        let ended = end_sign_ins(&mut tx, user_id, Some(session_id), now_millis()).await?;
        let entry = AuditEntry {
            target_type: Some("user"),
            target_id: Some(user_id),
            details: Some(serde_json::json!({ "sessions_ended": ended })),
            ..audit_by(principal, meta, "user.password_changed")
        };
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(user_id))
            .await?;
        Ok(())
    }

    pub(crate) fn check_password_rules(&self, field: &str, password: &Secret) -> CoreResult<()> {
        let len = password.expose().chars().count();
        let min = self.settings.password_min_length;
        if len < min {
            return Err(CoreError::validation(
                field,
                format!("{field} must be at least {min} characters"),
            ));
        }
        let max = justiam_types::rules::PASSWORD_MAX_CHARS;
        if len > max {
            return Err(CoreError::validation(
                field,
                format!("{field} must be at most {max} characters"),
            ));
        }
        Ok(())
    }
}

/// An email address typed to sign in or to reset a password, normalised as stored ones are
/// (`Email::parse`), so that a look-alike reaches the same account — and counts against its
/// throttle. No account's email holds a control character (and PostgreSQL text cannot hold a
/// NUL), nor an invisible one.
pub(crate) fn typed_email(email: &str) -> CoreResult<String> {
    let email = Email::normalize(email);
    if email.chars().any(char::is_control) {
        return Err(CoreError::validation(
            "email",
            "email must not contain control characters",
        ));
    }
    if email.chars().any(Email::is_invisible) {
        return Err(CoreError::validation(
            "email",
            "email must not contain invisible or bidirectional control characters",
        ));
    }
    Ok(email)
}

pub(crate) fn throttled(until: Millis, now: Millis) -> CoreError {
    CoreError::Throttled {
        retry_after_secs: ((until - now + 999) / 1000).max(1) as u64,
    }
}

/// Ends a user's portal sessions (but `keep`) and revokes the refresh tokens issued under them:
/// what a password change or reset does to the sign-ins made with the old password. Returns how
/// many sessions ended.
pub(crate) async fn end_sign_ins(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: Uuid,
    keep: Option<Uuid>,
    now: Millis,
) -> CoreResult<u64> {
    let ended = sessions::delete_for_user(&mut **tx, user_id, keep).await?;
    crate::store::oauth::revoke_for_user(&mut **tx, user_id, keep, now).await?;
    Ok(ended)
}

pub(crate) fn interactive_auth_required(message: &str) -> CoreError {
    CoreError::forbidden("interactive_auth_required", message)
}
