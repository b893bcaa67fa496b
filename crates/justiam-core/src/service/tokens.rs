//! Personal access tokens: self-service (`/me/tokens`), service accounts (`/users/{id}/tokens`,
//! permission `service_accounts.tokens`), fine-grained permissions, rotation with a grace period,
//! self-inspection, leak response and the operator inventory.

use super::cache::Invalidation;
use super::outbox::TokenNoticeKind;
use std::sync::Arc;

use justiam_types::{CreateToken, RotateToken, rules};
use uuid::Uuid;

use super::auth::interactive_auth_required;
use super::users::admin_only;
use super::{Iam, audit_by};
use crate::authz::{Credential, Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::{
    PageRequest, Permission, PermissionSet, Token, TokenDetail, TokenInventoryFilter,
    TokenListFilter, TokenName, TokenWithOwner, User,
};
use crate::secret::Secret;
use crate::store::audit::{self, AuditEntry};
use crate::store::{is_unique_violation, new_id, throttle, tokens, users};
use crate::time::{DAY_MS, Millis, now_millis};
use crate::token;

/// A user may hold at most this many active (unrevoked, unexpired) tokens.
pub const MAX_ACTIVE_TOKENS: i64 = 100;
pub const MAX_EXPIRES_IN_DAYS: i64 = rules::EXPIRES_IN_DAYS_MAX;
pub const MAX_GRACE_PERIOD_SECONDS: i64 = rules::GRACE_PERIOD_SECONDS_MAX;
/// Values accepted by one leak report.
pub const MAX_LEAKED_PER_REQUEST: usize = rules::LEAKED_TOKENS_MAX;
/// Leak reports accepted per client address per minute.
pub const LEAK_REPORTS_PER_MINUTE: i64 = 10;

/// Whose tokens a call manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner {
    /// The caller (`/me/tokens`).
    Caller,
    /// A service account (`/users/{id}/tokens`).
    ServiceAccount(Uuid),
}

/// The one time a token value leaves the server.
#[derive(Debug)]
pub struct IssuedToken {
    pub record: Token,
    pub value: Secret,
}

/// What a new token needs besides its owner.
struct TokenSpec {
    name: String,
    expires_in_days: i64,
    permissions: Option<PermissionSet>,
    /// Rotation: the predecessor and when it stops working.
    replaces: Option<(Uuid, Millis)>,
}

fn check_expires_in_days(days: i64) -> CoreResult<i64> {
    if (rules::EXPIRES_IN_DAYS_MIN..=MAX_EXPIRES_IN_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(CoreError::validation(
            "expires_in_days",
            "expires_in_days must be an integer between 1 and 365",
        ))
    }
}

/// Turns the requested list (names and wildcards) into the token's permission set. Every entry
/// must name, or as a wildcard match, a permission of the catalogue (`400`, the document's enum);
/// then each must name or match one the owner holds (`403`: a token never exceeds its owner). A
/// wildcard takes the matching permissions the owner holds.
pub fn resolve_token_permissions(
    requested: Option<&[String]>,
    owner: PermissionSet,
) -> CoreResult<Option<PermissionSet>> {
    let Some(requested) = requested else {
        return Ok(None);
    };
    if requested.is_empty() {
        return Err(CoreError::validation(
            "permissions",
            "permissions must list at least one permission; omit the field for the owner's full power",
        ));
    }
    let mut wanted = Vec::with_capacity(requested.len());
    for entry in requested {
        let matched: PermissionSet = Permission::matching(entry).collect();
        if matched.is_empty() {
            let rule = if entry.contains('*') {
                format!("the wildcard {entry:?} matches no permission of the catalogue")
            } else {
                format!("{entry:?} is not a permission of the catalogue")
            };
            return Err(CoreError::validation(
                "permissions",
                format!("permissions: {rule}"),
            ));
        }
        wanted.push(matched);
    }
    let mut set = PermissionSet::EMPTY;
    for matched in wanted {
        let held = matched.intersection(owner);
        if let (true, Some(first)) = (held.is_empty(), matched.iter().next()) {
            return Err(CoreError::OwnerLacks(first));
        }
        set = set.union(held);
    }
    Ok(Some(set))
}

