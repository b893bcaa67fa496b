//! Table-driven refusals: a test lists the requests a caller sends and the error each must get,
//! and one call sends them all and checks every answer in full — status, `code`, what the message
//! names and, where the contract promises one, `details.field` or `details.permission`.

use std::fmt;

use justiam_client::{Client, RawResponse};
use reqwest::Method;
use serde_json::Value;

use super::raw;

/// One request, before it is sent.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
}

pub fn get(path: impl Into<String>) -> Call {
    Call::new(Method::GET, path, None)
}

pub fn delete(path: impl Into<String>) -> Call {
    Call::new(Method::DELETE, path, None)
}

pub fn post(path: impl Into<String>, body: Value) -> Call {
    Call::new(Method::POST, path, Some(body))
}

pub fn put(path: impl Into<String>, body: Value) -> Call {
    Call::new(Method::PUT, path, Some(body))
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>, body: Option<Value>) -> Call {
        Call {
            method,
            path: path.into(),
            body,
        }
    }

    pub async fn send(&self, client: &Client) -> RawResponse {
        raw(client, self.method.clone(), &self.path, self.body.clone()).await
    }

    /// Must be refused with `status` and `code`, with a message that mentions `mentions`.
    pub fn refused(self, status: u16, code: &'static str, mentions: impl Into<String>) -> Refusal {
        Refusal {
            call: self,
            status,
            code,
            mentions: mentions.into(),
            field: None,
            permission: None,
        }
    }

    /// `400 validation_error` naming `field` in the message and in `details.field`.
    pub fn invalid(self, field: &str) -> Refusal {
        self.refused(400, "validation_error", field).field(field)
    }

    /// `403 forbidden` for lack of `permission`, named in the message and `details.permission`.
    pub fn forbidden(self, permission: &str) -> Refusal {
        self.refused(403, "forbidden", permission)
            .permission(permission)
    }

    /// `404 not_found`, with a message that mentions `what`.
    pub fn not_found(self, what: &str) -> Refusal {
        self.refused(404, "not_found", what)
    }

    /// `409 unknown_reference`: `field` of the body names nothing (a missing resource of the
    /// path is `404`).
    pub fn unknown_reference(self, field: &str) -> Refusal {
        self.refused(409, "unknown_reference", field)
    }

    /// `409 inconsistent_application`: a rule across an application's fields, naming `field`.
    pub fn inconsistent(self, field: &str) -> Refusal {
        self.refused(409, "inconsistent_application", field)
    }

    /// `409 conflict`, with a message that mentions `what`.
    pub fn conflict(self, what: &str) -> Refusal {
        self.refused(409, "conflict", what)
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(body) = &self.body {
            let body = body.to_string();
            // Enough of the body to tell the cases of one table apart.
            match body.char_indices().nth(200) {
                Some((cut, _)) => write!(f, " {}…", &body[..cut])?,
                None => write!(f, " {body}")?,
            }
        }
        Ok(())
    }
}

/// A request and the error it must get.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub call: Call,
    pub status: u16,
    pub code: &'static str,
    pub mentions: String,
    /// `details.field` must be this.
    pub field: Option<String>,
    /// `details.permission` must be this.
    pub permission: Option<String>,
}

impl Refusal {
    pub fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    pub fn permission(mut self, permission: &str) -> Self {
        self.permission = Some(permission.to_owned());
        self
    }

    /// Sends the request as `client` and checks the answer, which it returns for further checks.
    pub async fn expect(&self, client: &Client) -> RawResponse {
        let response = self.call.send(client).await;
        self.check(&response);
        response
    }

    /// Checks an answer to this refusal's request; the panic names the request.
    pub fn check(&self, response: &RawResponse) {
        check_error(
            &self.call.to_string(),
            response,
            self.status,
            self.code,
            &self.mentions,
        );
        for (key, expected) in [("field", &self.field), ("permission", &self.permission)] {
            if let Some(expected) = expected {
                assert_eq!(
                    response.json["details"][key].as_str(),
                    Some(expected.as_str()),
                    "{}: details.{key}; body {}",
                    self.call,
                    response.json
                );
            }
        }
    }
}

/// Sends each request as `client`, in order, and checks each answer against its refusal; a failure
/// names the request. Returns the answers, in order, for further checks.
pub async fn expect_refusals(
    client: &Client,
    refusals: impl IntoIterator<Item = Refusal>,
) -> Vec<RawResponse> {
    let mut answers = Vec::new();
    for refusal in refusals {
        answers.push(refusal.expect(client).await);
    }
    answers
}

/// The one check of an error answer that every assertion helper shares: `status`, `code`, and a
/// message (every error has one) that mentions `mentions`, with `context` (the request, when
/// known) in every failure.
pub(super) fn check_error(
    context: &str,
    response: &RawResponse,
    status: u16,
    code: &str,
    mentions: &str,
) {
    let context = if context.is_empty() {
        String::new()
    } else {
        format!("{context}: ")
    };
    assert_eq!(
        response.status.as_u16(),
        status,
        "{context}status; body {}",
        response.json
    );
    assert_eq!(
        response.code(),
        Some(code),
        "{context}code; body {}",
        response.json
    );
    let message = response
        .json
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        !message.is_empty() && message.contains(mentions),
        "{context}message {message:?} should mention {mentions:?}; body {}",
        response.json
    );
}
