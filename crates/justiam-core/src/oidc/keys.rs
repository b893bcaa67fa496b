//! Signing keys of the OpenID Connect provider, on `aws-lc-rs`: RSA-2048 (RS256) for ID tokens and
//! the access tokens of applications, ECDSA P-256 (ES256) for the access tokens of service accounts
//! (an RS256 signature costs ~675 µs here, an ES256 one a few dozen; docs/decisions.md).
//!
//! The private key is kept as PKCS#8 DER in the database and as an `aws-lc-rs` key pair in memory;
//! neither is ever formatted (no `Debug` shows it) nor serialised. Only the public JWK leaves.
//!
//! Verification ([`verify`]) also serves keys that come from outside (a service-account client's
//! registered key, a federated issuer's JWKS): RS256 and ES256 only, the algorithm named by the
//! token and, when the key states one, by the key too.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use justiam_types::rules::{PEM_KEY_TEMPLATES, PemKeyKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The algorithm of ID tokens and of applications' access tokens.
pub const ALG: &str = "RS256";
/// The algorithm of service-account access tokens.
pub const ALG_ES256: &str = "ES256";

/// A public key as published in a JWKS (RFC 7517, RFC 7518 §6): `kty: RSA` with `n` and `e`, or
/// `kty: EC` with `crv: P-256`, `x` and `y`. Members this provider does not use stay empty and are
/// not written; keys read from elsewhere may lack `use`, `alg` or `kid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use", default, skip_serializing_if = "String::is_empty")]
    pub use_: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alg: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kid: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub n: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub e: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub crv: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub x: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub y: String,
}

impl Jwk {
    /// The RSA public key of this JWK, for verification.
    pub fn components(&self) -> Option<PublicKeyComponents<Vec<u8>>> {
        if self.kty != "RSA" {
            return None;
        }
        Some(PublicKeyComponents {
            n: URL_SAFE_NO_PAD.decode(&self.n).ok()?,
            e: URL_SAFE_NO_PAD.decode(&self.e).ok()?,
        })
    }

    /// The uncompressed P-256 point (`04 || x || y`) of an EC JWK.
    fn p256_point(&self) -> Option<Vec<u8>> {
        if self.kty != "EC" || self.crv != "P-256" {
            return None;
        }
        let x = URL_SAFE_NO_PAD.decode(&self.x).ok()?;
        let y = URL_SAFE_NO_PAD.decode(&self.y).ok()?;
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut point = Vec::with_capacity(65);
        point.push(4);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        Some(point)
    }

    /// The algorithm this key verifies: the one it states, else the one its type implies.
    pub fn algorithm(&self) -> Option<&'static str> {
        let implied = match self.kty.as_str() {
            "RSA" => ALG,
            "EC" if self.crv == "P-256" => ALG_ES256,
            _ => return None,
        };
        (self.alg.is_empty() || self.alg == implied).then_some(implied)
    }

    /// Whether the key is one a JWS may be checked with (RS256 or ES256, well formed).
    pub fn is_usable(&self) -> bool {
        match self.algorithm() {
            Some(ALG) => self.components().is_some(),
            Some(_) => self.p256_point().is_some(),
            None => false,
        }
    }

    /// The RFC 7638 thumbprint: the required members in lexicographic order, no whitespace.
    pub fn thumbprint(&self) -> String {
        let canonical = if self.kty == "EC" {
            format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                self.crv, self.x, self.y
            )
        } else {
            format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, self.e, self.n)
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A PEM `PUBLIC KEY` (SubjectPublicKeyInfo) as a JWK, in one of the forms of
    /// `rules::PEM_KEY_TEMPLATES` (P-256; RSA of 2048, 3072 or 4096 bits with the exponent 65537):
    /// read by its form, as the document's pattern states it, like a JWK's members.
    pub fn from_pem(pem: &str) -> Option<Jwk> {
        let body: String = pem
            .trim()
            .strip_prefix("-----BEGIN PUBLIC KEY-----")?
            .strip_suffix("-----END PUBLIC KEY-----")?
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = STANDARD.decode(body).ok()?;
        let (template, material) = PEM_KEY_TEMPLATES.iter().find_map(|t| {
            let material = der
                .strip_prefix(t.before)?
                .strip_suffix(t.after)
                .filter(|m| m.len() == t.material)?;
            (!t.high_bit || material[0] >= 0x80).then_some((t, material))
        })?;
        let mut jwk = match template.kind {
            PemKeyKind::P256 => Jwk {
                kty: "EC".into(),
                crv: "P-256".into(),
                x: URL_SAFE_NO_PAD.encode(&material[..32]),
                y: URL_SAFE_NO_PAD.encode(&material[32..]),
                alg: ALG_ES256.into(),
                ..Jwk::default()
            },
            PemKeyKind::Rsa => Jwk {
                kty: "RSA".into(),
                n: URL_SAFE_NO_PAD.encode(material),
                e: URL_SAFE_NO_PAD.encode([1, 0, 1]),
                alg: ALG.into(),
                ..Jwk::default()
            },
        };
        jwk.use_ = "sig".into();
        jwk.kid = jwk.thumbprint();
        jwk.is_usable().then_some(jwk)
    }
}