impl Iam {
    /// Resolves the owner and checks the caller may manage their tokens.
    async fn token_owner(&self, principal: &Principal, owner: TokenOwner) -> CoreResult<User> {
        match owner {
            TokenOwner::Caller => Ok((*principal.user).clone()),
            TokenOwner::ServiceAccount(id) => {
                principal.require(Permission::ServiceAccountsTokens)?;
                let user = users::get(&self.db.pool, id)
                    .await?
                    .ok_or_else(|| CoreError::not_found("user"))?;
                // The path is well formed and names a user: the user's kind refuses it (`409`).
                if !user.is_service_account {
                    return Err(CoreError::conflict(
                        "not_a_service_account",
                        "this user is not a service account; users manage their own tokens",
                    ));
                }
                // An `is_admin` account's tokens carry the `is_admin` bypass, which no set of
                // permissions amounts to: only an administrator with an unrestricted credential
                // manages them.
                if user.is_admin && !principal.is_admin() {
                    return Err(admin_only(
                        "only an administrator (is_admin, not through a fine-grained token) may manage the tokens of an administrator service account",
                    ));
                }
                // Its tokens act with its permissions: managing them is granting those, so a
                // caller who is not `is_admin` must hold every one of them.
                principal.require_can_grant(self.user_permissions(&user).await?)?;
                Ok(user)
            }
        }
    }

    pub async fn create_token(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        input: CreateToken,
        meta: &RequestMeta,
    ) -> CoreResult<IssuedToken> {
        let owner = self.token_owner(principal, owner).await?;
        refuse_self_minting(principal, owner.id)?;
        self.require_recent_mfa(principal, now_millis()).await?;
        let spec = TokenSpec {
            name: TokenName::parse(&input.name)?.as_str().to_owned(),
            expires_in_days: check_expires_in_days(input.expires_in_days)?,
            permissions: resolve_token_permissions(
                input.permissions.as_deref(),
                self.user_permissions(&owner).await?,
            )?,
            replaces: None,
        };
        self.issue(principal, &owner, spec, meta).await
    }

    /// Issues a replacement with the same name and permissions and revokes the old token, at once
    /// or after the grace period.
    pub async fn rotate_token(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        token_id: Uuid,
        input: RotateToken,
        meta: &RequestMeta,
    ) -> CoreResult<IssuedToken> {
        if owner == TokenOwner::Caller {
            principal.require_unrestricted()?;
        }
        let owner = self.token_owner(principal, owner).await?;
        refuse_self_minting(principal, owner.id)?;
        self.require_recent_mfa(principal, now_millis()).await?;
        let grace = input.grace_period_seconds.unwrap_or(0);
        if !(0..=MAX_GRACE_PERIOD_SECONDS).contains(&grace) {
            return Err(CoreError::validation(
                "grace_period_seconds",
                "grace_period_seconds must be an integer between 0 and 86400",
            ));
        }
        let now = now_millis();
        let old = tokens::get(&self.db.pool, owner.id, token_id)
            .await?
            .filter(|t| !t.is_revoked(now) || t.replaced_by.is_some())
            .ok_or_else(|| CoreError::not_found("token"))?;
        if old.replaced_by.is_some() {
            return Err(already_rotated());
        }
        let original_days = old.lifetime_days();
        let spec = TokenSpec {
            name: old.name.clone(),
            expires_in_days: check_expires_in_days(input.expires_in_days.unwrap_or(original_days))?,
            permissions: old.permissions,
            replaces: Some((old.id, now + grace * 1000)),
        };
        self.issue(principal, &owner, spec, meta).await
    }

