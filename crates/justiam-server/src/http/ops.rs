//! Probes and version.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use justiam_types::Version;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(version))
}

pub fn probe_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[utoipa::path(get, path = "/api/v1/version", operation_id = "get_version", tag = "operations", security(()), responses((status = 200, body = Version)))]
async fn version() -> Json<Version> {
    Json(Version {
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations", security(()), responses((status = 200, description = "The process is up", body = Object)))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database is reachable and migrated.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "operations", security(()), responses((status = 200, description = "The database is reachable and migrated", body = Object), (status = 503, description = "Not ready", body = Object)))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if state.iam.is_ready().await {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready" })),
        )
    }
}
