//! The UI session cookie, CSRF tokens, and the extractors every UI handler uses.
//!
//! * The session cookie holds the portal JWT of `Iam::login` (`HttpOnly`, `SameSite=Lax`,
//!   `Path=/`, `Secure` when the public URL is https). A PAT is never accepted from the cookie.
//! * The CSRF token of a session is an HMAC of its session id under the server's JWT key (through
//!   `JwtSigner::sign` with claims no JWT check accepts), so it survives restarts, works on every
//!   node and needs no storage. Every `POST` is read through [`UiForm`], which refuses a missing or
//!   wrong token before the handler runs.
//! * The login form, before any session exists, uses a double-submit cookie.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use justiam_core::authz::{Credential, Principal, RequestMeta};
use justiam_core::jwt::Claims;
use justiam_core::service::Refusal;
use justiam_core::token::Bearer;
use uuid::Uuid;

use super::view::UiError;
use crate::app::AppState;
use crate::app::client_ip;

pub const SESSION_COOKIE: &str = "justiam_session";
pub const LOGIN_CSRF_COOKIE: &str = "justiam_login_csrf";
pub const NEW_TOKEN_COOKIE: &str = "justiam_new_token";
pub const CSRF_FIELD: &str = "csrf_token";

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// `Secure` when the server's public URL is https.
pub fn secure(state: &AppState) -> bool {
    state.iam.jwt.issuer().starts_with("https://")
}

/// A `Set-Cookie` value with the UI's attributes.
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
    same_site: &str,
) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite={same_site}");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure(state) {
        c.push_str("; Secure");
    }
    c
}

pub fn clear_cookie(state: &AppState, name: &str, path: &str) -> String {
    set_cookie(state, name, "", path, Some(0), "Lax")
}

/// The CSRF token of a session: HMAC-SHA256 of the session id under the JWT key, with claims that
/// can never authenticate (a subject that is not a user id, an issuer that is not this server's, and
/// `exp` 0).
pub fn csrf_token(state: &AppState, session_id: Uuid) -> String {
    let claims = Claims {
        sub: "justiam-ui-csrf".to_owned(),
        sid: session_id.to_string(),
        iat: 0,
        exp: 0,
        iss: "urn:justiam:ui-csrf".to_owned(),
    };
    let signed = state.iam.jwt.sign(&claims);
    signed
        .rsplit_once('.')
        .map(|(_, signature)| signature.to_owned())
        .unwrap_or_default()
}

/// Constant-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

const RANDOM_TOKEN_BYTES: usize = 24;

