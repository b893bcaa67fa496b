//! The OpenID Connect provider's endpoints: `/.well-known/*` and `/oauth2/*`, one file each.
//!
//! Here the OAuth and OpenID standards decide the shapes, not the API's conventions: form-encoded
//! requests, RFC 6749 §5.2 error bodies, `Cache-Control: no-store` on every token answer. The
//! logic is in `justiam_core::service::oauth`.
//!
//! CORS: the endpoints a browser application calls with `fetch` (discovery, JWKS, token, userinfo,
//! revocation, introspection) answer `Access-Control-Allow-Origin: *`. None of them reads a cookie
//! or any other ambient credential — each request carries its own code, secret or bearer token —
//! so no origin gains anything from being allowed; `authorize` and `logout` are navigations and
//! get no CORS headers.

mod authorize;
mod discovery;
mod introspect;
mod jwks;
mod logout;
mod revoke;
mod token;
mod userinfo;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use justiam_core::model::Application;
use justiam_core::model::machine::{SA_CLIENT_ID_PREFIX, ServiceAccountClient};
use justiam_core::service::machine::{ClientAuthentication, JWT_BEARER_ASSERTION};
use justiam_core::service::oauth::{ClientCredentials, OAuthError};

use crate::app::AppState;
use crate::http::ApiError;

/// The SSO session cookie.
pub const SSO_COOKIE: &str = "idp_sid";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration).options(preflight),
        )
        .route("/.well-known/jwks.json", get(jwks::jwks).options(preflight))
        .route(
            "/oauth2/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/oauth2/token", post(token::token).options(preflight))
        .route(
            "/oauth2/userinfo",
            get(userinfo::userinfo_get)
                .post(userinfo::userinfo_post)
                .options(preflight),
        )
        .route(
            "/oauth2/logout",
            get(logout::logout_get).post(logout::logout_post),
        )
        .route(
            introspect::PATH,
            post(introspect::introspect).options(preflight),
        )
        .route(revoke::PATH, post(revoke::revoke).options(preflight))
}

/// The answer to a CORS preflight of the `fetch`-able endpoints.
async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
        .into_response()
}

/// Adds `Access-Control-Allow-Origin: *` (see the module documentation).
fn cors(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A JSON answer of a token-bearing endpoint.
fn json_answer(body: &impl serde::Serialize) -> Response {
    cors(no_store(axum::Json(body).into_response()))
}

/// An RFC 6749 §5.2 error answer: `400`, or `401` with `WWW-Authenticate` for `invalid_client`
/// when the client tried HTTP Basic (and, as RFC 6749 allows, whenever client authentication
/// failed).
fn oauth_error(error: &str, description: &str) -> Response {
    let status = if error == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = serde_json::json!({ "error": error, "error_description": description });
    let mut response = (status, axum::Json(body)).into_response();
    if error == "invalid_client" {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"justiam\", charset=\"UTF-8\""),
        );
    }
    cors(no_store(response))
}

/// An [`OAuthError`] as its answer; a failure of the check itself is the API's `500`/`503`.
fn refusal(error: OAuthError) -> Response {
    match error {
        OAuthError::Refused { error, description } => oauth_error(error, &description),
        OAuthError::Failed(error) => cors(no_store(ApiError::from(error).into_response())),
    }
}

/// Form parameters (RFC 6749 §3.1: none may appear twice; empty values count as absent).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (a query string or a body).
    pub fn parse(raw: &[u8]) -> Result<Params, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw)
            .map_err(|_| OAuthError::invalid_request("the parameters are not form-encoded"))?;
        for (index, (name, _)) in pairs.iter().enumerate() {
            if pairs[..index].iter().any(|(other, _)| other == name) {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter `{name}` appears more than once"
                )));
            }
        }
        Ok(Params(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Reads a form-encoded body; anything else is `invalid_request`.
async fn read_form(headers: &HeaderMap, body: axum::body::Bytes) -> Result<Params, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    Params::parse(&body)
}

/// The client's credentials (RFC 6749 §2.3.1): HTTP Basic, or `client_id` + `client_secret` in
/// the body, or `client_id` alone for a public client. Using two methods at once is refused.
fn client_credentials(
    headers: &HeaderMap,
    params: &Params,
) -> Result<ClientCredentials, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
        });
    if let Some(encoded) = basic {
        if params.get("client_secret").is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not HTTP Basic and client_secret together",
            ));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(OAuthError::invalid_client)?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(OAuthError::invalid_client)?;
        // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
        let decode = |part: &str| -> Result<String, OAuthError> {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={part}"))
                .map_err(|_| OAuthError::invalid_client())?;
            Ok(pairs.into_iter().next().map(|(_, v)| v).unwrap_or_default())
        };
        let client_id = decode(id)?;
        if params
            .get("client_id")
            .is_some_and(|body_id| body_id != client_id)
        {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the one of HTTP Basic",
            ));
        }
        return Ok(ClientCredentials::Secret {
            client_id,
            secret: decode(secret)?,
        });
    }
    let client_id = params
        .owned("client_id")
        .ok_or_else(OAuthError::invalid_client)?;
    Ok(match params.owned("client_secret") {
        Some(secret) => ClientCredentials::Secret { client_id, secret },
        None => ClientCredentials::Public { client_id },
    })
}

