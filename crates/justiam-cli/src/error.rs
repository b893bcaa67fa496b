//! One error type for the CLI: a one-line message and the exit code it ends with.

use std::fmt;

/// Exit codes (see [`super::EXIT_CODES_HELP`]).
pub mod code {
    pub const OTHER: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const AUTH: u8 = 3;
    pub const FORBIDDEN: u8 = 4;
    pub const NOT_FOUND: u8 = 5;
    pub const CONFLICT: u8 = 6;
    pub const SERVER: u8 = 7;
}

/// A failed command: what to tell the user, and how the process exits.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(code::USAGE, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(code::OTHER, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

impl From<justiam_client::Error> for Failure {
    fn from(error: justiam_client::Error) -> Self {
        match error {
            justiam_client::Error::Api { status, body } => {
                let status = status.as_u16();
                let code = match status {
                    401 => code::AUTH,
                    403 => code::FORBIDDEN,
                    404 => code::NOT_FOUND,
                    400 | 409 | 422 => code::CONFLICT,
                    429 | 500..=599 => code::SERVER,
                    _ => code::OTHER,
                };
                let mut message = format!("{} (HTTP {status}, {})", body.message, body.code);
                if let Some(permission) = body
                    .details
                    .as_ref()
                    .and_then(|d| d.get("permission"))
                    .and_then(|p| p.as_str())
                    && !body.message.contains(permission)
                {
                    message.push_str(&format!("; needs the permission {permission}"));
                }
                if status == 401 {
                    message.push_str(
                        "; log in again with `justiam login` or check --token / JUSTIAM_TOKEN",
                    );
                }
                Failure::new(code, message)
            }
            justiam_client::Error::Http(error) => {
                if error.is_decode() {
                    return Failure::other(format!(
                        "unexpected answer from the server: {}",
                        chain(&error)
                    ));
                }
                Failure::new(
                    code::SERVER,
                    format!("cannot reach the server: {}", chain(&error)),
                )
            }
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::other(error.to_string())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::other(format!("{error:#}"))
    }
}

/// An error and its causes on one line: `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The process exit code for an error that reached `main`.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<Failure>().map(|f| f.code))
        .unwrap_or(code::OTHER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> justiam_client::Error {
        justiam_client::Error::Api {
            status: status.try_into().expect("status"),
            body: justiam_types::ErrorBody {
                code: code.to_owned(),
                message: "msg".to_owned(),
                details: None,
            },
        }
    }

    #[test]
    fn statuses_map_to_exit_codes() {
        for (status, expected) in [
            (401, 3),
            (403, 4),
            (404, 5),
            (400, 6),
            (409, 6),
            (422, 6),
            (429, 7),
            (500, 7),
            (503, 7),
            (418, 1),
        ] {
            let failure = Failure::from(api(status, "x"));
            assert_eq!(failure.code, expected, "status {status}");
            assert!(
                failure.message.starts_with("msg (HTTP"),
                "{}",
                failure.message
            );
        }
        let error = anyhow::Error::new(Failure::new(4, "no"));
        assert_eq!(exit_code(&error), 4);
        assert_eq!(exit_code(&anyhow::anyhow!("plain")), 1);
    }
}
