//! Secrets the server must read back (TOTP secrets), sealed at rest with AES-256-GCM (aws-lc-rs).
//!
//! A sealed value is `nonce (12 random bytes) || ciphertext || tag`, with associated data naming
//! what it belongs to (the user id), so a sealed value copied into another row does not open.
//! Beside the current key a previous one may be held: it only opens values, and
//! [`KeyRing::needs_reseal`] tells the service which values to seal again under the current key.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

/// Bytes of a key.
pub const KEY_BYTES: usize = 32;

/// One AES-256 key and its id (the first 8 bytes of its SHA-256, hex).
struct SealingKey {
    id: String,
    key: LessSafeKey,
}

impl SealingKey {
    fn new(bytes: &[u8; KEY_BYTES]) -> Self {
        let id = Sha256::digest(bytes)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // AES-256 takes exactly 32 bytes, which the type guarantees.
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .unwrap_or_else(|_| unreachable!("a 32-byte key is an AES-256 key"));
        Self {
            id,
            key: LessSafeKey::new(unbound),
        }
    }
}

/// The current key (seals and opens) and, during a rotation, the previous one (opens only).
#[derive(Default, Clone)]
pub struct KeyRing {
    current: Option<std::sync::Arc<SealingKey>>,
    previous: Option<std::sync::Arc<SealingKey>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current.as_ref().map(|k| &k.id))
            .field("previous", &self.previous.as_ref().map(|k| &k.id))
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("no MFA encryption key is configured")]
    NoKey,
    #[error("the sealed value was made with a key this server does not hold (key id {0})")]
    UnknownKey(String),
    #[error("the sealed value does not open: damaged, or sealed for something else")]
    Damaged,
    #[error("OS randomness unavailable")]
    Random,
}

impl KeyRing {
    pub fn new(current: &[u8; KEY_BYTES], previous: Option<&[u8; KEY_BYTES]>) -> Self {
        Self {
            current: Some(std::sync::Arc::new(SealingKey::new(current))),
            previous: previous.map(|p| std::sync::Arc::new(SealingKey::new(p))),
        }
    }

    /// The id of the key that seals now.
    pub fn current_id(&self) -> Option<&str> {
        self.current.as_ref().map(|k| k.id.as_str())
    }

    /// The id of the previous key, while one is configured.
    pub fn previous_id(&self) -> Option<&str> {
        self.previous.as_ref().map(|k| k.id.as_str())
    }

    /// Seals `plain` under the current key; returns the key id and the sealed bytes.
    pub fn seal(&self, plain: &[u8], associated: &[u8]) -> Result<(String, Vec<u8>), SealError> {
        let key = self.current.as_ref().ok_or(SealError::NoKey)?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut in_out = plain.to_vec();
        key.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated),
                &mut in_out,
            )
            .map_err(|_| SealError::Damaged)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + in_out.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&in_out);
        Ok((key.id.clone(), sealed))
    }

    /// Opens a value sealed under key `key_id` (current or previous).
    pub fn open(
        &self,
        key_id: &str,
        sealed: &[u8],
        associated: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        let key = [&self.current, &self.previous]
            .into_iter()
            .flatten()
            .find(|k| k.id == key_id)
            .ok_or_else(|| SealError::UnknownKey(key_id.to_owned()))?;
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Damaged);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Damaged)?;
        let mut in_out = body.to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(associated), &mut in_out)
            .map_err(|_| SealError::Damaged)?;
        Ok(plain.to_vec())
    }

    /// Whether a value sealed under `key_id` should be sealed again under the current key.
    pub fn needs_reseal(&self, key_id: &str) -> bool {
        self.current_id().is_some_and(|current| current != key_id)
    }
}

/// Reads a key as configured: 64 hex digits, or base64 (standard or URL-safe, padded or not) of
/// 32 bytes. The message names the setting and the rule, never the value.
pub fn parse_key(setting: &str, text: &str) -> Result<[u8; KEY_BYTES], String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    let bytes = if text.len() == 2 * KEY_BYTES && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(text.as_bytes())
            .ok()
    } else {
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
    };
    bytes
        .and_then(|b| <[u8; KEY_BYTES]>::try_from(b).ok())
        .ok_or_else(|| {
            format!(
                "{setting} must be 32 random bytes written as 64 hex digits or as base64 \
                 (e.g. the output of `openssl rand -base64 32`)"
            )
        })
}

/// A new random key, base64, as written to the key file.
pub fn generate_key_text() -> Result<String, getrandom::Error> {
    use base64::Engine;
    let mut key = [0u8; KEY_BYTES];
    getrandom::fill(&mut key)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_refuses_what_it_should() {
        let ring = KeyRing::new(&[7u8; 32], None);
        let (id, sealed) = ring.seal(b"secret", b"user-a").expect("seal");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(ring.open(&id, &sealed, b"user-a").expect("open"), b"secret");
        assert_eq!(ring.open(&id, &sealed, b"user-b"), Err(SealError::Damaged));
        let mut tampered = sealed.clone();
        tampered[15] ^= 1;
        assert_eq!(
            ring.open(&id, &tampered, b"user-a"),
            Err(SealError::Damaged)
        );
        assert!(matches!(
            ring.open("0000", &sealed, b"user-a"),
            Err(SealError::UnknownKey(_))
        ));
        // Two seals of one value differ (fresh nonce).
        assert_ne!(ring.seal(b"secret", b"user-a").expect("seal").1, sealed);
        assert!(!format!("{ring:?}").contains("7, 7"));
    }

    #[test]
    fn a_rotation_opens_old_values_and_seals_new_ones_under_the_new_key() {
        let old = KeyRing::new(&[1u8; 32], None);
        let (old_id, sealed) = old.seal(b"s", b"u").expect("seal");
        let rotated = KeyRing::new(&[2u8; 32], Some(&[1u8; 32]));
        assert!(rotated.needs_reseal(&old_id));
        assert_eq!(rotated.open(&old_id, &sealed, b"u").expect("open"), b"s");
        let (new_id, _) = rotated.seal(b"s", b"u").expect("seal");
        assert!(!rotated.needs_reseal(&new_id));
        assert_eq!(KeyRing::default().seal(b"s", b"u"), Err(SealError::NoKey));
    }

    #[test]
    fn keys_are_read_as_hex_or_base64_of_32_bytes() {
        let hex = "00".repeat(31) + "ff";
        assert_eq!(parse_key("K", &hex).expect("hex")[31], 0xff);
        let b64 = generate_key_text().expect("random");
        assert!(parse_key("K", &b64).is_ok());
        let error = parse_key("MFA_ENCRYPTION_KEY", "short").expect_err("too short");
        assert!(error.starts_with("MFA_ENCRYPTION_KEY must be 32 random bytes"));
        assert!(!error.contains("short\""));
    }
}
