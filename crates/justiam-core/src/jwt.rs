//! Portal JWTs: HS256 only, on `hmac` + `sha2`.
//!
//! A full JWT crate would pull in RSA (RUSTSEC-2023-0071) for an algorithm we never use; HS256 with a
//! fixed header is a few lines. Verification checks the signature in constant time before it reads
//! any claim, pins the algorithm, and checks `exp` and `iss`. A JWT is only valid while its
//! server-side session exists; that check lives in the service layer.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The fixed header, pre-encoded: `{"alg":"HS256","typ":"JWT"}`.
const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    /// Not a JWT of this server: bad shape, signature, algorithm or issuer.
    Invalid,
    Expired,
}

pub struct JwtSigner {
    key: Vec<u8>,
    issuer: String,
}

impl std::fmt::Debug for JwtSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSigner")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl JwtSigner {
    pub fn new(secret: &[u8], issuer: impl Into<String>) -> Self {
        Self {
            key: secret.to_vec(),
            issuer: issuer.into(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }

    /// A 32-byte key for another purpose, derived from the JWT secret (HMAC-SHA256 of `label`):
    /// every node shares it without another setting (used to seal webhook secrets).
    pub fn derive_key(&self, label: &str) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let mut token = String::with_capacity(256);
        token.push_str(HEADER_B64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let mut mac = self.mac();
        mac.update(token.as_bytes());
        let signature = mac.finalize().into_bytes();
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        token
    }

    /// Returns the claims of a token signed by this key, issued by this issuer and not expired at
    /// `now_secs`.
    pub fn verify(&self, token: &str, now_secs: i64) -> Result<Claims, JwtError> {
        let claims = self.verify_signature(token).ok_or(JwtError::Invalid)?;
        if claims.iss != self.issuer {
            return Err(JwtError::Invalid);
        }
        if claims.exp <= now_secs {
            return Err(JwtError::Expired);
        }
        Ok(claims)
    }

    fn verify_signature(&self, token: &str) -> Option<Claims> {
        let (signed, signature_b64) = token.rsplit_once('.')?;
        let (header_b64, payload_b64) = signed.split_once('.')?;
        if header_b64 != HEADER_B64 {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature_b64).ok()?;
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        mac.verify_slice(&signature).ok()?;
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
        serde_json::from_slice(&payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "u".into(),
            sid: "s".into(),
            iat: 0,
            exp,
            iss: "http://localhost:8080".into(),
        }
    }

    #[test]
    fn header_constant_is_the_fixed_header() {
        assert_eq!(
            URL_SAFE_NO_PAD.decode(HEADER_B64).expect("b64"),
            br#"{"alg":"HS256","typ":"JWT"}"#
        );
    }

    #[test]
    fn round_trip_and_rejections() {
        let signer = JwtSigner::new(b"secret-key", "http://localhost:8080");
        let token = signer.sign(&claims(100));
        assert_eq!(signer.verify(&token, 99), Ok(claims(100)));
        assert_eq!(signer.verify(&token, 100), Err(JwtError::Expired));
        let other_key = JwtSigner::new(b"other", "http://localhost:8080");
        assert_eq!(other_key.verify(&token, 0), Err(JwtError::Invalid));
        let other_issuer = JwtSigner::new(b"secret-key", "https://elsewhere");
        assert_eq!(other_issuer.verify(&token, 0), Err(JwtError::Invalid));
        let mut tampered = token.clone();
        tampered.insert(40, 'A');
        assert_eq!(signer.verify(&tampered, 0), Err(JwtError::Invalid));
        assert_eq!(signer.verify("a.b", 0), Err(JwtError::Invalid));
        assert_eq!(signer.verify("", 0), Err(JwtError::Invalid));
    }

    #[test]
    fn alg_none_is_refused() {
        let signer = JwtSigner::new(b"k", "i");
        let token = signer.sign(&claims(100));
        let (_, rest) = token.split_once('.').expect("dot");
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            signer.verify(&format!("{none_header}.{rest}"), 0),
            Err(JwtError::Invalid)
        );
    }
}
