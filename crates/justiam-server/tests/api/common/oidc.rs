//! The OpenID Connect tests' parts: applications made through the core service, a browser with a
//! cookie jar that follows JustIAM's redirects by hand, a relying party's PKCE and token calls,
//! and ID-token verification against the JWKS with `aws-lc-rs` directly (not JustIAM's code).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use justiam_core::authz::{Principal, RequestMeta};
use justiam_core::model::Application;
use justiam_core::token::Bearer;
use justiam_types::application::{ApplicationType, CreateApplication};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;

use super::{ADMIN_EMAIL, ADMIN_PASSWORD, TestServer};

pub const CALLBACK: &str = "https://app.example.com/cb";

/// The bootstrap admin as a core principal, to arrange applications through the service.
pub async fn admin_principal(server: &TestServer) -> Principal {
    let login = server
        .anonymous()
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login");
    server
        .iam()
        .authenticate(Bearer::Jwt(&login.token), None)
        .await
        .unwrap_or_else(|_| panic!("admin principal"))
}

/// A registered application and its secret (for `oidc`).
pub struct Rp {
    pub app: Application,
    pub secret: Option<String>,
}

/// An `oidc` application with refresh tokens and every standard scope, redirecting to
/// [`CALLBACK`]; `adjust` changes the request first.
pub async fn register(
    server: &TestServer,
    name: &str,
    adjust: impl FnOnce(&mut CreateApplication),
) -> Rp {
    let mut input = CreateApplication {
        name: name.to_owned(),
        app_type: Some(ApplicationType::Oidc),
        redirect_uris: Some(vec![CALLBACK.to_owned()]),
        post_logout_redirect_uris: Some(vec!["https://app.example.com/bye".to_owned()]),
        allowed_scopes: Some(
            [
                "openid",
                "profile",
                "email",
                "groups",
                "roles",
                "offline_access",
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
        grant_types: Some(vec![
            "authorization_code".to_owned(),
            "refresh_token".to_owned(),
        ]),
        ..CreateApplication::default()
    };
    adjust(&mut input);
    let admin = admin_principal(server).await;
    let (app, secret) = server
        .iam()
        .create_application(&admin, input, &RequestMeta::default())
        .await
        .expect("create application");
    Rp {
        app,
        secret: secret.map(|s| s.into_exposed()),
    }
}

/// A PKCE pair: `(verifier, S256 challenge)`.
pub fn pkce() -> (String, String) {
    let verifier = format!("v{}", uuid::Uuid::now_v7().simple()) + &"x".repeat(20);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(digest.as_ref());
    (verifier, challenge)
}

/// The query of an authorization request for `rp` with PKCE `challenge`.
pub fn authorize_query(rp: &Rp, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &rp.app.client_id),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile email groups roles"),
        ("state", "state-123"),
        ("nonce", "nonce-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    serde_urlencoded::to_string(&params).expect("query")
}

/// A browser: a cookie jar, no automatic redirects.
pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
    pub cookies: HashMap<String, String>,
}

/// One answer, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        Browser {
            base: server.url.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        self.keep_cookies(&headers);
        let body = response.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    /// `GET` a path of the server (or a whole URL).
    pub async fn get(&mut self, path: &str) -> Page {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let response = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.read(response).await
    }

    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).expect("form"))
            .send()
            .await
            .expect("POST");
        self.read(response).await
    }

    /// Follows redirects within the server; returns the first answer that is not one, or the
    /// first redirect that leaves the server (to an application).
    pub async fn follow(&mut self, mut page: Page) -> Page {
        for _ in 0..10 {
            match page.location() {
                Some(to) if to.starts_with('/') => page = self.get(&to).await,
                _ => return page,
            }
        }
        panic!("too many redirects");
    }

    /// Fills in and sends the login page the browser is on.
    pub async fn sign_in(&mut self, login_page: &Page, email: &str, password: &str) -> Page {
        assert_eq!(login_page.status, StatusCode::OK, "{}", login_page.body);
        let csrf = hidden(&login_page.body, "csrf_token");
        let next = hidden(&login_page.body, "next");
        let page = self
            .post_form(
                "/ui/login",
                &[
                    ("csrf_token", &csrf),
                    ("next", &next),
                    ("email", email),
                    ("password", password),
                ],
            )
            .await;
        self.follow(page).await
    }

    /// The whole browser side: authorize, sign in if asked, and back at the application.
    /// Returns the callback's query parameters.
    pub async fn authorize(
        &mut self,
        query: &str,
        email: &str,
        password: &str,
    ) -> HashMap<String, String> {
        let page = self.get(&format!("/oauth2/authorize?{query}")).await;
        let mut page = self.follow(page).await;
        if page.status == StatusCode::OK && page.body.contains("name=\"csrf_token\"") {
            page = self.sign_in(&page, email, password).await;
        }
        callback_params(&page)
    }
}

