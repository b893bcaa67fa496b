//! App role mappings and their assignment to users and groups (`roles.*` permissions).

use justiam_types::application::{CreateAppMapping, UpdateAppMapping};
use uuid::Uuid;

use super::cache::Invalidation;
use super::{Iam, audit_by};
use crate::authz::{Principal, RequestMeta};
use crate::error::{CoreError, CoreResult};
use crate::model::{
    AppMapping, Description, MappingHolder, PageRequest, Permission, parse_mapping_value,
    parse_variable_name,
};
use crate::store::audit::{self, AuditEntry};
use crate::store::{app_mappings, applications, groups, is_unique_violation, new_id, users};
use crate::time::now_millis;

fn duplicate() -> CoreError {
    CoreError::conflict(
        "conflict",
        "this application already has a mapping with this variable_name and value",
    )
}

fn mapping_audit(
    principal: &Principal,
    meta: &RequestMeta,
    action: &'static str,
    mapping: &AppMapping,
) -> AuditEntry {
    AuditEntry {
        target_type: Some("app_mapping"),
        target_id: Some(mapping.id),
        details: Some(serde_json::json!({
            "application_id": mapping.application_id,
            "variable_name": mapping.variable_name,
            "value": mapping.value,
        })),
        ..audit_by(principal, meta, action)
    }
}

impl Iam {
    /// One page of mappings, of one application when `application_id` is given.
    pub async fn list_app_mappings(
        &self,
        principal: &Principal,
        application_id: Option<Uuid>,
        search: Option<&str>,
        page: PageRequest,
    ) -> CoreResult<(Vec<AppMapping>, u64)> {
        principal.require(Permission::RolesView)?;
        Ok(app_mappings::list(&self.db.pool, application_id, search, page).await?)
    }

    pub async fn get_app_mapping(&self, principal: &Principal, id: Uuid) -> CoreResult<AppMapping> {
        principal.require(Permission::RolesView)?;
        self.app_mapping(id).await
    }

    async fn app_mapping(&self, id: Uuid) -> CoreResult<AppMapping> {
        app_mappings::get(&self.db.pool, id)
            .await?
            .ok_or_else(|| CoreError::not_found("app mapping"))
    }

    pub async fn create_app_mapping(
        &self,
        principal: &Principal,
        input: CreateAppMapping,
        meta: &RequestMeta,
    ) -> CoreResult<AppMapping> {
        principal.require(Permission::RolesCreate)?;
        let now = now_millis();
        let mapping = AppMapping {
            id: new_id(),
            application_id: input.application_id,
            variable_name: parse_variable_name(&input.variable_name)?,
            value: parse_mapping_value(&input.value)?,
            description: Description::parse(input.description.as_deref().unwrap_or(""))?
                .as_str()
                .to_owned(),
            created_at: now,
            updated_at: now,
        };
        if applications::get(&self.db.pool, input.application_id)
            .await?
            .is_none()
        {
            return Err(CoreError::unknown_reference(
                "application_id",
                "application",
            ));
        }
        let mut tx = self.db.pool.begin().await?;
        match app_mappings::insert(&mut *tx, &mapping).await {
            Err(e) if is_unique_violation(&e) => return Err(duplicate()),
            other => other?,
        }
        audit::insert(
            &mut *tx,
            &mapping_audit(principal, meta, "app_mapping.created", &mapping),
        )
        .await?;
        tx.commit().await?;
        Ok(mapping)
    }

    pub async fn update_app_mapping(
        &self,
        principal: &Principal,
        id: Uuid,
        input: UpdateAppMapping,
        meta: &RequestMeta,
    ) -> CoreResult<AppMapping> {
        principal.require(Permission::RolesUpdate)?;
        let mut mapping = self.app_mapping(id).await?;
        if let Some(name) = &input.variable_name {
            mapping.variable_name = parse_variable_name(name)?;
        }
        if let Some(value) = &input.value {
            mapping.value = parse_mapping_value(value)?;
        }
        if let Some(description) = &input.description {
            mapping.description = Description::parse(description)?.as_str().to_owned();
        }
        mapping.updated_at = now_millis();
        let mut tx = self.db.pool.begin().await?;
        match app_mappings::update(&mut *tx, &mapping).await {
            Ok(true) => {}
            Ok(false) => return Err(CoreError::not_found("app mapping")),
            Err(e) if is_unique_violation(&e) => return Err(duplicate()),
            Err(e) => return Err(e.into()),
        }
        audit::insert(
            &mut *tx,
            &mapping_audit(principal, meta, "app_mapping.updated", &mapping),
        )
        .await?;
        // The mapping's value is in the `roles` claim of every holder's cached userinfo.
        self.commit_and_invalidate(tx, Invalidation::All).await?;
        Ok(mapping)
    }

