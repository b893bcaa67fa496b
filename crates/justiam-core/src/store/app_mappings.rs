//! The `app_mappings`, `user_app_mappings` and `group_app_mappings` tables.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Executor, Row};
use uuid::Uuid;

use super::{contains_pattern, uuid};
use crate::model::{AppMapping, MappingHolder, PageRequest};
use crate::time::Millis;

fn mapping_from_row(row: &AnyRow) -> Result<AppMapping, sqlx::Error> {
    Ok(AppMapping {
        id: uuid(row, "id")?,
        application_id: uuid(row, "application_id")?,
        variable_name: row.try_get("variable_name")?,
        value: row.try_get("value")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

macro_rules! mapping_select {
    () => {
        "SELECT a.id, a.application_id, a.variable_name, a.value, a.description, a.created_at, \
         a.updated_at FROM app_mappings a "
    };
}

macro_rules! mapping_filter {
    () => {
        "WHERE ($1 = '' OR a.application_id = $1) AND ($2 = '' OR lower(a.variable_name) LIKE $2 ESCAPE '\\' \
         OR lower(a.value) LIKE $2 ESCAPE '\\' OR lower(a.description) LIKE $2 ESCAPE '\\')"
    };
}

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    m: &AppMapping,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO app_mappings (id, application_id, variable_name, value, description, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(m.id.to_string())
    .bind(m.application_id.to_string())
    .bind(&m.variable_name)
    .bind(&m.value)
    .bind(&m.description)
    .bind(m.created_at)
    .bind(m.updated_at)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn update<'e>(
    db: impl Executor<'e, Database = Any>,
    m: &AppMapping,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE app_mappings SET variable_name = $2, value = $3, description = $4, updated_at = $5 WHERE id = $1",
    )
    .bind(m.id.to_string())
    .bind(&m.variable_name)
    .bind(&m.value)
    .bind(&m.description)
    .bind(m.updated_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<Option<AppMapping>, sqlx::Error> {
    let row = sqlx::query(concat!(mapping_select!(), "WHERE a.id = $1"))
        .bind(id.to_string())
        .fetch_optional(db)
        .await?;
    row.as_ref().map(mapping_from_row).transpose()
}

pub async fn delete<'e>(
    db: impl Executor<'e, Database = Any>,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM app_mappings WHERE id = $1")
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// One page of mappings, of one application when `application_id` is given, whose variable name,
/// value or description contains `search`; newest first.
pub async fn list(
    pool: &AnyPool,
    application_id: Option<Uuid>,
    search: Option<&str>,
    page: PageRequest,
) -> Result<(Vec<AppMapping>, u64), sqlx::Error> {
    let pattern = search.map(contains_pattern).unwrap_or_default();
    let app = application_id.map(|id| id.to_string()).unwrap_or_default();
    let total: i64 = sqlx::query(concat!(
        "SELECT COUNT(*) AS n FROM app_mappings a ",
        mapping_filter!()
    ))
    .bind(&app)
    .bind(&pattern)
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let rows = sqlx::query(concat!(
        mapping_select!(),
        mapping_filter!(),
        " ORDER BY a.created_at DESC, a.id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(&app)
    .bind(&pattern)
    .bind(i64::from(page.limit))
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let mappings = rows
        .iter()
        .map(mapping_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((mappings, total.max(0) as u64))
}

/// Assigns a mapping; `false` when the holder already had it.
pub async fn assign<'e>(
    db: impl Executor<'e, Database = Any>,
    holder: MappingHolder,
    mapping_id: Uuid,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let (sql, holder_id) = match holder {
        MappingHolder::User(id) => (
            "INSERT INTO user_app_mappings (user_id, mapping_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, mapping_id) DO NOTHING",
            id,
        ),
        MappingHolder::Group(id) => (
            "INSERT INTO group_app_mappings (group_id, mapping_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (group_id, mapping_id) DO NOTHING",
            id,
        ),
    };
    let done = sqlx::query(sql)
        .bind(holder_id.to_string())
        .bind(mapping_id.to_string())
        .bind(now)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn unassign<'e>(
    db: impl Executor<'e, Database = Any>,
    holder: MappingHolder,
    mapping_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let (sql, holder_id) = match holder {
        MappingHolder::User(id) => (
            "DELETE FROM user_app_mappings WHERE user_id = $1 AND mapping_id = $2",
            id,
        ),
        MappingHolder::Group(id) => (
            "DELETE FROM group_app_mappings WHERE group_id = $1 AND mapping_id = $2",
            id,
        ),
    };
    let done = sqlx::query(sql)
        .bind(holder_id.to_string())
        .bind(mapping_id.to_string())
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The mappings assigned directly to a user or a group, oldest assignment first.
pub async fn held_by<'e>(
    db: impl Executor<'e, Database = Any>,
    holder: MappingHolder,
) -> Result<Vec<AppMapping>, sqlx::Error> {
    let (sql, holder_id) = match holder {
        MappingHolder::User(id) => (
            concat!(
                mapping_select!(),
                "JOIN user_app_mappings h ON h.mapping_id = a.id WHERE h.user_id = $1 \
                 ORDER BY h.created_at, a.id"
            ),
            id,
        ),
        MappingHolder::Group(id) => (
            concat!(
                mapping_select!(),
                "JOIN group_app_mappings h ON h.mapping_id = a.id WHERE h.group_id = $1 \
                 ORDER BY h.created_at, a.id"
            ),
            id,
        ),
    };
    let rows = sqlx::query(sql)
        .bind(holder_id.to_string())
        .fetch_all(db)
        .await?;
    rows.iter().map(mapping_from_row).collect()
}

/// `(variable_name, value)` of the application's mappings the user holds directly or through a
/// group, each pair once, in a stable order.
pub async fn values_for_user<'e>(
    db: impl Executor<'e, Database = Any>,
    application_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT DISTINCT a.variable_name, a.value FROM app_mappings a WHERE a.application_id = $1 AND ( \
           a.id IN (SELECT u.mapping_id FROM user_app_mappings u WHERE u.user_id = $2) \
           OR a.id IN (SELECT g.mapping_id FROM group_app_mappings g \
                       JOIN group_members m ON m.group_id = g.group_id WHERE m.user_id = $2)) \
         ORDER BY a.variable_name, a.value",
    )
    .bind(application_id.to_string())
    .bind(user_id.to_string())
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("variable_name")?, row.try_get("value")?)))
        .collect()
}
