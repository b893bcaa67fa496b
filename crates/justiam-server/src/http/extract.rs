//! Extractors every handler uses: the caller, request facts, strict JSON bodies, paths and lists.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use justiam_core::authz::{Principal, RequestMeta};
use justiam_core::model::PageRequest;
use justiam_core::service::Refusal;
use justiam_core::token::Bearer;
use justiam_types::rules;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::app::{AppState, Caller, MAX_BODY_BYTES, RequestRecord, client_ip};

/// The authenticated caller. Rejects with `401` and `WWW-Authenticate` before the handler runs.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = bearer_credential(parts).ok_or_else(ApiError::missing_credential)?;
        let address = client_ip(parts, state);
        let kind = bearer.kind();
        let now = std::time::Instant::now();
        if let Some(retry_after_secs) =
            address.and_then(|a| state.token_failures.retry_after(a, now))
        {
            state.metrics.observe_authentication(kind, "throttled");
            return Err(justiam_core::CoreError::Throttled { retry_after_secs }.into());
        }
        let principal = match state.iam.authenticate(bearer, address).await {
            Ok(principal) => principal,
            Err(refusal) => {
                tracing::debug!(
                    credential = kind,
                    outcome = refusal.outcome(),
                    "bearer credential refused"
                );
                state
                    .metrics
                    .observe_authentication(kind, refusal.outcome());
                if let (Some(address), false) = (address, matches!(refusal, Refusal::Failed(_))) {
                    state.token_failures.record_failure(address, now);
                }
                return Err(justiam_core::CoreError::from(refusal).into());
            }
        };
        state.metrics.observe_authentication(kind, "ok");
        tracing::debug!(credential = kind, principal_id = %principal.id(), "bearer credential accepted");
        if let Some(record) = parts.extensions.get::<RequestRecord>() {
            let token_expires_at = principal.credential.expires_at();
            record.set_caller(Caller {
                user_id: principal.id(),
                credential: kind,
                token_expires_at,
            });
        }
        Ok(Auth(principal))
    }
}

/// The `Authorization: Bearer` credential, told apart (PAT or JWT) here, once per request.
fn bearer_credential(parts: &Parts) -> Option<Bearer<'_>> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    let credential = credential.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credential.is_empty())
        .then(|| Bearer::of(credential))
}

/// Client address and user agent, for audit entries.
pub struct Meta(pub RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect());
        Ok(Meta(RequestMeta {
            ip: client_ip(parts, state).map(|ip| ip.to_string()),
            user_agent,
        }))
    }
}

/// A JSON body: `application/json` only, unknown fields and wrong types refused with a `400` that
/// names the field.
pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for StrictJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be JSON with Content-Type: application/json",
            ));
        }
        // The limit is applied here, where the body is read, rather than by a layer that puts
        // it into every request's extensions.
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the request body must be at most {} bytes", MAX_BODY_BYTES),
                )
            })?;
        parse_json(&bytes).map(StrictJson)
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde reads a struct from a JSON array too (`[null, null]`: the fields in order), and every
    // body the document describes is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::validation(
            "body",
            "body: invalid type, expected a JSON object",
        ));
    }
    let invalid = |e: serde_json::Error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
        )
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if !inner.is_data() {
            return invalid(inner);
        }
        let message = describe_data_error(&inner.to_string());
        // serde reports a missing field at its parent; name the field itself.
        let field = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
            .unwrap_or(path);
        if field == "." {
            ApiError::validation("body", format!("body: {message}"))
        } else {
            ApiError::validation(&field, format!("{field}: {message}"))
        }
    })?;
    deserializer.end().map_err(invalid)?;
    Ok(value)
}

/// Serde's message without the position and without the offending value, which may be a secret
/// sent in the wrong field: `invalid type: string "30", expected i64 at line 1 column 40` →
/// `invalid type, expected an integer`.
fn describe_data_error(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    let described = match (message.split_once(':'), message.rfind(", expected ")) {
        (Some((kind @ ("invalid type" | "invalid value" | "invalid length"), _)), Some(at)) => {
            format!("{kind}{}", &message[at..])
        }
        _ => message.to_owned(),
    };
    described.replace("expected i64", "expected an integer")
}

