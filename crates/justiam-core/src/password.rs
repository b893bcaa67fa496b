//! Password hashing: Argon2id for new hashes, bcrypt accepted (and upgraded by the caller).
//!
//! Hashing is CPU- and memory-heavy by design, so it runs on the blocking pool behind a semaphore:
//! a flood of logins queues up instead of starving the async executor. Each of the `concurrency`
//! slots owns one Argon2 memory buffer (19 MiB with the default parameters) that is reused for
//! every hash: allocating and freeing such buffers per login leaves glibc holding hundreds of
//! megabytes in its per-thread arenas. Unknown users are checked against a dummy hash so that both
//! answers take about the same time.

use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Mismatch,
    Match,
    /// Correct, but stored in an old format (bcrypt): rehash it.
    MatchNeedsRehash,
}

/// Argon2 working memory, one buffer per hashing slot.
type Memory = Vec<Block>;

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    memory: Arc<Mutex<Vec<Memory>>>,
    params: Params,
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("concurrency", &self.permits.available_permits())
            .finish()
    }
}

impl Hasher {
    /// `concurrency` bounds simultaneous hash computations (one per core is right).
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let params = Params::default();
        let mut random = [0u8; 24];
        getrandom::fill(&mut random)?;
        // This buffer is dropped again: an idle server keeps no hashing memory; slots fill their
        // buffers on first use.
        let mut memory = vec![Block::default(); params.block_count()];
        let dummy_hash = Arc::from(hash_blocking(&params, &hex(&random), &mut memory)?);
        drop(memory);
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            memory: Arc::new(Mutex::new(Vec::new())),
            params,
            dummy_hash,
        })
    }

    pub async fn hash(&self, password: &Secret) -> anyhow::Result<String> {
        let password = password.clone();
        let params = self.params.clone();
        self.run(move |memory| hash_blocking(&params, password.expose(), memory))
            .await?
    }

    /// Verifies `password` against `stored`; `None` (unknown user, service account) checks against
    /// the dummy hash and always answers [`Verdict::Mismatch`].
    pub async fn verify(&self, password: &Secret, stored: Option<&str>) -> anyhow::Result<Verdict> {
        let password = password.clone();
        let known = stored.is_some();
        let stored: Arc<str> = stored
            .map(Arc::from)
            .unwrap_or_else(|| self.dummy_hash.clone());
        let verdict = self
            .run(move |memory| verify_blocking(password.expose(), &stored, memory))
            .await?;
        Ok(if known { verdict } else { Verdict::Mismatch })
    }

    /// Runs `job` on the blocking pool with a slot's memory buffer.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        let pooled = self.memory.lock().ok().and_then(|mut free| free.pop());
        let mut memory =
            pooled.unwrap_or_else(|| vec![Block::default(); self.params.block_count()]);
        let (result, memory) = tokio::task::spawn_blocking(move || {
            let result = job(&mut memory);
            (result, memory)
        })
        .await?;
        if let Ok(mut free) = self.memory.lock() {
            free.push(memory);
        }
        Ok(result)
    }
}

fn hash_blocking(params: &Params, password: &str, memory: &mut Memory) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut memory[..])
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)
            .map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

fn verify_blocking(password: &str, stored: &str, memory: &mut Memory) -> Verdict {
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verdict::MatchNeedsRehash,
            _ => Verdict::Mismatch,
        };
    }
    match argon2_matches(password, stored, memory) {
        Some(true) => Verdict::Match,
        _ => Verdict::Mismatch,
    }
}

/// Recomputes an Argon2 PHC hash with the parameters it records; `None` when it cannot be read.
fn argon2_matches(password: &str, stored: &str, memory: &mut Memory) -> Option<bool> {
    let parsed = PasswordHash::new(stored).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .ok()?
        .unwrap_or(Version::V0x13);
    let params = Params::try_from(&parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    // A hash made with more memory than ours (older or tuned parameters) gets its own buffer.
    let computed = if memory.len() >= params.block_count() {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..])
    } else {
        argon2.hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            vec![Block::default(); params.block_count()],
        )
    };
    computed.ok()?;
    // `Output` compares in constant time.
    Some(Output::new(&out).ok()? == expected)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_standard_phc_strings() {
        use argon2::PasswordVerifier;
        let params = Params::default();
        let mut memory = vec![Block::default(); params.block_count()];
        let hash = hash_blocking(&params, "correct horse", &mut memory).expect("hash");
        let parsed = PasswordHash::new(&hash).expect("PHC");
        // The reference implementation agrees with what we wrote, and we agree with it.
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
        use argon2::PasswordHasher;
        let reference = Argon2::default()
            .hash_password(
                b"pw",
                &SaltString::encode_b64(b"0123456789abcdef").expect("salt"),
            )
            .expect("reference")
            .to_string();
        assert_eq!(
            verify_blocking("pw", &reference, &mut memory),
            Verdict::Match
        );
        assert_eq!(
            verify_blocking("px", &reference, &mut memory),
            Verdict::Mismatch
        );
        // Parameters bigger than the pooled buffer still verify.
        let big = Params::new(32 * 1024, 1, 1, None).expect("params");
        let bigger = Argon2::new(Algorithm::Argon2id, Version::V0x13, big)
            .hash_password(
                b"pw",
                &SaltString::encode_b64(b"0123456789abcdef").expect("salt"),
            )
            .expect("hash")
            .to_string();
        assert_eq!(verify_blocking("pw", &bigger, &mut memory), Verdict::Match);
    }

    #[tokio::test]
    async fn argon2_round_trip_and_bcrypt_upgrade() {
        let hasher = Hasher::new(2).expect("hasher");
        let pw = Secret::new("correct horse");
        let hash = hasher.hash(&pw).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(
            hasher.verify(&pw, Some(&hash)).await.expect("verify"),
            Verdict::Match
        );
        assert_eq!(
            hasher
                .verify(&Secret::new("wrong"), Some(&hash))
                .await
                .expect("verify"),
            Verdict::Mismatch
        );
        let bcrypt_hash = bcrypt::hash("correct horse", 4).expect("bcrypt");
        assert_eq!(
            hasher
                .verify(&pw, Some(&bcrypt_hash))
                .await
                .expect("verify"),
            Verdict::MatchNeedsRehash
        );
        let y = bcrypt_hash.replacen("$2b$", "$2y$", 1);
        assert_eq!(
            hasher.verify(&pw, Some(&y)).await.expect("verify"),
            Verdict::MatchNeedsRehash
        );
        assert_eq!(
            hasher.verify(&pw, None).await.expect("verify"),
            Verdict::Mismatch
        );
        assert_eq!(
            hasher.verify(&pw, Some("garbage")).await.expect("verify"),
            Verdict::Mismatch
        );
    }
}
