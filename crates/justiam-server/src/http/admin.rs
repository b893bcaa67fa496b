//! `/audit` and `/sessions`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::DateTime;
use justiam_core::model::AuditFilter;
use justiam_core::time::to_datetime;
use justiam_types::{AuditRecord, Page, Session};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, Auth, ListQuery, Meta};
use super::openapi::*;
use super::{ApiError, AppState, page_of};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit))
        .routes(routes!(sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(revoke_user_sessions))
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    action: Option<String>,
    actor_id: Option<String>,
    target_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

pub(super) fn uuid_param(field: &str, raw: Option<String>) -> Result<Option<Uuid>, ApiError> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            Uuid::parse_str(&s)
                .map_err(|_| ApiError::validation(field, format!("{field} must be a UUID")))
        })
        .transpose()
}

pub(super) fn time_param(field: &str, raw: Option<String>) -> Result<Option<i64>, ApiError> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            DateTime::parse_from_rfc3339(&s)
                .map(|t| t.timestamp_millis())
                .map_err(|_| {
                    ApiError::validation(
                        field,
                        format!("{field} must be an RFC 3339 time such as 2026-01-31T00:00:00Z"),
                    )
                })
        })
        .transpose()
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(ListParamsDoc, AuditParamsDoc), responses((status = 200, body = Page<AuditRecord>)))]
async fn audit(
    State(state): State<AppState>,
    Auth(principal): Auth,
    list: ListQuery,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditRecord>>, ApiError> {
    let filter = AuditFilter {
        action: query.action.filter(|a| !a.is_empty()),
        actor_id: uuid_param("actor_id", query.actor_id)?,
        target_id: uuid_param("target_id", query.target_id)?,
        since: time_param("since", query.since)?,
        until: time_param("until", query.until)?,
    };
    let (entries, total) = state.iam.list_audit(&principal, &filter, list.page).await?;
    Ok(Json(page_of(
        entries.iter().map(|e| e.to_wire()).collect(),
        total,
        list.page,
    )))
}

#[derive(Debug, Deserialize)]
struct SessionQuery {
    user_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", params(ListParamsDoc, SessionParamsDoc), responses((status = 200, body = Page<Session>)))]
async fn sessions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    list: ListQuery,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> Result<Json<Page<Session>>, ApiError> {
    let user_id = uuid_param("user_id", query.user_id)?;
    let (sessions, total) = state
        .iam
        .list_sessions(&principal, list.search.as_deref(), user_id, list.page)
        .await?;
    let data = sessions
        .into_iter()
        .map(|s| Session {
            id: s.session.id,
            kind: s.session.kind.to_owned(),
            user_id: s.session.user_id,
            user_email: s.user_email,
            created_at: to_datetime(s.session.created_at),
            expires_at: to_datetime(s.session.expires_at),
            ip: s.session.ip,
            user_agent: s.session.user_agent,
        })
        .collect();
    Ok(Json(page_of(data, total, list.page)))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = Uuid, Path, description = "Session id")), responses((status = 204, description = "Ended; its JWT stops working at once")))]
async fn revoke_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.revoke_session(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions", tag = "sessions", params(("id" = Uuid, Path, description = "User id")), responses((status = 204, description = "Every session of the user ended")))]
async fn revoke_user_sessions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state
        .iam
        .revoke_user_sessions(&principal, id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
