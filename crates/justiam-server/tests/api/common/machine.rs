//! Machine identity (issue 16): service-account clients, their grants, and client assertions
//! signed the way an outside party signs them (here with `aws-lc-rs` directly, not with the
//! server's code; the federated issuers' tokens come from joserfc, `joserfc.rs`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use justiam_client::{Client, RawResponse};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{TestServer, form_call, raw};

/// A key an outside party signs with: ES256 or RS256, with its public JWK.
pub struct OutsideKey {
    pub alg: &'static str,
    pub kid: String,
    pair: Pair,
}

enum Pair {
    Ec(aws_lc_rs::signature::EcdsaKeyPair),
    Rsa(aws_lc_rs::rsa::KeyPair),
}

impl OutsideKey {
    pub fn es256(kid: &str) -> OutsideKey {
        let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        )
        .expect("EC key");
        OutsideKey {
            alg: "ES256",
            kid: kid.to_owned(),
            pair: Pair::Ec(pair),
        }
    }

    pub fn rs256(kid: &str) -> OutsideKey {
        let pair =
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key");
        OutsideKey {
            alg: "RS256",
            kid: kid.to_owned(),
            pair: Pair::Rsa(pair),
        }
    }

    /// The public JWK, with `kid` and `alg`.
    pub fn jwk(&self) -> Value {
        use aws_lc_rs::signature::KeyPair;
        match &self.pair {
            Pair::Ec(pair) => {
                let point = pair.public_key().as_ref();
                json!({
                    "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..]),
                })
            }
            Pair::Rsa(pair) => {
                let public =
                    aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                    "n": URL_SAFE_NO_PAD.encode(&public.n),
                    "e": URL_SAFE_NO_PAD.encode(&public.e),
                })
            }
        }
    }

    /// The public key as PEM (SubjectPublicKeyInfo).
    pub fn pem(&self) -> String {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair;
        let der = match &self.pair {
            Pair::Ec(pair) => {
                let mut spki = vec![
                    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
                ];
                spki.extend_from_slice(pair.public_key().as_ref());
                spki
            }
            Pair::Rsa(pair) => pair.public_key().as_der().expect("der").as_ref().to_vec(),
        };
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")
    }

    /// The private key as PEM (PKCS#8), for a client library that signs its own assertions.
    pub fn private_pem(&self) -> String {
        use aws_lc_rs::encoding::AsDer;
        let der = match &self.pair {
            Pair::Ec(pair) => pair.to_pkcs8v1().expect("pkcs8").as_ref().to_vec(),
            Pair::Rsa(pair) => pair.as_der().expect("pkcs8").as_ref().to_vec(),
        };
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
    }

    /// A compact JWS of `claims` with `header` (merged over `alg` and `kid`).
    pub fn sign_with_header(&self, header: Value, claims: &Value) -> String {
        let mut full = json!({ "alg": self.alg, "kid": self.kid, "typ": "JWT" });
        if let (Some(full), Some(extra)) = (full.as_object_mut(), header.as_object()) {
            for (k, v) in extra {
                if v.is_null() {
                    full.remove(k);
                } else {
                    full.insert(k.clone(), v.clone());
                }
            }
        }
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(full.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let signature = match &self.pair {
            Pair::Ec(pair) => pair
                .sign(&rng, signed.as_bytes())
                .expect("sign")
                .as_ref()
                .to_vec(),
            Pair::Rsa(pair) => {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    signed.as_bytes(),
                    &mut out,
                )
                .expect("sign");
                out
            }
        };
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(json!({}), claims)
    }
}

/// `alg: none`: header and claims, an empty signature.
pub fn unsigned(kid: &str, claims: &Value) -> String {
    let header = json!({ "alg": "none", "kid": kid, "typ": "JWT" });
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// HS256 with `secret` as the HMAC key: the "public key as HMAC secret" confusion attack.
pub fn hs256(kid: &str, secret: &[u8], claims: &Value) -> String {
    let header = json!({ "alg": "HS256", "kid": kid, "typ": "JWT" });
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

pub fn now_secs() -> i64 {
    justiam_core::time::now_millis() / 1000
}

/// `POST /api/v1/users/{id}/clients` by `client`; asserts `201`.
pub async fn create_sa_client(client: &Client, account: Uuid, body: Value) -> Value {
    let created = raw(
        client,
        Method::POST,
        &format!("/api/v1/users/{account}/clients"),
        Some(body),
    )
    .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.json);
    created.json
}

/// `POST /api/v1/users/{id}/federated-credentials` by `client`; asserts `201`.
pub async fn create_federated(client: &Client, account: Uuid, body: Value) -> Value {
    let created = raw(
        client,
        Method::POST,
        &format!("/api/v1/users/{account}/federated-credentials"),
        Some(body),
    )
    .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.json);
    created.json
}

/// A `client_secret` client of `account`: `(client_id, secret, id)`.
pub async fn secret_client(server: &TestServer, account: Uuid) -> (String, String, String) {
    let created = create_sa_client(&server.admin().await, account, json!({"name": "ci"})).await;
    (
        created["client_id"].as_str().expect("client_id").to_owned(),
        created["client_secret"]
            .as_str()
            .expect("client_secret")
            .to_owned(),
        created["id"].as_str().expect("id").to_owned(),
    )
}

/// A client-credentials grant with `client_secret_basic`.
pub async fn grant_basic(
    server: &TestServer,
    client_id: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    form_call(server, "/oauth2/token", Some((client_id, secret)), &form).await
}

/// A fresh access token of `client_id` (secret), asserting the grant succeeds.
pub async fn access_token(server: &TestServer, client_id: &str, secret: &str) -> String {
    let (status, _, body) = grant_basic(server, client_id, secret, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// `GET /api/v1/me` with a bearer token.
pub async fn me_as(server: &TestServer, token: &str) -> RawResponse {
    raw(
        &server.anonymous().with_token(token),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await
}
