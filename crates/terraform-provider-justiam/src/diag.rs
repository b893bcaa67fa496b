//! Diagnostics without Rust backtraces (tf-provider's constructors attach one whenever
//! `RUST_BACKTRACE` is set), and readable messages for API errors.

use justiam_client::Error;
use justiam_types::Permission;
use tf_provider::{AttributePath, Diagnostic, Diagnostics};

pub fn error(diags: &mut Diagnostics, summary: impl Into<String>, detail: impl Into<String>) {
    diags.add_error(Diagnostic {
        summary: summary.into().into(),
        detail: detail.into().into(),
        attribute: AttributePath::default(),
    });
}

pub fn error_at(
    diags: &mut Diagnostics,
    attribute: &str,
    summary: impl Into<String>,
    detail: impl Into<String>,
) {
    diags.add_error(Diagnostic {
        summary: summary.into().into(),
        detail: detail.into().into(),
        attribute: AttributePath::new(attribute.to_owned()),
    });
}

pub fn warning_at(
    diags: &mut Diagnostics,
    attribute: &str,
    summary: impl Into<String>,
    detail: impl Into<String>,
) {
    diags.add_warning(Diagnostic {
        summary: summary.into().into(),
        detail: detail.into().into(),
        attribute: AttributePath::new(attribute.to_owned()),
    });
}

/// Whether the server answered 404.
pub fn is_not_found(err: &Error) -> bool {
    err.status().is_some_and(|s| s.as_u16() == 404)
}

/// Records an API error as "Could not <action>" with what the server said and a hint.
pub fn api_error(diags: &mut Diagnostics, action: &str, err: &Error) {
    error(diags, format!("Could not {action}"), describe(err));
}

/// The answer of an API call, or `None` after recording its error (see [`api_error`]).
pub fn api_result<T>(diags: &mut Diagnostics, action: &str, result: Result<T, Error>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(err) => {
            api_error(diags, action, &err);
            None
        }
    }
}

/// Like [`api_result`], but a 404 is no error: `Some(None)` says the object is gone.
pub fn unless_not_found<T>(
    diags: &mut Diagnostics,
    action: &str,
    result: Result<T, Error>,
) -> Option<Option<T>> {
    match result {
        Err(err) if is_not_found(&err) => Some(None),
        other => api_result(diags, action, other).map(Some),
    }
}

/// A human explanation of a client error.
pub fn describe(err: &Error) -> String {
    match err {
        Error::Api { status, body } => {
            let mut text = format!(
                "The JustIAM server answered {} ({}): {}",
                status.as_u16(),
                body.code,
                body.message
            );
            let hint = match status.as_u16() {
                401 => Some(
                    "The provider's token was refused: it is invalid, expired or revoked, or its \
                     owner is deactivated. Set a valid token in the provider's `token` argument or \
                     the JUSTIAM_TOKEN environment variable.",
                ),
                403 => Some(
                    "The user behind the provider's token lacks the permission named above; grant \
                     it through an admin role, or use an administrator's token.",
                ),
                404 => Some("The object does not exist (or the token may not see it)."),
                409 if body.code == "unknown_reference" => Some(
                    "An id in the configuration names no object: check that the referenced user \
                     or admin role exists.",
                ),
                409 => Some(
                    "It conflicts with an existing object; if it already exists, import it with \
                     `terraform import`.",
                ),
                _ => None,
            };
            if let Some(hint) = hint {
                text.push_str("\n\n");
                text.push_str(hint);
            }
            text
        }
        Error::Http(e) => {
            format!("The JustIAM server could not be reached or answered something unexpected: {e}")
        }
    }
}

/// Parses a UUID attribute, recording a diagnostic on failure.
pub fn parse_uuid(diags: &mut Diagnostics, attribute: &str, value: &str) -> Option<uuid::Uuid> {
    match uuid::Uuid::parse_str(value) {
        Ok(id) => Some(id),
        Err(_) => {
            error_at(
                diags,
                attribute,
                format!("Invalid {attribute}"),
                format!("{value:?} is not a JustIAM id (a UUID such as 0190d2b4-…)."),
            );
            None
        }
    }
}

/// Splits an import id `first/second` into two UUIDs.
pub fn parse_pair(
    diags: &mut Diagnostics,
    id: &str,
    first: &str,
    second: &str,
) -> Option<(uuid::Uuid, uuid::Uuid)> {
    let parsed = id.split_once('/').and_then(|(a, b)| {
        Some((
            uuid::Uuid::parse_str(a.trim()).ok()?,
            uuid::Uuid::parse_str(b.trim()).ok()?,
        ))
    });
    if parsed.is_none() {
        error(
            diags,
            "Invalid import id",
            format!(
                "Expected `<{first}>/<{second}>` (two UUIDs separated by a slash), got {id:?}."
            ),
        );
    }
    parsed
}

/// The catalogue as a readable list, for diagnostics about an unknown permission.
pub fn catalogue_list() -> String {
    Permission::ALL
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
