//! Admin roles and their assignment to users and groups.

use super::cache::Invalidation;
use justiam_types::{CreateAdminRole, UpdateAdminRole};
use uuid::Uuid;

use super::{Iam, audit_by};
use crate::authz::{Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::{
    AdminRole, Description, EntityName, HeldRole, PageRequest, Permission, RoleHolder,
    parse_permission_list,
};
use crate::store::audit::{self, AuditEntry};
use crate::store::{groups, is_unique_violation, new_id, roles, users};
use crate::time::now_millis;

fn name_taken() -> CoreError {
    CoreError::conflict("conflict", "an admin role with this name already exists")
}

fn builtin_immutable() -> CoreError {
    CoreError::conflict(
        "builtin_role",
        "built-in idp:* roles cannot be changed or deleted",
    )
}

/// `idp:` names belong to the built-in roles.
fn role_name(raw: &str) -> CoreResult<EntityName> {
    let name = EntityName::parse(raw)?;
    if name.as_str().to_lowercase().starts_with("idp:") {
        return Err(CoreError::validation(
            "name",
            "name must not start with \"idp:\", which is reserved for built-in roles",
        ));
    }
    Ok(name)
}

fn role_audit(
    principal: &Principal,
    meta: &RequestMeta,
    action: &'static str,
    id: Uuid,
    details: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        target_type: Some("admin_role"),
        target_id: Some(id),
        details: Some(details),
        ..audit_by(principal, meta, action)
    }
}

impl Iam {
    pub async fn list_roles(
        &self,
        principal: &Principal,
        search: Option<&str>,
        page: PageRequest,
    ) -> CoreResult<(Vec<AdminRole>, u64)> {
        principal.require(Permission::AdminRolesManage)?;
        Ok(roles::list(&self.db.pool, search, page).await?)
    }

    pub async fn get_role(&self, principal: &Principal, id: Uuid) -> CoreResult<AdminRole> {
        principal.require(Permission::AdminRolesManage)?;
        self.role(id).await
    }

