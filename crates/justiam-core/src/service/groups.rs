//! Groups and their members.

use super::cache::Invalidation;
use justiam_types::{CreateGroup, UpdateGroup};
use uuid::Uuid;

use super::{Iam, audit_by};
use crate::authz::{Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::{Description, EntityName, Group, PageRequest, Permission, PermissionSet, User};
use crate::store::audit::{self, AuditEntry};
use crate::store::{groups, is_unique_violation, new_id, roles, users};
use crate::time::now_millis;

fn name_taken() -> CoreError {
    CoreError::conflict("conflict", "a group with this name already exists")
}

fn group_audit(
    principal: &Principal,
    meta: &RequestMeta,
    action: &'static str,
    id: Uuid,
    details: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        target_type: Some("group"),
        target_id: Some(id),
        details: Some(details),
        ..audit_by(principal, meta, action)
    }
}

impl Iam {
    pub async fn list_groups(
        &self,
        principal: &Principal,
        search: Option<&str>,
        page: PageRequest,
    ) -> CoreResult<(Vec<Group>, u64)> {
        principal.require(Permission::GroupsView)?;
        Ok(groups::list(&self.db.pool, search, page).await?)
    }

    /// The groups a user is a member of, by name (the first 100): what a user's page lists.
    pub async fn groups_of_user(
        &self,
        principal: &Principal,
        user_id: Uuid,
    ) -> CoreResult<Vec<Group>> {
        principal.require(Permission::GroupsView)?;
        Ok(groups::of_member(&self.db.pool, user_id, 100).await?)
    }

    pub async fn get_group(&self, principal: &Principal, id: Uuid) -> CoreResult<Group> {
        principal.require(Permission::GroupsView)?;
        self.group(id).await
    }

