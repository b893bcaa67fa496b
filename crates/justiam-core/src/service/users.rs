//! Users and service accounts.

use super::cache::Invalidation;
use justiam_types::{CreateUser, UpdateUser};
use uuid::Uuid;

use super::{Iam, audit_by};
use crate::authz::{Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::{Email, PageRequest, Permission, PersonName, User};
use crate::secret::Secret;
use crate::store::audit::{self, AuditEntry};
use crate::store::users;
use crate::store::{is_unique_violation, new_id, sessions};
use crate::time::now_millis;

/// A user to create, already validated.
#[derive(Debug)]
pub struct NewUser {
    pub email: Email,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub password: Option<Secret>,
    pub is_active: bool,
    pub is_admin: bool,
    pub is_service_account: bool,
}

impl NewUser {
    pub fn parse(input: CreateUser) -> CoreResult<Self> {
        let is_service_account = input.is_service_account.unwrap_or(false);
        if is_service_account && input.password.is_some() {
            return Err(CoreError::validation(
                "password",
                "password must not be set for a service account: service accounts cannot log in",
            ));
        }
        Ok(Self {
            email: Email::parse("email", &input.email)?,
            first_name: PersonName::parse("first_name", input.first_name.as_deref().unwrap_or(""))?,
            last_name: PersonName::parse("last_name", input.last_name.as_deref().unwrap_or(""))?,
            password: input.password.map(Secret::new),
            is_active: input.is_active.unwrap_or(true),
            is_admin: input.is_admin.unwrap_or(false),
            is_service_account,
        })
    }
}

fn protected(message: &str) -> CoreError {
    CoreError::conflict("protected_user", message)
}

pub(crate) fn admin_only(message: &str) -> CoreError {
    CoreError::forbidden("forbidden", message)
}

impl Iam {
    pub async fn list_users(
        &self,
        principal: &Principal,
        search: Option<&str>,
        page: PageRequest,
    ) -> CoreResult<(Vec<User>, u64)> {
        principal.require(Permission::UsersView)?;
        Ok(users::list(&self.db.pool, search, page).await?)
    }

    pub async fn get_user(&self, principal: &Principal, id: Uuid) -> CoreResult<User> {
        principal.require(Permission::UsersView)?;
        users::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("user"))
    }

    pub async fn create_user(
        &self,
        principal: &Principal,
        input: NewUser,
        meta: &RequestMeta,
    ) -> CoreResult<User> {
        principal.require(Permission::UsersCreate)?;
        if input.is_admin && !principal.is_admin() {
            return Err(admin_only(
                "only an administrator (is_admin) may create an administrator",
            ));
        }
        let user = self.insert_user(input).await?;
        let entry = AuditEntry {
            target_type: Some("user"),
            target_id: Some(user.id),
            details: Some(serde_json::json!({
                "email": user.email,
                "is_admin": user.is_admin,
                "is_service_account": user.is_service_account,
            })),
            ..audit_by(principal, meta, "user.created")
        };
        audit::insert(&mut *self.db.pool.acquire().await?, &entry).await?;
        Ok(user)
    }

    /// Creates a user with no caller to authorize: the bootstrap administrator at the first start
    /// and `justiam admin create`, both run by whoever runs the server. No route reaches it; the
    /// audit entry says `"via": "command line"`.
    pub async fn create_user_from_command_line(&self, input: NewUser) -> CoreResult<User> {
        let user = self.insert_user(input).await?;
        let entry = AuditEntry {
            at: now_millis(),
            action: "user.created",
            target_type: Some("user"),
            target_id: Some(user.id),
            details: Some(
                serde_json::json!({ "email": user.email, "is_admin": user.is_admin, "via": "command line" }),
            ),
            ..AuditEntry::default()
        };
        audit::insert(&mut *self.db.pool.acquire().await?, &entry).await?;
        Ok(user)
    }

    pub async fn count_users(&self) -> CoreResult<i64> {
        Ok(users::count_all(&self.db.pool).await?)
    }

    async fn insert_user(&self, input: NewUser) -> CoreResult<User> {
        let password_hash = match &input.password {
            Some(password) => {
                self.check_password_rules("password", password)?;
                Some(self.hasher.hash(password).await?)
            }
            None => None,
        };
        let now = now_millis();
        let base = input.email.username_base();
        let mut user = User {
            id: new_id(),
            email: input.email.as_str().to_owned(),
            username: base.clone(),
            first_name: input.first_name.as_str().to_owned(),
            last_name: input.last_name.as_str().to_owned(),
            is_active: input.is_active,
            is_admin: input.is_admin,
            is_service_account: input.is_service_account,
            auth_source: "internal".to_owned(),
            created_at: now,
            updated_at: now,
        };
        // The username is the email's local part, made unique with a numeric suffix. Another
        // request may take the same one between our check and insert: then try the next suffix.
        for attempt in 0..50 {
            if users::get_by_email(&self.db.pool, &user.email)
                .await?
                .is_some()
            {
                return Err(email_taken());
            }
            let mut suffix = attempt + 1;
            while users::username_exists(&self.db.pool, &user.username).await? {
                suffix += 1;
                user.username = format!("{base}{suffix}");
            }
            match users::insert(&self.db.pool, &user, password_hash.as_deref()).await {
                Ok(()) => return Ok(user),
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(CoreError::Internal(anyhow::anyhow!(
            "could not find a free username for {base}"
        )))
    }

    pub async fn update_user(
        &self,
        principal: &Principal,
        id: Uuid,
        input: UpdateUser,
        meta: &RequestMeta,
    ) -> CoreResult<User> {
        principal.require(Permission::UsersUpdate)?;
        let mut user = users::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("user"))?;
        if (user.is_admin || input.is_admin.is_some()) && !principal.is_admin() {
            return Err(admin_only(
                "only an administrator (is_admin) may change is_admin or edit an administrator",
            ));
        }
        // Deactivating someone, or changing the email their password reset goes to, disarms them.
        let disarming = input.is_active == Some(false)
            || input
                .email
                .as_deref()
                .is_some_and(|email| email.trim() != user.email);
        if disarming && id != principal.id() {
            self.require_can_act_on(principal, &user).await?;
        }
        let mut changed = Vec::new();
        if let Some(raw) = &input.email {
            let email = Email::parse("email", raw)?;
            if email.as_str() != user.email {
                if email.lowercase() != user.email.to_lowercase()
                    && users::get_by_email(&self.db.pool, email.as_str())
                        .await?
                        .is_some()
                {
                    return Err(email_taken());
                }
                user.email = email.as_str().to_owned();
                changed.push("email");
            }
        }
        if let Some(raw) = &input.first_name {
            user.first_name = PersonName::parse("first_name", raw)?.as_str().to_owned();
            changed.push("first_name");
        }
        if let Some(raw) = &input.last_name {
            user.last_name = PersonName::parse("last_name", raw)?.as_str().to_owned();
            changed.push("last_name");
        }
        let deactivating = input.is_active == Some(false) && user.is_active;
        let demoting = input.is_admin == Some(false) && user.is_admin;
        if deactivating && id == principal.id() {
            return Err(protected("you cannot deactivate yourself"));
        }
        if (deactivating || demoting)
            && user.is_admin
            && user.is_active
            && self.is_last_admin(id).await?
        {
            return Err(protected(
                "this is the last active administrator; make another user an administrator first",
            ));
        }
        if let Some(active) = input.is_active {
            if active != user.is_active {
                changed.push("is_active");
            }
            user.is_active = active;
        }
        if let Some(admin) = input.is_admin {
            if admin != user.is_admin {
                changed.push("is_admin");
            }
            user.is_admin = admin;
        }
        user.updated_at = now_millis();

        let mut tx = self.db.pool.begin().await?;
        match users::update(&mut *tx, &user).await {
            Ok(true) => {}
            Ok(false) => return Err(CoreError::not_found("user")),
            Err(e) if is_unique_violation(&e) => return Err(email_taken()),
            Err(e) => return Err(e.into()),
        }
        if deactivating {
            // Deactivation ends every portal session at once; tokens stop through the owner check.
            sessions::delete_for_user(&mut *tx, id, None).await?;
        }
        let entry = AuditEntry {
            target_type: Some("user"),
            target_id: Some(id),
            details: Some(serde_json::json!({ "changed": changed })),
            ..audit_by(principal, meta, "user.updated")
        };
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(id))
            .await?;
        Ok(user)
    }

    pub async fn delete_user(
        &self,
        principal: &Principal,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let user = self.check_can_delete_user(principal, id).await?;
        let mut tx = self.db.pool.begin().await?;
        if !users::delete(&mut *tx, id).await? {
            return Err(CoreError::not_found("user"));
        }
        let entry = AuditEntry {
            target_type: Some("user"),
            target_id: Some(id),
            details: Some(serde_json::json!({ "email": user.email })),
            ..audit_by(principal, meta, "user.deleted")
        };
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(id))
            .await?;
        if user.is_service_account {
            // Its federated credentials went with it: no cached trust list may name them (a
            // stale one would make an exchange that now matches one account look ambiguous).
            self.invalidate_everywhere(Invalidation::trusts()).await;
        }
        Ok(())
    }

    /// Whether the caller may delete user `id`: the user, or the refusal [`Iam::delete_user`]
    /// would answer (it asks the same). A confirmation page asks before it offers the button.
    pub async fn check_can_delete_user(&self, principal: &Principal, id: Uuid) -> CoreResult<User> {
        principal.require(Permission::UsersDelete)?;
        let user = users::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("user"))?;
        if id == principal.id() {
            return Err(protected("you cannot delete yourself"));
        }
        if user.is_admin && !principal.is_admin() {
            return Err(admin_only(
                "only an administrator (is_admin) may delete an administrator",
            ));
        }
        self.require_can_act_on(principal, &user).await?;
        if user.is_admin && user.is_active && self.is_last_admin(id).await? {
            return Err(protected("this is the last active administrator"));
        }
        Ok(user)
    }

    /// Deactivating or deleting another user, ending their sessions, or changing their email (and so
    /// taking over their password reset) can disarm them, so a caller who is not `is_admin` may do
    /// it only to users who hold nothing the caller lacks — the rule role removal follows.
    /// `is_admin` users only by `is_admin` callers.
    pub(crate) async fn require_can_act_on(
        &self,
        principal: &Principal,
        target: &User,
    ) -> CoreResult<()> {
        if principal.is_admin() {
            return Ok(());
        }
        if target.is_admin {
            return Err(admin_only(
                "only an administrator (is_admin) may act on an administrator",
            ));
        }
        let held = self.user_permissions(target).await?;
        match held.iter().find(|p| !principal.has(*p)) {
            Some(missing) => Err(CoreError::Outranked(missing)),
            None => Ok(()),
        }
    }

    async fn is_last_admin(&self, id: Uuid) -> CoreResult<bool> {
        Ok(users::count_other_active_admins(&self.db.pool, id).await? == 0)
    }
}

fn email_taken() -> CoreError {
    CoreError::conflict("conflict", "a user with this email already exists")
}
