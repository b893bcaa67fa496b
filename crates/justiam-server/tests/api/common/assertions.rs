//! Assertions on error answers, raw or through the typed client. Each checks the status, the
//! `code` and what the contract promises beside them (the message, `details`, the challenge).

use justiam_client::RawResponse;
use serde_json::Value;

use super::refusals::check_error;

/// Asserts a JSON error answer: status, `code`, and a (non-empty) message that mentions
/// `mentions`.
#[track_caller]
pub fn assert_error(response: &RawResponse, status: u16, code: &str, mentions: &str) {
    check_error("", response, status, code, mentions);
}

/// Asserts a `400 validation_error` naming `field` in the message and in `details.field`.
#[track_caller]
pub fn assert_validation(response: &RawResponse, field: &str) {
    check_error("", response, 400, "validation_error", field);
    assert_eq!(
        response.json["details"]["field"].as_str(),
        Some(field),
        "details.field; body {}",
        response.json
    );
}

/// Asserts a `403 forbidden` for lack of `permission`, named in the message and in
/// `details.permission`.
#[track_caller]
pub fn assert_forbidden_for(response: &RawResponse, permission: &str) {
    check_error("", response, 403, "forbidden", permission);
    assert_eq!(
        response.json["details"]["permission"].as_str(),
        Some(permission),
        "details.permission; body {}",
        response.json
    );
}

/// Asserts a `401 invalid_token` for a bad credential: a message and the RFC 6750 challenge.
#[track_caller]
pub fn assert_invalid_token(response: &RawResponse) {
    check_error("", response, 401, "invalid_token", "");
    assert_eq!(
        response.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#),
        "WWW-Authenticate of a refused credential"
    );
}

/// Asserts the typed client got an API error with `status` and `code`.
#[track_caller]
pub fn assert_api_error<T: std::fmt::Debug>(
    result: justiam_client::Result<T>,
    status: u16,
    code: &str,
) {
    match result {
        Err(justiam_client::Error::Api { status: s, body }) => {
            assert_eq!(s.as_u16(), status, "status; body {body:?}");
            assert_eq!(body.code, code, "code; body {body:?}");
        }
        other => panic!("expected {status} {code}, got {other:?}"),
    }
}

/// Asserts a typed call was refused with `403 forbidden` naming `permission` in the message and in
/// `details.permission`.
#[track_caller]
pub fn assert_forbidden<T: std::fmt::Debug>(result: justiam_client::Result<T>, permission: &str) {
    match result {
        Err(justiam_client::Error::Api { status, body }) => {
            assert_eq!(status.as_u16(), 403, "status; body {body:?}");
            assert_eq!(body.code, "forbidden", "code; body {body:?}");
            let named = body
                .details
                .as_ref()
                .and_then(|d| d.get("permission"))
                .and_then(Value::as_str);
            assert_eq!(named, Some(permission), "details.permission; body {body:?}");
            assert!(
                body.message.contains(permission),
                "message {:?} should name {permission}",
                body.message
            );
        }
        other => panic!("expected 403 naming {permission}, got {other:?}"),
    }
}
