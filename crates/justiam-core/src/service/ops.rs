//! What operations read: readiness, the database backend, and the gauges metrics export. Plain
//! data, so the server never reaches into the store.

use super::Iam;
use crate::error::CoreResult;
use crate::store::tokens;
use crate::time::Millis;

/// Tokens that work now, and how many of them stop working soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenStats {
    pub active: i64,
    /// Active tokens that expire within the horizon asked for.
    pub expiring: i64,
}

/// The connection pool at this moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections, idle and in use.
    pub size: u32,
    pub idle: usize,
    pub max_connections: u32,
}

impl Iam {
    /// Ready = the database is reachable and every embedded migration applied.
    pub async fn is_ready(&self) -> bool {
        self.db.is_ready().await
    }

    /// Closes the database (see [`crate::database::Db::close`]); call it after the last request.
    pub async fn close(&self) {
        self.db.close().await;
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        self.db.backend.name()
    }

    /// Active tokens at `now`, and those of them expiring within `horizon` ms.
    pub async fn token_stats(&self, now: Millis, horizon: Millis) -> CoreResult<TokenStats> {
        let (active, expiring) = tokens::stats(&self.db.pool, now, horizon).await?;
        Ok(TokenStats { active, expiring })
    }

    pub fn pool_stats(&self) -> PoolStats {
        let pool = &self.db.pool;
        PoolStats {
            size: pool.size(),
            idle: pool.num_idle(),
            max_connections: pool.options().get_max_connections(),
        }
    }

    /// The connection pool itself, for the integration tests that arrange or inspect what is
    /// stored (or take the database away). The server goes through the methods above.
    #[doc(hidden)]
    pub fn pool_for_tests(&self) -> &sqlx::AnyPool {
        &self.db.pool
    }
}