/// Authenticates the application of a token request.
async fn authenticated_client(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Application, OAuthError> {
    let credentials = client_credentials(headers, params)?;
    state.iam.authenticate_oauth_client(&credentials).await
}

/// How a service-account client authenticates: `private_key_jwt` (RFC 7523 §2.2) when a
/// `client_assertion` is sent, else `client_secret_basic` or `client_secret_post`. Anything else
/// (no credentials, two methods at once) is refused.
pub(super) fn service_client(
    headers: &HeaderMap,
    params: &Params,
) -> Result<ClientAuthentication, OAuthError> {
    if let Some(assertion) = params.owned("client_assertion") {
        if params.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION) {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {JWT_BEARER_ASSERTION}"
            )));
        }
        if params.get("client_secret").is_some() || headers.contains_key("authorization") {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not a client assertion and a secret together",
            ));
        }
        return Ok(ClientAuthentication::Assertion {
            client_id: params.owned("client_id"),
            assertion,
        });
    }
    match client_credentials(headers, params)? {
        ClientCredentials::Secret { client_id, secret } => {
            Ok(ClientAuthentication::Secret { client_id, secret })
        }
        ClientCredentials::Public { .. } => Err(OAuthError::invalid_client()),
    }
}

/// Who calls introspection or revocation.
enum Caller {
    /// A registered application.
    Application(Application),
    /// An OAuth client of a service account, and how it authenticated (`client_secret` or
    /// `private_key_jwt`).
    ServiceClient {
        client: ServiceAccountClient,
        method: &'static str,
    },
    /// No client authentication at all: no `Authorization`, `client_id` or `client_assertion`.
    Anonymous,
}

/// Authenticates the caller of `endpoint` (`/oauth2/introspect` or `/oauth2/revoke`): a service
/// account's client when it sends a client assertion or a `justiam_sa_` client_id, an application
/// otherwise. Whether an anonymous caller may go on is the endpoint's business.
async fn endpoint_caller(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
) -> Result<Caller, OAuthError> {
    let anonymous = !headers.contains_key(header::AUTHORIZATION)
        && params.get("client_id").is_none()
        && params.get("client_assertion").is_none();
    if anonymous {
        return Ok(Caller::Anonymous);
    }
    let auth = if params.get("client_assertion").is_some() {
        service_client(headers, params)?
    } else {
        match client_credentials(headers, params)? {
            ClientCredentials::Secret { client_id, secret }
                if client_id.starts_with(SA_CLIENT_ID_PREFIX) =>
            {
                ClientAuthentication::Secret { client_id, secret }
            }
            credentials => {
                let app = state.iam.authenticate_oauth_client(&credentials).await?;
                return Ok(Caller::Application(app));
            }
        }
    };
    let (client, _) = state
        .iam
        .authenticate_service_client(&auth, endpoint)
        .await?;
    Ok(Caller::ServiceClient {
        client,
        method: auth.method(),
    })
}

/// `uri` with `params` appended to its query (registered redirect URIs have no fragment,
/// RFC 6749 §3.1.2).
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(params).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{encoded}")
}

/// A `302 Found` to `location`, or an error page when it cannot stand in a header.
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            no_store(response)
        }
        Err(_) => crate::ui::oauth_page(
            StatusCode::BAD_REQUEST,
            "Cannot continue",
            "The address to return to cannot be used.",
        ),
    }
}