    async fn role(&self, id: Uuid) -> CoreResult<AdminRole> {
        roles::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("admin role"))
    }

    pub async fn create_role(
        &self,
        principal: &Principal,
        input: CreateAdminRole,
        meta: &RequestMeta,
    ) -> CoreResult<AdminRole> {
        principal.require(Permission::AdminRolesManage)?;
        let permissions = parse_permission_list("permissions", &input.permissions)?;
        principal.require_can_grant(permissions)?;
        let now = now_millis();
        let role = AdminRole {
            id: new_id(),
            name: role_name(&input.name)?.as_str().to_owned(),
            description: Description::parse(input.description.as_deref().unwrap_or(""))?
                .as_str()
                .to_owned(),
            permissions,
            is_builtin: false,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.pool.begin().await?;
        match roles::insert(&mut *tx, &role).await {
            Err(e) if is_unique_violation(&e) => return Err(name_taken()),
            other => other?,
        }
        let details =
            serde_json::json!({ "name": role.name, "permissions": role.permissions.names() });
        audit::insert(
            &mut *tx,
            &role_audit(principal, meta, "admin_role.created", role.id, details),
        )
        .await?;
        tx.commit().await?;
        Ok(role)
    }

    pub async fn update_role(
        &self,
        principal: &Principal,
        id: Uuid,
        input: UpdateAdminRole,
        meta: &RequestMeta,
    ) -> CoreResult<AdminRole> {
        principal.require(Permission::AdminRolesManage)?;
        let mut role = self.role(id).await?;
        if role.is_builtin {
            return Err(builtin_immutable());
        }
        // Editing a role changes what its holders may do: the caller must hold what it grants now
        // and what it will grant.
        principal.require_can_grant(role.permissions)?;
        if let Some(name) = &input.name {
            role.name = role_name(name)?.as_str().to_owned();
        }
        if let Some(description) = &input.description {
            role.description = Description::parse(description)?.as_str().to_owned();
        }
        if let Some(permissions) = &input.permissions {
            role.permissions = parse_permission_list("permissions", permissions)?;
            principal.require_can_grant(role.permissions)?;
        }
        role.updated_at = now_millis();
        let mut tx = self.db.pool.begin().await?;
        match roles::update(&mut *tx, &role).await {
            Ok(true) => {}
            Ok(false) => return Err(builtin_immutable()),
            Err(e) if is_unique_violation(&e) => return Err(name_taken()),
            Err(e) => return Err(e.into()),
        }
        let details =
            serde_json::json!({ "name": role.name, "permissions": role.permissions.names() });
        audit::insert(
            &mut *tx,
            &role_audit(principal, meta, "admin_role.updated", id, details),
        )
        .await?;
        // Every holder, direct or through a group.
        self.commit_and_invalidate(tx, Invalidation::All).await?;
        Ok(role)
    }

    /// Whether the caller may delete role `id`: the role, or the refusal [`Iam::delete_role`]
    /// would answer (it asks the same) — a built-in role never, another one only with every
    /// permission it grants.
    pub async fn check_can_delete_role(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> CoreResult<AdminRole> {
        principal.require(Permission::AdminRolesManage)?;
        let role = self.role(id).await?;
        if role.is_builtin {
            return Err(builtin_immutable());
        }
        principal.require_can_grant(role.permissions)?;
        Ok(role)
    }

    pub async fn delete_role(
        &self,
        principal: &Principal,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let role = self.check_can_delete_role(principal, id).await?;
        let mut tx = self.db.pool.begin().await?;
        if !roles::delete(&mut *tx, id).await? {
            return Err(CoreError::not_found("admin role"));
        }
        let details = serde_json::json!({ "name": role.name });
        audit::insert(
            &mut *tx,
            &role_audit(principal, meta, "admin_role.deleted", id, details),
        )
        .await?;
        self.commit_and_invalidate(tx, Invalidation::All).await?;
        Ok(())
    }

    /// Assigns (`assign = true`) or unassigns a role on a user or a group. Either way the caller
    /// must hold every permission of the role: granting it would escalate, and removing it from
    /// someone more privileged would let a lesser administrator strip a greater one.
    pub async fn set_role_assignment(
        &self,
        principal: &Principal,
        holder: RoleHolder,
        role_id: Uuid,
        assign: bool,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        principal.require(Permission::AdminRolesManage)?;
        let target_type = match holder {
            RoleHolder::User(id) => {
                users::get(&self.db.pool, id)
                    .await?
                    .ok_or_else(|| CoreError::not_found("user"))?;
                "user"
            }
            RoleHolder::Group(id) => {
                groups::get(&self.db.pool, id)
                    .await?
                    .ok_or_else(|| CoreError::not_found("group"))?;
                "group"
            }
        };
        let role = if assign {
            roles::get(&self.db.pool, role_id)
                .await?
                .ok_or_else(|| CoreError::unknown_reference("role_id", "admin role"))?
        } else {
            self.role(role_id).await?
        };
        principal.require_can_grant(role.permissions)?;
        let mut tx = self.db.pool.begin().await?;
        let changed = if assign {
            roles::assign(&mut *tx, holder, role_id, now_millis()).await?
        } else {
            roles::unassign(&mut *tx, holder, role_id).await?
        };
        if !changed {
            return Err(if assign {
                CoreError::conflict("conflict", "this role is already assigned")
            } else {
                CoreError::not_found("role assignment")
            });
        }
        let (RoleHolder::User(holder_id) | RoleHolder::Group(holder_id)) = holder;
        let entry = AuditEntry {
            target_type: Some(target_type),
            target_id: Some(holder_id),
            details: Some(serde_json::json!({ "role_id": role.id, "role_name": role.name })),
            ..audit_by(
                principal,
                meta,
                if assign {
                    "admin_role.assigned"
                } else {
                    "admin_role.unassigned"
                },
            )
        };
        audit::insert(&mut *tx, &entry).await?;
        let scope = match holder {
            RoleHolder::User(id) => Invalidation::User(id),
            // Every member of the group.
            RoleHolder::Group(_) => Invalidation::All,
        };
        self.commit_and_invalidate(tx, scope).await?;
        Ok(())
    }

    /// Roles a user holds, directly and through groups. Visible with `admin_roles.manage` or
    /// `users.viewaccess`.
    pub async fn roles_of_user(
        &self,
        principal: &Principal,
        user_id: Uuid,
    ) -> CoreResult<Vec<HeldRole>> {
        if !principal.has(Permission::UsersViewAccess) {
            principal.require(Permission::AdminRolesManage)?;
        }
        users::get(&self.db.pool, user_id)
            .await?
            .ok_or_else(|| CoreError::not_found("user"))?;
        Ok(roles::held_by_user(&self.db.pool, user_id).await?)
    }

    /// Roles assigned to a group. Visible with `admin_roles.manage` or `groups.viewaccess`.
    pub async fn roles_of_group(
        &self,
        principal: &Principal,
        group_id: Uuid,
    ) -> CoreResult<Vec<AdminRole>> {
        if !principal.has(Permission::GroupsViewAccess) {
            principal.require(Permission::AdminRolesManage)?;
        }
        groups::get(&self.db.pool, group_id)
            .await?
            .ok_or_else(|| CoreError::not_found("group"))?;
        Ok(roles::held_by_group(&self.db.pool, group_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use justiam_types::rules;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The document states the role name as the name rule without the reserved `idp:`
        /// prefix (`ADMIN_ROLE_NAME_PATTERN`); the service refuses exactly the same.
        #[test]
        fn the_document_states_the_role_name_rule(
            raw in "[ \\u{3000}\\t]{0,2}[iIdDpP:\\u{130} ]{0,6}[a-z\\x00]{0,3}",
        ) {
            let reserved = regex::Regex::new(rules::RESERVED_ROLE_PREFIX_PATTERN)
                .expect("pattern")
                .is_match(&raw);
            let valid = EntityName::parse(&raw).is_ok() && !reserved;
            prop_assert_eq!(role_name(&raw).is_ok(), valid, "{:?}", raw);
        }
    }
}