    /// Creates a token (and, for a rotation, retires its predecessor) in one transaction.
    async fn issue(
        &self,
        principal: &Principal,
        owner: &User,
        spec: TokenSpec,
        meta: &RequestMeta,
    ) -> CoreResult<IssuedToken> {
        let owner_id = owner.id;
        let now = now_millis();
        let value = token::generate()
            .map_err(|e| CoreError::Internal(anyhow::anyhow!("OS randomness: {e}")))?;
        let record = Token {
            id: new_id(),
            user_id: owner_id,
            name: spec.name,
            token_hint: token::hint(value.expose()),
            created_at: now,
            expires_at: now + spec.expires_in_days * DAY_MS,
            last_used_at: None,
            last_used_ip: None,
            revoked_at: None,
            revoke_reason: None,
            created_by: Some(principal.id()),
            permissions: spec.permissions,
            rotated_from: spec.replaces.map(|(old, _)| old),
            replaced_by: None,
        };

        let mut tx = self.db.pool.begin().await?;
        // Serialise token writes per owner so the limit and the name rule hold under concurrency.
        if !users::lock(&mut *tx, owner_id).await? {
            return Err(CoreError::not_found("user"));
        }
        tokens::release_expired_names(&mut *tx, owner_id, now).await?;
        match spec.replaces {
            // A rotation exchanges one token for another: the limit does not apply.
            Some((old, revoke_at)) => {
                if !tokens::mark_rotated(&mut *tx, old, record.id, now, revoke_at).await? {
                    return Err(already_rotated());
                }
            }
            None => {
                if tokens::count_active(&mut *tx, owner_id, now).await? >= MAX_ACTIVE_TOKENS {
                    return Err(CoreError::conflict(
                        "token_limit_reached",
                        format!(
                            "a user may hold at most {MAX_ACTIVE_TOKENS} active tokens; revoke one first"
                        ),
                    ));
                }
            }
        }
        match tokens::insert(&mut *tx, &record, &token::digest(value.expose())).await {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(CoreError::conflict(
                    "conflict",
                    format!(
                        "an active token named \"{}\" already exists; choose another name",
                        record.name
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let mut details =
            serde_json::json!({ "token_name": record.name, "target_user_id": owner_id });
        if let Some(permissions) = record.permissions {
            details["permissions"] = serde_json::json!(permissions.names());
        }
        let action = match spec.replaces {
            Some((old, revoke_at)) => {
                details["rotated_from"] = serde_json::json!(old);
                details["old_token_revoked_at"] =
                    serde_json::json!(crate::time::to_datetime(revoke_at));
                "token.rotated"
            }
            None => "token.created",
        };
        let entry = AuditEntry {
            target_type: Some("token"),
            target_id: Some(record.id),
            details: Some(details),
            ..audit_by(principal, meta, action)
        };
        audit::insert(&mut *tx, &entry).await?;
        self.queue_token_notice(&mut tx, &record, owner, TokenNoticeKind::Created)
            .await?;
        if spec.replaces.is_some() {
            // The predecessor's revocation time changed.
            self.commit_and_invalidate(tx, Invalidation::User(owner_id))
                .await?;
        } else {
            tx.commit().await?;
        }
        self.wake_outbox();
        Ok(IssuedToken { record, value })
    }

    /// The permissions a fine-grained token of `owner` may be limited to: those the owner holds
    /// (every one for an `is_admin` owner), which [`Iam::create_token`] accepts. The caller who may
    /// manage the owner's tokens at all holds each of them (`token_owner`), so this is also all the
    /// caller may grant; any other caller gets the refusal `create_token` would answer.
    pub async fn token_permission_choices(
        &self,
        principal: &Principal,
        owner: TokenOwner,
    ) -> CoreResult<PermissionSet> {
        let owner = self.token_owner(principal, owner).await?;
        self.user_permissions(&owner).await
    }

    /// One page of the owner's tokens that are not revoked; with `search`, those whose name
    /// contains it, case-insensitively.
    pub async fn list_tokens(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        search: Option<&str>,
        page: PageRequest,
    ) -> CoreResult<(Vec<Token>, u64)> {
        let filter = TokenListFilter {
            search: search.map(str::to_owned),
            ..TokenListFilter::default()
        };
        self.list_tokens_filtered(principal, owner, &filter, page)
            .await
    }

    /// [`Iam::list_tokens`] with a state and an order: the web UI's list, and the count of tokens
    /// expiring within 7 days its banner shows.
    pub async fn list_tokens_filtered(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        filter: &TokenListFilter,
        page: PageRequest,
    ) -> CoreResult<(Vec<Token>, u64)> {
        let owner = self.token_owner(principal, owner).await?;
        Ok(tokens::list(&self.db.pool, owner.id, now_millis(), filter, page).await?)
    }

    /// One token of the owner that is not revoked (one that [`Iam::list_tokens`] lists); any other
    /// id is `404`.
    pub async fn get_token(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        token_id: Uuid,
    ) -> CoreResult<Token> {
        let owner = self.token_owner(principal, owner).await?;
        self.unrevoked_token(&owner, token_id).await
    }

    async fn unrevoked_token(&self, owner: &User, token_id: Uuid) -> CoreResult<Token> {
        tokens::get(&self.db.pool, owner.id, token_id)
            .await?
            .filter(|t| !t.is_revoked(now_millis()))
            .ok_or_else(|| CoreError::not_found("token"))
    }

    /// Whether the caller may revoke token `token_id` of `owner`: the token, or the refusal
    /// [`Iam::revoke_token`] would answer (it asks the same).
    pub async fn check_can_revoke_token(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        token_id: Uuid,
    ) -> CoreResult<Token> {
        let (_, token) = self.revocable_token(principal, owner, token_id).await?;
        Ok(token)
    }

    async fn revocable_token(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        token_id: Uuid,
    ) -> CoreResult<(User, Token)> {
        if owner == TokenOwner::Caller {
            principal.require_unrestricted()?;
        }
        let owner = self.token_owner(principal, owner).await?;
        let token = self.unrevoked_token(&owner, token_id).await?;
        Ok((owner, token))
    }

    /// Revokes a token of the owner; an unknown id, someone else's token or an already revoked one
    /// is `404`, so ids of other users' tokens cannot be probed.
    pub async fn revoke_token(
        &self,
        principal: &Principal,
        owner: TokenOwner,
        token_id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let (owner, _) = self.revocable_token(principal, owner, token_id).await?;
        self.revoke_of(principal, &owner, token_id, meta).await
    }

    /// One token of the inventory by id, with its owner, if the caller oversees it (and so may
    /// revoke it with [`Iam::revoke_any_token`], which asks the same): an `is_admin`
    /// caller any token, a holder of `service_accounts.tokens` the tokens of service accounts whose
    /// tokens they may manage. Any other token — a person's, an `is_admin` service account's, an
    /// unknown or revoked one — is `404`, as if it did not exist.
    pub async fn overseen_token(
        &self,
        principal: &Principal,
        token_id: Uuid,
    ) -> CoreResult<TokenWithOwner> {
        self.inventory_token(principal, token_id, false).await
    }

    /// One token of the inventory by id (a revoked one only `with_revoked`) if the caller
    /// oversees it (the rule of [`Iam::overseen_token`]); anything else is `404`.
    async fn inventory_token(
        &self,
        principal: &Principal,
        token_id: Uuid,
        with_revoked: bool,
    ) -> CoreResult<TokenWithOwner> {
        if !principal.is_admin() {
            principal.require(Permission::ServiceAccountsTokens)?;
        }
        let found = tokens::get_with_owner(&self.db.pool, token_id)
            .await?
            .filter(|found| with_revoked || !found.token.is_revoked(now_millis()))
            .ok_or_else(|| CoreError::not_found("token"))?;
        if !principal.is_admin() {
            let owner = &found.owner;
            if !owner.is_service_account || !may_see_service_account_tokens(principal, owner) {
                return Err(CoreError::not_found("token"));
            }
            // As for `/users/{id}/tokens` (`token_owner`): all of its permissions.
            principal.require_can_grant(self.user_permissions(owner).await?)?;
        }
        Ok(found)
    }

    /// Everything known about one token of the inventory (revoked ones too): the token, its owner
    /// and its rotation chain, oldest first. Who may see it is [`Iam::overseen_token`]'s rule.
    pub async fn inspect_token(
        &self,
        principal: &Principal,
        token_id: Uuid,
    ) -> CoreResult<TokenDetail> {
        let item = self.inventory_token(principal, token_id, true).await?;
        let owner = item.owner.id;
        // A chain is as long as the rotations of one token; the bound only guards the loop.
        const LONGEST_CHAIN: usize = 100;
        let mut before = Vec::new();
        let mut previous = item.token.rotated_from;
        while let Some(id) = previous.filter(|_| before.len() < LONGEST_CHAIN) {
            let Some(token) = tokens::get(&self.db.pool, owner, id).await? else {
                break;
            };
            previous = token.rotated_from;
            before.push(token);
        }
        before.reverse();
        let mut chain = before;
        chain.push(item.token.clone());
        let mut next = item.token.replaced_by;
        while let Some(id) = next.filter(|_| chain.len() < 2 * LONGEST_CHAIN) {
            let Some(token) = tokens::get(&self.db.pool, owner, id).await? else {
                break;
            };
            next = token.replaced_by;
            chain.push(token);
        }
        Ok(TokenDetail { item, chain })
    }

    /// The operator's revocation, by token id alone (`DELETE /tokens/{id}`, from the inventory);
    /// who may revoke what is [`Iam::overseen_token`].
    pub async fn revoke_any_token(
        &self,
        principal: &Principal,
        token_id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let found = self.overseen_token(principal, token_id).await?;
        self.revoke_of(principal, &found.owner, token_id, meta)
            .await
    }

    /// Revokes token `token_id` of `owner` (checked by the caller) and audits who did it.
    async fn revoke_of(
        &self,
        principal: &Principal,
        owner: &User,
        token_id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let mut tx = self.db.pool.begin().await?;
        let name = tokens::revoke(&mut *tx, owner.id, token_id, now_millis())
            .await?
            .ok_or_else(|| CoreError::not_found("token"))?;
        let entry = AuditEntry {
            target_type: Some("token"),
            target_id: Some(token_id),
            details: Some(serde_json::json!({
                "token_name": name,
                "target_user_id": owner.id,
                "target_email": owner.email,
            })),
            ..audit_by(principal, meta, "token.revoked")
        };
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(owner.id))
            .await?;
        Ok(())
    }

    /// The calling token's own record.
    pub async fn token_self(&self, principal: &Principal) -> CoreResult<Token> {
        let Credential::Pat { token_id, .. } = principal.credential else {
            return Err(CoreError::bad_request(
                "not_a_token",
                "this request is not authenticated by a personal access token",
            ));
        };
        tokens::get(&self.db.pool, principal.id(), token_id)
            .await?
            .ok_or(CoreError::InvalidToken)
    }

    /// Leak response: accepts up to 100 values found in the wild and revokes, in the background,
    /// those that are valid. The caller learns nothing about which were.
    pub async fn report_leaked_tokens(
        self: &Arc<Self>,
        values: Vec<String>,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        if values.len() > MAX_LEAKED_PER_REQUEST {
            return Err(CoreError::validation(
                "tokens",
                "tokens must list at most 100 values",
            ));
        }
        let now = now_millis();
        if let Some(ip) = &meta.ip {
            let key = format!("leak:{ip}");
            let reports =
                throttle::count_attempt(&self.db.pool, &key, now, crate::time::MINUTE_MS).await?;
            if reports > LEAK_REPORTS_PER_MINUTE {
                return Err(CoreError::Throttled {
                    retry_after_secs: 60,
                });
            }
        }
        let mut digests: Vec<token::TokenDigest> = values
            .iter()
            .map(|v| v.trim())
            .filter(|v| token::check_format(v).is_ok())
            .map(token::digest)
            .collect();
        digests.sort_unstable();
        digests.dedup();
        let iam = Arc::clone(self);
        let meta = meta.clone();
        tokio::spawn(async move {
            for digest in digests {
                if let Err(error) = iam.revoke_leaked(&digest, &meta).await {
                    tracing::warn!(%error, "could not revoke a reported token");
                }
            }
        });
        Ok(())
    }

    async fn revoke_leaked(
        &self,
        digest: &token::TokenDigest,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let now = now_millis();
        let mut tx = self.db.pool.begin().await?;
        let Some((token_id, owner_id, name)) =
            tokens::revoke_by_digest(&mut *tx, digest, now).await?
        else {
            return Ok(());
        };
        let entry = AuditEntry {
            at: now,
            action: "token.revoked_as_leaked",
            target_type: Some("token"),
            target_id: Some(token_id),
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            details: Some(serde_json::json!({ "token_name": name, "target_user_id": owner_id })),
            ..AuditEntry::default()
        };
        audit::insert(&mut *tx, &entry).await?;
        // The owner is told why their token stopped working.
        if let Some(found) = tokens::get_with_owner(&mut *tx, token_id).await? {
            let notice = TokenNoticeKind::RevokedAsLeaked;
            self.queue_token_notice(&mut tx, &found.token, &found.owner, notice)
                .await?;
        }
        self.commit_and_invalidate(tx, Invalidation::User(owner_id))
            .await?;
        self.wake_outbox();
        tracing::info!(%token_id, %owner_id, "revoked a token reported as leaked");
        Ok(())
    }

    /// The operator's view of tokens: every token for an administrator, for a holder of
    /// `service_accounts.tokens` the tokens of service accounts that are not `is_admin` (see
    /// [`may_see_service_account_tokens`]).
    pub async fn token_inventory(
        &self,
        principal: &Principal,
        mut filter: TokenInventoryFilter,
        page: PageRequest,
    ) -> CoreResult<(Vec<TokenWithOwner>, u64)> {
        if !principal.is_admin() {
            principal.require(Permission::ServiceAccountsTokens)?;
            filter.service_accounts_only = true;
            filter.hide_admin_owners = true;
        }
        Ok(tokens::inventory(&self.db.pool, &filter, now_millis(), page).await?)
    }
}

/// The tokens of an `is_admin` service account carry every power, including what no permission
/// grants: in the inventory and through `DELETE /tokens/{id}` only an `is_admin` caller (not
/// through a fine-grained token) sees or revokes them; to anyone else they do not exist (`404`).
fn may_see_service_account_tokens(principal: &Principal, service_account: &User) -> bool {
    !service_account.is_admin || principal.is_admin()
}

/// A token (a PAT, a service account's access token) must not mint credentials for its own user,
/// or a leaked one could renew itself forever.
pub(crate) fn refuse_self_minting(principal: &Principal, owner_id: Uuid) -> CoreResult<()> {
    if principal.credential.is_token() && owner_id == principal.id() {
        return Err(interactive_auth_required(
            "a personal access token cannot create or rotate tokens for its own user; log in to do it",
        ));
    }
    Ok(())
}

fn already_rotated() -> CoreError {
    CoreError::conflict(
        "already_rotated",
        "this token was already rotated; rotate its replacement instead",
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The document lists what a token's `permissions` may hold (`TokenPermission`): for an
        /// owner holding everything, exactly those entries are accepted.
        #[test]
        fn the_document_states_the_token_permission_entries(entry in prop_oneof![
            proptest::sample::select(rules::token_permission_entries()),
            "[a-z_*]{0,12}(\\.[a-z_*]{0,12}){0,2}",
            "[ \\t]{0,1}[a-z_]{2,10}\\.[a-z*]{1,8}[ ]{0,1}",
        ]) {
            let documented = rules::token_permission_entries().contains(&entry);
            let accepted = resolve_token_permissions(Some(std::slice::from_ref(&entry)), PermissionSet::all());
            prop_assert_eq!(accepted.is_ok(), documented, "{:?}", entry);
            let role = crate::model::parse_permission_list("permissions", std::slice::from_ref(&entry));
            prop_assert_eq!(role.is_ok(), Permission::parse(&entry).is_some(), "{:?}", entry);
        }
    }

    fn set(list: &[Permission]) -> PermissionSet {
        list.iter().copied().collect()
    }

    #[test]
    fn permissions_must_be_held_and_wildcards_take_what_is_held() {
        let owner = set(&[
            Permission::UsersView,
            Permission::UsersCreate,
            Permission::GroupsView,
        ]);
        assert_eq!(resolve_token_permissions(None, owner).expect("ok"), None);
        let views = resolve_token_permissions(Some(&["*.view".to_owned()]), owner).expect("ok");
        assert_eq!(
            views,
            Some(set(&[Permission::UsersView, Permission::GroupsView]))
        );
        let explicit =
            resolve_token_permissions(Some(&["users.create".to_owned()]), owner).expect("ok");
        assert_eq!(explicit, Some(set(&[Permission::UsersCreate])));
        for bad in [
            vec![],
            vec!["audit.view".to_owned()],
            vec!["nope".to_owned()],
            vec!["audit.*".to_owned()],
            vec!["x.*".to_owned()],
        ] {
            assert!(
                resolve_token_permissions(Some(&bad), owner).is_err(),
                "{bad:?}"
            );
        }
    }
}