enum Pair {
    Rsa(KeyPair),
    Ec(EcdsaKeyPair),
}

/// A key pair that can sign. `Debug` names the key id only.
pub struct SigningKey {
    pub kid: String,
    pair: Pair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate a signing key")]
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
    /// A new RSA-2048 key (RS256).
    pub fn generate() -> Result<NewKey, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let private_der = pair
            .as_der()
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec();
        let jwk = rsa_jwk(&pair);
        Ok(NewKey {
            key: SigningKey {
                kid: jwk.kid.clone(),
                pair: Pair::Rsa(pair),
            },
            private_der,
            jwk,
        })
    }

    /// A new ECDSA P-256 key (ES256).
    pub fn generate_es256() -> Result<NewKey, KeyError> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| KeyError::Generate)?;
        let private_der = pair
            .to_pkcs8v1()
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec();
        let point = pair.public_key().as_ref();
        if point.len() != 65 {
            return Err(KeyError::Generate);
        }
        let mut jwk = Jwk {
            kty: "EC".into(),
            use_: "sig".into(),
            alg: ALG_ES256.into(),
            crv: "P-256".into(),
            x: URL_SAFE_NO_PAD.encode(&point[1..33]),
            y: URL_SAFE_NO_PAD.encode(&point[33..]),
            ..Jwk::default()
        };
        jwk.kid = jwk.thumbprint();
        Ok(NewKey {
            key: SigningKey {
                kid: jwk.kid.clone(),
                pair: Pair::Ec(pair),
            },
            private_der,
            jwk,
        })
    }

    /// A stored key of algorithm `alg`; `kid` must be the one it was stored under.
    pub fn from_pkcs8(kid: &str, alg: &str, der: &[u8]) -> Result<SigningKey, KeyError> {
        let unreadable = |_| KeyError::Unreadable(kid.to_owned());
        let pair = if alg == ALG_ES256 {
            Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(unreadable)?,
            )
        } else {
            Pair::Rsa(KeyPair::from_pkcs8(der).map_err(unreadable)?)
        };
        Ok(SigningKey {
            kid: kid.to_owned(),
            pair,
        })
    }

    /// `RS256` or `ES256`.
    pub fn alg(&self) -> &'static str {
        match self.pair {
            Pair::Rsa(_) => ALG,
            Pair::Ec(_) => ALG_ES256,
        }
    }

    /// The signature of `message`: RSASSA-PKCS1-v1_5 with SHA-256, or ECDSA P-256 with SHA-256 in
    /// the fixed `r || s` form JWS uses (RFC 7518 §3.4).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut out = vec![0u8; pair.public_modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut out)
                    .map_err(|_| KeyError::Sign)?;
                Ok(out)
            }
            Pair::Ec(pair) => pair
                .sign(&rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| KeyError::Sign),
        }
    }
}

/// The public JWK of an RSA key pair; its `kid` is the RFC 7638 thumbprint, so it names the key.
fn rsa_jwk(pair: &KeyPair) -> Jwk {
    let public = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let mut jwk = Jwk {
        kty: "RSA".to_owned(),
        use_: "sig".to_owned(),
        alg: ALG.to_owned(),
        n: URL_SAFE_NO_PAD.encode(&public.n),
        e: URL_SAFE_NO_PAD.encode(&public.e),
        ..Jwk::default()
    };
    jwk.kid = jwk.thumbprint();
    jwk
}