/// A random URL-safe value (login CSRF cookie): 48 lower-case hex digits.
pub fn random_token() -> Result<String, UiError> {
    let mut bytes = [0u8; RANDOM_TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|_| UiError::internal("OS randomness unavailable"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `value` has the shape of a [`random_token`]. The login page sets its CSRF cookie
/// again with the value the browser sent; only a value the server could have made is sent back.
fn is_random_token(value: &str) -> bool {
    value.len() == 2 * RANDOM_TOKEN_BYTES
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The logged-in user of a UI request.
pub struct UiUser {
    pub principal: Principal,
    pub csrf: String,
    pub meta: RequestMeta,
}

impl UiUser {
    pub fn email(&self) -> &str {
        &self.principal.user.email
    }
}

pub fn request_meta(parts: &Parts, state: &AppState) -> RequestMeta {
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect());
    RequestMeta {
        ip: client_ip(parts, state).map(|ip| ip.to_string()),
        user_agent,
    }
}

impl FromRequestParts<AppState> for UiUser {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let login = || UiError::Login {
            next: if parts.method == axum::http::Method::GET {
                next.clone()
            } else {
                String::new()
            },
        };
        let Some(jwt) = cookie(&parts.headers, SESSION_COOKIE).map(Bearer::of) else {
            return Err(login());
        };
        // The cookie carries a portal session, never a personal or service-account token.
        if !matches!(jwt, Bearer::Jwt(_)) {
            return Err(login());
        }
        let meta = request_meta(parts, state);
        // A portal session, not a token: there is no use to record, so no address to pass.
        let principal = match state.iam.authenticate(jwt, None).await {
            Ok(principal) => principal,
            Err(Refusal::Failed(error)) => return Err(error.into()),
            Err(_) => return Err(login()),
        };
        let Credential::Jwt { session_id } = principal.credential else {
            return Err(login());
        };
        Ok(UiUser {
            csrf: csrf_token(state, session_id),
            principal,
            meta,
        })
    }
}

/// The fields of an `application/x-www-form-urlencoded` body, in order (repeated names kept).
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Fields {
        Fields(
            body.split(|b| *b == b'&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let mut it = pair.splitn(2, |b| *b == b'=');
                    let key = decode(it.next().unwrap_or_default());
                    let value = decode(it.next().unwrap_or_default());
                    (key, value)
                })
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name` untrimmed (passwords).
    pub fn raw(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Percent-decoding with `+` as space; invalid sequences are kept as they are.
fn decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn read_form(request: Request) -> Result<(Parts, Fields), UiError> {
    let (parts, body) = request.into_parts();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(UiError::Csrf);
    }
    let bytes = axum::body::to_bytes(body, crate::app::MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            UiError::page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "The form sent more data than the server accepts.",
            )
        })?;
    Ok((parts, Fields::parse(&bytes)))
}

/// A form post by the logged-in user, with its CSRF token checked.
pub struct UiForm {
    pub user: UiUser,
    pub fields: Fields,
}

impl FromRequest<AppState> for UiForm {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, UiError> {
        let (mut parts, fields) = read_form(request).await?;
        let user = UiUser::from_request_parts(&mut parts, state).await?;
        let sent = fields.get(CSRF_FIELD).unwrap_or_default();
        if !same_token(sent, &user.csrf) {
            return Err(UiError::Csrf);
        }
        Ok(UiForm { user, fields })
    }
}

/// The login form post: checked against the double-submit cookie of the login page.
pub struct LoginForm {
    pub fields: Fields,
    pub meta: RequestMeta,
    pub cookie_token: Option<String>,
    /// The browser's SSO session before this sign-in, which the new one replaces.
    pub previous_sso: Option<String>,
}

impl FromRequest<AppState> for LoginForm {
    type Rejection = UiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, UiError> {
        let (parts, fields) = read_form(request).await?;
        let cookie_token = cookie(&parts.headers, LOGIN_CSRF_COOKIE)
            .filter(|token| is_random_token(token))
            .map(str::to_owned);
        let sent = fields.get(CSRF_FIELD).unwrap_or_default();
        if !cookie_token
            .as_deref()
            .is_some_and(|expected| same_token(sent, expected))
        {
            return Err(UiError::Csrf);
        }
        Ok(LoginForm {
            meta: request_meta(&parts, state),
            fields,
            cookie_token,
            previous_sso: cookie(&parts.headers, crate::oauth::SSO_COOKIE).map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let f = Fields::parse(b"a=1+2&b=%41%zz&p=x&p=y&e=&c=%2");
        assert_eq!(f.get("a"), Some("1 2"));
        assert_eq!(f.get("b"), Some("A%zz"));
        assert_eq!(f.all("p"), vec!["x", "y"]);
        assert_eq!(f.get("e"), None);
        assert_eq!(f.get("c"), Some("%2"));
    }

    #[test]
    fn login_tokens_have_the_shape_they_are_made_with() {
        let made = random_token().expect("randomness");
        assert!(is_random_token(&made), "{made}");
        for other in [
            "",
            &made[1..],
            &made.to_uppercase(),
            &format!("{}g", &made[1..]),
            "forged, Domain=example.com",
        ] {
            assert!(!is_random_token(other), "{other}");
        }
    }

    #[test]
    fn tokens_compare() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("", ""));
        assert!(!same_token("ab", "abc"));
    }
}
