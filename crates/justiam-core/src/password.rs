//! Password hashing: Argon2id for new hashes, bcrypt accepted (and upgraded by the caller).
//!
//! Hashing is CPU-heavy by design, so it runs on the blocking pool behind a semaphore: a flood of
//! logins queues up instead of starving the async executor. Unknown users are checked against a
//! dummy hash so that both answers take about the same time.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Mismatch,
    Match,
    /// Correct, but stored in an old format (bcrypt): rehash it.
    MatchNeedsRehash,
}

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
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
        let mut hasher = Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            params,
            dummy_hash: Arc::from(""),
        };
        let mut random = [0u8; 24];
        getrandom::fill(&mut random)?;
        hasher.dummy_hash = Arc::from(hash_blocking(&hasher.params, &hex(&random))?);
        Ok(hasher)
    }

    pub async fn hash(&self, password: &Secret) -> anyhow::Result<String> {
        let password = password.clone();
        let params = self.params.clone();
        self.run(move || hash_blocking(&params, password.expose()))
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
            .run(move || verify_blocking(password.expose(), &stored))
            .await?;
        Ok(if known { verdict } else { Verdict::Mismatch })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        Ok(tokio::task::spawn_blocking(job).await?)
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_blocking(params: &Params, password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash.to_string())
}

fn verify_blocking(password: &str, stored: &str) -> Verdict {
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        return match bcrypt::verify(password, stored) {
            Ok(true) => Verdict::MatchNeedsRehash,
            _ => Verdict::Mismatch,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verdict::Mismatch;
    };
    // Verification reads the parameters from the PHC string itself.
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Verdict::Match,
        Err(_) => Verdict::Mismatch,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