    /// Whether the caller may delete mapping `id`: the mapping, or the refusal
    /// [`Iam::delete_app_mapping`] would answer.
    pub async fn check_can_delete_app_mapping(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> CoreResult<AppMapping> {
        principal.require(Permission::RolesDelete)?;
        self.app_mapping(id).await
    }

    /// Deletes a mapping and, through the foreign keys, its assignments.
    pub async fn delete_app_mapping(
        &self,
        principal: &Principal,
        id: Uuid,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        let mapping = self.check_can_delete_app_mapping(principal, id).await?;
        let mut tx = self.db.pool.begin().await?;
        if !app_mappings::delete(&mut *tx, id).await? {
            return Err(CoreError::not_found("app mapping"));
        }
        audit::insert(
            &mut *tx,
            &mapping_audit(principal, meta, "app_mapping.deleted", &mapping),
        )
        .await?;
        self.commit_and_invalidate(tx, Invalidation::All).await?;
        Ok(())
    }

    /// 404 unless the user or group exists.
    async fn require_holder(&self, holder: MappingHolder) -> CoreResult<()> {
        match holder {
            MappingHolder::User(id) => {
                users::get(&self.db.pool, id)
                    .await?
                    .ok_or_else(|| CoreError::not_found("user"))?;
            }
            MappingHolder::Group(id) => {
                groups::get(&self.db.pool, id)
                    .await?
                    .ok_or_else(|| CoreError::not_found("group"))?;
            }
        }
        Ok(())
    }

    /// Mappings assigned directly to a user or a group.
    pub async fn app_mappings_of(
        &self,
        principal: &Principal,
        holder: MappingHolder,
    ) -> CoreResult<Vec<AppMapping>> {
        principal.require(Permission::RolesView)?;
        self.require_holder(holder).await?;
        Ok(app_mappings::held_by(&self.db.pool, holder).await?)
    }

    /// Assigns (`assign = true`) or unassigns a mapping on a user or a group.
    pub async fn set_app_mapping_assignment(
        &self,
        principal: &Principal,
        holder: MappingHolder,
        mapping_id: Uuid,
        assign: bool,
        meta: &RequestMeta,
    ) -> CoreResult<()> {
        principal.require(Permission::RolesUpdate)?;
        self.require_holder(holder).await?;
        let mapping = if assign {
            app_mappings::get(&self.db.pool, mapping_id)
                .await?
                .ok_or_else(|| CoreError::unknown_reference("mapping_id", "app mapping"))?
        } else {
            self.app_mapping(mapping_id).await?
        };
        let mut tx = self.db.pool.begin().await?;
        let changed = if assign {
            app_mappings::assign(&mut *tx, holder, mapping_id, now_millis()).await?
        } else {
            app_mappings::unassign(&mut *tx, holder, mapping_id).await?
        };
        if !changed {
            return Err(if assign {
                CoreError::conflict("conflict", "this app mapping is already assigned")
            } else {
                CoreError::not_found("app mapping assignment")
            });
        }
        let (holder_type, holder_id) = match holder {
            MappingHolder::User(id) => ("user_id", id),
            MappingHolder::Group(id) => ("group_id", id),
        };
        let mut entry = mapping_audit(
            principal,
            meta,
            if assign {
                "app_mapping.assigned"
            } else {
                "app_mapping.unassigned"
            },
            &mapping,
        );
        if let Some(serde_json::Value::Object(details)) = entry.details.as_mut() {
            details.insert(holder_type.to_owned(), serde_json::json!(holder_id));
        }
        audit::insert(&mut *tx, &entry).await?;
        let scope = match holder {
            MappingHolder::User(id) => Invalidation::User(id),
            MappingHolder::Group(_) => Invalidation::All,
        };
        self.commit_and_invalidate(tx, scope).await?;
        Ok(())
    }
}