/// The query of the redirect to [`CALLBACK`] (panics when the answer is anything else).
pub fn callback_params(page: &Page) -> HashMap<String, String> {
    let location = page
        .location()
        .unwrap_or_else(|| panic!("no redirect: {} {}", page.status, page.body));
    let query = location
        .strip_prefix(&format!("{CALLBACK}?"))
        .unwrap_or_else(|| panic!("redirect to {location}, not to the callback"));
    serde_urlencoded::from_str(query).expect("callback query")
}

/// The value of a hidden input (HTML-escaped as askama writes it).
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    unescape(&html[start..end])
}

/// Undoes askama's HTML escaping.
pub fn unescape(text: &str) -> String {
    text.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

/// `POST /oauth2/token` as a relying party: `(status, headers, json)`.
pub async fn token_call(
    server: &TestServer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    form_call(server, "/oauth2/token", basic, form).await
}

pub async fn form_call(
    server: &TestServer,
    path: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).expect("form"));
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.expect("token endpoint");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// Redeems a code with `client_secret_basic`.
pub async fn redeem(
    server: &TestServer,
    rp: &Rp,
    code: &str,
    verifier: &str,
) -> (StatusCode, HeaderMap, Value) {
    let secret = rp.secret.as_deref().expect("confidential client");
    token_call(
        server,
        Some((&rp.app.client_id, secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    )
    .await
}

pub async fn refresh(server: &TestServer, rp: &Rp, token: &str) -> (StatusCode, HeaderMap, Value) {
    let secret = rp.secret.as_deref().expect("confidential client");
    token_call(
        server,
        Some((&rp.app.client_id, secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

/// The decoded header and claims of a compact JWS, after checking its RS256 signature against
/// the server's JWKS with `aws-lc-rs` itself.
pub async fn verify_with_jwks(server: &TestServer, jwt: &str) -> (Value, Value) {
    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", server.url))
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    verify_against(&jwks, jwt).unwrap_or_else(|why| panic!("{why}"))
}

pub fn verify_against(jwks: &Value, jwt: &str) -> Result<(Value, Value), String> {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 {
        return Err("not three parts".into());
    }
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    };
    let header = decode(parts[0])?;
    let claims = decode(parts[1])?;
    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == header["kid"]))
        .ok_or_else(|| format!("kid {} is not in the JWKS", header["kid"]))?;
    if key["alg"] != header["alg"] {
        return Err(format!(
            "alg {} with a key of {}",
            header["alg"], key["alg"]
        ));
    }
    let component = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(key[name].as_str().unwrap_or_default())
            .map_err(|e| e.to_string())
    };
    let signature = URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|e| e.to_string())?;
    let signed = format!("{}.{}", parts[0], parts[1]);
    match header["alg"].as_str() {
        Some("RS256") => aws_lc_rs::rsa::PublicKeyComponents {
            n: component("n")?,
            e: component("e")?,
        }
        .verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &signature,
        )
        .map_err(|_| "bad signature".to_owned())?,
        // Service-account access tokens (issue 16): ECDSA P-256, `r || s`.
        Some("ES256") => {
            let mut point = vec![4u8];
            point.extend(component("x")?);
            point.extend(component("y")?);
            aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                point,
            )
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| "bad signature".to_owned())?
        }
        _ => return Err(format!("alg {}", header["alg"])),
    }
    Ok((header, claims))
}

/// `GET /oauth2/userinfo` with a Bearer token.
pub async fn userinfo(server: &TestServer, token: &str) -> (StatusCode, HeaderMap, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}/oauth2/userinfo", server.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("userinfo");
    let status = response.status();
    let headers = response.headers().clone();
    (
        status,
        headers,
        response.json().await.unwrap_or(Value::Null),
    )
}