    async fn group(&self, id: Uuid) -> CoreResult<Group> {
        groups::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("group"))
    }

    pub async fn create_group(
        &self,
        principal: &Principal,
        input: CreateGroup,
        meta: &RequestMeta,
    ) -> CoreResult<Group> {
        principal.require(Permission::GroupsCreate)?;
        let now = now_millis();
        let group = Group {
            id: new_id(),
            name: EntityName::parse(&input.name)?.as_str().to_owned(),
            description: Description::parse(input.description.as_deref().unwrap_or(""))?
                .as_str()
                .to_owned(),
            member_count: 0,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db.pool.begin().await?;
        match groups::insert(&mut *tx, &group).await {
            Err(e) if is_unique_violation(&e) => return Err(name_taken()),
            other => other?,
        }
        let entry = group_audit(
            principal,
            meta,
            "group.created",
            group.id,
            serde_json::json!({ "name": group.name }),
        );
        audit::insert(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(group)
    }

    pub async fn update_group(
        &self,
        principal: &Principal,
        id: Uuid,
        input: UpdateGroup,
        meta: &RequestMeta,
    ) -> CoreResult<Group> {
        principal.require(Permission::GroupsUpdate)?;
        let mut group = self.group(id).await?;
        let mut changed = Vec::new();
        if let Some(name) = &input.name {
            group.name = EntityName::parse(name)?.as_str().to_owned();
            changed.push("name");
        }
        if let Some(description) = &input.description {
            group.description = Description::parse(description)?.as_str().to_owned();
            changed.push("description");
        }
        group.updated_at = now_millis();
        let mut tx = self.db.pool.begin().await?;
        match groups::update(&mut *tx, &group).await {
            Ok(true) => {}
            Ok(false) => return Err(CoreError::not_found("group")),
            Err(e) if is_unique_violation(&e) => return Err(name_taken()),
            Err(e) => return Err(e.into()),
        }
        let entry = group_audit(
            principal,
            meta,
            "group.updated",
            id,
            serde_json::json!({ "changed": changed }),
        );
        audit::insert(&mut *tx, &entry).await?;
        if input.name.is_some() {
            // The name is in the `groups` claim of its members' cached userinfo answers.
            self.commit_and_invalidate(tx, Invalidation::All).await?;
        } else {
            tx.commit().await?;
        }
        Ok(group)
    }

    /// Whether the caller may delete group `id`: the group, or the refusal [`Iam::delete_group`]
    /// would answer (it asks the same).
    pub async fn check_can_delete_group(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> CoreResult<Group> {
        principal.require(Permission::GroupsDelete)?;
        let group = self.group(id).await?;
        // Deleting a group takes its roles from every member, as unassigning them would.
        self.require_can_grant_group_roles(principal, id).await?;
        Ok(group)
    }

    /// Deletes a group with its memberships and role assignments.
    pub async fn delete_group(
        &self,
        principal: &Principal,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let group = self.check_can_delete_group(principal, id).await?;
        let mut tx = self.db.pool.begin().await?;
        if !groups::delete(&mut *tx, id).await? {
            return Err(CoreError::not_found("group"));
        }
        let entry = group_audit(
            principal,
            meta,
            "group.deleted",
            id,
            serde_json::json!({ "name": group.name }),
        );
        audit::insert(&mut *tx, &entry).await?;
        // Every member loses the group's roles.
        self.commit_and_invalidate(tx, Invalidation::All).await?;
        Ok(())
    }

    pub async fn list_group_members(
        &self,
        principal: &Principal,
        id: Uuid,
        search: Option<&str>,
        page: PageRequest,
    ) -> CoreResult<(Vec<User>, u64)> {
        principal.require(Permission::GroupsView)?;
        self.group(id).await?;
        Ok(groups::list_members(&self.db.pool, id, search, page).await?)
    }

    /// Adds a member. Joining a group grants its roles, so a caller who is not `is_admin` may only
    /// add members to groups whose roles grant nothing beyond their own permissions.
    pub async fn add_group_member(
        &self,
        principal: &Principal,
        group_id: Uuid,
        user_id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        principal.require(Permission::GroupsMembers)?;
        self.group(group_id).await?;
        self.require_can_grant_group_roles(principal, group_id)
            .await?;
        let user = users::get(&self.db.pool, user_id)
            .await?
            .ok_or_else(|| CoreError::unknown_reference("user_id", "user"))?;
        let mut tx = self.db.pool.begin().await?;
        if !groups::add_member(&mut *tx, group_id, user_id, now_millis()).await? {
            return Err(CoreError::conflict(
                "conflict",
                "this user is already a member of the group",
            ));
        }
        let details = serde_json::json!({ "user_id": user_id, "email": user.email });
        let entry = group_audit(principal, meta, "group.member_added", group_id, details);
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(user_id))
            .await?;
        Ok(())
    }

    pub async fn remove_group_member(
        &self,
        principal: &Principal,
        group_id: Uuid,
        user_id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        principal.require(Permission::GroupsMembers)?;
        self.group(group_id).await?;
        // Leaving a group takes its roles: removing a member is unassigning them from that user.
        self.require_can_grant_group_roles(principal, group_id)
            .await?;
        let mut tx = self.db.pool.begin().await?;
        if !groups::remove_member(&mut *tx, group_id, user_id).await? {
            return Err(CoreError::not_found("group member"));
        }
        let entry = group_audit(
            principal,
            meta,
            "group.member_removed",
            group_id,
            serde_json::json!({ "user_id": user_id }),
        );
        audit::insert(&mut *tx, &entry).await?;
        self.commit_and_invalidate(tx, Invalidation::User(user_id))
            .await?;
        Ok(())
    }

    pub(crate) async fn require_can_grant_group_roles(
        &self,
        principal: &Principal,
        group_id: Uuid,
    ) -> CoreResult<()> {
        if principal.is_admin() {
            return Ok(());
        }
        let granted = roles::held_by_group(&self.db.pool, group_id)
            .await?
            .iter()
            .fold(PermissionSet::EMPTY, |set, role| {
                set.union(role.permissions)
            });
        principal.require_can_grant(granted)
    }
}