/// Checks a JWS signature made with `alg` (`RS256` or `ES256`, nothing else) with `jwk`, which
/// must be a key of that algorithm.
pub fn verify(jwk: &Jwk, alg: &str, message: &[u8], sig: &[u8]) -> bool {
    if jwk.algorithm() != Some(alg) {
        return false;
    }
    match alg {
        ALG => jwk.components().is_some_and(|key| {
            key.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok()
        }),
        ALG_ES256 => jwk.p256_point().is_some_and(|point| {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(message, sig)
                .is_ok()
        }),
        _ => false,
    }
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
        assert!(verify(&new.jwk, ALG, b"hello", &sig));
        assert!(!verify(&new.jwk, ALG, b"hellO", &sig));
        assert!(!verify(&new.jwk, ALG_ES256, b"hello", &sig));
        let reloaded = SigningKey::from_pkcs8(&new.jwk.kid, ALG, &new.private_der).expect("reload");
        let sig2 = reloaded.sign(b"x").expect("sign");
        assert!(verify(&new.jwk, ALG, b"x", &sig2));
        assert!(!format!("{reloaded:?}").contains(&new.jwk.n[..20]));
    }

    #[test]
    fn an_es256_key_signs_fixed_signatures_its_jwk_verifies() {
        let new = SigningKey::generate_es256().expect("key");
        assert_eq!(
            (
                new.jwk.kty.as_str(),
                new.jwk.crv.as_str(),
                new.jwk.alg.as_str()
            ),
            ("EC", "P-256", "ES256")
        );
        let sig = new.key.sign(b"hello").expect("sign");
        assert_eq!(sig.len(), 64);
        assert!(verify(&new.jwk, ALG_ES256, b"hello", &sig));
        assert!(!verify(&new.jwk, ALG_ES256, b"hellO", &sig));
        assert!(!verify(&new.jwk, ALG, b"hello", &sig), "alg is the key's");
        let reloaded =
            SigningKey::from_pkcs8(&new.jwk.kid, ALG_ES256, &new.private_der).expect("reload");
        assert!(verify(
            &new.jwk,
            ALG_ES256,
            b"x",
            &reloaded.sign(b"x").expect("sign")
        ));
        let json = serde_json::to_value(&new.jwk).expect("json");
        assert!(json.get("n").is_none() && json["x"].is_string(), "{json}");
    }

    #[test]
    fn pem_public_keys_become_jwks() {
        let pem = |der: &[u8]| {
            format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                STANDARD.encode(der)
            )
        };
        let ec = SigningKey::generate_es256().expect("key");
        let Pair::Ec(pair) = &ec.key.pair else {
            panic!("EC")
        };
        let mut spki = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        spki.extend_from_slice(pair.public_key().as_ref());
        let jwk = Jwk::from_pem(&pem(&spki)).expect("EC PEM");
        assert_eq!(jwk, ec.jwk);
        let rsa = SigningKey::generate().expect("key");
        let Pair::Rsa(pair) = &rsa.key.pair else {
            panic!("RSA")
        };
        let der = pair.public_key().as_der().expect("der");
        let jwk = Jwk::from_pem(&pem(der.as_ref())).expect("RSA PEM");
        assert_eq!(jwk, rsa.jwk);
        assert!(Jwk::from_pem(&pem(b"nonsense")).is_none());
        assert!(Jwk::from_pem("not a key").is_none());
    }

    /// The document's PEM pattern and `from_pem` take the same keys: every template filled with
    /// any material (line breaks or not), a real key, and nothing just off a template.
    #[test]
    fn the_documented_pem_pattern_is_what_from_pem_reads() {
        use justiam_types::rules::{PEM_KEY_TEMPLATES, public_key_pem_pattern};
        let pattern = regex::Regex::new(&public_key_pem_pattern()).expect("compiles");
        let wrapped = |der: &[u8]| {
            let b64 = STANDARD.encode(der);
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).expect("ascii"))
                .collect();
            format!(
                "  -----BEGIN PUBLIC KEY-----\r\n{}\n-----END PUBLIC KEY-----\n",
                lines.join("\n")
            )
        };
        let one_line = |der: &[u8]| {
            format!(
                "-----BEGIN PUBLIC KEY-----{}-----END PUBLIC KEY-----",
                STANDARD.encode(der)
            )
        };
        for (i, template) in PEM_KEY_TEMPLATES.iter().enumerate() {
            for seed in 0..8u8 {
                let mut material: Vec<u8> = (0..template.material)
                    .map(|j| Sha256::digest([seed, i as u8, (j % 256) as u8, (j / 256) as u8])[0])
                    .collect();
                if template.high_bit {
                    material[0] |= 0x80;
                }
                let der = [template.before, &material, template.after].concat();
                for pem in [wrapped(&der), one_line(&der)] {
                    assert!(pattern.is_match(&pem), "{pem}");
                    assert!(Jwk::from_pem(&pem).is_some(), "{pem}");
                }
                // Just off the template: a byte short, a low modulus, another exponent.
                let mut off = vec![der[..der.len() - 1].to_vec()];
                if template.high_bit {
                    material[0] &= 0x7f;
                    off.push([template.before, &material, template.after].concat());
                    material[0] |= 0x80;
                    off.push([template.before, &material, &[2, 1, 3]].concat());
                } else {
                    let mut point = der.clone();
                    point[template.before.len() - 1] = 0x05;
                    off.push(point);
                }
                for der in off {
                    let pem = wrapped(&der);
                    assert!(!pattern.is_match(&pem), "{pem}");
                    assert!(Jwk::from_pem(&pem).is_none(), "{pem}");
                }
            }
        }
        let rsa = SigningKey::generate().expect("key");
        let Pair::Rsa(pair) = &rsa.key.pair else {
            panic!("RSA")
        };
        let der = pair.public_key().as_der().expect("der");
        assert!(pattern.is_match(&wrapped(der.as_ref())));
    }
}
