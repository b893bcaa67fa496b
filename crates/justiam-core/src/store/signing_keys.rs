//! The `signing_keys` table. The private key column is read only to load a key into memory.

use sqlx::{Any, Executor, Row};

use crate::time::Millis;

/// A stored key: the active one (no `rotated_at`) or one still published until `retire_after`.
pub struct StoredKey {
    pub kid: String,
    /// `RS256` or `ES256`.
    pub alg: String,
    pub private_der: Vec<u8>,
    pub public_jwk: String,
    pub rotated_at: Option<Millis>,
}

/// Keys still published at `now`, the active ones first, newest first.
pub async fn published<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Millis,
) -> Result<Vec<StoredKey>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kid, alg, private_der, public_jwk, rotated_at FROM signing_keys \
         WHERE retire_after IS NULL OR retire_after > $1 \
         ORDER BY CASE WHEN rotated_at IS NULL THEN 0 ELSE 1 END, created_at DESC, kid DESC",
    )
    .bind(now)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredKey {
                kid: row.try_get("kid")?,
                alg: row.try_get("alg")?,
                private_der: row.try_get("private_der")?,
                public_jwk: row.try_get("public_jwk")?,
                rotated_at: row.try_get("rotated_at")?,
            })
        })
        .collect()
}

/// Active keys of algorithm `alg`.
pub async fn count_active<'e>(
    db: impl Executor<'e, Database = Any>,
    alg: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM signing_keys WHERE rotated_at IS NULL AND alg = $1")
        .bind(alg)
        .fetch_one(db)
        .await?
        .try_get("n")
}

pub async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    kid: &str,
    alg: &str,
    private_der: &[u8],
    public_jwk: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO signing_keys (kid, alg, private_der, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(kid)
    .bind(alg)
    .bind(private_der)
    .bind(public_jwk)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Retires the active key(s): still published until `retire_after`. Returns their kids.
pub async fn retire_active<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Millis,
    retire_after: Millis,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "UPDATE signing_keys SET rotated_at = $1, retire_after = $2 WHERE rotated_at IS NULL RETURNING kid",
    )
    .bind(now)
    .bind(retire_after)
    .fetch_all(db)
    .await?;
    rows.iter().map(|row| row.try_get("kid")).collect()
}

/// Deletes keys past their `retire_after`: no token they signed is still valid.
pub async fn delete_retired<'e>(
    db: impl Executor<'e, Database = Any>,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM signing_keys WHERE retire_after IS NOT NULL AND retire_after <= $1",
    )
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
