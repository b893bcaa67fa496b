//! The `user_groups` and `group_members` tables.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Executor, Row};
use uuid::Uuid;

use super::{contains_pattern, uuid};
use crate::model::{Group, PageRequest, User};
use crate::time::Millis;

fn group_from_row(row: &AnyRow) -> Result<Group, sqlx::Error> {
    Ok(Group {
        id: uuid(row, "id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        member_count: row.try_get("member_count")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

macro_rules! group_select {
    () => {
        "SELECT g.id, g.name, g.description, g.created_at, g.updated_at, \
         (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS member_count FROM user_groups g"
    };
}

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    g: &Group,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_groups (id, name, name_lower, description, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(g.id.to_string())
    .bind(&g.name)
    .bind(g.name.to_lowercase())
    .bind(&g.description)
    .bind(g.created_at)
    .bind(g.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn update<'e>(
    db: impl Executor<'e, Database = Any>,
    g: &Group,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE user_groups SET name = $2, name_lower = $3, description = $4, updated_at = $5 WHERE id = $1",
    )
    .bind(g.id.to_string())
    .bind(&g.name)
    .bind(g.name.to_lowercase())
    .bind(&g.description)
    .bind(g.updated_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<Group>, sqlx::Error> {
    let row = sqlx::query(concat!(group_select!(), " WHERE g.id = $1"))
        .bind(id.to_string())
        .fetch_optional(db)
        .await?;
    row.as_ref().map(group_from_row).transpose()
}

pub async fn delete<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM user_groups WHERE id = $1")
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn list(
    pool: &AnyPool,
    search: Option<&str>,
    page: PageRequest,
) -> Result<(Vec<Group>, u64), sqlx::Error> {
    let pattern = search.map(contains_pattern).unwrap_or_default();
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM user_groups g WHERE ($1 = '' OR g.name_lower LIKE $1 ESCAPE '\\' \
         OR lower(g.description) LIKE $1 ESCAPE '\\')",
    )
    .bind(&pattern)
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(concat!(
        group_select!(),
        " WHERE ($1 = '' OR g.name_lower LIKE $1 ESCAPE '\\' OR lower(g.description) LIKE $1 ESCAPE '\\') \
         ORDER BY g.created_at DESC, g.id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let groups = rows
        .iter()
        .map(group_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((groups, total.max(0) as u64))
}

/// The groups `user_id` is a member of, by name (at most `limit`).
pub async fn of_member(
    pool: &AnyPool,
    user_id: Uuid,
    limit: u32,
) -> Result<Vec<Group>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        group_select!(),
        " WHERE g.id IN (SELECT m.group_id FROM group_members m WHERE m.user_id = $1) \
         ORDER BY g.name_lower, g.id LIMIT $2"
    ))
    .bind(user_id.to_string())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(group_from_row).collect()
}

/// Adds a member; `false` when they already were one.
pub async fn add_member<'e>(
    db: impl Executor<'e, Database = Any>,
    group_id: Uuid,
    user_id: Uuid,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO group_members (group_id, user_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (group_id, user_id) DO NOTHING",
    )
    .bind(group_id.to_string())
    .bind(user_id.to_string())
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn remove_member<'e>(
    db: impl Executor<'e, Database = Any>,
    group_id: Uuid,
    user_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id.to_string())
        .bind(user_id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of a group's members, most recently added first.
pub async fn list_members(
    pool: &AnyPool,
    group_id: Uuid,
    search: Option<&str>,
    page: PageRequest,
) -> Result<(Vec<User>, u64), sqlx::Error> {
    let pattern = search.map(contains_pattern).unwrap_or_default();
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = $2 \
         AND ($1 = '' OR lower(u.email) LIKE $1 ESCAPE '\\' OR lower(u.username) LIKE $1 ESCAPE '\\')",
    )
    .bind(&pattern)
    .bind(group_id.to_string())
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(
        "SELECT u.id, u.email, u.username, u.first_name, u.last_name, u.is_active, u.is_admin, \
         u.is_service_account, u.auth_source, u.created_at, u.updated_at \
         FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = $2 \
         AND ($1 = '' OR lower(u.email) LIKE $1 ESCAPE '\\' OR lower(u.username) LIKE $1 ESCAPE '\\') \
         ORDER BY m.created_at DESC, u.id DESC LIMIT $3 OFFSET $4",
    )
    .bind(&pattern)
    .bind(group_id.to_string())
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let users = rows
        .iter()
        .map(super::users::user_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((users, total.max(0) as u64))
}