/// A JSON body that may also be absent: an empty body, or JSON `null`, reads as `T::default()`.
pub struct JsonOrEmpty<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for JsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let declared_length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok());
        let has_type = request.headers().contains_key(header::CONTENT_TYPE);
        if declared_length == Some("0") || (declared_length.is_none() && !has_type) {
            return Ok(JsonOrEmpty(T::default()));
        }
        StrictJson::<Option<T>>::from_request(request, state)
            .await
            .map(|StrictJson(value)| JsonOrEmpty(value.unwrap_or_default()))
    }
}

/// Path parameters — every one of the API is a UUID; a malformed one is a `400` naming the path.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let value = Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|e| {
                ApiError::validation("path", format!("path parameter: {}", e.body_text()))
            })?;
        // `uuid` also reads the simple, braced and URN forms; the document says `format: uuid`.
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::validation("path", format!("path parameter: {}", e.body_text()))
            })?;
        if let Some((name, _)) = raw.iter().find(|(_, v)| !rules::is_hyphenated_uuid(v)) {
            return Err(ApiError::validation(
                "path",
                format!(
                    "path parameter: {name} must be a UUID such as 0195f0a0-0000-7000-8000-000000000000"
                ),
            ));
        }
        Ok(value)
    }
}

/// Query parameters: a malformed query (a repeated field, a wrong type) is a JSON `400`, and no
/// value may hold a control character — PostgreSQL text cannot hold a NUL, and no filter needs one.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        let controls = serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
            .map_err(|e| {
                ApiError::validation("query", format!("the query string is malformed: {e}"))
            })?
            .into_iter()
            .find(|(_, value)| value.chars().any(char::is_control));
        if let Some((name, _)) = controls {
            return Err(ApiError::validation(
                &name,
                format!("{name} must not contain control characters"),
            ));
        }
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| ApiError::validation("query", e.body_text()))
    }
}

#[derive(Debug, Deserialize)]
struct RawListQuery {
    page: Option<String>,
    limit: Option<String>,
    search: Option<String>,
}

/// `?page&limit&search` of every list.
pub struct ListQuery {
    pub page: PageRequest,
    pub search: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let ApiQuery(raw) = ApiQuery::<RawListQuery>::from_request_parts(parts, state).await?;
        let page = PageRequest::parse(raw.page.as_deref(), raw.limit.as_deref())?;
        // The length is the text as sent, blank or not, as the document states it.
        if raw
            .search
            .as_ref()
            .is_some_and(|s| s.chars().count() > rules::SEARCH_MAX_CHARS)
        {
            return Err(ApiError::validation(
                "search",
                format!(
                    "search must be at most {} characters",
                    rules::SEARCH_MAX_CHARS
                ),
            ));
        }
        let search = raw.search.filter(|s| !s.trim().is_empty());
        Ok(ListQuery { page, search })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use justiam_types::CreateToken;

    fn field_of(body: &str) -> (StatusCode, String) {
        let error = parse_json::<CreateToken>(body.as_bytes()).expect_err("must fail");
        let response = axum::response::IntoResponse::into_response(error);
        let status = response.status();
        (status, format!("{response:?}"))
    }

    #[test]
    fn json_errors_name_the_field() {
        for body in [
            r#"{"name":"a","expires_in_days":1.5}"#,
            r#"{"name":"a","expires_in_days":"30"}"#,
            r#"{"name":"a","expires_in_days":null}"#,
            r#"{"name":"a"}"#,
        ] {
            let error = parse_json::<CreateToken>(body.as_bytes()).expect_err(body);
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{body}");
            assert!(
                format!("{error:?}").contains("expires_in_days"),
                "{body}: {error:?}"
            );
        }
        let (status, _) = field_of(r#"{"name":"a","expires_in_days":3,"x":1}"#);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let error = parse_json::<CreateToken>(b"{").expect_err("syntax");
        assert!(format!("{error:?}").contains("invalid_json"));
        let error = parse_json::<CreateToken>(br#"{"name":"a","expires_in_days":3} x"#)
            .expect_err("trailing");
        assert!(format!("{error:?}").contains("invalid_json"));
    }
}
