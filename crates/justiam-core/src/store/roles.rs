//! Admin roles as far as authentication needs them: built-in seeding and effective permissions.

use sqlx::{Any, AnyPool, Executor, Row};
use uuid::Uuid;

use crate::model::{AdminRole, BUILTIN_ROLES, HeldRole, PermissionSet, RoleHolder};
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

fn role_from_row(row: &sqlx::any::AnyRow) -> Result<AdminRole, sqlx::Error> {
    Ok(AdminRole {
        id: super::uuid(row, "id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        permissions: PermissionSet::from_stored(&row.try_get::<String, _>("permissions")?),
        is_builtin: super::flag(row, "is_builtin")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

macro_rules! role_columns {
    () => {
        "r.id, r.name, r.description, r.permissions, r.is_builtin, r.created_at, r.updated_at"
    };
}

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    r: &AdminRole,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO admin_roles (id, name, name_lower, description, permissions, is_builtin, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.id.to_string())
    .bind(&r.name)
    .bind(r.name.to_lowercase())
    .bind(&r.description)
    .bind(r.permissions.to_stored())
    .bind(r.is_builtin)
    .bind(r.created_at)
    .bind(r.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Updates a custom role; built-in rows are never touched.
pub async fn update<'e>(
    db: impl Executor<'e, Database = Any>,
    r: &AdminRole,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE admin_roles SET name = $2, name_lower = $3, description = $4, permissions = $5, updated_at = $6 \
         WHERE id = $1 AND is_builtin = $7",
    )
    .bind(r.id.to_string())
    .bind(&r.name)
    .bind(r.name.to_lowercase())
    .bind(&r.description)
    .bind(r.permissions.to_stored())
    .bind(r.updated_at)
    .bind(false)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM admin_roles WHERE id = $1 AND is_builtin = $2")
        .bind(id.to_string())
        .bind(false)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<AdminRole>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        role_columns!(),
        " FROM admin_roles r WHERE r.id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.as_ref().map(role_from_row).transpose()
}

/// One page of roles (built-in first, then newest), matching `search` on name or description.
pub async fn list(
    pool: &AnyPool,
    search: Option<&str>,
    page: crate::model::PageRequest,
) -> Result<(Vec<AdminRole>, u64), sqlx::Error> {
    let pattern = search.map(super::contains_pattern).unwrap_or_default();
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM admin_roles r WHERE ($1 = '' OR r.name_lower LIKE $1 ESCAPE '\\' \
         OR lower(r.description) LIKE $1 ESCAPE '\\')",
    )
    .bind(&pattern)
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        role_columns!(),
        " FROM admin_roles r WHERE ($1 = '' OR r.name_lower LIKE $1 ESCAPE '\\' \
         OR lower(r.description) LIKE $1 ESCAPE '\\') \
         ORDER BY r.is_builtin DESC, r.created_at DESC, r.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let roles = rows
        .iter()
        .map(role_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((roles, total.max(0) as u64))
}

/// Assigns a role; `false` when it already was assigned.
pub async fn assign<'e>(
    db: impl Executor<'e, Database = Any>,
    holder: RoleHolder,
    role_id: Uuid,
    now: crate::time::Millis,
) -> Result<bool, sqlx::Error> {
    let (sql, holder_id) = match holder {
        RoleHolder::User(id) => (
            "INSERT INTO user_admin_roles (user_id, role_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, role_id) DO NOTHING",
            id,
        ),
        RoleHolder::Group(id) => (
            "INSERT INTO group_admin_roles (group_id, role_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (group_id, role_id) DO NOTHING",
            id,
        ),
    };
    let done = sqlx::query(sql)
        .bind(holder_id.to_string())
        .bind(role_id.to_string())
        .bind(now)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes an assignment; `false` when there was none.
pub async fn unassign<'e>(
    db: impl Executor<'e, Database = Any>,
    holder: RoleHolder,
    role_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let (sql, holder_id) = match holder {
        RoleHolder::User(id) => (
            "DELETE FROM user_admin_roles WHERE user_id = $1 AND role_id = $2",
            id,
        ),
        RoleHolder::Group(id) => (
            "DELETE FROM group_admin_roles WHERE group_id = $1 AND role_id = $2",
            id,
        ),
    };
    let done = sqlx::query(sql)
        .bind(holder_id.to_string())
        .bind(role_id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Every role a user holds, direct ones first, then through groups (by group name).
pub async fn held_by_user<'e>(
    db: impl Executor<'e, Database = Any>,
    user_id: Uuid,
) -> Result<Vec<HeldRole>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        role_columns!(),
        ", NULL AS group_id, NULL AS group_name, 0 AS via, r.name_lower AS sort_name FROM admin_roles r \
           JOIN user_admin_roles ur ON ur.role_id = r.id WHERE ur.user_id = $1 \
         UNION ALL SELECT ",
        role_columns!(),
        ", g.id AS group_id, g.name AS group_name, 1 AS via, g.name_lower AS sort_name FROM admin_roles r \
           JOIN group_admin_roles gr ON gr.role_id = r.id \
           JOIN user_groups g ON g.id = gr.group_id \
           JOIN group_members gm ON gm.group_id = g.id WHERE gm.user_id = $1 \
         ORDER BY via, sort_name, name"
    ))
    .bind(user_id.to_string())
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            let group_id: Option<String> = row.try_get("group_id")?;
            let group_name: Option<String> = row.try_get("group_name")?;
            let via_group = match (group_id, group_name) {
                (Some(id), Some(name)) => Uuid::parse_str(&id).ok().map(|id| (id, name)),
                _ => None,
            };
            Ok(HeldRole {
                role: role_from_row(row)?,
                via_group,
            })
        })
        .collect()
}

/// Roles assigned to a group.
pub async fn held_by_group<'e>(
    db: impl Executor<'e, Database = Any>,
    group_id: Uuid,
) -> Result<Vec<AdminRole>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        role_columns!(),
        " FROM admin_roles r JOIN group_admin_roles gr ON gr.role_id = r.id WHERE gr.group_id = $1 ORDER BY r.name_lower"
    ))
    .bind(group_id.to_string())
    .fetch_all(db)
    .await?;
    rows.iter().map(role_from_row).collect()
}
