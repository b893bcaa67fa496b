//! Signing keys of the OpenID Connect provider: RSA-2048, RS256, on `aws-lc-rs`.
//!
//! The private key is kept as PKCS#8 DER in the database and as an `aws-lc-rs` key pair in memory;
//! neither is ever formatted (no `Debug` shows it) nor serialised. Only the public JWK leaves.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{self, KeyPair as _};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The one algorithm the provider signs with and accepts.
pub const ALG: &str = "RS256";

/// A public key as published in the JWKS (RFC 7517), always `kty: RSA`, `use: sig`, `alg: RS256`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
    pub kid: String,
    pub n: String,
    pub e: String,
}

impl Jwk {
    /// The RSA public key of this JWK, for verification.
    pub fn components(&self) -> Option<PublicKeyComponents<Vec<u8>>> {
        Some(PublicKeyComponents {
            n: URL_SAFE_NO_PAD.decode(&self.n).ok()?,
            e: URL_SAFE_NO_PAD.decode(&self.e).ok()?,
        })
    }
}

/// A key pair that can sign. `Debug` names the key id only.
pub struct SigningKey {
    pub kid: String,
    pair: KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate an RSA key")]
    Generate,
    #[error("the stored signing key {0} cannot be read")]
    Unreadable(String),
    #[error("could not sign")]
    Sign,
}

/// A freshly generated key: what is stored (the private DER is handed over once, to be written).
pub struct NewKey {
    pub key: SigningKey,
    pub private_der: Vec<u8>,
    pub jwk: Jwk,
}

impl SigningKey {
    pub fn generate() -> Result<NewKey, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let private_der = pair
            .as_der()
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec();
        let jwk = public_jwk(&pair);
        Ok(NewKey {
            key: SigningKey {
                kid: jwk.kid.clone(),
                pair,
            },
            private_der,
            jwk,
        })
    }

    /// A stored key; `kid` must be the one it was stored under.
    pub fn from_pkcs8(kid: &str, der: &[u8]) -> Result<SigningKey, KeyError> {
        let pair = KeyPair::from_pkcs8(der).map_err(|_| KeyError::Unreadable(kid.to_owned()))?;
        Ok(SigningKey {
            kid: kid.to_owned(),
            pair,
        })
    }

    /// The RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut out = vec![0u8; self.pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut out)
            .map_err(|_| KeyError::Sign)?;
        Ok(out)
    }
}

/// The public JWK of a key pair; its `kid` is the RFC 7638 thumbprint, so it names the key itself.
fn public_jwk(pair: &KeyPair) -> Jwk {
    let public = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let n = URL_SAFE_NO_PAD.encode(&public.n);
    let e = URL_SAFE_NO_PAD.encode(&public.e);
    // RFC 7638 §3: the required members in lexicographic order, no whitespace.
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    Jwk {
        kty: "RSA".to_owned(),
        use_: "sig".to_owned(),
        alg: ALG.to_owned(),
        kid,
        n,
        e,
    }
}

/// Checks an RS256 signature with a published key.
pub fn verify(jwk: &Jwk, message: &[u8], sig: &[u8]) -> bool {
    jwk.components().is_some_and(|key| {
        key.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_what_its_jwk_verifies_and_reloads_from_der() {
        let new = SigningKey::generate().expect("key");
        assert_eq!(new.jwk.kty, "RSA");
        assert_eq!(new.jwk.alg, "RS256");
        assert_eq!(new.jwk.use_, "sig");
        assert_eq!(new.jwk.e, "AQAB");
        let sig = new.key.sign(b"hello").expect("sign");
        assert_eq!(sig.len(), 256);
        assert!(verify(&new.jwk, b"hello", &sig));
        assert!(!verify(&new.jwk, b"hellO", &sig));
        let reloaded = SigningKey::from_pkcs8(&new.jwk.kid, &new.private_der).expect("reload");
        let sig2 = reloaded.sign(b"x").expect("sign");
        assert!(verify(&new.jwk, b"x", &sig2));
        assert!(!format!("{reloaded:?}").contains(&new.jwk.n[..20]));
    }
}
