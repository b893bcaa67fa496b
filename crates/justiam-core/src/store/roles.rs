//! Admin roles as far as authentication needs them: built-in seeding and effective permissions.

use sqlx::{Any, AnyPool, Executor, Row};
use uuid::Uuid;

use crate::model::{BUILTIN_ROLES, PermissionSet};
use crate::time::now_millis;

/// Creates the built-in roles, or puts their permissions back if a row drifted. Safe to run on
/// every start of every node (conflicts on the unique name are absorbed).
pub async fn seed_builtin(pool: &AnyPool) -> Result<(), sqlx::Error> {
    let now = now_millis();
    for role in BUILTIN_ROLES {
        sqlx::query(
            "INSERT INTO admin_roles (id, name, name_lower, description, permissions, is_builtin, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (name_lower) DO UPDATE SET description = $4, permissions = $5, is_builtin = $6",
        )
        .bind(super::new_id().to_string())
        .bind(role.name)
        .bind(role.name.to_lowercase())
        .bind(role.description)
        .bind(role.permission_set().to_stored())
        .bind(true)
        .bind(now)
        .execute(pool)
        .await?;
    }
    Ok(())
}

pub async fn find_id_by_name<'e>(
    db: impl Executor<'e, Database = Any>,
    name: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row = sqlx::query("SELECT id FROM admin_roles WHERE name_lower = $1")
        .bind(name.to_lowercase())
        .fetch_optional(db)
        .await?;
    row.map(|r| super::uuid(&r, "id")).transpose()
}

/// The union of the permissions of every role assigned to the user directly or through a group.
pub async fn effective_permissions<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
) -> Result<PermissionSet, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT r.permissions AS permissions FROM admin_roles r \
           JOIN user_admin_roles ur ON ur.role_id = r.id WHERE ur.user_id = $1 \
         UNION ALL \
         SELECT r.permissions AS permissions FROM admin_roles r \
           JOIN group_admin_roles gr ON gr.role_id = r.id \
           JOIN group_members gm ON gm.group_id = gr.group_id WHERE gm.user_id = $1",
    )
    .bind(user_id.to_string())
    .fetch_all(db)
    .await?;
    let mut set = PermissionSet::EMPTY;
    for row in rows {
        set = set.union(PermissionSet::from_stored(
            &row.try_get::<String, _>("permissions")?,
        ));
    }
    Ok(set)
}
