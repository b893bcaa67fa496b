//! `/audit` and `/sessions`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Timelike};
use justiam_core::model::AuditFilter;
use justiam_core::time::to_datetime;
use justiam_types::{AuditRecord, Page, Session, rules};
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

/// A UUID filter. A parameter that is sent must be valid — empty too: omit it for no filter.
pub(super) fn uuid_param(field: &str, raw: Option<String>) -> Result<Option<Uuid>, ApiError> {
    raw.map(|s| {
        Uuid::try_parse(&s)
            .ok()
            .filter(|_| rules::is_hyphenated_uuid(&s))
            .ok_or_else(|| ApiError::validation(field, format!("{field} must be a UUID")))
    })
    .transpose()
}

/// An RFC 3339 time filter; like [`uuid_param`], a parameter that is sent must be valid.
pub(super) fn time_param(field: &str, raw: Option<String>) -> Result<Option<i64>, ApiError> {
    raw.map(|s| {
        date_time(&s).map(|t| t.timestamp_millis()).ok_or_else(|| {
            ApiError::validation(
                field,
                format!("{field} must be an RFC 3339 time such as 2026-01-31T00:00:00Z"),
            )
        })
    })
    .transpose()
}

/// An RFC 3339 `date-time` as JSON Schema's `format: date-time` reads one: chrono also takes a
/// space for the `T`, and a leap second at any minute.
fn date_time(text: &str) -> Option<DateTime<chrono::FixedOffset>> {
    if text.as_bytes().get(10) == Some(&b' ') {
        return None;
    }
    let time = DateTime::parse_from_rfc3339(text).ok()?;
    // chrono keeps a leap second as 59 s and a nanosecond count past one second.
    let utc = time.naive_utc().time();
    let leap = utc.nanosecond() >= 1_000_000_000;
    (!leap || (utc.hour(), utc.minute(), utc.second()) == (23, 59, 59)).then_some(time)
}

#[utoipa::path(get, path = "/api/v1/audit", operation_id = "list_audit", tag = "audit", params(ListParamsDoc, AuditParamsDoc), responses((status = 200, body = Page<AuditRecord>)))]
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

#[utoipa::path(get, path = "/api/v1/sessions", operation_id = "list_sessions", tag = "sessions", params(ListParamsDoc, SessionParamsDoc), responses((status = 200, body = Page<Session>)))]
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

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", operation_id = "revoke_session", tag = "sessions", params(("id" = Uuid, Path, description = "Session id")), responses((status = 204, description = "Ended; its JWT stops working at once")))]
async fn revoke_session(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Meta(meta): Meta,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.iam.revoke_session(&principal, id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions", operation_id = "revoke_user_sessions", tag = "sessions", params(("id" = Uuid, Path, description = "User id")), responses((status = 204, description = "Every session of the user ended")))]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What `format: date-time` means to the validator schemathesis uses (jsonschema-rs), case by
    /// case; the filters accept exactly these.
    #[test]
    fn time_filters_read_rfc_3339_as_json_schema_does() {
        for (text, valid) in [
            ("2020-01-01T00:00:00Z", true),
            ("2020-01-01t00:00:00z", true),
            ("2020-01-01T00:00:00.123456789012Z", true),
            ("2020-01-01T00:00:00+23:59", true),
            ("2020-01-01T00:00:00-00:00", true),
            ("0000-01-01T00:00:00Z", true),
            ("2020-01-01T23:59:60Z", true),
            ("2020-01-01T23:59:60.5Z", true),
            ("2020-01-02T01:29:60+01:30", true),
            ("2020-01-01T22:59:60-01:00", true),
            ("2020-01-01 00:00:00Z", false),
            ("2020-01-01T00:00:60Z", false),
            ("2020-01-01T23:59:60+01:00", false),
            ("2020-01-01T00:00:00.Z", false),
            ("2020-01-01T00:00:00+0100", false),
            ("2020-02-30T00:00:00Z", false),
            ("20200-01-01T00:00:00Z", false),
            ("2020-01-01T24:00:00Z", false),
            ("2020-01-01T00:00:00+23:60", false),
            ("2020-01-01T00:00:00+24:00", false),
            ("2020-01-01T00:00:00+00:00z", false),
            ("", false),
        ] {
            assert_eq!(date_time(text).is_some(), valid, "{text:?}");
        }
    }

    #[test]
    fn uuid_filters_take_the_hyphenated_form_only() {
        let id = "01a24abb-9cfe-7629-a6f2-31af0aa59a8b";
        assert!(uuid_param("x", Some(id.to_owned())).is_ok());
        assert!(uuid_param("x", Some(id.to_uppercase())).is_ok());
        assert!(uuid_param("x", None).expect("absent").is_none());
        for bad in [
            String::new(),
            id.replace('-', ""),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            "nope".to_owned(),
        ] {
            assert!(uuid_param("x", Some(bad.clone())).is_err(), "{bad:?}");
        }
    }
}
