//! JWS compact serialisation, RS256 and ES256 only (RFC 7515, RFC 7518 §3.3, §3.4).
//!
//! The header is `{"alg":"RS256"|"ES256","kid":…,"typ":…}`; verification reads the header, refuses
//! any `alg` but those two (so `none` and the HMAC family never pass), finds the key by `kid`,
//! requires the key to be of the header's algorithm, and checks the signature before any claim is
//! read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::keys::{ALG, ALG_ES256, Jwk, KeyError, SigningKey, verify};

/// `typ` of ID tokens.
pub const TYP_JWT: &str = "JWT";
/// `typ` of access tokens (RFC 9068): an ID token is never taken for an access token.
pub const TYP_ACCESS: &str = "at+jwt";

#[derive(Debug, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub typ: Option<String>,
}

/// Signs `claims` (any JSON object) with `key`.
pub fn sign(key: &SigningKey, typ: &str, claims: &serde_json::Value) -> Result<String, KeyError> {
    let header = serde_json::json!({ "alg": key.alg(), "kid": key.kid, "typ": typ });
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut token);
    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// The header of a compact JWS, unverified: to find the `kid`.
pub fn header(token: &str) -> Option<Header> {
    let (header_b64, _) = token.split_once('.')?;
    let bytes = URL_SAFE_NO_PAD.decode(header_b64).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsError {
    /// Bad shape, an algorithm other than RS256 or ES256, a wrong `typ`, or a bad signature.
    Invalid,
    /// A `kid` that no published key has.
    UnknownKey,
}

/// Verifies `token` with the key `find_key` returns for its `kid`, requires `typ`, and returns the
/// claims.
pub fn verify_with<T: DeserializeOwned>(
    token: &str,
    typ: &str,
    find_key: impl Fn(&str) -> Option<Jwk>,
) -> Result<T, JwsError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Invalid);
    };
    let header = header(token).ok_or(JwsError::Invalid)?;
    if !matches!(header.alg.as_str(), ALG | ALG_ES256) || header.typ.as_deref() != Some(typ) {
        return Err(JwsError::Invalid);
    }
    let kid = header.kid.ok_or(JwsError::Invalid)?;
    let jwk = find_key(&kid).ok_or(JwsError::UnknownKey)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| JwsError::Invalid)?;
    let signed_len = header_b64.len() + 1 + payload_b64.len();
    if !verify(
        &jwk,
        &header.alg,
        &token.as_bytes()[..signed_len],
        &signature,
    ) {
        return Err(JwsError::Invalid);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| JwsError::Invalid)?;
    serde_json::from_slice(&payload).map_err(|_| JwsError::Invalid)
}

/// Verifies a JWS made elsewhere (a client assertion, a federated workload's token): RS256 or
/// ES256 only, any `typ`; the key is the one `keys` holds under the header's `kid`, or, when the
/// header names none, any of them of the header's algorithm. Returns the claims.
pub fn verify_outside<T: DeserializeOwned>(token: &str, keys: &[Jwk]) -> Result<T, JwsError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Invalid);
    };
    let header = header(token).ok_or(JwsError::Invalid)?;
    if !matches!(header.alg.as_str(), ALG | ALG_ES256) {
        return Err(JwsError::Invalid);
    }
    let candidates: Vec<&Jwk> = match header.kid.as_deref() {
        Some(kid) => keys.iter().filter(|k| k.kid == kid).collect(),
        None => keys
            .iter()
            .filter(|k| k.algorithm() == Some(header.alg.as_str()))
            .collect(),
    };
    if candidates.is_empty() {
        return Err(JwsError::UnknownKey);
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| JwsError::Invalid)?;
    let signed = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
    if !candidates
        .iter()
        .any(|jwk| verify(jwk, &header.alg, signed, &signature))
    {
        return Err(JwsError::Invalid);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| JwsError::Invalid)?;
    serde_json::from_slice(&payload).map_err(|_| JwsError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn round_trip_and_refusals() {
        let new = SigningKey::generate().expect("key");
        let jwk = new.jwk.clone();
        let find = |kid: &str| (kid == jwk.kid).then(|| jwk.clone());
        let token = sign(&new.key, TYP_JWT, &json!({"sub": "u"})).expect("sign");
        let h = header(&token).expect("header");
        assert_eq!(
            (h.alg.as_str(), h.kid.as_deref(), h.typ.as_deref()),
            ("RS256", Some(jwk.kid.as_str()), Some("JWT"))
        );
        let claims: Value = verify_with(&token, TYP_JWT, find).expect("verifies");
        assert_eq!(claims["sub"], "u");
        // Another typ is refused: an ID token is not an access token.
        assert_eq!(
            verify_with::<Value>(&token, TYP_ACCESS, find).err(),
            Some(JwsError::Invalid)
        );
        let (_, rest) = token.split_once('.').expect("dot");
        for alg in ["none", "HS256", "RS512", "rs256", "ES256"] {
            let forged = URL_SAFE_NO_PAD
                .encode(json!({"alg": alg, "kid": jwk.kid, "typ": "JWT"}).to_string());
            assert_eq!(
                verify_with::<Value>(&format!("{forged}.{rest}"), TYP_JWT, find).err(),
                Some(JwsError::Invalid),
                "{alg}"
            );
        }
        let other =
            URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "kid": "x", "typ": "JWT"}).to_string());
        assert_eq!(
            verify_with::<Value>(&format!("{other}.{rest}"), TYP_JWT, find).err(),
            Some(JwsError::UnknownKey)
        );
        let (signed, _) = token.rsplit_once('.').expect("dot");
        assert_eq!(
            verify_with::<Value>(&format!("{signed}."), TYP_JWT, find).err(),
            Some(JwsError::Invalid)
        );
        let tampered = token.replacen(&token[40..44], "AAAA", 1);
        assert!(verify_with::<Value>(&tampered, TYP_JWT, find).is_err());
    }
}
