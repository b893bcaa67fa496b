//! Arranging who holds what: custom and built-in roles, users holding permissions, and rows counted
//! straight in the database.

use justiam_client::{Client, ListParams};
use justiam_core::time::now_millis;
use justiam_types::{AdminRole, CreateAdminRole, User};
use sqlx::Row;
use uuid::Uuid;

use super::TestServer;

/// Creates a custom admin role through the API.
pub async fn create_role(client: &Client, name: &str, permissions: &[&str]) -> AdminRole {
    client
        .create_role(&CreateAdminRole {
            name: name.to_owned(),
            description: Some(format!("{name} (test role)")),
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        })
        .await
        .expect("create role")
}

/// A regular user holding exactly `permissions` through a custom role the admin assigns directly:
/// the user, a client logged in as them, and the role.
pub async fn user_with<S: AsRef<str>>(
    server: &TestServer,
    admin: &Client,
    email: &str,
    permissions: &[S],
) -> (User, Client, AdminRole) {
    let (user, client) = server.user_client(email).await;
    let names: Vec<&str> = permissions.iter().map(AsRef::as_ref).collect();
    let role = create_role(admin, &format!("role of {email}"), &names).await;
    admin
        .assign_user_role(user.id, role.id)
        .await
        .expect("assign role");
    (user, client, role)
}

/// The id of a built-in role, as the admin lists it.
pub async fn builtin_role(admin: &Client, name: &str) -> Uuid {
    let roles = admin
        .list_roles(&ListParams {
            limit: Some(100),
            ..ListParams::default()
        })
        .await
        .expect("list roles");
    roles
        .data
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("built-in role {name}"))
        .id
}

/// Gives `user_id` a fresh custom admin role holding exactly `permissions`, by SQL (no admin
/// client, no audit entry). Returns the role id.
pub async fn grant(server: &TestServer, user_id: Uuid, permissions: &[&str]) -> String {
    let role_id = Uuid::now_v7().to_string();
    let name = format!("test-role-{role_id}");
    let now = now_millis();
    sqlx::query(
        "INSERT INTO admin_roles (id, name, name_lower, description, permissions, is_builtin, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&role_id)
    .bind(&name)
    .bind(name.to_lowercase())
    .bind("role made by a test")
    .bind(permissions.join(" "))
    .bind(false)
    .bind(now)
    .execute(server.pool())
    .await
    .expect("insert a test admin role");
    server.after_direct_sql();
    assign_role(server, user_id, &role_id).await;
    role_id
}

/// Assigns a built-in role (`idp:viewer`, …) to `user_id` by SQL.
pub async fn assign_builtin(server: &TestServer, user_id: Uuid, role_name: &str) {
    let row = sqlx::query("SELECT id FROM admin_roles WHERE name_lower = $1")
        .bind(role_name.to_lowercase())
        .fetch_one(server.pool())
        .await
        .expect("the built-in role exists");
    let role_id: String = row.try_get("id").expect("role id");
    assign_role(server, user_id, &role_id).await;
}

pub async fn assign_role(server: &TestServer, user_id: Uuid, role_id: &str) {
    sqlx::query("INSERT INTO user_admin_roles (user_id, role_id, created_at) VALUES ($1, $2, $3)")
        .bind(user_id.to_string())
        .bind(role_id)
        .bind(now_millis())
        .execute(server.pool())
        .await
        .expect("assign a role to a user");
    server.after_direct_sql();
}

/// Number of rows of `table` whose `column` equals `value`.
pub async fn count_rows(server: &TestServer, table: &str, column: &str, value: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .fetch_one(server.pool())
        .await
        .expect("count rows")
        .try_get::<i64, _>("n")
        .expect("count")
}
